use std::net::TcpListener;

/// A loopback TCP port that was free a moment ago (the OS picked it). Racy by nature, but the
/// window is tiny and each caller binds it straight away.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the OS must hand out an ephemeral loopback port")
}
