//! The server binaries a stack needs, found before anything starts, so a missing PostgreSQL is
//! one clear message instead of a wall of `command not found` from half-started processes.

use std::path::{Path, PathBuf};

use crate::spec::{ProbeCheck, Stack};

/// Tools stackr's generated stacks call, and the Debian package that ships each.
const KNOWN_TOOLS: &[(&str, &str)] = &[
    ("postgres", "postgresql"),
    ("initdb", "postgresql"),
    ("pg_ctl", "postgresql"),
    ("pg_isready", "postgresql-client"),
    ("psql", "postgresql-client"),
    ("createdb", "postgresql-client"),
    ("createuser", "postgresql-client"),
    ("redis-server", "redis-server"),
    ("redis-cli", "redis-tools"),
    // The stack's build step; from rustup, not the system's packages.
    ("cargo", "rustup"),
];

/// The stack needs tools that are not installed.
#[derive(Debug, thiserror::Error)]
pub struct MissingTools {
    pub missing: Vec<String>,
}

impl std::fmt::Display for MissingTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cargo = self.missing.iter().any(|t| t == "cargo");
        let servers = self.missing.iter().any(|t| t != "cargo");
        write!(
            f,
            "missing tools needed by this stack: {}\nInstall them, then run `stackr dev` again:",
            self.missing.join(", ")
        )?;
        if servers {
            write!(
                f,
                "\n  Debian/Ubuntu:  apt-get install -y postgresql redis-server"
            )?;
        }
        if cargo {
            write!(
                f,
                "\n  Rust (cargo):   rustup, from https://rustup.rs (installed already? put ~/.cargo/bin on PATH)"
            )?;
        }
        write!(
            f,
            "\n  with Nix:       nix run .#dev   (or work inside `nix develop`)"
        )
    }
}

/// What the stack's commands need, resolved.
#[derive(Debug, Default)]
pub struct ToolCheck {
    /// Directories to prepend to the children's PATH: Debian installs `initdb`/`postgres` under
    /// `/usr/lib/postgresql/<version>/bin`, which is not on PATH.
    pub extra_path: Vec<PathBuf>,
}

/// Finds every known tool the stack's commands and probes mention.
pub fn check_tools(stack: &Stack) -> Result<ToolCheck, MissingTools> {
    let mut used: Vec<&str> = Vec::new();
    for p in &stack.processes {
        let mut texts = vec![p.command.as_str()];
        if let Some(probe) = &p.readiness {
            if let ProbeCheck::Exec { command, .. } = &probe.check {
                texts.push(command);
            }
        }
        for text in texts {
            for word in words(text) {
                if let Some((tool, _)) = KNOWN_TOOLS.iter().find(|(t, _)| *t == word) {
                    if !used.contains(tool) {
                        used.push(tool);
                    }
                }
            }
        }
    }
    let mut check = ToolCheck::default();
    let mut missing = Vec::new();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for tool in used {
        match locate(tool, &path, Path::new(DEBIAN_POSTGRES_LIB)) {
            Located::OnPath => {}
            Located::InPostgresLib(dir) => {
                if !check.extra_path.contains(&dir) {
                    check.extra_path.push(dir);
                }
            }
            Located::Missing => missing.push(tool.to_owned()),
        }
    }
    if missing.is_empty() {
        Ok(check)
    } else {
        Err(MissingTools { missing })
    }
}

/// Shell words of a command, reduced to their file names (`/usr/bin/psql` → `psql`).
fn words(command: &str) -> impl Iterator<Item = &str> {
    command
        .split(|c: char| c.is_whitespace() || ";|&()`'\"<>".contains(c))
        .filter(|w| !w.is_empty())
        .map(|w| w.rsplit('/').next().unwrap_or(w))
}

/// Where Debian installs each PostgreSQL major version's programs (`<major>/bin`).
const DEBIAN_POSTGRES_LIB: &str = "/usr/lib/postgresql";

/// Where a tool is run from.
#[derive(Debug, PartialEq, Eq)]
enum Located {
    /// As PATH finds it.
    OnPath,
    /// From this folder, put before PATH.
    InPostgresLib(PathBuf),
    Missing,
}

/// Finds `tool` on `path`, or else in Debian's PostgreSQL folders under `pg_lib`. On Debian,
/// PATH holds the client tools (`pg_isready`, `psql`, ...) as links to `pg_wrapper`, a Perl
/// script that picks a version and then runs the real program: 25-35 ms of CPU per call, three
/// times the program's own cost, paid by every readiness probe of every PostgreSQL server. The
/// real program is run directly when Debian's folder has it.
fn locate(tool: &str, path: &std::ffi::OsStr, pg_lib: &Path) -> Located {
    let on_path = find_in(tool, path);
    let is_wrapper = on_path.as_deref().is_some_and(is_debian_pg_wrapper);
    if on_path.is_some() && !is_wrapper {
        return Located::OnPath;
    }
    match find_in_postgres_lib(tool, pg_lib) {
        Some(found) => {
            Located::InPostgresLib(found.parent().expect("a file has a parent").to_owned())
        }
        None if is_wrapper => Located::OnPath,
        None => Located::Missing,
    }
}

fn is_debian_pg_wrapper(program: &Path) -> bool {
    std::fs::canonicalize(program).is_ok_and(|real| real.file_name() == Some("pg_wrapper".as_ref()))
}

/// `which`: the first executable `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    find_in(name, &std::env::var_os("PATH")?)
}

fn find_in(name: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// The newest `<pg_lib>/<major>/bin/<name>` (Debian's layout).
fn find_in_postgres_lib(name: &str, pg_lib: &Path) -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(pg_lib)
        .ok()?
        .filter_map(std::result::Result::ok)
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin").join(name)))
        })
        .filter(|(_, p)| is_executable(p))
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_find_tools_inside_shell_text() {
        let w: Vec<_> = words(
            "[ -f x ] || /usr/lib/postgresql/15/bin/initdb -D \"$D\"; exec redis-server --port 1",
        )
        .collect();
        assert!(w.contains(&"initdb"));
        assert!(w.contains(&"redis-server"));
    }

    fn executable(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn debians_pg_wrapper_on_path_gives_way_to_the_real_program() {
        let root = tempfile::tempdir().unwrap();
        let (bin, lib) = (root.path().join("bin"), root.path().join("lib/postgresql"));
        executable(&root.path().join("share/pg_wrapper"));
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink("../share/pg_wrapper", bin.join("pg_isready")).unwrap();
        executable(&bin.join("redis-cli"));
        for major in ["14", "15"] {
            executable(&lib.join(major).join("bin/pg_isready"));
        }
        let path = bin.as_os_str();
        assert_eq!(
            locate("pg_isready", path, &lib),
            Located::InPostgresLib(lib.join("15/bin"))
        );
        assert_eq!(locate("redis-cli", path, &lib), Located::OnPath);
        assert_eq!(locate("initdb", path, &lib), Located::Missing);
        // The wrapper alone still runs the tool.
        assert_eq!(
            locate("pg_isready", path, &root.path().join("none")),
            Located::OnPath
        );
    }

    #[test]
    fn the_message_says_how_to_install() {
        let text = MissingTools {
            missing: vec!["initdb".into(), "redis-server".into()],
        }
        .to_string();
        assert!(text.contains("initdb, redis-server"));
        assert!(text.contains("apt-get install -y postgresql redis-server"));
        assert!(text.contains("nix run .#dev"));
    }
}
