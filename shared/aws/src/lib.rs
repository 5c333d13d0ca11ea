//! AWS adapters for the domain ports. Each client sits behind a cargo feature (`dynamodb`,
//! `sqs`, `ses`) so every Lambda function links only the SDK clients it uses.

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
pub mod env;
#[cfg(feature = "eventbridge")]
pub mod eventbridge;
pub mod http_client;
pub mod lambda_events;
pub mod logging;
#[cfg(feature = "ses")]
pub mod ses;
#[cfg(feature = "sqs")]
pub mod sqs;

/// Builds a function's SDK configuration once at start-up: region and credentials from the
/// environment, where Lambda (and `sam local invoke`) put the execution role's, and, when
/// `AWS_ENDPOINT_URL` is set (tests against a local emulator), the endpoint.
///
/// Built directly instead of through `aws_config`'s loader: the loader keeps its default chains
/// reachable (STS web identity and assume-role, SSO, IMDS, ECS, profile files, credential
/// processes), none of which can answer inside Lambda before the environment does, and they
/// were hundreds of kilobytes of every bootstrap.
pub async fn load_sdk_config() -> Result<aws_config::SdkConfig, reqwest::Error> {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_credential_types::provider::SharedCredentialsProvider;
    let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
        .map(aws_config::Region::new);
    let mut config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(region)
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(https_client()?)
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .retry_config(aws_config::retry::RetryConfig::standard())
        .timeout_config(sdk_timeouts());
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint);
    }
    Ok(config.build())
}

/// The HTTPS client every SDK client of the process shares (see [`http_client`]).
fn https_client() -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, reqwest::Error>
{
    http_client::reqwest_http_client(SDK_CONNECT_TIMEOUT)
}

/// The SDK configuration loader with our HTTPS client and timeouts, for tools and tests that
/// want the default chains (profiles, SSO and the rest).
pub fn sdk_config_loader() -> Result<aws_config::ConfigLoader, reqwest::Error> {
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client()?)
        .timeout_config(sdk_timeouts()))
}

/// TCP and TLS set-up bound, shared by the HTTP client and [`sdk_timeouts`].
const SDK_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The SDK sets no read or operation timeout by default, so a dependency that accepts the
/// connection and never answers holds a call until the Lambda times out and the whole batch
/// returns. Every call we make (DynamoDB items and queries, SQS without long polling, one SES
/// message, the start of an S3 object) answers in well under a second; a hung attempt gives up after
/// 5 s and the call, retries included, after 12 s, so the deliver function (40 s) still reports
/// its own per-message failures.
pub fn sdk_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(SDK_CONNECT_TIMEOUT)
        .operation_attempt_timeout(std::time::Duration::from_secs(5))
        .operation_timeout(std::time::Duration::from_secs(12))
        .build()
}

/// [`describe`] for callers outside this crate (functions using an SDK client directly).
pub fn describe_error<E>(error: &E) -> String
where
    E: std::error::Error + 'static,
{
    describe(error)
}

/// A short, log-safe description of an SDK failure: the service's error code and message.
pub(crate) fn describe<E>(error: &E) -> String
where
    E: std::error::Error + 'static,
{
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
