//! Outbound adapters for services DealPulse cannot run itself. Each talks the service's real
//! HTTP protocol to a base URL from configuration, so tests point it at a recorder on loopback.

pub mod push;
pub mod twilio;
pub mod webhooks;

pub use twilio::{TwilioConfig, TwilioSms};
