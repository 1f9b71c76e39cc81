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
];

/// The stack needs tools that are not installed.
#[derive(Debug, thiserror::Error)]
#[error(
    "missing tools needed by this stack: {}\n\
     Install them, then run `stackr dev` again:\n  \
     Debian/Ubuntu:  apt-get install -y postgresql redis-server\n  \
     with Nix:       nix run .#dev   (or work inside `nix develop`)",
    missing.join(", ")
)]
pub struct MissingTools {
    pub missing: Vec<String>,
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
    for tool in used {
        if find_on_path(tool).is_some() {
            continue;
        }
        match find_in_postgres_lib(tool) {
            Some(found) => {
                let dir = found.parent().expect("a file has a parent").to_owned();
                if !check.extra_path.contains(&dir) {
                    check.extra_path.push(dir);
                }
            }
            None => missing.push(tool.to_owned()),
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

/// `which`: the first executable `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// The newest `/usr/lib/postgresql/<major>/bin/<name>` (Debian's layout).
fn find_in_postgres_lib(name: &str) -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
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
