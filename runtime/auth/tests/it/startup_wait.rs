//! Auth waits at start-up for its PostgreSQL (started after it, or on a host still booting) for
//! as long as the runtime contract says, and no longer.

use std::time::{Duration, Instant};

use stackr_auth::config::Secret;
use stackr_auth::{AppState, AuthConfig};
use stackr_contract::STARTUP_WAIT;
use stackr_testkit::TempPostgres;

use crate::common::SECRET;

fn config_for(db_url: &str) -> AuthConfig {
    AuthConfig::new(
        Secret::new(SECRET),
        db_url.parse().unwrap(),
        "http://localhost:3000".parse().unwrap(),
    )
}

#[tokio::test]
async fn auth_started_before_its_postgresql_waits_for_it() {
    let pg = tokio::task::spawn_blocking(TempPostgres::start)
        .await
        .unwrap();
    let direct = pg.create_service_database("auth", "auth-db-password");
    let comes_up_after = Duration::from_secs(4);
    let late_port = stackr_testkit::forwarding_after(comes_up_after, pg.port());
    let late_url = direct.replace(&format!(":{}/", pg.port()), &format!(":{late_port}/"));
    assert_ne!(late_url, direct, "the URL goes through the late port");

    let started = Instant::now();
    let state = AppState::connect(config_for(&late_url))
        .await
        .expect("auth starts once its PostgreSQL answers");
    assert!(started.elapsed() >= comes_up_after);
    let client = state.db().await.expect("the pool serves connections");
    client
        .simple_query("SELECT 1")
        .await
        .expect("the database answers");
}

#[tokio::test]
async fn a_postgresql_that_hangs_near_the_end_of_the_wait_fails_start_up_when_the_wait_ends() {
    let port = stackr_testkit::silent_after(STARTUP_WAIT - Duration::from_secs(1));

    let started = Instant::now();
    let failed = AppState::connect(config_for(&format!(
        "postgres://auth:auth-db-password@127.0.0.1:{port}/auth"
    )))
    .await;
    let took = started.elapsed();

    let message = format!("{:#}", failed.err().expect("no answer, no start"));
    assert!(
        took < STARTUP_WAIT + Duration::from_secs(2),
        "gave up after {took:?}, well past the start-up wait of {STARTUP_WAIT:?}"
    );
    assert!(message.contains("start-up wait"), "{message}");
    assert!(!message.contains("auth-db-password"), "{message}");
}

#[tokio::test]
async fn a_postgresql_that_refuses_connections_all_through_the_wait_fails_start_up_naming_the_wait()
{
    let port = stackr_testkit::free_port();
    let started = Instant::now();
    let failed = AppState::connect(config_for(&format!(
        "postgres://auth:auth-db-password@127.0.0.1:{port}/auth"
    )))
    .await;
    let took = started.elapsed();

    let message = format!("{:#}", failed.err().expect("no server, no start"));
    assert!(took >= STARTUP_WAIT, "gave up after {took:?}");
    assert!(message.contains("start-up wait"), "{message}");
    assert!(message.contains("the last attempt"), "{message}");
    assert!(!message.contains("auth-db-password"), "{message}");
}

/// A wrong password is answered at once, attempt after attempt, all through the wait: start-up
/// says so when the wait ends, whichever attempt the end cuts short, never "no answer" alone.
#[tokio::test]
async fn a_wrong_database_password_all_through_the_wait_is_named_when_start_up_fails() {
    let pg = tokio::task::spawn_blocking(TempPostgres::start)
        .await
        .unwrap();
    let right = pg.create_service_database("auth", "auth-db-password");
    let wrong = right.replace("auth-db-password", "wrong-db-password");

    let failed = AppState::connect(config_for(&wrong)).await;

    let message = format!("{:#}", failed.err().expect("a wrong password, no start"));
    assert!(message.contains("start-up wait"), "{message}");
    assert!(
        message.contains("password authentication failed"),
        "{message}"
    );
    assert!(!message.contains("wrong-db-password"), "{message}");
}
