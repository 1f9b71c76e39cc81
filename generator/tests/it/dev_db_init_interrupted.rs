//! A dev cluster's first `initdb` cut short (a second Ctrl-C stops initdb's own clean-up; a
//! killed terminal) leaves no half cluster that the next start would take for a made one: such
//! a cluster never starts, and only `--reset`, which wipes every service, would cure it.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::init_project;

/// The generated `core-db-init` command, run by bash in the project with PostgreSQL's tools on
/// PATH, as `stackr dev` runs it.
fn db_init(root: &Path) -> Command {
    let generated: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root.join("process-compose.yaml")).unwrap())
            .unwrap();
    let script = generated["processes"]["core-db-init"]["command"]
        .as_str()
        .expect("the generated core-db-init command")
        .to_owned();
    let tools = stackr_testkit::find_tool("initdb");
    let path = format!(
        "{}:{}",
        tools.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let mut command = Command::new("bash");
    command
        .args(["-c", &script])
        .current_dir(root)
        .env("PATH", path);
    command
}

/// Any `PG_VERSION` under `dir`, the first file initdb writes.
fn has_pg_version(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let path = entry.path();
            path.file_name().is_some_and(|n| n == "PG_VERSION")
                || (path.is_dir() && has_pg_version(&path))
        })
}

#[test]
fn a_first_initdb_killed_midway_is_made_again_whole() {
    let (_parent, root) = init_project(&[]);
    let mut first = db_init(&root).process_group(0).spawn().unwrap();
    let service_data = root.join(".stackr/data/core");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !has_pg_version(&service_data) {
        assert!(Instant::now() < deadline, "initdb never started");
        assert!(first.try_wait().unwrap().is_none(), "db-init ended early");
        std::thread::sleep(Duration::from_millis(1));
    }
    // SAFETY: kill has no memory-safety preconditions; the group is the one spawned above.
    unsafe { libc::kill(-(first.id() as i32), libc::SIGKILL) };
    let _ = first.wait();
    assert!(
        !service_data.join("postgres/global/pg_control").exists(),
        "the kill came after initdb had finished: nothing was cut short"
    );

    let again = db_init(&root).output().unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // A whole cluster: its control file and its three databases (template1, template0,
    // postgres), the last thing initdb makes.
    let cluster = service_data.join("postgres");
    assert!(cluster.join("global/pg_control").is_file(), "no pg_control");
    let databases = std::fs::read_dir(cluster.join("base")).map_or(0, Iterator::count);
    assert_eq!(databases, 3, "databases in {}", cluster.display());
}
