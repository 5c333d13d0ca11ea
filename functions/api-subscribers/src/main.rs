//! `api-subscribers`: the public weekly newsletter's subscribe, confirm and unsubscribe routes
//! on DynamoDB, with confirmations sent through SES.

use dealpulse_api::routes::newsletter::NewsletterState;
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_aws::ses::SesMailer;
use dealpulse_lambda::{lambda_app, run, FunctionEnv};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::from_env(&sdk, &env)?);
    let mailer = Arc::new(SesMailer::new(
        aws_sdk_sesv2::Client::new(&sdk),
        env.required("DEALPULSE_SENDER")?,
        env.optional("DEALPULSE_SES_CONFIGURATION_SET"),
    ));
    let state = NewsletterState {
        core: dealpulse_lambda::core(&env, store)?,
        mailer,
    };
    let routes = dealpulse_api::routes::newsletter::router(state);
    run(lambda_app(routes, &env, "api-subscribers")).await
}
