//! `api-rules`: the /api/v1/deal-alert-rules routes, the deals feed and deal reports on DynamoDB.

use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_lambda::{lambda_app, run, FunctionEnv};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::from_env(&sdk, &env)?);
    let routes = dealpulse_api::routes::rules::router(dealpulse_lambda::core(&env, store)?);
    run(lambda_app(routes, &env, "api-rules")).await
}
