//! A NUL character in a request's URL (`%00`) is refused with 400 before any handler: PostgreSQL's
//! text cannot hold one, so a path segment or query parameter with it that reached a query
//! answered 5xx and logged an error, per request, at any client's will.

use crate::kit_support::{Stack, StackOptions};
use stackr_kit::Flavor;
use stackr_testkit::CapturedLogs;

#[tokio::test]
async fn a_nul_in_the_url_is_refused_before_any_handler() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    let logs = CapturedLogs::start();
    for path in ["/device-sessions/a%00b", "/device-sessions/%00"] {
        let (status, body) = stack
            .request(
                reqwest::Method::DELETE,
                path,
                &[
                    ("cookie", &alice.cookie),
                    ("origin", stack.trusted_origin()),
                ],
            )
            .await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["code"], "BAD_REQUEST", "{path}: {body}");
    }
    let (status, _) = stack.get("/health?x=%00", &[]).await;
    assert_eq!(status, 400);
    let alarming = logs.alarming();
    assert!(alarming.is_empty(), "{alarming:#?}");
}
