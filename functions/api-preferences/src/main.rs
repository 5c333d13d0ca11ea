//! `api-preferences`: notification preferences, delivery endpoints, the SMS phone (codes sent
//! through Twilio's REST API) and web push subscriptions, on DynamoDB.

use dealpulse_api::push::VapidKeys;
use dealpulse_api::routes::preferences::PreferencesState;
use dealpulse_aws::dynamodb::DynamoStore;
use dealpulse_domain::channels::PhoneNumber;
use dealpulse_domain::sms::{SmsError, SmsSender};
use dealpulse_lambda::{lambda_app, run, ConfigError, FunctionEnv};
use dealpulse_outbound::{TwilioConfig, TwilioSms};
use std::sync::Arc;

/// The SMS sender of a deployment without SMS credentials: every send is refused as
/// unavailable (503 naming the cause), so the rest of the preferences keep working.
struct SmsNotConfigured;

#[async_trait::async_trait]
impl SmsSender for SmsNotConfigured {
    async fn send_sms(&self, _to: &PhoneNumber, _body: &str) -> Result<String, SmsError> {
        Err(SmsError::Unavailable(
            "SMS is not configured for this deployment (TwilioAccountSid parameter)".into(),
        ))
    }
}

fn sms_sender(env: &FunctionEnv) -> Result<Arc<dyn SmsSender>, lambda_http::Error> {
    let Some(account_sid) = env.optional("DEALPULSE_TWILIO_ACCOUNT_SID") else {
        return Ok(Arc::new(SmsNotConfigured));
    };
    let config = TwilioConfig {
        base_url: env
            .optional("DEALPULSE_TWILIO_BASE_URL")
            .unwrap_or_else(|| "https://api.twilio.com".into()),
        account_sid,
        auth_token: env.required("DEALPULSE_TWILIO_AUTH_TOKEN")?,
        from: env.required("DEALPULSE_TWILIO_FROM")?,
    };
    Ok(Arc::new(TwilioSms::new(config)?))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let env = FunctionEnv::from_process();
    let sdk = dealpulse_aws::load_sdk_config().await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        env.required("DEALPULSE_TABLE")?,
    ));
    // The VAPID key pair is derived from a generated secret (template.yaml: VapidSecret).
    let vapid = VapidKeys::derive(&env.required("DEALPULSE_VAPID_SECRET")?).map_err(|why| {
        ConfigError::Invalid {
            name: "DEALPULSE_VAPID_SECRET",
            why: why.to_string(),
        }
    })?;
    let state = PreferencesState {
        core: dealpulse_lambda::core(&env, store)?,
        sms: sms_sender(&env)?,
        vapid: Arc::new(vapid),
    };
    let routes = dealpulse_api::routes::preferences::router(state);
    run(lambda_app(routes, &env, "api-preferences")).await
}
