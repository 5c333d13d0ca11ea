//! Web push (VAPID, RFC 8292) application keys: a P-256 key pair whose public half browsers
//! need to subscribe, and whose private half signs push requests. Also checks that a
//! subscription's `p256dh` key is a point on the curve.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;

#[derive(Debug, thiserror::Error)]
pub enum VapidError {
    #[error("the VAPID key must be 32 bytes base64url (a P-256 scalar), or a seed of at least 32 characters")]
    InvalidKey,
    #[error("no randomness available: {0}")]
    Random(String),
}

/// The application server's VAPID key pair.
pub struct VapidKeys {
    secret: p256::SecretKey,
}

impl std::fmt::Debug for VapidKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VapidKeys(public {})", self.public_key())
    }
}

impl VapidKeys {
    /// Reads a private key as stored in configuration (base64url of the 32-byte scalar).
    pub fn from_private_base64(text: &str) -> Result<Self, VapidError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .map_err(|_| VapidError::InvalidKey)?;
        let secret = p256::SecretKey::from_slice(&bytes).map_err(|_| VapidError::InvalidKey)?;
        Ok(Self { secret })
    }

    /// Derives the key pair from a secret string (SHA-256 of it as the scalar), so a deployment
    /// can keep any generated secret — Secrets Manager's random strings included — as its seed.
    pub fn derive(seed: &str) -> Result<Self, VapidError> {
        use sha2::Digest;
        if seed.trim().len() < 32 {
            return Err(VapidError::InvalidKey);
        }
        let scalar = sha2::Sha256::digest(seed.trim().as_bytes());
        let secret = p256::SecretKey::from_slice(&scalar).map_err(|_| VapidError::InvalidKey)?;
        Ok(Self { secret })
    }

    /// A fresh key pair (local mode keeps it in the data directory).
    pub fn generate() -> Result<Self, VapidError> {
        // Rejection sampling: almost every 32-byte string is a valid scalar.
        for _ in 0..16 {
            let bytes = crate::secret::random_bytes::<32>()
                .map_err(|e| VapidError::Random(e.to_string()))?;
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                return Ok(Self { secret });
            }
        }
        Err(VapidError::InvalidKey)
    }

    /// The private key, for signing VAPID tokens.
    pub fn secret(&self) -> &p256::SecretKey {
        &self.secret
    }

    pub fn private_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.secret.to_bytes())
    }

    /// The uncompressed public point, base64url: what `PushManager.subscribe` takes as
    /// `applicationServerKey`.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.secret.public_key().to_encoded_point(false).as_bytes())
    }
}

/// Whether `bytes` (65 bytes, uncompressed) are a valid P-256 public key.
pub fn is_p256_public_key(bytes: &[u8]) -> bool {
    p256::PublicKey::from_sec1_bytes(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_publish_an_uncompressed_point() {
        let keys = VapidKeys::generate().unwrap();
        let again = VapidKeys::from_private_base64(&keys.private_base64()).unwrap();
        assert_eq!(keys.public_key(), again.public_key());
        let public = URL_SAFE_NO_PAD.decode(keys.public_key()).unwrap();
        assert_eq!(public.len(), 65);
        assert_eq!(public[0], 4);
        assert!(is_p256_public_key(&public));
        let mut off_curve = public.clone();
        off_curve[64] ^= 1;
        assert!(!is_p256_public_key(&off_curve));
        assert!(VapidKeys::from_private_base64("short").is_err());
        let seed = "a-secrets-manager-string-of-64-characters-0123456789abcdefghijkl";
        assert_eq!(
            VapidKeys::derive(seed).unwrap().public_key(),
            VapidKeys::derive(seed).unwrap().public_key()
        );
        assert!(VapidKeys::derive("too short").is_err());
    }
}
