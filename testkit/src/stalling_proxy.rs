//! A loopback proxy that stops reading from a connection for a while once it has sent given
//! numbers of bytes: a client's write of a large command stays unfinished, as it would towards a
//! store that is slow to read, while everything the connection sent before, and every other
//! connection, passes at once.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use stackr_kit::testing::free_port;

/// The proxy, listening for as long as the test process runs.
pub struct StallingProxy {
    port: u16,
    counts: Arc<Counts>,
}

#[derive(Default)]
pub(crate) struct Counts {
    stalls: AtomicUsize,
    received: AtomicUsize,
}

impl StallingProxy {
    /// Forwards each connection to `target` on loopback, and holds a connection's bytes towards
    /// `target` back, for each `(after, stall)` of `stalls` (in increasing `after`), for `stall`
    /// once it has sent more than `after` bytes.
    pub fn start(target: u16, stalls: &[(usize, Duration)]) -> Self {
        let held_back = stalls.to_vec();
        let port = free_port();
        let listener = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("port {port} for the stalling proxy: {e}"));
        bound_receive_buffer(&listener);
        let counts = Arc::new(Counts::default());
        let counted = counts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                forward(client, target, held_back.clone(), counted.clone());
            }
        });
        StallingProxy { port, counts }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many times a connection has been held back so far.
    pub fn stalls(&self) -> usize {
        self.counts.stalls.load(Ordering::SeqCst)
    }

    /// How many bytes the proxy has read from its clients so far, all connections together.
    pub fn received(&self) -> usize {
        self.counts.received.load(Ordering::SeqCst)
    }
}

/// What a connection's kernel may hold of a client's bytes the proxy has not read (the connections
/// it accepts take the listener's). Left to autotuning it grows, on a busy machine, to tens of
/// MiB: a client's large write would then leave it whole while the proxy holds back, and a test
/// could no longer tell bytes its client sent late from bytes the kernel kept.
const RECEIVE_BUFFER: libc::c_int = 1 << 20;

fn bound_receive_buffer(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: setsockopt on a socket this function borrows, with a pointer to an int of the size
    // given.
    let set = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&RECEIVE_BUFFER as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(
        set,
        0,
        "SO_RCVBUF on the stalling proxy: {}",
        std::io::Error::last_os_error()
    );
}

/// Forwards `client` to `target` on loopback, each way on a thread of its own, holding the bytes
/// towards `target` back as `held_back` says (see [`StallingProxy::start`]).
pub(crate) fn forward(
    client: TcpStream,
    target: u16,
    held_back: Vec<(usize, Duration)>,
    counts: Arc<Counts>,
) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
        return;
    };
    let (client_in, server_in) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        forward_stalling(&client_in, &server, &held_back, &counts);
        close(&client_in, &server);
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut &server_in, &mut &client);
        close(&client, &server_in);
    });
}

fn forward_stalling(
    mut from: &TcpStream,
    mut to: &TcpStream,
    held_back: &[(usize, Duration)],
    counts: &Counts,
) {
    let mut buffer = vec![0; 64 * 1024];
    let mut sent = 0;
    let mut pending = held_back.iter().peekable();
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        sent += read;
        counts.received.fetch_add(read, Ordering::SeqCst);
        while let Some((_, stall)) = pending.next_if(|(after, _)| sent > *after) {
            counts.stalls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(*stall);
        }
        if to.write_all(&buffer[..read]).is_err() {
            return;
        }
    }
}

/// Either side hanging up ends the connection on both, as it would without the proxy.
fn close(client: &TcpStream, server: &TcpStream) {
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
}
