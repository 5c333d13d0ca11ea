//! `api-account`: the /api/v1/me routes on DynamoDB.

use dealpulse_api::state::AccountState;
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_lambda::{lambda_app, run, FunctionEnv};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::from_env(&sdk, &env)?);
    let state = AccountState {
        core: dealpulse_lambda::core(&env, store)?,
    };
    let routes = dealpulse_api::routes::account::router(state);
    run(lambda_app(routes, &env, "api-account")).await
}
