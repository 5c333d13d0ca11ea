//! `api-billing`: Stripe's webhook on DynamoDB.

use dealpulse_api::routes::billing::{BillingState, StripeSettings};
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_domain::billing::PaymentProvider;
use dealpulse_lambda::{lambda_app, run, ConfigError, FunctionEnv};
use dealpulse_outbound::stripe::StripeApi;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::from_env(&sdk, &env)?);
    // Without a webhook secret the route answers 501 rather than trusting unsigned events.
    let stripe = match env.optional("DEALPULSE_STRIPE_WEBHOOK_SECRET") {
        Some(secret) => Some(Arc::new(StripeSettings {
            webhook_secret: secret,
            prices: StripeSettings::parse_prices(
                &env.optional("DEALPULSE_STRIPE_PRICES").unwrap_or_default(),
            )
            .map_err(|why| ConfigError::Invalid {
                name: "DEALPULSE_STRIPE_PRICES",
                why,
            })?,
            tolerance: dealpulse_domain::billing::DEFAULT_TOLERANCE,
        })),
        None => None,
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
    let state = BillingState {
        core: dealpulse_lambda::core(&env, store)?,
        stripe,
        payments,
    };
    run(lambda_app(
        dealpulse_api::routes::billing::router(state),
        &env,
        "api-billing",
    ))
    .await
}
