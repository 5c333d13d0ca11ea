//! Stripe's webhook signatures, verified as Stripe's own libraries do: the `Stripe-Signature`
//! header carries `t=<unix seconds>` and one or more `v1=<hex HMAC-SHA256>` over
//! `"<t>.<raw body>"` keyed with the endpoint's signing secret (`whsec_…`, used as is). A
//! request is accepted when any `v1` matches (Stripe sends two while a secret is being rolled)
//! and `t` is within the tolerance of now, either way — an old capture replayed later fails.

use crate::ids::UserId;
use crate::money::{Currency, Money};
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use sha2::Sha256;

/// Stripe's libraries accept signatures up to five minutes old by default.
pub const DEFAULT_TOLERANCE: SignedDuration = SignedDuration::from_secs(300);

/// Why a webhook request was refused; the text is safe to answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the signature timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// The parts of a `Stripe-Signature` header we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSignature {
    pub timestamp: i64,
    /// Every `v1` value, as sent (hex).
    pub signatures: Vec<String>,
}

impl StripeSignature {
    /// Parses `t=…,v1=…[,v1=…][,v0=…]`; other schemes are ignored, as Stripe advises.
    pub fn parse(header: &str) -> Result<Self, SignatureError> {
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            let Some((name, value)) = part.trim().split_once('=') else {
                continue;
            };
            match name {
                "t" => timestamp = value.parse::<i64>().ok(),
                "v1" if !value.is_empty() => signatures.push(value.to_ascii_lowercase()),
                _ => {}
            }
        }
        match timestamp {
            Some(timestamp) if !signatures.is_empty() => Ok(Self {
                timestamp,
                signatures,
            }),
            _ => Err(SignatureError::Malformed),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Verifies `payload` (the raw request body) against the header with the endpoint's secret.
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secret: &str,
    now: Timestamp,
    tolerance: SignedDuration,
) -> Result<(), SignatureError> {
    let signature = StripeSignature::parse(header.ok_or(SignatureError::Missing)?)?;
    let signed_at =
        Timestamp::from_second(signature.timestamp).map_err(|_| SignatureError::Stale)?;
    if now.duration_since(signed_at).abs() > tolerance {
        return Err(SignatureError::Stale);
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return Err(SignatureError::Mismatch);
    };
    mac.update(signature.timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let expected = mac.finalize().into_bytes();
    // Compared in constant time: every byte is looked at whatever the first difference.
    let matches = signature.signatures.iter().any(|candidate| {
        decode_hex(candidate).is_some_and(|bytes| {
            bytes.len() == expected.len()
                && bytes
                    .iter()
                    .zip(expected.iter())
                    .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                    == 0
        })
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// The header Stripe would send for `payload` at `timestamp` (for local tools and fixtures).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length.
        Err(_) => return format!("t={timestamp}"),
    };
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(payload);
    format!("t={timestamp},v1={}", hex(&mac.finalize().into_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    /// The expected signature, computed here with the HMAC primitive directly rather than by the
    /// code under test.
    fn reference(timestamp: i64, body: &[u8], secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        let mut signed = timestamp.to_string().into_bytes();
        signed.push(b'.');
        signed.extend_from_slice(body);
        mac.update(&signed);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn a_genuine_signature_verifies_and_a_tampered_one_does_not() {
        let t = 1_795_680_000;
        let header = format!("t={t},v1={},v0=deadbeef", reference(t, BODY, SECRET));
        assert_eq!(
            verify(BODY, Some(&header), SECRET, at(t + 10), DEFAULT_TOLERANCE),
            Ok(())
        );
        assert_eq!(
            sign(BODY, SECRET, t),
            format!("t={t},v1={}", reference(t, BODY, SECRET))
        );
        let tampered = br#"{"id":"evt_1","type":"invoice.paid "}"#;
        assert_eq!(
            verify(tampered, Some(&header), SECRET, at(t), DEFAULT_TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(BODY, Some(&header), "whsec_other", at(t), DEFAULT_TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        let rolled = format!(
            "t={t},v1={},v1={}",
            "00".repeat(32),
            reference(t, BODY, SECRET)
        );
        assert_eq!(
            verify(BODY, Some(&rolled), SECRET, at(t), DEFAULT_TOLERANCE),
            Ok(())
        );
    }

    #[test]
    fn stale_future_missing_and_malformed_headers_are_refused() {
        let t = 1_795_680_000;
        let header = format!("t={t},v1={}", reference(t, BODY, SECRET));
        assert_eq!(
            verify(BODY, Some(&header), SECRET, at(t + 301), DEFAULT_TOLERANCE),
            Err(SignatureError::Stale),
            "a replay six minutes later"
        );
        assert_eq!(
            verify(BODY, Some(&header), SECRET, at(t - 301), DEFAULT_TOLERANCE),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(BODY, None, SECRET, at(t), DEFAULT_TOLERANCE),
            Err(SignatureError::Missing)
        );
        for bad in [
            "",
            "t=abc,v1=00",
            "v1=00",
            &format!("t={t}"),
            &format!("t={t},v0=00"),
        ] {
            assert_eq!(
                verify(BODY, Some(bad), SECRET, at(t), DEFAULT_TOLERANCE),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        let odd = format!("t={t},v1=abc");
        assert_eq!(
            verify(BODY, Some(&odd), SECRET, at(t), DEFAULT_TOLERANCE),
            Err(SignatureError::Mismatch)
        );
    }
}

/// Why an event body was refused (after its signature verified).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Stripe event: {0}")]
pub struct EventError(pub String);

/// A subscription's status as Stripe reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Trialing,
    Active,
    PastDue,
    Unpaid,
    Canceled,
    Incomplete,
    IncompleteExpired,
    Paused,
}

impl SubscriptionStatus {
    /// Stripe's name (`active`, `past_due`, …).
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(Value::String(text.to_string())).ok()
    }

    /// Whether the customer has the plan's features now.
    pub fn entitles(self) -> bool {
        matches!(self, Self::Trialing | Self::Active | Self::PastDue)
    }
}

/// A subscription as one event shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SubscriptionState {
    pub id: String,
    pub customer: String,
    pub status: SubscriptionStatus,
    /// The Stripe price of its first item (which plan it is).
    pub price: Option<String>,
    /// That item's id (`si_…`): a plan change swaps its price.
    #[serde(default)]
    pub item: Option<String>,
    /// What it brings in per month (yearly prices divided by 12).
    pub monthly: Option<Money>,
    pub period_end: Option<Timestamp>,
    pub cancel_at_period_end: bool,
    /// `metadata.user_id`, set when DealPulse created the checkout.
    pub user: Option<UserId>,
}

/// An invoice as one event shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Invoice {
    pub id: String,
    pub customer: String,
    pub subscription: Option<String>,
    /// Paid (`invoice.paid`) or due (`invoice.payment_failed`).
    pub amount: Money,
    pub period_start: Option<Timestamp>,
    pub period_end: Option<Timestamp>,
}

/// The events DealPulse acts on; others are acknowledged and ignored.
#[derive(Debug, Clone, PartialEq)]
pub enum StripeEventKind {
    CheckoutCompleted {
        session: String,
        customer: Option<String>,
        subscription: Option<String>,
        /// `client_reference_id`: the user who started the checkout.
        user: Option<UserId>,
    },
    /// `customer.subscription.created` and `.updated`.
    SubscriptionChanged(SubscriptionState),
    SubscriptionDeleted(SubscriptionState),
    InvoicePaid(Invoice),
    InvoicePaymentFailed(Invoice),
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct StripeEvent {
    /// `evt_…`: what makes processing idempotent.
    pub id: String,
    pub created: Timestamp,
    pub kind: StripeEventKind,
}

fn text(value: &Value, field: &str) -> Option<String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .map(str::to_string)
}

fn required(value: &Value, field: &str) -> Result<String, EventError> {
    text(value, field).ok_or_else(|| EventError(format!("{field} is missing")))
}

fn seconds(value: &Value, field: &str) -> Option<Timestamp> {
    value
        .get(field)
        .and_then(Value::as_i64)
        .and_then(|s| Timestamp::from_second(s).ok())
}

/// An id field that may be expanded into its object.
fn id_of(value: &Value, field: &str) -> Option<String> {
    match value.get(field)? {
        Value::String(id) if !id.is_empty() && id.len() <= 255 => Some(id.clone()),
        object @ Value::Object(_) => text(object, "id"),
        _ => None,
    }
}

fn money(minor: Option<i64>, currency: Option<String>) -> Option<Money> {
    let currency = Currency::parse(&currency?).ok()?;
    Money::from_minor(minor?, currency).ok()
}

fn user_id(text: Option<String>) -> Option<UserId> {
    text?.parse().ok()
}

impl SubscriptionState {
    fn parse(object: &Value) -> Result<Self, EventError> {
        let status = required(object, "status")?;
        let item = object.pointer("/items/data/0");
        let price = item.and_then(|item| item.get("price"));
        let quantity = item
            .and_then(|item| item.get("quantity"))
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(1);
        let months = match price
            .and_then(|p| p.pointer("/recurring/interval"))
            .and_then(Value::as_str)
        {
            Some("year") => 12,
            _ => 1,
        };
        let monthly = price.and_then(|price| {
            let unit = price.get("unit_amount").and_then(Value::as_i64)?;
            money(
                unit.checked_mul(quantity).map(|total| total / months),
                text(price, "currency"),
            )
        });
        // Newer API versions keep the period on the item.
        let period_end = seconds(object, "current_period_end")
            .or_else(|| item.and_then(|item| seconds(item, "current_period_end")));
        Ok(Self {
            id: required(object, "id")?,
            customer: id_of(object, "customer")
                .ok_or_else(|| EventError("customer is missing".into()))?,
            status: SubscriptionStatus::parse(&status)
                .ok_or_else(|| EventError(format!("unknown subscription status {status:?}")))?,
            price: price.and_then(|price| text(price, "id")),
            item: item.and_then(|item| text(item, "id")),
            monthly,
            period_end,
            cancel_at_period_end: object
                .get("cancel_at_period_end")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            user: user_id(object.get("metadata").and_then(|m| text(m, "user_id"))),
        })
    }
}

impl Invoice {
    fn parse(object: &Value, amount_field: &str) -> Result<Self, EventError> {
        let amount = money(
            object.get(amount_field).and_then(Value::as_i64),
            text(object, "currency"),
        )
        .ok_or_else(|| EventError(format!("{amount_field} or currency is missing")))?;
        Ok(Self {
            id: required(object, "id")?,
            customer: id_of(object, "customer")
                .ok_or_else(|| EventError("customer is missing".into()))?,
            // Older API versions name it on the invoice, newer ones under `parent`.
            subscription: id_of(object, "subscription").or_else(|| {
                object
                    .pointer("/parent/subscription_details")
                    .and_then(|details| id_of(details, "subscription"))
            }),
            amount,
            period_start: seconds(object, "period_start"),
            period_end: seconds(object, "period_end"),
        })
    }
}

impl StripeEvent {
    /// Reads an event body (already verified).
    pub fn parse(body: &[u8]) -> Result<Self, EventError> {
        let event: Value =
            serde_json::from_slice(body).map_err(|e| EventError(format!("not JSON: {e}")))?;
        if event.get("object").and_then(Value::as_str) != Some("event") {
            return Err(EventError("object is not \"event\"".into()));
        }
        let id = required(&event, "id")?;
        let created =
            seconds(&event, "created").ok_or_else(|| EventError("created is missing".into()))?;
        let kind_name = required(&event, "type")?;
        let object = event
            .pointer("/data/object")
            .ok_or_else(|| EventError("data.object is missing".into()))?;
        let kind = match kind_name.as_str() {
            "checkout.session.completed" => StripeEventKind::CheckoutCompleted {
                session: required(object, "id")?,
                customer: id_of(object, "customer"),
                subscription: id_of(object, "subscription"),
                user: user_id(text(object, "client_reference_id")),
            },
            "customer.subscription.created" | "customer.subscription.updated" => {
                StripeEventKind::SubscriptionChanged(SubscriptionState::parse(object)?)
            }
            "customer.subscription.deleted" => {
                StripeEventKind::SubscriptionDeleted(SubscriptionState::parse(object)?)
            }
            "invoice.paid" => StripeEventKind::InvoicePaid(Invoice::parse(object, "amount_paid")?),
            "invoice.payment_failed" => {
                StripeEventKind::InvoicePaymentFailed(Invoice::parse(object, "amount_due")?)
            }
            _ => StripeEventKind::Other(kind_name),
        };
        Ok(Self { id, created, kind })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod event_tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, object: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": "evt_1Qx", "object": "event", "type": kind, "created": 1_795_680_000,
            "livemode": false, "data": {"object": object}
        }))
        .unwrap()
    }

    #[test]
    fn subscription_events_read_status_plan_period_and_monthly_amount() {
        let user = UserId::generate();
        let body = event(
            "customer.subscription.updated",
            json!({
                "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active",
                "cancel_at_period_end": true, "metadata": {"user_id": user.to_string()},
                "items": {"data": [{"quantity": 1, "current_period_end": 1_798_358_400,
                    "price": {"id": "price_pro_year", "unit_amount": 12000, "currency": "usd",
                              "recurring": {"interval": "year"}}}]}
            }),
        );
        let parsed = StripeEvent::parse(&body).unwrap();
        assert_eq!(parsed.id, "evt_1Qx");
        let StripeEventKind::SubscriptionChanged(state) = parsed.kind else {
            panic!("{parsed:?}");
        };
        assert_eq!(state.status, SubscriptionStatus::Active);
        assert_eq!(state.price.as_deref(), Some("price_pro_year"));
        assert_eq!(state.monthly.unwrap().to_string(), "10.00 USD");
        assert_eq!(state.period_end.unwrap().as_second(), 1_798_358_400);
        assert!(state.cancel_at_period_end);
        assert_eq!(state.user, Some(user));
    }

    #[test]
    fn invoices_checkouts_and_other_events() {
        let paid = event(
            "invoice.paid",
            json!({"id": "in_1", "object": "invoice", "customer": "cus_1", "amount_paid": 1200,
                   "currency": "eur", "parent": {"subscription_details": {"subscription": "sub_1"}}}),
        );
        let StripeEventKind::InvoicePaid(invoice) = StripeEvent::parse(&paid).unwrap().kind else {
            panic!()
        };
        assert_eq!(invoice.amount.to_string(), "12.00 EUR");
        assert_eq!(invoice.subscription.as_deref(), Some("sub_1"));
        let user = UserId::generate();
        let checkout = event(
            "checkout.session.completed",
            json!({"id": "cs_1", "customer": "cus_1", "subscription": {"id": "sub_1"},
                   "client_reference_id": user.to_string(), "mode": "subscription"}),
        );
        assert_eq!(
            StripeEvent::parse(&checkout).unwrap().kind,
            StripeEventKind::CheckoutCompleted {
                session: "cs_1".into(),
                customer: Some("cus_1".into()),
                subscription: Some("sub_1".into()),
                user: Some(user),
            }
        );
        let other = event("charge.refunded", json!({"id": "ch_1"}));
        assert_eq!(
            StripeEvent::parse(&other).unwrap().kind,
            StripeEventKind::Other("charge.refunded".into())
        );
        for bad in [
            b"{".to_vec(),
            br#"{"object":"list"}"#.to_vec(),
            event("invoice.paid", json!({"id": "in_2", "customer": "cus_1"})),
            event(
                "customer.subscription.updated",
                json!({"id": "sub_1", "customer": "cus_1", "status": "weird"}),
            ),
        ] {
            assert!(
                StripeEvent::parse(&bad).is_err(),
                "{}",
                String::from_utf8_lossy(&bad)
            );
        }
    }
}

/// Why the payment provider did not do what was asked; safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The provider refused the request (bad price, unknown subscription).
    #[error("the payment provider refused: {0}")]
    Rejected(String),
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
}

/// A hosted checkout for one plan's price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    pub price: String,
    pub user: UserId,
    pub email: String,
    /// The customer already known for this user, so Stripe does not make a second one.
    pub customer: Option<String>,
    pub success_url: String,
    pub cancel_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    /// Where to send the user to pay.
    pub url: String,
}

/// The payment provider's API (Stripe in production, a recorder in tests).
#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    async fn checkout(&self, request: &CheckoutRequest) -> Result<CheckoutSession, PaymentError>;
    /// Moves the subscription's item to another price (upgrade or downgrade), prorated; the
    /// webhook's `customer.subscription.updated` then changes the plan.
    async fn change_price(
        &self,
        subscription: &str,
        item: &str,
        price: &str,
    ) -> Result<(), PaymentError>;
    /// Ends the subscription when its period ends (`true`) or keeps it renewing (`false`).
    async fn cancel_at_period_end(
        &self,
        subscription: &str,
        cancel: bool,
    ) -> Result<(), PaymentError>;
}
