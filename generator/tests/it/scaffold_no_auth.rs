//! A project without auth (`stackr init --no-auth`) scaffolds a service whose example routes work
//! without auth: built and run for real against its own PostgreSQL and Redis.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::local_build::{in_shared_target, use_local_runtime};
use common::{init_project, stackr, stderr};
use stackr_testkit::{free_port, TempPostgres, TempRedis};

const DB_PASSWORD: &str = "catalog-db-password";
const REDIS_PASSWORD: &str = "catalog-redis-password";

/// Kills the service when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request; `None` while nothing listens yet.
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

#[test]
fn no_auth_scaffold_serves_its_example_routes() {
    let pg = TempPostgres::start();
    let redis = TempRedis::start_with_password(Some(REDIS_PASSWORD));
    // Not `core`: the repository's own demo has a `core-api`, and the suites that build it
    // uplift that binary into the same shared target folder at the same time.
    let (_parent, root) = init_project(&["--no-auth", "--with-services", "catalog"]);
    use_local_runtime(&root);
    let api_port = free_port();
    let config = std::fs::read_to_string(root.join("stackr.config.json"))
        .unwrap()
        .replace("15440", &pg.port().to_string())
        .replace("8080", &api_port.to_string());
    std::fs::write(root.join("stackr.config.json"), config).unwrap();
    let generate = stackr(&root, &["generate"]);
    assert!(generate.status.success(), "{}", stderr(&generate));
    let plan = stackr::project::load_project(&root).unwrap().plan;
    let service = &plan.services[0];
    pg.create_service_database(&service.name, DB_PASSWORD);
    for (file, secret) in [
        (&service.dev.db_password_file, DB_PASSWORD),
        (&service.dev.redis_password_file, REDIS_PASSWORD),
    ] {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, secret).unwrap();
    }

    let mut build = in_shared_target(Command::new("cargo"));
    let built = build
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "--package",
            &service.package,
            "--bin",
            &service.api_bin,
        ])
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", stderr(&built));
    // Built by in_shared_target's cargo: in the tests' target folder, wherever that is.
    let binary = common::local_build::shared_target()
        .join("debug")
        .join(&service.api_bin);
    let _api = Running(
        Command::new(&binary)
            .current_dir(&root)
            .envs(service.api_env.iter().map(|e| (&e.name, &e.value)))
            // The plan names the socket of a Redis `stackr dev` starts; this one is on TCP.
            .env("REDIS_URL", format!("redis://127.0.0.1:{}", redis.port()))
            .spawn()
            .unwrap(),
    );
    let within = Duration::from_secs(120);
    let deadline = Instant::now() + within;
    while http(api_port, "GET", "/health", "").map(|(s, _)| s) != Some(200) {
        assert!(
            Instant::now() < deadline,
            "{} did not answer /health with 200 within {within:?}",
            service.api_bin
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let (status, body) = http(api_port, "POST", "/notes", r#"{"text":"hello"}"#).unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, body) = http(api_port, "GET", "/notes", "").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"hello\""), "{body}");
    // Anyone may add notes here, so a note's size is bounded as on a guarded service.
    let long = format!(r#"{{"text":"{}"}}"#, "x".repeat(4097));
    assert_eq!(
        http(api_port, "POST", "/notes", &long).map(|(s, _)| s),
        Some(413)
    );
    // So is a NUL character, which PostgreSQL's text cannot hold: 400, not a server error.
    assert_eq!(
        http(api_port, "POST", "/notes", r#"{"text":"a\u0000b"}"#).map(|(s, _)| s),
        Some(400)
    );
    // And so is how many it keeps, or anyone could fill its disk: all but the last of them
    // straight into the database (a request each would only slow the test).
    pg.psql(
        &service.db_name,
        "INSERT INTO note (text) SELECT 'note' FROM generate_series(1, 9998)",
    );
    let note = r#"{"text":"one more"}"#;
    assert_eq!(
        http(api_port, "POST", "/notes", note).map(|(s, _)| s),
        Some(201),
        "the ten-thousandth"
    );
    assert_eq!(
        http(api_port, "POST", "/notes", note).map(|(s, _)| s),
        Some(409),
        "one too many"
    );
}
