use stackr_testkit::{TempPostgres, TempRedis};

#[test]
fn postgres_starts_and_isolates_service_roles() {
    let pg = TempPostgres::start();
    pg.create_service_database("alpha", "pw-a");
    pg.create_service_database("beta", "pw-b");
    assert_eq!(pg.psql("alpha", "SELECT current_database()"), "alpha");
    // beta's role must not reach alpha's database: this is the isolation services rely on.
    let out = std::process::Command::new(stackr_testkit::find_tool("psql"))
        .arg(format!(
            "postgres://beta:pw-b@127.0.0.1:{}/alpha",
            pg.port()
        ))
        .args(["-c", "select 1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("permission denied"));
}

#[test]
fn redis_starts_with_password() {
    let redis = TempRedis::start_with_password(Some("s3cret"));
    let out = std::process::Command::new("redis-cli")
        .args([
            "-p",
            &redis.port().to_string(),
            "-a",
            "s3cret",
            "--no-auth-warning",
            "ping",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "PONG",
        "redis-cli: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[should_panic(expected = "is another process listening there?")]
fn a_redis_that_could_not_take_its_port_is_not_reported_ready() {
    let mut redis = TempRedis::start();
    redis.kill();
    let _taken = std::net::TcpListener::bind(("127.0.0.1", redis.port())).unwrap();
    redis.start_again();
}
