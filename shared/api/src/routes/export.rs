//! `GET /api/v1/me/export`: everything DealPulse keeps about the caller, as one JSON document or
//! as a zip of that JSON with a CSV per table (served by `api-account`). Secrets (webhook signing
//! secrets, push keys, token hashes, the password hash) are left out.

use crate::auth::extract::{Authenticated, ClientIp};
use crate::problem::{ApiError, Problem};
use crate::resource::QueryParams;
use crate::routes::{audit, ip_text};
use crate::state::AccountState;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use dealpulse_domain::ports::Store;
use serde_json::{json, Map, Value};

/// The record kinds an account owns that the export carries, with the file each becomes.
/// Internal bookkeeping (merge windows, milestones) is not the user's data and stays out.
const KINDS: [(&str, &str); 11] = [
    ("rule", "rules"),
    ("watch", "watches"),
    ("preferences", "preferences"),
    ("endpoint", "endpoints"),
    ("phone", "phone"),
    ("push", "push_subscriptions"),
    ("inbound", "inbound_address"),
    ("alert", "alerts"),
    ("digest_entry", "digest_waiting"),
    ("click", "clicks"),
    ("billing_account", "billing"),
];

/// Audit events in the export (the newest).
const AUDIT_LIMIT: u32 = 5_000;

fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("secret") || key.contains("hash") || key == "auth" || key == "p256dh"
}

/// The value with every secret field replaced by `"[withheld]"`.
fn without_secrets(value: Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(key, value)| {
                    if is_secret(&key) {
                        (key, Value::String("[withheld]".into()))
                    } else {
                        (key, without_secrets(value))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_secrets).collect()),
        other => other,
    }
}

async fn gather(
    store: &dyn Store,
    caller: &Authenticated,
    now: jiff::Timestamp,
) -> Result<Value, ApiError> {
    let user = &caller.user;
    let mut tables = Map::new();
    let profile = json!({
        "id": user.id.to_string(),
        "email": user.email.as_str(),
        "display_name": user.display_name.as_ref().map(|n| n.as_str()),
        "timezone": user.timezone.as_str(),
        "locale": user.locale.as_str(),
        "role": user.role,
        "plan": user.plan,
        "status": user.status,
        "email_verified_at": user.email_verified_at,
        "password_changed_at": user.password_changed_at,
        "created_at": user.created_at,
    });
    tables.insert("profile".into(), json!([profile]));
    let sessions: Vec<Value> = store
        .sessions_of_user(user.id)
        .await?
        .into_iter()
        .map(|s| {
            json!({"id": s.id.to_string(), "created_at": s.created_at,
                "last_refreshed_at": s.last_refreshed_at, "expires_at": s.expires_at,
                "revoked_at": s.revoked_at, "user_agent": s.user_agent})
        })
        .collect();
    tables.insert("sessions".into(), Value::Array(sessions));
    let keys: Vec<Value> = store
        .api_keys_of_user(user.id)
        .await?
        .into_iter()
        .map(|k| {
            json!({"id": k.id.to_string(), "name": k.name.as_str(), "prefix": k.prefix,
                "scopes": k.scopes, "created_at": k.created_at, "last_used_at": k.last_used_at,
                "revoked_at": k.revoked_at})
        })
        .collect();
    tables.insert("api_keys".into(), Value::Array(keys));
    let events: Vec<Value> = store
        .audit_of_user(user.id, AUDIT_LIMIT)
        .await?
        .into_iter()
        .map(|e| {
            json!({"id": e.id.to_string(), "at": e.at, "action": e.action, "ip": e.ip,
                "actor": e.actor, "detail": e.detail})
        })
        .collect();
    tables.insert("audit".into(), Value::Array(events));
    for (kind, file) in KINDS {
        let documents = store.documents(kind, user.id).await?;
        let rows: Vec<Value> = documents
            .into_iter()
            .map(|document| {
                let mut body = without_secrets(document.body);
                if let Some(object) = body.as_object_mut() {
                    object.remove("owner");
                }
                body
            })
            .collect();
        tables.insert(file.into(), Value::Array(rows));
    }
    Ok(json!({
        "format": "dealpulse-export/1",
        "exported_at": now,
        "tables": Value::Object(tables),
    }))
}

/// One CSV per table: a column per top-level field (union over the rows, sorted), nested values
/// as JSON text.
fn table_csv(rows: &[Value]) -> String {
    let mut columns: Vec<String> = rows
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|object| object.keys().cloned())
        .collect();
    columns.sort();
    columns.dedup();
    let mut csv = columns
        .iter()
        .map(|c| csv_field(c))
        .collect::<Vec<_>>()
        .join(",");
    csv.push('\n');
    for row in rows {
        let line: Vec<String> = columns
            .iter()
            .map(|column| match row.get(column) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => csv_field(text),
                Some(other) => csv_field(&other.to_string()),
            })
            .collect();
        csv.push_str(&line.join(","));
        csv.push('\n');
    }
    csv
}

fn csv_field(text: &str) -> String {
    // A leading = + - @ would be a formula in a spreadsheet; a quote keeps it text.
    let formula = text.starts_with(['=', '+', '-', '@']);
    if formula || text.contains([',', '"', '\n', '\r']) {
        let prefix = if formula { "'" } else { "" };
        format!("\"{prefix}{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Everything kept about the caller: `format=json` (default) or `format=zip` (the JSON plus a
/// CSV per table). Audited.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "account",
    security(("bearer" = [])),
    params(("format" = Option<String>, Query, description = "json (default) or zip")),
    responses(
        (status = 200, description = "The export: JSON, or with format=zip a zip of export.json and one CSV per table",
            content((Object = "application/json"), (String = "application/zip"))),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_me(
    State(state): State<AccountState>,
    ip: Option<Extension<ClientIp>>,
    caller: Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(query.as_deref(), &["format"])?;
    let zip = match params.text("format").unwrap_or("json") {
        "json" => false,
        "zip" => true,
        _ => return Err(ApiError::invalid("format", "json or zip")),
    };
    let core = &state.core;
    let now = core.clock.now();
    let export = gather(core.store.as_ref(), &caller, now).await?;
    audit(
        core,
        Some(caller.user.id),
        "account.exported",
        &ip_text(ip.as_deref()),
        json!({ "format": if zip { "zip" } else { "json" } }),
    )
    .await?;
    let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    if !zip {
        let disposition = format!("attachment; filename=\"dealpulse-export-{stamp}.json\"");
        return Ok((
            [
                (header::CONTENT_DISPOSITION, disposition),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            Json(export),
        )
            .into_response());
    }
    let mut archive = crate::zip::ZipWriter::new(now.to_zoned(jiff::tz::TimeZone::UTC).datetime());
    let pretty = serde_json::to_vec_pretty(&export).map_err(ApiError::internal)?;
    archive
        .add("export.json", &pretty)
        .map_err(ApiError::internal)?;
    if let Some(tables) = export["tables"].as_object() {
        for (name, rows) in tables {
            let rows = rows.as_array().map(Vec::as_slice).unwrap_or_default();
            archive
                .add(&format!("{name}.csv"), table_csv(rows).as_bytes())
                .map_err(ApiError::internal)?;
        }
    }
    let bytes = archive.finish().map_err(ApiError::internal)?;
    let disposition = format!("attachment; filename=\"dealpulse-export-{stamp}.zip\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_withheld_at_any_depth() {
        let cleaned = without_secrets(json!({"name": "hook", "signing_secret": "whsec_x",
            "keys": {"p256dh": "k", "auth": "a"}, "list": [{"token_hash": "h"}]}));
        assert_eq!(
            cleaned,
            json!({"name": "hook", "signing_secret": "[withheld]",
                "keys": {"p256dh": "[withheld]", "auth": "[withheld]"},
                "list": [{"token_hash": "[withheld]"}]})
        );
    }

    #[test]
    fn tables_become_csv_with_a_column_per_field() {
        let csv = table_csv(&[
            json!({"name": "Cheap, fast", "price": 10}),
            json!({"name": "=cmd()", "tags": ["a"]}),
        ]);
        assert_eq!(
            csv,
            "name,price,tags\n\"Cheap, fast\",10,\n\"'=cmd()\",,\"[\"\"a\"\"]\"\n"
        );
    }
}
