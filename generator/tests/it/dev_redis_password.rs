//! A base service's dev Redis crashes and another local user takes its TCP port before it
//! restarts. Nothing of the stack may send that program the Redis password (Redis's `AUTH` and
//! `HELLO … AUTH` carry it in clear): not the API, not the worker, not the readiness probe. Once
//! the port is free again, Redis restarts and the service's API and worker work as before.

use crate::common;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::dev_servers::processes;
use common::dev_stack::{use_free_ports, DevStack};
use common::http::request;
use common::init_project;
use common::local_build::use_local_runtime;

/// How long the other program holds the port: long enough for every client to try again, short
/// enough that Redis (restarted every 2 s, at most 5 times) is still being restarted after it.
const SQUAT: Duration = Duration::from_secs(5);

#[test]
fn while_a_dev_redis_is_down_no_process_sends_its_password_to_the_program_on_its_port() {
    let (_parent, root) = init_project(&[]);
    use_local_runtime(&root);
    use_free_ports(&root);
    let plan = stackr::project::load_project(&root).unwrap().plan;
    let auth = &plan.services[0];
    let core = plan.services.iter().find(|s| s.name == "core").unwrap();
    let dev = DevStack::start(&root, &["--embedded"]);
    let password = std::fs::read_to_string(root.join(&core.dev.redis_password_file)).unwrap();
    assert!(password.len() >= 16, "a generated password");

    let title = format!("redis-server 127.0.0.1:{}", core.dev_redis_port);
    let [redis] = processes(&title)[..] else {
        panic!("not one process titled `{title}`: {:?}", processes(&title));
    };
    // SAFETY: kill(2) on the pid of this test's own stack's Redis.
    unsafe { libc::kill(redis as libc::pid_t, libc::SIGKILL) };
    let squatter = take_port(core.dev_redis_port);
    let heard = listen(&squatter, SQUAT);
    drop(squatter);
    assert!(
        !heard.iter().any(|said| said.contains(password.trim())),
        "a process of the stack sent core's Redis password to the program on its port; it heard:\n{heard:#?}\n{}",
        dev.log()
    );

    // Redis is back on its next restart, and core's API and worker with it.
    let origin = auth.base_url.clone().unwrap();
    let body = r#"{"name":"Ada","email":"ada@example.com","password":"a-long-password-1"}"#;
    let signed_up = request(
        auth.port,
        "POST",
        "/api/auth/sign-up/email",
        &[("origin", &origin)],
        body,
    )
    .expect("auth answers");
    assert_eq!(signed_up.status, 200, "{}", signed_up.body);
    let cookie = signed_up
        .cookie("better-auth.session_token")
        .expect("a session cookie");
    let headers = [("origin", origin.as_str()), ("cookie", cookie.as_str())];
    let within = Duration::from_secs(60);
    let deadline = Instant::now() + within;
    let id = loop {
        let added = request(
            core.port,
            "POST",
            "/jobs",
            &headers,
            r#"{"message":"back"}"#,
        )
        .expect("core answers");
        if added.status == 202 {
            break added.json()["id"].as_str().unwrap().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "core could not enqueue {within:?} after its Redis came back: {} {}\n{}",
            added.status,
            added.body,
            dev.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    loop {
        let status =
            request(core.port, "GET", &format!("/jobs/{id}"), &headers, "").expect("core answers");
        if status.json()["state"] == "completed" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "core's worker did not complete job {id} after its Redis came back: {}\n{}",
            status.body,
            dev.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let status = dev.stop();
    assert!(status.success(), "stackr dev exited with {status}");
}

/// Binds 127.0.0.1:`port` as soon as the killed server's socket is gone.
fn take_port(port: u16) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            return listener;
        }
        assert!(Instant::now() < deadline, "port {port} never came free");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Everything the programs that connect to `listener` within `period` send, one entry per
/// connection (nothing is answered: a Redis client speaks first, with its password).
fn listen(listener: &TcpListener, period: Duration) -> Vec<String> {
    listener.set_nonblocking(true).unwrap();
    let ends = Instant::now() + period;
    let mut calls: Vec<(TcpStream, Vec<u8>)> = Vec::new();
    while Instant::now() < ends {
        while let Ok((stream, _)) = listener.accept() {
            stream.set_nonblocking(true).unwrap();
            calls.push((stream, Vec::new()));
        }
        for (stream, said) in &mut calls {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = stream.read(&mut buffer) {
                said.extend_from_slice(&buffer[..n]);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    calls
        .into_iter()
        .map(|(_, said)| String::from_utf8_lossy(&said).into_owned())
        .collect()
}
