//! `api-analytics`: trends, popular destinations and categories, deal frequency, the dashboard
//! and tracked deal links, answered from the rollup counters in DynamoDB.

use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_lambda::{lambda_app, run, FunctionEnv};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::from_env(&sdk, &env)?);
    let core = dealpulse_lambda::core(&env, store)?;
    let routes = dealpulse_api::routes::analytics::router(core);
    run(lambda_app(routes, &env, "api-analytics")).await
}
