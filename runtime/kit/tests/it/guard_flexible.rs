//! Flavor `flexible`: device sessions in the service's own database, and first-call provisioning.

use crate::kit_support;

use kit_support::{Stack, StackOptions};
use reqwest::Method;
use stackr_kit::Flavor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_session_is_accepted_until_revoked() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;

    let (status, created) = stack
        .request(
            Method::POST,
            "/device-sessions",
            &[
                ("cookie", &alice.cookie),
                ("origin", stack.trusted_origin()),
            ],
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, body) = stack
        .get("/flex/me", &[("x-device-session-token", &token)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userId"], alice.user_id.as_str());
    assert_eq!(body["device"], true);

    // Only a hash is stored.
    let stored = stack.service_sql("SELECT token_hash FROM stackr_device_session");
    assert!(!stored.contains(&token) && stored.len() == 64, "{stored}");

    // A device token is not a cookie: cookie-only routes refuse it.
    assert_eq!(
        stack
            .get("/me", &[("x-device-session-token", &token)])
            .await
            .0,
        401
    );
    // Unknown tokens are refused, and never fall back to something else.
    assert_eq!(
        stack
            .get("/flex/me", &[("x-device-session-token", "sds_bogus")])
            .await
            .0,
        401
    );
    assert_eq!(
        stack
            .get(
                "/flex/me",
                &[
                    ("x-device-session-token", "sds_bogus"),
                    ("cookie", &alice.cookie)
                ]
            )
            .await
            .0,
        401
    );
    // The cookie alone works on the flexible route.
    let (status, body) = stack.get("/flex/me", &[("cookie", &alice.cookie)]).await;
    assert_eq!(
        (status.as_u16(), body["device"].as_bool()),
        (200, Some(false))
    );

    let (status, _) = stack
        .request(
            Method::DELETE,
            &format!("/device-sessions/{id}"),
            &[
                ("cookie", &alice.cookie),
                ("origin", stack.trusted_origin()),
            ],
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        stack
            .get("/flex/me", &[("x-device-session-token", &token)])
            .await
            .0,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_cannot_revoke_anothers_device() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    let mallory = stack.sign_up("mallory").await;
    let (_, created) = stack
        .request(
            Method::POST,
            "/device-sessions",
            &[
                ("cookie", &alice.cookie),
                ("origin", stack.trusted_origin()),
            ],
        )
        .await;
    let (id, token) = (
        created["id"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    let (status, _) = stack
        .request(
            Method::DELETE,
            &format!("/device-sessions/{id}"),
            &[
                ("cookie", &mallory.cookie),
                ("origin", stack.trusted_origin()),
            ],
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        stack
            .get("/flex/me", &[("x-device-session-token", token)])
            .await
            .0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_call_provisions_own_record_and_tells_auth() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    assert_eq!(
        stack.browser.session_user(&alice).await["hasCoreAccount"],
        false
    );
    assert_eq!(stack.service_sql("SELECT count(*) FROM stackr_user"), "0");

    assert_eq!(
        stack.get("/flex/me", &[("cookie", &alice.cookie)]).await.0,
        200
    );

    assert_eq!(
        stack.service_sql(&format!(
            "SELECT provisioned_at IS NOT NULL FROM stackr_user WHERE user_id = '{}'",
            alice.user_id
        )),
        "t"
    );
    assert_eq!(
        stack.browser.session_user(&alice).await["hasCoreAccount"],
        true
    );
    // Later calls do not call auth's provision endpoint again.
    assert_eq!(
        stack.get("/flex/me", &[("cookie", &alice.cookie)]).await.0,
        200
    );
    assert_eq!(stack.proxy.count("/api/auth/provision"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_service_credential_is_503_and_leaves_no_half_record() {
    let stack =
        Stack::start(StackOptions::new(Flavor::Flexible).service_credential("not-the-credential"))
            .await;
    let alice = stack.sign_up("alice").await;
    let (status, body) = stack.get("/flex/me", &[("cookie", &alice.cookie)]).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(stack.service_sql("SELECT count(*) FROM stackr_user"), "0");
    assert_eq!(
        stack.browser.session_user(&alice).await["hasCoreAccount"],
        false
    );
}

/// A device-session id the route cannot read (not UTF-8 once decoded) is refused in the kit's
/// `{message, code}` form, as every other refusal of the service is, not in axum's plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_device_session_id_is_refused_as_json() {
    let stack = Stack::start(StackOptions::new(Flavor::Flexible)).await;
    let alice = stack.sign_up("alice").await;
    let (status, body) = stack
        .request(
            Method::DELETE,
            "/device-sessions/%FF",
            &[
                ("cookie", &alice.cookie),
                ("origin", stack.trusted_origin()),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "VALIDATION_ERROR", "{body}");
}

/// A device's requests that find its owner's status out of date at once are answered by one
/// question to auth, as a session's are: a device alone (its holder firing requests together
/// each time the status ages out) must not turn its burst into as many calls to auth.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_device_requests_costs_one_owner_status_round_trip() {
    let ttl = std::time::Duration::from_millis(500);
    let stack = std::sync::Arc::new(
        Stack::start(StackOptions::new(Flavor::Flexible).cache_ttl_ms(ttl.as_millis() as u64))
            .await,
    );
    let alice = stack.sign_up("alice").await;
    let token = stack.create_device_session(&alice).await;
    tokio::time::sleep(ttl * 2).await;
    let before = stack.proxy.count("/api/auth/user-status");
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let (stack, token) = (stack.clone(), token.clone());
            tokio::spawn(async move { stack.device_status(&token).await })
        })
        .collect();
    for call in burst {
        assert_eq!(call.await.unwrap(), 200);
    }
    assert_eq!(
        stack.proxy.count("/api/auth/user-status") - before,
        1,
        "concurrent misses are coalesced"
    );
}
