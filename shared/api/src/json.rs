//! The JSON body extractor every route uses: requires `Content-Type: application/json`, caps the
//! body at 1 MiB (413), rejects malformed JSON and unknown fields (400) with a problem document.

use crate::problem::{ApiError, FieldError};
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A request body parsed as `T`, at most `LIMIT` bytes. DTOs are declared with
/// `#[serde(deny_unknown_fields)]`.
pub struct JsonBody<T, const LIMIT: usize = MAX_BODY_BYTES>(pub T);

/// The media type of a `Content-Type` value without its parameters, lower-cased.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The request's media type (see [`media_type`]); empty without a readable `Content-Type`.
pub fn request_media_type(headers: &axum::http::HeaderMap) -> String {
    media_type(
        headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
    )
}

fn is_json(content_type: &str) -> bool {
    let essence = media_type(content_type);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S, T, const LIMIT: usize> FromRequest<S> for JsonBody<T, LIMIT>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        if !is_json(content_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let declared_length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared_length.is_some_and(|length| length > LIMIT as u64) {
            return Err(ApiError::PayloadTooLarge { limit: LIMIT });
        }
        let bytes = axum::body::to_bytes(request.into_body(), LIMIT)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit: LIMIT })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// For `Option<Value>` fields that distinguish "absent" (None) from "null" (Some(Null)):
/// `#[serde(default, deserialize_with = "crate::json::present")]`. Plain `Option` would read
/// `null` as absent, and a PATCH could not clear a field.
pub fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// Parses a JSON document in two steps, so that any syntax error anywhere in the body is a
/// malformed request (400) and only a well-formed document of the wrong shape is a validation
/// problem (422) naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let document: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|error| ApiError::MalformedJson(error.to_string()))?;
    T::deserialize(document).map_err(json_error)
}

fn json_error(error: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        // Type and shape errors (unknown field, wrong type, missing field) are about a field.
        Category::Data => {
            let message = error.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            let field = message
                .split('`')
                .nth(1)
                .filter(|_| message.contains("field"))
                .unwrap_or("body")
                .to_string();
            ApiError::Validation(vec![FieldError { field, message }])
        }
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::MalformedJson(error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        email: String,
    }

    #[test]
    fn content_types_with_json_essence_are_accepted() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }

    #[test]
    fn unknown_fields_name_the_field() {
        let error = parse_json::<Sample>(br#"{"email":"a@b.co","admin":true}"#).unwrap_err();
        match error {
            ApiError::Validation(errors) => assert_eq!(errors[0].field, "admin"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_malformed_requests() {
        assert!(matches!(
            parse_json::<Sample>(b"{\"email\":"),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Sample>(b"{} trailing"),
            Err(ApiError::MalformedJson(_))
        ));
    }
}
