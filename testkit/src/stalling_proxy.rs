//! A loopback proxy that stops reading from a connection for a while once it has sent a lot: a
//! client's write of a large command stays unfinished, as it would towards a store that is slow
//! to read, while everything the connection sent before it, and every other connection, passes
//! at once.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use stackr_kit::testing::free_port;

/// What a connection sends before it is held back: more than a client sends in its ordinary
/// commands and script loads over a test (all of BullMQ's scripts together are about 0.6 MB).
const LARGE: usize = 4 << 20;

/// A loopback port that forwards each connection to `target` on loopback, and holds a
/// connection's bytes towards `target` back for `stall`, once, when it has sent more than 4 MiB
/// (for as long as the test process runs).
pub fn stalling_large_writes(target: u16, stall: Duration) -> u16 {
    let port = free_port();
    let listener = TcpListener::bind(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("port {port} for the stalling proxy: {e}"));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                continue;
            };
            let (client_in, mut server_in) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let mut client_out = client;
            std::thread::spawn(move || forward_stalling_once(client_in, server, stall));
            std::thread::spawn(move || std::io::copy(&mut server_in, &mut client_out));
        }
    });
    port
}

fn forward_stalling_once(mut from: TcpStream, mut to: TcpStream, stall: Duration) {
    let mut buffer = vec![0; 64 * 1024];
    let mut sent = 0;
    let mut stalled = false;
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        sent += read;
        if !stalled && sent > LARGE {
            stalled = true;
            std::thread::sleep(stall);
        }
        if to.write_all(&buffer[..read]).is_err() {
            return;
        }
    }
}
