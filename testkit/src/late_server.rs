//! Servers that come up late, for tests of start-up waits: a port refuses connections for a
//! while, then either forwards them to a real server (a store that booted after its clients) or
//! accepts them and never answers (a store whose host is overloaded or whose disk stalls).

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use stackr_kit::testing::free_port;

use crate::stalling_proxy;

/// A loopback port that refuses connections for `after`, then accepts them and never answers
/// (for as long as the test process runs).
pub fn silent_after(after: Duration) -> u16 {
    listen_after(after, |connection| {
        // Kept open, unanswered, until the test process ends.
        std::mem::forget(connection);
    })
}

/// A loopback port that refuses connections for `after`, then forwards each one to `target` on
/// loopback (for as long as the test process runs).
pub fn forwarding_after(after: Duration, target: u16) -> u16 {
    listen_after(after, move |client| {
        stalling_proxy::forward(client, target, Vec::new(), Default::default());
    })
}

fn listen_after(after: Duration, serve: impl Fn(TcpStream) + Send + 'static) -> u16 {
    let port = free_port();
    std::thread::spawn(move || {
        std::thread::sleep(after);
        let listener = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("port {port} for the late server: {e}"));
        for connection in listener.incoming().flatten() {
            serve(connection);
        }
    });
    port
}
