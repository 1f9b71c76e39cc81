//! Helpers shared by the integration tests: running the real binary and fingerprinting trees.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const FIXTURES: &[&str] = &[
    "minimal",
    "no-auth",
    "five-services",
    "keyword-names",
    "shared-postgres",
];

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture_config(name: &str) -> String {
    std::fs::read_to_string(fixture_dir(name).join("stackr.config.json")).expect("fixture config")
}

/// The validated plan of a fixture config, as `stackr generate` computes it.
pub fn fixture_plan(name: &str) -> stackr::plan::Plan {
    let text = fixture_config(name);
    let (_, model) =
        stackr::project::check_config_text(Path::new("stackr.config.json"), &text).unwrap();
    stackr::plan::plan(&model)
}

/// Runs `stackr ARGS` in `dir` (with the failure hook cleared unless `env` sets it).
pub fn stackr_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stackr"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("STACKR_TEST_FAIL_AFTER");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("running stackr")
}

pub fn stackr(dir: &Path, args: &[&str]) -> Output {
    stackr_with_env(dir, args, &[])
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every regular file under `root` (relative path -> bytes): two equal trees are byte-identical.
/// Links and other special files are left out, not followed (a link can point at a device).
pub fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable dir") {
            let entry = entry.expect("dir entry");
            let (path, kind) = (entry.path(), entry.file_type().expect("file type"));
            if kind.is_dir() {
                // The project's git repository (`stackr init` makes one) is git's, not stackr's.
                if path != root.join(".git") {
                    pending.push(path);
                }
            } else if kind.is_file() {
                files.insert(
                    path.strip_prefix(root).unwrap().to_owned(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

/// A fresh project made by `stackr init NAME --defaults` inside a temp dir.
pub fn init_project(extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let parent = tempfile::tempdir().expect("temp dir");
    let mut args = vec!["init", "shop", "--defaults"];
    args.extend_from_slice(extra);
    let output = stackr(parent.path(), &args);
    assert!(output.status.success(), "init failed: {}", stderr(&output));
    let root = parent.path().join("shop");
    (parent, root)
}

/// [`init_project`] on free ports (`dev_stack::use_free_ports`): for tests that run `stackr dev`,
/// which refuses to start while a port of the stack is taken (another test's stack, or a
/// developer's own on the defaults).
pub fn init_project_on_free_ports(extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let (parent, root) = init_project(extra);
    dev_stack::use_free_ports(&root);
    (parent, root)
}

/// The project's config after `edit`, then `stackr generate`.
pub fn edit_config(root: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = root.join("stackr.config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut config);
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap() + "\n").unwrap();
    let generate = stackr(root, &["generate"]);
    assert!(generate.status.success(), "{}", stderr(&generate));
}

/// The project's config, parsed.
pub fn read_config(root: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root.join("stackr.config.json")).unwrap())
        .unwrap()
}

/// Replaces the `runtime` entry of the project's config with `runtime` (JSON).
pub fn set_runtime(root: &Path, runtime: serde_json::Value) {
    let path = root.join("stackr.config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["runtime"] = runtime;
    std::fs::write(path, serde_json::to_string_pretty(&config).unwrap() + "\n").unwrap();
}

/// Writes a config into a fresh temp project folder and returns it.
pub fn project_with_config(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("stackr.config.json"), text).unwrap();
    dir
}

/// Whether `tool` is on PATH (tests of real servers skip without them).
pub fn installed(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `psql` logging in over TCP on 127.0.0.1:`port` as `role` to `database` with `password`; on
/// success stdout is the session's `current_user`.
pub fn tcp_login(port: &str, role: &str, database: &str, password: &str) -> Output {
    login("127.0.0.1", port, role, database, password)
}

/// [`tcp_login`] at `host`: an address, or the folder of the server's Unix socket.
pub fn login(host: &str, port: &str, role: &str, database: &str, password: &str) -> Output {
    Command::new("psql")
        .args(["-X", "-h", host, "-p", port, "-U", role, "-d", database])
        .args(["-tAc", "select current_user"])
        .env("PGPASSWORD", password)
        .output()
        .expect("running psql")
}

/// Whether `nix-instantiate` runs here; the Nix evaluation tests skip without it.
pub fn nix_instantiate_available() -> bool {
    Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A temporary directory holding what `stackr generate` makes from `config`.
pub fn generated_project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in stackr::generate_in_memory(config).unwrap() {
        let path = dir.path().join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file.content).unwrap();
    }
    dir
}

/// [`generated_project`] with `config` itself beside what it generates, as a project holds it
/// (its flake reads the config).
pub fn generated_project_with_config(config: &str) -> tempfile::TempDir {
    let dir = generated_project(config);
    std::fs::write(dir.path().join("stackr.config.json"), config).unwrap();
    dir
}

/// Runs a unit's `script` as systemd runs NixOS's (a bash `-e` script; `-u` too, stricter),
/// under root's umask 077: its standard output. A failure shows its standard error.
pub fn run_unit_script(script: &str) -> String {
    let output = Command::new("bash")
        .args(["-euc", &format!("umask 077\n{script}")])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The JSON value of `expression` (`nix-instantiate --eval --strict --json`), evaluated in
/// `dir`; a failure shows `context` and Nix's error.
pub fn nix_eval_json(dir: &Path, expression: &str, context: &str) -> serde_json::Value {
    let output = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", expression])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{context}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

pub mod crate_graph;
pub mod dev_servers;
pub mod dev_stack;
pub mod fake_cargo;
pub mod http;
pub mod local_build;
pub mod nixos;
pub mod pg_hba;

/// `bash -c SCRIPT` in `dir`, as the generated dev commands run; its whole output.
pub fn bash(dir: &Path, script: &str) -> Output {
    Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .expect("bash runs")
}
pub mod stack_of;
pub mod write_failure;
