//! Attacks on two-factor by one-time code: guessing across sign-ins locks the account's second
//! factor (the right code is refused while locked), two requests racing with the right code get
//! one session, a double-clicked `send-otp` leaves one code that works, the code is not stored
//! readable nor as a digest anyone can compute, and the per-address limit stops rapid guessing.

use crate::common;

use common::*;
use serde_json::json;

/// Otto, with 2FA on, and a server with a mailbox.
async fn otto(opts: Options) -> TestServer {
    let server = TestServer::start_with(opts).await;
    let mut c = server.client();
    c.sign_up("Otto", "otto@example.com", "password-123").await;
    enable_two_factor(&mut c, "password-123").await;
    server
}

/// A browser at the second step of Otto's sign-in that asked for a code; the code (the
/// `count`-th mailed).
async fn with_code(server: &TestServer, count: usize) -> (Client, String) {
    let mut c = server.client();
    let r = c.sign_in("otto@example.com", "password-123").await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
    let r = c.post("/api/auth/two-factor/send-otp", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = server.wait_for_code(count).await;
    (c, code)
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

#[tokio::test]
async fn ten_wrong_codes_lock_the_second_factor_even_for_the_right_code() {
    let server = otto(Options::default()).await;
    for round in 0..2 {
        let (mut c, code) = with_code(&server, round + 1).await;
        for _ in 0..5 {
            let r = c
                .post(
                    "/api/auth/two-factor/verify-otp",
                    json!({"code": wrong(&code)}),
                )
                .await;
            assert_eq!(r.code(), "INVALID_CODE", "{}", r.text);
        }
    }
    let (mut c, code) = with_code(&server, 3).await;
    let r = c
        .post("/api/auth/two-factor/verify-otp", json!({"code": code}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (429, "ACCOUNT_TEMPORARILY_LOCKED".to_owned()),
        "{}",
        r.text
    );
    assert_eq!(c.get("/api/auth/get-session").await.json(), json!(null));
}

#[tokio::test]
async fn a_code_signs_in_once_even_when_sent_twice_at_the_same_time() {
    let server = otto(Options::default()).await;
    let (c, code) = with_code(&server, 1).await;
    let mut twin = server.client();
    twin.cookies = c.cookies.clone();
    let send = |mut c: Client, code: String| async move {
        c.post("/api/auth/two-factor/verify-otp", json!({"code": code}))
            .await
            .status
    };
    let (a, b) = tokio::join!(send(twin, code.clone()), send(c, code.clone()));
    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(statuses[0], 200, "one of them signs in: {statuses:?}");
    assert_ne!(statuses[1], 200, "the other does not: {statuses:?}");
    assert_eq!(
        server.psql(r#"select count(*) from "session" s join "user" u on u."id" = s."userId" where u."email" = 'otto@example.com'"#),
        "2",
        "the sign-up's session and exactly one more"
    );
}

/// Two `send-otp` at once on one sign-in used to leave two code rows and two attempt counters,
/// after which `verify-otp` answered 500 even to the right code (and each 500 used up the
/// account's two-factor budget).
#[tokio::test]
async fn a_double_clicked_send_otp_leaves_one_code_that_signs_in() {
    let server = otto(Options::default()).await;
    for round in 0..4 {
        let mut c = server.client();
        let r = c.sign_in("otto@example.com", "password-123").await;
        assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
        let mut twin = server.client();
        twin.cookies = c.cookies.clone();
        let (a, b) = tokio::join!(
            c.post("/api/auth/two-factor/send-otp", json!({})),
            twin.post("/api/auth/two-factor/send-otp", json!({}))
        );
        assert_eq!((a.status, b.status), (200, 200), "{} {}", a.text, b.text);
        let rows = server.psql(
            r#"select count(*) from "verification" where "identifier" like '2fa-otp-attempts-%'"#,
        );
        assert_eq!(rows, "1", "round {round}: attempt counters of the sign-in");
        // Either send may have been the later one: one of the two codes is the live one.
        let codes = [
            server.wait_for_code(2 * round + 1).await,
            server.wait_for_code(2 * round + 2).await,
        ];
        let mut statuses = Vec::new();
        for code in &codes {
            let r = c
                .post("/api/auth/two-factor/verify-otp", json!({"code": code}))
                .await;
            statuses.push((r.status, r.code()));
            if r.status == 200 {
                break;
            }
        }
        assert_eq!(
            statuses.last().map(|s| s.0),
            Some(200),
            "round {round}: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| s.0 == 200 || s.1 == "INVALID_CODE"),
            "round {round}: {statuses:?}"
        );
    }
}

#[tokio::test]
async fn the_code_is_not_stored_readable() {
    let server = otto(Options::default()).await;
    let (_c, code) = with_code(&server, 1).await;
    let rows = server
        .psql(r#"select "value" from "verification" where "identifier" like '2fa-otp-2fa-%'"#);
    assert!(!rows.is_empty(), "the code's row exists");
    assert!(!rows.contains(&code), "{rows} holds the code {code}");
    // A million codes are tried in a second: a digest anyone can compute gives the code away.
    use sha2::{Digest, Sha256};
    let stored = rows.trim();
    let found = (0..1_000_000u32).map(|n| format!("{n:06}")).find(|tried| {
        let digest = Sha256::digest(tried.as_bytes());
        hex::encode(digest) == stored
    });
    assert_eq!(found, None, "the stored {stored} gives the code away");
}

#[tokio::test]
async fn rapid_guessing_from_one_address_is_rate_limited() {
    let server = otto(Options {
        rate_limits: true,
        ..Options::default()
    })
    .await;
    let (c, code) = with_code(&server, 1).await;
    // The guesses come from an address of their own, so only they count against it.
    let mut guesser = Client::from_address(&server.base, Some([127, 0, 0, 2].into()));
    guesser.cookies = c.cookies.clone();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            guesser
                .post(
                    "/api/auth/two-factor/verify-otp",
                    json!({"code": wrong(&code)}),
                )
                .await
                .status,
        );
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429],
        "two-factor routes allow 3 per 10 s"
    );
}

/// Whoever reads the account's mailbox can reset the password; a code by mail is then no second
/// factor. After a reset by mail, sign-in offers only the authenticator (and backup codes), and
/// `send-otp` and `verify-otp` refuse; once the owner signs in with the authenticator, codes by
/// mail are offered again.
#[tokio::test]
async fn after_a_reset_by_mail_a_code_by_mail_is_no_second_factor() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Otto", "otto@example.com", "password-123")
        .await;
    // Verified first: the second factor then survives the reset.
    server.address_verified("otto@example.com");
    let (key, _) = enable_two_factor(&mut owner, "password-123").await;
    server
        .reset_password("otto@example.com", 1, "password-456")
        .await;

    let mut mailbox_reader = server.client();
    let r = mailbox_reader
        .sign_in("otto@example.com", "password-456")
        .await;
    assert_eq!(r.json()["twoFactorMethods"], json!(["totp"]), "{}", r.text);
    for route in ["send-otp", "verify-otp"] {
        let r = mailbox_reader
            .post(
                &format!("/api/auth/two-factor/{route}"),
                json!({"code": "123456"}),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (400, "OTP_NOT_AFTER_PASSWORD_RESET".to_owned()),
            "{route}: {}",
            r.text
        );
    }
    assert!(
        !server.mails().iter().any(|m| m.contains("sign-in code")),
        "no code mailed"
    );

    let r = mailbox_reader
        .post(
            "/api/auth/two-factor/verify-totp",
            json!({"code": totp_steps_from_now(&key, 1)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = server
        .client()
        .sign_in("otto@example.com", "password-456")
        .await;
    assert_eq!(
        r.json()["twoFactorMethods"],
        json!(["totp", "otp"]),
        "{}",
        r.text
    );
}
