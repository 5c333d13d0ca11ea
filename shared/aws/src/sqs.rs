//! The Queue port over SQS. The redrive policy (max receives, dead-letter queue) is set on the
//! queue itself (template.yaml), so receive needs no dead-letter logic here.

use crate::describe;
use async_trait::async_trait;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use dealpulse_domain::queue::{Queue, QueueError, ReceiptHandle, ReceivedMessage, SendReport};
use std::time::Duration;

/// SQS's limits: ten entries per batch, 256 KiB per body.
const MAX_BATCH: usize = 10;
const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

fn unavailable<E: std::error::Error + 'static>(error: E) -> QueueError {
    QueueError::Unavailable(describe(&error))
}

fn receipt_error<E>(
    error: aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>,
) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error.code() {
        Some(code)
            if code.contains("ReceiptHandleIsInvalid")
                || code.contains("MessageNotInflight")
                || code.contains("InvalidParameterValue") =>
        {
            QueueError::InvalidReceipt
        }
        _ => unavailable(error),
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send_batch(&self, bodies: &[String]) -> Result<SendReport, QueueError> {
        let mut report = SendReport::default();
        let valid: Vec<(usize, &String)> = bodies
            .iter()
            .enumerate()
            .filter(|(index, body)| {
                let ok = !body.is_empty() && body.len() <= MAX_BODY_BYTES;
                if !ok {
                    report
                        .failed
                        .push((*index, "message body must be 1 byte to 256 KiB".into()));
                }
                ok
            })
            .collect();
        for chunk in valid.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .map(|(index, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(body.as_str())
                        .build()
                        .map_err(unavailable)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(unavailable)?;
            for sent in output.successful() {
                if let Ok(index) = sent.id().parse::<usize>() {
                    report.sent.push((index, sent.message_id().to_string()));
                }
            }
            for failed in output.failed() {
                if let Ok(index) = failed.id().parse::<usize>() {
                    report.failed.push((
                        index,
                        format!(
                            "{}: {}",
                            failed.code(),
                            failed.message().unwrap_or_default()
                        ),
                    ));
                }
            }
        }
        report.sent.sort_unstable();
        report.failed.sort_unstable();
        Ok(report)
    }

    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(visibility.as_secs_f64().ceil() as i32)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| {
                let receive_count = message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|count| count.parse().ok())
                    .unwrap_or(1);
                Ok(ReceivedMessage {
                    message_id: message.message_id.unwrap_or_default(),
                    receipt: ReceiptHandle(message.receipt_handle.ok_or_else(|| {
                        QueueError::Unavailable("SQS returned a message without receipt".into())
                    })?),
                    body: message.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect()
    }

    async fn delete(&self, receipt: &ReceiptHandle) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(&receipt.0)
            .send()
            .await
            .map_err(receipt_error)?;
        Ok(())
    }

    async fn change_visibility(
        &self,
        receipt: &ReceiptHandle,
        visibility: Duration,
    ) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(&receipt.0)
            .visibility_timeout(visibility.as_secs_f64().ceil() as i32)
            .send()
            .await
            .map_err(receipt_error)?;
        Ok(())
    }

    async fn depth(&self) -> Result<u64, QueueError> {
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|count| count.parse().ok())
            .unwrap_or(0))
    }
}
