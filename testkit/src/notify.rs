//! A stand-in for systemd's notification socket, to test `Type=notify` readiness for real.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Bound datagram socket; start the process under test with `NOTIFY_SOCKET` set to [`path`].
///
/// [`path`]: NotifySocket::path
pub struct NotifySocket {
    _dir: tempfile::TempDir,
    path: PathBuf,
    socket: UnixDatagram,
}

impl NotifySocket {
    pub fn bind() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notification socket");
        NotifySocket {
            _dir: dir,
            path,
            socket,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits (generously: startup is slow on a loaded machine) for the next message, and checks
    /// that it is `READY=1`, what systemd waits for before starting units ordered after this one.
    pub fn wait_ready(&self, within: Duration) {
        self.socket
            .set_read_timeout(Some(within))
            .expect("set a read timeout");
        let mut message = [0u8; 256];
        let len = self.socket.recv(&mut message).unwrap_or_else(|e| {
            panic!("no message on NOTIFY_SOCKET within {within:?} (waiting for READY=1): {e}")
        });
        let text = String::from_utf8_lossy(&message[..len]);
        assert_eq!(text, "READY=1\n", "message on NOTIFY_SOCKET");
    }
}
