//! A server that comes up late and then hangs: it accepts connections but never answers, the way
//! a store does whose host is overloaded or whose disk stalls. For tests of start-up waits.

use std::net::TcpListener;
use std::time::Duration;

use stackr_kit::testing::free_port;

/// A loopback port that refuses connections for `after`, then accepts them and never answers
/// (for as long as the test process runs).
pub fn silent_after(after: Duration) -> u16 {
    let port = free_port();
    std::thread::spawn(move || {
        std::thread::sleep(after);
        let listener = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("port {port} for the silent server: {e}"));
        // Accepted connections are kept open, unanswered.
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    port
}
