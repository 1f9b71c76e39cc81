//! Two-factor routes of one user running at once: each takes the user's row before the
//! enrolment's, so the one that comes second waits for the first instead of PostgreSQL aborting
//! one of them as a deadlock (a 500).

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// `verify-totp` (turning two-factor on, which writes the user's row) and
/// `generate-backup-codes` (which writes the enrolment), from two browsers of one user whose
/// two-factor is on while the enrolment is not yet verified, the one state in which both write.
/// The holder, sharing the user's row and holding the laptop's session, lines them up:
/// `verify-totp` waits to take the user's row, `generate-backup-codes` shares the row and waits
/// for its session. When `verify-totp` took the row shared only, wrote the enrolment and then
/// waited to write the row, the two deadlocked once the holder let go, and one answered 500.
#[tokio::test]
async fn verify_totp_and_generate_backup_codes_at_once_both_answer() {
    let server = TestServer::start().await;
    let mut phone = server.client();
    let uid = phone
        .sign_up_id("Uma", "uma@example.com", "password-123")
        .await;
    let mut laptop = server.client();
    let r = laptop.sign_in("uma@example.com", "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let laptop_token = r.json()["token"].as_str().unwrap().to_owned();
    let (key, _) = enable_two_factor(&mut phone, "password-123").await;
    // Unusual, so written here by hand.
    server.psql(&format!(
        r#"update "twoFactor" set "verified" = false where "userId" = '{uid}'"#
    ));

    let holder = server.state.db().await.unwrap();
    holder
        .batch_execute(&format!(
            r#"begin;
               select 1 from "user" where "id" = '{uid}' for share;
               select 1 from "session" where "token" = '{laptop_token}' for update"#
        ))
        .await
        .unwrap();
    let code = totp_now(&key);
    let verify = tokio::spawn(async move {
        phone
            .post("/api/auth/two-factor/verify-totp", json!({"code": code}))
            .await
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    until_waiting_for_locks(&holder, 1, deadline, "verify-totp never waited").await;
    let codes = tokio::spawn(async move {
        laptop
            .post(
                "/api/auth/two-factor/generate-backup-codes",
                json!({"password": "password-123"}),
            )
            .await
    });
    until_waiting_for_locks(&holder, 2, deadline, "generate-backup-codes never waited").await;
    holder.batch_execute("commit").await.unwrap();
    let (verified, codes) = (verify.await.unwrap(), codes.await.unwrap());
    assert_eq!(verified.status, 200, "verify-totp: {}", verified.text);
    assert_eq!(codes.status, 200, "generate-backup-codes: {}", codes.text);
    let state = server.psql(&format!(
        r#"select u."twoFactorEnabled", t."verified"
           from "user" u join "twoFactor" t on t."userId" = u."id" where u."id" = '{uid}'"#
    ));
    assert_eq!(state.trim(), "t|t");
}
