//! `init` and `add service` ask for services, guards and roles on a terminal (a real pseudo-
//! terminal here, through util-linux's `script`), and ask nothing when stdin is not one.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{init_project, installed, read_config, stackr, stderr, stdout};

const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";

/// `stackr ARGS` in `dir` on a pseudo-terminal, typing `keys`.
fn on_a_terminal(dir: &Path, args: &str, keys: &str) -> Output {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_stackr"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(keys.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn service<'c>(config: &'c serde_json::Value, name: &str) -> &'c serde_json::Value {
    config["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no service {name} in {config}"))
}

#[test]
fn without_a_terminal_nothing_is_asked_and_the_defaults_hold() {
    let parent = tempfile::tempdir().unwrap();
    let init = stackr(parent.path(), &["init", "shop"]);
    assert!(init.status.success(), "{}", stderr(&init));
    let root = parent.path().join("shop");
    let add = stackr(&root, &["add", "service", "billing"]);
    assert!(add.status.success(), "{}", stderr(&add));
    for output in [&init, &add] {
        let said = format!("{}{}", stdout(output), stderr(output));
        assert!(
            !said.contains("guard of") && !said.contains("comma-separated"),
            "a question was asked: {said}"
        );
    }
    let config = read_config(&root);
    assert_eq!(service(&config, "core")["authMiddleware"], "standard");
    assert_eq!(service(&config, "billing")["authMiddleware"], "standard");
}

#[test]
fn on_a_terminal_add_service_asks_for_the_guard_and_its_roles() {
    if !installed("script") {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let (_parent, root) = init_project(&[]);
    // role-gated is the second flavor; then the roles.
    let keys = format!("{DOWN}{ENTER}finance, audit{ENTER}");
    let add = on_a_terminal(&root, "add service billing", &keys);
    assert!(add.status.success(), "{}", stdout(&add));
    let config = read_config(&root);
    let billing = service(&config, "billing");
    assert_eq!(billing["authMiddleware"], "role-gated", "{}", stdout(&add));
    assert_eq!(billing["roles"], serde_json::json!(["finance", "audit"]));
}

#[test]
fn on_a_terminal_init_asks_for_services_and_each_guard_not_given_by_a_flag() {
    if !installed("script") {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let parent = tempfile::tempdir().unwrap();
    // Services; core's guard (flexible: two down); billing's guard comes from its flag.
    let keys = format!("core,billing{ENTER}{DOWN}{DOWN}{ENTER}");
    let init = on_a_terminal(
        parent.path(),
        "init shop --auth-middleware billing=none",
        &keys,
    );
    assert!(init.status.success(), "{}", stdout(&init));
    let said = stdout(&init);
    assert!(!said.contains("guard of `billing`"), "{said}");
    let config = read_config(&parent.path().join("shop"));
    assert_eq!(
        service(&config, "core")["authMiddleware"],
        "flexible",
        "{said}"
    );
    assert_eq!(service(&config, "billing")["authMiddleware"], "none");
}
