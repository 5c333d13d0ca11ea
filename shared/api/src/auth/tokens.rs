//! Credentials the API issues: HS256 access JWTs, signed single-use e-mail link tokens, opaque
//! refresh tokens and `dp_` API keys.
//!
//! The JWT code is deliberately small and strict rather than a general JOSE library: we only ever
//! issue and accept HS256 with our own key, so the header is compared byte-for-byte (no `alg`
//! negotiation, no `none`), and `iss`, `aud`, `exp`, `nbf` are all required.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use dealpulse_domain::account::{Role, TokenPurpose};
use dealpulse_domain::ids::{SessionId, UserId};
use dealpulse_domain::secret::{random_bytes, random_token, RandomUnavailable};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// The fixed JOSE header of every access token we issue.
const JWT_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// Clock skew tolerated when checking `exp` and `nbf`.
const LEEWAY_SECS: i64 = 30;

/// A signing secret, at least 32 bytes. Its `Debug` never shows the value.
#[derive(Clone)]
pub struct SigningSecret(Vec<u8>);

impl SigningSecret {
    pub const MIN_BYTES: usize = 32;

    pub fn new(bytes: Vec<u8>) -> Result<Self, &'static str> {
        if bytes.len() < Self::MIN_BYTES {
            return Err("signing secret must be at least 32 bytes");
        }
        Ok(Self(bytes))
    }

    /// A fresh random secret (local mode persists it in the data directory).
    pub fn generate() -> Result<Self, RandomUnavailable> {
        Ok(Self(random_bytes::<48>()?.to_vec()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A key for one purpose derived from this secret, so a signature made for e-mail links can
    /// never be replayed as a JWT signature and vice versa.
    fn derive(&self, purpose: &str) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_mac());
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[allow(clippy::panic)]
fn unreachable_mac() -> HmacSha256 {
    // HMAC accepts keys of any length; this cannot happen.
    panic!("HMAC rejected a key")
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: UserId,
    pub sid: SessionId,
    pub role: Role,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token was issued for another issuer, audience or purpose")]
    WrongAudience,
}

/// Signs and checks the tokens the API hands out.
#[derive(Clone)]
pub struct TokenKeys {
    jwt_key: Vec<u8>,
    link_key: Vec<u8>,
    /// Tags inbound e-mail addresses (see `dealpulse_domain::inbound`).
    inbound_key: Vec<u8>,
    /// Signs one-click unsubscribe links (see `dealpulse_domain::unsubscribe`).
    unsubscribe_key: Vec<u8>,
    /// Signs tracked deal links (see `dealpulse_domain::clicks`).
    click_key: Vec<u8>,
    pub issuer: String,
    pub audience: String,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

fn sign(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable_mac());
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn signature_matches(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable_mac());
    mac.update(message);
    mac.verify_slice(signature).is_ok()
}

impl TokenKeys {
    pub fn new(secret: &SigningSecret, issuer: &str, audience: &str) -> Self {
        Self {
            jwt_key: secret.derive("dealpulse/jwt/v1"),
            link_key: secret.derive("dealpulse/e-mail-link/v1"),
            inbound_key: dealpulse_domain::inbound::derive_address_key(secret.as_bytes()),
            unsubscribe_key: dealpulse_domain::unsubscribe::derive_unsubscribe_key(
                secret.as_bytes(),
            ),
            click_key: dealpulse_domain::clicks::derive_click_key(secret.as_bytes()),
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        }
    }

    /// The key inbound addresses are tagged with, so every function that knows the signing
    /// secret recognises them.
    pub fn inbound_key(&self) -> &[u8] {
        &self.inbound_key
    }

    /// The key unsubscribe links are signed with: every function knowing the signing secret
    /// can make and check them.
    pub fn unsubscribe_key(&self) -> &[u8] {
        &self.unsubscribe_key
    }

    /// The key tracked deal links are signed with (the deliverer makes them, the API checks).
    pub fn click_key(&self) -> &[u8] {
        &self.click_key
    }

    pub fn issue_access(
        &self,
        user: UserId,
        session: SessionId,
        role: Role,
        now: Timestamp,
        ttl_secs: i64,
    ) -> String {
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user,
            sid: session,
            role,
            iat: now.as_second(),
            nbf: now.as_second(),
            exp: now.as_second() + ttl_secs,
        };
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(JWT_HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = sign(&self.jwt_key, signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    pub fn verify_access(&self, token: &str, now: Timestamp) -> Result<AccessClaims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        if header != URL_SAFE_NO_PAD.encode(JWT_HEADER) {
            return Err(TokenError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let signing_input = &token[..header.len() + 1 + payload.len()];
        if !signature_matches(&self.jwt_key, signing_input.as_bytes(), &signature) {
            return Err(TokenError::BadSignature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: AccessClaims =
            serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.iss != self.issuer || claims.aud != self.audience {
            return Err(TokenError::WrongAudience);
        }
        let now = now.as_second();
        if claims.exp + LEEWAY_SECS <= now {
            return Err(TokenError::Expired);
        }
        if claims.nbf - LEEWAY_SECS > now {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    /// A link token: `v1.<payload>.<signature>`. The signature makes tampering detectable
    /// without a store round trip; the nonce inside is what the store keeps (hashed) to make the
    /// link single-use.
    pub fn issue_link(
        &self,
        purpose: TokenPurpose,
        user: UserId,
        expires_at: Timestamp,
    ) -> Result<IssuedLink, RandomUnavailable> {
        let nonce = random_token()?;
        let payload = LinkPayload {
            p: purpose,
            u: user,
            e: expires_at.as_second(),
            n: nonce.clone(),
        };
        let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap_or_default());
        let signing_input = format!("v1.{encoded}");
        let signature = sign(&self.link_key, signing_input.as_bytes());
        Ok(IssuedLink {
            token: format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)),
            nonce,
        })
    }

    /// Checks a link token's signature, purpose and expiry; returns the user and the nonce to
    /// consume from the store.
    pub fn verify_link(
        &self,
        token: &str,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<(UserId, String), TokenError> {
        let Some(rest) = token.strip_prefix("v1.") else {
            return Err(TokenError::Malformed);
        };
        let Some((encoded, signature)) = rest.split_once('.') else {
            return Err(TokenError::Malformed);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let signing_input = &token[..3 + encoded.len()];
        if !signature_matches(&self.link_key, signing_input.as_bytes(), &signature) {
            return Err(TokenError::BadSignature);
        }
        let payload: LinkPayload = URL_SAFE_NO_PAD
            .decode(encoded)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenError::Malformed)?;
        if payload.p != purpose {
            return Err(TokenError::WrongAudience);
        }
        if payload.e <= now.as_second() {
            return Err(TokenError::Expired);
        }
        Ok((payload.u, payload.n))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct LinkPayload {
    p: TokenPurpose,
    u: UserId,
    e: i64,
    n: String,
}

/// A freshly signed link token and the nonce whose hash the store must keep.
#[derive(Debug)]
pub struct IssuedLink {
    pub token: String,
    pub nonce: String,
}

/// Prefix that marks a bearer credential as an API key rather than a JWT.
pub const API_KEY_PREFIX: &str = "dp_";

/// A new API key: `dp_<8-char prefix>_<secret>`. The prefix is shown in listings.
pub fn generate_api_key() -> Result<(String, String), RandomUnavailable> {
    let public = URL_SAFE_NO_PAD
        .encode(random_bytes::<6>()?)
        .replace(['-', '_'], "x");
    let secret = random_token()?;
    let prefix = format!("{API_KEY_PREFIX}{public}");
    Ok((format!("{prefix}_{secret}"), prefix))
}

/// A new opaque refresh token.
pub fn generate_refresh_token() -> Result<String, RandomUnavailable> {
    Ok(format!("rt_{}", random_token()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            &SigningSecret::new(vec![7; 32]).unwrap(),
            "dealpulse",
            "dealpulse-api",
        )
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(SigningSecret::new(vec![1; 31]).is_err());
    }

    #[test]
    fn access_tokens_verify_until_they_expire() {
        let keys = keys();
        let user = UserId::generate();
        let session = SessionId::generate();
        let token = keys.issue_access(user, session, Role::User, at(1_000_000), 900);
        let claims = keys.verify_access(&token, at(1_000_100)).unwrap();
        assert_eq!(
            (claims.sub, claims.sid, claims.role),
            (user, session, Role::User)
        );
        assert_eq!(
            keys.verify_access(&token, at(1_000_000 + 900 + LEEWAY_SECS)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tampered_or_foreign_tokens_are_refused() {
        let keys = keys();
        let token = keys.issue_access(
            UserId::generate(),
            SessionId::generate(),
            Role::User,
            at(1_000_000),
            900,
        );
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged_claims = URL_SAFE_NO_PAD.encode(
            r#"{"iss":"dealpulse","aud":"dealpulse-api","sub":"00000000-0000-0000-0000-000000000000","sid":"00000000-0000-0000-0000-000000000000","role":"admin","iat":0,"nbf":0,"exp":9999999999}"#,
        );
        let forged = format!("{head}.{forged_claims}.{signature}");
        assert_eq!(
            keys.verify_access(&forged, at(1_000_000)),
            Err(TokenError::BadSignature)
        );

        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            forged_claims
        );
        assert_eq!(
            keys.verify_access(&none_alg, at(1_000_000)),
            Err(TokenError::Malformed)
        );

        let other = TokenKeys::new(
            &SigningSecret::new(vec![7; 32]).unwrap(),
            "dealpulse",
            "someone-else",
        );
        assert_eq!(
            other.verify_access(&token, at(1_000_000)),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(keys.verify_access("a.b", at(0)), Err(TokenError::Malformed));
    }

    #[test]
    fn link_tokens_are_bound_to_purpose_and_expiry() {
        let keys = keys();
        let user = UserId::generate();
        let link = keys
            .issue_link(TokenPurpose::VerifyEmail, user, at(2_000))
            .unwrap();
        let (who, nonce) = keys
            .verify_link(&link.token, TokenPurpose::VerifyEmail, at(1_000))
            .unwrap();
        assert_eq!((who, nonce.as_str()), (user, link.nonce.as_str()));
        assert_eq!(
            keys.verify_link(&link.token, TokenPurpose::ResetPassword, at(1_000)),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            keys.verify_link(&link.token, TokenPurpose::VerifyEmail, at(2_000)),
            Err(TokenError::Expired)
        );
        let tampered = link.token.replacen("v1.e", "v1.f", 1);
        assert!(keys
            .verify_link(&tampered, TokenPurpose::VerifyEmail, at(1_000))
            .is_err());
    }

    #[test]
    fn link_signatures_do_not_verify_as_jwts() {
        let keys = keys();
        let secret = SigningSecret::new(vec![7; 32]).unwrap();
        assert_ne!(secret.derive("dealpulse/jwt/v1"), keys.link_key);
    }

    #[test]
    fn api_keys_carry_a_visible_prefix() {
        let (key, prefix) = generate_api_key().unwrap();
        assert!(key.starts_with(&prefix));
        assert!(prefix.starts_with("dp_"));
        assert_eq!(prefix.len(), 11);
        assert!(key.len() > 50);
    }
}
