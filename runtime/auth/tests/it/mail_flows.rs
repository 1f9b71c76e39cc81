//! Email verification and password reset through the dev mailbox (real files, no mock), plus
//! change-password and update-user.

use crate::common;

use common::*;
use serde_json::json;

fn path_and_query(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

#[tokio::test]
async fn email_verification_link_verifies_the_user() {
    let server = TestServer::start().await;
    let mut c = server.client();
    c.sign_up("Kim", "kim@example.com", "password-123").await;
    assert_eq!(c.session().await["user"]["emailVerified"], false);

    let r = c
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "other@example.com"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "EMAIL_MISMATCH".into()));
    let r = c
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "kim@example.com", "callbackURL": "http://localhost:3000/welcome"}),
        )
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));
    let link = server.wait_for_link("kim@example.com", 1).await;
    assert!(
        link.starts_with(&format!(
            "{}/api/auth/verify-email?token=",
            server.state.config.base()
        )),
        "{link}"
    );
    let log = std::fs::read_to_string(server.mail_dir.path().join("mailbox.log")).unwrap();
    assert!(log.contains("to=kim@example.com"), "{log}");

    // A forged token is refused; the real one redirects to the callback and verifies.
    let forged = link.replace("token=ey", "token=eX");
    let r = c
        .get(
            &path_and_query(&forged)
                .replace("&callbackURL=http%3A%2F%2Flocalhost%3A3000%2Fwelcome", ""),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "INVALID_TOKEN".into()));
    let r = c.get(&path_and_query(&link)).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.headers["location"], "http://localhost:3000/welcome");
    assert_eq!(c.session().await["user"]["emailVerified"], true);
    let r = c
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "kim@example.com"}),
        )
        .await;
    assert_eq!(r.code(), "EMAIL_ALREADY_VERIFIED");

    // Anonymous requests always say yes, and take at least the floor.
    let mut anon = server.client();
    let t = std::time::Instant::now();
    let r = anon
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "ghost@example.com"}),
        )
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));
    assert!(t.elapsed() >= stackr_auth::routes::email_verification::ANONYMOUS_FLOOR);
    // Untrusted callback URLs are refused.
    let r = anon
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "kim@example.com", "callbackURL": "https://evil.example/x"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "INVALID_CALLBACK_URL".into()));
}

#[tokio::test]
async fn password_reset_via_mailed_link() {
    let server = TestServer::start().await;
    let mut c = server.client();
    c.sign_up("Lea", "lea@example.com", "old-password-1").await;

    let mut anon = server.client();
    let r = anon
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "lea@example.com", "redirectTo": "http://localhost:3000/reset"}),
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"status": true, "message": "If this email exists in our system, check your email for the reset link"})
    );
    // Unknown email: same answer, no mail.
    let r = anon
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = anon
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "lea@example.com", "redirectTo": "https://evil.example/"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "INVALID_REDIRECT_URL".into()));

    let link = server.wait_for_link("lea@example.com", 1).await;
    let r = anon.get(&path_and_query(&link)).await;
    assert_eq!(r.status, 302);
    let location = r.headers["location"].to_str().unwrap().to_owned();
    let token = location
        .strip_prefix("http://localhost:3000/reset?token=")
        .expect(&location)
        .to_owned();
    assert_eq!(token.len(), 24);
    let r = anon
        .get("/api/auth/reset-password/bogus?callbackURL=%2Freset")
        .await;
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("{}/reset?error=INVALID_TOKEN", server.state.config.base())
    );

    let r = anon
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "new-password-1", "token": token}),
        )
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));
    // One use only.
    let r = anon
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "new-password-2", "token": token}),
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"message": "Invalid token", "code": "INVALID_TOKEN"})
    );
    // Old sessions are revoked; the new password works, the old one does not.
    assert_eq!(c.get("/api/auth/get-session").await.text, "null");
    assert_eq!(
        anon.sign_in("lea@example.com", "old-password-1")
            .await
            .status,
        401
    );
    assert_eq!(
        anon.sign_in("lea@example.com", "new-password-1")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn change_password_and_update_user() {
    let server = TestServer::start().await;
    let mut a = server.client();
    a.sign_up("Max", "max@example.com", "password-123").await;
    let mut b = server.client();
    b.sign_in("max@example.com", "password-123").await;

    let r = a
        .post(
            "/api/auth/change-password",
            json!({"currentPassword": "nope-nope-1", "newPassword": "password-456"}),
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"message": "Invalid password", "code": "INVALID_PASSWORD"})
    );
    let r = a
        .post(
            "/api/auth/change-password",
            json!({"currentPassword": "password-123", "newPassword": "password-456"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["token"], json!(null));
    assert_ne!(
        b.get("/api/auth/get-session").await.text,
        "null",
        "other sessions survive by default"
    );
    let r = a
        .post("/api/auth/change-password", json!({"currentPassword": "password-456", "newPassword": "password-789", "revokeOtherSessions": true}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["token"].as_str().unwrap().len(), 32);
    assert_eq!(b.get("/api/auth/get-session").await.text, "null");
    assert_ne!(
        a.get("/api/auth/get-session").await.text,
        "null",
        "the caller got a new session"
    );

    let r = a
        .post("/api/auth/update-user", json!({"email": "new@example.com"}))
        .await;
    assert_eq!(r.code(), "EMAIL_CAN_NOT_BE_UPDATED");
    let r = a.post("/api/auth/update-user", json!({})).await;
    assert_eq!(
        (r.status, r.json()),
        (400, json!({"message": "No fields to update"}))
    );
    let r = a
        .post("/api/auth/update-user", json!({"banned": false}))
        .await;
    assert_eq!(r.code(), "FIELD_NOT_ALLOWED");
    let r = a
        .post(
            "/api/auth/update-user",
            json!({"name": "Maxine", "image": "https://img.example/m.png"}),
        )
        .await;
    assert_eq!(r.json(), json!({"status": true}));
    let user = a.session().await["user"].clone();
    assert_eq!(
        (user["name"].as_str(), user["image"].as_str()),
        (Some("Maxine"), Some("https://img.example/m.png"))
    );
}

#[tokio::test]
async fn require_email_verification_blocks_sign_in_until_verified() {
    let server = TestServer::start_with(Options {
        require_email_verification: true,
        ..Options::default()
    })
    .await;
    let mut c = server.client();
    let r = c.sign_up("Ned", "ned@example.com", "password-123").await;
    assert_eq!(r.json()["token"], json!(null));
    assert!(r.set_cookies().is_empty());
    // Duplicate sign-up looks the same (no enumeration).
    let r = c.sign_up("Ned", "ned@example.com", "password-123").await;
    assert_eq!((r.status, r.json()["token"].clone()), (200, json!(null)));
    let r = c.sign_in("ned@example.com", "password-123").await;
    assert_eq!((r.status, r.code()), (403, "EMAIL_NOT_VERIFIED".into()));
    let link = server.wait_for_link("ned@example.com", 1).await;
    let r = c.get(&path_and_query(&link)).await;
    assert_eq!(r.status, 302);
    assert_eq!(
        c.sign_in("ned@example.com", "password-123").await.status,
        200
    );
}

/// With verification required, a sign-up for an address whose account is not verified yet looks
/// like a success and stores nothing. One with another password contests the address: whoever
/// chose the first password never proved the mailbox (someone signing up with another's address
/// ahead of them, to keep a password of their own in the account once its owner verifies it).
/// When the address is verified, that password goes, and a reset link is mailed there, so that
/// the mailbox's owner sets their own. A sign-up sent twice with the same password contests
/// nothing.
#[tokio::test]
async fn a_contested_sign_up_drops_the_unproved_password_when_the_address_is_verified() {
    let server = TestServer::start_with(Options {
        require_email_verification: true,
        ..Options::default()
    })
    .await;
    let mut attacker = server.client();
    let r = attacker
        .sign_up("Vic", "vic@example.com", "attacker-pass-1")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut vic = server.client();
    let r = vic.sign_up("Vic", "vic@example.com", "victim-pass-1").await;
    assert_eq!((r.status, r.json()["token"].clone()), (200, json!(null)));
    let r = vic
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "vic@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = server.wait_for_link("vic@example.com", 2).await;
    assert_eq!(vic.get(&path_and_query(&link)).await.status, 302);

    let r = attacker.sign_in("vic@example.com", "attacker-pass-1").await;
    assert_eq!(
        r.status, 401,
        "the unproved password still signs in: {}",
        r.text
    );
    let reset = server.wait_for_link("vic@example.com", 3).await;
    let token = reset.split('?').next().unwrap().rsplit('/').next().unwrap();
    let r = vic
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "victim-pass-1", "token": token}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        vic.sign_in("vic@example.com", "victim-pass-1").await.status,
        200
    );
}

/// An admin marking a contested address verified (`admin/update-user` `emailVerified: true`, as
/// support would for an owner who cannot sign in) proves it as the link does: the password
/// chosen by whoever signed up first goes. A reset by mail, which proves the mailbox too, settles
/// the contest: the password set through it stays when the address is verified.
#[tokio::test]
async fn an_admin_verifying_a_contested_address_drops_the_unproved_password() {
    let server = TestServer::start_with(Options {
        require_email_verification: true,
        session_cache_ms: Some(0),
        ..Options::default()
    })
    .await;
    let mut root = server.client();
    root.sign_up("Root", "root@example.com", "password-123")
        .await;
    server.psql(
        r#"update "user" set "role" = 'admin', "emailVerified" = true where "email" = 'root@example.com'"#,
    );
    assert_eq!(
        root.sign_in("root@example.com", "password-123")
            .await
            .status,
        200
    );
    for (address, reset_first) in [("vic@example.com", false), ("val@example.com", true)] {
        let mut stranger = server.client();
        let id = stranger.sign_up_id("Vic", address, "stranger-pass-1").await;
        server
            .client()
            .sign_up("Vic", address, "owner-pass-1")
            .await;
        wait_until_contested(&server, &id).await;
        if reset_first {
            server.reset_password(address, 2, "owner-pass-2").await;
        }
        let r = root
            .post(
                "/api/auth/admin/update-user",
                json!({"userId": id, "data": {"emailVerified": true}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = stranger.sign_in(address, "stranger-pass-1").await;
        assert_eq!(r.status, 401, "{address}: {}", r.text);
        if reset_first {
            let r = server.client().sign_in(address, "owner-pass-2").await;
            assert_eq!(
                r.status, 200,
                "{address}: the reset's password went: {}",
                r.text
            );
        }
    }
}

/// Waits until the second sign-up (checked after its answer) marked `user_id`'s address contested.
async fn wait_until_contested(server: &TestServer, user_id: &str) {
    for _ in 0..200 {
        let contested = server.psql(&format!(
            r#"select coalesce((select "sign_up_contested" from "credential_epoch" where "user_id" = '{user_id}'), false)"#
        ));
        if contested == "t" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the address of {user_id} was never marked contested");
}

/// A user's name is their own text, and mails go out under the service's sender: it is greeted
/// on one line in mails to the user's own address, and not at all in a mail to an address not
/// proved yet, which anyone may type in (a sign-up's verification mail, a new address, a reset
/// or a sign-in code asked for an account whose address was never proved).
#[tokio::test]
async fn a_name_cannot_write_its_own_message_into_a_mail() {
    let server = TestServer::start().await;
    let name = "customer,\n\nYour account is suspended. Visit http://evil.example/login\n\n--";
    let mut c = server.client();
    assert_eq!(
        c.sign_up(name, "kim@example.com", "password-123")
            .await
            .status,
        200
    );
    let r = c
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "kim@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    server.wait_for_link("kim@example.com", 1).await;
    change_link(&server, &mut c, "stranger@example.org").await;
    server.reset_token("kim@example.com", 2).await;
    let mails = server.mails();
    assert_eq!(mails.len(), 3, "{mails:?}");
    for mail in &mails {
        let body = mail
            .split_once("\r\n\r\n")
            .map_or(mail.as_str(), |(_, b)| b);
        let first = body.lines().next().unwrap_or_default();
        assert!(first.starts_with("Hello"), "{body}");
        assert!(
            !body.contains("suspended") || first.contains("suspended"),
            "the name wrote lines of its own:\n{body}"
        );
        assert!(!body.contains("evil.example"), "{body}");
        // kim never proved the address: no mail here names the account's holder.
        assert_eq!(first.trim_end(), "Hello,", "{body}");
    }
    // Once the address is proved, its mails greet the holder, on one line.
    let link = server.wait_for_link("kim@example.com", 1).await;
    let r = server.client().get(&path_and_query(&link)).await;
    assert_eq!(r.status, 302);
    server.reset_token("kim@example.com", 3).await;
    let mails = server.mails();
    let reset = mails.last().unwrap();
    let body = reset
        .split_once("\r\n\r\n")
        .map_or(reset.as_str(), |(_, b)| b);
    let first = body.lines().next().unwrap_or_default();
    assert!(first.starts_with("Hello customer, Your account"), "{body}");
}

/// An address change (an admin's) committed between verify-email's read of the user and its
/// write: the link proved the old address only, and must not mark the new one verified. The
/// change is held uncommitted until the verification waits on the user's row.
#[tokio::test]
async fn a_verification_does_not_prove_an_address_changed_under_it() {
    let server = TestServer::start().await;
    let mut c = server.client();
    let uid = c.sign_up_id("Kim", "kim@example.com", "password-123").await;
    c.post(
        "/api/auth/send-verification-email",
        json!({"email": "kim@example.com"}),
    )
    .await;
    let link = server.wait_for_link("kim@example.com", 1).await;
    let change = server.state.db().await.unwrap();
    change
        .batch_execute(&format!(
            r#"begin; update "user" set "email" = 'new@example.org', "emailVerified" = false where "id" = '{uid}'"#
        ))
        .await
        .unwrap();
    let mut verifier = server.client();
    let verify = tokio::spawn(async move { verifier.get(&path_and_query(&link)).await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    until_waiting_for_locks(
        &change,
        1,
        deadline,
        "the verification never waited (answered first?)",
    )
    .await;
    change.batch_execute("commit").await.unwrap();
    let answer = verify.await.unwrap();
    let stored = server.psql(&format!(
        r#"select "email", "emailVerified" from "user" where "id" = '{uid}'"#
    ));
    assert_eq!(
        stored.trim(),
        "new@example.org|f",
        "verify-email answered {}",
        answer.status
    );
}

/// A callback URL with letters outside ASCII (`/bienvenue/é`) is a valid URL of a trusted origin;
/// a `Location` header holds ASCII only, so it is sent percent-encoded, as a browser encodes it,
/// rather than left out (a 302 without `Location` strands the browser on an empty page).
#[tokio::test]
async fn a_callback_outside_ascii_is_sent_percent_encoded() {
    let server = TestServer::start().await;
    let mut c = server.client();
    c.sign_up("Zoë", "zoe@example.com", "password-123").await;
    let r = c
        .post(
            "/api/auth/send-verification-email",
            json!({"email": "zoe@example.com", "callbackURL": "http://localhost:3000/bienvenue/é?à=ü"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let link = server.wait_for_link("zoe@example.com", 1).await;
    let r = c.get(&path_and_query(&link)).await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        "http://localhost:3000/bienvenue/%C3%A9?%C3%A0=%C3%BC"
    );
}

/// A callback URL with a fragment (`/reset#top`, a single-page app's route) gets the link's
/// `token` or `error` in its query, before the fragment: after it, the page's query lacks it (and
/// the browser never sends a fragment to the app's server).
#[tokio::test]
async fn a_link_puts_its_answer_before_the_callbacks_fragment() {
    let server = TestServer::start().await;
    let mut anon = server.client();
    let r = anon
        .get("/api/auth/reset-password/bogus?callbackURL=http%3A%2F%2Flocalhost%3A3000%2Freset%23top")
        .await;
    assert_eq!(
        r.headers["location"],
        "http://localhost:3000/reset?error=INVALID_TOKEN#top"
    );
    let r = anon
        .get("/api/auth/verify-email?token=bogus&callbackURL=http%3A%2F%2Flocalhost%3A3000%2Fwelcome%3Fx%3D1%23top")
        .await;
    assert_eq!(
        r.headers["location"],
        "http://localhost:3000/welcome?x=1&error=INVALID_TOKEN#top"
    );

    let mut c = server.client();
    c.sign_up("Lea", "lea@example.com", "old-password-1").await;
    let r = anon
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "lea@example.com", "redirectTo": "http://localhost:3000/reset#top"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let link = server.wait_for_link("lea@example.com", 1).await;
    let r = anon.get(&path_and_query(&link)).await;
    let location = r.headers["location"].to_str().unwrap();
    let token = location
        .strip_prefix("http://localhost:3000/reset?token=")
        .and_then(|rest| rest.strip_suffix("#top"))
        .expect(location);
    assert_eq!(token.len(), 24, "{location}");
}
