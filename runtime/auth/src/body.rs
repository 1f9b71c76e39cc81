//! Request bodies, parsed and validated with BetterAuth's statuses and messages.
//!
//! BetterAuth accepts `application/json` (and `application/x-www-form-urlencoded` on sign-in and
//! sign-up), answers 415 for other types, 400 `Invalid JSON in request body` for broken JSON and
//! 400 `VALIDATION_ERROR` with zod-style messages (`[body.email] Invalid email address`) joined by
//! `; ` for bad fields.

use axum::http::{header, HeaderMap, StatusCode};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::error_codes;
/// An email check the `stackr set-role` CLI makes too, so in the contract.
pub use stackr_contract::email::looks_like_email;

/// Caps on the free-text fields any route stores, mails or echoes, so nobody can park megabytes
/// in a profile that every service then fetches (passwords have their own limit, answered as
/// `PASSWORD_TOO_LONG`). Emails: RFC 5321's 254; URLs: what browsers reliably handle.
pub const MAX_CHARS: &[(&str, usize)] = &[
    ("name", 256),
    ("email", 254),
    ("image", 2048),
    ("callbackURL", 2048),
    ("errorCallbackURL", 2048),
    ("newUserCallbackURL", 2048),
    ("loginHint", 256),
    ("provider", 64),
    ("accountId", 256),
    ("redirectTo", 2048),
    ("banReason", 1024),
    ("issuer", 256),
    ("userId", 256),
    ("token", 256),
    ("code", 256),
];

/// The cap [`MAX_CHARS`] puts on the field `key`, if any.
pub fn max_chars(key: &str) -> Option<usize> {
    MAX_CHARS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, max)| *max)
}

/// Whether `value` fits the cap of the field `key` (a field without one always does).
pub fn fits(key: &str, value: &str) -> bool {
    max_chars(key).is_none_or(|max| value.chars().count() <= max)
}

/// The validation message for a `value` at `path` (e.g. `body.data.name`) over the cap of `key`.
pub fn too_big(path: &str, key: &str) -> String {
    too_long(path, max_chars(key).unwrap_or_default())
}

/// The validation message for a string at `path` longer than `max` characters.
pub fn too_long(path: &str, max: usize) -> String {
    format!("[{path}] Too big: expected string to have <={max} characters")
}

/// The validation message for text at `path` holding a NUL character.
pub fn holds_nul(path: &str) -> String {
    format!("[{path}] Invalid input: text cannot hold a NUL character")
}

/// The fields that are only hashed, never stored or sent as they are: they alone may hold a NUL.
const HASHED_ONLY: &[&str] = &["password", "newPassword", "currentPassword"];

/// The path of the first string under `value` (at `path`) holding a NUL character, which
/// PostgreSQL's text cannot store.
fn nul_at(path: String, value: &Value) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then_some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_at(format!("{path}.{i}"), v)),
        Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| nul_at(format!("{path}.{k}"), v)),
        _ => None,
    }
}

pub struct Body {
    map: Map<String, Value>,
    errors: Vec<String>,
}

pub(crate) fn js_type(v: Option<&Value>) -> &'static str {
    match v {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

impl Body {
    /// Parses the body. `allow_form` enables urlencoded forms (sign-in/up only).
    pub fn parse(headers: &HeaderMap, bytes: &[u8], allow_form: bool) -> ApiResult<Body> {
        let allowed = if allow_form {
            "application/x-www-form-urlencoded, application/json"
        } else {
            "application/json"
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body::from_map(Map::new()));
        }
        let Some(ct) = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        else {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                error_codes::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Type is required. Allowed types: {allowed}"),
            ));
        };
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime == "application/json" {
            let value: Value = serde_json::from_slice(bytes).map_err(|_| {
                ApiError::bad_request(error_codes::BAD_REQUEST, "Invalid JSON in request body")
            })?;
            match value {
                Value::Object(map) => Ok(Body::from_map(map)),
                Value::Null => Ok(Body::from_map(Map::new())),
                other => Err(ApiError::bad_request(
                    error_codes::BODY_MUST_BE_AN_OBJECT,
                    &format!("Body must be an object, received {}", js_type(Some(&other))),
                )),
            }
        } else if allow_form && mime == "application/x-www-form-urlencoded" {
            let map = url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect();
            Ok(Body::from_map(map))
        } else {
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                error_codes::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Type \"{mime}\" is not allowed. Allowed types: {allowed}"),
            ))
        }
    }

    pub fn from_map(map: Map<String, Value>) -> Body {
        Body {
            map,
            errors: Vec::new(),
        }
    }

    pub fn map(&self) -> &Map<String, Value> {
        &self.map
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn expected(&mut self, key: &str, what: &str) {
        let got = js_type(self.map.get(key));
        self.errors.push(format!(
            "[body.{key}] Invalid input: expected {what}, received {got}"
        ));
    }

    /// A required string (may be empty).
    pub fn string(&mut self, key: &str) -> String {
        match self.map.get(key) {
            Some(Value::String(s)) => s.clone(),
            _ => {
                self.expected(key, "string");
                String::new()
            }
        }
    }

    /// A required, non-empty string.
    pub fn non_empty(&mut self, key: &str) -> String {
        let s = self.string(key);
        if s.is_empty() && self.map.get(key).is_some_and(Value::is_string) {
            self.errors.push(format!(
                "[body.{key}] Too small: expected string to have >=1 characters"
            ));
        }
        s
    }

    /// An optional string; `null` counts as absent.
    pub fn opt_string(&mut self, key: &str) -> Option<String> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.expected(key, "string");
                None
            }
        }
    }

    /// A required JSON object (zod's `record`).
    pub fn object(&mut self, key: &str) -> Map<String, Value> {
        match self.map.get(key) {
            Some(Value::Object(m)) => m.clone(),
            _ => {
                self.expected(key, "record");
                Map::new()
            }
        }
    }

    /// An optional boolean (form bodies carry `"true"`/`"false"`).
    pub fn opt_bool(&mut self, key: &str) -> Option<bool> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s == "true" => Some(true),
            Some(Value::String(s)) if s == "false" => Some(false),
            Some(_) => {
                self.expected(key, "boolean");
                None
            }
        }
    }

    /// An optional number (JSON numbers of any size arrive as `f64`); `null` counts as absent.
    pub fn opt_number(&mut self, key: &str) -> Option<f64> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => {
                self.expected(key, "number");
                None
            }
        }
    }

    /// A required email address, normalised (see `db::users::normalize_email`).
    pub fn email(&mut self, key: &str) -> String {
        match self.map.get(key) {
            Some(Value::String(s)) if looks_like_email(s.trim()) => {
                crate::db::users::normalize_email(s)
            }
            Some(Value::String(_)) => {
                self.errors
                    .push(format!("[body.{key}] Invalid email address"));
                String::new()
            }
            _ => {
                self.expected(key, "string");
                String::new()
            }
        }
    }

    /// Fails with `VALIDATION_ERROR` if any field was wrong, any free-text field is longer than
    /// its cap (`MAX_CHARS`), or any text but a password holds a NUL character.
    pub fn check(&mut self) -> ApiResult<()> {
        let with_nul = self
            .map
            .iter()
            .filter(|(key, _)| !HASHED_ONLY.contains(&key.as_str()))
            .find_map(|(key, value)| nul_at(format!("body.{key}"), value));
        if let Some(path) = with_nul {
            self.errors.push(holds_nul(&path));
        }
        for (key, _) in MAX_CHARS {
            if let Some(Value::String(s)) = self.map.get(*key) {
                if !fits(key, s) {
                    self.errors.push(too_big(&format!("body.{key}"), key));
                }
            }
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(
                std::mem::take(&mut self.errors).join("; "),
            ))
        }
    }
}

/// Extractor for the routes that take JSON only: the body parsed as [`Body::parse`] does, its
/// errors answered before the handler runs (BetterAuth validates the body before anything else).
pub struct JsonBody(pub Body);

/// Extractor for the routes that also take an urlencoded form (sign-in, sign-up, the form-posted
/// OAuth callback).
pub struct JsonOrFormBody(pub Body);

async fn parse_request<S: Send + Sync>(
    request: axum::extract::Request,
    state: &S,
    allow_form: bool,
) -> Result<Body, axum::response::Response> {
    use axum::extract::FromRequest;
    use axum::response::IntoResponse;
    let headers = request.headers().clone();
    let bytes = axum::body::Bytes::from_request(request, state)
        .await
        .map_err(IntoResponse::into_response)?;
    Body::parse(&headers, &bytes, allow_form).map_err(IntoResponse::into_response)
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonBody {
    type Rejection = axum::response::Response;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        parse_request(request, state, false).await.map(JsonBody)
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonOrFormBody {
    type Rejection = axum::response::Response;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        parse_request(request, state, true)
            .await
            .map(JsonOrFormBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zod_style_messages() {
        let mut b = Body::from_map(serde_json::from_str(r#"{"email":"nope"}"#).unwrap());
        b.string("name");
        b.email("email");
        let err = b.check().unwrap_err();
        assert_eq!(err.code(), Some("VALIDATION_ERROR"));
    }
}
