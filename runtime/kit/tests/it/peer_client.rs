//! The peer client against real HTTP servers: the incoming cookie reaches the other service
//! unchanged, and every way a call can fail ends in a clear error and a fitting status.

use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use stackr_kit::peer::{ForwardedCookie, PeerClient, PeerError, PeerUrls};

use crate::kit_support::peer_server::{peer, serve};
use crate::kit_support::OUTAGE_QUIET;

fn client(url: &str, timeout: Duration) -> PeerClient {
    PeerClient::with_timeout(PeerUrls::parse(&format!("billing={url}")).unwrap(), timeout)
}

const COOKIE: &str = "better-auth.session_token=abc.def; theme=dark";

#[tokio::test]
async fn forwards_the_incoming_cookie_unchanged() {
    let peers = client(&peer().await, Duration::from_secs(10));
    let cookie = ForwardedCookie::new(Some(HeaderValue::from_static(COOKIE)));
    let answer: Value = peers.get("billing", "/me", &cookie).await.unwrap();
    assert_eq!(answer, json!({ "cookie": COOKIE }));
    let answer: Value = peers
        .get("billing", "me", &ForwardedCookie::default())
        .await
        .unwrap();
    assert_eq!(answer, json!({ "cookie": null }), "no cookie in, none out");
}

/// A service that authenticates no one (`authMiddleware: none`) has no use for the user's
/// session, so it is not given it.
#[tokio::test]
async fn a_service_that_authenticates_no_one_gets_no_cookie() {
    let (billing, catalog) = (peer().await, peer().await);
    let urls = PeerUrls::parse(&format!("billing={billing},catalog={catalog}"))
        .unwrap()
        .with_anonymous("catalog")
        .unwrap();
    let peers = PeerClient::new(urls);
    let cookie = ForwardedCookie::new(Some(HeaderValue::from_static(COOKIE)));
    let answer: Value = peers.get("catalog", "/me", &cookie).await.unwrap();
    assert_eq!(answer, json!({ "cookie": null }));
    let answer: Value = peers.get("billing", "/me", &cookie).await.unwrap();
    assert_eq!(answer, json!({ "cookie": COOKIE }));
}

/// A handler that puts its client's input in a path (`/invoices/{id}`) calls the route it
/// meant: an input with a dot segment (written in any way the URL standard reads as one, or
/// with a backslash, which it reads as `/`, or with a tab or line break, which it drops) would
/// climb to another route of the service as the same user. Such a path is refused as the
/// client's doing, and the peer is never called.
#[tokio::test]
async fn a_path_with_a_dot_segment_is_refused_before_any_call() {
    let peers = client(&peer().await, Duration::from_secs(10));
    let cookie = ForwardedCookie::new(Some(HeaderValue::from_static(COOKIE)));
    for path in [
        "/invoices/../me",
        "invoices/%2e%2E/me",
        "/invoices/.%2e/me",
        "/invoices/%2E./me",
        "/invoices/..",
        "/invoices/./me",
        "/invoices/%2e/me",
        "/invoices/..\\me",
        "/invoices\\..\\me",
        "/invoices/.\t./me",
        "/invoices/.\n./me",
        "/invoices/.\r./me",
        "../me",
        "/invoices/.. ",
        "/invoices/..\u{1}",
    ] {
        let error = peers
            .get::<Value>("billing", path, &cookie)
            .await
            .unwrap_err();
        assert!(
            matches!(error, PeerError::InvalidPath { .. }),
            "{path:?}: {error}"
        );
        let logged = error.to_string();
        assert!(!logged.contains(['\n', '\r', '\t']), "{logged}");
        assert_eq!(
            error.into_response().status(),
            StatusCode::BAD_REQUEST,
            "{path:?}"
        );
    }
    for path in ["/me?next=../x", "/me#..", "/me/...", "/me/.x/..y"] {
        let answer = peers.get::<Value>("billing", path, &cookie).await;
        let passed = match answer {
            Ok(_) => true,
            Err(PeerError::Refused { status, .. }) => status == StatusCode::NOT_FOUND,
            Err(_) => false,
        };
        assert!(passed, "{path:?} was not sent");
    }
}

#[tokio::test]
async fn keeps_the_peers_refusal_and_names_it() {
    let peers = client(&peer().await, Duration::from_secs(10));
    let error = peers
        .get::<Value>("billing", "/private", &ForwardedCookie::default())
        .await
        .unwrap_err();
    assert!(matches!(error, PeerError::Refused { .. }), "{error:?}");
    assert!(
        error.to_string().contains("`billing` answered 403"),
        "{error}"
    );
    assert_eq!(error.into_response().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn gives_up_after_its_timeout() {
    let peers = client(&peer().await, Duration::from_millis(300));
    let started = Instant::now();
    let error = peers
        .get::<Value>("billing", "/slow", &ForwardedCookie::default())
        .await
        .unwrap_err();
    assert!(matches!(error, PeerError::Timeout { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout held"
    );
    assert!(error.to_string().contains("did not answer"), "{error}");
    assert_eq!(error.into_response().status(), StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn an_unknown_service_a_dead_peer_and_garbage_are_told_apart() {
    let peers = client(&peer().await, Duration::from_secs(10));
    let error = peers
        .get::<Value>("shipping", "/me", &ForwardedCookie::default())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "no service \"shipping\" in SERVICE_URLS (known: billing)"
    );
    assert_eq!(error.into_response().status(), StatusCode::NOT_FOUND);

    let error = peers
        .get::<Value>("billing", "/garbage", &ForwardedCookie::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, PeerError::InvalidAnswer { .. }),
        "{error:?}"
    );
    assert_eq!(error.into_response().status(), StatusCode::BAD_GATEWAY);

    let closed = closed_port_url();
    let error = client(&closed, Duration::from_secs(10))
        .get::<Value>("billing", "/me", &ForwardedCookie::default())
        .await
        .unwrap_err();
    assert!(matches!(error, PeerError::Unreachable { .. }), "{error:?}");
    assert!(
        error.to_string().contains("cannot reach `billing`"),
        "{error}"
    );
    assert_eq!(error.into_response().status(), StatusCode::BAD_GATEWAY);
}

/// Where the child below finds the peer it calls.
const PEER_ENV: &str = "STACKR_TEST_PEER_URL";

/// Run only by the test below, in a process of its own whose environment names a proxy.
#[tokio::test]
#[ignore = "the child of a_proxy_in_the_environment_never_sees_a_call_between_services"]
async fn call_a_peer_with_a_proxy_in_the_environment() {
    let peers = client(&std::env::var(PEER_ENV).unwrap(), Duration::from_secs(10));
    let cookie = ForwardedCookie::new(Some(HeaderValue::from_static(COOKIE)));
    let answer: Value = peers.get("billing", "/me", &cookie).await.unwrap();
    assert_eq!(answer, json!({ "cookie": COOKIE }));
}

/// A process whose environment names an outbound proxy (a developer's shell behind a company
/// proxy passes `HTTP_PROXY` on to the dev stack) still calls another service directly: through
/// the proxy, the user's session cookie would leave the machine in clear.
#[test]
fn a_proxy_in_the_environment_never_sees_a_call_between_services() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let peer = runtime.block_on(peer());
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args(["--ignored", "--exact", "--nocapture"])
        .arg("peer_client::call_a_peer_with_a_proxy_in_the_environment")
        .env(PEER_ENV, &peer);
    for var in ["NO_PROXY", "no_proxy"] {
        child.env_remove(var);
    }
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        child.env(var, &proxy_url);
    }
    let output = child.output().unwrap();
    let reached_the_proxy = proxy.accept().is_ok();
    assert!(
        !reached_the_proxy,
        "the call went through the proxy in the environment"
    );
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A path a handler built from what its client sent (a decoded path parameter) is quoted in the
/// error, which the log writes: a line break in it forges no line.
#[tokio::test]
async fn a_hostile_path_forges_no_log_line() {
    let hostile = "/me\n2030-01-01T00:00:00Z  INFO forged line";
    for peers in [
        client(&closed_port_url(), Duration::from_secs(10)),
        client(&peer().await, Duration::from_secs(10)),
    ] {
        let error = peers
            .get::<Value>("billing", hostile, &ForwardedCookie::default())
            .await
            .unwrap_err();
        let logged = error.to_string();
        assert!(!logged.contains('\n'), "{logged}");
    }
}

/// The service name comes from the request (a path segment, percent-decoded): written as it came,
/// a line break in it would forge lines of the service's log. The answer names no service the
/// caller did not.
#[tokio::test]
async fn a_hostile_service_name_forges_no_log_line_and_learns_no_other_service() {
    let peers = client(&peer().await, Duration::from_secs(10));
    let hostile = "x\n2030-01-01T00:00:00Z  INFO forged line";
    let error = peers
        .get::<Value>(hostile, "/me", &ForwardedCookie::default())
        .await
        .unwrap_err();
    let logged = error.to_string();
    assert!(!logged.contains('\n'), "{logged}");
    assert!(logged.contains("x\\n2030"), "{logged}");
    let response = error.into_response();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "UNKNOWN_SERVICE");
    assert!(
        !body["message"].as_str().unwrap().contains("billing"),
        "{body}"
    );
}

/// The cookie a call forwards is the credential the guard checked for this request: several
/// `cookie` headers joined as the guard joins them (the first alone named another session), and
/// a bearer-only request's session as a cookie (it forwarded none, so the peer answered 401).
#[tokio::test]
async fn a_call_forwards_the_credential_the_guard_checked() {
    use axum::extract::FromRequestParts;
    let forwarded = |request: axum::http::Request<()>| async move {
        let (mut parts, ()) = request.into_parts();
        let cookie = ForwardedCookie::from_request_parts(&mut parts, &())
            .await
            .unwrap();
        cookie.header().map(|v| v.to_str().unwrap().to_owned())
    };
    let two_headers = axum::http::Request::builder()
        .header("cookie", "theme=dark")
        .header("cookie", "better-auth.session_token=abc.def")
        .body(())
        .unwrap();
    assert_eq!(
        forwarded(two_headers).await.as_deref(),
        Some("theme=dark; better-auth.session_token=abc.def")
    );
    let bearer = axum::http::Request::builder()
        .header("authorization", "Bearer abc.def")
        .body(())
        .unwrap();
    let cookie = forwarded(bearer).await.unwrap_or_default();
    assert!(
        cookie.contains("better-auth.session_token=abc.def"),
        "{cookie}"
    );
}

/// A refusal passed on to the caller (a service name that is not the stack's, a peer's 4xx) is
/// the caller's doing, as often as it likes: not a line in the log each time. A peer that cannot
/// be reached is the stack's fault, and still logged.
#[tokio::test]
async fn refusals_passed_on_write_no_line_and_an_unreachable_peer_does() {
    let peers = client(&peer().await, Duration::from_secs(10));
    let logs = stackr_testkit::CapturedLogs::start();
    for _ in 0..10 {
        for (service, path) in [("shipping", "/me"), ("billing", "/private")] {
            let error = peers
                .get::<Value>(service, path, &ForwardedCookie::default())
                .await
                .unwrap_err();
            assert!(error.into_response().status().is_client_error());
        }
    }
    let lines = logs.lines();
    assert!(lines.is_empty(), "{lines:#?}");

    let closed = closed_port_url();
    let error = client(&closed, Duration::from_secs(10))
        .get::<Value>("billing", "/me", &ForwardedCookie::default())
        .await
        .unwrap_err();
    assert_eq!(error.into_response().status(), StatusCode::BAD_GATEWAY);
    let lines = logs.lines();
    assert!(lines.len() == 1 && lines[0].contains("WARN"), "{lines:#?}");
}

/// A peer that cannot be reached is logged when calls to it start failing and when it answers
/// again, not at every call: each of a busy route's requests would add a warning.
#[tokio::test]
async fn a_peer_down_is_logged_when_it_goes_and_when_it_is_back() {
    let closed = closed_port_url();
    let peers = client(&closed, Duration::from_secs(10));
    let logs = stackr_testkit::CapturedLogs::start();
    let said = |what: &str| logs.lines().iter().filter(|l| l.contains(what)).count();
    for _ in 0..5 {
        let error = peers
            .get::<Value>("billing", "/me", &ForwardedCookie::default())
            .await
            .unwrap_err();
        assert_eq!(error.into_response().status(), StatusCode::BAD_GATEWAY);
    }
    assert_eq!(logs.alarming().len(), 1, "{:#?}", logs.lines());
    assert_eq!(said("service `billing` failing"), 1, "{:#?}", logs.lines());

    let listener = tokio::net::TcpListener::bind(closed.trim_start_matches("http://"))
        .await
        .unwrap();
    let app = Router::new().route("/me", get(|| async { axum::Json(json!({"ok": true})) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    tokio::time::sleep(OUTAGE_QUIET).await;
    for _ in 0..2 {
        peers
            .get::<Value>("billing", "/me", &ForwardedCookie::default())
            .await
            .unwrap();
    }
    assert_eq!(
        said("service `billing` answering again"),
        1,
        "{:#?}",
        logs.lines()
    );
    assert_eq!(logs.alarming().len(), 1, "{:#?}", logs.lines());
}

/// A caller choosing requests the peer answers with its own 500 and requests it answers, by
/// turns (or a peer failing for some requests only), cannot write two lines per pair of calls:
/// the peer is failing from the first failure until it has gone [`OUTAGE_QUIET`] without one,
/// and a success in between does not log it back while it still fails.
#[tokio::test]
async fn a_peer_failing_by_turns_is_logged_once() {
    let url = serve(
        Router::new()
            .route("/me", get(|| async { Json(json!({ "ok": true })) }))
            .route(
                "/failing",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
            ),
    )
    .await;
    let peers = client(&url, Duration::from_secs(10));
    let logs = stackr_testkit::CapturedLogs::start();
    let said = |what: &str| logs.lines().iter().filter(|l| l.contains(what)).count();
    for _ in 0..5 {
        peers
            .get::<Value>("billing", "/failing", &ForwardedCookie::default())
            .await
            .unwrap_err();
        peers
            .get::<Value>("billing", "/me", &ForwardedCookie::default())
            .await
            .unwrap();
    }
    assert_eq!(said("service `billing` failing"), 1, "{:#?}", logs.lines());
    assert_eq!(
        said("service `billing` answering again"),
        0,
        "{:#?}",
        logs.lines()
    );

    tokio::time::sleep(OUTAGE_QUIET).await;
    peers
        .get::<Value>("billing", "/me", &ForwardedCookie::default())
        .await
        .unwrap();
    assert_eq!(
        said("service `billing` answering again"),
        1,
        "{:#?}",
        logs.lines()
    );
}

/// The URL of a loopback port nothing listens on: bound, then released.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// A peer answering more than anyone needs (a bug, or a service an attacker holds) cannot make
/// the caller buffer it all: a refusal's body is cut to a few kilobytes in the log, and an
/// answer past `MAX_ANSWER_BYTES` fails the call (502) rather than being read whole.
#[tokio::test]
async fn a_peers_huge_answer_is_not_read_whole() {
    let huge = stackr_kit::peer::MAX_ANSWER_BYTES * 2;
    let url = serve(
        Router::new()
            .route(
                "/failing",
                get(move || async move { (StatusCode::INTERNAL_SERVER_ERROR, "x".repeat(huge)) }),
            )
            .route(
                "/list",
                get(move || async move {
                    let items = "1,".repeat(huge / 2);
                    format!("[{items}1]")
                }),
            ),
    )
    .await;
    let peers = client(&url, Duration::from_secs(30));

    let error = peers
        .get::<Value>("billing", "/failing", &ForwardedCookie::default())
        .await
        .unwrap_err();
    assert!(matches!(error, PeerError::Refused { .. }), "{error:?}");
    let logged = error.to_string();
    assert!(logged.len() < 8 * 1024, "a {}-byte log line", logged.len());
    assert_eq!(error.into_response().status(), StatusCode::BAD_GATEWAY);

    let error = peers
        .get::<Value>("billing", "/list", &ForwardedCookie::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("more than"), "{error}");
    assert_eq!(error.into_response().status(), StatusCode::BAD_GATEWAY);
}
