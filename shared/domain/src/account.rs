//! Accounts: the values a user supplies (parsed once, at the edge) and the records built from them.

use crate::ids::{ApiKeyId, AuditEventId, SessionId, UserId};
use crate::listing::SourceName;
use crate::secret::TokenHash;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// Why a supplied value was refused; the message is safe to show to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub &'static str);

/// An e-mail address in its normalised form (NFC, trimmed, lower-cased), so that uniqueness is
/// case-insensitive by construction.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let normalised: String = raw.trim().nfc().collect::<String>().to_lowercase();
        if normalised.chars().count() > 254 {
            return Err(InvalidValue("e-mail address is longer than 254 characters"));
        }
        let (local, domain) = normalised
            .rsplit_once('@')
            .ok_or(InvalidValue("e-mail address needs an @"))?;
        if local.is_empty() || local.chars().count() > 64 {
            return Err(InvalidValue("e-mail local part must be 1 to 64 characters"));
        }
        if local.contains('@')
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            || local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "\"(),:;<>[\\]".contains(c))
        {
            return Err(InvalidValue(
                "e-mail local part has characters that are not allowed",
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && domain.len() <= 253
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !domain_ok {
            return Err(InvalidValue("e-mail domain is not a valid host name"));
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// A password as typed by the user: 8 to 128 characters. Never printed, never stored.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(InvalidValue("password must be at least 8 characters"));
        }
        if chars > Self::MAX_CHARS {
            return Err(InvalidValue("password must be at most 128 characters"));
        }
        if raw.chars().any(char::is_control) {
            return Err(InvalidValue("password must not contain control characters"));
        }
        Ok(Self(raw.nfc().collect()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A PHC-format password hash (argon2id), as produced by the password hasher.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// How the user wants to be addressed: 1 to 80 printable characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed: String = raw.trim().nfc().collect();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > 80 {
            return Err(InvalidValue("display name must be 1 to 80 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidValue(
                "display name must not contain control characters",
            ));
        }
        Ok(Self(trimmed))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

/// An IANA time-zone name known to the bundled tz database (`Europe/Berlin`, `UTC`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let name = raw.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(InvalidValue(
                "time zone must be an IANA name such as Europe/Berlin",
            ));
        }
        match jiff::tz::db().get(name) {
            Ok(zone) => Ok(Self(zone.iana_name().unwrap_or(name).to_string())),
            Err(_) => Err(InvalidValue(
                "time zone must be an IANA name such as Europe/Berlin",
            )),
        }
    }
    pub fn utc() -> Self {
        Self("UTC".to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TimeZoneName> for String {
    fn from(value: TimeZoneName) -> Self {
        value.0
    }
}

/// A BCP 47 language tag of the common shape `language[-Script][-REGION]`, in canonical case
/// (`en`, `pt-BR`, `zh-Hant-TW`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

impl Locale {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        const MESSAGE: &str = "locale must be a language tag such as en, de-DE or zh-Hant-TW";
        let mut parts = raw.trim().split(['-', '_']);
        let language = parts.next().unwrap_or_default();
        if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic())
        {
            return Err(InvalidValue(MESSAGE));
        }
        let mut canonical = language.to_ascii_lowercase();
        let mut seen_script = false;
        let mut seen_region = false;
        for part in parts {
            let is_script = part.len() == 4 && part.chars().all(|c| c.is_ascii_alphabetic());
            let is_region = (part.len() == 2 && part.chars().all(|c| c.is_ascii_alphabetic()))
                || (part.len() == 3 && part.chars().all(|c| c.is_ascii_digit()));
            if is_script && !seen_script && !seen_region {
                seen_script = true;
                let mut chars = part.chars();
                canonical.push('-');
                canonical.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                canonical.push_str(&chars.as_str().to_ascii_lowercase());
            } else if is_region && !seen_region {
                seen_region = true;
                canonical.push('-');
                canonical.push_str(&part.to_ascii_uppercase());
            } else {
                return Err(InvalidValue(MESSAGE));
            }
        }
        Ok(Self(canonical))
    }
    pub fn english() -> Self {
        Self("en".to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Locale {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Locale> for String {
    fn from(value: Locale) -> Self {
        value.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            _ => Err(InvalidValue("role must be user or admin")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    /// Suspended users cannot log in, refresh, or use API keys.
    Suspended,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "active" => Ok(UserStatus::Active),
            "suspended" => Ok(UserStatus::Suspended),
            _ => Err(InvalidValue("status must be active or suspended")),
        }
    }
}

/// A user account. `version` supports optimistic concurrency: stores only apply an update whose
/// `version` matches the stored one, then increment it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub password_hash: PasswordHash,
    pub display_name: Option<DisplayName>,
    pub timezone: TimeZoneName,
    pub locale: Locale,
    pub role: Role,
    /// Subscription plan; accounts stored before plans existed are on the free plan.
    #[serde(default)]
    pub plan: crate::plans::Plan,
    pub status: UserStatus,
    pub email_verified_at: Option<Timestamp>,
    /// When the password last changed; access tokens issued before it are refused.
    pub password_changed_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl User {
    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
    pub fn is_suspended(&self) -> bool {
        self.status == UserStatus::Suspended
    }
}

/// A login session: one refresh-token family. Each refresh rotates `current_refresh_hash`; a
/// presented token that belongs to the family but is not the current one is a replay, and
/// revokes the whole session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub current_refresh_hash: TokenHash,
    pub created_at: Timestamp,
    pub last_refreshed_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub user_agent: Option<String>,
}

impl Session {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A long-lived credential for scripts: `dp_<prefix>_<secret>`. Only the hash of the whole key is
/// stored; the prefix is kept so the user can tell keys apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub name: ApiKeyName,
    pub prefix: String,
    pub secret_hash: TokenHash,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// What the key may do; keys made before scopes existed act for the account.
    #[serde(default = "ApiKeyScope::account_only")]
    pub scopes: BTreeSet<ApiKeyScope>,
    /// The source an `ingest` key pushes listings as.
    #[serde(default)]
    pub ingest_source: Option<SourceName>,
}

crate::listing::vocabulary!(
    /// What an API key may be used for.
    ApiKeyScope {
        /// Everything the account can do through the API.
        Account => "account",
        /// Only pushing listings through the partner ingest API, as the key's source.
        Ingest => "ingest",
    }
);

impl ApiKeyScope {
    pub fn account_only() -> BTreeSet<ApiKeyScope> {
        BTreeSet::from([ApiKeyScope::Account])
    }

    /// Scopes as stored in one text column: comma separated.
    pub fn join(scopes: &BTreeSet<ApiKeyScope>) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn split(text: &str) -> Result<BTreeSet<ApiKeyScope>, InvalidValue> {
        text.split(',')
            .map(|s| ApiKeyScope::parse(s.trim()).ok_or(InvalidValue("unknown API key scope")))
            .collect()
    }
}

/// A label the user gives an API key: 1 to 60 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApiKeyName(String);

impl ApiKeyName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > 60 || trimmed.chars().any(char::is_control) {
            return Err(InvalidValue(
                "API key name must be 1 to 60 printable characters",
            ));
        }
        Ok(Self(trimmed.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ApiKeyName {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ApiKeyName> for String {
    fn from(value: ApiKeyName) -> Self {
        value.0
    }
}

/// What a one-time e-mail link token is good for; a token for one purpose never works for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
        }
    }
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "verify_email" => Ok(TokenPurpose::VerifyEmail),
            "reset_password" => Ok(TokenPurpose::ResetPassword),
            _ => Err(InvalidValue("unknown token purpose")),
        }
    }
}

/// The stored half of a single-use link: consuming it deletes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneTimeToken {
    pub hash: TokenHash,
    pub purpose: TokenPurpose,
    pub user_id: UserId,
    pub expires_at: Timestamp,
}

/// Something security-relevant that happened to an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub at: Timestamp,
    /// Whose account the event concerns.
    pub user_id: Option<UserId>,
    /// Who did it, when not the account owner (an admin, the CLI).
    pub actor: Option<String>,
    pub action: String,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_normalise_to_one_case_insensitive_form() {
        let a = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        let b = Email::parse("ada.lovelace@example.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example..com",
            "\"q\"@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long_local).is_err());
    }

    #[test]
    fn passwords_must_be_8_to_128_characters() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("exactly8").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("has\u{0}null").is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret-value").unwrap()),
            "Password(<redacted>)"
        );
    }

    #[test]
    fn time_zones_must_be_iana_names() {
        assert_eq!(
            TimeZoneName::parse("Europe/Berlin").unwrap().as_str(),
            "Europe/Berlin"
        );
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
        assert!(TimeZoneName::parse("").is_err());
    }

    #[test]
    fn locales_are_canonicalised() {
        assert_eq!(Locale::parse("pt_br").unwrap().as_str(), "pt-BR");
        assert_eq!(Locale::parse("zh-hant-tw").unwrap().as_str(), "zh-Hant-TW");
        assert_eq!(Locale::parse("es-419").unwrap().as_str(), "es-419");
        for bad in ["", "english", "e", "en-US-US", "en-"] {
            assert!(Locale::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn stored_values_are_revalidated_when_deserialised() {
        let result: Result<Email, _> = serde_json::from_str("\"not an email\"");
        assert!(result.is_err());
    }
}
