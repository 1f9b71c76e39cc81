//! A handler's failure answered with a bare status while its reason goes to the log: the caller
//! learns nothing of the service's insides, the operator learns why.

use axum::http::StatusCode;

/// Maps an error to `status`, logging `what` failed and the error with every cause, quoted on one
/// line (a database error's DETAIL may quote a stored value, which must not start a log line of
/// its own): ERROR for a 5xx, WARN otherwise.
///
/// ```no_run
/// # use axum::http::StatusCode;
/// # async fn demo(db: stackr_kit::deadpool_postgres::Pool) -> Result<(), StatusCode> {
/// let client = db
///     .get()
///     .await
///     .map_err(stackr_kit::logged_failure(StatusCode::SERVICE_UNAVAILABLE, "no database connection"))?;
/// # Ok(()) }
/// ```
pub fn logged_failure<E: std::error::Error + 'static>(
    status: StatusCode,
    what: &'static str,
) -> impl FnOnce(E) -> StatusCode {
    move |err| {
        let error = stackr_tls::refusal::log_line(&err);
        if status.is_server_error() {
            tracing::error!(%error, %status, "{what}");
        } else {
            tracing::warn!(%error, %status, "{what}");
        }
        status
    }
}
