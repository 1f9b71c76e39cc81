//! BetterAuth-shaped error responses.
//!
//! BetterAuth answers errors with `{"message": ..., "code": ...}` (key order message, code), a few
//! with `{"message": ...}` only (rate limit, "No fields to update") and a few with an empty body
//! (admin middleware 401). Clients (BetterAuth's own JS client among them) key on `code`, so the
//! exact strings matter.

use crate::error_codes;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone)]
enum Body {
    Coded { message: String, code: String },
    MessageOnly(String),
    Empty,
}

/// An error that renders exactly like BetterAuth's `APIError`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    body: Body,
    headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: Body::Coded {
                message: message.into(),
                code: code.to_owned(),
            },
            headers: Vec::new(),
        }
    }

    pub fn message_only(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: Body::MessageOnly(message.into()),
            headers: Vec::new(),
        }
    }

    pub fn empty(status: StatusCode) -> Self {
        ApiError {
            status,
            body: Body::Empty,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn code(&self) -> Option<&str> {
        match &self.body {
            Body::Coded { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn message(&self) -> Option<&str> {
        match &self.body {
            Body::Coded { message, .. } | Body::MessageOnly(message) => Some(message),
            Body::Empty => None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            error_codes::UNAUTHORIZED,
            "Unauthorized",
        )
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            error_codes::VALIDATION_ERROR,
            message,
        )
    }

    pub fn bad_request(code: &str, message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn forbidden(code: &str, message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// An unexpected failure (database down, …). The cause is logged, never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            error_codes::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        )
    }
}

// With their causes: a database error says only "db error" by itself, PostgreSQL's own reason
// is its cause.
impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        ApiError::internal(stackr_tls::refusal::log_line(&e))
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        ApiError::internal(stackr_tls::refusal::log_line(&e))
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::internal(format!("{e:#}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Body::Coded { message, code } => {
                let mut map = serde_json::Map::new();
                map.insert("message".into(), message.into());
                map.insert("code".into(), code.into());
                (self.status, axum::Json(serde_json::Value::Object(map))).into_response()
            }
            Body::MessageOnly(message) => {
                let mut map = serde_json::Map::new();
                map.insert("message".into(), message.into());
                (self.status, axum::Json(serde_json::Value::Object(map))).into_response()
            }
            Body::Empty => self.status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
