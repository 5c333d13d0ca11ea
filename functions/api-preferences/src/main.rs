//! `api-preferences`: notification preferences, delivery endpoints, the SMS phone (codes sent
//! through Twilio's REST API) and web push subscriptions, on DynamoDB.

use dealpulse_api::routes::preferences::PreferencesState;
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_domain::vapid::VapidKeys;
use dealpulse_lambda::{lambda_app, run, ConfigError, FunctionEnv};
use dealpulse_outbound::{sms_from_settings, HttpNotifiers};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    dealpulse_aws::logging::init_lambda_logging();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await?;
    let store = Arc::new(DynamoStore::from_env(&sdk, &env)?);
    // The VAPID key pair is derived from a generated secret (template.yaml: VapidSecret).
    let vapid = VapidKeys::derive(&env.required("DEALPULSE_VAPID_SECRET")?).map_err(|why| {
        ConfigError::Invalid {
            name: "DEALPULSE_VAPID_SECRET",
            why: why.to_string(),
        }
    })?;
    // Test sends go out like deliveries: the same transport, and the same relay when one is set.
    let notify_origin = env
        .optional("DEALPULSE_NOTIFY_ORIGIN")
        .map(|origin| url::Url::parse(&origin))
        .transpose()
        .map_err(|why| ConfigError::Invalid {
            name: "DEALPULSE_NOTIFY_ORIGIN",
            why: why.to_string(),
        })?;
    let notifiers = HttpNotifiers::new(
        notify_origin,
        Default::default(),
        vapid.secret().clone(),
        &env.required("DEALPULSE_SENDER")?,
    )?;
    let state = PreferencesState {
        core: dealpulse_lambda::core(&env, store)?,
        sms: sms_from_settings(|name| env.optional(name), |name| env.required(name))??,
        vapid: Arc::new(vapid),
        endpoints: notifiers.endpoints,
    };
    let alerts = dealpulse_api::routes::alerts::router(state.core.clone());
    let routes = dealpulse_api::routes::preferences::router(state).merge(alerts);
    run(lambda_app(routes, &env, "api-preferences")).await
}
