//! One-click unsubscribe (RFC 8058): every alert e-mail carries a link whose token names the
//! user and what to turn off — the e-mail channel, or one rule — signed so nobody can forge
//! one for another user. Tokens do not expire: mail clients keep links for months.

use crate::account::InvalidValue;
use crate::ids::{RuleId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsubscribeScope {
    /// No more alert e-mail at all.
    Email,
    /// This rule stops alerting.
    Rule(RuleId),
}

/// The key unsubscribe tokens are signed with, derived from the deployment's signing secret.
pub fn derive_unsubscribe_key(signing_secret: &[u8]) -> Vec<u8> {
    crate::secret::derive_key(signing_secret, "dealpulse/unsubscribe/v1")
}

fn payload(user: UserId, scope: UnsubscribeScope) -> String {
    match scope {
        UnsubscribeScope::Email => format!("{user}.email"),
        UnsubscribeScope::Rule(rule) => format!("{user}.rule.{rule}"),
    }
}

/// `<base64url payload>.<base64url tag>` (see [`crate::secret::sign_payload`]).
pub fn token(key: &[u8], user: UserId, scope: UnsubscribeScope) -> String {
    crate::secret::sign_payload(key, payload(user, scope).as_bytes())
}

/// Checks the signature and reads the token back.
pub fn verify(key: &[u8], token: &str) -> Result<(UserId, UnsubscribeScope), InvalidValue> {
    let bad = InvalidValue("the unsubscribe link is not valid");
    let payload = crate::secret::open_signed(key, token).ok_or(bad.clone())?;
    let payload = String::from_utf8(payload).map_err(|_| bad.clone())?;
    let mut parts = payload.split('.');
    let user: UserId = parts
        .next()
        .and_then(|u| u.parse().ok())
        .ok_or(bad.clone())?;
    let scope = match (parts.next(), parts.next(), parts.next()) {
        (Some("email"), None, None) => UnsubscribeScope::Email,
        (Some("rule"), Some(rule), None) => {
            UnsubscribeScope::Rule(rule.parse().map_err(|_| bad.clone())?)
        }
        _ => return Err(bad),
    };
    Ok((user, scope))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    #[test]
    fn tokens_round_trip_and_resist_tampering() {
        let key = derive_unsubscribe_key(b"a signing secret of thirty-two bytes!");
        let user = UserId::generate();
        let rule = RuleId::generate();
        for scope in [UnsubscribeScope::Email, UnsubscribeScope::Rule(rule)] {
            let text = token(&key, user, scope);
            assert_eq!(verify(&key, &text).unwrap(), (user, scope));
        }
        let text = token(&key, user, UnsubscribeScope::Email);
        let other = derive_unsubscribe_key(b"another deployment's secret......");
        assert!(verify(&other, &text).is_err());
        let (payload, tag) = text.split_once('.').unwrap();
        let forged_payload =
            URL_SAFE_NO_PAD.encode(format!("{}.email", UserId::generate()).as_bytes());
        assert!(verify(&key, &format!("{forged_payload}.{tag}")).is_err());
        assert!(verify(&key, &format!("{payload}.{}", &tag[..10])).is_err());
        assert!(verify(&key, "garbage").is_err());
    }
}
