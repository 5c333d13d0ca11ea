//! Stripe's REST API (form-encoded requests, the secret key as a bearer token) at a
//! configurable base URL: checkout sessions for a plan's price, and cancelling at period end.

use async_trait::async_trait;
use dealpulse_domain::billing::{CheckoutRequest, CheckoutSession, PaymentError, PaymentProvider};
use serde::Deserialize;
use std::time::Duration;

pub struct StripeApi {
    client: reqwest::Client,
    base_url: String,
    secret_key: String,
}

impl std::fmt::Debug for StripeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeApi")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct StripeProblem {
    error: Option<StripeProblemDetail>,
}

#[derive(Deserialize)]
struct StripeProblemDetail {
    message: Option<String>,
}

impl StripeApi {
    pub fn new(base_url: &str, secret_key: &str) -> Result<Self, PaymentError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| PaymentError::Unavailable(e.to_string()))?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_string(),
            secret_key: secret_key.to_string(),
        })
    }

    /// The client a function builds from its environment: none without a secret key (billing
    /// routes then answer 501), `https://api.stripe.com` unless another base is given.
    pub fn configured(
        secret_key: Option<String>,
        base_url: Option<String>,
    ) -> Result<Option<Self>, PaymentError> {
        match secret_key {
            Some(key) => Self::new(
                base_url.as_deref().unwrap_or("https://api.stripe.com"),
                &key,
            )
            .map(Some),
            None => Ok(None),
        }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<Vec<u8>, PaymentError> {
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(&self.secret_key)
            .form(form)
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(format!("Stripe: {e}")))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| PaymentError::Unavailable(format!("Stripe: {e}")))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let message = serde_json::from_slice::<StripeProblem>(&bytes)
            .ok()
            .and_then(|p| p.error)
            .and_then(|e| e.message)
            .map_or_else(|| status.to_string(), |m| format!("{status}: {m}"));
        // 4xx other than throttling is about this request; 429 and 5xx may pass later.
        if status.is_client_error() && status.as_u16() != 429 {
            Err(PaymentError::Rejected(message))
        } else {
            Err(PaymentError::Unavailable(message))
        }
    }
}

#[async_trait]
impl PaymentProvider for StripeApi {
    async fn checkout(&self, request: &CheckoutRequest) -> Result<CheckoutSession, PaymentError> {
        let user = request.user.to_string();
        let mut form = vec![
            ("mode", "subscription"),
            ("line_items[0][price]", request.price.as_str()),
            ("line_items[0][quantity]", "1"),
            ("client_reference_id", user.as_str()),
            ("subscription_data[metadata][user_id]", user.as_str()),
            ("metadata[user_id]", user.as_str()),
            ("success_url", request.success_url.as_str()),
            ("cancel_url", request.cancel_url.as_str()),
        ];
        match &request.customer {
            Some(customer) => form.push(("customer", customer.as_str())),
            None => form.push(("customer_email", request.email.as_str())),
        }
        let body = self.post("/v1/checkout/sessions", &form).await?;
        serde_json::from_slice(&body)
            .map_err(|e| PaymentError::Unavailable(format!("Stripe's checkout session: {e}")))
    }

    async fn change_price(
        &self,
        subscription: &str,
        item: &str,
        price: &str,
    ) -> Result<(), PaymentError> {
        stripe_id(subscription, "subscription")?;
        stripe_id(item, "subscription item")?;
        self.post(
            &format!("/v1/subscriptions/{subscription}"),
            &[
                ("items[0][id]", item),
                ("items[0][price]", price),
                ("proration_behavior", "create_prorations"),
                // A change undoes a pending cancellation, as in Stripe's own portal.
                ("cancel_at_period_end", "false"),
            ],
        )
        .await
        .map(drop)
    }

    async fn cancel_at_period_end(
        &self,
        subscription: &str,
        cancel: bool,
    ) -> Result<(), PaymentError> {
        stripe_id(subscription, "subscription")?;
        self.post(
            &format!("/v1/subscriptions/{subscription}"),
            &[(
                "cancel_at_period_end",
                if cancel { "true" } else { "false" },
            )],
        )
        .await
        .map(drop)
    }
}

/// Stripe ids go into URL paths: only letters, digits and `_`.
fn stripe_id(id: &str, what: &str) -> Result<(), PaymentError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(PaymentError::Rejected(format!("not a {what} id")));
    }
    Ok(())
}
