//! `deliver`: reads its configuration and builds its clients and transports once.

use dealpulse_alerts::deliver::{Deliverer, Senders};
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_aws::ses::SesMailer;
use dealpulse_aws::sqs::SqsQueue;
use dealpulse_domain::clock::SystemClock;
use dealpulse_outbound::{sms_from_settings, HttpNotifiers};
use deliver::{Config, DeliverHandler, FunctionEnv};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let config = Config::from_env(&env)?;
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.table.clone(),
    ));
    let queue = Arc::new(SqsQueue::new(
        aws_sdk_sqs::Client::new(&sdk),
        config.queue_url.clone(),
    ));
    let http = HttpNotifiers::new(
        config.notify_origin.clone(),
        config.loopback_ports.clone(),
        config.vapid.secret().clone(),
        &config.sender,
    )?;
    let senders = Senders {
        mailer: Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(&sdk),
            config.sender.clone(),
            config.configuration_set.clone(),
        )),
        sms: sms_from_settings(|name| env.optional(name), |name| env.required(name))??,
        endpoints: http.endpoints,
        push: http.push,
    };
    let deliverer = Deliverer::new(store, senders, Arc::new(SystemClock), config.settings);
    let handler = Arc::new(DeliverHandler::new(deliverer, queue));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move { handler.handle(event.payload).await }
    }))
    .await
}
