//! On the fixture stack: one service's PostgreSQL going down leaves the other
//! services answering; auth going down makes every base service fail closed (503), never open.

use crate::common;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use stackr_checks::http::BrowserSession;
use stackr_checks::Stack;

use common::{browser, set_role, sign_up, start_fixture_stack};

async fn status_at(stack: &Stack, service: &str, who: &BrowserSession) -> StatusCode {
    browser(stack)
        .get(
            &stack.service(service).url("/me"),
            &[("cookie", &who.cookie)],
        )
        .await
        .unwrap()
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_stays_local_and_a_stopped_auth_fails_closed() {
    let mut stack = start_fixture_stack().await;
    let admin = sign_up(&stack, "admin").await;
    set_role(&stack, &admin.user_id, "admin").await;
    let base: Vec<String> = stack.base_services().map(|s| s.name().to_owned()).collect();
    for name in &base {
        assert_eq!(
            status_at(&stack, name, &admin).await,
            StatusCode::OK,
            "{name} before any failure"
        );
    }

    // --- one service's PostgreSQL dies: everyone else keeps answering ---
    let victim = stack.with_flavor("standard").name().to_owned();
    stack.service(&victim).postgres.stop().await.unwrap();
    let health = browser(&stack)
        .get(&stack.service(&victim).url("/health"), &[])
        .await
        .unwrap();
    assert_ne!(
        health.status,
        StatusCode::OK,
        "{victim}'s own health check must notice its database is gone"
    );
    // A user who signs up now exercises auth's own database and, at the flexible service,
    // provisioning into that service's database: neither touches the stopped one.
    let late = sign_up(&stack, "late").await;
    set_role(&stack, &late.user_id, "admin").await;
    for name in base.iter().filter(|n| **n != victim) {
        for who in [&admin, &late] {
            let status = status_at(&stack, name, who).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{name} while {victim}'s PostgreSQL is down"
            );
        }
    }
    assert!(
        browser(&stack).get_session(&late.cookie).await.unwrap()["user"]["id"]
            == late.user_id.as_str(),
        "auth answers while {victim}'s PostgreSQL is down"
    );

    // --- auth dies: base services answer 503, never 200 ---
    // `unseen` never reached a base service, so no guard has it cached: 503 from the first call.
    let unseen = sign_up(&stack, "unseen").await;
    set_role(&stack, &unseen.user_id, "admin").await;
    stack.service_mut("auth").process.stop().unwrap();
    for name in &base {
        let status = status_at(&stack, name, &unseen).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{name} with auth down, uncached session"
        );
    }
    // `admin` was verified moments ago; a guard may serve it from its verified-session cache for
    // at most the TTL, and from then on must answer 503 as well.
    let ttl = stack.session_cache_ttl();
    let stopped_at = Instant::now();
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    for name in &base {
        let status = status_at(&stack, name, &admin).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{name} with auth down {:?} (cache TTL {ttl:?})",
            stopped_at.elapsed()
        );
    }
    // Without a cookie there is nothing to verify: still a plain 401, not a 503 and not a 200.
    for name in &base {
        let answer = browser(&stack)
            .get(&stack.service(name).url("/me"), &[])
            .await
            .unwrap();
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{name} without cookie, auth down"
        );
    }
}
