//! Every answer of auth's API and of a base service's API says `Cache-Control: no-store` unless
//! its handler chose a caching rule. The answers are about the caller (their identity, their
//! sessions, their data, a device token shown once), and a shared cache in front of the service
//! keys what it keeps by URL, not by cookie: one that may store an answer without a rule (a proxy
//! set to cache for some minutes) would hand one user's answer to the next caller of the same
//! URL. A handler serving something public and cacheable sets its own header.

use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::response::Response;

/// For `axum::middleware::map_response`, around a whole router.
pub async fn unless_set(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    use super::*;

    async fn rule(path: &str) -> Option<HeaderValue> {
        let app = Router::new()
            .route("/private", get(|| async { "alice" }))
            .route(
                "/public",
                get(|| async { ([(CACHE_CONTROL, "public, max-age=60")], "catalog") }),
            )
            .layer(axum::middleware::map_response(unless_set));
        let request = Request::get(path).body(Body::empty()).unwrap();
        let answer = app.oneshot(request).await.unwrap();
        answer.headers().get(CACHE_CONTROL).cloned()
    }

    #[tokio::test]
    async fn a_handlers_own_rule_is_kept_and_every_other_answer_is_not_stored() {
        assert_eq!(rule("/private").await.unwrap(), "no-store");
        assert_eq!(rule("/missing").await.unwrap(), "no-store");
        assert_eq!(rule("/public").await.unwrap(), "public, max-age=60");
    }
}
