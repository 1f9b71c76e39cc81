//! `stackr dev` checks before it starts anything: every port of the stack (APIs, admin page, dev
//! PostgreSQL and Redis) must be free, and a taken one is named with its holder.

mod common;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::init_project;

#[test]
fn dev_refuses_a_taken_port_naming_it_and_its_holder() {
    let (_parent, root) = init_project(&[]);
    let held = TcpListener::bind(("0.0.0.0", 0)).unwrap();
    let port = held.local_addr().unwrap().port();
    let file = root.join("stackr.config.json");
    let config = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"port\": 8080", &format!("\"port\": {port}"));
    std::fs::write(&file, config).unwrap();
    assert!(common::stackr(&root, &["generate"]).status.success());

    let mut dev = Command::new(env!("CARGO_BIN_EXE_stackr"))
        .args(["dev", "--no-tui", "--embedded"])
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let within = Duration::from_secs(60);
    let deadline = Instant::now() + within;
    while dev.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = dev.kill();
            panic!(
                "stackr dev did not refuse the taken port within {within:?}: it started the stack"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = dev.wait_with_output().unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains(&format!("port {port} (the API of `core`)"))
            && message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    assert!(
        !root.join(".stackr/data").exists(),
        "nothing started before the check"
    );
    drop(held);
}
