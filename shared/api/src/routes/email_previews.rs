//! `/api/v1/me/email-previews/{template}`: the e-mails DealPulse sends, rendered for the caller
//! by the very functions that send them (alert and digest e-mails and the newsletter by
//! `dealpulse_alerts::render::email`, the account e-mails by [`crate::emails`]). Alert and digest
//! previews use the caller's latest alerts and the newsletter this week's top deals when there
//! are some, clearly labelled sample deals otherwise (`sample: true`). Every link that would
//! carry a token carries an inert placeholder instead: a preview never mints a token. Served by
//! the `api-account` function.

use crate::auth::extract::Authenticated;
use crate::problem::{ApiError, Problem};
use crate::state::AccountState;
use axum::extract::{Path, State};
use axum::Json;
use dealpulse_alerts::model::AlertRecord;
use dealpulse_alerts::newsletter::{top_deals, week_of, TOP_DEALS};
use dealpulse_alerts::render::{email, EmailLinks};
use dealpulse_domain::mail::EmailMessage;
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::notify::{DealLine, Notice, NoticeKind};
use dealpulse_domain::policy::Trigger;
use dealpulse_domain::preferences::{Frequency, NotificationPreferences};
use dealpulse_domain::records::records;
use dealpulse_domain::rules::AlertRule;
use jiff::SignedDuration;
use serde::Serialize;
use utoipa::ToSchema;

/// Stands where a real mail carries a token: it verifies nothing and unsubscribes no one.
pub const PLACEHOLDER_TOKEN: &str = "preview-placeholder";
/// Most deals a digest preview shows.
const DIGEST_DEALS: usize = 10;

/// A rendered e-mail.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "template": "alert", "subject": "749.99 USD — Gaming PC RTX 4070",
    "html": "<!doctype html><html>…</html>", "text": "A deal matched what you are looking for.\n\n…",
    "sample": false
}))]
pub struct EmailPreview {
    /// `alert`, `digest`, `verification`, `password-reset` or `newsletter`.
    pub template: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// True when the deals shown are samples (the caller has no alerts, or no deals were seen
    /// this week), not real ones.
    pub sample: bool,
}

fn preview(template: &str, message: EmailMessage, sample: bool) -> EmailPreview {
    EmailPreview {
        template: template.to_string(),
        subject: message.subject,
        html: message.html.unwrap_or_default(),
        text: message.text,
        sample,
    }
}

/// Deals labelled as samples, for callers without alerts (and weeks without deals).
fn sample_deals() -> Vec<DealLine> {
    let usd = Currency::parse("USD").ok();
    let money = |minor: i64| usd.and_then(|c| Money::from_minor(minor, c).ok());
    [
        ("Sample deal: Gaming PC RTX 4070, 32 GB", 74_999, 99_999, 82),
        ("Sample deal: Espresso machine X1", 27_900, 34_900, 74),
        (
            "Sample deal: Noise-cancelling headphones",
            19_900,
            29_900,
            68,
        ),
    ]
    .into_iter()
    .filter_map(|(title, price, was, score)| {
        Some(DealLine {
            title: title.to_string(),
            url: "https://deals.example.com/sample".to_string(),
            price: money(price)?,
            was_price: money(was),
            reasons: vec!["Sample rule".to_string()],
            score: Some(score),
            history: [was, was, price + 2_000, price]
                .into_iter()
                .filter_map(money)
                .collect(),
        })
    })
    .collect()
}

fn notice(kind: NoticeKind, deals: Vec<DealLine>, at: jiff::Timestamp) -> Notice {
    Notice {
        delivery_id: PLACEHOLDER_TOKEN.to_string(),
        kind,
        deals,
        occurred_at: at,
    }
}

/// The unsubscribe and preference links of alert e-mail, with placeholder tokens, naming the
/// rules behind the deals shown as a real mail would.
async fn alert_links(
    state: &AccountState,
    caller: &Authenticated,
    alerts: &[AlertRecord],
) -> Result<EmailLinks, ApiError> {
    let base = &state.core.settings.public_url;
    let placeholder = format!("{base}/api/v1/unsubscribe?token={PLACEHOLDER_TOKEN}");
    let rules = records::<AlertRule>(state.core.store.as_ref());
    let mut names = Vec::new();
    for trigger in alerts.iter().flat_map(|alert| &alert.triggers) {
        if let Trigger::Rule(id) = trigger {
            if let Some(rule) = rules.get(caller.user.id, &id.to_string()).await? {
                let name = rule.name.as_str().to_string();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    Ok(EmailLinks {
        unsubscribe_all: placeholder.clone(),
        unsubscribe_rules: names
            .into_iter()
            .map(|name| (name, placeholder.clone()))
            .collect(),
        preferences: format!("{base}/preferences"),
    })
}

/// The caller's latest alerts, newest first.
async fn latest_alerts(
    state: &AccountState,
    caller: &Authenticated,
    count: usize,
) -> Result<Vec<AlertRecord>, ApiError> {
    let mut alerts = records::<AlertRecord>(state.core.store.as_ref())
        .list(caller.user.id)
        .await?;
    alerts.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.key.cmp(&a.key)));
    alerts.truncate(count);
    Ok(alerts)
}

/// One of the e-mails DealPulse sends, rendered for the caller: `alert`, `digest`,
/// `verification`, `password-reset` or `newsletter` (anything else is 404). Links that would
/// carry a token carry an inert placeholder.
#[utoipa::path(get, path = "/api/v1/me/email-previews/{template}", tag = "account",
    security(("bearer" = [])),
    params(("template" = String, Path, description = "alert, digest, verification, password-reset or newsletter")),
    responses(
        (status = 200, body = EmailPreview),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn email_preview(
    State(state): State<AccountState>,
    caller: Authenticated,
    Path(template): Path<String>,
) -> Result<Json<EmailPreview>, ApiError> {
    let core = &state.core;
    let base = &core.settings.public_url;
    let to = caller.user.email.clone();
    let now = core.clock.now();
    let answer = match template.as_str() {
        "alert" => {
            let latest = latest_alerts(&state, &caller, 1).await?;
            let links = alert_links(&state, &caller, &latest).await?;
            match latest.first() {
                Some(alert) => preview(
                    "alert",
                    email(
                        &notice(
                            NoticeKind::Alert {
                                urgent: alert.urgent,
                            },
                            vec![alert.deal.clone()],
                            alert.created_at,
                        ),
                        to,
                        &links,
                    ),
                    false,
                ),
                None => preview(
                    "alert",
                    email(
                        &notice(
                            NoticeKind::Alert { urgent: false },
                            sample_deals().into_iter().take(1).collect(),
                            now,
                        ),
                        to,
                        &links,
                    ),
                    true,
                ),
            }
        }
        "digest" => {
            let latest = latest_alerts(&state, &caller, DIGEST_DEALS).await?;
            let links = alert_links(&state, &caller, &latest).await?;
            let prefs = records::<NotificationPreferences>(core.store.as_ref())
                .get(caller.user.id, "current")
                .await?;
            let period = match prefs.map(|p| p.frequency) {
                Some(Frequency::Weekly) => "weekly",
                _ => "daily",
            };
            let sample = latest.is_empty();
            let mut deals: Vec<DealLine> = if sample {
                sample_deals()
            } else {
                latest.iter().map(|alert| alert.deal.clone()).collect()
            };
            // Best first, as the digest orders them: highest score, then cheapest.
            deals.sort_by(|a, b| {
                b.score
                    .unwrap_or(0)
                    .cmp(&a.score.unwrap_or(0))
                    .then(a.price.minor().cmp(&b.price.minor()))
            });
            let kind = NoticeKind::Digest {
                period: period.to_string(),
                overflow: 0,
            };
            preview(
                "digest",
                email(&notice(kind, deals, now), to, &links),
                sample,
            )
        }
        "newsletter" => {
            let since = now
                .checked_sub(SignedDuration::from_hours(7 * 24))
                .map_err(ApiError::internal)?;
            let deals = top_deals(core.store.as_ref(), since, TOP_DEALS).await?;
            let sample = deals.is_empty();
            let deals = if sample { sample_deals() } else { deals };
            let unsubscribe =
                format!("{base}/api/v1/newsletter/unsubscribe?token={PLACEHOLDER_TOKEN}");
            let links = EmailLinks {
                unsubscribe_all: unsubscribe.clone(),
                unsubscribe_rules: vec![],
                preferences: unsubscribe,
            };
            let kind = NoticeKind::Newsletter {
                week: week_of(now).0,
            };
            preview(
                "newsletter",
                email(&notice(kind, deals, now), to, &links),
                sample,
            )
        }
        "verification" => {
            let link = format!("{base}/verify-email?token={PLACEHOLDER_TOKEN}");
            let hours = core.settings.verification_ttl_secs / 3600;
            preview(
                "verification",
                crate::emails::verification(&to, &link, hours),
                false,
            )
        }
        "password-reset" => {
            let link = format!("{base}/reset-password?token={PLACEHOLDER_TOKEN}");
            let minutes = core.settings.reset_ttl_secs / 60;
            preview(
                "password-reset",
                crate::emails::password_reset(&to, &link, minutes),
                false,
            )
        }
        _ => return Err(ApiError::NotFound),
    };
    Ok(Json(answer))
}
