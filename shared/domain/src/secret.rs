//! Random secrets and their one-way hashes.
//!
//! Tokens we hand out (refresh tokens, API keys, e-mail link nonces) carry 256 bits of entropy,
//! so a single SHA-256 is the right storage hash: slow hashing only matters for low-entropy
//! passwords. Stores only ever see [`TokenHash`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The operating system's random source failed; nothing secret can be issued.
#[derive(Debug, thiserror::Error)]
#[error("the system random source is unavailable")]
pub struct RandomUnavailable;

/// `len` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomUnavailable> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).map_err(|_| RandomUnavailable)?;
    Ok(buf)
}

/// A URL-safe random token with 256 bits of entropy.
pub fn random_token() -> Result<String, RandomUnavailable> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// The SHA-256 of a secret, hex encoded: what stores keep instead of the secret.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(secret: &str) -> Self {
        let digest = Sha256::digest(secret.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push_str(&format!("{byte:02x}"));
        }
        Self(hex)
    }

    /// Rebuilds a hash read back from storage.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.0[..self.0.len().min(8)])
    }
}

/// A purpose-bound key derived from the deployment's signing secret: HMAC-SHA256 of `label`
/// (`dealpulse/<purpose>/v<n>`), so one secret serves every kind of signed link without a key
/// for one purpose verifying another's.
pub fn derive_key(signing_secret: &[u8], label: &str) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    match Hmac::<Sha256>::new_from_slice(signing_secret) {
        Ok(mut mac) => {
            mac.update(label.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Bytes of HMAC-SHA256 a signed payload keeps: 128 bits, enough against forgery, short in URLs.
const SIGNED_TAG_BYTES: usize = 16;

/// `<base64url payload>.<base64url tag>`: the payload readable, the tag a truncated
/// HMAC-SHA256 of it under `key`.
pub fn sign_payload(key: &[u8], payload: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let tag = Hmac::<Sha256>::new_from_slice(key)
        .map(|mut mac| {
            mac.update(payload);
            mac.finalize().into_bytes()[..SIGNED_TAG_BYTES].to_vec()
        })
        .unwrap_or_default();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The payload of a [`sign_payload`] token whose tag verifies under `key` (compared in constant
/// time); `None` for anything else.
pub fn open_signed(key: &[u8], token: &str) -> Option<Vec<u8>> {
    use hmac::{Hmac, Mac};
    let (payload, given) = token.trim().split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let given = URL_SAFE_NO_PAD.decode(given).ok()?;
    if given.len() != SIGNED_TAG_BYTES {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(&payload);
    mac.verify_truncated_left(&given).ok()?;
    Some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_url_safe() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn hash_is_stable_hex_sha256() {
        assert_eq!(
            TokenHash::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
