//! Web push: the notice encrypted for the browser (RFC 8291, `aes128gcm` content coding of
//! RFC 8188) and sent to its push service with a VAPID token (RFC 8292). The push service's
//! answer is classified like a webhook's, and 404/410 mean the subscription is gone.

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use dealpulse_domain::channels::PushSubscription;
use dealpulse_domain::notify::{Notice, NoticeKind, PushNotifier, SendFailure, Sent};
use dealpulse_fetch::Fetcher;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use p256::ecdsa::signature::Signer;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Push services cap payloads at 4096 bytes; RFC 8291 leaves 3993 for the plaintext.
const MAX_PLAINTEXT: usize = 3993;
const RECORD_SIZE: u32 = 4096;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncryptError {
    #[error("the subscription's p256dh key is not a P-256 point")]
    BadPublicKey,
    #[error("the subscription's auth secret is not 16 bytes")]
    BadAuthSecret,
    #[error("the payload is over {MAX_PLAINTEXT} bytes")]
    TooLarge,
    #[error("encryption failed")]
    Cipher,
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32], EncryptError> {
    // HMAC accepts keys of any length; the error is for other MACs.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| EncryptError::Cipher)?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

/// HKDF-SHA256 (RFC 5869) extract then one block of expand: every output here is ≤ 32 bytes.
fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], len: usize) -> Result<Vec<u8>, EncryptError> {
    let prk = hmac_sha256(salt, &[ikm])?;
    Ok(hmac_sha256(&prk, &[info, &[1]])?[..len].to_vec())
}

/// Encrypts `plaintext` for a user agent (`ua_public`, `auth`) with the application server's
/// ephemeral key and a random salt, giving the whole `aes128gcm` body.
pub fn encrypt(
    plaintext: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    as_secret: &p256::SecretKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, EncryptError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(EncryptError::TooLarge);
    }
    if auth.len() != 16 {
        return Err(EncryptError::BadAuthSecret);
    }
    let ua_key =
        p256::PublicKey::from_sec1_bytes(ua_public).map_err(|_| EncryptError::BadPublicKey)?;
    let shared = p256::ecdh::diffie_hellman(as_secret.to_nonzero_scalar(), ua_key.as_affine());
    let as_public = as_secret.public_key().to_encoded_point(false);
    let as_public = as_public.as_bytes();
    let ua_public = ua_key.to_encoded_point(false);
    let key_info = [
        b"WebPush: info\0".as_slice(),
        ua_public.as_bytes(),
        as_public,
    ]
    .concat();
    let ikm = hkdf(auth, shared.raw_secret_bytes(), &key_info, 32)?;
    let cek = hkdf(salt, &ikm, b"Content-Encoding: aes128gcm\0", 16)?;
    let nonce = hkdf(salt, &ikm, b"Content-Encoding: nonce\0", 12)?;

    let key = ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, &cek)
        .map_err(|_| EncryptError::Cipher)?;
    let key = ring::aead::LessSafeKey::new(key);
    let nonce =
        ring::aead::Nonce::try_assume_unique_for_key(&nonce).map_err(|_| EncryptError::Cipher)?;
    // One record: the plaintext, then the last-record delimiter, no padding.
    let mut record = [plaintext, &[2]].concat();
    key.seal_in_place_append_tag(nonce, ring::aead::Aad::empty(), &mut record)
        .map_err(|_| EncryptError::Cipher)?;

    let mut body = Vec::with_capacity(86 + record.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(as_public);
    body.extend_from_slice(&record);
    Ok(body)
}

/// The `Authorization: vapid t=…, k=…` value for a push service origin: an ES256 JWT with the
/// origin as audience, valid 12 hours, with a contact `sub`.
pub fn vapid_authorization(
    key: &p256::SecretKey,
    audience: &str,
    subject: &str,
    now: Timestamp,
) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
    let claims = serde_json::json!({
        "aud": audience,
        "exp": now.as_second() + 12 * 3600,
        "sub": subject,
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let signer = p256::ecdsa::SigningKey::from(key);
    let signature: p256::ecdsa::Signature = signer.sign(signing_input.as_bytes());
    let public = key.public_key().to_encoded_point(false);
    format!(
        "vapid t={signing_input}.{}, k={}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        URL_SAFE_NO_PAD.encode(public.as_bytes())
    )
}

/// The JSON the service worker receives (`event.data.json()`).
fn payload(notice: &Notice) -> Vec<u8> {
    let deal = notice.deals.first();
    serde_json::json!({
        "title": notice.headline(),
        "body": deal.map(|d| d.describe()).unwrap_or_default(),
        "url": deal.map(|d| d.url.clone()),
        "tag": notice.delivery_id,
    })
    .to_string()
    .into_bytes()
}

pub struct WebPushSender {
    fetcher: Arc<Fetcher>,
    vapid: p256::SecretKey,
    /// The VAPID `sub` claim: how the push service reaches the operator (`mailto:` or https).
    subject: String,
    /// Replaces scheme, host and port of every push endpoint (tests point it at a recorder).
    origin_override: Option<Url>,
}

impl WebPushSender {
    pub fn new(
        fetcher: Arc<Fetcher>,
        vapid: p256::SecretKey,
        subject: String,
        origin_override: Option<Url>,
    ) -> Self {
        Self {
            fetcher,
            vapid,
            subject,
            origin_override,
        }
    }

    fn target(&self, subscription: &PushSubscription) -> Result<(Url, String), SendFailure> {
        let original = subscription.endpoint.url().clone();
        let audience = original.origin().ascii_serialization();
        let mut url = original;
        if let Some(origin) = &self.origin_override {
            crate::redirect_to_origin(&mut url, origin)?;
        }
        Ok((url, audience))
    }
}

#[async_trait]
impl PushNotifier for WebPushSender {
    async fn push(
        &self,
        subscription: &PushSubscription,
        notice: &Notice,
        now: Timestamp,
    ) -> Result<Sent, SendFailure> {
        let (url, audience) = self.target(subscription)?;
        let permanent = |e: EncryptError| SendFailure::Permanent {
            reason: e.to_string(),
        };
        let ua_public = URL_SAFE_NO_PAD
            .decode(&subscription.p256dh)
            .map_err(|_| permanent(EncryptError::BadPublicKey))?;
        let auth = URL_SAFE_NO_PAD
            .decode(&subscription.auth)
            .map_err(|_| permanent(EncryptError::BadAuthSecret))?;
        let ephemeral = ephemeral_key().map_err(|reason| SendFailure::Transient {
            reason,
            retry_after: None,
        })?;
        let salt =
            dealpulse_domain::secret::random_bytes::<16>().map_err(|e| SendFailure::Transient {
                reason: e.to_string(),
                retry_after: None,
            })?;
        let body =
            encrypt(&payload(notice), &ua_public, &auth, &ephemeral, &salt).map_err(permanent)?;
        let urgency = match notice.kind {
            NoticeKind::Alert { urgent: true } => "high",
            _ => "normal",
        };
        let headers = [
            ("content-type", "application/octet-stream".to_string()),
            ("content-encoding", "aes128gcm".to_string()),
            // A deal a day old is not worth waking a phone for.
            ("ttl", "86400".to_string()),
            ("urgency", urgency.to_string()),
            (
                "authorization",
                vapid_authorization(&self.vapid, &audience, &self.subject, now),
            ),
        ];
        let crate::Answered {
            answer,
            excerpt: text,
        } = crate::post(&self.fetcher, &url, &headers, body, Duration::from_secs(15)).await?;
        match answer.status {
            200..=299 => Ok(Sent {
                status: answer.status,
                provider_id: None,
            }),
            404 | 410 => Err(SendFailure::Gone {
                reason: format!("{}: {text}", answer.status),
            }),
            408 | 429 | 500..=599 => Err(SendFailure::Transient {
                reason: format!("{}: {text}", answer.status),
                retry_after: answer.retry_after,
            }),
            status => Err(SendFailure::Permanent {
                reason: format!("{status}: {text}"),
            }),
        }
    }
}

/// A fresh key for one message (RFC 8291: the application server's key is per message).
fn ephemeral_key() -> Result<p256::SecretKey, String> {
    for _ in 0..16 {
        let bytes = dealpulse_domain::secret::random_bytes::<32>().map_err(|e| e.to_string())?;
        if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
            return Ok(key);
        }
    }
    Err("no valid P-256 scalar drawn".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;

    fn b64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).unwrap()
    }

    /// RFC 8291 Appendix A: fixed keys and salt give the RFC's body byte for byte.
    #[test]
    fn encryption_matches_the_rfc_8291_example() {
        let as_secret =
            p256::SecretKey::from_slice(&b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"))
                .unwrap();
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let body = encrypt(
            b"When I grow up, I want to be a watermelon",
            &b64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
            &b64("BTBZMqHH6r4Tts7J_aSIgg"),
            &as_secret,
            &salt,
        )
        .unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        );
        assert_eq!(
            encrypt(b"x", &[4; 65], &[0; 16], &as_secret, &salt),
            Err(EncryptError::BadPublicKey)
        );
        assert_eq!(
            encrypt(&[0; 4000], &b64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"), &[0; 16], &as_secret, &salt),
            Err(EncryptError::TooLarge)
        );
    }

    #[test]
    fn vapid_tokens_verify_with_the_published_key() {
        let key = ephemeral_key().unwrap();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let header =
            vapid_authorization(&key, "https://push.example.net", "mailto:ops@x.test", now);
        let (token, public) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap();
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&b64(public)).unwrap();
        let signature = p256::ecdsa::Signature::from_slice(&b64(signature)).unwrap();
        verifying.verify(signed.as_bytes(), &signature).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&b64(signed.split_once('.').unwrap().1)).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net");
        assert_eq!(claims["exp"], 1_800_000_000 + 43_200);
    }
}
