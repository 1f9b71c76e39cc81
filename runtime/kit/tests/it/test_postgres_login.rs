//! The throwaway PostgreSQL of a service's tests listens on loopback, where any local user can
//! reach it: its superuser must present a password there like every other role (trusted, it let
//! anyone run `COPY ... TO PROGRAM` as the user running the tests).

use std::process::Command;

use stackr_testkit::{find_tool, TempPostgres};

fn login(url: &str) -> std::process::Output {
    Command::new(find_tool("psql"))
        .args([
            "-X",
            "-w",
            "-t",
            "-A",
            "-d",
            url,
            "-c",
            "SELECT current_user",
        ])
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .output()
        .expect("spawn psql")
}

#[test]
fn the_superuser_needs_its_password_over_tcp() {
    let pg = TempPostgres::start();
    let without = login(&format!(
        "postgres://postgres@127.0.0.1:{}/postgres",
        pg.port()
    ));
    assert!(
        !without.status.success(),
        "the superuser got in without a password: {}",
        String::from_utf8_lossy(&without.stdout)
    );
    let with = login(&pg.superuser_url("postgres"));
    assert!(
        with.status.success(),
        "{}",
        String::from_utf8_lossy(&with.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&with.stdout).trim(), "postgres");
}
