//! `stackr dev` run as root starts PostgreSQL as the `postgres` user. Changing user clears the
//! parent-death signal the supervisor gives its processes, which is what stops them when
//! `stackr dev` itself is killed (`kill -9`, an OOM kill); without it set again, the servers
//! would stay running, holding their ports, and the next start would refuse.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{init_project_on_free_ports, read_config};

/// Processes whose command line starts with `line`.
fn processes(line: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline)
            .replace('\0', " ")
            .starts_with(line)
        {
            found.push(pid);
        }
    }
    found
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills what is left of the server when the test ends, passed or not.
struct KillOnDrop(String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for pid in processes(&self.0) {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

#[test]
fn a_killed_stackr_dev_run_as_root_leaves_no_postgres_running() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !crate::common::installed("setpriv") {
        eprintln!("skipped: needs root and setpriv");
        return;
    }
    let (_parent, root) = init_project_on_free_ports(&[]);
    let port_start = read_config(&root)["dev"]["postgresPortStart"]
        .as_u64()
        .unwrap();
    // The generated file with its top-level settings, running only core's PostgreSQL.
    let mut stack: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root.join("process-compose.yaml")).unwrap())
            .unwrap();
    let only: serde_yaml::Mapping = ["core-db-init", "core-postgres"]
        .into_iter()
        .map(|name| (name.into(), stack["processes"][name].clone()))
        .collect();
    stack["processes"] = serde_yaml::Value::Mapping(only);
    std::fs::write(
        root.join("only-postgres.yaml"),
        serde_yaml::to_string(&stack).unwrap(),
    )
    .unwrap();
    let mut dev = Command::new(env!("CARGO_BIN_EXE_stackr"))
        .args([
            "dev",
            "--embedded",
            "--no-check",
            "--file",
            "only-postgres.yaml",
        ])
        .current_dir(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = format!(
        "postgres -D .stackr/data/core/postgres -p {}",
        port_start + 1
    );
    let _leftovers = KillOnDrop(server.clone());
    wait_until("core's PostgreSQL running", || {
        if let Ok(Some(status)) = dev.try_wait() {
            let mut out = String::new();
            std::io::Read::read_to_string(dev.stdout.as_mut().unwrap(), &mut out).unwrap();
            panic!("stackr dev ended ({status}): {out}");
        }
        !processes(&server).is_empty()
    });
    dev.kill().unwrap(); // SIGKILL
    let _ = dev.wait();
    wait_until("core's PostgreSQL stopped", || {
        processes(&server).is_empty()
    });
}
