//! Attacks on the second factor: racing the attempt counters, replaying TOTP steps and backup
//! codes, racing codes and trust-device cookies, re-enrolling over a working authenticator, and
//! trusted devices surviving a disable.

use std::sync::Arc;

use serde_json::json;
use stackr_auth::routes::two_factor::{LOCK_AFTER, MAX_ATTEMPTS};
use tokio::task::JoinSet;

use super::harness::{Attack, Outcome, Stack, User};
use crate::common::{enable_two_factor, key_from_uri, totp_steps_from_now, Client, SECRET};
use crate::ensure;

const VERIFY_TOTP: &str = "/api/auth/two-factor/verify-totp";
const VERIFY_BACKUP: &str = "/api/auth/two-factor/verify-backup-code";

/// A user with TOTP turned on, the owner's browser, the authenticator key and backup codes.
struct Enrolled {
    owner: Client,
    user: User,
    key: Vec<u8>,
    backup: Vec<String>,
}

async fn enrolled(stack: &Stack) -> Enrolled {
    let (mut owner, user) = stack.user("tf").await;
    let (key, backup) = enable_two_factor(&mut owner, &user.password).await;
    Enrolled {
        owner: stack.moved(&owner),
        user,
        key,
        backup,
    }
}

/// An enrolled user, how many sessions they have now, and `n` pending sign-in challenges.
async fn enrolled_with_challenges(stack: &Stack, n: usize) -> (Enrolled, i64, Vec<Client>) {
    let e = enrolled(stack).await;
    let sessions = stack.sessions_of(&e.user.id).await;
    let mut challenges = Vec::new();
    for _ in 0..n {
        challenges.push(challenge(stack, &e.user).await);
    }
    (e, sessions, challenges)
}

/// The attack must not have opened a session for the user.
async fn no_new_session(stack: &Stack, user_id: &str, before: i64) -> Outcome {
    let now = stack.sessions_of(user_id).await;
    ensure!(now == before, "{} sessions were created", now - before);
    Ok(())
}

/// Signs in from a new address and returns the browser holding the pending challenge.
async fn challenge(stack: &Stack, user: &User) -> Client {
    let (c, r) = stack.sign_in(user).await;
    assert_eq!(r.json()["twoFactorRedirect"], true, "sign-in: {}", r.text);
    c
}

/// A six-digit code that no accepted step produces.
fn wrong_code(key: &[u8]) -> String {
    let valid: Vec<String> = (-2..=2).map(|s| totp_steps_from_now(key, s)).collect();
    (0..)
        .map(|n: u32| format!("{:06}", 123_457 + n))
        .find(|c| !valid.contains(c))
        .unwrap()
}

/// Sends `(path, code)` from `browser` moved to one new address per request, all at once, and
/// returns the `code` of every answer.
async fn all_at_once(stack: &Stack, requests: Vec<(&Client, &'static str, String)>) -> Vec<String> {
    let mut tasks = JoinSet::new();
    for (browser, path, code) in requests {
        let mut c = stack.moved(browser);
        tasks.spawn(async move { c.post(path, json!({"code": code})).await });
    }
    let mut codes = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        codes.push(if r.status == 200 {
            "200".to_owned()
        } else {
            r.code()
        });
    }
    codes
}

/// Answers that show the server compared the code.
fn evaluated(codes: &[String]) -> usize {
    codes
        .iter()
        .filter(|c| *c == "INVALID_CODE" || *c == "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE")
        .count()
}

async fn failed_count(stack: &Stack, user_id: &str) -> i64 {
    stack
        .count(
            r#"select coalesce("failedVerificationCount", 0)::bigint from "twoFactor" where "userId" = $1"#,
            user_id,
        )
        .await
}

fn successes(codes: &[String]) -> usize {
    codes.iter().filter(|c| *c == "200").count()
}

async fn guesses_race_one_challenge(stack: Arc<Stack>) -> Outcome {
    let e = enrolled(&stack).await;
    let sessions = stack.sessions_of(&e.user.id).await;
    let c = challenge(&stack, &e.user).await;
    let wrong = wrong_code(&e.key);
    let codes = all_at_once(
        &stack,
        (0..60).map(|_| (&c, VERIFY_TOTP, wrong.clone())).collect(),
    )
    .await;
    let n = evaluated(&codes);
    ensure!(
        n <= MAX_ATTEMPTS as usize,
        "{n} of 60 concurrent guesses were evaluated, the limit per challenge is {MAX_ATTEMPTS}"
    );
    let failures = failed_count(&stack, &e.user.id).await;
    ensure!(
        failures <= i64::from(MAX_ATTEMPTS),
        "{failures} failures recorded for {MAX_ATTEMPTS} allowed guesses"
    );
    no_new_session(&stack, &e.user.id, sessions).await?;
    Ok(())
}

async fn guesses_race_account_limit(stack: Arc<Stack>) -> Outcome {
    let (e, sessions, challenges) = enrolled_with_challenges(&stack, 4).await;
    let wrong = &wrong_code(&e.key);
    let codes = all_at_once(
        &stack,
        challenges
            .iter()
            .flat_map(|c| (0..15).map(move |_| (c, VERIFY_TOTP, wrong.clone())))
            .collect(),
    )
    .await;
    let n = evaluated(&codes);
    ensure!(
        n <= LOCK_AFTER as usize,
        "{n} of 60 guesses over 4 challenges were evaluated, the account limit is {LOCK_AFTER}"
    );
    let mut fresh = challenge(&stack, &e.user).await;
    let r = fresh
        .post(VERIFY_TOTP, json!({"code": totp_steps_from_now(&e.key, 0)}))
        .await;
    ensure!(
        r.status == 429 && r.code() == "ACCOUNT_TEMPORARILY_LOCKED",
        "the right code after {LOCK_AFTER} failures answered {} {}",
        r.status,
        r.text
    );
    no_new_session(&stack, &e.user.id, sessions).await?;
    Ok(())
}

async fn challenge_completed_twice(stack: Arc<Stack>) -> Outcome {
    let e = enrolled(&stack).await;
    let sessions = stack.sessions_of(&e.user.id).await;
    let c = challenge(&stack, &e.user).await;
    let codes = all_at_once(
        &stack,
        e.backup[..4]
            .iter()
            .map(|b| (&c, VERIFY_BACKUP, b.clone()))
            .collect(),
    )
    .await;
    let created = stack.sessions_of(&e.user.id).await - sessions;
    ensure!(
        created == 1 && successes(&codes) == 1,
        "one challenge completed {} times ({created} sessions): {codes:?}",
        successes(&codes)
    );
    Ok(())
}

/// Completes one challenge with the code of step `accepted` (relative to now), then tries a
/// second challenge with the code of step `tried`: the same code again, or an earlier step.
async fn second_totp_refused(stack: Arc<Stack>, accepted: i64, tried: i64) -> Outcome {
    let e = enrolled(&stack).await;
    let mut first = challenge(&stack, &e.user).await;
    let mut second = challenge(&stack, &e.user).await;
    let code = totp_steps_from_now(&e.key, accepted);
    let r = first.post(VERIFY_TOTP, json!({"code": code})).await;
    assert_eq!(r.status, 200, "first code: {}", r.text);
    let sessions = stack.sessions_of(&e.user.id).await;
    // The very same string for a replay, so a step boundary in between cannot change it.
    let tried = if tried == accepted {
        code
    } else {
        totp_steps_from_now(&e.key, tried)
    };
    let r = second.post(VERIFY_TOTP, json!({"code": tried})).await;
    ensure!(
        r.status == 401 && r.code() == "INVALID_CODE",
        "the second code answered {} {}",
        r.status,
        r.text
    );
    no_new_session(&stack, &e.user.id, sessions).await?;
    Ok(())
}

async fn totp_code_raced(stack: Arc<Stack>) -> Outcome {
    let (e, sessions, challenges) = enrolled_with_challenges(&stack, 6).await;
    let code = totp_steps_from_now(&e.key, 0);
    let codes = all_at_once(
        &stack,
        challenges
            .iter()
            .map(|c| (c, VERIFY_TOTP, code.clone()))
            .collect(),
    )
    .await;
    let created = stack.sessions_of(&e.user.id).await - sessions;
    ensure!(
        created == 1 && successes(&codes) == 1,
        "one TOTP code opened {created} sessions: {codes:?}"
    );
    Ok(())
}

/// The backup codes the database still holds for the user.
async fn stored_backup_codes(stack: &Stack, user_id: &str) -> Vec<String> {
    let sealed = stack
        .text(
            r#"select "backupCodes" from "twoFactor" where "userId" = $1"#,
            user_id,
        )
        .await
        .unwrap();
    let json = stackr_auth::crypto::decrypt(SECRET.as_bytes(), &sealed).unwrap();
    serde_json::from_str(&json).unwrap()
}

async fn backup_code_raced(stack: Arc<Stack>) -> Outcome {
    let (e, sessions, challenges) = enrolled_with_challenges(&stack, 6).await;
    let codes = all_at_once(
        &stack,
        challenges
            .iter()
            .map(|c| (c, VERIFY_BACKUP, e.backup[0].clone()))
            .collect(),
    )
    .await;
    let created = stack.sessions_of(&e.user.id).await - sessions;
    ensure!(
        created == 1,
        "one backup code opened {created} sessions: {codes:?}"
    );
    Ok(())
}

async fn backup_codes_lost_update(stack: Arc<Stack>) -> Outcome {
    let (e, _, challenges) = enrolled_with_challenges(&stack, 4).await;
    let codes = all_at_once(
        &stack,
        challenges
            .iter()
            .zip(&e.backup)
            .map(|(c, b)| (c, VERIFY_BACKUP, b.clone()))
            .collect(),
    )
    .await;
    ensure!(
        successes(&codes) == 4,
        "four different valid codes did not all work: {codes:?}"
    );
    let left = stored_backup_codes(&stack, &e.user.id).await;
    let revived: Vec<&String> = e.backup[..4].iter().filter(|b| left.contains(b)).collect();
    ensure!(
        revived.is_empty() && left.len() == e.backup.len() - 4,
        "spent codes are usable again: {revived:?}"
    );
    Ok(())
}

async fn enable_again_over_working_authenticator(stack: Arc<Stack>) -> Outcome {
    let mut e = enrolled(&stack).await;
    let query = r#"select "secret" || "backupCodes" from "twoFactor" where "userId" = $1"#;
    let before = stack.text(query, &e.user.id).await;
    let r = e
        .owner
        .post(
            "/api/auth/two-factor/enable",
            json!({"password": e.user.password}),
        )
        .await;
    ensure!(
        r.status == 400 && r.code() == "TOTP_ALREADY_ENABLED",
        "enable while enabled answered {} {}",
        r.status,
        r.text
    );
    ensure!(
        stack.text(query, &e.user.id).await == before,
        "the enrolment was replaced"
    );
    Ok(())
}

/// Completes a challenge asking to trust the browser; returns the browser holding only the
/// trust-device cookie.
async fn trusted_browser(stack: &Stack, e: &Enrolled) -> Client {
    let mut device = challenge(stack, &e.user).await;
    let r = device
        .post(
            VERIFY_TOTP,
            json!({"code": totp_steps_from_now(&e.key, 0), "trustDevice": true}),
        )
        .await;
    assert_eq!(r.status, 200, "trusting the device: {}", r.text);
    device
        .cookies
        .retain(|name, _| name.contains("trust_device"));
    device
}

async fn trust_device_cookie_raced(stack: Arc<Stack>) -> Outcome {
    let e = enrolled(&stack).await;
    let device = trusted_browser(&stack, &e).await;
    let sessions = stack.sessions_of(&e.user.id).await;
    let mut tasks = JoinSet::new();
    for _ in 0..4 {
        let mut c = stack.moved(&device);
        let (email, password) = (e.user.email.clone(), e.user.password.clone());
        tasks.spawn(async move { c.sign_in(&email, &password).await });
    }
    let mut skipped = 0;
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        skipped += usize::from(r.status == 200 && r.json()["twoFactorRedirect"] != true);
    }
    let created = stack.sessions_of(&e.user.id).await - sessions;
    ensure!(
        skipped == 1 && created == 1,
        "one trust-device cookie skipped the second factor {skipped} times ({created} sessions)"
    );
    Ok(())
}

async fn trusted_device_survives_disable(stack: Arc<Stack>) -> Outcome {
    let e = enrolled(&stack).await;
    let device = trusted_browser(&stack, &e).await;
    let mut owner = stack.moved(&e.owner);
    let r = owner
        .post(
            "/api/auth/two-factor/disable",
            json!({"password": e.user.password}),
        )
        .await;
    assert_eq!(r.status, 200, "disable: {}", r.text);
    let trusted = stack
        .count(
            r#"select count(*) from "verification" where "identifier" like 'trust-device-%' and "value" = $1"#,
            &e.user.id,
        )
        .await;
    ensure!(trusted == 0, "{trusted} trusted devices survived disable");
    // Turn 2FA back on with a new authenticator, then sign in from the once-trusted browser.
    let mut owner = stack.moved(&owner);
    let r = owner
        .post(
            "/api/auth/two-factor/enable",
            json!({"password": e.user.password}),
        )
        .await;
    let key = key_from_uri(r.json()["totpURI"].as_str().unwrap());
    let r = stack
        .moved(&owner)
        .post(VERIFY_TOTP, json!({"code": totp_steps_from_now(&key, 0)}))
        .await;
    assert_eq!(r.status, 200, "re-enable: {}", r.text);
    let mut device = stack.moved(&device);
    let r = device
        .post(
            "/api/auth/sign-in/email",
            json!({"email": e.user.email, "password": e.user.password}),
        )
        .await;
    ensure!(
        r.json()["twoFactorRedirect"] == true,
        "the once-trusted browser skipped the second factor: {}",
        r.text
    );
    Ok(())
}

pub fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            attack: "60 concurrent wrong TOTP codes on one sign-in challenge",
            refusal: "at most the per-challenge limit of them is evaluated, no session",
            run: |s| Box::pin(guesses_race_one_challenge(s)),
        },
        Attack {
            attack: "60 concurrent wrong TOTP codes spread over 4 challenges of one account",
            refusal: "at most the per-account limit is evaluated, then the account is locked",
            run: |s| Box::pin(guesses_race_account_limit(s)),
        },
        Attack {
            attack: "4 valid backup codes at once on one challenge",
            refusal: "the challenge issues one session only",
            run: |s| Box::pin(challenge_completed_twice(s)),
        },
        Attack {
            attack: "a TOTP code replayed on a second sign-in challenge",
            refusal: "401 INVALID_CODE, no session",
            run: |s| Box::pin(second_totp_refused(s, 0, 0)),
        },
        Attack {
            attack: "a TOTP code of a step before the last accepted one",
            refusal: "401 INVALID_CODE, no session",
            run: |s| Box::pin(second_totp_refused(s, 1, 0)),
        },
        Attack {
            attack: "one TOTP code on 6 challenges at once",
            refusal: "one session only",
            run: |s| Box::pin(totp_code_raced(s)),
        },
        Attack {
            attack: "one backup code on 6 challenges at once",
            refusal: "one session only",
            run: |s| Box::pin(backup_code_raced(s)),
        },
        Attack {
            attack: "4 different backup codes at once (lost update revives spent codes)",
            refusal: "all 4 are spent afterwards",
            run: |s| Box::pin(backup_codes_lost_update(s)),
        },
        Attack {
            attack: "two-factor/enable while TOTP is on (replaces a working authenticator)",
            refusal: "400 TOTP_ALREADY_ENABLED, enrolment unchanged",
            run: |s| Box::pin(enable_again_over_working_authenticator(s)),
        },
        Attack {
            attack: "one trust-device cookie on 4 sign-ins at once",
            refusal: "it skips the second factor once (it is rotated on use)",
            run: |s| Box::pin(trust_device_cookie_raced(s)),
        },
        Attack {
            attack: "a trust-device cookie from before 2FA was disabled and re-enabled",
            refusal: "sign-in asks for the second factor",
            run: |s| Box::pin(trusted_device_survives_disable(s)),
        },
    ]
}
