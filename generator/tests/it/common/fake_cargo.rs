//! A `cargo` for `stackr dev`'s `build` step that records what it was asked to build (and the
//! `CARGO_TARGET_DIR` it was given) and tries to listen on ports as another local program would,
//! then fails: the stack stops there, before any service runs. `cargo metadata` is the real
//! cargo's answer. A command that must refuse before building shows by it that cargo never ran.

use std::os::unix::fs::PermissionsExt;

pub struct FakeCargo {
    dir: tempfile::TempDir,
}

impl FakeCargo {
    /// Tries each of `ports` on both loopback addresses (`localhost` is either) when run.
    pub fn trying(ports: &[u16]) -> Self {
        Self::new(ports, 0)
    }

    /// Answers `cargo metadata` only after `seconds` (as when rustup first installs the
    /// project's toolchain).
    pub fn answering_metadata_after(seconds: u32) -> Self {
        Self::new(&[], seconds)
    }

    fn new(ports: &[u16], metadata_delay: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        let script = format!(
            "#!/bin/sh\n\
             if [ \"$1\" = metadata ]; then sleep {metadata_delay}; exec '{real}' \"$@\"; fi\n\
             echo \"$@\" >> {asked}\n\
             echo \"${{CARGO_TARGET_DIR-unset}}\" > {target_dir}\n\
             python3 - {ports} > {tried} 2>&1 <<'EOF'\n\
             import socket, sys\n\
             for port in sys.argv[1:]:\n\
             \x20 for family, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):\n\
             \x20   s = socket.socket(family)\n\
             \x20   s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             \x20   try:\n\
             \x20       s.bind((host, int(port)))\n\
             \x20       s.listen()\n\
             \x20       print(port, host, 'taken')\n\
             \x20   except OSError as e:\n\
             \x20       print(port, host, 'refused:', e)\n\
             EOF\n\
             exit 1\n",
            real = env!("CARGO"),
            asked = dir.path().join("asked").display(),
            target_dir = dir.path().join("target_dir").display(),
            tried = dir.path().join("tried").display(),
            ports = ports.join(" "),
        );
        let cargo = dir.path().join("cargo");
        std::fs::write(&cargo, script).unwrap();
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
        FakeCargo { dir }
    }

    /// Runs `stackr dev --embedded` with `args` in the project at `root`, this `cargo` first on
    /// PATH and no `CARGO_TARGET_DIR` (so stackr asks cargo where it builds, as on a developer's
    /// machine); the stack stops at its build.
    pub fn dev(&self, root: &std::path::Path, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_stackr"))
            .args(["dev", "--embedded"])
            .args(args)
            .current_dir(root)
            .env("PATH", self.path())
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap()
    }

    /// PATH with this `cargo` first.
    pub fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap()
        )
    }

    /// The arguments of each run, a line each; `None` when it never ran.
    pub fn asked(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("asked")).ok()
    }

    /// The `CARGO_TARGET_DIR` the last run was given (`unset`); `None` when it never ran.
    pub fn target_dir(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("target_dir"))
            .ok()
            .map(|dir| dir.trim_end().to_owned())
    }

    /// What trying `port` on each loopback address gave, `; `-separated: `<address> taken`
    /// (nothing held it), or `<address> refused: <error>`.
    pub fn tried(&self, port: u16) -> String {
        let tried = std::fs::read_to_string(self.dir.path().join("tried")).unwrap_or_default();
        let prefix = format!("{port} ");
        let lines: Vec<&str> = tried
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .collect();
        assert_eq!(
            lines.len(),
            2,
            "port {port} tried on both addresses: {tried}"
        );
        lines.join("; ")
    }

    /// Whether `port` could be taken on neither loopback address.
    pub fn held(&self, port: u16) -> bool {
        self.tried(port).matches("Address already in use").count() == 2
    }
}
