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

/// The document `/openapi.json` serves: [`document_json`]'s output, committed so the functions
/// that serve it do not link the generator (1.3 MB of code in `health`'s bootstrap). A test
/// fails when it is stale; `DEALPULSE_UPDATE_OPENAPI=1 cargo test -p dealpulse-api
/// published_document` rewrites it.
pub const PUBLISHED: &str = include_str!("../openapi.json");

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    document_shared_problems(&mut doc);
    document_links(&mut doc);
    doc
}

/// The document as served at `/openapi.json`. utoipa 5.5 writes a link's fields in snake case
/// (`operation_id`); OpenAPI names them `operationId`, `operationRef` and `requestBody`, and
/// tools ignore links without them, so they are renamed here.
pub fn document_json() -> serde_json::Value {
    let mut json = serde_json::to_value(document()).unwrap_or_default();
    let responses = json
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses"))
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let links = response
            .get_mut("links")
            .and_then(serde_json::Value::as_object_mut);
        for link in links.into_iter().flat_map(|links| links.values_mut()) {
            let Some(link) = link.as_object_mut() else {
                continue;
            };
            for (from, to) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(value) = link.remove(from) {
                    link.insert(to.to_string(), value);
                }
            }
        }
    }
    json
}

/// Links each create (a POST answering 201 with a record that has an `id`) to the operations
/// on that record (`{collection}/{id}…`), so a stateful tester (schemathesis' stateful phase) or
/// a client generator can follow a new record to its reads, edits and deletion.
fn document_links(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::RefOr;
    let Some(components) = doc.components.clone() else {
        return;
    };
    let mut links: Vec<(String, String, utoipa::openapi::link::Link)> = Vec::new();
    for (collection, item) in &doc.paths.paths {
        let Some(created) = item
            .post
            .as_ref()
            .and_then(|post| post.responses.responses.get("201"))
        else {
            continue;
        };
        let RefOr::T(created) = created else { continue };
        let has_id = created
            .content
            .get("application/json")
            .and_then(|content| content.schema.as_ref())
            .is_some_and(|schema| has_property(schema, "id", &components, 0));
        if !has_id {
            continue;
        }
        let prefix = format!("{collection}/{{");
        for (path, target) in doc
            .paths
            .paths
            .iter()
            .filter(|(path, _)| path.starts_with(&prefix))
        {
            let Some(name) = path[prefix.len()..].split('}').next() else {
                continue;
            };
            for operation in [
                &target.get,
                &target.post,
                &target.put,
                &target.patch,
                &target.delete,
            ]
            .into_iter()
            .flatten()
            {
                let only_this_parameter = operation
                    .parameters
                    .iter()
                    .flatten()
                    .all(|p| p.parameter_in != ParameterIn::Path || p.name == name);
                let Some(id) = operation
                    .operation_id
                    .as_ref()
                    .filter(|_| only_this_parameter)
                else {
                    continue;
                };
                let link = LinkBuilder::new()
                    .operation_id(id.clone())
                    .parameter(name, "$response.body#/id")
                    .build();
                links.push((collection.clone(), id.clone(), link));
            }
        }
    }
    for (collection, name, link) in links {
        let created = doc
            .paths
            .paths
            .get_mut(&collection)
            .and_then(|item| item.post.as_mut())
            .and_then(|post| post.responses.responses.get_mut("201"));
        if let Some(RefOr::T(created)) = created {
            created.links.insert(name, RefOr::T(link));
        }
    }
}

/// Whether a schema (through references and `allOf`) has a top-level property `name`.
fn has_property(
    schema: &utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    name: &str,
    components: &utoipa::openapi::Components,
    depth: usize,
) -> bool {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    if depth > 8 {
        return false;
    }
    match schema {
        RefOr::Ref(reference) => reference
            .ref_location
            .rsplit('/')
            .next()
            .and_then(|component| components.schemas.get(component))
            .is_some_and(|schema| has_property(schema, name, components, depth + 1)),
        RefOr::T(Schema::Object(object)) => object.properties.contains_key(name),
        RefOr::T(Schema::AllOf(all)) => all
            .items
            .iter()
            .any(|part| has_property(part, name, components, depth + 1)),
        RefOr::T(_) => false,
    }
}

/// Adds the answers that come from shared layers rather than from a handler, so each operation
/// lists every status it can give: the bearer gate's 401, the JSON body reader's 400 (no
/// Content-Type, unreadable JSON), 413 and 422, the query reader's 422 for unknown or invalid
/// parameters, and the 404 of an unknown path id. An answer a handler documents is kept.
fn document_shared_problems(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let parameters = operation.parameters.as_deref().unwrap_or_default();
            let has = |place: ParameterIn| parameters.iter().any(|p| p.parameter_in == place);
            let (query, path) = (has(ParameterIn::Query), has(ParameterIn::Path));
            let mut statuses: Vec<(&str, &str)> = Vec::new();
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                statuses.push(("401", "No valid access token or API key."));
            }
            if operation.request_body.is_some() {
                statuses.push((
                    "400",
                    "The body is missing its Content-Type or cannot be read.",
                ));
                statuses.push(("413", "The body is larger than this route takes."));
                statuses.push(("422", "A field of the body is invalid; see errors."));
            }
            if query {
                statuses.push((
                    "422",
                    "A query parameter is unknown, repeated or invalid; see errors.",
                ));
            }
            if path {
                statuses.push(("404", "There is no such resource."));
            }
            for (status, description) in statuses {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| problem_response(description).into());
            }
        }
    }
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod published_tests {
    use super::{document_json, PUBLISHED};

    #[test]
    fn published_document_is_the_generated_one() {
        let generated = serde_json::to_string(&document_json()).expect("serialises") + "\n";
        if std::env::var_os("DEALPULSE_UPDATE_OPENAPI").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
            std::fs::write(path, &generated).expect("writes shared/api/openapi.json");
            return;
        }
        assert!(
            generated == PUBLISHED,
            "shared/api/openapi.json is not what the handlers describe; regenerate it with \
             DEALPULSE_UPDATE_OPENAPI=1 cargo test -p dealpulse-api published_document"
        );
    }
}
