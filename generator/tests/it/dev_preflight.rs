//! `stackr dev` checks before it starts anything: every port of the stack (APIs, admin page, dev
//! PostgreSQL and Redis) must be free, and a taken one is named with its holder.

use crate::common;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::dev_stack::use_free_ports;
use common::{edit_config, init_project, init_project_on_free_ports};

#[test]
fn dev_refuses_a_taken_port_naming_it_and_its_holder() {
    let (_parent, root) = init_project_on_free_ports(&[]);
    let held = TcpListener::bind(("0.0.0.0", 0)).unwrap();
    let port = held.local_addr().unwrap().port();
    edit_config(&root, |config| {
        config["services"][1]["port"] = port.into();
    });

    let output = dev_until_it_refuses(&root, &[]);
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

/// `[::1]` at a dev Redis's port, which Redis leaves to anyone (it binds 127.0.0.1), is refused
/// too: a client addressing `localhost` there would send the password to whatever listens.
#[test]
fn dev_refuses_the_other_loopback_address_of_a_server_port_taken() {
    let Ok(held) = TcpListener::bind(("::1", 0)) else {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    };
    let port = held.local_addr().unwrap().port();
    let (_parent, root) = init_project_on_free_ports(&[]);
    edit_config(&root, |config| {
        config["dev"]["redisPortStart"] = port.into();
    });

    let output = dev_until_it_refuses(&root, &[]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains("the dev Redis of `auth`") && message.contains(&format!("[::1]:{port}")),
        "{message}"
    );
    assert!(
        !root.join(".stackr/data").exists(),
        "nothing started before the check"
    );
    drop(held);
}

/// Runs `stackr dev --no-tui --embedded ARGS` and returns its output once it exits; panics if it
/// is still running after a minute (it started the stack instead of refusing).
fn dev_until_it_refuses(root: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut dev = Command::new(env!("CARGO_BIN_EXE_stackr"))
        .args(["dev", "--no-tui", "--embedded"])
        .args(args)
        .current_dir(root)
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
            panic!("stackr dev {args:?} did not refuse within {within:?}: it started the stack");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    dev.wait_with_output().unwrap()
}

#[test]
fn dev_only_checks_the_ports_of_the_services_it_starts_and_knows_their_names() {
    let (_parent, root) = init_project(&[]);
    assert!(common::stackr(&root, &["add", "service", "billing"])
        .status
        .success());
    use_free_ports(&root);
    let held_auth = TcpListener::bind(("0.0.0.0", 0)).unwrap();
    let held_core = TcpListener::bind(("0.0.0.0", 0)).unwrap();
    let port_of = |l: &TcpListener| l.local_addr().unwrap().port();
    edit_config(&root, |config| {
        for service in config["services"].as_array_mut().unwrap() {
            match service["name"].as_str().unwrap() {
                "auth" => service["port"] = port_of(&held_auth).into(),
                "core" => service["port"] = port_of(&held_core).into(),
                _ => {}
            }
        }
    });

    // billing needs auth, whose port is taken; core is not started, so its port does not matter.
    let output = dev_until_it_refuses(&root, &["--only", "billing"]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains(&format!("port {} (the API of `auth`)", port_of(&held_auth))),
        "{message}"
    );
    assert!(
        !message.contains(&format!("port {}", port_of(&held_core))),
        "core is not started, yet its port was checked: {message}"
    );

    let output = dev_until_it_refuses(&root, &["--only", "billing,shipping"]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains("--only: no service named `shipping` in stackr.config.json")
            && message.contains("auth, core, billing"),
        "{message}"
    );
    let output = dev_until_it_refuses(&root, &["--only", "Billing"]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("no service named `Billing` (did you mean `billing`?)"),
        "{message}"
    );
    // Spaces after the commas, as in `--only "billing, core"`: the names, not a refusal. With
    // auth's port free, the refusal names core's: core was taken among the services to start.
    drop(held_auth);
    let output = dev_until_it_refuses(&root, &["--only", "billing, core"]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "refused at the ports: {message}"
    );
    assert!(
        message.contains(&format!("port {} (the API of `core`)", port_of(&held_core))),
        "{message}"
    );

    // A stray comma names no service: said as such, not as a service named "".
    let output = dev_until_it_refuses(&root, &["--only", "billing,"]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains("--only: an empty service name in `billing,`")
            && message.contains("auth, core, billing"),
        "{message}"
    );
}

/// A project deep enough that a dev server's Unix socket path passes Linux's 107 bytes is refused
/// before anything starts, naming the socket: PostgreSQL would fail to bind it, and the API and
/// worker to reach Redis through it, each with an error far from the cause.
#[test]
fn dev_refuses_a_project_too_deep_for_its_sockets_naming_one() {
    let (parent, root) = init_project_on_free_ports(&[]);
    let deep = parent.path().join("a".repeat(60)).join("project");
    std::fs::create_dir_all(deep.parent().unwrap()).unwrap();
    std::fs::rename(&root, &deep).unwrap();

    let output = dev_until_it_refuses(&deep, &[]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains("the Unix socket of the dev PostgreSQL of `auth` would be")
            && message.contains("Linux allows a socket path at most 107")
            && message.contains("shorter `stateDir`"),
        "{message}"
    );
    assert!(
        !deep.join(".stackr").exists(),
        "nothing was started or written"
    );
}

/// Run as root, the stack's PostgreSQL runs as the `postgres` user, who must enter the project
/// folder: under a folder closed to others (root's home, a 0700 temporary folder) initdb failed
/// with "Permission denied", unexplained to someone running as root. `stackr dev` refuses before
/// anything starts, naming the folder and what to do.
#[test]
fn dev_as_root_refuses_a_project_the_postgres_user_cannot_enter() {
    let as_postgres = Command::new("setpriv")
        .args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
            "true",
        ])
        .status();
    if unsafe { libc::geteuid() } != 0 || !as_postgres.is_ok_and(|s| s.success()) {
        eprintln!("skipped: needs root and a `postgres` user");
        return;
    }
    let (parent, root) = init_project_on_free_ports(&[]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o700)).unwrap();

    let output = dev_until_it_refuses(&root, &[]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{message}");
    let closed = parent.path().canonicalize().unwrap();
    assert!(
        message.contains(&format!("cannot enter {}", closed.display()))
            && message.contains("chmod o+x"),
        "{message}"
    );
    assert!(
        !root.join(".stackr/data").exists(),
        "nothing started before the check"
    );
}
