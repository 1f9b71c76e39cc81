//! A request whose URL holds a NUL character (see `stackr_contract::http_server::url_holds_nul`)
//! is refused with 400 before any handler of the service sees it.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use stackr_contract::http_server::url_holds_nul;

/// Middleware of every base service's router ([`crate::ServiceRuntime::router`]).
pub async fn refuse(req: Request, next: Next) -> Response {
    if url_holds_nul(req.uri()) {
        return crate::device::bad_request("the URL holds a NUL character (%00)");
    }
    next.run(req).await
}
