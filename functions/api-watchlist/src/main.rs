//! `api-watchlist`: the /api/v1/watchlist and /api/v1/products routes on DynamoDB, with the
//! guarded fetcher that watch previews read pages through.

use dealpulse_api::state::WatchlistState;
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_ingest::preview::FetchingPreviewer;
use dealpulse_lambda::{lambda_app, run, FunctionEnv};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::from_env(&sdk, &env)?);
    let state = WatchlistState {
        core: dealpulse_lambda::core(&env, store)?,
        previewer: Arc::new(FetchingPreviewer::for_requests(Default::default())?),
    };
    run(lambda_app(
        dealpulse_api::routes::watchlist::router(state),
        &env,
        "api-watchlist",
    ))
    .await
}
