//! `match`: reads its configuration and builds its clients once; the matching index lives as
//! long as the warm container and is rebuilt when the matching stamp moves.

use dealpulse_alerts::matcher::Matcher;
use dealpulse_alerts::AlertSettings;
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_aws::sqs::SqsQueue;
use dealpulse_domain::clock::SystemClock;
use lambda_runtime::{service_fn, LambdaEvent};
use match_function::{Config, FunctionEnv, MatchHandler};
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
    let handler = Arc::new(MatchHandler::new(Matcher::new(
        store,
        queue,
        Arc::new(SystemClock),
        AlertSettings::default(),
    )));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move { handler.handle(event.payload).await }
    }))
    .await
}
