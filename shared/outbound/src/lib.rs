//! Outbound adapters for services DealPulse cannot run itself. Each talks the service's real
//! HTTP protocol to a base URL from configuration, so tests point it at a recorder on loopback.

pub mod push;
pub mod stripe;
pub mod twilio;
pub mod webhooks;

pub use twilio::{sms_from_settings, SmsNotConfigured, TwilioConfig, TwilioSms};

use std::collections::BTreeSet;
use std::sync::Arc;

/// The HTTP transports of the deliver step, sharing one fetcher.
pub struct HttpNotifiers {
    pub endpoints: Arc<webhooks::WebhookSender>,
    pub push: Arc<push::WebPushSender>,
}

impl HttpNotifiers {
    /// Webhooks and web push over one fetcher without retries of its own (the delivery queue
    /// retries with backoff). With `origin_override` every request goes there instead (tests,
    /// relays); a loopback override's port is allowed, as are `loopback_ports`. `contact` is
    /// the VAPID subject (`mailto:` of the sender).
    pub fn new(
        origin_override: Option<url::Url>,
        mut loopback_ports: BTreeSet<u16>,
        vapid: p256::SecretKey,
        contact: &str,
    ) -> Result<Self, dealpulse_fetch::BuildError> {
        if let Some(origin) = &origin_override {
            let loopback = origin
                .host_str()
                .is_some_and(|h| h == "127.0.0.1" || h == "localhost" || h == "[::1]");
            if let (true, Some(port)) = (loopback, origin.port_or_known_default()) {
                loopback_ports.insert(port);
            }
        }
        let mut config = dealpulse_fetch::FetchConfig {
            retries: 0,
            ..dealpulse_fetch::FetchConfig::default()
        };
        config.policy.loopback_ports = loopback_ports;
        let fetcher = Arc::new(dealpulse_fetch::Fetcher::new(
            config,
            Arc::new(dealpulse_fetch::SystemLookup),
        )?);
        Ok(Self {
            endpoints: Arc::new(webhooks::WebhookSender::new(
                Arc::clone(&fetcher),
                origin_override.clone(),
            )),
            push: Arc::new(push::WebPushSender::new(
                fetcher,
                vapid,
                format!("mailto:{}", dealpulse_domain::mail::bare_address(contact)),
                origin_override,
            )),
        })
    }
}

/// A third-party service's answer to a POST, with the start of its body for failure reasons.
pub(crate) struct Answered {
    pub answer: dealpulse_fetch::PostAnswer,
    pub excerpt: String,
}

/// POSTs through the guarded fetcher: a refused address is a permanent failure, a failed
/// connection or timeout a transient one; any answer comes back for the caller to classify.
pub(crate) async fn post(
    fetcher: &dealpulse_fetch::Fetcher,
    url: &url::Url,
    headers: &[(&str, String)],
    body: Vec<u8>,
    timeout: std::time::Duration,
) -> Result<Answered, dealpulse_domain::notify::SendFailure> {
    use dealpulse_domain::notify::SendFailure;
    let answer = match fetcher.post(url, headers, body, timeout).await {
        Ok(answer) => answer,
        Err(dealpulse_fetch::PostError::Blocked(reason)) => {
            return Err(SendFailure::Permanent { reason })
        }
        Err(dealpulse_fetch::PostError::Failed(reason)) => {
            return Err(SendFailure::Transient {
                reason,
                retry_after: None,
            })
        }
    };
    let excerpt = String::from_utf8_lossy(&answer.body)
        .chars()
        .take(300)
        .collect();
    Ok(Answered { answer, excerpt })
}

/// Sends a request for `url` to `origin` instead (scheme, host and port replaced; path and
/// query kept): how tests and relays receive traffic meant for third-party services.
pub(crate) fn redirect_to_origin(
    url: &mut url::Url,
    origin: &url::Url,
) -> Result<(), dealpulse_domain::notify::SendFailure> {
    let permanent = |what: &str| dealpulse_domain::notify::SendFailure::Permanent {
        reason: format!("origin override: {what}"),
    };
    url.set_scheme(origin.scheme())
        .map_err(|_| permanent("scheme"))?;
    url.set_host(origin.host_str())
        .map_err(|_| permanent("host"))?;
    url.set_port(origin.port()).map_err(|_| permanent("port"))
}
