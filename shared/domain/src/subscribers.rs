//! The public weekly "top deals" newsletter: people without an account subscribe with an
//! address, confirm it from an e-mailed link (double opt-in), and leave with one click.
//! Administrators list and search them and import existing lists from CSV.
//!
//! Subscribers are documents under the system owner keyed by the normalised (lower-cased)
//! address, so the same address in any case is one subscriber and a second insert conflicts:
//! duplicates are refused by the store, not by a read before the write. How many are pending,
//! confirmed and unsubscribed is kept in total counters moved with each change.

use crate::account::{Email, InvalidValue};
use crate::counters::{CounterKey, CounterRepository};
use crate::ids::UserId;
use crate::ports::StoreError;
use crate::records::{records, DocumentRepository};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberStatus {
    /// Subscribed, waiting for the confirmation link to be followed.
    Pending,
    Confirmed,
    Unsubscribed,
}

impl SubscriberStatus {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Confirmed, Self::Unsubscribed];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Unsubscribed => "unsubscribed",
        }
    }
    /// The total counter of subscribers in this state.
    pub fn counter(self) -> CounterKey {
        CounterKey::total(format!("newsletter.{}", self.as_str()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberSource {
    /// The public subscribe form (double opt-in).
    Form,
    /// An administrator's CSV import of a list that already opted in elsewhere.
    Import,
}

/// A subscriber's name as given in an import: trimmed, at most 100 characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubscriberName(String);

impl SubscriberName {
    pub fn parse(raw: &str) -> Result<Option<Self>, InvalidValue> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        if trimmed.chars().count() > 100 {
            return Err(InvalidValue("the name is longer than 100 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidValue("the name has control characters"));
        }
        Ok(Some(Self(trimmed.to_string())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscriber {
    pub owner: UserId,
    /// The normalised address.
    pub key: String,
    pub email: Email,
    pub name: Option<SubscriberName>,
    pub status: SubscriberStatus,
    pub source: SubscriberSource,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
    pub unsubscribed_at: Option<Timestamp>,
    /// When the last confirmation e-mail went out (resends are spaced by
    /// [`CONFIRMATION_RESEND_GAP`]).
    pub confirmation_sent_at: Option<Timestamp>,
    pub version: u64,
}
crate::keyed_record!(Subscriber, "subscriber");

/// A second subscribe of a pending address re-sends the confirmation at most this often, so the
/// form cannot be used to flood someone's inbox.
pub const CONFIRMATION_RESEND_GAP: SignedDuration = SignedDuration::from_secs(10 * 60);
/// How long a confirmation link works.
pub const CONFIRMATION_VALIDITY: SignedDuration = SignedDuration::from_hours(7 * 24);

/// What the newsletter links carry, signed: a confirmation (expires) or an unsubscribe (does
/// not: mail clients keep messages for months).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewsletterToken {
    Confirm { email: Email, expires: Timestamp },
    Unsubscribe { email: Email },
}

/// The newsletter links' key, derived from the unsubscribe key every sender already holds.
pub fn newsletter_key(unsubscribe_key: &[u8]) -> Vec<u8> {
    crate::secret::derive_key(unsubscribe_key, "dealpulse/newsletter/v1")
}

impl NewsletterToken {
    /// `<base64url payload>.<base64url tag>`; addresses hold no spaces, so the payload is
    /// space-separated.
    pub fn sign(&self, key: &[u8]) -> String {
        let payload = match self {
            Self::Confirm { email, expires } => {
                format!("confirm {} {}", expires.as_second(), email.as_str())
            }
            Self::Unsubscribe { email } => format!("unsubscribe {}", email.as_str()),
        };
        crate::secret::sign_payload(key, payload.as_bytes())
    }

    /// Checks the signature and, for a confirmation, that it has not expired at `now`.
    pub fn open(key: &[u8], token: &str, now: Timestamp) -> Result<Self, InvalidValue> {
        let bad = InvalidValue("the newsletter link is not valid");
        let payload = crate::secret::open_signed(key, token).ok_or(bad.clone())?;
        let payload = String::from_utf8(payload).map_err(|_| bad.clone())?;
        let parts: Vec<&str> = payload.split(' ').collect();
        match parts.as_slice() {
            ["confirm", expires, email] => {
                let expires = expires
                    .parse::<i64>()
                    .ok()
                    .and_then(|s| Timestamp::from_second(s).ok())
                    .ok_or(bad.clone())?;
                if expires < now {
                    return Err(InvalidValue(
                        "the confirmation link has expired; subscribe again for a new one",
                    ));
                }
                let email = Email::parse(email).map_err(|_| bad)?;
                Ok(Self::Confirm { email, expires })
            }
            ["unsubscribe", email] => Ok(Self::Unsubscribe {
                email: Email::parse(email).map_err(|_| bad)?,
            }),
            _ => Err(bad),
        }
    }
}

/// What a subscribe request led to. The HTTP answer is the same for all of them, so the form
/// does not tell strangers who is subscribed.
#[derive(Debug, Clone, PartialEq)]
pub enum Subscribed {
    /// New, or back after unsubscribing, or still pending: send this confirmation.
    SendConfirmation(Box<Subscriber>),
    /// Pending, and a confirmation went out moments ago.
    RecentlySent,
    /// Already confirmed: nothing to do.
    AlreadyConfirmed,
}

fn counter_moves(from: Option<SubscriberStatus>, to: SubscriberStatus) -> Vec<(CounterKey, i64)> {
    match from {
        Some(from) if from == to => Vec::new(),
        Some(from) => vec![(from.counter(), -1), (to.counter(), 1)],
        None => vec![(to.counter(), 1)],
    }
}

/// Moves the state counters; the subscriber is stored either way, so a failed count is logged.
async fn count(counters: &dyn CounterRepository, moves: Vec<(CounterKey, i64)>) {
    if moves.is_empty() {
        return;
    }
    if let Err(error) = counters.add_counts(&moves).await {
        tracing::warn!(%error, "newsletter subscriber counts not moved");
    }
}

/// Subscribes `email` through the public form.
pub async fn subscribe(
    documents: &dyn DocumentRepository,
    counters: &dyn CounterRepository,
    email: &Email,
    now: Timestamp,
) -> Result<Subscribed, StoreError> {
    let subscribers = records::<Subscriber>(documents);
    for _ in 0..8 {
        let Some(mut stored) = subscribers.get(UserId::system(), email.as_str()).await? else {
            let fresh = Subscriber {
                owner: UserId::system(),
                key: email.as_str().to_string(),
                email: email.clone(),
                name: None,
                status: SubscriberStatus::Pending,
                source: SubscriberSource::Form,
                created_at: now,
                updated_at: now,
                confirmed_at: None,
                unsubscribed_at: None,
                confirmation_sent_at: Some(now),
                version: 0,
            };
            match subscribers.insert(&fresh, None).await {
                Ok(stored) => {
                    count(counters, counter_moves(None, stored.status)).await;
                    return Ok(Subscribed::SendConfirmation(Box::new(stored)));
                }
                // Someone subscribed the same address at the same moment: read it again.
                Err(StoreError::Conflict(_)) => continue,
                Err(other) => return Err(other),
            }
        };
        let before = stored.status;
        match before {
            SubscriberStatus::Confirmed => return Ok(Subscribed::AlreadyConfirmed),
            SubscriberStatus::Pending => {
                let recent = stored
                    .confirmation_sent_at
                    .is_some_and(|at| now.duration_since(at) < CONFIRMATION_RESEND_GAP);
                if recent {
                    return Ok(Subscribed::RecentlySent);
                }
            }
            SubscriberStatus::Unsubscribed => {
                stored.status = SubscriberStatus::Pending;
                stored.source = SubscriberSource::Form;
            }
        }
        stored.confirmation_sent_at = Some(now);
        stored.updated_at = now;
        match subscribers.update(&stored).await {
            Ok(stored) => {
                count(counters, counter_moves(Some(before), stored.status)).await;
                return Ok(Subscribed::SendConfirmation(Box::new(stored)));
            }
            Err(StoreError::Stale) | Err(StoreError::NotFound) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Unavailable(
        "the subscriber kept changing; try again".into(),
    ))
}

/// Moves the subscriber of `email` to `to` (confirm or unsubscribe). `None` when there is no
/// such subscriber. Confirming only moves a pending subscriber: an old confirmation link does
/// not bring back someone who unsubscribed since.
pub async fn set_status(
    documents: &dyn DocumentRepository,
    counters: &dyn CounterRepository,
    email: &Email,
    to: SubscriberStatus,
    now: Timestamp,
) -> Result<Option<Subscriber>, StoreError> {
    let subscribers = records::<Subscriber>(documents);
    for _ in 0..8 {
        let Some(mut stored) = subscribers.get(UserId::system(), email.as_str()).await? else {
            return Ok(None);
        };
        let before = stored.status;
        let moves = match (before, to) {
            (from, to) if from == to => false,
            (SubscriberStatus::Pending, SubscriberStatus::Confirmed) => true,
            (_, SubscriberStatus::Confirmed) => false,
            (_, SubscriberStatus::Unsubscribed) => true,
            (_, SubscriberStatus::Pending) => false,
        };
        if !moves {
            return Ok(Some(stored));
        }
        stored.status = to;
        stored.updated_at = now;
        match to {
            SubscriberStatus::Confirmed => stored.confirmed_at = Some(now),
            SubscriberStatus::Unsubscribed => stored.unsubscribed_at = Some(now),
            SubscriberStatus::Pending => {}
        }
        match subscribers.update(&stored).await {
            Ok(stored) => {
                count(counters, counter_moves(Some(before), to)).await;
                return Ok(Some(stored));
            }
            Err(StoreError::Stale) => continue,
            Err(StoreError::NotFound) => return Ok(None),
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Unavailable(
        "the subscriber kept changing; try again".into(),
    ))
}

/// Removes the subscriber of `email`, if any (an account deleted with its data takes its
/// newsletter subscription along).
pub async fn forget(
    documents: &dyn DocumentRepository,
    counters: &dyn CounterRepository,
    email: &Email,
) -> Result<(), StoreError> {
    let subscribers = records::<Subscriber>(documents);
    let Some(stored) = subscribers.get(UserId::system(), email.as_str()).await? else {
        return Ok(());
    };
    match subscribers
        .delete(UserId::system(), &stored.key, Some(stored.version))
        .await
    {
        Ok(()) => {
            count(counters, vec![(stored.status.counter(), -1)]).await;
            Ok(())
        }
        Err(StoreError::NotFound) => Ok(()),
        Err(other) => Err(other),
    }
}

/// How many subscribers are in each state, from the counters (no scan).
pub async fn tallies(
    counters: &dyn CounterRepository,
) -> Result<Vec<(SubscriberStatus, i64)>, StoreError> {
    let keys: Vec<CounterKey> = SubscriberStatus::ALL.iter().map(|s| s.counter()).collect();
    let values = counters.counts(&keys).await?;
    Ok(SubscriberStatus::ALL.into_iter().zip(values).collect())
}

/// One page of subscribers in address order, from `cursor` (exclusive) on, those whose address
/// starts with `prefix` and, when given, in `status`. Reads at most `limit × 5` documents per
/// page even when few match the status, and says where to go on.
pub async fn page(
    documents: &dyn DocumentRepository,
    prefix: &str,
    status: Option<SubscriberStatus>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<(Vec<Subscriber>, Option<String>), StoreError> {
    let subscribers = records::<Subscriber>(documents);
    let mut from = match cursor {
        // Addresses hold no NUL: the first key after the cursor starts here.
        Some(cursor) => format!("{cursor}\0"),
        None => prefix.to_string(),
    };
    let mut items = Vec::new();
    let batch = limit.clamp(1, 100) * 2;
    for _ in 0..5 {
        let read = subscribers
            .starting_at(UserId::system(), &from, batch)
            .await?;
        let exhausted = read.len() < batch as usize;
        for subscriber in read {
            if !subscriber.key.starts_with(prefix) {
                return Ok((items, None));
            }
            from = format!("{}\0", subscriber.key);
            if status.is_none_or(|status| subscriber.status == status) {
                items.push(subscriber);
                if items.len() == limit as usize {
                    let next = items.last().map(|s| s.key.clone());
                    return Ok((items, next));
                }
            }
        }
        if exhausted {
            return Ok((items, None));
        }
    }
    // Many rows of other states: hand back what was found and where the reading stopped.
    let next = from.trim_end_matches('\0').to_string();
    Ok((items, Some(next)))
}

/// Splits one CSV record (RFC 4180: comma separated, fields may be double-quoted with `""` for
/// a quote). A record spanning lines has an unterminated quote on its first line and is refused.
pub fn split_csv_record(line: &str) -> Result<Vec<String>, InvalidValue> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            '"' => return Err(InvalidValue("a quote in the middle of an unquoted field")),
            other => {
                field.push(other);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err(InvalidValue("an unterminated quoted field"));
    }
    fields.push(field);
    Ok(fields)
}

/// The outcome of one imported row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Imported,
    /// The address is already a subscriber (in any state: an import never brings back someone
    /// who unsubscribed) or came earlier in the same file.
    Duplicate(SubscriberStatus),
    Invalid(String),
    /// The header row, skipped.
    Header,
}

impl RowOutcome {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Imported => "imported",
            Self::Duplicate(_) => "duplicate",
            Self::Invalid(_) => "invalid",
            Self::Header => "header",
        }
    }
    /// Why, for a duplicate or an invalid row.
    pub fn reason(&self) -> String {
        match self {
            Self::Duplicate(status) => format!("already {}", status.as_str()),
            Self::Invalid(reason) => reason.clone(),
            _ => String::new(),
        }
    }
}

/// The longest row an import reads; longer ones are invalid (and not kept in memory whole by
/// streaming readers, which cut them off here).
pub const MAX_ROW_BYTES: usize = 2_048;

/// Running totals of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportTotals {
    pub rows: u64,
    pub imported: u64,
    pub duplicate: u64,
    pub invalid: u64,
}

/// Imports rows one at a time: memory stays the same whatever the file's length. Rows are
/// `email[,name]`; a first row whose first field is `email` is a header.
pub struct Importer<'a> {
    documents: &'a dyn DocumentRepository,
    counters: &'a dyn CounterRepository,
    now: Timestamp,
    pub totals: ImportTotals,
    pending_count: i64,
}

impl<'a> Importer<'a> {
    pub fn new(
        documents: &'a dyn DocumentRepository,
        counters: &'a dyn CounterRepository,
        now: Timestamp,
    ) -> Self {
        Self {
            documents,
            counters,
            now,
            totals: ImportTotals::default(),
            pending_count: 0,
        }
    }

    /// Imports one row (`number` counts from 1). Store failures stop the import: the rows
    /// before are imported and reported, the caller says where it stopped.
    pub async fn row(&mut self, number: u64, line: &str) -> Result<RowOutcome, StoreError> {
        let outcome = self.import(number, line).await?;
        match &outcome {
            RowOutcome::Header => {}
            RowOutcome::Imported => {
                self.totals.rows += 1;
                self.totals.imported += 1;
                self.pending_count += 1;
                // Counted in steps, not per row: one counter write per 500 imports.
                if self.pending_count >= 500 {
                    self.flush().await;
                }
            }
            RowOutcome::Duplicate(_) => {
                self.totals.rows += 1;
                self.totals.duplicate += 1;
            }
            RowOutcome::Invalid(_) => {
                self.totals.rows += 1;
                self.totals.invalid += 1;
            }
        }
        Ok(outcome)
    }

    /// Imports one line of a stream: blank lines are skipped (`None`), over-long and non-UTF-8
    /// ones are invalid rows.
    pub async fn line(
        &mut self,
        number: u64,
        line: Line,
    ) -> Result<Option<RowOutcome>, StoreError> {
        let invalid = |totals: &mut ImportTotals, reason: String| {
            totals.rows += 1;
            totals.invalid += 1;
            Ok(Some(RowOutcome::Invalid(reason)))
        };
        match line {
            Line::TooLong => invalid(
                &mut self.totals,
                format!("the row is longer than {MAX_ROW_BYTES} bytes"),
            ),
            Line::Text(bytes) => match String::from_utf8(bytes) {
                Err(_) => invalid(&mut self.totals, "the row is not UTF-8".into()),
                Ok(text) if text.trim().is_empty() => Ok(None),
                Ok(text) => self.row(number, &text).await.map(Some),
            },
        }
    }

    /// Writes the confirmed count of the rows imported since the last flush. Call at the end.
    pub async fn flush(&mut self) {
        let pending = std::mem::take(&mut self.pending_count);
        count(
            self.counters,
            if pending > 0 {
                vec![(SubscriberStatus::Confirmed.counter(), pending)]
            } else {
                vec![]
            },
        )
        .await;
    }

    async fn import(&mut self, number: u64, line: &str) -> Result<RowOutcome, StoreError> {
        if line.len() > MAX_ROW_BYTES {
            return Ok(RowOutcome::Invalid(format!(
                "the row is longer than {MAX_ROW_BYTES} bytes"
            )));
        }
        let fields = match split_csv_record(line) {
            Ok(fields) => fields,
            Err(error) => return Ok(RowOutcome::Invalid(error.0.to_string())),
        };
        let first = fields.first().map(|f| f.trim()).unwrap_or_default();
        if number == 1 && first.eq_ignore_ascii_case("email") {
            return Ok(RowOutcome::Header);
        }
        if fields.len() > 2 {
            return Ok(RowOutcome::Invalid(
                "expected email and an optional name".into(),
            ));
        }
        let email = match Email::parse(first) {
            Ok(email) => email,
            Err(error) => return Ok(RowOutcome::Invalid(error.0.to_string())),
        };
        let name = match SubscriberName::parse(fields.get(1).map(String::as_str).unwrap_or("")) {
            Ok(name) => name,
            Err(error) => return Ok(RowOutcome::Invalid(error.0.to_string())),
        };
        let subscriber = Subscriber {
            owner: UserId::system(),
            key: email.as_str().to_string(),
            email,
            name,
            status: SubscriberStatus::Confirmed,
            source: SubscriberSource::Import,
            created_at: self.now,
            updated_at: self.now,
            confirmed_at: Some(self.now),
            unsubscribed_at: None,
            confirmation_sent_at: None,
            version: 0,
        };
        let subscribers = records::<Subscriber>(self.documents);
        match subscribers.insert(&subscriber, None).await {
            Ok(_) => Ok(RowOutcome::Imported),
            Err(StoreError::Conflict(_)) => {
                let status = subscribers
                    .get(UserId::system(), &subscriber.key)
                    .await?
                    .map(|s| s.status)
                    .unwrap_or(SubscriberStatus::Confirmed);
                Ok(RowOutcome::Duplicate(status))
            }
            Err(other) => Err(other),
        }
    }
}

/// One line of a streamed body.
#[derive(Debug, PartialEq)]
pub enum Line {
    Text(Vec<u8>),
    /// Longer than [`MAX_ROW_BYTES`]: only its length was kept.
    TooLong,
}

/// Cuts a byte stream into lines without holding more than one row.
#[derive(Debug, Default)]
pub struct LineSplitter {
    current: Vec<u8>,
    too_long: bool,
}

impl LineSplitter {
    /// The lines completed by `chunk`.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Line> {
        let mut done = Vec::new();
        for &byte in chunk {
            if byte == b'\n' {
                done.push(self.take());
            } else if !self.too_long {
                if self.current.len() >= MAX_ROW_BYTES + 2 {
                    self.too_long = true;
                    self.current.clear();
                } else {
                    self.current.push(byte);
                }
            }
        }
        done
    }

    /// The last line when the stream did not end with a newline.
    pub fn finish(&mut self) -> Option<Line> {
        (self.too_long || !self.current.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> Line {
        let line = if std::mem::take(&mut self.too_long) {
            Line::TooLong
        } else {
            Line::Text(std::mem::take(&mut self.current))
        };
        self.current.clear();
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_split_with_quotes() {
        assert_eq!(
            split_csv_record("a@example.com,Ann\r\n").unwrap(),
            ["a@example.com", "Ann"]
        );
        assert_eq!(
            split_csv_record("\"b@example.com\",\"Smith, \"\"Bo\"\"\"").unwrap(),
            ["b@example.com", "Smith, \"Bo\""]
        );
        assert_eq!(split_csv_record("").unwrap(), [""]);
        assert_eq!(split_csv_record("x,").unwrap(), ["x", ""]);
        assert!(split_csv_record("\"open").is_err());
        assert!(split_csv_record("ab\"c").is_err());
    }

    #[test]
    fn tokens_round_trip_expire_and_resist_tampering() {
        let key = newsletter_key(b"unsubscribe key");
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let email = Email::parse("Ann.Lee@Example.com").unwrap();
        let confirm = NewsletterToken::Confirm {
            email: email.clone(),
            expires: Timestamp::from_second(now.as_second() + 60).unwrap(),
        };
        let text = confirm.sign(&key);
        assert_eq!(NewsletterToken::open(&key, &text, now).unwrap(), confirm);
        let later = Timestamp::from_second(now.as_second() + 61).unwrap();
        assert!(NewsletterToken::open(&key, &text, later).is_err());
        assert!(NewsletterToken::open(&newsletter_key(b"other"), &text, now).is_err());
        let leave = NewsletterToken::Unsubscribe { email };
        assert_eq!(
            NewsletterToken::open(&key, &leave.sign(&key), later).unwrap(),
            leave
        );
        assert!(NewsletterToken::open(&key, "garbage", now).is_err());
    }

    #[test]
    fn lines_split_across_chunks_and_long_ones_are_cut() {
        let mut lines = LineSplitter::default();
        assert!(lines.push(b"a@x.io,A").is_empty());
        assert_eq!(
            lines.push(b"nn\r\nb@x.io\n"),
            [
                Line::Text(b"a@x.io,Ann\r".to_vec()),
                Line::Text(b"b@x.io".to_vec())
            ]
        );
        let long = vec![b'x'; MAX_ROW_BYTES * 3];
        assert!(lines.push(&long).is_empty());
        assert_eq!(lines.push(b"\nc@x.io"), [Line::TooLong]);
        assert_eq!(lines.finish(), Some(Line::Text(b"c@x.io".to_vec())));
        assert_eq!(lines.finish(), None);
    }

    #[test]
    fn names_are_bounded() {
        assert_eq!(SubscriberName::parse("  ").unwrap(), None);
        assert!(SubscriberName::parse(&"n".repeat(101)).is_err());
        assert!(SubscriberName::parse("a\u{0}b").is_err());
        assert_eq!(
            SubscriberName::parse(" Ann ").unwrap().unwrap().as_str(),
            "Ann"
        );
    }
}
