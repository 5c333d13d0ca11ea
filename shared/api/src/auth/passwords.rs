//! Password hashing with argon2id at OWASP's recommended parameters (m = 19 MiB, t = 2, p = 1).
//! Hashing is CPU-bound for tens of milliseconds, so it runs on the blocking pool.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use dealpulse_domain::account::{Password, PasswordHash};
use dealpulse_domain::secret::random_bytes;
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// OWASP Password Storage Cheat Sheet, argon2id option 2.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &str) -> Result<PasswordHash, PasswordError> {
    let salt_bytes = random_bytes::<16>().map_err(|e| PasswordError::Hashing(e.to_string()))?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    let phc = argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(PasswordHash::from_phc(phc.to_string()))
}

fn verify_blocking(password: &str, hash: &PasswordHash) -> bool {
    let Ok(parsed) = argon2::password_hash::PasswordHash::new(hash.as_phc()) else {
        return false;
    };
    // Verification uses the parameters recorded in the hash, so old hashes keep working if the
    // parameters are raised later.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

pub async fn hash_password(password: &Password) -> Result<PasswordHash, PasswordError> {
    let password = password.expose().to_string();
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| PasswordError::Hashing(e.to_string()))?
}

/// Checks a password; a malformed stored hash simply fails to verify.
pub async fn verify_password(password: &str, hash: &PasswordHash) -> bool {
    let password = password.to_string();
    let hash = hash.clone();
    tokio::task::spawn_blocking(move || verify_blocking(&password, &hash))
        .await
        .unwrap_or(false)
}

/// Spends the same effort as a real verification when the account does not exist, so response
/// time does not reveal which e-mail addresses are registered.
pub async fn verify_against_nothing(password: &str) {
    static DUMMY: OnceLock<Option<PasswordHash>> = OnceLock::new();
    let password = password.to_string();
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(hash) = DUMMY.get_or_init(|| hash_blocking("dealpulse-timing-equaliser").ok()) {
            verify_blocking(&password, hash);
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_the_original_password_and_record_owasp_parameters() {
        let password = Password::parse("correct horse battery").unwrap();
        let hash = hash_password(&password).await.unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery", &hash).await);
        assert!(!verify_password("correct horse battery!", &hash).await);
        assert!(!verify_password("x", &PasswordHash::from_phc("garbage".into())).await);
    }
}
