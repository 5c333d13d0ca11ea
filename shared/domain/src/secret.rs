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
