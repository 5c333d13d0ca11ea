//! The OpenAPI 3.1 document, assembled from the handlers' `#[utoipa::path]` annotations.

use crate::problem::{FieldError, Problem};
use crate::routes::{
    account, admin, alerts, analytics, auth, billing, console, deals, dev, email_previews, export,
    health, ingest, newsletter, preferences, products, reports, rules, watchlist,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "DealPulse API",
        description = "Deal and price alerts. Errors are RFC 9457 problem documents.",
        license(name = "Apache-2.0")
    ),
    paths(
        health::liveness,
        health::readiness,
        auth::register,
        auth::verify_email,
        auth::resend_verification,
        auth::login,
        auth::refresh,
        auth::logout,
        auth::forgot_password,
        auth::reset_password,
        account::get_me,
        account::update_me,
        account::delete_me,
        account::change_password,
        account::list_sessions,
        account::revoke_session,
        account::create_api_key,
        account::list_api_keys,
        account::revoke_api_key,
        account::list_audit,
        rules::create_rule,
        rules::list_rules,
        rules::get_rule,
        rules::update_rule,
        rules::delete_rule,
        rules::pause_rule,
        rules::resume_rule,
        rules::test_rule,
        rules::bulk_action,
        rules::parse_query_text,
        watchlist::list_watchlist,
        watchlist::create_item,
        watchlist::get_item,
        watchlist::update_item,
        watchlist::delete_item,
        watchlist::item_history,
        watchlist::preview,
        watchlist::check_now,
        products::get_product,
        products::product_history,
        ingest::push_listings,
        ingest::create_feed,
        ingest::track_product,
        ingest::list_feeds,
        ingest::get_feed,
        ingest::update_feed,
        ingest::delete_feed,
        ingest::host_health,
        ingest::get_host_selectors,
        ingest::put_host_selectors,
        ingest::delete_host_selectors,
        ingest::list_mails,
        ingest::post_email,
        ingest::get_mail,
        ingest::get_inbound_address,
        ingest::set_inbound_senders,
        ingest::rotate_inbound_address,
        preferences::summary,
        preferences::set_channels,
        preferences::set_frequency,
        preferences::set_quiet_hours,
        preferences::list_endpoints,
        preferences::create_endpoint,
        preferences::get_endpoint,
        preferences::update_endpoint,
        preferences::delete_endpoint,
        preferences::rotate_secret,
        preferences::test_endpoint,
        preferences::start_phone,
        preferences::verify_phone,
        preferences::get_phone,
        preferences::delete_phone,
        preferences::vapid_public_key,
        preferences::subscribe_push,
        preferences::list_push,
        preferences::unsubscribe_push,
        alerts::list_alerts,
        alerts::show_unsubscribe,
        alerts::unsubscribe,
        admin::list_failed,
        admin::retry_failed,
        admin::list_dead_letters,
        admin::redrive_dead_letters,
        billing::stripe_webhook,
        billing::my_billing,
        billing::start_checkout,
        billing::cancel_subscription,
        admin::billing_summary,
        admin::system_health,
        console::stats,
        console::stats_csv,
        console::list_users,
        console::get_user,
        console::suspend_user,
        console::activate_user,
        console::search_audit,
        reports::report_deal,
        deals::list_deals,
        reports::list_reports,
        reports::get_report,
        reports::close_report,
        reports::reopen_report,
        reports::bulk_update,
        analytics::product_trend,
        analytics::category_trend,
        analytics::popular_destinations,
        analytics::popular,
        analytics::deal_frequency,
        analytics::dashboard,
        analytics::follow_link,
        analytics::behaviour,
        export::export_me,
        email_previews::email_preview,
        billing::change_plan,
        billing::list_subscriptions,
        products::admin_products,
        billing::admin_cancel_subscription,
        products::product_history_csv,
        newsletter::subscribe,
        newsletter::show_confirm,
        newsletter::confirm,
        newsletter::show_unsubscribe,
        newsletter::unsubscribe,
        newsletter::list_subscribers,
        newsletter::import_subscribers,
        dev::outbox,
        dev::sms_outbox,
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, log-in, tokens, password reset"),
        (name = "account", description = "The caller's profile, sessions and API keys"),
        (name = "rules", description = "Deal alert rules: what to look for"),
        (name = "deals", description = "The deals feed: recent listings, searched, filtered by category and sorted, with category counts"),
        (name = "watchlist", description = "Products watched by URL or listing, and their price history"),
        (name = "ingest", description = "Partner listing pushes (ingest API keys) and, for administrators, listing feeds and host health"),
        (name = "preferences", description = "Channels, frequency, quiet hours, endpoints and phone"),
        (name = "push", description = "Web push subscriptions"),
        (name = "alerts", description = "The alert log with delivery status per channel, and one-click unsubscribe links"),
        (name = "analytics", description = "Price trends, popular destinations and categories, deal frequency, the dashboard and tracked deal links, all answered from rollups"),
        (name = "newsletter", description = "The public weekly top-deals newsletter: subscribe (double opt-in), confirm, one-click unsubscribe"),
        (name = "billing", description = "Stripe webhook: plans follow subscriptions, revenue ledger"),
        (name = "admin", description = "Administrators only (every request audited): stats, accounts, audit search, revenue, newsletter subscribers and imports, failed and dead-lettered deliveries"),
        (name = "health", description = "Liveness and readiness"),
        (name = "dev", description = "Local mode only"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An access token from /api/v1/auth/login, or an API key (dp_…).",
                    ))
                    .build(),
            ),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}
