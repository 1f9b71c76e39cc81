use std::path::{Path, PathBuf};

/// Finds a server binary on PATH or in Debian's versioned PostgreSQL directory, and panics with
/// the install command when it is missing (a test cannot run without it).
pub fn find_tool(name: &str) -> PathBuf {
    let path_dirs = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"];
    std::env::split_paths(&path_dirs)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
        .unwrap_or_else(|| {
            panic!(
                "`{name}` not found. Install it: apt-get install -y postgresql redis-server \
                 (or run the tests inside `nix develop`)"
            )
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// PostgreSQL refuses to run as root; when tests run as root (CI containers), the server runs as
/// the `postgres` system user instead.
pub(crate) fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
