//! `health`: liveness, readiness of DynamoDB, SQS and SES, and the OpenAPI document.

use dealpulse_api::state::{HealthState, MailerReadiness, QueueReadiness, StoreReadiness};
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_aws::ses::SesMailer;
use dealpulse_aws::sqs::SqsQueue;
use dealpulse_lambda::{lambda_app, run, FunctionEnv};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let state = HealthState {
        store: Arc::new(StoreReadiness(Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            env.required("DEALPULSE_TABLE")?,
        )))),
        queue: Arc::new(QueueReadiness(Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(&sdk),
            env.required("DEALPULSE_QUEUE_URL")?,
        )))),
        mailer: Arc::new(MailerReadiness(Arc::new(SesMailer::new(
            aws_sdk_sesv2::Client::new(&sdk),
            env.required("DEALPULSE_SENDER")?,
            env.optional("DEALPULSE_SES_CONFIGURATION_SET"),
        )))),
        runtime: "lambda",
    };
    let routes = dealpulse_api::routes::health::router(state);
    run(lambda_app(routes, &env, "health")).await
}
