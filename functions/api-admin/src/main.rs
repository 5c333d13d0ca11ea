//! `api-admin`: administrators' routes (console, reports, subscribers, subscriptions, failed
//! deliveries and the delivery dead-letter queue), on DynamoDB and SQS, with Stripe's API for
//! cancelling subscriptions.

use dealpulse_alerts::failures::DeliveryFailures;
use dealpulse_api::routes::admin::AdminState;
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_aws::sqs::SqsQueue;
use dealpulse_domain::billing::PaymentProvider;
use dealpulse_domain::clock::SystemClock;
use dealpulse_lambda::{lambda_app, run, ConfigError, FunctionEnv};
use dealpulse_outbound::stripe::StripeApi;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::from_env(&sdk, &env)?);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let failures = DeliveryFailures {
        store: store.clone(),
        deliveries: Arc::new(SqsQueue::new(
            sqs.clone(),
            env.required("DEALPULSE_QUEUE_URL")?,
        )),
        dead_letters: Arc::new(SqsQueue::new(sqs, env.required("DEALPULSE_DLQ_URL")?)),
        clock: Arc::new(SystemClock),
    };
    let payments = StripeApi::configured(
        env.optional("DEALPULSE_STRIPE_SECRET_KEY"),
        env.optional("DEALPULSE_STRIPE_API_BASE"),
    )
    .map_err(|why| ConfigError::Invalid {
        name: "DEALPULSE_STRIPE_API_BASE",
        why: why.to_string(),
    })?
    .map(|api| Arc::new(api) as Arc<dyn PaymentProvider>);
    let state = AdminState {
        core: dealpulse_lambda::core(&env, store)?,
        failures,
        payments,
    };
    run(lambda_app(
        dealpulse_api::routes::admin::router(state),
        &env,
        "api-admin",
    ))
    .await
}
