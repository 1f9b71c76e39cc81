//! CSRF: a cookie-authenticated state change at a base service must come from a trusted origin
//! (`TRUSTED_ORIGINS`), for the kit's own routes (device sessions) and, by default, for the
//! service's own routes using the guard's extractors or middleware.

use crate::kit_support;

use kit_support::{Stack, StackOptions};
use reqwest::Method;
use stackr_kit::Flavor;

const FOREIGN: &str = "https://evil.example";

fn device_session_count(stack: &Stack) -> String {
    stack.service_sql("SELECT count(*) FROM stackr_device_session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_session_creation_needs_a_trusted_origin() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    let refused: [(&[(&str, &str)], &str); 4] = [
        (
            &[("origin", FOREIGN), ("content-type", "text/plain")],
            "INVALID_ORIGIN",
        ),
        (
            &[("referer", "https://evil.example/page")],
            "INVALID_ORIGIN",
        ),
        (&[], "MISSING_OR_NULL_ORIGIN"),
        (&[("origin", "null")], "MISSING_OR_NULL_ORIGIN"),
    ];
    for (extra, code) in refused {
        let mut headers = vec![("cookie", alice.cookie.as_str())];
        headers.extend_from_slice(extra);
        let (status, body) = stack
            .request(Method::POST, "/device-sessions", &headers)
            .await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (403, Some(code)),
            "{extra:?}"
        );
    }
    assert_eq!(device_session_count(&stack), "0");
    // Refused before anything else: not even first-call provisioning happened.
    assert_eq!(stack.service_sql("SELECT count(*) FROM stackr_user"), "0");

    // The trusted origin, or a Referer on it, is fine.
    stack.create_device_session(&alice).await;
    let referer = format!("{}/settings", stack.trusted_origin());
    let (status, body) = stack
        .request(
            Method::POST,
            "/device-sessions",
            &[("cookie", &alice.cookie), ("referer", &referer)],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(device_session_count(&stack), "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_session_revocation_by_cookie_needs_a_trusted_origin_but_a_device_needs_none() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    let token = stack.create_device_session(&alice).await;
    let id = stack.service_sql("SELECT id FROM stackr_device_session");
    let path = format!("/device-sessions/{id}");
    let (status, _) = stack
        .request(
            Method::DELETE,
            &path,
            &[("cookie", &alice.cookie), ("origin", FOREIGN)],
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(stack.device_status(&token).await, 200);
    // A device sends no cookie: a foreign page cannot forge its header, so no origin is needed.
    let (status, _) = stack
        .request(Method::DELETE, &path, &[("x-device-session-token", &token)])
        .await;
    assert_eq!(status, 204);
    assert_eq!(stack.device_status(&token).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_own_state_changes_are_origin_checked_by_default() {
    let stack = Stack::start(StackOptions::new(Flavor::Standard)).await;
    let alice = stack.sign_up("alice").await;
    for path in ["/notes", "/layered/me"] {
        let (status, body) = stack
            .request(
                Method::POST,
                path,
                &[
                    ("cookie", &alice.cookie),
                    ("origin", FOREIGN),
                    ("content-type", "text/plain"),
                ],
            )
            .await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (403, Some("INVALID_ORIGIN")),
            "{path}"
        );
        let (status, body) = stack
            .request(
                Method::POST,
                path,
                &[
                    ("cookie", &alice.cookie),
                    ("origin", stack.trusted_origin()),
                ],
            )
            .await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // Reads are not state changes: no Origin needed.
    assert_eq!(stack.get("/me", &[("cookie", &alice.cookie)]).await.0, 200);
}
