//! The `ses-events` function's handler: SES publishes the configuration set's bounce, complaint
//! and delivery events to the account's default EventBridge bus; a rule sends them here. Each
//! event is parsed into a [`MailFeedback`] and recorded per address (see
//! `dealpulse_alerts::feedback`). A store failure fails the invocation, so EventBridge retries.

use dealpulse_alerts::feedback::{record_feedback, FeedbackReport, MailFeedback};
use dealpulse_domain::clock::Clock;
use dealpulse_domain::ports::{Store, StoreError};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

pub use dealpulse_aws::env::{ConfigError, FunctionEnv};

#[derive(Debug, thiserror::Error)]
pub enum SesEventError {
    #[error("not an SES mail event: {0}")]
    NotSesEvent(String),
    #[error("SES {0} events are not handled here")]
    Unhandled(String),
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Event(#[from] SesEventError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match error {
            HandlerError::Event(_) => "NotAnSesMailEvent",
            HandlerError::Store(_) => "StoreUnavailable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

/// One SES event as EventBridge delivers it; `detail` is the event record SES also publishes
/// to SNS and Firehose.
#[derive(Deserialize)]
struct SesEvent {
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: Detail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    event_type: String,
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    delivery: Option<Delivery>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    message_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    bounce_sub_type: Option<String>,
    bounced_recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    complained_recipients: Vec<Recipient>,
    complaint_feedback_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    recipients: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    diagnostic_code: Option<String>,
}

/// The provider's message id and what it reports.
pub fn parse_ses_event(payload: Value) -> Result<(String, MailFeedback), SesEventError> {
    let event: SesEvent =
        serde_json::from_value(payload).map_err(|e| SesEventError::NotSesEvent(e.to_string()))?;
    if event.source != "aws.ses" {
        return Err(SesEventError::NotSesEvent(format!(
            "{} / {}",
            event.source, event.detail_type
        )));
    }
    let detail = event.detail;
    let missing = |what: &str| SesEventError::NotSesEvent(format!("{what} event without {what}"));
    let feedback = match detail.event_type.as_str() {
        "Bounce" => {
            let bounce = detail.bounce.ok_or_else(|| missing("Bounce"))?;
            let diagnostic = bounce
                .bounced_recipients
                .iter()
                .find_map(|r| r.diagnostic_code.clone());
            MailFeedback::Bounce {
                // "Undetermined" bounces are treated as soft: SES could not tell.
                permanent: bounce.bounce_type == "Permanent",
                recipients: bounce
                    .bounced_recipients
                    .into_iter()
                    .map(|r| r.email_address)
                    .collect(),
                detail: Some(
                    [Some(bounce.bounce_type), bounce.bounce_sub_type, diagnostic]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(": "),
                ),
            }
        }
        "Complaint" => {
            let complaint = detail.complaint.ok_or_else(|| missing("Complaint"))?;
            MailFeedback::Complaint {
                recipients: complaint
                    .complained_recipients
                    .into_iter()
                    .map(|r| r.email_address)
                    .collect(),
                detail: complaint.complaint_feedback_type,
            }
        }
        "Delivery" => MailFeedback::Delivery {
            recipients: detail
                .delivery
                .ok_or_else(|| missing("Delivery"))?
                .recipients,
        },
        other => return Err(SesEventError::Unhandled(other.to_string())),
    };
    Ok((detail.mail.message_id, feedback))
}

pub struct SesEventsHandler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl SesEventsHandler {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn handle(&self, payload: Value) -> Result<FeedbackReport, HandlerError> {
        let (message_id, feedback) = parse_ses_event(payload)?;
        let report = record_feedback(self.store.as_ref(), &feedback, self.clock.now()).await?;
        tracing::info!(%message_id, updated = report.updated.len(), suppressed = report.suppressed.len(), "mail feedback recorded");
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn event(detail: Value) -> Value {
        json!({"version": "0", "id": "e1", "detail-type": "Email Bounced", "source": "aws.ses",
               "account": "123456789012", "time": "2026-11-25T12:00:00Z", "region": "us-east-1",
               "resources": [], "detail": detail})
    }

    #[test]
    fn bounces_complaints_and_deliveries_parse() {
        let (id, bounce) = parse_ses_event(event(json!({
            "eventType": "Bounce",
            "mail": {"messageId": "m-1", "destination": ["ann@example.com"]},
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                       "bouncedRecipients": [{"emailAddress": "ann@example.com", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}
        })))
        .unwrap();
        assert_eq!(id, "m-1");
        assert_eq!(
            bounce,
            MailFeedback::Bounce {
                permanent: true,
                recipients: vec!["ann@example.com".into()],
                detail: Some("Permanent: General: smtp; 550 5.1.1 user unknown".into()),
            }
        );
        let (_, soft) = parse_ses_event(event(json!({
            "eventType": "Bounce", "mail": {"messageId": "m-2"},
            "bounce": {"bounceType": "Undetermined", "bouncedRecipients": [{"emailAddress": "b@example.com"}]}
        })))
        .unwrap();
        assert!(matches!(
            soft,
            MailFeedback::Bounce {
                permanent: false,
                ..
            }
        ));
        let (_, complaint) = parse_ses_event(event(json!({
            "eventType": "Complaint", "mail": {"messageId": "m-3"},
            "complaint": {"complainedRecipients": [{"emailAddress": "c@example.com"}], "complaintFeedbackType": "abuse"}
        })))
        .unwrap();
        assert!(matches!(complaint, MailFeedback::Complaint { .. }));
    }

    #[test]
    fn other_events_are_refused() {
        assert!(matches!(
            parse_ses_event(event(
                json!({"eventType": "Open", "mail": {"messageId": "m"}})
            )),
            Err(SesEventError::Unhandled(_))
        ));
        assert!(matches!(
            parse_ses_event(event(
                json!({"eventType": "Bounce", "mail": {"messageId": "m"}})
            )),
            Err(SesEventError::NotSesEvent(_))
        ));
        let mut scheduled = event(json!({}));
        scheduled["source"] = json!("aws.events");
        assert!(parse_ses_event(scheduled).is_err());
    }
}
