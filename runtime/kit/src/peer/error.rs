use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Why a call to another service gave no answer to use. As a response it keeps the other
/// service's refusals (401, 403, 404, …) and turns its failures into 502/504, with the kit's
/// `{message, code}` body; the full reason goes to the log (a refusal's at debug). Text that came
/// from outside (the requested name, the URL a handler may build from its client's input, the
/// peer's body) is quoted with its line breaks escaped: written as it came, it could forge lines
/// of the log.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("no service {service:?} in SERVICE_URLS (known: {known})")]
    UnknownService { service: String, known: String },
    /// A path holding what URLs resolve away (a `.` or `..` segment, a tab or line break): sent,
    /// it would reach another route of the service than the one the handler wrote.
    #[error("refused to call `{service}` at {path:?}: a path must hold no `.` or `..` segment, tab or line break")]
    InvalidPath { service: String, path: String },
    #[error("`{service}` did not answer {url:?} within {after:?}")]
    Timeout {
        service: String,
        url: String,
        after: Duration,
    },
    #[error("cannot reach `{service}` at {url:?}: {source}")]
    Unreachable {
        service: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("`{service}` answered {status} to {url:?}: {body:?}")]
    Refused {
        service: String,
        url: String,
        status: StatusCode,
        body: String,
    },
    #[error("`{service}` answered {url:?} with a body that is not the JSON expected: {source}")]
    InvalidAnswer {
        service: String,
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{service}` answered {url:?} with more than {limit} bytes")]
    TooLarge {
        service: String,
        url: String,
        limit: usize,
    },
}

impl PeerError {
    pub fn status(&self) -> StatusCode {
        match self {
            PeerError::UnknownService { .. } => StatusCode::NOT_FOUND,
            PeerError::InvalidPath { .. } => StatusCode::BAD_REQUEST,
            PeerError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            PeerError::Refused { status, .. } if status.is_client_error() => *status,
            PeerError::Unreachable { .. }
            | PeerError::Refused { .. }
            | PeerError::InvalidAnswer { .. }
            | PeerError::TooLarge { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// Whether the service is down rather than answering: not reached, not in time, or its own
    /// server error.
    pub fn is_outage(&self) -> bool {
        match self {
            PeerError::Timeout { .. } | PeerError::Unreachable { .. } => true,
            PeerError::Refused { status, .. } => status.is_server_error(),
            _ => false,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            PeerError::UnknownService { .. } => "UNKNOWN_SERVICE",
            PeerError::InvalidPath { .. } => "INVALID_PEER_PATH",
            PeerError::Timeout { .. } => "PEER_TIMEOUT",
            PeerError::Refused { status, .. } if status.is_client_error() => "PEER_REFUSED",
            _ => "PEER_UNAVAILABLE",
        }
    }
}

impl IntoResponse for PeerError {
    fn into_response(self) -> Response {
        // A refusal passed on as the caller's (4xx: a name that is no service of the stack's, the
        // peer's own refusal) is the caller's doing, as often as it likes: debug only. A failure
        // answered 502/504 is the stack's, for the operator to see: a service down once when
        // calls to it start failing and once when it answers again (`PeerClient`), an answer
        // not as expected each time.
        if self.status().is_client_error() {
            tracing::debug!(error = %self, "call to another service refused");
        } else if self.is_outage() {
            tracing::debug!(error = %self, "call to another service failed");
        } else {
            tracing::warn!(error = %self, "call to another service failed");
        }
        let message = match &self {
            // The services there are stay in the log.
            PeerError::UnknownService { service, .. } => format!("no service {service:?}"),
            PeerError::InvalidPath { service, .. } => {
                format!("refused to call service `{service}` at a path with a dot segment")
            }
            PeerError::Refused {
                service, status, ..
            } => {
                format!("service `{service}` answered {status}")
            }
            PeerError::Timeout { service, .. }
            | PeerError::Unreachable { service, .. }
            | PeerError::InvalidAnswer { service, .. }
            | PeerError::TooLarge { service, .. } => {
                format!("service `{service}` is unavailable")
            }
        };
        (
            self.status(),
            Json(json!({ "message": message, "code": self.code() })),
        )
            .into_response()
    }
}
