//! An API waits for its PostgreSQL at start-up for as long as the runtime contract says, and no
//! longer: a server that comes up late and then hangs does not stretch the wait.

use std::time::{Duration, Instant};

use stackr_kit::config::SecretUrl;

#[tokio::test]
async fn a_database_that_hangs_near_the_end_of_the_wait_fails_start_up_when_the_wait_ends() {
    let port = stackr_testkit::silent_after(stackr_kit::STARTUP_WAIT - Duration::from_secs(1));
    let url = SecretUrl::new(&format!("postgres://core:pw@127.0.0.1:{port}/core")).unwrap();

    let started = Instant::now();
    let failed = stackr_kit::db::connect(&url, None, "core-api", 1).await;
    let took = started.elapsed();

    let message = failed
        .expect_err("a server that never answers cannot give a pool")
        .to_string();
    assert!(
        took < stackr_kit::STARTUP_WAIT + Duration::from_secs(2),
        "gave up after {took:?}, well past the start-up wait of {:?}",
        stackr_kit::STARTUP_WAIT
    );
    assert!(message.contains("start-up wait"), "{message}");
    assert!(!message.contains("pw@"), "the password is shown: {message}");
}

/// A database host still booting when the wait ends refuses every connection: the message says
/// the wait ran out (with the last refusal), so an operator reading it knows start-up waited
/// and a restart may find the host up.
#[tokio::test]
async fn a_database_that_refuses_connections_all_through_the_wait_fails_start_up_naming_the_wait() {
    let port = stackr_testkit::free_port();
    let url = SecretUrl::new(&format!("postgres://core:pw@127.0.0.1:{port}/core")).unwrap();

    let started = Instant::now();
    let failed = stackr_kit::db::connect(&url, None, "core-api", 1).await;
    let took = started.elapsed();

    let message = failed
        .expect_err("a port nobody listens on cannot give a pool")
        .to_string();
    assert!(took >= stackr_kit::STARTUP_WAIT, "gave up after {took:?}");
    assert!(message.contains("start-up wait"), "{message}");
    assert!(message.contains("the last attempt"), "{message}");
    assert!(!message.contains("pw@"), "the password is shown: {message}");
}
