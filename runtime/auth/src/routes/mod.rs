//! The HTTP surface: BetterAuth's routes under `/api/auth`, plus `/health`.

pub mod admin;
pub use admin::ban_expiry as admin_ban_expiry;
pub mod change_email;
pub mod change_password;
pub mod email_verification;
pub mod get_session;
pub mod ok;
pub mod password_reset;
pub mod provision;
pub mod sessions;
pub mod sign_in;
pub mod sign_out;
pub mod sign_up;
pub mod social;
pub mod two_factor;
pub mod update_session;
pub mod update_user;
pub mod user_status;

use axum::routing::{get, post};
use axum::Router;

use crate::error_codes;
use crate::state::AppState;

/// Sleeps until `floor` has passed since `started`, so that an answer takes the same time whether
/// or not the account exists (no user enumeration by timing).
pub(crate) async fn pad_to_floor(started: std::time::Instant, floor: std::time::Duration) {
    if let Some(rest) = floor.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
}

/// A `callbackURL`, when given, must be a relative path or on a trusted origin; otherwise 403, so
/// the service never redirects or links to a foreign site. Shared by every route taking one.
pub(crate) fn require_trusted_callback(
    state: &AppState,
    callback: Option<&str>,
) -> crate::error::ApiResult<()> {
    if let Some(cb) = callback {
        if !state.trusted.is_trusted_url(cb) {
            return Err(crate::error::ApiError::forbidden(
                error_codes::INVALID_CALLBACK_URL,
                "Invalid callbackURL",
            ));
        }
    }
    Ok(())
}

/// Routes relative to `/api/auth`.
fn auth_routes() -> Router<AppState> {
    Router::new()
        .route("/ok", get(ok::ok))
        .route("/sign-up/email", post(sign_up::post))
        .route("/sign-in/email", post(sign_in::post))
        .route(
            "/get-session",
            get(get_session::get).post(get_session::post),
        )
        .route("/sign-out", post(sign_out::post))
        .route("/list-sessions", get(sessions::list))
        .route("/revoke-session", post(sessions::revoke_one))
        .route("/revoke-sessions", post(sessions::revoke_all))
        .route("/revoke-other-sessions", post(sessions::revoke_others))
        .route("/change-password", post(change_password::post))
        .route("/change-email", post(change_email::post))
        .route("/update-user", post(update_user::post))
        .route("/update-session", post(update_session::post))
        .route("/send-verification-email", post(email_verification::send))
        .route("/verify-email", get(email_verification::verify))
        .route("/request-password-reset", post(password_reset::request))
        .route("/reset-password/{token}", get(password_reset::link))
        .route("/reset-password", post(password_reset::reset))
        .route("/provision", post(provision::post))
        .route("/user-status", get(user_status::get))
        .route("/two-factor/enable", post(two_factor::enable))
        .route("/two-factor/disable", post(two_factor::disable))
        .route("/two-factor/get-totp-uri", post(two_factor::get_totp_uri))
        .route("/two-factor/verify-totp", post(two_factor::verify_totp))
        .route("/two-factor/send-otp", post(two_factor::send_otp))
        .route("/two-factor/verify-otp", post(two_factor::verify_otp))
        .route(
            "/two-factor/generate-backup-codes",
            post(two_factor::generate_backup_codes),
        )
        .route(
            "/two-factor/verify-backup-code",
            post(two_factor::verify_backup_code),
        )
        .route("/sign-in/social", post(social::sign_in::post))
        .route(
            "/callback/{id}",
            get(social::callback::get).post(social::callback::post),
        )
        .route("/link-social", post(social::link::post))
        .route("/error", get(social::error_page::get))
        .route("/list-accounts", get(social::accounts::list))
        .route("/unlink-account", post(social::accounts::unlink))
        .route("/account-info", get(social::account_info::get))
        .nest("/admin", admin::routes())
}

/// The full application: routes, origin/CSRF guard, rate limits, answers not stored.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api/auth", auth_routes())
        .route("/health", get(ok::health))
        .layer(axum::middleware::from_fn(crate::nul_in_url::refuse))
        .layer(axum::middleware::map_response(
            stackr_contract::http_server::no_store::unless_set,
        ))
        // Inside the origin check, which must see the request's own cookies (see `bearer`).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::bearer::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::session_cache::invalidate_after_changes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::rate_limit::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::origin::guard,
        ))
        .with_state(state)
}
