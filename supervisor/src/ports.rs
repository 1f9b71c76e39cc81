//! Before anything starts: every port the stack will listen on must be free. A server that cannot
//! bind fails deep in its own log and, restarted a few times, takes the whole stack down; a clear
//! refusal up front names the port, what it is for and the process that holds it.

use std::net::TcpListener;

use anyhow::{bail, Result};

/// Refuses the first port of `ports` (port, what listens there) that cannot be bound.
pub fn check_free(ports: &[(u16, String)]) -> Result<()> {
    for (port, what) in ports {
        // Binding every interface fails whenever anything listens on the port, on any address.
        if TcpListener::bind(("0.0.0.0", *port)).is_err() {
            let holder = holder_or_a_hint(*port);
            bail!(
                "port {port} ({what}) is already in use by {holder}; stop that process, or move the port in stackr.config.json and run `stackr generate`"
            );
        }
    }
    Ok(())
}

/// What holds `port`: [`holder_of`], or how to find it when this user cannot see it.
pub(crate) fn holder_or_a_hint(port: u16) -> String {
    holder_of(port)
        .unwrap_or_else(|| "a process this user cannot see (try `sudo ss -ltnp`)".to_owned())
}

/// `pid N (command line, running in FOLDER)` of the process listening on `port`, read from /proc
/// (Linux).
fn holder_of(port: u16) -> Option<String> {
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| listening_inodes(&text, port))
        .collect();
    let sockets: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| sockets.iter().any(|s| target.as_os_str() == s.as_str()))
        });
        if holds {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let command: String = String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .trim()
                .chars()
                .take(120)
                .collect();
            // Where it runs: for a `stackr dev` (or any server) of another project, the command
            // line alone does not say which project's terminal to stop it in.
            return Some(match std::fs::read_link(entry.path().join("cwd")) {
                Ok(cwd) => format!("pid {pid} ({command}, running in {})", cwd.display()),
                Err(_) => format!("pid {pid} ({command})"),
            });
        }
    }
    None
}

/// Inodes of the sockets in LISTEN state (`0A`) on `port` in a /proc/net/tcp{,6} table.
fn listening_inodes(table: &str, port: u16) -> Vec<String> {
    let wanted = format!("{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1)?.rsplit(':').next()?;
            (local_port == wanted && *fields.get(3)? == "0A")
                .then(|| fields.get(9).map(std::string::ToString::to_string))?
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_port_is_refused_naming_its_holder() {
        let held = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = held.local_addr().unwrap().port();
        let err = check_free(&[(port, "the API of `core`".to_owned())])
            .unwrap_err()
            .to_string();
        let cwd = std::env::current_dir().unwrap();
        assert!(
            err.contains(&format!("port {port} (the API of `core`)"))
                && err.contains(&format!("pid {}", std::process::id()))
                && err.contains(&format!("running in {})", cwd.display())),
            "{err}"
        );
        drop(held);
        check_free(&[(port, "the API of `core`".to_owned())]).unwrap();
    }
}
