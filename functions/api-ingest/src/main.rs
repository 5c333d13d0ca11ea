//! `api-ingest`: the /api/v1/ingest routes on DynamoDB, announcing listings on EventBridge.

use dealpulse_api::routes::ingest::{router, IngestState};
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_aws::eventbridge::EventBridgePublisher;
use dealpulse_domain::inbound::InboundAddresses;
use dealpulse_lambda::{lambda_app, run, FunctionEnv};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::from_env(&sdk, &env)?);
    let events = Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        env.required("DEALPULSE_EVENT_BUS")?,
    ));
    let core = dealpulse_lambda::core(&env, store)?;
    // Personal newsletter addresses exist when the stack receives mail (InboundDomain).
    let inbound = env
        .optional("DEALPULSE_INBOUND_DOMAIN")
        .map(|domain| InboundAddresses::new(&domain, core.keys.inbound_key()));
    let routes = router(IngestState {
        core,
        events,
        inbound,
        mail_receiver: None,
    });
    run(lambda_app(routes, &env, "api-ingest")).await
}
