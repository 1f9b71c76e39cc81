//! Differential test of two-factor by one-time code (`two-factor/send-otp`, `verify-otp`) in a
//! sign-in challenge, against the real BetterAuth 1.7.25 (twoFactor with `otpOptions.sendOTP`)
//! and stackr-auth (codes mailed through its mail sender): the methods offered at sign-in, the
//! code's answers, its single use and the limit on wrong guesses.

use crate::common;
use crate::common::differential;

use common::*;
use differential::*;
use serde_json::{json, Value};

/// Where the last code sent to an address can be read.
enum Codes<'a> {
    /// The reference server's test route.
    BetterAuth(String),
    /// stackr-auth's dev mailbox.
    Mailbox(&'a TestServer),
}

impl Codes<'_> {
    /// The `count`-th code sent (1-based) to `email`, the scenario's only user (the reference
    /// keeps only the last code per address).
    async fn code(&self, email: &str, count: usize) -> String {
        match self {
            Codes::BetterAuth(base) => reqwest::get(format!("{base}/test/last-otp?email={email}"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
            Codes::Mailbox(server) => server.wait_for_code(count).await,
        }
    }
}

/// A new browser at the second step of Otto's sign-in (holding the `two_factor` cookie).
async fn challenged(base: &str) -> Client {
    let mut c = Client::new(base);
    let r = c.sign_in("otto@example.com", "password-123").await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
    c
}

async fn scenario(base: &str, codes: Codes<'_>) -> Vec<(String, Value)> {
    let mut run = Run {
        client: Client::new(base),
        results: vec![],
    };
    run.client
        .sign_up("Otto", "otto@example.com", "password-123")
        .await;
    enable_two_factor(&mut run.client, "password-123").await;

    let mut c = Client::new(base);
    let r = c.sign_in("otto@example.com", "password-123").await;
    run.record("sign-in offers", &r, true);
    let r = Client::new(base)
        .post("/api/auth/two-factor/send-otp", json!({}))
        .await;
    run.record("send-otp without a challenge", &r, true);
    let r = c
        .post("/api/auth/two-factor/verify-otp", json!({"code": "123456"}))
        .await;
    run.record("verify-otp before any code", &r, true);
    let r = c.post("/api/auth/two-factor/send-otp", json!({})).await;
    run.record("send-otp", &r, true);
    let code = codes.code("otto@example.com", 1).await;
    run.results.push((
        "code shape".into(),
        json!([code.len(), code.chars().all(|d| d.is_ascii_digit())]),
    ));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = c
        .post("/api/auth/two-factor/verify-otp", json!({"code": wrong}))
        .await;
    run.record("verify-otp wrong", &r, true);
    let r = c
        .post(
            "/api/auth/two-factor/verify-otp",
            json!({"code": code, "trustDevice": false}),
        )
        .await;
    run.record("verify-otp", &r, false);
    run.results
        .push(("verify-otp cookies".into(), cookie_shapes(&r)));
    let r = c.get("/api/auth/get-session").await;
    run.record("get-session after verify-otp", &r, false);

    // The same code in another sign-in: it belonged to the finished challenge.
    let mut replay = challenged(base).await;
    let r = replay
        .post("/api/auth/two-factor/verify-otp", json!({"code": code}))
        .await;
    run.record("verify-otp replayed in a new sign-in", &r, true);

    // Guessing: five wrong codes, then even the right one is refused.
    let mut guesser = challenged(base).await;
    guesser
        .post("/api/auth/two-factor/send-otp", json!({}))
        .await;
    let code = codes.code("otto@example.com", 2).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for n in 1..=5 {
        let r = guesser
            .post("/api/auth/two-factor/verify-otp", json!({"code": wrong}))
            .await;
        run.record(&format!("guess {n}"), &r, true);
    }
    let r = guesser
        .post("/api/auth/two-factor/verify-otp", json!({"code": code}))
        .await;
    run.record("the right code after five wrong ones", &r, true);
    run.results
}

#[tokio::test]
async fn two_factor_otp_answers_like_betterauth() {
    let pair = Pair::start().await;
    let theirs = scenario(&pair.ba.base(), Codes::BetterAuth(pair.ba.base())).await;
    let mine = scenario(&pair.ours.base, Codes::Mailbox(&pair.ours)).await;
    compare(
        &theirs,
        &mine,
        &[(
            "verify-otp cookies",
            "stackr-auth also expires a stale dont_remember marker when a challenge ends, as after verify-totp (README)",
        )],
    );
}
