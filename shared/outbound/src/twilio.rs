//! SMS through Twilio's Programmable Messaging REST API:
//! `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP basic auth and a form
//! body (`To`, `From` or `MessagingServiceSid`, `Body`); 201 with the message `sid` on success.

use async_trait::async_trait;
use dealpulse_domain::channels::PhoneNumber;
use dealpulse_domain::sms::{SmsError, SmsSender};
use serde::Deserialize;
use std::time::Duration;

/// Where and as whom to send.
#[derive(Clone)]
pub struct TwilioConfig {
    /// `https://api.twilio.com` in production.
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    /// A sending number (`+1…`) or a Messaging Service SID (`MG…`).
    pub from: String,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("from", &self.from)
            .finish()
    }
}

/// The SMS sender of a deployment without Twilio credentials: every send is refused as
/// unavailable, naming the cause, so everything else keeps working.
pub struct SmsNotConfigured;

#[async_trait]
impl SmsSender for SmsNotConfigured {
    async fn send_sms(&self, _to: &PhoneNumber, _body: &str) -> Result<String, SmsError> {
        Err(SmsError::Unavailable(
            "SMS is not configured for this deployment (TwilioAccountSid parameter)".into(),
        ))
    }
}

/// The SMS sender a function's settings describe: Twilio when `DEALPULSE_TWILIO_ACCOUNT_SID`
/// is set (then the token and sender are required; `get` returns the missing name's error),
/// [`SmsNotConfigured`] otherwise.
pub fn sms_from_settings<E>(
    optional: impl Fn(&'static str) -> Option<String>,
    required: impl Fn(&'static str) -> Result<String, E>,
) -> Result<Result<std::sync::Arc<dyn SmsSender>, SmsError>, E> {
    let Some(account_sid) = optional("DEALPULSE_TWILIO_ACCOUNT_SID") else {
        return Ok(Ok(std::sync::Arc::new(SmsNotConfigured)));
    };
    let config = TwilioConfig {
        base_url: optional("DEALPULSE_TWILIO_BASE_URL")
            .unwrap_or_else(|| "https://api.twilio.com".into()),
        account_sid,
        auth_token: required("DEALPULSE_TWILIO_AUTH_TOKEN")?,
        from: required("DEALPULSE_TWILIO_FROM")?,
    };
    Ok(TwilioSms::new(config).map(|sms| std::sync::Arc::new(sms) as std::sync::Arc<dyn SmsSender>))
}

pub struct TwilioSms {
    client: reqwest::Client,
    config: TwilioConfig,
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

#[derive(Deserialize)]
struct TwilioProblem {
    code: Option<i64>,
    message: Option<String>,
}

impl TwilioSms {
    pub fn new(config: TwilioConfig) -> Result<Self, SmsError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| SmsError::Unavailable(e.to_string()))?;
        Ok(Self { client, config })
    }

    fn messages_url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.config.base_url.trim_end_matches('/'),
            self.config.account_sid
        )
    }
}

#[async_trait]
impl SmsSender for TwilioSms {
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<String, SmsError> {
        let sender_field = if self.config.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let response = self
            .client
            .post(self.messages_url())
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .form(&[
                ("To", to.as_str()),
                (sender_field, self.config.from.as_str()),
                ("Body", body),
            ])
            .send()
            .await
            .map_err(|e| SmsError::Unavailable(format!("Twilio: {e}")))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SmsError::Unavailable(format!("Twilio: {e}")))?;
        if status.is_success() {
            let created: Created = serde_json::from_slice(&bytes)
                .map_err(|e| SmsError::Unavailable(format!("Twilio answered {status}: {e}")))?;
            return Ok(created.sid);
        }
        let problem: Option<TwilioProblem> = serde_json::from_slice(&bytes).ok();
        let why = match problem {
            Some(TwilioProblem {
                code: Some(code),
                message: Some(message),
            }) => format!("{status}: {message} (Twilio error {code})"),
            _ => status.to_string(),
        };
        // 4xx (other than throttling) is about this message; 429 and 5xx may pass later.
        if status.is_client_error() && status.as_u16() != 429 {
            Err(SmsError::Rejected(why))
        } else {
            Err(SmsError::Unavailable(why))
        }
    }
}
