//! `change-email` end to end through the dev mailbox: the link goes to the new address and
//! changes the account's address once; a replayed link, a link for an address someone took in
//! the meantime and a request for an address already in use change nothing (and the latter sends
//! no mail, so the answer reveals nothing). A pending link dies with a password reset or change,
//! with signing out everywhere, with the end of the session that asked for it, and with any change of the address (a used link does not work
//! again once the account is back at its address); once the address changes (by the link or by
//! an admin), the reset links mailed to the old one die.

use crate::common;

use common::*;
use serde_json::json;

/// The path and query of `link` (mailed with the server's base URL).
pub(crate) fn path_of(link: &str) -> String {
    let url = url::Url::parse(link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

#[tokio::test]
async fn the_new_address_is_set_once_by_the_link_mailed_to_it() {
    let server = TestServer::start().await;
    let mut cam = server.client();
    cam.sign_up("Cam", "cam@example.com", "password-123").await;
    let r = cam
        .post(
            "/api/auth/change-email",
            json!({"newEmail": "Cam.New@example.com"}),
        )
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));
    assert_eq!(
        cam.session().await["user"]["email"],
        "cam@example.com",
        "not before the link"
    );

    let link = server.wait_for_link("cam.new@example.com", 1).await;
    let r = server.client().get(&path_of(&link)).await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(cam.session().await["user"]["email"], "cam.new@example.com");
    assert_eq!(
        cam.sign_in("cam.new@example.com", "password-123")
            .await
            .status,
        200,
        "the new address signs in"
    );

    let r = server.client().get(&path_of(&link)).await;
    assert_eq!(r.status, 302);
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .ends_with("error=INVALID_TOKEN"),
        "a replayed link is refused: {:?}",
        r.headers["location"]
    );
    assert_eq!(cam.session().await["user"]["email"], "cam.new@example.com");
}

#[tokio::test]
async fn an_address_in_use_is_never_taken_over() {
    let server = TestServer::start().await;
    let mut cam = server.client();
    cam.sign_up("Cam", "cam@example.com", "password-123").await;
    server
        .client()
        .sign_up("Used", "used@example.com", "password-123")
        .await;
    let r = cam
        .post(
            "/api/auth/change-email",
            json!({"newEmail": "USED@example.com"}),
        )
        .await;
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"status": true})),
        "the same answer as for a free address"
    );

    // A free address asked for, then taken by someone else before the link is opened.
    let link = change_link(&server, &mut cam, "late@example.com").await;
    server
        .client()
        .sign_up("Late", "late@example.com", "password-123")
        .await;
    let r = server
        .client()
        .get(&path_of(&link).replace("&callbackURL=%2F", ""))
        .await;
    assert_eq!(
        (r.status, r.json()["code"].as_str()),
        (422, Some("USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")),
        "{}",
        r.text
    );
    assert_eq!(cam.session().await["user"]["email"], "cam@example.com");
    assert!(
        !server
            .mails()
            .iter()
            .any(|m| m.contains("To: used@example.com")),
        "no mail to an address in use"
    );
}

/// An account whose address is verified moves only with that address's consent: asking mails a
/// confirmation link to the current address (naming the new one), nothing to the new address;
/// opening it (anywhere) mails the verification link to the new address, which then moves the
/// account. A thief with a copy of the session cookie cannot move such an account (and then take
/// it over with a reset mailed to the new address): the owner's mailbox has to agree, and the
/// owner learns of the attempt.
#[tokio::test]
async fn a_verified_address_confirms_a_change_before_the_new_address_is_mailed() {
    let server = TestServer::start().await;
    let (mut val, confirmation) = confirmation_link(&server, "val.new@example.com").await;
    let mail = server
        .mails()
        .into_iter()
        .rfind(|m| m.contains("To: val@example.com"))
        .unwrap();
    assert!(mail.contains("val.new@example.com"), "{mail}");
    assert_eq!(mails_to(&server, "val.new@example.com"), 0);

    let r = server.client().get(&path_of(&confirmation)).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.headers["location"], "/settings");
    assert_eq!(address(&mut val).await, "val@example.com", "not moved yet");
    let verification = server.wait_for_link("val.new@example.com", 1).await;
    let r = server.client().get(&path_of(&verification)).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.headers["location"], "/settings");
    assert_eq!(address(&mut val).await, "val.new@example.com");
    assert_eq!(val.session().await["user"]["emailVerified"], true);
}

/// A ban (an admin action ending the user's sessions in its transaction) racing the opening of a
/// change-email link: both lock the user's row before the sessions, so one waits for the other
/// instead of PostgreSQL ending one of them as a deadlock (a 500). A helper transaction holds
/// the first session so that the ban stops at its sessions while the link is opened.
#[tokio::test]
async fn a_ban_racing_a_change_email_link_is_no_deadlock() {
    let (server, mut root) = server_with_an_admin().await;
    let (_cam, id, mut thief) = cam_and_a_thief(&server).await;
    let link = change_link(&server, &mut thief, "thief@example.com").await;
    let first = server.psql(&format!(
        r#"select "id" from "session" where "userId" = '{id}' order by "createdAt" limit 1"#
    ));
    let holder = server.state.db().await.unwrap();
    holder
        .batch_execute(&format!(
            r#"begin; select 1 from "session" where "id" = '{first}' for share"#
        ))
        .await
        .unwrap();
    let mut anyone = server.client();
    let (ban, opened, ()) = tokio::join!(
        root.post("/api/auth/admin/ban-user", json!({"userId": id})),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            anyone.get(&path_of(&link)).await
        },
        async {
            tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
            holder.batch_execute("rollback").await.unwrap();
        }
    );
    assert_eq!(ban.status, 200, "{}", ban.text);
    assert_eq!(opened.status, 302, "{}", opened.text);
    assert!(
        opened.headers["location"]
            .to_str()
            .unwrap()
            .ends_with("?error=CREDENTIALS_CHANGED"),
        "the ban came first and ended the session that asked: {:?}",
        opened.headers["location"]
    );
    assert_eq!(
        server.psql("select deadlocks from pg_stat_database where datname = current_database()"),
        "0"
    );
}

/// A link mailed straight to the new address while the current one was not verified moves the
/// account no more once the current address is verified: from then on its mailbox must agree
/// first (the confirmation), and it never did.
#[tokio::test]
async fn a_link_asked_for_before_the_address_was_verified_dies_when_it_is() {
    let server = TestServer::start().await;
    let mut cam = server.client();
    cam.sign_up("Cam", "cam@example.com", "password-123").await;
    let direct = change_link(&server, &mut cam, "elsewhere@example.com").await;
    server.psql(r#"update "user" set "emailVerified" = true where "email" = 'cam@example.com'"#);
    let r = server.client().get(&path_of(&direct)).await;
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .ends_with("?error=CREDENTIALS_CHANGED"),
        "{:?}",
        r.headers["location"]
    );
    assert_eq!(address(&mut cam).await, "cam@example.com");
}

/// The mails in the dev mailbox addressed to `to`.
fn mails_to(server: &TestServer, to: &str) -> usize {
    server
        .mails()
        .iter()
        .filter(|m| m.contains(&format!("To: {to}")))
        .count()
}

/// A thief holding a copy of the owner's session cookie asks for the account to move to an
/// address of theirs and keeps the link; the owner resets the password, which ends every session.
/// Opened afterwards, signed out, the link must change nothing: otherwise the account moves to the
/// thief's address and a reset mailed there hands it over for good.
#[tokio::test]
async fn a_change_email_link_dies_when_the_owner_resets_the_password() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Cam", "cam@example.com", "password-123")
        .await;
    let mut thief = server.client();
    thief.cookies = owner.cookies.clone();
    let r = thief
        .post(
            "/api/auth/change-email",
            json!({"newEmail": "thief@example.com"}),
        )
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));
    let link = server.wait_for_link("thief@example.com", 1).await;

    server
        .reset_password("cam@example.com", 1, "password-456")
        .await;
    assert_eq!(
        thief.get("/api/auth/get-session").await.text,
        "null",
        "the reset ended the stolen session"
    );

    let r = server.client().get(&path_of(&link)).await;
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.headers["location"].to_str().unwrap();
    assert!(
        location.ends_with("?error=CREDENTIALS_CHANGED"),
        "the link is refused: {location}"
    );
    let r = server
        .client()
        .get(&path_of(&link).replace("&callbackURL=%2F", ""))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (401, "CREDENTIALS_CHANGED".to_owned()),
        "{}",
        r.text
    );

    let mut owner = server.client();
    let r = owner.sign_in("cam@example.com", "password-456").await;
    assert_eq!(r.status, 200, "the owner keeps the address: {}", r.text);
    assert_eq!(owner.session().await["user"]["email"], "cam@example.com");
    let r = server
        .client()
        .post(
            "/api/auth/request-password-reset",
            json!({"email": "thief@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        mails_to(&server, "thief@example.com"),
        1,
        "no account holds the thief's address, so no reset goes there"
    );

    // The owner's own change, asked for after the reset, still goes through.
    let link = change_link(&server, &mut owner, "cam.new@example.com").await;
    let r = server.client().get(&path_of(&link)).await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert!(
        !r.headers["location"].to_str().unwrap().contains("error="),
        "{:?}",
        r.headers["location"]
    );
    assert_eq!(
        owner.session().await["user"]["email"],
        "cam.new@example.com"
    );
}

/// A pending link also dies when the password is changed (even with the other sessions kept) and
/// when the owner signs out everywhere; a link asked for after either works, signed in or not.
#[tokio::test]
async fn a_change_email_link_dies_with_a_password_change_or_signing_out_everywhere() {
    let server = TestServer::start().await;
    let mut cam = server.client();
    cam.sign_up("Cam", "cam@example.com", "password-123").await;

    let before_change = change_link(&server, &mut cam, "one@example.com").await;
    let r = cam
        .post(
            "/api/auth/change-password",
            json!({"currentPassword": "password-123", "newPassword": "password-456"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = cam.get(&path_of(&before_change)).await;
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .ends_with("?error=CREDENTIALS_CHANGED"),
        "refused after a password change, even signed in: {:?}",
        r.headers["location"]
    );

    let before_revoke = change_link(&server, &mut cam, "two@example.com").await;
    let r = cam.post("/api/auth/revoke-sessions", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = server.client().get(&path_of(&before_revoke)).await;
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .ends_with("?error=CREDENTIALS_CHANGED"),
        "refused after signing out everywhere: {:?}",
        r.headers["location"]
    );
    let mut cam = server.client();
    assert_eq!(
        cam.sign_in("cam@example.com", "password-456").await.status,
        200,
        "neither link moved the account"
    );

    let after = change_link(&server, &mut cam, "three@example.com").await;
    let r = cam.get(&path_of(&after)).await;
    assert_eq!(r.status, 302);
    assert!(
        !r.headers["location"].to_str().unwrap().contains("error="),
        "{:?}",
        r.headers["location"]
    );
    assert_eq!(cam.session().await["user"]["email"], "three@example.com");
}

/// A link dies with the session that asked for it: the owner who finds a stranger's session
/// (a stolen cookie) and revokes only that one, or a device that signs out, leaves no link that
/// can still move the account. A link asked for by a session that lives on still works, opened
/// anywhere.
#[tokio::test]
async fn a_change_email_link_dies_with_the_session_that_asked_for_it() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Dee", "dee@example.com", "password-123")
        .await;
    let mut thief = server.client();
    assert_eq!(
        thief
            .sign_in("dee@example.com", "password-123")
            .await
            .status,
        200
    );
    let thiefs_token = thief.session().await["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let stolen = change_link(&server, &mut thief, "thief@example.com").await;
    let r = owner
        .post("/api/auth/revoke-session", json!({"token": thiefs_token}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = server.client().get(&path_of(&stolen)).await;
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .ends_with("?error=CREDENTIALS_CHANGED"),
        "refused once the session that asked is revoked: {:?}",
        r.headers["location"]
    );

    let mut laptop = server.client();
    laptop.sign_in("dee@example.com", "password-123").await;
    let signed_out = change_link(&server, &mut laptop, "laptop@example.com").await;
    assert_eq!(
        laptop.post("/api/auth/sign-out", json!({})).await.status,
        200
    );
    let r = server.client().get(&path_of(&signed_out)).await;
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .ends_with("?error=CREDENTIALS_CHANGED"),
        "refused once the session that asked signed out: {:?}",
        r.headers["location"]
    );
    assert_eq!(address(&mut owner).await, "dee@example.com");

    let kept = change_link(&server, &mut owner, "dee.new@example.com").await;
    let r = server.client().get(&path_of(&kept)).await;
    assert_eq!(r.status, 302);
    assert!(
        !r.headers["location"].to_str().unwrap().contains("error="),
        "{:?}",
        r.headers["location"]
    );
    assert_eq!(address(&mut owner).await, "dee.new@example.com");
}

/// Asserts that the reset link of `token` is refused, both when opened and when used.
async fn reset_link_refused(server: &TestServer, token: &str, why: &str) {
    let r = server
        .client()
        .get(&format!(
            "/api/auth/reset-password/{token}?callbackURL=%2Freset"
        ))
        .await;
    let location = r.headers["location"].to_str().unwrap();
    assert!(
        location.ends_with("/reset?error=INVALID_TOKEN"),
        "{why}: {location}"
    );
    let r = server
        .client()
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "taken-over-1", "token": token}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "INVALID_TOKEN".to_owned()),
        "{why}: {}",
        r.text
    );
}

/// A reset link goes to the address the account has when it is asked for. Once the owner moves
/// the account to another address, the links mailed to the old one (a mailbox given up, perhaps
/// read by someone else now) no longer set the password.
#[tokio::test]
async fn reset_links_mailed_to_the_old_address_die_when_the_owner_changes_it() {
    let server = TestServer::start().await;
    let mut cam = server.client();
    cam.sign_up("Cam", "cam@example.com", "password-123").await;
    let token = server.reset_token("cam@example.com", 1).await;

    let link = change_link(&server, &mut cam, "cam.new@example.com").await;
    let r = server.client().get(&path_of(&link)).await;
    assert_eq!(r.status, 302);
    assert!(
        !r.headers["location"].to_str().unwrap().contains("error="),
        "{:?}",
        r.headers["location"]
    );
    assert_eq!(cam.session().await["user"]["email"], "cam.new@example.com");

    reset_link_refused(&server, &token, "a reset link mailed to the old address").await;
    assert_eq!(
        server
            .client()
            .sign_in("cam.new@example.com", "password-123")
            .await
            .status,
        200,
        "the password is unchanged"
    );
}

/// A reset asked for while the address is being changed reads the user at the old address; its
/// link is stored (and mailed) only if the address is still that one once the change is
/// committed, so no link to the old address outlives the change.
#[tokio::test]
async fn a_reset_racing_an_address_change_leaves_no_link_to_the_old_address() {
    let server = TestServer::start().await;
    let uid = server
        .client()
        .sign_up("Cam", "cam@example.com", "password-123")
        .await
        .json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut db = server.state.db().await.unwrap();
    let change = db.transaction().await.unwrap();
    change
        .execute(
            r#"update "user" set "email" = 'cam.new@example.com' where "id" = $1"#,
            &[&uid],
        )
        .await
        .unwrap();
    let mut requester = server.client();
    let reset = tokio::spawn(async move {
        requester
            .post(
                "/api/auth/request-password-reset",
                json!({"email": "cam@example.com"}),
            )
            .await
            .status
    });
    // The change commits once the request has read the old address: it is then either done or
    // waiting for the change.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !reset.is_finished()
        && server
            .psql(r#"select count(*) from pg_stat_activity where "wait_event_type" = 'Lock'"#)
            .trim()
            != "1"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the reset request neither ended nor waited for the address change"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    change.commit().await.unwrap();
    assert_eq!(reset.await.unwrap(), 200);
    assert_eq!(
        server
            .psql(r#"select count(*) from "verification" where starts_with("identifier", 'reset-password:')"#)
            .trim(),
        "0",
        "no reset link for the old address was stored"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(mails_to(&server, "cam@example.com"), 0, "none was mailed");
}

/// The same when an admin changes the address (`admin/update-user`); an update that leaves the
/// address alone keeps the links. A sign-in waiting for its second factor, whose code went to the
/// old address, ends too.
#[tokio::test]
async fn reset_links_mailed_to_the_old_address_die_when_an_admin_changes_it() {
    let (server, mut root) = server_with_an_admin().await;
    let mut uma = server.client();
    let uid = uma
        .sign_up_id("Uma", "uma@example.com", "password-123")
        .await;
    enable_two_factor(&mut uma, "password-123").await;
    let token = server.reset_token("uma@example.com", 1).await;

    let r = root
        .post(
            "/api/auth/admin/update-user",
            json!({"userId": uid, "data": {"name": "Uma R.", "email": "UMA@example.com"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = server
        .client()
        .get(&format!(
            "/api/auth/reset-password/{token}?callbackURL=%2Freset"
        ))
        .await;
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .ends_with(&format!("/reset?token={token}")),
        "the address did not change, so the link still works: {:?}",
        r.headers["location"]
    );

    let mut signing_in = server.client();
    let r = signing_in.sign_in("uma@example.com", "password-123").await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "{}", r.text);
    let r = signing_in
        .post("/api/auth/two-factor/send-otp", json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = server.wait_for_code(1).await;

    let r = root
        .post(
            "/api/auth/admin/update-user",
            json!({"userId": uid, "data": {"email": "uma.new@example.com"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["email"], "uma.new@example.com", "{}", r.text);

    reset_link_refused(&server, &token, "a reset link mailed to the old address").await;
    let r = signing_in
        .post("/api/auth/two-factor/verify-otp", json!({"code": code}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (401, "INVALID_TWO_FACTOR_COOKIE".to_owned()),
        "the code mailed to the old address signs nobody in: {}",
        r.text
    );
    assert_eq!(signing_in.get("/api/auth/get-session").await.text, "null");

    let token = server.reset_token("uma.new@example.com", 1).await;
    let r = server
        .client()
        .post(
            "/api/auth/reset-password",
            json!({"newPassword": "password-456", "token": token}),
        )
        .await;
    assert_eq!(
        r.status, 200,
        "a reset mailed to the new address works: {}",
        r.text
    );
}

/// A link moves the account once, and only from the address it has as it was when the link was
/// sent: a thief with a copy of the session moves the account to an address of theirs; the owner
/// moves it back and signs that session out (or an admin moves it back). The thief's link, already
/// used, and a second one asked for before the owner's move and never opened, change nothing,
/// though the account is at their `email` again; a link asked for afterwards works.
#[tokio::test]
async fn a_link_does_not_move_the_account_again_once_it_is_back_at_the_links_address() {
    let (server, mut root) = server_with_an_admin().await;
    let (mut owner, uid, mut thief) = cam_and_a_thief(&server).await;
    let used = change_link(&server, &mut thief, "thief@example.com").await;
    let unopened = change_link(&server, &mut thief, "thief2@example.com").await;
    assert_eq!(server.client().get(&path_of(&used)).await.status, 302);
    assert_eq!(address(&mut owner).await, "thief@example.com");

    // The owner moves the account back and signs the thief's session out.
    let back = change_link(&server, &mut owner, "cam@example.com").await;
    assert_eq!(server.client().get(&path_of(&back)).await.status, 302);
    assert_eq!(
        thief.post("/api/auth/sign-out", json!({})).await.status,
        200
    );
    for (link, what) in [(&used, "the used link"), (&unopened, "the unopened link")] {
        let r = server.client().get(&path_of(link)).await;
        assert_ne!(r.status, 200, "{what}: {}", r.text);
        assert_eq!(address(&mut owner).await, "cam@example.com", "{what}");
    }

    // The same when an admin moves it back.
    let moved = change_link(&server, &mut owner, "cam.new@example.com").await;
    assert_eq!(server.client().get(&path_of(&moved)).await.status, 302);
    let r = root
        .post(
            "/api/auth/admin/update-user",
            json!({"userId": uid, "data": {"email": "cam@example.com"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = server.client().get(&path_of(&back)).await;
    assert_ne!(r.status, 200, "{}", r.text);
    assert_eq!(address(&mut owner).await, "cam@example.com");
    let r = server.client().get(&path_of(&moved)).await;
    assert_ne!(r.status, 200, "{}", r.text);
    assert_eq!(address(&mut owner).await, "cam@example.com");

    // A link asked for now works.
    let later = change_link(&server, &mut owner, "cam.later@example.com").await;
    assert_eq!(server.client().get(&path_of(&later)).await.status, 302);
    assert_eq!(address(&mut owner).await, "cam.later@example.com");
}

async fn address(client: &mut Client) -> String {
    client.session().await["user"]["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A server without the session cache, and a signed-in admin.
async fn server_with_an_admin() -> (TestServer, Client) {
    let server = TestServer::start_with(Options {
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await;
    let root = server.admin("Root", "root@example.com").await;
    (server, root)
}

/// Cam, signed up (with her id), and a thief signed in to her account in a browser of their own
/// (standing for a copy of her session cookie).
async fn cam_and_a_thief(server: &TestServer) -> (Client, String, Client) {
    let mut cam = server.client();
    let id = cam
        .sign_up_id("Cam", "cam@example.com", "password-123")
        .await;
    let mut thief = server.client();
    let r = thief.sign_in("cam@example.com", "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    (cam, id, thief)
}

/// Whether the new address has an account is not found out while the request waits: an address
/// without one is looked up, its mail budget drawn on and the link made and mailed, which took
/// about 1 ms more than an address with an account (which gets none of it) when it was, so any
/// signed-in user could tell which addresses have accounts by time. Here the mail budgets are
/// locked: an answer that waited for that work would not come while they are.
#[tokio::test]
async fn the_answer_does_not_wait_for_what_an_address_without_an_account_gets() {
    let server = TestServer::start().await;
    let mut cam = server.client();
    cam.sign_up("Cam", "cam@example.com", "password-123").await;
    let r = answered_while_mail_budgets_are_locked(
        &server,
        cam.post(
            "/api/auth/change-email",
            json!({"newEmail": "free@example.com"}),
        ),
    )
    .await;
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));
    // The link is still mailed, once the budget can be drawn on.
    server.wait_for_link("free@example.com", 1).await;
}

/// Nor does opening the confirmation link wait for it: the holder of a verified account asks to
/// move it to any address and opens the confirmation link in their own mailbox, whose answer
/// came after the new address was looked up and, without an account, its mail budget drawn on
/// (a write committed) and the verification link made; by its time they could tell which
/// addresses have accounts, once a link. Here the mail budgets are locked while it is opened.
#[tokio::test]
async fn opening_the_confirmation_link_does_not_wait_for_what_an_address_without_an_account_gets() {
    let server = TestServer::start().await;
    let (_val, confirmation) = confirmation_link(&server, "free@example.com").await;
    let r = answered_while_mail_budgets_are_locked(
        &server,
        server.client().get(&path_of(&confirmation)),
    )
    .await;
    assert_eq!(r.status, 302, "{}", r.text);
    assert_eq!(r.headers["location"], "/settings");
    // The verification link is still mailed, once the budget can be drawn on.
    server.wait_for_link("free@example.com", 1).await;
}

/// Val, signed in with a verified address, and the confirmation link mailed there when Val asks
/// to move the account to `new_email` (with `/settings` to come back to).
pub(crate) async fn confirmation_link(server: &TestServer, new_email: &str) -> (Client, String) {
    let mut val = server.client();
    val.sign_up("Val", "val@example.com", "password-123").await;
    server.psql(r#"update "user" set "emailVerified" = true where "email" = 'val@example.com'"#);
    let before = mails_to(server, "val@example.com");
    let r = val
        .post(
            "/api/auth/change-email",
            json!({"newEmail": new_email, "callbackURL": "/settings"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let confirmation = server.wait_for_link("val@example.com", before + 1).await;
    (val, confirmation)
}

/// The answer to `request`, which must come while every mail budget is locked: one that waited
/// for the new address's budget would not.
async fn answered_while_mail_budgets_are_locked(
    server: &TestServer,
    request: impl std::future::Future<Output = Response>,
) -> Response {
    let mut holder = server.state.db().await.unwrap();
    let lock = holder.transaction().await.unwrap();
    lock.batch_execute(r#"lock table "mail_budget" in exclusive mode"#)
        .await
        .unwrap();
    let answered = tokio::time::timeout(std::time::Duration::from_secs(10), request).await;
    lock.rollback().await.unwrap();
    answered.expect("the answer waited for the new address's mail budget")
}
