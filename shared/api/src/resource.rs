//! What every resource route shares: ETags and conditional requests over versioned records,
//! cursor pagination, query-string parsing with problem answers, and plan-limit errors.

use crate::problem::{ApiError, PlanLimitInfo};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use dealpulse_domain::ids::UserId;
use dealpulse_domain::plans::{Limit, Plan, PlanLimits};
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::records::{records, DocumentRepository, Record};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The strong ETag of a stored record: kind, key and version.
pub fn etag_of<T: Record>(record: &T) -> String {
    format!("\"{}-{}-{}\"", T::KIND, record.key(), record.version())
}

/// Whether a conditional header lists `etag` (weak forms and `*` count).
pub fn etag_listed(headers: &HeaderMap, name: header::HeaderName, etag: &str) -> bool {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .map(|candidate| candidate.trim().trim_start_matches("W/"))
                .any(|candidate| candidate == "*" || candidate == etag)
        })
}

/// How often an unconditional edit (no `If-Match`) is re-applied when another write lands
/// between its read and its save. Each round one of the contending writers wins, so this many
/// simultaneous edits of one record all land; past that the caller gets a 409.
pub const CONCURRENT_WRITE_TRIES: u32 = 10;

/// Runs one read-edit-save `attempt` of a record until it lands. An attempt answers `None` when
/// its save found a newer version. Without `If-Match` that is not the caller's conflict, so the
/// edit is read and applied again (up to [`CONCURRENT_WRITE_TRIES`] attempts, then 409); with
/// `If-Match` the caller named the version it saw, so a newer one is a 412.
pub async fn edit_until_saved<T, Attempt>(
    headers: &HeaderMap,
    mut attempt: impl FnMut() -> Attempt,
) -> Result<T, ApiError>
where
    Attempt: std::future::Future<Output = Result<Option<T>, ApiError>>,
{
    let conditional = headers.contains_key(header::IF_MATCH);
    for _ in 0..CONCURRENT_WRITE_TRIES {
        match attempt().await? {
            Some(saved) => return Ok(saved),
            None if conditional => return Err(ApiError::PreconditionFailed),
            None => {}
        }
    }
    Err(ApiError::Conflict(
        "the resource was changed concurrently; read it and retry",
    ))
}

/// Refuses the write when `If-Match` is present and does not name the current version.
pub fn require_if_match(headers: &HeaderMap, etag: &str) -> Result<(), ApiError> {
    if headers.contains_key(header::IF_MATCH) && !etag_listed(headers, header::IF_MATCH, etag) {
        return Err(ApiError::PreconditionFailed);
    }
    Ok(())
}

/// A JSON answer carrying the record's ETag; `304` when `If-None-Match` already has it.
pub fn record_response<T: Record, V: Serialize>(
    headers: &HeaderMap,
    record: &T,
    status: StatusCode,
    view: V,
) -> Response {
    let etag = etag_of(record);
    let mut response =
        if status == StatusCode::OK && etag_listed(headers, header::IF_NONE_MATCH, &etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (status, Json(view)).into_response()
        };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// Loads the caller's record of type `T` named by a path id. An id that does not parse, names
/// nothing, or names someone else's record is the same 404: callers cannot probe for ids.
pub async fn owned_record<T: Record, Id: std::str::FromStr + std::fmt::Display>(
    store: &dyn DocumentRepository,
    owner: UserId,
    raw_id: &str,
) -> Result<T, ApiError> {
    let id: Id = raw_id.parse().map_err(|_| ApiError::NotFound)?;
    records::<T>(store)
        .get(owner, &id.to_string())
        .await?
        .ok_or(ApiError::NotFound)
}

/// Deletes a record the caller read, honouring `If-Match` (412 when it is stale, checked again
/// by the store so a change between read and delete is caught too).
pub async fn delete_record<T: Record>(
    store: &dyn DocumentRepository,
    record: &T,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    require_if_match(headers, &etag_of(record))?;
    let expected = headers
        .contains_key(header::IF_MATCH)
        .then_some(record.version());
    records::<T>(store)
        .delete(record.owner(), &record.key(), expected)
        .await
        .map_err(|e| match e {
            StoreError::Stale => ApiError::PreconditionFailed,
            other => other.into(),
        })
}

/// The 403 for a plan limit.
pub fn plan_limit(plan: Plan, limits: &PlanLimits, limit: Limit) -> ApiError {
    let allowed = match limit {
        Limit::Rules => limits.max_rules.to_string(),
        Limit::Watches => limits.max_watches.to_string(),
        Limit::CheckInterval => format!(
            "checks at most every {} minutes",
            limits.min_check_interval_minutes
        ),
        Limit::Channel(channel) => format!("no {channel} notifications"),
        Limit::Endpoints => limits.max_endpoints.to_string(),
        Limit::PushSubscriptions => limits.max_push_subscriptions.to_string(),
    };
    ApiError::PlanLimit(PlanLimitInfo {
        name: limit.name(),
        plan: plan.as_str().to_string(),
        allowed,
    })
}

/// Maps a store error on an insert with a quota: the quota becomes the plan's 403.
pub fn quota_error(error: StoreError, plan: Plan, limits: &PlanLimits, limit: Limit) -> ApiError {
    match error {
        StoreError::LimitReached(_) => plan_limit(plan, limits, limit),
        other => other.into(),
    }
}

/// Query-string parameters, parsed by hand so that every problem is a 422 naming the parameter
/// and unknown parameters are refused like unknown body fields.
pub struct QueryParams {
    values: HashMap<String, String>,
}

impl QueryParams {
    pub fn parse(raw: Option<&str>, known: &[&str]) -> Result<Self, ApiError> {
        let mut values = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if !known.contains(&name.as_ref()) {
                return Err(ApiError::invalid(
                    &name,
                    format!("unknown query parameter; known: {}", known.join(", ")),
                ));
            }
            if values.insert(name.to_string(), value.to_string()).is_some() {
                return Err(ApiError::invalid(&name, "given more than once"));
            }
        }
        Ok(Self { values })
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn number(&self, name: &str, min: u32, max: u32, default: u32) -> Result<u32, ApiError> {
        match self.text(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(name, format!("must be a whole number from {min} to {max}"))
                }),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.text(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid(name, "must be true or false")),
        }
    }
}

/// Where a page ends: the sort value and id of its last item, plus how the list was sorted, so
/// a cursor cannot be replayed against a different ordering. Opaque to clients.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Cursor {
    sort: String,
    value: String,
    id: String,
}

/// A list position as an opaque, URL-safe cursor (base64 of its JSON).
pub fn encode_cursor<T: Serialize>(cursor: &T) -> Result<String, ApiError> {
    let json = serde_json::to_vec(cursor).map_err(ApiError::internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
}

/// Reads back what [`encode_cursor`] gave out; anything else is a 422 on `cursor`.
pub fn decode_cursor<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| ApiError::invalid("cursor", "not a cursor from this list"))
}

/// One page of a list sorted by (`value`, `id`).
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Sorts `items` by their (value, id) key, ascending or descending, and returns the page after
/// `cursor`. Items inserted or deleted between requests never make a page repeat or skip others.
pub fn paginate<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> (String, String),
    sort_name: &str,
    descending: bool,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page<T>, ApiError> {
    items.sort_by_key(|item| key(item));
    if descending {
        items.reverse();
    }
    let after = match cursor {
        None => None,
        Some(text) => {
            let cursor: Cursor = decode_cursor(text)?;
            if cursor.sort != sort_name {
                return Err(ApiError::invalid(
                    "cursor",
                    "the cursor belongs to a different sort order",
                ));
            }
            Some((cursor.value, cursor.id))
        }
    };
    let start = match &after {
        None => 0,
        Some(last) => items
            .iter()
            .position(|item| {
                let current = key(item);
                if descending {
                    current < *last
                } else {
                    current > *last
                }
            })
            .unwrap_or(items.len()),
    };
    let mut page: Vec<T> = items.into_iter().skip(start).collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next_cursor = match page.last() {
        Some(last) if more => {
            let (value, id) = key(last);
            let cursor = Cursor {
                sort: sort_name.to_string(),
                value,
                id,
            };
            Some(encode_cursor(&cursor)?)
        }
        _ => None,
    };
    Ok(Page {
        items: page,
        next_cursor,
    })
}

/// Largest response body the conditional-GET layer buffers to compute an ETag.
const ETAG_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Gives every successful JSON GET an ETag — the record's own strong one, or a weak one over the
/// body (lists, summaries) — and answers `If-None-Match` with 304, so any GET can be revalidated.
pub async fn conditional_get(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.method() != axum::http::Method::GET {
        return next.run(request).await;
    }
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json && !parts.headers.contains_key(header::ETAG) {
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, ETAG_BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(error) => return ApiError::internal(format!("response body: {error}")).into_response(),
    };
    if !parts.headers.contains_key(header::ETAG) {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&bytes);
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        if let Ok(value) = HeaderValue::from_str(&format!("W/\"{hex}\"")) {
            parts.headers.insert(header::ETAG, value);
        }
    }
    parts.headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    let etag = parts
        .headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start_matches("W/").to_string())
        .unwrap_or_default();
    let mut conditional = HeaderMap::new();
    if let Some(value) = if_none_match {
        conditional.insert(header::IF_NONE_MATCH, value);
    }
    if etag_listed(&conditional, header::IF_NONE_MATCH, &etag) {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        for name in [header::ETAG, header::CACHE_CONTROL] {
            if let Some(value) = parts.headers.get(&name) {
                not_modified.headers_mut().insert(name, value.clone());
            }
        }
        return not_modified;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(item: &(u32, &str)) -> (String, String) {
        (format!("{:05}", item.0), item.1.to_string())
    }

    #[test]
    fn pages_follow_each_other_without_gaps_or_repeats() {
        let items = vec![(3, "c"), (1, "a"), (2, "b"), (2, "bb"), (5, "e")];
        let first = paginate(items.clone(), key, "n", false, None, 2).unwrap();
        assert_eq!(first.items, vec![(1, "a"), (2, "b")]);
        let cursor = first.next_cursor.unwrap();
        // An item before the cursor disappears and one appears: the next page is unaffected.
        let mut changed = items.clone();
        changed.retain(|i| i.1 != "a");
        changed.push((0, "z"));
        let second = paginate(changed, key, "n", false, Some(&cursor), 2).unwrap();
        assert_eq!(second.items, vec![(2, "bb"), (3, "c")]);
        let third = paginate(
            items.clone(),
            key,
            "n",
            false,
            second.next_cursor.as_deref(),
            2,
        )
        .unwrap();
        assert_eq!(third.items, vec![(5, "e")]);
        assert!(third.next_cursor.is_none());
        let descending = paginate(items.clone(), key, "-n", true, None, 3).unwrap();
        assert_eq!(descending.items, vec![(5, "e"), (3, "c"), (2, "bb")]);
        let rest = paginate(items, key, "-n", true, descending.next_cursor.as_deref(), 3).unwrap();
        assert_eq!(rest.items, vec![(2, "b"), (1, "a")]);
    }

    #[test]
    fn foreign_or_garbled_cursors_are_refused() {
        let first = paginate(vec![(1, "a"), (2, "b")], key, "n", false, None, 1).unwrap();
        let cursor = first.next_cursor.unwrap();
        assert!(paginate(vec![(1, "a")], key, "-n", true, Some(&cursor), 1).is_err());
        assert!(paginate(vec![(1, "a")], key, "n", false, Some("%%%"), 1).is_err());
    }

    #[test]
    fn query_params_refuse_unknown_and_repeated_names() {
        assert!(QueryParams::parse(Some("limit=5&x=1"), &["limit"]).is_err());
        assert!(QueryParams::parse(Some("limit=5&limit=6"), &["limit"]).is_err());
        let params =
            QueryParams::parse(Some("limit=5&enabled=true"), &["limit", "enabled"]).unwrap();
        assert_eq!(params.number("limit", 1, 100, 20).unwrap(), 5);
        assert_eq!(params.boolean("enabled").unwrap(), Some(true));
        assert!(params.number("limit", 6, 100, 20).is_err());
    }
}
