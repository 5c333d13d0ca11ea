//! Keyword queries of alert rules: all-of words, any-of groups, excluded words and quoted
//! phrases, matched case- and accent-insensitively against a listing's text.
//!
//! The text syntax is a small boolean language, parsed into the same structure a client can send
//! as JSON arrays:
//!
//! ```text
//! gaming (pc OR desktop) -mac "water cooled" -"refurbished by seller"
//! ```
//!
//! Juxtaposition means AND, `OR` (or `|`) binds tighter than AND, `-term` / `NOT term` /
//! `-(a OR b)` exclude, parentheses hold one OR group. What would need a full boolean tree
//! (`(a b) OR c`) is refused with a message rather than guessed at. [`Query`]'s `Display` is its
//! canonical text, and parsing that text gives back the same query.

use serde::{Deserialize, Serialize};
use std::fmt;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Most keywords (words, counting every word of a phrase) one query may hold.
pub const MAX_KEYWORDS: usize = 50;
/// Longest query text accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;

/// Lower-cases, decomposes and strips accents, so `Café` and `CAFE` compare equal.
pub fn fold(text: &str) -> String {
    // Most listing text is ASCII, which decomposes to itself.
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits folded text into words: runs of letters and digits.
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_string)
        .collect()
}

/// One thing to look for: a word, or a phrase (words that must appear consecutively).
/// Stored folded; a term written with inner punctuation (`wi-fi`) is the phrase `"wi fi"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Term(Vec<String>);

impl Term {
    /// Parses one term as a client writes it in a JSON array; surrounding quotes are optional.
    pub fn parse(raw: &str) -> Result<Self, QueryError> {
        let trimmed = raw.trim();
        let unquoted = trimmed
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or(trimmed);
        let parts = words(unquoted);
        if parts.is_empty() {
            return Err(QueryError::new(format!(
                "\"{}\" has no letters or digits to search for",
                truncate(raw)
            )));
        }
        Ok(Self(parts))
    }

    pub fn words(&self) -> &[String] {
        &self.0
    }

    fn is_phrase(&self) -> bool {
        self.0.len() > 1
    }

    /// Whether the term occurs in `haystack` (the words of a listing's text).
    pub fn occurs_in(&self, haystack: &[String]) -> bool {
        haystack
            .windows(self.0.len())
            .any(|window| window == self.0)
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined = self.0.join(" ");
        // Words that are operators in the text syntax are quoted so they stay words.
        if self.is_phrase() || matches!(joined.as_str(), "or" | "and" | "not") {
            write!(f, "\"{joined}\"")
        } else {
            f.write_str(&joined)
        }
    }
}

impl TryFrom<String> for Term {
    type Error = QueryError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Term> for String {
    fn from(value: Term) -> Self {
        value.0.join(" ")
    }
}

/// Why a query was refused; the message is written for the person typing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub message: String,
    /// Where in the text the problem is, as character offsets `[start, end)`, when the parser
    /// can tell (an empty range at the end means "something is missing here").
    pub span: Option<(usize, usize)>,
}

/// Character offsets `[start, end)` into a query text.
type Span = (usize, usize);

impl QueryError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            span: None,
        }
    }

    fn at(message: impl Into<String>, span: Span) -> Self {
        Self {
            message: message.into(),
            span: Some(span),
        }
    }

    fn within(mut self, span: Span) -> Self {
        self.span.get_or_insert(span);
        self
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A parsed keyword query. Every part may be empty; the empty query matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "QueryParts", into = "QueryParts")]
pub struct Query {
    all_of: Vec<Term>,
    any_of: Vec<Vec<Term>>,
    none_of: Vec<Term>,
}

/// The structured form of a query as it travels in JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParts {
    #[serde(default)]
    pub all_of: Vec<Term>,
    #[serde(default)]
    pub any_of: Vec<Vec<Term>>,
    #[serde(default)]
    pub none_of: Vec<Term>,
}

impl TryFrom<QueryParts> for Query {
    type Error = QueryError;
    fn try_from(parts: QueryParts) -> Result<Self, Self::Error> {
        Self::from_parts(parts.all_of, parts.any_of, parts.none_of)
    }
}

impl From<Query> for QueryParts {
    fn from(query: Query) -> Self {
        QueryParts {
            all_of: query.all_of,
            any_of: query.any_of,
            none_of: query.none_of,
        }
    }
}

/// What a query found missing or present in a listing's text, for "why didn't it match".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueryMiss {
    /// Required terms that do not occur.
    pub missing: Vec<String>,
    /// OR groups none of whose terms occur, each shown as `(a OR b)`.
    pub unmet_groups: Vec<String>,
    /// Excluded terms that do occur.
    pub excluded_present: Vec<String>,
}

impl Query {
    /// Builds a query from its parts, normalising it the way the parser does: duplicate terms
    /// and groups are dropped, a one-term group becomes a required term.
    pub fn from_parts(
        all_of: Vec<Term>,
        any_of: Vec<Vec<Term>>,
        none_of: Vec<Term>,
    ) -> Result<Self, QueryError> {
        let mut query = Query::default();
        for term in all_of {
            push_unique(&mut query.all_of, term);
        }
        for group in any_of {
            query.add_group(group)?;
        }
        for term in none_of {
            push_unique(&mut query.none_of, term);
        }
        query.check()?;
        Ok(query)
    }

    pub fn all_of(&self) -> &[Term] {
        &self.all_of
    }
    pub fn any_of(&self) -> &[Vec<Term>] {
        &self.any_of
    }
    pub fn none_of(&self) -> &[Term] {
        &self.none_of
    }

    pub fn is_empty(&self) -> bool {
        self.all_of.is_empty() && self.any_of.is_empty() && self.none_of.is_empty()
    }

    /// Words in the query, counting each word of a phrase.
    pub fn keyword_count(&self) -> usize {
        let count = |terms: &[Term]| terms.iter().map(|t| t.0.len()).sum::<usize>();
        count(&self.all_of)
            + self.any_of.iter().map(|g| count(g)).sum::<usize>()
            + count(&self.none_of)
    }

    fn add_group(&mut self, group: Vec<Term>) -> Result<(), QueryError> {
        let mut unique = Vec::new();
        for term in group {
            push_unique(&mut unique, term);
        }
        match unique.len() {
            0 => Err(QueryError::new("an OR group needs at least one term")),
            1 => {
                let mut unique = unique;
                if let Some(term) = unique.pop() {
                    push_unique(&mut self.all_of, term);
                }
                Ok(())
            }
            _ => {
                if !self.any_of.contains(&unique) {
                    self.any_of.push(unique);
                }
                Ok(())
            }
        }
    }

    fn check(&self) -> Result<(), QueryError> {
        let keywords = self.keyword_count();
        if keywords > MAX_KEYWORDS {
            return Err(QueryError::new(format!(
                "a query may hold at most {MAX_KEYWORDS} keywords; this one has {keywords}"
            )));
        }
        if let Some(term) = self
            .none_of
            .iter()
            .find(|t| self.all_of.contains(t) || self.any_of.iter().any(|g| g.contains(t)))
        {
            return Err(QueryError::new(format!(
                "{term} is both required and excluded, so nothing could match"
            )));
        }
        Ok(())
    }

    /// Parses the text syntax described in the module documentation.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::new(format!(
                "a query may be at most {MAX_QUERY_CHARS} characters"
            )));
        }
        let tokens = lex(text)?;
        Parser {
            tokens,
            position: 0,
            end: text.chars().count(),
            query: Query::default(),
            excluded: Vec::new(),
        }
        .parse()
    }

    /// Whether the folded words of a listing's text satisfy the query.
    pub fn matches(&self, haystack: &[String]) -> bool {
        self.all_of.iter().all(|t| t.occurs_in(haystack))
            && self
                .any_of
                .iter()
                .all(|group| group.iter().any(|t| t.occurs_in(haystack)))
            && !self.none_of.iter().any(|t| t.occurs_in(haystack))
    }

    /// Explains a failed match; `None` when the query matches.
    pub fn explain(&self, haystack: &[String]) -> Option<QueryMiss> {
        let miss = QueryMiss {
            missing: self
                .all_of
                .iter()
                .filter(|t| !t.occurs_in(haystack))
                .map(Term::to_string)
                .collect(),
            unmet_groups: self
                .any_of
                .iter()
                .filter(|group| !group.iter().any(|t| t.occurs_in(haystack)))
                .map(|group| group_text(group))
                .collect(),
            excluded_present: self
                .none_of
                .iter()
                .filter(|t| t.occurs_in(haystack))
                .map(Term::to_string)
                .collect(),
        };
        let matched = miss.missing.is_empty()
            && miss.unmet_groups.is_empty()
            && miss.excluded_present.is_empty();
        (!matched).then_some(miss)
    }
}

fn push_unique(terms: &mut Vec<Term>, term: Term) {
    if !terms.contains(&term) {
        terms.push(term);
    }
}

fn group_text(group: &[Term]) -> String {
    let inner: Vec<String> = group.iter().map(Term::to_string).collect();
    format!("({})", inner.join(" OR "))
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.all_of.iter().map(Term::to_string).collect();
        parts.extend(self.any_of.iter().map(|g| group_text(g)));
        parts.extend(self.none_of.iter().map(|t| format!("-{t}")));
        f.write_str(&parts.join(" "))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Term(Term),
    Open,
    Close,
    Or,
    And,
    Not,
}

fn is_boundary(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | '|')
}

fn lex(text: &str) -> Result<Vec<(Token, Span)>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    // True where a `-` would start an exclusion: at the start or after a space or `(`.
    let mut at_item_start = true;
    while let Some(&c) = chars.get(i) {
        match c {
            c if c.is_whitespace() => {
                i += 1;
                at_item_start = true;
                continue;
            }
            '(' => {
                tokens.push((Token::Open, (i, i + 1)));
                i += 1;
                at_item_start = true;
                continue;
            }
            ')' => {
                tokens.push((Token::Close, (i, i + 1)));
                i += 1;
            }
            '|' => {
                tokens.push((Token::Or, (i, i + 1)));
                i += 1;
                at_item_start = true;
                continue;
            }
            '"' => {
                let Some(length) = chars[i + 1..].iter().position(|&c| c == '"') else {
                    return Err(QueryError::at(
                        "a quoted phrase is missing its closing \"",
                        (i, chars.len()),
                    ));
                };
                let close = i + 1 + length;
                let phrase: String = chars[i + 1..close].iter().collect();
                let span = (i, close + 1);
                let term = Term::parse(&phrase).map_err(|e| e.within(span))?;
                tokens.push((Token::Term(term), span));
                i = close + 1;
            }
            '-' if at_item_start => match chars.get(i + 1) {
                Some(&next) if !next.is_whitespace() && next != ')' && next != '|' => {
                    tokens.push((Token::Not, (i, i + 1)));
                    i += 1;
                    at_item_start = false;
                    continue;
                }
                _ => {
                    return Err(QueryError::at(
                        "a - must be followed by what to exclude",
                        (i, i + 1),
                    ))
                }
            },
            _ => {
                let start = i;
                while chars.get(i).is_some_and(|&c| !is_boundary(c)) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let span = (start, i);
                let token = match word.as_str() {
                    "OR" => Token::Or,
                    "AND" => Token::And,
                    "NOT" => Token::Not,
                    _ => Token::Term(Term::parse(&word).map_err(|e| e.within(span))?),
                };
                tokens.push((token, span));
            }
        }
        at_item_start = false;
    }
    Ok(tokens)
}

/// One element of the top-level conjunction, before OR groups are formed.
enum Item {
    Terms(Vec<Term>),
    /// Excluded terms, and where the exclusion is written.
    Excluded(Vec<Term>, Span),
}

struct Parser {
    tokens: Vec<(Token, Span)>,
    position: usize,
    /// Length of the text in characters: where "missing" problems point.
    end: usize,
    query: Query,
    /// Every exclusion with where it is written, to point at one that contradicts the rest.
    excluded: Vec<(Term, Span)>,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position).map(|(token, _)| token)
    }

    fn peek_span(&self) -> Span {
        self.tokens
            .get(self.position)
            .map_or((self.end, self.end), |(_, span)| *span)
    }

    fn next(&mut self) -> Option<(Token, Span)> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn parse(mut self) -> Result<Query, QueryError> {
        while self.peek().is_some() {
            if self.peek() == Some(&Token::And) {
                self.next();
                continue;
            }
            match self.item()? {
                Item::Excluded(terms, span) => {
                    if self.peek() == Some(&Token::Or) {
                        return Err(QueryError::at(
                            "an excluded term cannot be part of an OR; write -(a OR b) to exclude both",
                            self.peek_span(),
                        ));
                    }
                    for term in terms {
                        self.excluded.push((term.clone(), span));
                        push_unique(&mut self.query.none_of, term);
                    }
                }
                Item::Terms(mut group) => {
                    while self.peek() == Some(&Token::Or) {
                        self.next();
                        match self.item()? {
                            Item::Terms(more) => group.extend(more),
                            Item::Excluded(_, span) => {
                                return Err(QueryError::at(
                                    "an excluded term cannot be part of an OR",
                                    span,
                                ))
                            }
                        }
                    }
                    self.query.add_group(group)?;
                }
            }
        }
        // The check below refuses a term both required and excluded; say where the exclusion
        // is (the keyword limit comes first, as there).
        if self.query.keyword_count() <= MAX_KEYWORDS {
            let query = &self.query;
            if let Some((term, span)) = self.excluded.iter().find(|(term, _)| {
                query.all_of.contains(term) || query.any_of.iter().any(|g| g.contains(term))
            }) {
                return Err(QueryError::at(
                    format!("{term} is both required and excluded, so nothing could match"),
                    *span,
                ));
            }
        }
        self.query.check()?;
        Ok(self.query)
    }

    /// A term, a parenthesised OR group, or either of them excluded.
    fn item(&mut self) -> Result<Item, QueryError> {
        let missing = (self.end, self.end);
        match self.next() {
            Some((Token::Not, not)) => match self.next() {
                Some((Token::Term(term), span)) => Ok(Item::Excluded(vec![term], (not.0, span.1))),
                Some((Token::Open, open)) => {
                    let (terms, close) = self.group(open)?;
                    Ok(Item::Excluded(terms, (not.0, close)))
                }
                other => Err(QueryError::at(
                    "NOT and - must be followed by what to exclude",
                    other.map_or(not, |(_, span)| span),
                )),
            },
            Some((Token::Term(term), _)) => Ok(Item::Terms(vec![term])),
            Some((Token::Open, open)) => Ok(Item::Terms(self.group(open)?.0)),
            Some((Token::Close, span)) => Err(QueryError::at("a ) has no matching (", span)),
            Some((Token::Or, span)) => Err(QueryError::at("OR needs a term on each side", span)),
            Some((Token::And, span)) => Err(QueryError::at("AND needs a term on each side", span)),
            None => Err(QueryError::at(
                "the query ends where a term was expected",
                missing,
            )),
        }
    }

    /// The inside of `( ... )` after the `(` at `open`: terms separated by OR. Returns them and
    /// where the group ends.
    fn group(&mut self, open: Span) -> Result<(Vec<Term>, usize), QueryError> {
        let unclosed = (open.0, self.end);
        let mut terms = Vec::new();
        loop {
            match self.next() {
                Some((Token::Term(term), _)) => terms.push(term),
                Some((Token::Close, span)) if terms.is_empty() => {
                    return Err(QueryError::at("empty parentheses", (open.0, span.1)))
                }
                Some((Token::Open, span)) => {
                    return Err(QueryError::at(
                        "parentheses cannot be nested; use one (a OR b) group per alternative",
                        span,
                    ))
                }
                Some((Token::Not, span)) => {
                    return Err(QueryError::at(
                        "exclusions go outside parentheses: -(a OR b) or -a",
                        span,
                    ))
                }
                None => return Err(QueryError::at("a ( is missing its closing )", unclosed)),
                Some((_, span)) => {
                    return Err(QueryError::at("inside parentheses, expected a term", span))
                }
            }
            match self.next() {
                Some((Token::Close, span)) => return Ok((terms, span.1)),
                Some((Token::Or, _)) => continue,
                Some((Token::Term(_) | Token::And, span)) if terms.len() == 1 => {
                    return Err(QueryError::at(
                        "inside parentheses, separate alternatives with OR (AND is implied outside them)",
                        span,
                    ))
                }
                None => return Err(QueryError::at("a ( is missing its closing )", unclosed)),
                Some((_, span)) => {
                    return Err(QueryError::at(
                        "inside parentheses, separate alternatives with OR",
                        span,
                    ))
                }
            }
        }
    }
}

impl Query {
    /// The query in words, for people checking what they typed ("mentions gaming and at least
    /// one of pc or desktop, but not mac").
    pub fn describe(&self) -> String {
        if self.is_empty() {
            return "matches every listing (no keywords)".to_string();
        }
        let list = |terms: &[Term], last: &str| {
            let words: Vec<String> = terms.iter().map(Term::to_string).collect();
            match words.split_last() {
                None => String::new(),
                Some((only, [])) => only.clone(),
                Some((final_word, rest)) => format!("{} {last} {final_word}", rest.join(", ")),
            }
        };
        let mut required = Vec::new();
        if !self.all_of.is_empty() {
            required.push(format!("mentions {}", list(&self.all_of, "and")));
        }
        for group in &self.any_of {
            let prefix = if group.len() == 2 {
                "either"
            } else {
                "at least one of"
            };
            required.push(format!("mentions {prefix} {}", list(group, "or")));
        }
        let mut text = required.join(" and ");
        if !self.none_of.is_empty() {
            let excluded = format!("mentions none of {}", list(&self.none_of, "or"));
            text = if text.is_empty() {
                excluded
            } else {
                format!("{text}, but {excluded}")
            };
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn terms(list: &[&str]) -> Vec<Term> {
        list.iter().map(|t| Term::parse(t).unwrap()).collect()
    }

    #[test]
    fn the_example_from_the_brief_parses_into_its_parts() {
        let query = Query::parse("gaming (pc OR desktop) -mac").unwrap();
        assert_eq!(query.all_of(), terms(&["gaming"]).as_slice());
        assert_eq!(query.any_of(), &[terms(&["pc", "desktop"])]);
        assert_eq!(query.none_of(), terms(&["mac"]).as_slice());
        assert_eq!(query.to_string(), "gaming (pc OR desktop) -mac");
    }

    #[test]
    fn or_binds_tighter_than_and_and_pipes_mean_or() {
        let query = Query::parse("rtx 4090 | 4080 AND NOT used").unwrap();
        assert_eq!(query.all_of(), terms(&["rtx"]).as_slice());
        assert_eq!(query.any_of(), &[terms(&["4090", "4080"])]);
        assert_eq!(query.none_of(), terms(&["used"]).as_slice());
    }

    #[test]
    fn phrases_accents_and_case_fold() {
        let query = Query::parse("\"Crème Brûlée\" -\"for PARTS\" -(broken OR cracked)").unwrap();
        assert_eq!(
            query.to_string(),
            "\"creme brulee\" -\"for parts\" -broken -cracked"
        );
        let text = words("CREME brulee torch set, like new");
        assert!(query.matches(&text));
        assert!(!query.matches(&words("crème brûlée torch, for parts")));
        assert!(
            !query.matches(&words("brulee creme")),
            "phrase words are ordered"
        );
    }

    #[test]
    fn hyphenated_words_are_phrases_and_minus_inside_a_word_is_not_exclusion() {
        let query = Query::parse("wi-fi router").unwrap();
        assert_eq!(query.to_string(), "\"wi fi\" router");
        assert!(query.none_of().is_empty());
    }

    #[test]
    fn words_match_whole_words_only() {
        let query = Query::parse("pc").unwrap();
        assert!(query.matches(&words("Gaming PC, RTX 3070")));
        assert!(!query.matches(&words("PCI-e riser cable")));
    }

    #[test]
    fn explain_names_each_failed_part() {
        let query = Query::parse("gaming (pc OR desktop) -mac").unwrap();
        let miss = query.explain(&words("Mac mini for office work")).unwrap();
        assert_eq!(miss.missing, vec!["gaming"]);
        assert_eq!(miss.unmet_groups, vec!["(pc OR desktop)"]);
        assert_eq!(miss.excluded_present, vec!["mac"]);
        assert_eq!(query.explain(&words("gaming desktop")), None);
    }

    #[test]
    fn bad_queries_are_refused_with_a_reason() {
        for (text, fragment) in [
            ("(a b) OR c", "separate alternatives with OR"),
            ("((a OR b))", "nested"),
            ("a OR", "ends where a term"),
            ("OR a", "OR needs a term"),
            ("-a OR b", "excluded term cannot be part of an OR"),
            ("a OR -b", "excluded term cannot be part of an OR"),
            ("(a OR b", "missing its closing )"),
            ("a)", "no matching ("),
            ("\"open phrase", "closing \""),
            ("()", "empty parentheses"),
            ("- a", "followed by what to exclude"),
            ("mac -mac", "both required and excluded"),
            ("!!!", "no letters or digits"),
        ] {
            let error = Query::parse(text).unwrap_err();
            assert!(
                error.message.contains(fragment),
                "{text}: {} does not mention {fragment}",
                error.message
            );
        }
    }

    #[test]
    fn keyword_and_length_limits_hold() {
        let fifty: Vec<String> = (0..50).map(|i| format!("w{i}")).collect();
        assert!(Query::parse(&fifty.join(" ")).is_ok());
        let fifty_one = format!("{} extra", fifty.join(" "));
        assert!(Query::parse(&fifty_one)
            .unwrap_err()
            .message
            .contains("at most 50"));
        assert!(Query::parse(&"a ".repeat(600)).is_err());
    }

    #[test]
    fn structured_parts_normalise_like_the_parser() {
        let parts: QueryParts = serde_json::from_str(
            r#"{"all_of":["Gaming","gaming"],"any_of":[["PC","Desktop"],["solo"]],"none_of":["\"Mac Mini\""]}"#,
        )
        .unwrap();
        let query = Query::try_from(parts).unwrap();
        assert_eq!(
            query.to_string(),
            "gaming solo (pc OR desktop) -\"mac mini\""
        );
        assert_eq!(Query::parse(&query.to_string()).unwrap(), query);
        assert!(serde_json::from_str::<Query>(r#"{"all_of":["..."]}"#).is_err());
        assert!(serde_json::from_str::<Query>(r#"{"any_of":[[]]}"#).is_err());
        assert!(serde_json::from_str::<Query>(r#"{"all_of":[],"extra":1}"#).is_err());
    }

    #[test]
    fn operator_words_survive_display_as_quoted_words() {
        let query = Query::from_parts(terms(&["or", "not"]), vec![], vec![]).unwrap();
        assert_eq!(query.to_string(), "\"or\" \"not\"");
        assert_eq!(Query::parse(&query.to_string()).unwrap(), query);
    }

    fn arbitrary_term() -> impl Strategy<Value = Term> {
        prop::collection::vec("[a-zà-ÿ0-9]{1,8}|or|and|not|OR", 1..4)
            .prop_filter_map("term needs letters", |parts| {
                Term::parse(&parts.join(" ")).ok()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,120}") {
            let _ = Query::parse(&text);
        }

        #[test]
        fn parsing_operator_soup_never_panics(text in "[()\"|a-c \\-]{0,60}|(OR|AND|NOT| |a|-|\\(|\\)|\"){0,30}") {
            let _ = Query::parse(&text);
        }

        #[test]
        fn display_round_trips_for_any_parsed_query(text in "[a-e() |\"\\-]{0,40}|((OR|AND|NOT|x|y|-|\\(|\\)) ){0,20}") {
            if let Ok(query) = Query::parse(&text) {
                let shown = query.to_string();
                prop_assert_eq!(Query::parse(&shown).unwrap(), query.clone(), "{}", shown);
            }
        }

        #[test]
        fn display_round_trips_for_any_built_query(
            all in prop::collection::vec(arbitrary_term(), 0..5),
            any in prop::collection::vec(prop::collection::vec(arbitrary_term(), 1..4), 0..3),
            none in prop::collection::vec(arbitrary_term(), 0..4),
        ) {
            if let Ok(query) = Query::from_parts(all, any, none) {
                let shown = query.to_string();
                prop_assert_eq!(Query::parse(&shown).unwrap(), query, "{}", shown);
            }
        }

        #[test]
        fn a_query_matches_the_text_it_is_made_of(
            all in prop::collection::vec(arbitrary_term(), 1..5),
        ) {
            let query = Query::from_parts(all.clone(), vec![], vec![]).unwrap();
            let text: Vec<String> = all.iter().flat_map(|t| t.words().to_vec()).collect();
            prop_assert!(query.matches(&text));
        }
    }
    #[test]
    fn errors_point_at_the_part_of_the_text_at_fault() {
        for (text, span) in [
            ("gaming (pc OR desktop", (7, 21)),
            ("gaming pc)", (9, 10)),
            ("gaming \"water cooled", (7, 20)),
            ("gaming - pc", (7, 8)),
            ("gaming OR", (9, 9)),
            ("OR pc", (0, 2)),
            ("(a b)", (3, 4)),
            ("(a OR (b))", (6, 7)),
            ("-a OR b", (3, 5)),
            ("pc -pc", (3, 6)),
            ("pc -(mac OR pc)", (3, 15)),
            ("pc ()", (3, 5)),
            ("caf\u{e9} \u{2014}", (5, 6)),
        ] {
            let error = Query::parse(text).unwrap_err();
            assert_eq!(error.span, Some(span), "{text}: {}", error.message);
        }
        let many: Vec<String> = (0..51).map(|i| format!("w{i}")).collect();
        assert_eq!(Query::parse(&many.join(" ")).unwrap_err().span, None);
    }

    #[test]
    fn queries_are_described_in_words() {
        let query = Query::parse("gaming rtx (pc OR desktop) -mac -\"for parts\"").unwrap();
        assert_eq!(
            query.describe(),
            "mentions gaming and rtx and mentions either pc or desktop, but mentions none of mac or \"for parts\""
        );
        assert_eq!(
            Query::parse("-refurbished").unwrap().describe(),
            "mentions none of refurbished"
        );
        assert_eq!(
            Query::parse("(a OR b OR c) d e f").unwrap().describe(),
            "mentions d, e and f and mentions at least one of a, b or c"
        );
        assert_eq!(
            Query::default().describe(),
            "matches every listing (no keywords)"
        );
    }
}
