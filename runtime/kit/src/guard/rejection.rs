use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Why the guard refused a request. Bodies use auth's `{message, code}` error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GuardRejection {
    /// No cookie, or auth said `null` (signed out, expired, tampered), or an unknown device token.
    #[error("not signed in")]
    Unauthenticated,
    /// Signed in, but without an allowed role.
    #[error("missing an allowed role")]
    Forbidden,
    /// A cookie-carrying state change without an `Origin`/`Referer` (or with `Origin: null`).
    #[error("missing or null Origin")]
    MissingOrigin,
    /// A cookie-carrying state change from an origin not in `TRUSTED_ORIGINS`.
    #[error("untrusted Origin")]
    UntrustedOrigin,
    /// Auth was unreachable or answered garbage: fail closed.
    #[error("auth service unavailable")]
    AuthUnavailable,
    /// The service's own database (provisioning, device sessions) failed, or auth refused the
    /// provisioning call. The user is fine; the service is not.
    #[error("service could not complete sign-in bookkeeping")]
    ServiceUnavailable,
    /// An extractor needing auth was used in a service built with flavor `none`.
    #[error("this service has no authentication configured")]
    NotConfigured,
}

impl GuardRejection {
    pub fn status(self) -> StatusCode {
        match self {
            GuardRejection::Unauthenticated => StatusCode::UNAUTHORIZED,
            GuardRejection::Forbidden
            | GuardRejection::MissingOrigin
            | GuardRejection::UntrustedOrigin => StatusCode::FORBIDDEN,
            GuardRejection::AuthUnavailable | GuardRejection::ServiceUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            GuardRejection::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            GuardRejection::Unauthenticated => "UNAUTHORIZED",
            GuardRejection::Forbidden => "FORBIDDEN",
            // Auth's codes for the same refusals, so clients handle both alike.
            GuardRejection::MissingOrigin => "MISSING_OR_NULL_ORIGIN",
            GuardRejection::UntrustedOrigin => "INVALID_ORIGIN",
            GuardRejection::AuthUnavailable => "AUTH_UNAVAILABLE",
            GuardRejection::ServiceUnavailable => stackr_contract::UNAVAILABLE_CODE,
            GuardRejection::NotConfigured => "AUTH_NOT_CONFIGURED",
        }
    }

    fn message(self) -> &'static str {
        match self {
            GuardRejection::Unauthenticated => "Unauthorized",
            GuardRejection::Forbidden => "Forbidden",
            GuardRejection::MissingOrigin => "Missing or null Origin",
            GuardRejection::UntrustedOrigin => "Invalid origin",
            GuardRejection::AuthUnavailable => "Authentication service unavailable",
            GuardRejection::ServiceUnavailable => stackr_contract::UNAVAILABLE_MESSAGE,
            GuardRejection::NotConfigured => "Authentication is not configured for this service",
        }
    }
}

impl IntoResponse for GuardRejection {
    fn into_response(self) -> Response {
        (
            self.status(),
            Json(json!({ "message": self.message(), "code": self.code() })),
        )
            .into_response()
    }
}
