//! The Mailer port over Amazon SES v2.

use crate::describe;
use async_trait::async_trait;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use aws_sdk_sesv2::Client;
use dealpulse_domain::mail::{bare_address, EmailMessage, MailError, Mailer, SentMail};

#[derive(Clone)]
pub struct SesMailer {
    client: Client,
    sender: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(
        client: Client,
        sender: impl Into<String>,
        configuration_set: Option<String>,
    ) -> Self {
        Self {
            client,
            sender: sender.into(),
            configuration_set: configuration_set.filter(|name| !name.is_empty()),
        }
    }
}

/// SES error codes that mean this message will never be accepted as it is.
const PERMANENT: &[&str] = &[
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "BadRequestException",
    "AccountSuspendedException",
    "SendingPausedException",
    "NotFoundException",
];

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, message: &EmailMessage) -> Result<SentMail, MailError> {
        // Raw MIME: the only SES content that carries our own headers (List-Unsubscribe).
        let raw = RawMessage::builder()
            .data(Blob::new(message.to_mime(&self.sender)?))
            .build()
            .map_err(|e| MailError::Rejected(describe(&e)))?;
        let tags = message
            .tags
            .iter()
            .map(|(name, value)| MessageTag::builder().name(name).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| MailError::Rejected(describe(&e)))?;
        let output = self
            .client
            .send_email()
            .from_email_address(&self.sender)
            .destination(
                Destination::builder()
                    .to_addresses(message.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().raw(raw).build())
            .set_email_tags((!tags.is_empty()).then_some(tags))
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|error| {
                let permanent = error.code().is_some_and(|code| PERMANENT.contains(&code));
                if permanent {
                    MailError::Rejected(describe(&error))
                } else {
                    MailError::Unavailable(describe(&error))
                }
            })?;
        Ok(SentMail {
            message_id: output.message_id.unwrap_or_default(),
        })
    }

    /// Checks that SES answers and knows the sender as a verified identity (the address itself,
    /// or its domain): the two things every send needs.
    async fn ping(&self) -> Result<(), MailError> {
        let address = bare_address(&self.sender).to_string();
        let domain = address
            .rsplit_once('@')
            .map(|(_, domain)| domain.to_string());
        for identity in std::iter::once(address.clone()).chain(domain) {
            match self
                .client
                .get_email_identity()
                .email_identity(&identity)
                .send()
                .await
            {
                Ok(found) => {
                    let verified = found.verified_for_sending_status
                        || found.verification_status().is_some_and(|status| {
                            status == &aws_sdk_sesv2::types::VerificationStatus::Success
                        });
                    return if verified {
                        Ok(())
                    } else {
                        Err(MailError::Unavailable(format!(
                            "SES identity {identity} is not verified for sending"
                        )))
                    };
                }
                Err(error) if error.code() == Some("NotFoundException") => continue,
                Err(error) => return Err(MailError::Unavailable(describe(&error))),
            }
        }
        Err(MailError::Unavailable(format!(
            "SES has no identity for the sender {address}"
        )))
    }
}
