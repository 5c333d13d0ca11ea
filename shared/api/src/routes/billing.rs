//! `/api/v1/billing/stripe/webhook`: Stripe tells us about checkouts, subscriptions and
//! invoices. The signature is verified before anything is read; each event is processed once
//! (by its id) and its effects are themselves idempotent, so a redelivery, a replay within the
//! tolerance or two deliveries at once change nothing twice. Effects: the user's plan follows
//! their subscription (and is audited), the billing account keeps its state, paid invoices go
//! into the revenue ledger and the month's totals, and the MRR rollup keeps each live
//! subscription's monthly amount — so the admin figures are read, never computed by scanning.

use crate::problem::{ApiError, Problem};
use crate::state::Core;
use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use dealpulse_domain::billing::{
    verify, CheckoutRequest, CheckoutSession, PaymentError, PaymentProvider, StripeEvent,
    StripeEventKind, SubscriptionState, SubscriptionStatus,
};
use dealpulse_domain::ids::UserId;
use dealpulse_domain::money::Money;
use dealpulse_domain::plans::Plan;
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::records::{records, DocumentRepository};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// Stripe settings: the endpoint's signing secret and which Stripe price is which plan.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    pub webhook_secret: String,
    pub prices: BTreeMap<String, Plan>,
    pub tolerance: SignedDuration,
}

impl StripeSettings {
    /// The Stripe price that sells `plan` (422 when none is configured).
    fn price_of(&self, plan: Plan) -> Result<String, ApiError> {
        self.prices
            .iter()
            .find(|(_, priced)| **priced == plan)
            .map(|(price, _)| price.clone())
            .ok_or_else(|| ApiError::invalid("plan", "this plan cannot be bought here"))
    }

    /// Reads `price_…=pro,price_…=business`.
    pub fn parse_prices(text: &str) -> Result<BTreeMap<String, Plan>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (price, plan) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("{pair:?} is not price=plan"))?;
                let plan = Plan::parse(plan.trim())
                    .ok_or_else(|| format!("{plan:?} is not a plan (free, pro, business)"))?;
                Ok((price.trim().to_string(), plan))
            })
            .collect()
    }
}

#[derive(Clone)]
pub struct BillingState {
    pub core: Core,
    /// `None` when no Stripe account is configured: the webhook answers 501.
    pub stripe: Option<Arc<StripeSettings>>,
    /// Stripe's API for checkouts and cancellations; `None`: those answer 501.
    pub payments: Option<Arc<dyn PaymentProvider>>,
}

impl FromRef<BillingState> for Core {
    fn from_ref(state: &BillingState) -> Self {
        state.core.clone()
    }
}

pub fn router(state: BillingState) -> Router {
    Router::new()
        .route("/api/v1/billing/stripe/webhook", post(stripe_webhook))
        .route("/api/v1/billing/me", axum::routing::get(my_billing))
        .route("/api/v1/billing/checkout", post(start_checkout))
        .route("/api/v1/billing/cancel", post(cancel_subscription))
        .route("/api/v1/billing/plan", post(change_plan))
        .with_state(state)
}

/// An event handled already (its id is the key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessedEvent {
    pub owner: UserId,
    pub key: String,
    pub kind: String,
    pub processed_at: Timestamp,
    pub version: u64,
}
dealpulse_domain::keyed_record!(ProcessedEvent, "stripe_event");

/// Which user a Stripe customer is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StripeCustomer {
    pub owner: UserId,
    /// `cus_…`.
    pub key: String,
    pub user: UserId,
    pub version: u64,
}
dealpulse_domain::keyed_record!(StripeCustomer, "stripe_customer");

/// A user's subscription as the last event showed it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BillingAccount {
    pub owner: UserId,
    pub key: String,
    pub customer: Option<String>,
    pub subscription: Option<SubscriptionState>,
    pub plan: Plan,
    /// `created` of the last subscription event applied: older ones arriving late are ignored.
    pub last_event_at: Option<Timestamp>,
    pub payment_failed_at: Option<Timestamp>,
    pub version: u64,
}
dealpulse_domain::keyed_record!(BillingAccount, "billing_account");

impl BillingAccount {
    pub const KEY: &'static str = "current";

    fn fresh(user: UserId) -> Self {
        Self {
            owner: user,
            key: Self::KEY.into(),
            customer: None,
            subscription: None,
            plan: Plan::Free,
            last_event_at: None,
            payment_failed_at: None,
            version: 0,
        }
    }
}

/// One paid invoice (the key is its id, so it is counted once).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevenueEntry {
    pub owner: UserId,
    pub key: String,
    pub user: Option<UserId>,
    pub amount: Money,
    pub paid_at: Timestamp,
    pub version: u64,
}
dealpulse_domain::keyed_record!(RevenueEntry, "revenue_entry");

/// Money received in one month, per currency (minor units), and how many invoices.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonthRevenue {
    pub owner: UserId,
    /// `YYYY-MM`.
    pub key: String,
    pub totals: BTreeMap<String, i64>,
    pub invoices: u32,
    pub version: u64,
}
dealpulse_domain::keyed_record!(MonthRevenue, "revenue_month");

/// A live subscription's part of the MRR.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LiveSubscription {
    pub monthly: Money,
    pub plan: Plan,
}

/// Every live subscription: MRR is the sum of their monthly amounts per currency.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MrrRollup {
    pub owner: UserId,
    pub key: String,
    pub subscriptions: BTreeMap<String, LiveSubscription>,
    pub version: u64,
}
dealpulse_domain::keyed_record!(MrrRollup, "mrr");

impl MrrRollup {
    pub const KEY: &'static str = "current";

    /// Monthly recurring revenue per currency code, in minor units.
    pub fn totals(&self) -> BTreeMap<String, i64> {
        let mut totals = BTreeMap::new();
        for live in self.subscriptions.values() {
            *totals
                .entry(live.monthly.currency().code().to_string())
                .or_insert(0) += live.monthly.minor();
        }
        totals
    }

    /// Live subscriptions per plan.
    pub fn by_plan(&self) -> BTreeMap<&'static str, u32> {
        let mut plans = BTreeMap::new();
        for live in self.subscriptions.values() {
            *plans.entry(live.plan.as_str()).or_insert(0) += 1;
        }
        plans
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAnswer {
    pub received: bool,
    /// The event was processed before (a redelivery).
    pub duplicate: bool,
}

/// Stripe's webhook. 400 for a missing, forged, tampered or stale signature and for a body
/// that is not an event; 409 for an event about a customer not known yet (Stripe retries it,
/// by when the checkout that names the user has arrived).
#[utoipa::path(post, path = "/api/v1/billing/stripe/webhook", tag = "billing",
    request_body(content = String, content_type = "application/json"),
    responses(
        (status = 200, body = WebhookAnswer),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn stripe_webhook(
    State(state): State<BillingState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAnswer>, ApiError> {
    let core = &state.core;
    let stripe = state
        .stripe
        .as_ref()
        .ok_or(ApiError::NotImplemented("billing is not configured"))?;
    let header = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    verify(
        &body,
        header,
        &stripe.webhook_secret,
        core.clock.now(),
        stripe.tolerance,
    )
    .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let event = StripeEvent::parse(&body).map_err(|error| ApiError::BadRequest(error.0))?;
    let processed = records::<ProcessedEvent>(core.store.as_ref());
    if processed.get(UserId::system(), &event.id).await?.is_some() {
        return Ok(Json(WebhookAnswer {
            received: true,
            duplicate: true,
        }));
    }
    apply(core, stripe, &event).await?;
    // Marked only once applied: a failure half-way is retried by Stripe, and every effect
    // above is idempotent.
    let marked = processed
        .insert(
            &ProcessedEvent {
                owner: UserId::system(),
                key: event.id.clone(),
                kind: kind_name(&event.kind).to_string(),
                processed_at: core.clock.now(),
                version: 0,
            },
            None,
        )
        .await;
    match marked {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(Json(WebhookAnswer {
            received: true,
            duplicate: false,
        })),
        Err(other) => Err(other.into()),
    }
}

fn kind_name(kind: &StripeEventKind) -> &str {
    match kind {
        StripeEventKind::CheckoutCompleted { .. } => "checkout.session.completed",
        StripeEventKind::SubscriptionChanged(_) => "customer.subscription.updated",
        StripeEventKind::SubscriptionDeleted(_) => "customer.subscription.deleted",
        StripeEventKind::InvoicePaid(_) => "invoice.paid",
        StripeEventKind::InvoicePaymentFailed(_) => "invoice.payment_failed",
        StripeEventKind::Other(name) => name,
    }
}

/// The user behind a customer: named by the event, or remembered from the checkout.
async fn user_of(
    core: &Core,
    named: Option<UserId>,
    customer: Option<&str>,
) -> Result<Option<UserId>, ApiError> {
    let customers = records::<StripeCustomer>(core.store.as_ref());
    if let Some(user) = named {
        if core.store.user_by_id(user).await?.is_none() {
            return Ok(None);
        }
        if let Some(customer) = customer {
            let remembered = customers
                .insert(
                    &StripeCustomer {
                        owner: UserId::system(),
                        key: customer.to_string(),
                        user,
                        version: 0,
                    },
                    None,
                )
                .await;
            match remembered {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(other) => return Err(other.into()),
            }
        }
        return Ok(Some(user));
    }
    match customer {
        Some(customer) => Ok(customers
            .get(UserId::system(), customer)
            .await?
            .map(|known| known.user)),
        None => Ok(None),
    }
}

fn unknown_customer() -> ApiError {
    ApiError::Conflict("the customer is not known yet; Stripe retries the event")
}

async fn apply(core: &Core, stripe: &StripeSettings, event: &StripeEvent) -> Result<(), ApiError> {
    match &event.kind {
        StripeEventKind::CheckoutCompleted {
            customer,
            subscription,
            user,
            ..
        } => {
            let Some(user) = user_of(core, *user, customer.as_deref()).await? else {
                // A checkout DealPulse did not start (no user named): nothing to link.
                tracing::warn!(event = %event.id, "checkout without a known user");
                return Ok(());
            };
            records::<BillingAccount>(core.store.as_ref())
                .modify(
                    user,
                    BillingAccount::KEY,
                    || BillingAccount::fresh(user),
                    |account| {
                        account.customer = customer.clone().or(account.customer.take());
                        if account.subscription.is_none() {
                            tracing::info!(user = %user, subscription = ?subscription, "checkout completed");
                        }
                        true
                    },
                )
                .await?;
            Ok(())
        }
        StripeEventKind::SubscriptionChanged(subscription)
        | StripeEventKind::SubscriptionDeleted(subscription) => {
            let deleted = matches!(event.kind, StripeEventKind::SubscriptionDeleted(_));
            apply_subscription(core, stripe, event, subscription, deleted).await
        }
        StripeEventKind::InvoicePaid(invoice) => {
            let user = user_of(core, None, Some(&invoice.customer)).await?;
            let entry = RevenueEntry {
                owner: UserId::system(),
                key: invoice.id.clone(),
                user,
                amount: invoice.amount,
                paid_at: event.created,
                version: 0,
            };
            match records::<RevenueEntry>(core.store.as_ref())
                .insert(&entry, None)
                .await
            {
                Ok(_) => {
                    let month = event.created.strftime("%Y-%m").to_string();
                    let currency = invoice.amount.currency().code().to_string();
                    records::<MonthRevenue>(core.store.as_ref())
                        .modify(
                            UserId::system(),
                            &month,
                            || MonthRevenue {
                                owner: UserId::system(),
                                key: month.clone(),
                                totals: BTreeMap::new(),
                                invoices: 0,
                                version: 0,
                            },
                            |totals| {
                                *totals.totals.entry(currency.clone()).or_insert(0) +=
                                    invoice.amount.minor();
                                totals.invoices += 1;
                                true
                            },
                        )
                        .await?;
                }
                // Counted when it first arrived.
                Err(StoreError::Conflict(_)) => {}
                Err(other) => return Err(other.into()),
            }
            if let Some(user) = user {
                records::<BillingAccount>(core.store.as_ref())
                    .modify(
                        user,
                        BillingAccount::KEY,
                        || BillingAccount::fresh(user),
                        |account| account.payment_failed_at.take().is_some(),
                    )
                    .await?;
            }
            Ok(())
        }
        StripeEventKind::InvoicePaymentFailed(invoice) => {
            let Some(user) = user_of(core, None, Some(&invoice.customer)).await? else {
                return Err(unknown_customer());
            };
            records::<BillingAccount>(core.store.as_ref())
                .modify(
                    user,
                    BillingAccount::KEY,
                    || BillingAccount::fresh(user),
                    |account| {
                        account.payment_failed_at = Some(event.created);
                        true
                    },
                )
                .await?;
            crate::routes::audit(
                core,
                Some(user),
                "billing.payment_failed",
                "stripe",
                serde_json::json!({ "invoice": invoice.id, "amount": invoice.amount.to_string() }),
            )
            .await
        }
        StripeEventKind::Other(name) => {
            tracing::debug!(event = %event.id, kind = %name, "Stripe event not handled");
            Ok(())
        }
    }
}

async fn apply_subscription(
    core: &Core,
    stripe: &StripeSettings,
    event: &StripeEvent,
    subscription: &SubscriptionState,
    deleted: bool,
) -> Result<(), ApiError> {
    let Some(user_id) = user_of(core, subscription.user, Some(&subscription.customer)).await?
    else {
        return Err(unknown_customer());
    };
    let live = !deleted && subscription.status.entitles();
    let plan = match subscription
        .price
        .as_ref()
        .and_then(|p| stripe.prices.get(p))
    {
        Some(plan) if live => *plan,
        Some(_) => Plan::Free,
        None if live => {
            tracing::warn!(event = %event.id, price = ?subscription.price, "a price no plan is mapped to");
            Plan::Free
        }
        None => Plan::Free,
    };
    let mut applies = false;
    records::<BillingAccount>(core.store.as_ref())
        .modify(
            user_id,
            BillingAccount::KEY,
            || BillingAccount::fresh(user_id),
            |account| {
                // Stripe does not promise order: an older event arriving late changes nothing.
                applies = account
                    .last_event_at
                    .is_none_or(|last| last <= event.created);
                if applies {
                    let mut shown = subscription.clone();
                    if deleted {
                        shown.status = SubscriptionStatus::Canceled;
                    }
                    account.customer = Some(subscription.customer.clone());
                    account.subscription = Some(shown);
                    account.plan = plan;
                    account.last_event_at = Some(event.created);
                }
                applies
            },
        )
        .await?;
    if !applies {
        return Ok(());
    }
    records::<MrrRollup>(core.store.as_ref())
        .modify(
            UserId::system(),
            MrrRollup::KEY,
            || MrrRollup {
                owner: UserId::system(),
                key: MrrRollup::KEY.into(),
                subscriptions: BTreeMap::new(),
                version: 0,
            },
            |rollup| match subscription.monthly.filter(|_| live) {
                Some(monthly) => {
                    let entry = LiveSubscription { monthly, plan };
                    rollup.subscriptions.insert(subscription.id.clone(), entry) != Some(entry)
                }
                None => rollup.subscriptions.remove(&subscription.id).is_some(),
            },
        )
        .await?;
    let Some(mut user) = core.store.user_by_id(user_id).await? else {
        return Ok(());
    };
    if user.plan != plan {
        let from = user.plan;
        user.plan = plan;
        user.updated_at = core.clock.now();
        core.store.update_user(&user).await?;
        crate::routes::audit(
            core,
            Some(user_id),
            "billing.plan_changed",
            "stripe",
            serde_json::json!({
                "from": from.as_str(), "to": plan.as_str(),
                "subscription": subscription.id, "event": event.id,
            }),
        )
        .await?;
    }
    Ok(())
}

/// An amount of money as the API writes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Amount {
    /// Decimal text, as everywhere in the API.
    pub amount: String,
    pub currency: String,
}

impl Amount {
    fn of(money: Money) -> Self {
        Self {
            amount: money.amount_text(),
            currency: money.currency().code().to_string(),
        }
    }

    /// Per-currency totals in minor units; totals of unknown currencies are left out.
    fn all(totals: &BTreeMap<String, i64>) -> Vec<Amount> {
        totals
            .iter()
            .filter_map(|(code, minor)| {
                let currency = dealpulse_domain::money::Currency::parse(code).ok()?;
                Money::from_minor(*minor, currency).ok().map(Amount::of)
            })
            .collect()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyBilling {
    /// free, pro or business.
    pub plan: String,
    /// Stripe's subscription status (active, trialing, past_due, canceled…), if any.
    pub status: Option<String>,
    pub monthly: Option<Amount>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub period_end: Option<Timestamp>,
    /// The subscription ends at `period_end` rather than renewing.
    pub cancel_at_period_end: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub payment_failed_at: Option<Timestamp>,
}

/// The caller's plan and subscription.
#[utoipa::path(get, path = "/api/v1/billing/me", tag = "billing",
    security(("bearer" = [])),
    responses((status = 200, body = MyBilling)))]
pub async fn my_billing(
    State(core): State<Core>,
    caller: crate::auth::extract::Authenticated,
) -> Result<Json<MyBilling>, ApiError> {
    let account = records::<BillingAccount>(core.store.as_ref())
        .get(caller.user.id, BillingAccount::KEY)
        .await?;
    let subscription = account.as_ref().and_then(|a| a.subscription.as_ref());
    Ok(Json(MyBilling {
        plan: caller.user.plan.as_str().to_string(),
        status: subscription.and_then(|s| {
            serde_json::to_value(s.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
        }),
        monthly: subscription.and_then(|s| s.monthly).map(Amount::of),
        period_end: subscription.and_then(|s| s.period_end),
        cancel_at_period_end: subscription.is_some_and(|s| s.cancel_at_period_end),
        payment_failed_at: account.and_then(|a| a.payment_failed_at),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonthFigures {
    /// `YYYY-MM`.
    pub month: String,
    pub revenue: Vec<Amount>,
    pub invoices: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevenueSummary {
    /// Monthly recurring revenue of the live subscriptions, per currency.
    pub mrr: Vec<Amount>,
    /// Live subscriptions per plan.
    #[schema(value_type = Object)]
    pub subscriptions_by_plan: BTreeMap<&'static str, u32>,
    /// The last twelve months, oldest first (the chart series); the last is this month.
    pub months: Vec<MonthFigures>,
}

/// Revenue and subscriptions for administrators, read from rollups kept as Stripe's events
/// arrive: thirteen reads, however many invoices there were.
pub async fn revenue_summary(
    documents: &dyn DocumentRepository,
    now: Timestamp,
) -> Result<RevenueSummary, ApiError> {
    let rollup = records::<MrrRollup>(documents)
        .get(UserId::system(), MrrRollup::KEY)
        .await?;
    let now = now.to_zoned(jiff::tz::TimeZone::UTC);
    let mut months = Vec::with_capacity(12);
    for back in (0..12).rev() {
        let month = now
            .date()
            .first_of_month()
            .checked_sub(jiff::Span::new().months(back))
            .map_err(ApiError::internal)?
            .strftime("%Y-%m")
            .to_string();
        let figures = records::<MonthRevenue>(documents)
            .get(UserId::system(), &month)
            .await?;
        months.push(MonthFigures {
            revenue: figures
                .as_ref()
                .map(|f| Amount::all(&f.totals))
                .unwrap_or_default(),
            invoices: figures.map_or(0, |f| f.invoices),
            month,
        });
    }
    Ok(RevenueSummary {
        mrr: rollup
            .as_ref()
            .map(|r| Amount::all(&r.totals()))
            .unwrap_or_default(),
        subscriptions_by_plan: rollup.map(|r| r.by_plan()).unwrap_or_default(),
        months,
    })
}

fn payment_error(error: PaymentError) -> ApiError {
    match error {
        PaymentError::Rejected(why) => {
            tracing::warn!(%why, "Stripe refused a request");
            ApiError::Unavailable("the payment provider refused the request".into())
        }
        PaymentError::Unavailable(why) => {
            tracing::warn!(%why, "Stripe is unavailable");
            ApiError::Unavailable("the payment provider is unavailable; try again".into())
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"plan": "pro"}))]
pub struct CheckoutBody {
    /// pro or business.
    pub plan: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutAnswer {
    pub session_id: String,
    /// Send the user here to pay; the webhook changes the plan once they have.
    pub url: String,
}

/// Starts a Stripe checkout for a paid plan. 422 for an unknown or free plan or one without a
/// Stripe price; 409 when a subscription is live already (cancel it, or wait for its end).
#[utoipa::path(post, path = "/api/v1/billing/checkout", tag = "billing",
    security(("bearer" = [])),
    request_body = CheckoutBody,
    responses(
        (status = 201, body = CheckoutAnswer),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 501, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_checkout(
    State(state): State<BillingState>,
    caller: crate::auth::extract::Authenticated,
    crate::json::JsonBody(body): crate::json::JsonBody<CheckoutBody>,
) -> Result<(axum::http::StatusCode, Json<CheckoutAnswer>), ApiError> {
    let core = &state.core;
    let plan = Plan::parse(&body.plan)
        .filter(|plan| *plan != Plan::Free)
        .ok_or_else(|| ApiError::invalid("plan", "plan is pro or business"))?;
    let (Some(stripe), Some(payments)) = (&state.stripe, &state.payments) else {
        return Err(ApiError::NotImplemented("billing is not configured"));
    };
    let price = stripe.price_of(plan)?;
    let account = records::<BillingAccount>(core.store.as_ref())
        .get(caller.user.id, BillingAccount::KEY)
        .await?;
    let live = account
        .as_ref()
        .and_then(|a| a.subscription.as_ref())
        .is_some_and(|s| s.status.entitles());
    if live {
        return Err(ApiError::Conflict(
            "a subscription is live already; cancel it or wait for its period to end",
        ));
    }
    let base = &core.settings.public_url;
    let CheckoutSession { id, url } = payments
        .checkout(&CheckoutRequest {
            price,
            user: caller.user.id,
            email: caller.user.email.as_str().to_string(),
            customer: account.and_then(|a| a.customer),
            success_url: format!("{base}/billing?checkout=success"),
            cancel_url: format!("{base}/billing?checkout=cancelled"),
        })
        .await
        .map_err(payment_error)?;
    crate::routes::audit(
        core,
        Some(caller.user.id),
        "billing.checkout_started",
        "api",
        serde_json::json!({ "plan": plan.as_str(), "session": id }),
    )
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(CheckoutAnswer {
            session_id: id,
            url,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"at_period_end": true}))]
pub struct CancelBody {
    /// true: end the subscription when the paid period ends; false: keep it renewing.
    pub at_period_end: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancelAnswer {
    pub subscription: String,
    pub cancel_at_period_end: bool,
}

/// Cancels the caller's subscription at the end of its period (or takes that back). Stripe
/// confirms through the webhook; the plan stays until the period ends. 409 without a live
/// subscription.
#[utoipa::path(post, path = "/api/v1/billing/cancel", tag = "billing",
    security(("bearer" = [])),
    request_body = CancelBody,
    responses(
        (status = 202, body = CancelAnswer),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 501, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_subscription(
    State(state): State<BillingState>,
    caller: crate::auth::extract::Authenticated,
    crate::json::JsonBody(body): crate::json::JsonBody<CancelBody>,
) -> Result<(axum::http::StatusCode, Json<CancelAnswer>), ApiError> {
    let core = &state.core;
    let Some(payments) = &state.payments else {
        return Err(ApiError::NotImplemented("billing is not configured"));
    };
    let subscription = records::<BillingAccount>(core.store.as_ref())
        .get(caller.user.id, BillingAccount::KEY)
        .await?
        .and_then(|a| a.subscription)
        .filter(|s| s.status.entitles())
        .ok_or(ApiError::Conflict("there is no live subscription"))?;
    payments
        .cancel_at_period_end(&subscription.id, body.at_period_end)
        .await
        .map_err(payment_error)?;
    crate::routes::audit(
        core,
        Some(caller.user.id),
        "billing.cancel_requested",
        "api",
        serde_json::json!({ "subscription": subscription.id, "at_period_end": body.at_period_end }),
    )
    .await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(CancelAnswer {
            subscription: subscription.id,
            cancel_at_period_end: body.at_period_end,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"plan": "business"}))]
pub struct PlanChangeBody {
    /// The paid plan to move to: pro or business.
    pub plan: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"subscription": "sub_1Q", "from": "pro", "to": "business"}))]
pub struct PlanChangeAnswer {
    pub subscription: String,
    pub from: String,
    pub to: String,
}

/// Moves the caller's live subscription to another paid plan (upgrade or downgrade, prorated by
/// Stripe). The plan changes when Stripe's `customer.subscription.updated` arrives. To go back
/// to free, cancel instead. 409 without a live subscription or when it is on that plan already.
#[utoipa::path(post, path = "/api/v1/billing/plan", tag = "billing",
    security(("bearer" = [])),
    request_body = PlanChangeBody,
    responses(
        (status = 202, body = PlanChangeAnswer),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 501, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_plan(
    State(state): State<BillingState>,
    caller: crate::auth::extract::Authenticated,
    ip: Option<axum::Extension<crate::auth::extract::ClientIp>>,
    crate::json::JsonBody(body): crate::json::JsonBody<PlanChangeBody>,
) -> Result<(axum::http::StatusCode, Json<PlanChangeAnswer>), ApiError> {
    let core = &state.core;
    let plan = Plan::parse(&body.plan)
        .filter(|plan| *plan != Plan::Free)
        .ok_or_else(|| {
            ApiError::invalid(
                "plan",
                "plan is pro or business (cancel to go back to free)",
            )
        })?;
    let (Some(stripe), Some(payments)) = (&state.stripe, &state.payments) else {
        return Err(ApiError::NotImplemented("billing is not configured"));
    };
    let price = stripe.price_of(plan)?;
    let subscription = records::<BillingAccount>(core.store.as_ref())
        .get(caller.user.id, BillingAccount::KEY)
        .await?
        .and_then(|a| a.subscription)
        .filter(|s| s.status.entitles())
        .ok_or(ApiError::Conflict(
            "there is no live subscription; start a checkout",
        ))?;
    let current = subscription
        .price
        .as_ref()
        .and_then(|price| stripe.prices.get(price))
        .copied();
    if current == Some(plan) {
        return Err(ApiError::Conflict(
            "the subscription is on this plan already",
        ));
    }
    let item = subscription.item.as_deref().ok_or(ApiError::Conflict(
        "the subscription's details have not arrived from Stripe yet; try again shortly",
    ))?;
    payments
        .change_price(&subscription.id, item, &price)
        .await
        .map_err(payment_error)?;
    let from = current.map_or("unknown", |plan| plan.as_str()).to_string();
    crate::routes::audit(
        core,
        Some(caller.user.id),
        "billing.plan_change_requested",
        &crate::routes::ip_text(ip.as_deref()),
        serde_json::json!({ "subscription": subscription.id, "from": from, "to": plan.as_str() }),
    )
    .await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(PlanChangeAnswer {
            subscription: subscription.id,
            from,
            to: plan.as_str().to_string(),
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"user_id": "0193a1b2-0000-7000-8000-000000000002", "email": "buyer@example.com",
    "plan": "pro", "subscription": "sub_1Q", "status": "active", "price": "price_pro_month",
    "monthly": {"amount": "12.00", "currency": "USD"}, "period_end": "2026-12-25T00:00:00Z",
    "cancel_at_period_end": false, "payment_failed_at": null}))]
pub struct SubscriptionView {
    pub user_id: String,
    /// None when the account was deleted.
    pub email: Option<String>,
    pub plan: String,
    pub subscription: String,
    /// Stripe's status: active, trialing, past_due, canceled, …
    #[schema(value_type = String)]
    pub status: dealpulse_domain::billing::SubscriptionStatus,
    pub price: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub monthly: Option<dealpulse_domain::money::Money>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub period_end: Option<jiff::Timestamp>,
    pub cancel_at_period_end: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub payment_failed_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionList {
    pub items: Vec<SubscriptionView>,
    pub next_cursor: Option<String>,
    /// Subscriptions matching the filters.
    pub total: usize,
}

/// Every subscription Stripe told DealPulse about, filtered by `status` (Stripe's names, or
/// `live` for those that entitle: active, trialing, past_due), `plan` and `cancelling`
/// (true: set to end with the period).
#[utoipa::path(get, path = "/api/v1/admin/subscriptions", tag = "admin",
    security(("bearer" = [])),
    params(("status" = Option<String>, Query), ("plan" = Option<String>, Query),
           ("cancelling" = Option<bool>, Query),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 100), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, body = SubscriptionList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_subscriptions(
    State(state): State<crate::routes::admin::AdminState>,
    caller: crate::auth::extract::Authenticated,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<SubscriptionList>, ApiError> {
    use dealpulse_domain::billing::SubscriptionStatus;
    crate::routes::admin::require_admin(&caller)?;
    let params = crate::resource::QueryParams::parse(
        query.as_deref(),
        &["status", "plan", "cancelling", "limit", "cursor"],
    )?;
    let limit = params.number("limit", 1, 100, 25)? as usize;
    enum StatusFilter {
        Live,
        Is(SubscriptionStatus),
    }
    let status = params
        .text("status")
        .map(|text| match text {
            "live" => Ok(StatusFilter::Live),
            other => SubscriptionStatus::parse(other)
                .map(StatusFilter::Is)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "status",
                        "live or a Stripe status such as active or past_due",
                    )
                }),
        })
        .transpose()?;
    let plan = params
        .text("plan")
        .map(|text| {
            Plan::parse(text).ok_or_else(|| ApiError::invalid("plan", "free, pro or business"))
        })
        .transpose()?;
    let cancelling = params
        .text("cancelling")
        .map(|text| match text {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::invalid("cancelling", "true or false")),
        })
        .transpose()?;
    let accounts: Vec<BillingAccount> = records::<BillingAccount>(state.core.store.as_ref())
        .all()
        .await?
        .into_iter()
        .filter(|account| {
            let Some(subscription) = &account.subscription else {
                return false;
            };
            let status_ok = match &status {
                None => true,
                Some(StatusFilter::Live) => subscription.status.entitles(),
                Some(StatusFilter::Is(wanted)) => subscription.status == *wanted,
            };
            status_ok
                && plan.is_none_or(|plan| account.plan == plan)
                && cancelling.is_none_or(|c| subscription.cancel_at_period_end == c)
        })
        .collect();
    let total = accounts.len();
    let page = crate::resource::paginate(
        accounts,
        |account| (account.owner.to_string(), String::new()),
        "user_id",
        false,
        params.text("cursor"),
        limit,
    )?;
    let mut items = Vec::with_capacity(page.items.len());
    for account in page.items {
        let Some(subscription) = account.subscription else {
            continue;
        };
        let email = state
            .core
            .store
            .user_by_id(account.owner)
            .await?
            .map(|user| user.email.as_str().to_string());
        items.push(SubscriptionView {
            user_id: account.owner.to_string(),
            email,
            plan: account.plan.as_str().to_string(),
            subscription: subscription.id,
            status: subscription.status,
            price: subscription.price,
            monthly: subscription.monthly,
            period_end: subscription.period_end,
            cancel_at_period_end: subscription.cancel_at_period_end,
            payment_failed_at: account.payment_failed_at,
        });
    }
    Ok(Json(SubscriptionList {
        items,
        next_cursor: page.next_cursor,
        total,
    }))
}

/// Cancels a user's subscription at Stripe, at the end of its period (`at_period_end: true`)
/// or takes that back (`false`); the webhook confirms. The id is the user's. 409 without a live
/// subscription.
#[utoipa::path(post, path = "/api/v1/admin/subscriptions/{id}/cancel", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = AdminCancelBody,
    responses(
        (status = 202, body = CancelAnswer),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 501, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn admin_cancel_subscription(
    State(state): State<crate::routes::admin::AdminState>,
    caller: crate::auth::extract::Authenticated,
    ip: Option<axum::Extension<crate::auth::extract::ClientIp>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    crate::json::JsonBody(body): crate::json::JsonBody<AdminCancelBody>,
) -> Result<(axum::http::StatusCode, Json<CancelAnswer>), ApiError> {
    crate::routes::admin::require_admin(&caller)?;
    let user: UserId = id.parse().map_err(|_| ApiError::NotFound)?;
    let core = &state.core;
    // An unknown account is 404 whatever the body says.
    let account = records::<BillingAccount>(core.store.as_ref())
        .get(user, BillingAccount::KEY)
        .await?
        .ok_or(ApiError::NotFound)?;
    let at_period_end = body
        .at_period_end
        .ok_or_else(|| ApiError::invalid("at_period_end", "required: true or false"))?;
    let subscription = account
        .subscription
        .filter(|s| s.status.entitles())
        .ok_or(ApiError::Conflict("there is no live subscription"))?;
    let Some(payments) = &state.payments else {
        return Err(ApiError::NotImplemented("billing is not configured"));
    };
    payments
        .cancel_at_period_end(&subscription.id, at_period_end)
        .await
        .map_err(payment_error)?;
    crate::routes::audit_by(
        core,
        Some(user),
        Some(format!("admin:{}", caller.user.id)),
        "admin.subscription.cancel",
        &crate::routes::ip_text(ip.as_deref()),
        serde_json::json!({ "subscription": subscription.id, "at_period_end": at_period_end }),
    )
    .await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(CancelAnswer {
            subscription: subscription.id,
            cancel_at_period_end: at_period_end,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"at_period_end": true}))]
pub struct AdminCancelBody {
    /// true: end the subscription when the paid period ends; false: keep it renewing (required).
    pub at_period_end: Option<bool>,
}
