//! AWS SDK clients pointed at moto, and fixtures for the conformance suites.

use crate::moto::{self, Moto};
use crate::{unique, workspace_root};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_aws::ses::SesMailer;
use dealpulse_aws::sqs::SqsQueue;
use dealpulse_conformance::mail::{Delivered, MailFixture};
use dealpulse_conformance::queue::QueueFixture;
use dealpulse_conformance::Fixture;
use dealpulse_domain::ports::Store;
use serde_yaml::Value;
use std::sync::Arc;

/// The sender domain every SES test verifies first.
pub const SENDER_DOMAIN: &str = "dealpulse.test";
pub const SENDER: &str = "DealPulse <alerts@dealpulse.test>";

pub async fn sdk_config(moto: &Moto) -> aws_config::SdkConfig {
    dealpulse_aws::sdk_config_loader()
        .expect("builds the HTTP client")
        .endpoint_url(&moto.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// template.yaml, parsed (CloudFormation's short tags stay tagged values).
pub fn template() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The `Table` resource's properties from template.yaml: the one definition of the table shape.
pub fn table_definition() -> Value {
    template()["Resources"]["Table"]["Properties"].clone()
}

fn key_schema(value: &Value) -> Vec<KeySchemaElement> {
    value
        .as_sequence()
        .unwrap()
        .iter()
        .map(|element| {
            KeySchemaElement::builder()
                .attribute_name(element["AttributeName"].as_str().unwrap())
                .key_type(KeyType::from(element["KeyType"].as_str().unwrap()))
                .build()
                .unwrap()
        })
        .collect()
}

/// Creates a table named `name` exactly as template.yaml declares it.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let definition = table_definition();
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(
            definition["BillingMode"]
                .as_str()
                .unwrap_or("PAY_PER_REQUEST"),
        ))
        .set_key_schema(Some(key_schema(&definition["KeySchema"])));
    for attribute in definition["AttributeDefinitions"].as_sequence().unwrap() {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute["AttributeName"].as_str().unwrap())
                .attribute_type(ScalarAttributeType::from(
                    attribute["AttributeType"].as_str().unwrap(),
                ))
                .build()
                .unwrap(),
        );
    }
    for index in definition["GlobalSecondaryIndexes"]
        .as_sequence()
        .cloned()
        .unwrap_or_default()
    {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index["IndexName"].as_str().unwrap())
                .set_key_schema(Some(key_schema(&index["KeySchema"])))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            index["Projection"]["ProjectionType"].as_str().unwrap(),
                        ))
                        .build(),
                )
                .build()
                .unwrap(),
        );
    }
    request.send().await.unwrap();
}

/// A DynamoDB store on a fresh table in the shared moto server.
pub async fn dynamo_store() -> Fixture<dyn Store> {
    let moto = moto::shared();
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(moto).await);
    let table = unique("dealpulse-test");
    create_table(&client, &table).await;
    Fixture::new(
        Arc::new(DynamoStore::new(client, table)) as Arc<dyn Store>,
        (),
    )
}

/// Creates a queue with a dead-letter queue and redrive policy; returns (queue url, dlq url).
pub async fn create_queue_pair(
    client: &aws_sdk_sqs::Client,
    max_receive_count: u32,
) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let name = unique("deliveries");
    let dlq_url = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&QueueAttributeName::QueueArn)
        .unwrap();
    let policy = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": max_receive_count,
    });
    let url = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (url, dlq_url)
}

pub async fn sqs_queues() -> QueueFixture {
    let moto = moto::shared();
    let client = aws_sdk_sqs::Client::new(&sdk_config(moto).await);
    let (url, dlq_url) = create_queue_pair(&client, 3).await;
    QueueFixture {
        queue: Arc::new(SqsQueue::new(client.clone(), url)),
        dead_letters: Arc::new(SqsQueue::new(client, dlq_url)),
        max_receive_count: 3,
        guard: Box::new(()),
    }
}

/// Verifies the sender domain in moto's SES (idempotent).
pub async fn verify_sender(config: &aws_config::SdkConfig) {
    let client = aws_sdk_sesv2::Client::new(config);
    let _ = client
        .create_email_identity()
        .email_identity(SENDER_DOMAIN)
        .send()
        .await;
}

/// Mail moto's SES accepted, from its state dump: simple messages as SES keeps them, raw
/// messages (what `SesMailer` sends) whole, with the subject read from their headers.
pub async fn ses_sent(moto: &Moto) -> Vec<Delivered> {
    let data = moto.data().await;
    let list = |kind: &str| data["ses"][kind].as_array().cloned().unwrap_or_default();
    let simple = list("Message").into_iter().map(|message| Delivered {
        to: message["destinations"]["ToAddresses"][0]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        subject: message["subject"].as_str().unwrap_or_default().to_string(),
        body: message["body"].as_str().unwrap_or_default().to_string(),
    });
    let raw = list("RawMessage").into_iter().map(|message| {
        let raw = message["raw_data"].as_str().unwrap_or_default().to_string();
        // What a mail client shows: the decoded subject and text part (quoted-printable
        // would otherwise break long links), then the raw message for header checks.
        let parsed = mail_parser::MessageParser::default().parse(raw.as_bytes());
        let subject = parsed
            .as_ref()
            .and_then(|m| m.subject())
            .unwrap_or_default()
            .to_string();
        let text = parsed
            .as_ref()
            .and_then(|m| m.body_text(0))
            .unwrap_or_default()
            .to_string();
        Delivered {
            to: message["destinations"][0]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            subject,
            body: format!("{text}\n\n{raw}"),
        }
    });
    simple.chain(raw).collect()
}

pub async fn ses_mailer() -> MailFixture {
    let moto = moto::shared();
    let config = sdk_config(moto).await;
    verify_sender(&config).await;
    MailFixture {
        mailer: Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(&config),
            SENDER,
            None,
        )),
        delivered: Box::new(move || Box::pin(ses_sent(moto::shared()))),
        guard: Box::new(()),
    }
}

/// Drains an SQS queue that an EventBridge rule targets: each body is an event envelope. An
/// empty queue is polled a few times (half a second in all) before nothing counts as nothing.
pub async fn drain_events(
    client: &aws_sdk_sqs::Client,
    url: &str,
) -> Vec<dealpulse_domain::events::EventEnvelope> {
    let mut events = Vec::new();
    let mut empty_polls = 0;
    loop {
        let output = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            empty_polls += 1;
            if !events.is_empty() || empty_polls >= 5 {
                return events;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        }
        for message in messages {
            events.push(serde_json::from_str(message.body().unwrap()).unwrap());
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// A fresh event bus whose every DealPulse event a rule copies to a fresh SQS queue; returns
/// (bus name, queue url).
pub async fn event_bus_to_queue(config: &aws_config::SdkConfig) -> (String, String) {
    let events = aws_sdk_eventbridge::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let bus = unique("dealpulse-bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let url = sqs
        .create_queue()
        .queue_name(unique("bus-tap"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    events
        .put_rule()
        .name("tap")
        .event_bus_name(&bus)
        .event_pattern(r#"{"source":["dealpulse.ingest"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("tap")
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (bus, url)
}

pub async fn eventbridge_publisher() -> dealpulse_conformance::events::EventsFixture {
    let config = sdk_config(moto::shared()).await;
    let (bus, url) = event_bus_to_queue(&config).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    dealpulse_conformance::events::EventsFixture {
        publisher: Arc::new(dealpulse_aws::eventbridge::EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(&config),
            bus,
        )),
        delivered: Box::new(move || {
            let (sqs, url) = (sqs.clone(), url.clone());
            Box::pin(async move { drain_events(&sqs, &url).await })
        }),
        guard: Box::new(()),
    }
}
