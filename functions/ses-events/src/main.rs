//! `ses-events`: builds its store client once, then records each SES mail event.

use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_domain::clock::SystemClock;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use ses_events::{FunctionEnv, SesEventsHandler};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::from_env(&sdk, &env)?);
    let handler = Arc::new(SesEventsHandler::new(store, Arc::new(SystemClock)));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move { handler.handle(event.payload).await }
    }))
    .await
}
