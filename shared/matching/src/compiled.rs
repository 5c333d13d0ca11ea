//! A rule as the index keeps it: only what matching reads, with query words replaced by numbers
//! from the index's vocabulary. At a million rules the full [`AlertRule`] (name, channels,
//! timestamps, each word its own `String`) would not fit the memory budget, and comparing
//! numbers is cheaper than comparing strings.

use dealpulse_domain::geo::GeoPoint;
use dealpulse_domain::ids::{RuleId, UserId};
use dealpulse_domain::listing::{Category, Condition, Listing, SourceName};
use dealpulse_domain::money::Currency;
use dealpulse_domain::query::Term;
use dealpulse_domain::rules::{AlertRule, FlightCriteria};
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

/// The number of a word no rule uses: it never equals a rule's word, but still takes its
/// place in the listing's text, so phrases stay consecutive.
pub(crate) const UNKNOWN_WORD: u32 = u32::MAX;

/// Words of rule queries, numbered in order of first use.
#[derive(Default)]
pub(crate) struct Vocabulary {
    /// Fx hashing: the words come from our own users' rules, and every listing looks up each
    /// of its words here, so speed matters more than flooding resistance.
    numbers: FxHashMap<String, u32>,
}

impl Vocabulary {
    fn intern(&mut self, word: &str) -> u32 {
        if let Some(number) = self.numbers.get(word) {
            return *number;
        }
        let number = self.numbers.len() as u32;
        self.numbers.insert(word.to_string(), number);
        number
    }

    pub(crate) fn len(&self) -> usize {
        self.numbers.len()
    }

    /// The listing's words as numbers, in order ([`UNKNOWN_WORD`] for words no rule uses).
    pub(crate) fn number(&self, words: &[String]) -> Vec<u32> {
        words
            .iter()
            .map(|word| {
                self.numbers
                    .get(word.as_str())
                    .copied()
                    .unwrap_or(UNKNOWN_WORD)
            })
            .collect()
    }
}

/// Price bounds in one currency, in minor units.
#[derive(Clone, Copy)]
pub(crate) struct PriceBounds {
    pub currency: Currency,
    pub min: i64,
    pub max: i64,
}

/// Criteria few rules use, kept out of line.
struct Rare {
    area: Option<(GeoPoint, f64)>,
    sources: BTreeSet<SourceName>,
    flight: Option<FlightCriteria>,
}

/// A compiled rule on its way into the index; its query is in the arena it was compiled into.
pub(crate) struct CompiledRule {
    pub id: RuleId,
    pub owner: UserId,
    pub criteria: Criteria,
}

/// Everything but the query words, small enough that checking a candidate reads one cache line.
pub(crate) struct Criteria {
    /// Where the rule's encoded query starts in the index's word arena, and its length in
    /// numbers:
    /// `[n, (len, words…) × n]` for required terms, then `[g, (t, (len, words…) × t) × g]` for
    /// OR groups, then `[n, (len, words…) × n]` for excluded terms.
    pub query_at: u32,
    pub query_len: u32,
    pub price: Option<PriceBounds>,
    /// Bit `i` set for `Category::ALL[i]`; 0 means any.
    categories: u32,
    /// Bit `i` set for `Condition::ALL[i]`; 0 means any.
    conditions: u8,
    min_score: Option<u8>,
    rare: Option<Box<Rare>>,
}

// The bit sets below hold every category and condition.
const _: () = assert!(Category::ALL.len() <= 32 && Condition::ALL.len() <= 8);

pub(crate) fn category_bit(category: Category) -> u32 {
    1 << Category::ALL
        .iter()
        .position(|c| *c == category)
        .unwrap_or_default()
}

fn condition_bit(condition: Condition) -> u8 {
    1 << Condition::ALL
        .iter()
        .position(|c| *c == condition)
        .unwrap_or_default()
}

fn encode_terms(terms: &[Term], vocabulary: &mut Vocabulary, out: &mut Vec<u32>) {
    out.push(terms.len() as u32);
    for term in terms {
        out.push(term.words().len() as u32);
        out.extend(term.words().iter().map(|word| vocabulary.intern(word)));
    }
}

/// Whether `term` occurs in `haystack` as consecutive words.
fn occurs(term: &[u32], haystack: &[u32]) -> bool {
    match term {
        [word] => haystack.contains(word),
        _ => haystack.windows(term.len()).any(|window| window == term),
    }
}

/// Reads `[n, (len, words…) × n]` from `code`, calling `each` on every term; returns the rest.
fn terms<'a>(code: &'a [u32], mut each: impl FnMut(&'a [u32])) -> &'a [u32] {
    let (count, mut rest) = code.split_first().map_or((0, code), |(n, r)| (*n, r));
    for _ in 0..count {
        let (length, tail) = rest
            .split_first()
            .map_or((0, rest), |(n, r)| (*n as usize, r));
        let (term, tail) = tail.split_at(length.min(tail.len()));
        each(term);
        rest = tail;
    }
    rest
}

/// Calls `each` with every word of the required terms and OR groups of an encoded query.
pub(crate) fn for_each_keyword(query: &[u32], mut each: impl FnMut(u32)) {
    let rest = terms(query, |term| term.iter().for_each(|w| each(*w)));
    let (groups, mut rest) = rest.split_first().map_or((0, rest), |(n, r)| (*n, r));
    for _ in 0..groups {
        rest = terms(rest, |term| term.iter().for_each(|w| each(*w)));
    }
}

/// Appends to `out` the words a rule is filed under: its most selective required word, or one
/// word of each term of its most selective OR group when those are fewer rules' words; nothing
/// when its query has neither. `count(word)` is how many rules use the word.
pub(crate) fn key_words(query: &[u32], count: impl Fn(u32) -> u64, out: &mut Vec<u32>) {
    // Every word of a phrase must occur, so a term is as selective as its rarest word.
    let best = |term: &[u32]| term.iter().copied().min_by_key(|w| count(*w));
    let mut required: Option<(u64, u32)> = None;
    let rest = terms(query, |term| {
        if let Some(word) = best(term) {
            let seen = count(word);
            if required.is_none_or(|(fewest, _)| seen < fewest) {
                required = Some((seen, word));
            }
        }
    });
    let (groups, mut rest) = rest.split_first().map_or((0, rest), |(n, r)| (*n, r));
    let mut group: Option<(u64, Vec<u32>)> = None;
    for _ in 0..groups {
        let mut words = Vec::new();
        let mut total = 0;
        rest = terms(rest, |term| {
            if let Some(word) = best(term) {
                total += count(word);
                words.push(word);
            }
        });
        if group.as_ref().is_none_or(|(fewest, _)| total < *fewest) {
            group = Some((total, words));
        }
    }
    match (required, group) {
        (Some((seen, _)), Some((total, words))) if total < seen => out.extend(words),
        (Some((_, word)), _) => out.push(word),
        (None, Some((_, words))) => out.extend(words),
        (None, None) => {}
    }
}

/// [`dealpulse_domain::query::Query::matches`] on an encoded query.
pub(crate) fn query_matches(query: &[u32], haystack: &[u32]) -> bool {
    let mut ok = true;
    let rest = terms(query, |term| ok = ok && occurs(term, haystack));
    if !ok {
        return false;
    }
    let (groups, mut rest) = rest.split_first().map_or((0, rest), |(n, r)| (*n, r));
    for _ in 0..groups {
        let mut any = false;
        rest = terms(rest, |term| any = any || occurs(term, haystack));
        if !any {
            return false;
        }
    }
    let mut excluded = false;
    terms(rest, |term| excluded = excluded || occurs(term, haystack));
    !excluded
}

impl CompiledRule {
    /// Compiles `rule`, appending its encoded query to `arena`.
    pub(crate) fn compile(
        rule: &AlertRule,
        vocabulary: &mut Vocabulary,
        arena: &mut Vec<u32>,
    ) -> CompiledRule {
        let query = &rule.query;
        let query_at = arena.len();
        encode_terms(query.all_of(), vocabulary, arena);
        arena.push(query.any_of().len() as u32);
        for group in query.any_of() {
            encode_terms(group, vocabulary, arena);
        }
        encode_terms(query.none_of(), vocabulary, arena);
        let area = rule
            .location
            .as_ref()
            .zip(rule.radius.as_ref())
            .map(|(location, radius)| (location.point, radius.km()));
        let rare =
            (area.is_some() || !rule.sources.is_empty() || rule.flight.is_some()).then(|| {
                Box::new(Rare {
                    area,
                    sources: rule.sources.clone(),
                    flight: rule.flight.clone(),
                })
            });
        CompiledRule {
            id: rule.id,
            owner: rule.owner,
            criteria: Criteria {
                query_at: query_at as u32,
                query_len: (arena.len() - query_at) as u32,
                price: rule.price_currency().map(|currency| PriceBounds {
                    currency,
                    min: rule.min_price.map_or(i64::MIN, |m| m.minor()),
                    max: rule.max_price.map_or(i64::MAX, |m| m.minor()),
                }),
                categories: rule
                    .categories
                    .iter()
                    .fold(0, |bits, c| bits | category_bit(*c)),
                conditions: rule
                    .conditions
                    .iter()
                    .fold(0, |bits, c| bits | condition_bit(*c)),
                min_score: rule.min_score,
                rare,
            },
        }
    }
}

impl Criteria {
    pub(crate) fn categories(&self) -> u32 {
        self.categories
    }

    pub(crate) fn min_score(&self) -> Option<u8> {
        self.min_score
    }

    pub(crate) fn area(&self) -> Option<(GeoPoint, f64)> {
        self.rare.as_ref().and_then(|rare| rare.area)
    }

    pub(crate) fn flight(&self) -> Option<&FlightCriteria> {
        self.rare.as_ref().and_then(|rare| rare.flight.as_ref())
    }

    /// [`AlertRule::matches`] but for the query (checked last, with [`query_matches`]):
    /// `category` is the listing's category bit. Property tests hold the two to the same
    /// answers.
    pub(crate) fn admit(&self, listing: &Listing, category: u32) -> bool {
        if let Some(bounds) = &self.price {
            let price = listing.price;
            if price.currency() != bounds.currency
                || price.minor() > bounds.max
                || price.minor() < bounds.min
            {
                return false;
            }
        }
        if self.categories != 0 && self.categories & category == 0 {
            return false;
        }
        if self.conditions != 0
            && listing
                .condition
                .is_none_or(|c| self.conditions & condition_bit(c) == 0)
        {
            return false;
        }
        if let Some(min) = self.min_score {
            if listing.score.is_none_or(|score| score < min) {
                return false;
            }
        }
        if let Some(rare) = &self.rare {
            if let Some((centre, km)) = &rare.area {
                if !listing
                    .location
                    .as_ref()
                    .is_some_and(|point| centre.distance_km(point) <= *km)
                {
                    return false;
                }
            }
            if !rare.sources.is_empty() && !rare.sources.contains(&listing.source) {
                return false;
            }
            if let Some(flight) = &rare.flight {
                if !listing
                    .flight
                    .as_ref()
                    .is_some_and(|offer| flight.admits(offer))
                {
                    return false;
                }
            }
        }
        true
    }
}
