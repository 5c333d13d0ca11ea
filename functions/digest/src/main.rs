//! `digest`: reads its configuration and builds its clients once, then serves hourly ticks.

use dealpulse_alerts::digest::DigestRun;
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_aws::sqs::SqsQueue;
use dealpulse_domain::clock::SystemClock;
use digest::{Config, DigestHandler, FunctionEnv};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let config = Config::from_env(&FunctionEnv::from_process())?;
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.table.clone(),
    ));
    let queue = Arc::new(SqsQueue::new(
        aws_sdk_sqs::Client::new(&sdk),
        config.queue_url.clone(),
    ));
    let handler = Arc::new(DigestHandler::new(DigestRun::new(
        store,
        queue,
        Arc::new(SystemClock),
    )));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move { handler.handle(event.payload).await }
    }))
    .await
}
