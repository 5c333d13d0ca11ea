//! Price text as shops print it worldwide → an exact amount and an ISO 4217 currency.
//!
//! Handles symbols before or after the number (`$`, `US$`, `R$`, `€`, `kr`, `zł`, `руб.`, …),
//! ISO codes, thousands separators (`,` `.` space, no-break and narrow no-break space, `'`),
//! decimal commas, Indian grouping (`1,23,456.78`), `.-`/`,-` endings, "from" prefixes, ranges
//! (the lower bound is taken), "Free" (zero), and text with no price at all. An ambiguous symbol
//! (`$`, `kr`, `¥`) is resolved by an explicit currency hint, then the page locale, then the
//! domain's TLD.

use crate::money::Currency;
use serde::Serialize;

/// What the caller knows about where the text came from.
#[derive(Debug, Clone, Copy, Default)]
pub struct PriceContext<'a> {
    /// A currency the caller knows applies (from the page's structured data, or the user).
    pub currency: Option<Currency>,
    /// The page's language tag (`en-CA`, `sv-SE`, `de`).
    pub locale: Option<&'a str>,
    /// The page's host name (`shop.example.co.uk`).
    pub host: Option<&'a str>,
}

/// The parse of one price text. `amount` is a plain decimal with the currency's decimal places
/// when the currency is known (`"1234.56"`, `"1234"` for JPY).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedPrice {
    pub amount: Option<String>,
    pub currency: Option<String>,
}

/// Symbols and words that name a currency outright, longest first within their prefix family
/// so `US$` wins over `$`. Matching is case-sensitive for symbols, case-insensitive for words.
const SYMBOLS: &[(&str, &str)] = &[
    ("US$", "USD"),
    ("USD$", "USD"),
    ("CA$", "CAD"),
    ("C$", "CAD"),
    ("AU$", "AUD"),
    ("A$", "AUD"),
    ("NZ$", "NZD"),
    ("HK$", "HKD"),
    ("S$", "SGD"),
    ("SG$", "SGD"),
    ("R$", "BRL"),
    ("MX$", "MXN"),
    ("NT$", "TWD"),
    ("CN¥", "CNY"),
    ("JP¥", "JPY"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("₹", "INR"),
    ("₩", "KRW"),
    ("₽", "RUB"),
    ("₴", "UAH"),
    ("₺", "TRY"),
    ("₪", "ILS"),
    ("฿", "THB"),
    ("₫", "VND"),
    ("₱", "PHP"),
    ("₦", "NGN"),
    ("元", "CNY"),
    ("円", "JPY"),
    ("﷼", "SAR"),
    ("원", "KRW"),
    ("S/", "PEN"),
];

/// Words (matched case-insensitively, as whole words) that name a currency.
const WORDS: &[(&str, &str)] = &[
    ("zł", "PLN"),
    ("zl", "PLN"),
    ("kč", "CZK"),
    ("kc", "CZK"),
    ("ft", "HUF"),
    ("lei", "RON"),
    ("лв", "BGN"),
    ("руб", "RUB"),
    ("р", "RUB"),
    ("грн", "UAH"),
    ("rs", "INR"),
    ("rp", "IDR"),
    ("rm", "MYR"),
    ("fr", "CHF"),
    ("sfr", "CHF"),
    ("rmb", "CNY"),
    ("eur", "EUR"),
    ("euro", "EUR"),
    ("euros", "EUR"),
    ("dollars", "USD"),
    ("pounds", "GBP"),
    ("yen", "JPY"),
    ("tl", "TRY"),
];

/// Words that mark the price after them as a former or list price, not the current one.
const OLD_PRICE_MARKERS: &[&str] = &[
    "was",
    "statt",
    "uvp",
    "rrp",
    "msrp",
    "regular",
    "list",
    "instead",
    "avant",
    "antes",
    "de",
    "originally",
    "vorher",
];

/// Words that mean "no charge".
const FREE_WORDS: &[&str] = &[
    "free",
    "gratis",
    "kostenlos",
    "gratuit",
    "gratuito",
    "grátis",
    "gratuita",
    "darmowy",
    "бесплатно",
];

/// Ambiguous symbols: resolved by hint, locale or TLD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ambiguous {
    Dollar,
    Krona,
    Yen,
}

fn iso(code: &str) -> Option<Currency> {
    Currency::parse(code).ok()
}

/// Resolves an ambiguous symbol from the context; `None` when nothing decides it.
fn resolve(symbol: Ambiguous, context: &PriceContext<'_>) -> Option<Currency> {
    let candidates: &[&str] = match symbol {
        Ambiguous::Dollar => &[
            "USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN", "TWD", "COP", "CLP", "ARS",
        ],
        Ambiguous::Krona => &["SEK", "NOK", "DKK", "ISK"],
        Ambiguous::Yen => &["JPY", "CNY"],
    };
    if let Some(hint) = context.currency.filter(|c| candidates.contains(&c.code())) {
        return Some(hint);
    }
    let region = context
        .locale
        .and_then(|tag| tag.split(['-', '_']).nth(1))
        .map(|r| r.to_ascii_uppercase());
    let language = context
        .locale
        .and_then(|tag| tag.split(['-', '_']).next())
        .map(|l| l.to_ascii_lowercase());
    let tld = context
        .host
        .and_then(|host| host.trim_end_matches('.').rsplit('.').next())
        .map(|t| t.to_ascii_lowercase());
    let by_country = |country: &str| -> Option<&'static str> {
        Some(match (symbol, country) {
            (Ambiguous::Dollar, "US") => "USD",
            (Ambiguous::Dollar, "CA") => "CAD",
            (Ambiguous::Dollar, "AU") => "AUD",
            (Ambiguous::Dollar, "NZ") => "NZD",
            (Ambiguous::Dollar, "HK") => "HKD",
            (Ambiguous::Dollar, "SG") => "SGD",
            (Ambiguous::Dollar, "MX") => "MXN",
            (Ambiguous::Dollar, "TW") => "TWD",
            (Ambiguous::Dollar, "CO") => "COP",
            (Ambiguous::Dollar, "CL") => "CLP",
            (Ambiguous::Dollar, "AR") => "ARS",
            (Ambiguous::Krona, "SE") => "SEK",
            (Ambiguous::Krona, "NO") => "NOK",
            (Ambiguous::Krona, "DK") => "DKK",
            (Ambiguous::Krona, "IS") => "ISK",
            (Ambiguous::Yen, "JP") => "JPY",
            (Ambiguous::Yen, "CN") => "CNY",
            _ => return None,
        })
    };
    if let Some(code) = region.as_deref().and_then(by_country) {
        return iso(code);
    }
    let by_language = match (symbol, language.as_deref()) {
        (Ambiguous::Krona, Some("sv")) => Some("SEK"),
        (Ambiguous::Krona, Some("nb" | "nn" | "no")) => Some("NOK"),
        (Ambiguous::Krona, Some("da")) => Some("DKK"),
        (Ambiguous::Krona, Some("is")) => Some("ISK"),
        (Ambiguous::Yen, Some("ja")) => Some("JPY"),
        (Ambiguous::Yen, Some("zh")) => Some("CNY"),
        _ => None,
    };
    if let Some(code) = by_language {
        return iso(code);
    }
    if let Some(code) = tld
        .as_deref()
        .and_then(|t| by_country(&t.to_ascii_uppercase()))
    {
        return iso(code);
    }
    // With nothing to go on, `$` is the US dollar and `¥` the yen; `kr` stays unknown.
    match symbol {
        Ambiguous::Dollar => iso("USD"),
        Ambiguous::Yen => iso("JPY"),
        Ambiguous::Krona => None,
    }
}

/// Turns the various spaces shops use into plain spaces, and typographic apostrophes into `'`.
fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{00A0}' | '\u{202F}' | '\u{2009}' | '\u{2007}' | '\u{2002}' | '\u{2003}' => ' ',
            '\u{2019}' | '\u{02BC}' | '\u{00B4}' => '\'',
            '\u{2013}' | '\u{2014}' | '\u{2212}' => '-',
            c => c,
        })
        .collect()
}

/// Finds the currency named in the text, if any.
fn find_currency(text: &str, context: &PriceContext<'_>) -> Option<Currency> {
    // ISO codes as whole words (upper-case in the source).
    if let Some(word) = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|word| is_iso_word(word))
    {
        return iso(word);
    }
    for (symbol, code) in SYMBOLS {
        if text.contains(symbol) {
            return iso(code);
        }
    }
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphabetic()))
        .filter(|w| !w.is_empty())
        .collect();
    for (word, code) in WORDS {
        if words.contains(word) {
            return iso(code);
        }
    }
    if words.iter().any(|w| matches!(*w, "kr" | "kn")) {
        return resolve(Ambiguous::Krona, context);
    }
    if text.contains('$') {
        return resolve(Ambiguous::Dollar, context);
    }
    if text.contains('¥') || text.contains('￥') {
        return resolve(Ambiguous::Yen, context);
    }
    // "R 199" (rand) only as a standalone capital R next to a number.
    if words.contains(&"r")
        && text.split_whitespace().any(|w| {
            w == "R" || (w.starts_with('R') && w[1..].starts_with(|c: char| c.is_ascii_digit()))
        })
    {
        return iso("ZAR");
    }
    None
}

/// An upper-case ISO 4217 code we know (`EUR`, not `eur` or `VAT`).
fn is_iso_word(word: &str) -> bool {
    word.len() == 3 && word.chars().all(|c| c.is_ascii_uppercase()) && iso(word).is_some()
}

/// Currency marks a number can sit next to: symbols, ISO codes and currency words.
fn currency_marks() -> impl Iterator<Item = &'static str> {
    SYMBOLS
        .iter()
        .map(|(s, _)| *s)
        .chain(WORDS.iter().map(|(w, _)| *w))
        .chain(["$", "¥", "￥", "kr", "kn"])
}

fn is_currency_mark_end(before: &str) -> bool {
    let lower = before.to_lowercase();
    let ends_with_word = |word: &str| {
        lower.ends_with(word)
            && lower[..lower.len() - word.len()]
                .chars()
                .last()
                .is_none_or(|c| !c.is_alphabetic())
    };
    currency_marks().any(|mark| ends_with_word(&mark.to_lowercase()))
        || before
            .rsplit(|c: char| !c.is_ascii_alphabetic())
            .next()
            .is_some_and(is_iso_word)
}

fn is_currency_mark_start(after: &str) -> bool {
    let lower = after.to_lowercase();
    let starts_with_word = |word: &str| {
        lower.starts_with(word)
            && lower[word.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphabetic())
    };
    currency_marks().any(|mark| starts_with_word(&mark.to_lowercase()))
        || after
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .is_some_and(is_iso_word)
}

/// One run of digits and grouping/decimal punctuation found in the text.
#[derive(Debug, Clone)]
struct NumberToken {
    text: String,
    /// Byte range in the normalised text.
    start: usize,
    end: usize,
}

/// Splits out the numeric runs: digits with `.` `,` `'` and single spaces between digit groups.
fn number_tokens(text: &str) -> Vec<NumberToken> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if !c.is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut token = String::new();
        // ".99" / ",99": a separator with no digit before it starts a fraction of zero.
        let before = i.checked_sub(1).map(|k| chars[k].1);
        let before_that = i.checked_sub(2).map(|k| chars[k].1);
        if matches!(before, Some('.' | ',')) && !before_that.is_some_and(|c| c.is_ascii_digit()) {
            token.push('0');
            token.push(before.unwrap_or('.'));
        }
        let mut j = i;
        while j < chars.len() {
            let c = chars[j].1;
            if c.is_ascii_digit() {
                token.push(c);
                j += 1;
                continue;
            }
            let next_is_digit = chars.get(j + 1).is_some_and(|(_, n)| n.is_ascii_digit());
            if matches!(c, '.' | ',' | '\'') && next_is_digit {
                token.push(c);
                j += 1;
                continue;
            }
            // A space groups thousands only when exactly three digits follow.
            if c == ' ' && next_is_digit {
                let group: String = chars[j + 1..]
                    .iter()
                    .map(|(_, c)| *c)
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                let after = chars.get(j + 1 + group.len()).map(|(_, c)| *c);
                if group.len() == 3 && !after.is_some_and(|c| c.is_ascii_digit()) {
                    token.push(' ');
                    j += 1;
                    continue;
                }
            }
            break;
        }
        let end = chars.get(j).map_or(text.len(), |(b, _)| *b);
        tokens.push(NumberToken {
            text: token,
            start,
            end,
        });
        i = j;
    }
    tokens
}

/// Reads a numeric run as (integer digits, fraction digits), deciding which separator is the
/// decimal one. `decimals` is the currency's number of decimal places when known.
fn read_number(token: &str, decimals: Option<u8>) -> Option<(String, String)> {
    let compact: String = token.chars().filter(|c| !matches!(c, ' ' | '\'')).collect();
    let commas = compact.matches(',').count();
    let dots = compact.matches('.').count();
    let split_at = |sep: char| -> (String, String) {
        let (whole, fraction) = compact.rsplit_once(sep).unwrap_or((&compact, ""));
        let whole: String = whole.chars().filter(char::is_ascii_digit).collect();
        (whole, fraction.to_string())
    };
    let digits_only = || -> String { compact.chars().filter(char::is_ascii_digit).collect() };
    // Thousands groups: 1–3 digits, then groups of 3 (or Indian 2s before a last 3).
    let grouped = |part: &str, separator: char| -> bool {
        let groups: Vec<&str> = part.split(separator).collect();
        let Some((last, rest)) = groups.split_last() else {
            return false;
        };
        let first_ok = rest.first().is_none_or(|g| (1..=3).contains(&g.len()));
        let middle_ok = rest.iter().skip(1).all(|g| g.len() == 2 || g.len() == 3);
        groups.len() == 1 || (first_ok && middle_ok && last.len() == 3)
    };
    let (whole, fraction) = match (commas, dots) {
        (0, 0) => (compact.clone(), String::new()),
        (c, d) if c > 0 && d > 0 => {
            // The separator that comes last is the decimal one.
            let last_comma = compact.rfind(',').unwrap_or(0);
            let last_dot = compact.rfind('.').unwrap_or(0);
            let decimal = if last_comma > last_dot { ',' } else { '.' };
            let thousands = if decimal == ',' { '.' } else { ',' };
            if compact.matches(decimal).count() > 1 {
                return None;
            }
            let (whole_part, _) = compact.rsplit_once(decimal).unwrap_or((&compact, ""));
            if !grouped(whole_part, thousands) {
                return None;
            }
            split_at(decimal)
        }
        (c, d) => {
            let separator = if c > 0 { ',' } else { '.' };
            let count = c + d;
            let (whole, fraction) = split_at(separator);
            if count > 1 {
                // Repeated: thousands grouping (1.234.567, 1,23,456), or nothing sensible.
                if !grouped(&compact, separator) {
                    return None;
                }
                (digits_only(), String::new())
            } else if fraction.len() == 3 && decimals != Some(3) && whole != "0" {
                // 1,234 / 1.234: thousands, unless the currency has three decimals.
                (digits_only(), String::new())
            } else {
                (whole, fraction)
            }
        }
    };
    let whole = if whole.is_empty() {
        "0".to_string()
    } else {
        whole
    };
    Some((whole, fraction))
}

/// Formats an amount with the currency's decimal places (rounding half up if the text has
/// more), or as given when the currency is unknown.
fn format_amount(whole: &str, fraction: &str, decimals: Option<u8>) -> Option<String> {
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    if whole.len() > 13 {
        return None;
    }
    let Some(places) = decimals.map(usize::from) else {
        let fraction = fraction.trim_end_matches('0');
        return Some(if fraction.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{fraction}")
        });
    };
    let scale = 10_u128.pow(places as u32);
    let whole_value: u128 = whole.parse().ok()?;
    let mut fraction_digits: String = fraction.chars().take(places).collect();
    while fraction_digits.len() < places {
        fraction_digits.push('0');
    }
    let mut minor = whole_value * scale + fraction_digits.parse::<u128>().unwrap_or(0);
    if fraction.chars().nth(places).is_some_and(|c| c >= '5') {
        minor += 1;
    }
    Some(if places == 0 {
        minor.to_string()
    } else {
        format!(
            "{}.{:0width$}",
            minor / scale,
            minor % scale,
            width = places
        )
    })
}

/// Whether the text between two numbers makes them a range ("10 - 20", "10 to 20", "€10–€20").
fn is_range_joiner(between: &str) -> bool {
    let is_currency_word = |word: &str| {
        let bare = word.trim_matches('.');
        iso(&bare.to_uppercase()).is_some()
            || WORDS.iter().any(|(w, _)| *w == bare)
            || SYMBOLS.iter().any(|(s, _)| s.to_lowercase() == bare)
            || bare.chars().all(|c| "$¥￥€£₹₩₽₴₺₪฿₫₱₦".contains(c))
    };
    let lower = between.to_lowercase();
    let rest: String = lower
        .split_whitespace()
        .flat_map(|word| {
            // "-€" or "€-": split currency marks from the joiner.
            word.split_inclusive(['-', '~'])
                .flat_map(|part| {
                    let (head, joiner) = match part.strip_suffix(['-', '~']) {
                        Some(head) => (head, &part[head.len()..]),
                        None => (part, ""),
                    };
                    [head, joiner]
                })
                .collect::<Vec<_>>()
        })
        .filter(|word| !word.is_empty() && !is_currency_word(word))
        .collect();
    matches!(
        rest.as_str(),
        "-" | "~" | "to" | "bis" | "à" | "a" | "hasta" | "tot" | "till" | "до" | "-bis"
    )
}

/// Parses one price text.
pub fn parse_price(text: &str, context: &PriceContext<'_>) -> ParsedPrice {
    let text = normalise(text);
    let currency = find_currency(&text, context).or(context.currency);
    let decimals = currency.map(|c| c.decimals());
    let lower = text.to_lowercase();
    let tokens = number_tokens(&text);
    let none = ParsedPrice {
        amount: None,
        currency: currency.map(|c| c.code().to_string()),
    };
    if tokens.is_empty() {
        // "Free" alone (or "Price: free") is zero; "Free shipping" says nothing of the price.
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .collect();
        let free = words.iter().any(|w| FREE_WORDS.contains(w))
            && words.iter().all(|w| {
                FREE_WORDS.contains(w)
                    || matches!(*w, "price" | "preis" | "prix" | "precio" | "preço")
            });
        return if free {
            ParsedPrice {
                amount: format_amount("0", "", decimals),
                currency: none.currency,
            }
        } else {
            none
        };
    }
    // "99p": pence.
    if let [only] = tokens.as_slice() {
        let after = text[only.end..].trim();
        if after == "p"
            && text[..only.start].trim().is_empty()
            && only.text.chars().all(|c| c.is_ascii_digit())
        {
            let pence: u64 = only.text.parse().unwrap_or(0);
            return ParsedPrice {
                amount: Some(format!("{}.{:02}", pence / 100, pence % 100)),
                currency: Some("GBP".into()),
            };
        }
    }
    // Skip numbers introduced as a former price ("was", "statt", "RRP") when another follows.
    let is_old = |index: usize| -> bool {
        let from = if index == 0 { 0 } else { tokens[index - 1].end };
        let before = text[from..tokens[index].start].to_lowercase();
        let words: Vec<&str> = before
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .collect();
        words
            .iter()
            .rev()
            .take(3)
            .any(|w| OLD_PRICE_MARKERS.contains(w))
    };
    // A number next to a currency mark is the price ("Monitor 27\" £189" is 189, not 27).
    let marked = |index: usize| -> bool {
        let token = &tokens[index];
        let before = text[..token.start].trim_end();
        let after = text[token.end..].trim_start();
        let before_tail: String = before
            .chars()
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let after_head: String = after.chars().take(6).collect();
        is_currency_mark_end(&before_tail) || is_currency_mark_start(&after_head)
    };
    let usable: Vec<usize> = (0..tokens.len()).filter(|&i| !is_old(i)).collect();
    let mut first = usable
        .iter()
        .copied()
        .find(|&i| marked(i))
        .or_else(|| usable.first().copied())
        .unwrap_or(0);
    // "24,95–34,95 €": the mark sits on the range's upper end; start from its lower end.
    // ("Size 42 - 89,95 €" is not a range: a lower bound is marked too, or shaped alike.)
    let decimal_shape = |token: &NumberToken| {
        let t = token.text.as_bytes();
        t.len() > 3 && matches!(t[t.len() - 3], b'.' | b',')
    };
    while first > 0
        && is_range_joiner(&text[tokens[first - 1].end..tokens[first].start])
        && (marked(first - 1) || decimal_shape(&tokens[first - 1]) == decimal_shape(&tokens[first]))
    {
        first -= 1;
    }
    let mut candidates = vec![&tokens[first]];
    for pair in tokens[first..].windows(2) {
        if is_range_joiner(&text[pair[0].end..pair[1].start]) {
            candidates.push(&pair[1]);
        } else {
            break;
        }
    }
    let mut best: Option<(u128, String)> = None;
    for token in candidates {
        let Some((whole, fraction)) = read_number(&token.text, decimals) else {
            continue;
        };
        let Some(amount) = format_amount(&whole, &fraction, decimals) else {
            continue;
        };
        let key = sort_key(&amount);
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            best = Some((key, amount));
        }
    }
    ParsedPrice {
        amount: best.map(|(_, amount)| amount),
        currency: none.currency,
    }
}

/// Orders decimal strings numerically (scaled to 6 places).
fn sort_key(amount: &str) -> u128 {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let mut fraction: String = fraction.chars().take(6).collect();
    while fraction.len() < 6 {
        fraction.push('0');
    }
    whole.parse::<u128>().unwrap_or(u128::MAX / 2) * 1_000_000
        + fraction.parse::<u128>().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hinted(code: &str) -> PriceContext<'static> {
        PriceContext {
            currency: Currency::parse(code).ok(),
            ..Default::default()
        }
    }

    fn check(input: &str, context: PriceContext<'_>, amount: Option<&str>, currency: Option<&str>) {
        let parsed = parse_price(input, &context);
        assert_eq!(
            (parsed.amount.as_deref(), parsed.currency.as_deref()),
            (amount, currency),
            "{input:?}"
        );
    }

    #[test]
    fn price_text_table() {
        let none = PriceContext::default;
        let table = include_str!("../data/price-text-cases.tsv");
        let mut cases = 0;
        for (line_no, line) in table.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let [input, hint, host, amount, currency] = fields[..] else {
                panic!(
                    "line {}: expected 5 tab-separated fields: {line:?}",
                    line_no + 1
                );
            };
            let context = PriceContext {
                currency: (!hint.is_empty()).then(|| Currency::parse(hint).unwrap()),
                locale: None,
                host: (!host.is_empty()).then_some(host),
            };
            let decode = |s: &str| {
                s.replace("\\u00A0", "\u{00A0}")
                    .replace("\\u202F", "\u{202F}")
            };
            let input = decode(input);
            check(
                &input,
                context,
                (amount != "-").then_some(amount),
                (currency != "-").then_some(currency),
            );
            cases += 1;
        }
        assert!(cases >= 200, "only {cases} cases");
        let _ = none;
    }

    #[test]
    fn locale_resolves_kronor_and_dollars() {
        let sv = PriceContext {
            locale: Some("sv-SE"),
            ..Default::default()
        };
        check("1 299 kr", sv, Some("1299.00"), Some("SEK"));
        let ca = PriceContext {
            locale: Some("en-CA"),
            ..Default::default()
        };
        check("$49.99", ca, Some("49.99"), Some("CAD"));
        check("$49.99", hinted("AUD"), Some("49.99"), Some("AUD"));
        check("€49.99", hinted("AUD"), Some("49.99"), Some("EUR"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,60}") {
            let _ = parse_price(&text, &PriceContext::default());
        }

        #[test]
        fn parsing_price_shaped_text_never_panics(
            text in "[ $€£¥kr.,'\\-–0-9a-zA-Z]{0,30}",
            hint in proptest::option::of("USD|EUR|JPY|KWD|SEK"),
        ) {
            let context = PriceContext {
                currency: hint.and_then(|h| Currency::parse(&h).ok()),
                ..Default::default()
            };
            let parsed = parse_price(&text, &context);
            if let Some(amount) = parsed.amount {
                proptest::prop_assert!(amount.chars().all(|c| c.is_ascii_digit() || c == '.'), "{}", amount);
            }
        }
    }
}
