//! Attacks on identity itself: forged and tampered session cookies, identity headers, role
//! escalation, cross-site requests, account enumeration (by answer and by time) and provisioning
//! without the service's credential.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::harness::{Attack, Outcome, Stack, User, PROVISIONING};
use crate::common::{median, Client, SECRET};
use crate::ensure;

const SESSION_COOKIE: &str = "better-auth.session_token";

/// The session cookie's wire value, and the token inside it.
fn session_cookie(browser: &Client) -> (String, String) {
    let wire = browser.cookies[SESSION_COOKIE].clone();
    let token = stackr_auth::cookie::verify(SECRET.as_bytes(), &wire).unwrap();
    (wire, token)
}

async fn get_session_with(stack: &Stack, cookie: &str) -> String {
    let c = stack.client();
    let req = c
        .raw()
        .get(c.url("/api/auth/get-session"))
        .header("cookie", cookie);
    req.send().await.unwrap().text().await.unwrap()
}

async fn forged_cookies(stack: Arc<Stack>) -> Outcome {
    let (owner, _) = stack.user("forged").await;
    let (wire, token) = session_cookie(&owner);
    let mut flipped_token = token.clone().into_bytes();
    flipped_token[0] ^= 1;
    let flipped_token = String::from_utf8(flipped_token).unwrap();
    let signature = wire.rsplit_once('.').unwrap().1.to_owned();
    let forgeries = [
        // The real token, signed with a guessed secret.
        stackr_auth::cookie::sign_for_cookie(b"guessed-secret-guessed-secret-guessed", &token),
        // Another token under the real signature.
        format!("{flipped_token}.{signature}"),
        // The real token without a signature, and with a cut one.
        token.clone(),
        format!("{token}.{}", &signature[..signature.len() - 6]),
        // The real token with the signature of another value.
        format!(
            "{token}.{}",
            stackr_auth::cookie::sign_for_cookie(SECRET.as_bytes(), "x")
                .rsplit_once('.')
                .unwrap()
                .1
        ),
    ];
    let mut through = Vec::new();
    for forged in &forgeries {
        let body = get_session_with(&stack, &format!("{SESSION_COOKIE}={forged}")).await;
        if body != "null" {
            through.push(forged.clone());
        }
    }
    ensure!(through.is_empty(), "accepted as a session: {through:?}");
    Ok(())
}

async fn identity_headers(stack: Arc<Stack>) -> Outcome {
    let (_, user) = stack.user("impersonated").await;
    let mut through = Vec::new();
    for header in [
        "x-user-id",
        "x-stackr-user",
        "x-stackr-user-id",
        "x-forwarded-user",
        "x-remote-user",
        "x-auth-user",
    ] {
        let c = stack.client();
        let r = c
            .raw()
            .get(c.url("/api/auth/get-session"))
            .header(header, &user.id)
            .header("x-user-email", &user.email)
            .send()
            .await
            .unwrap();
        let body = r.text().await.unwrap();
        if body != "null" {
            through.push(header);
        }
    }
    ensure!(
        through.is_empty(),
        "identity taken from headers: {through:?}"
    );
    Ok(())
}

async fn role_escalation(stack: Arc<Stack>) -> Outcome {
    let mut through = Vec::new();
    let r = stack
        .client()
        .post(
            "/api/auth/sign-up/email",
            json!({"name": "Eve", "email": "eve-escalates@example.com", "password": "password-eve-1", "role": "admin"}),
        )
        .await;
    if r.status != 400 || r.code() != "FIELD_NOT_ALLOWED" {
        through.push(format!("sign-up with role: {} {}", r.status, r.text));
    }
    let (eve, user) = stack.user("eve").await;
    for (path, body) in [
        ("/api/auth/update-user", json!({"role": "admin"})),
        (
            "/api/auth/update-user",
            json!({"name": "Eve", "emailVerified": true}),
        ),
        (
            "/api/auth/admin/set-role",
            json!({"userId": user.id, "role": "admin"}),
        ),
        ("/api/auth/admin/unban-user", json!({"userId": user.id})),
    ] {
        let r = stack.moved(&eve).post(path, body.clone()).await;
        if r.status < 400 {
            through.push(format!("{path} {body}: {}", r.status));
        }
    }
    let role = stack
        .text(r#"select "role" from "user" where "id" = $1"#, &user.id)
        .await;
    ensure!(
        through.is_empty() && role.as_deref() == Some("user"),
        "role {role:?}; accepted: {through:?}"
    );
    Ok(())
}

async fn cross_site_requests(stack: Arc<Stack>) -> Outcome {
    let (victim, user) = stack.user("csrf").await;
    let cookie = victim.cookie_header();
    let mut through = Vec::new();
    for (origin, referer, content_type) in [
        (Some("https://evil.example"), None, "application/json"),
        (Some("null"), None, "application/json"),
        (None, None, "application/json"),
        (None, Some("https://evil.example/page"), "application/json"),
        (
            Some("http://localhost:3000.evil.example"),
            None,
            "application/json",
        ),
        (Some("https://evil.example"), None, "text/plain"),
        (
            Some("https://evil.example"),
            None,
            "application/x-www-form-urlencoded",
        ),
    ] {
        let c = stack.client();
        let mut req = c
            .raw()
            .post(c.url("/api/auth/update-user"))
            .header("cookie", &cookie)
            .header("content-type", content_type)
            .body(r#"{"name":"pwned"}"#);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(r) = referer {
            req = req.header("referer", r);
        }
        let status = req.send().await.unwrap().status().as_u16();
        if status != 403 {
            through.push(format!(
                "origin {origin:?} referer {referer:?} {content_type}: {status}"
            ));
        }
    }
    let name = stack
        .text(r#"select "name" from "user" where "id" = $1"#, &user.id)
        .await;
    ensure!(
        through.is_empty() && name.as_deref() == Some("csrf"),
        "name {name:?}; accepted: {through:?}"
    );
    Ok(())
}

/// A request that must not tell a known account from an unknown one.
struct Probe {
    path: &'static str,
    /// The body naming the known account, and the same body naming an address nobody has.
    known: Value,
    unknown: Value,
    /// The time every answer is padded to (the mail endpoints: a few milliseconds of database
    /// work for a known account vanish under it); sign-in instead does the same password-hash
    /// work for every account.
    floor: Option<Duration>,
}

fn account_probes(user: &User) -> [Probe; 3] {
    use stackr_auth::routes::{email_verification, password_reset};
    [
        Probe {
            path: "/api/auth/sign-in/email",
            known: json!({"email": user.email, "password": "not-the-password"}),
            unknown: json!({"email": "no-such-user@example.com", "password": "not-the-password"}),
            floor: None,
        },
        Probe {
            path: "/api/auth/request-password-reset",
            known: json!({"email": user.email}),
            unknown: json!({"email": "no-such-user@example.com"}),
            floor: Some(password_reset::FLOOR),
        },
        Probe {
            path: "/api/auth/send-verification-email",
            known: json!({"email": user.email}),
            unknown: json!({"email": "no-such-user@example.com"}),
            floor: Some(email_verification::ANONYMOUS_FLOOR),
        },
    ]
}

async fn enumeration_by_answer(stack: Arc<Stack>) -> Outcome {
    let (_, user) = stack.user("enumerated").await;
    let mut through = Vec::new();
    for p in account_probes(&user) {
        let a = stack.client().post(p.path, p.known).await;
        let b = stack.client().post(p.path, p.unknown).await;
        if (a.status, &a.text) != (b.status, &b.text) {
            through.push(format!(
                "{}: {} {} vs {} {}",
                p.path, a.status, a.text, b.status, b.text
            ));
        }
    }
    ensure!(through.is_empty(), "answers differ: {through:?}");
    Ok(())
}

/// Timed probes per kind of account and path; the median resists a loaded machine's stalls.
const TIMED_PROBES: usize = 7;
/// Rounds of probes a gap must show up in to count.
const TIMING_ROUNDS: usize = 3;
/// How many times slower one kind's median must be to count as a gap.
const TIMING_FACTOR: u32 = 4;

/// How long `body` takes to be answered at `path`, from a new address (so per-IP limits stay out
/// of the way).
async fn answer_time(stack: &Stack, path: &str, body: &Value) -> Duration {
    let mut c = stack.client();
    let started = Instant::now();
    c.post(path, body.clone()).await;
    started.elapsed()
}

async fn enumeration_by_timing(stack: Arc<Stack>) -> Outcome {
    let (_, user) = stack.user("timed").await;
    let mut through = Vec::new();
    for p in account_probes(&user) {
        // A gap is reported only when every round shows it: skipped work (a password hash) shows
        // up every time, a burst of load from other processes on a shared machine does not.
        let mut gaps = Vec::new();
        for _ in 0..TIMING_ROUNDS {
            let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
            // Interleaved, so a burst of load from elsewhere slows both kinds alike.
            for _ in 0..TIMED_PROBES {
                known_times.push(answer_time(&stack, p.path, &p.known).await);
                unknown_times.push(answer_time(&stack, p.path, &p.unknown).await);
            }
            let fastest = known_times.iter().chain(&unknown_times).min().copied();
            if let (Some(floor), Some(fastest)) = (p.floor, fastest) {
                if fastest < floor {
                    through.push(format!("{}: an answer in {fastest:?}", p.path));
                }
            }
            let (k, u) = (median(known_times), median(unknown_times));
            // Skipped work is a gap of an order of magnitude (a password hash against none);
            // the same work differs by noise only.
            if k.min(u) * TIMING_FACTOR < k.max(u) {
                gaps.push(format!("known {k:?}, unknown {u:?}"));
            } else {
                gaps.clear();
                break;
            }
        }
        if !gaps.is_empty() {
            through.push(format!("{}: medians {}", p.path, gaps.join("; ")));
        }
    }
    ensure!(through.is_empty(), "answer times differ: {through:?}");
    Ok(())
}

async fn provisioning_without_credential(stack: Arc<Stack>) -> Outcome {
    let (owner, user) = stack.user("provisioned").await;
    let (service, credential) = PROVISIONING;
    let mut through = Vec::new();
    for (name, bearer) in [
        (service, None),
        (service, Some("wrong-credential")),
        (service, Some(&credential[..credential.len() - 1])),
        ("other-service", Some(credential)),
        ("", Some(credential)),
    ] {
        let c = stack.moved(&owner);
        let mut req = c
            .raw()
            .post(c.url("/api/auth/provision"))
            .header("cookie", c.cookie_header())
            .header("x-stackr-service", name);
        if let Some(b) = bearer {
            req = req.header("authorization", format!("Bearer {b}"));
        }
        let status = req.send().await.unwrap().status().as_u16();
        if status != 403 {
            through.push(format!("service {name:?} credential {bearer:?}: {status}"));
        }
    }
    let rows = stack
        .count(
            r#"select count(*) from "service_account" where "user_id" = $1"#,
            &user.id,
        )
        .await;
    ensure!(
        through.is_empty() && rows == 0,
        "{rows} service accounts; accepted: {through:?}"
    );
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack: "forged and tampered session cookies (wrong secret, swapped token, no or cut signature)",
            refusal: "get-session answers null",
            run: |s| Box::pin(forged_cookies(s)),
        },
        Attack {
            attack: "identity headers (x-user-id, x-forwarded-user, …) naming another user",
            refusal: "ignored: get-session answers null",
            run: |s| Box::pin(identity_headers(s)),
        },
        Attack {
            attack: "a user making themselves admin (sign-up/update-user fields, admin endpoints)",
            refusal: "400/403 each time, the role stays user",
            run: |s| Box::pin(role_escalation(s)),
        },
        Attack {
            attack: "cookie-carrying requests from foreign, null, missing or look-alike origins",
            refusal: "403, the profile unchanged",
            run: |s| Box::pin(cross_site_requests(s)),
        },
        Attack {
            attack: "telling known from unknown accounts by status or body",
            refusal: "identical answers on sign-in, reset and verification requests",
            run: |s| Box::pin(enumeration_by_answer(s)),
        },
        Attack {
            attack: "telling known from unknown accounts by response time",
            refusal: "the same work either way (median times within a factor of 4 in one of 3 rounds), mail endpoints padded to their floor",
            run: |s| Box::pin(enumeration_by_timing(s)),
        },
        Attack {
            attack: "provisioning with a missing, wrong, truncated or other service's credential",
            refusal: "403 INVALID_SERVICE_CREDENTIAL, no service account recorded",
            run: |s| Box::pin(provisioning_without_credential(s)),
        },
    ]
}
