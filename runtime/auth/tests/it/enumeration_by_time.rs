//! Telling whether an address has an account from how long the answer takes, where the work
//! behind the answer differs by less than a password hash against none (which the adversarial
//! suite's `identity` attacks look for): a wrong password for an account migrated from
//! BetterAuth, whose scrypt hash costs more to check than argon2id, and a sign-up for a taken
//! address while addresses must be verified, which writes nothing.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{median, Options, TestServer};

/// Interleaved probes per kind of address and round.
const PROBES: usize = 7;
/// Rounds a gap must show up in to count: the same work differs by a few percent, and a burst of
/// load from elsewhere on a shared machine does not last every round.
const ROUNDS: usize = 3;
/// How many times slower one kind's median must be to count as a gap. Equal work stays well
/// within it; checking a BetterAuth scrypt hash instead of none took about 2.6 times as long.
const FACTOR: f64 = 1.5;

async fn answer_time(server: &TestServer, path: &str, body: Value) -> Duration {
    let mut client = server.client();
    let started = Instant::now();
    client.post(path, body).await;
    started.elapsed()
}

/// The gaps between the medians of `probe(true, n)` (an address with an account) and
/// `probe(false, n)` (one without), `n` counting the probes of each kind from 0, when every
/// round shows one; empty when some round does not. The kinds are interleaved, so that load from
/// elsewhere slows both alike.
async fn gaps<F, Fut>(mut probe: F) -> Vec<String>
where
    F: FnMut(bool, usize) -> Fut,
    Fut: Future<Output = Duration>,
{
    let mut gaps = Vec::new();
    for round in 0..ROUNDS {
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for i in 0..PROBES {
            unknown.push(probe(false, round * PROBES + i).await);
            known.push(probe(true, round * PROBES + i).await);
        }
        let (k, u) = (median(known), median(unknown));
        if k.max(u).as_secs_f64() > k.min(u).as_secs_f64() * FACTOR {
            gaps.push(format!("account {k:?}, none {u:?}"));
        } else {
            return Vec::new();
        }
    }
    gaps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_for_a_migrated_betterauth_account_takes_as_long_as_for_no_account() {
    let mut server = TestServer::start().await;
    // One account per probe: a few wrong passwords lock an account, which is then answered
    // without checking its hash.
    for n in 0..PROBES * ROUNDS {
        server
            .client()
            .sign_up_id("Ada", &format!("migrated-{n}@example.com"), "password-123")
            .await;
    }
    // BetterAuth's hash format (hex salt : hex key): checking a password against it costs a whole
    // scrypt derivation, whatever the key.
    let betterauth_hash = format!("{}:{}", "5a".repeat(16), "c3".repeat(64));
    server.psql(&format!(
        r#"update "account" set "password" = '{betterauth_hash}' where "providerId" = 'credential'"#
    ));
    // The service starts on a database migrated from BetterAuth.
    server.restart_with(Options::default()).await;
    let found = gaps(|known, n| {
        let email = match known {
            true => format!("migrated-{n}@example.com"),
            false => format!("nobody-{n}@example.com"),
        };
        answer_time(
            &server,
            "/api/auth/sign-in/email",
            json!({"email": email, "password": "not-the-password"}),
        )
    })
    .await;
    assert!(
        found.is_empty(),
        "a wrong password takes longer to answer for a migrated account: {found:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_for_a_taken_address_takes_as_long_as_for_a_new_one() {
    let server = TestServer::start_with(Options {
        require_email_verification: true,
        ..Options::default()
    })
    .await;
    for n in 0..PROBES * ROUNDS {
        server
            .client()
            .sign_up("Ada", &format!("taken-{n}@example.com"), "password-123")
            .await;
    }
    let floor = stackr_auth::routes::email_verification::ANONYMOUS_FLOOR;
    let fastest = std::cell::Cell::new(Duration::MAX);
    let found = gaps(|known, n| {
        let email = match known {
            true => format!("taken-{n}@example.com"),
            false => format!("new-{n}@example.com"),
        };
        let time = answer_time(
            &server,
            "/api/auth/sign-up/email",
            json!({"name": "Eve", "email": email, "password": "password-456"}),
        );
        let fastest = &fastest;
        async move {
            let time = time.await;
            fastest.set(fastest.get().min(time));
            time
        }
    })
    .await;
    // Creating an account writes rows and commits, which a taken address skips: a gap of
    // milliseconds, which only the floor hides.
    let fastest = fastest.get();
    assert!(
        fastest >= floor,
        "a sign-up answered in {fastest:?}, before the floor of {floor:?}"
    );
    assert!(
        found.is_empty(),
        "a sign-up for a taken address takes another time: {found:?}"
    );
}
