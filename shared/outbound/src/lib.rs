//! Outbound adapters for services DealPulse cannot run itself. Each talks the service's real
//! HTTP protocol to a base URL from configuration, so tests point it at a recorder on loopback.

pub mod push;
pub mod twilio;
pub mod webhooks;

pub use twilio::{TwilioConfig, TwilioSms};

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
