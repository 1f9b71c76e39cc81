//! On the fixture stack: the session cookie auth sets is what identifies a
//! user at every base service (forwarded, never trusted from the client), the role gate, the 401
//! cases, and first-call provisioning with auth's `has<Service>Account` flags.

use crate::common;

use reqwest::StatusCode;
use serde_json::Value;
use stackr_checks::http::{Answer, BrowserSession, SESSION_COOKIE};
use stackr_checks::Stack;

use common::{browser, set_role, sign_up, start_fixture_stack};

async fn me(stack: &Stack, service: &str, headers: &[(&str, &str)]) -> Answer {
    browser(stack)
        .get(&stack.service(service).url("/me"), headers)
        .await
        .expect("a base service answers")
}

async fn me_as(stack: &Stack, service: &str, who: &BrowserSession) -> Answer {
    me(stack, service, &[("cookie", &who.cookie)]).await
}

/// (records, provisioned records) of `user_id` in `service`'s own `stackr_user` table.
async fn provisioned_records(stack: &Stack, service: &str, user_id: &str) -> (i64, i64) {
    let service = stack.service(service);
    let db = service
        .postgres
        .superuser(&service.database.database)
        .await
        .unwrap();
    let row = db
        .query_one(
            "SELECT count(*), count(provisioned_at) FROM stackr_user WHERE user_id = $1",
            &[&user_id],
        )
        .await
        .expect("the flexible service has its own stackr_user table");
    (row.get(0), row.get(1))
}

fn flag(user: &Value, flag: &str) -> Option<bool> {
    user.get(flag).and_then(Value::as_bool)
}

/// The same cookie with one character of its HMAC signature changed.
fn tamper_signature(cookie: &str) -> String {
    let (head, signature) = cookie
        .rsplit_once('.')
        .expect("a signed cookie is token.signature");
    let mut sig: Vec<char> = signature.chars().collect();
    let i = sig.len() / 2;
    sig[i] = if sig[i] == 'A' { 'B' } else { 'A' };
    format!("{head}.{}", sig.into_iter().collect::<String>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_forwarding_roles_401s_and_provisioning() {
    let stack = start_fixture_stack().await;
    let standard = stack.with_flavor("standard").name().to_owned();
    let gated = stack.with_flavor("role-gated").name().to_owned();
    let flexible = stack.with_flavor("flexible").name().to_owned();
    let gated_role = stack
        .service(&gated)
        .plan
        .roles
        .first()
        .expect("the role-gated service lists a role")
        .clone();

    // --- 1. sign-up gives an HttpOnly session cookie; every base service sees the same user ---
    let member = sign_up(&stack, "member").await;
    set_role(&stack, &member.user_id, &gated_role).await;
    assert!(
        member.cookie.starts_with(&format!("{SESSION_COOKIE}=")),
        "{}",
        member.set_cookie
    );
    let attributes: Vec<String> = member
        .set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(
        attributes.iter().any(|a| a == "httponly"),
        "session cookie must be HttpOnly: {}",
        member.set_cookie
    );
    for service in stack.base_services() {
        let answer = me_as(&stack, service.name(), &member).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{} with a valid cookie: {answer:?}",
            service.name()
        );
        let body = answer.json().unwrap();
        assert_eq!(
            body["user"]["id"],
            member.user_id.as_str(),
            "{} must see auth's user id",
            service.name()
        );
    }

    // --- 2. role gate: a plain user is refused, a role holder and an admin pass ---
    let plain = sign_up(&stack, "plain").await;
    let admin = sign_up(&stack, "admin").await;
    set_role(&stack, &admin.user_id, "admin").await;
    let refused = me_as(&stack, &gated, &plain).await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "plain user at role-gated {gated}: {refused:?}"
    );
    for who in [&admin, &member] {
        let answer = me_as(&stack, &gated, who).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "admin/{gated_role} at {gated}: {answer:?}"
        );
        assert_eq!(answer.json().unwrap()["user"]["id"], who.user_id.as_str());
    }
    // The plain user is signed in, so the other flavors let them through.
    assert_eq!(
        me_as(&stack, &standard, &plain).await.status,
        StatusCode::OK
    );
    // A header claiming another identity changes nothing: the cookie's user is the caller.
    for service in stack.base_services() {
        let answer = me(
            &stack,
            service.name(),
            &[("cookie", &member.cookie), ("x-user-id", &admin.user_id)],
        )
        .await;
        assert_eq!(
            answer.json().unwrap()["user"]["id"],
            member.user_id.as_str(),
            "{} trusted x-user-id",
            service.name()
        );
    }

    // --- 2. 401 without a valid session, whatever else the request claims ---
    let tampered = tamper_signature(&member.cookie);
    assert_ne!(tampered, member.cookie);
    assert_eq!(
        browser(&stack).get_session(&tampered).await.unwrap(),
        Value::Null,
        "auth must reject a bad signature"
    );
    for service in stack.base_services() {
        let name = service.name();
        let cases: [(&str, Vec<(&str, &str)>); 4] = [
            ("no cookie", vec![]),
            ("tampered signature", vec![("cookie", tampered.as_str())]),
            (
                "spoofed x-user-id without cookie",
                vec![("x-user-id", member.user_id.as_str())],
            ),
            (
                "unknown session token",
                vec![("cookie", "better-auth.session_token=forged.c2lnbmF0dXJl")],
            ),
        ];
        for (case, headers) in cases {
            let answer = me(&stack, name, &headers).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{name}, {case}: {answer:?}"
            );
        }
    }

    // --- 2. a signed-out session stops working once the guard's cache TTL has passed ---
    let leaving = sign_up(&stack, "leaving").await;
    set_role(&stack, &leaving.user_id, "admin").await;
    for service in stack.base_services() {
        assert_eq!(
            me_as(&stack, service.name(), &leaving).await.status,
            StatusCode::OK,
            "{} before sign-out",
            service.name()
        );
    }
    browser(&stack).sign_out(&leaving).await.unwrap();
    assert_eq!(
        browser(&stack).get_session(&leaving.cookie).await.unwrap(),
        Value::Null,
        "auth forgets the session at once"
    );
    tokio::time::sleep(stack.session_cache_ttl() + std::time::Duration::from_millis(500)).await;
    for service in stack.base_services() {
        let answer = me_as(&stack, service.name(), &leaving).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{} after sign-out + cache TTL: {answer:?}",
            service.name()
        );
    }

    // --- 3. provisioning: the first call creates the service's record, then auth reports it ---
    // Flexible services provision (DESIGN.md); whether the others do is their scaffold's SPEC.
    assert!(
        stack.service(&flexible).provisions(),
        "the flexible scaffold provisions"
    );
    let newcomer = sign_up(&stack, "newcomer").await;
    let mut called: Vec<String> = Vec::new();
    let expect_state = |called: &Vec<String>, user: &Value, when: &str| {
        for service in stack.base_services() {
            let expected = service.provisions() && called.iter().any(|c| c == service.name());
            let flag = flag(user, &service.plan.has_account_field);
            assert_eq!(
                flag,
                Some(expected),
                "{} {when}: {user}",
                service.plan.has_account_field
            );
        }
    };
    let session = |stack: &Stack, who: &BrowserSession| {
        let cookie = who.cookie.clone();
        let browser = browser(stack);
        async move { browser.get_session(&cookie).await.unwrap()["user"].clone() }
    };
    expect_state(
        &called,
        &session(&stack, &newcomer).await,
        "before any call",
    );
    for service in stack.base_services() {
        assert_eq!(
            provisioned_records(&stack, service.name(), &newcomer.user_id).await,
            (0, 0),
            "{}: no record before the first call",
            service.name()
        );
    }

    let answer = me_as(&stack, &flexible, &newcomer).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "first call at {flexible}: {answer:?}"
    );
    called.push(flexible.clone());
    assert_eq!(
        provisioned_records(&stack, &flexible, &newcomer.user_id).await,
        (1, 1),
        "the first call creates one provisioned record"
    );
    expect_state(
        &called,
        &session(&stack, &newcomer).await,
        &format!("after calling {flexible} only"),
    );

    // A call the role gate refuses provisions nothing.
    assert_eq!(
        me_as(&stack, &gated, &newcomer).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        provisioned_records(&stack, &gated, &newcomer.user_id).await,
        (0, 0),
        "a refused call creates no record"
    );

    assert_eq!(
        me_as(&stack, &standard, &newcomer).await.status,
        StatusCode::OK
    );
    called.push(standard.clone());
    let expected_standard = if stack.service(&standard).provisions() {
        (1, 1)
    } else {
        (0, 0)
    };
    assert_eq!(
        provisioned_records(&stack, &standard, &newcomer.user_id).await,
        expected_standard,
        "{standard} after its first call"
    );
    assert_eq!(
        me_as(&stack, &flexible, &newcomer).await.status,
        StatusCode::OK
    );
    assert_eq!(
        provisioned_records(&stack, &flexible, &newcomer.user_id).await,
        (1, 1),
        "later calls add nothing"
    );
    expect_state(
        &called,
        &session(&stack, &newcomer).await,
        "after calling the flexible and standard services",
    );

    let auth = stack.auth();
    let auth_db = auth
        .postgres
        .superuser(&auth.database.database)
        .await
        .unwrap();
    let mut pairs: Vec<String> = auth_db
        .query(
            "SELECT service FROM service_account WHERE user_id = $1",
            &[&newcomer.user_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    pairs.sort();
    let mut expected: Vec<String> = stack
        .base_services()
        .filter(|s| s.provisions() && called.iter().any(|c| c == s.name()))
        .map(|s| s.name().to_owned())
        .collect();
    expected.sort();
    assert_eq!(
        pairs, expected,
        "auth records exactly the provisioned services"
    );
}
