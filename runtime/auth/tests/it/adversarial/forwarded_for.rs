//! Attacks through `X-Forwarded-For`: a client writing its own entries to dodge per-IP limits and
//! to plant a false address on its session, both directly and through the trusted reverse proxy.

use std::sync::Arc;

use serde_json::json;

use super::harness::{Attack, Outcome, Stack, PROXY_ADDRESS};
use crate::common::Client;
use crate::ensure;

/// Sign-in attempts (wrong password) each with a different forged entry; returns the statuses.
async fn forged_sign_ins(client: &mut Client, real_client: Option<&str>) -> Vec<u16> {
    let mut statuses = Vec::new();
    for n in 1..=6 {
        let forged = format!("203.0.113.{n}");
        let header = match real_client {
            Some(real) => format!("{forged}, {real}"),
            None => forged,
        };
        let req = client
            .raw()
            .post(client.url("/api/auth/sign-in/email"))
            .header("origin", crate::common::APP_ORIGIN)
            .header("x-forwarded-for", header)
            .json(&json!({"email": "nobody@example.com", "password": "wrong-password"}));
        statuses.push(client.send(req).await.status);
    }
    statuses
}

/// Signs up with a forged entry and returns the address stored on the new session.
async fn stored_address(stack: &Stack, client: &mut Client, header: &str) -> Option<String> {
    let email = format!("xff-{}@example.com", stack.new_address());
    let req = client
        .raw()
        .post(client.url("/api/auth/sign-up/email"))
        .header("origin", crate::common::APP_ORIGIN)
        .header("x-forwarded-for", header)
        .json(&json!({"name": "x", "email": email, "password": "password-xff-1"}));
    let r = client.send(req).await;
    assert_eq!(r.status, 200, "sign-up: {}", r.text);
    let user_id = r.json()["user"]["id"].as_str().unwrap().to_owned();
    stack
        .text(
            r#"select "ipAddress" from "session" where "userId" = $1"#,
            &user_id,
        )
        .await
}

fn limited(statuses: &[u16]) -> bool {
    statuses[3..].iter().all(|s| *s == 429)
}

async fn direct_client_forges(stack: Arc<Stack>) -> Outcome {
    let address = stack.new_address();
    let mut c = Client::from_address(&stack.server.base, Some(address));
    let statuses = forged_sign_ins(&mut c, None).await;
    ensure!(
        limited(&statuses),
        "forged entries dodged the sign-in limit: {statuses:?}"
    );
    let mut c = stack.client();
    let stored = stored_address(&stack, &mut c, "198.51.100.7").await;
    ensure!(
        stored.as_deref() != Some("198.51.100.7"),
        "the session stores the forged address"
    );
    Ok(())
}

async fn client_prepends_through_proxy(stack: Arc<Stack>) -> Outcome {
    let mut proxy = Client::from_address(&stack.server.base, Some(PROXY_ADDRESS));
    let statuses = forged_sign_ins(&mut proxy, Some("192.0.2.10")).await;
    ensure!(
        limited(&statuses),
        "entries prepended by the client dodged the sign-in limit: {statuses:?}"
    );
    let stored = stored_address(&stack, &mut proxy, "198.51.100.7, 192.0.2.11").await;
    ensure!(
        stored.as_deref() == Some("192.0.2.11"),
        "the session stores {stored:?}, not the address the proxy saw (192.0.2.11)"
    );
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack: "a direct client sends X-Forwarded-For to rotate its address",
            refusal: "the header is ignored: 429 after 3 sign-ins, real address on the session",
            run: |s| Box::pin(direct_client_forges(s)),
        },
        Attack {
            attack: "a client prepends X-Forwarded-For entries that the trusted proxy extends",
            refusal:
                "the entry the proxy appended counts: 429 after 3 sign-ins, it is on the session",
            run: |s| Box::pin(client_prepends_through_proxy(s)),
        },
    ]
}
