//! `scrape`: reads its configuration and builds its clients once, then serves scheduled ticks.

use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_aws::eventbridge::EventBridgePublisher;
use lambda_runtime::{service_fn, LambdaEvent};
use scrape::{Config, FunctionEnv, ScrapeHandler};
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
    let events = Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        config.event_bus.clone(),
    ));
    let handler = Arc::new(ScrapeHandler::new(store, events, &config)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move { handler.handle(event.payload).await }
    }))
    .await
}
