//! A TCP proxy that plays a database host that crashes and boots again, as seen from another
//! host: at the crash its connections go silent (the server's side ends, the client hears
//! nothing), and once the host is back a packet on a connection from before is answered with a
//! reset, while new connections go through.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Which boot of the host is running, and whether it is up.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Host {
    boot: u64,
    up: bool,
}

pub struct HostCrashProxy {
    port: u16,
    host: Arc<watch::Sender<Host>>,
}

impl HostCrashProxy {
    /// Listens on a free loopback port, forwarding to `target` on loopback. Needs a tokio runtime.
    pub async fn start(target: u16) -> HostCrashProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local address").port();
        let host = Arc::new(watch::channel(Host { boot: 0, up: true }).0);
        let accepting = host.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, target, accepting.subscribe()));
            }
        });
        HostCrashProxy { port, host }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host dies: every connection goes silent; new ones are accepted and never answered.
    pub fn crash(&self) {
        self.host.send_modify(|host| {
            host.boot += 1;
            host.up = false;
        });
    }

    /// The host has booted again.
    pub fn back(&self) {
        self.host.send_modify(|host| host.up = true);
    }
}

async fn relay(client: TcpStream, target: u16, mut host: watch::Receiver<Host>) {
    let at_accept = *host.borrow_and_update();
    // Dropped with a zero linger, the client's side gets a reset, not a close.
    let _ = client.set_zero_linger();
    let (mut from_client, mut to_client) = client.into_split();
    let mut server = match at_accept.up {
        true => match TcpStream::connect(("127.0.0.1", target)).await {
            Ok(server) => Some(server.into_split()),
            Err(_) => return,
        },
        false => None,
    };
    let (mut client_bytes, mut server_bytes) = (vec![0u8; 65536], vec![0u8; 65536]);
    loop {
        let connected = server.is_some();
        tokio::select! {
            read = from_client.read(&mut client_bytes) => {
                let Ok(n @ 1..) = read else { return };
                let now = *host.borrow();
                if now.boot != at_accept.boot || !now.up {
                    if now.up {
                        return; // a connection from before the reboot: reset
                    }
                    continue; // the host is down: lost
                }
                if let Some((_, to_server)) = server.as_mut() {
                    if to_server.write_all(&client_bytes[..n]).await.is_err() {
                        return;
                    }
                }
            }
            read = async { server.as_mut().expect("connected").0.read(&mut server_bytes).await }, if connected => {
                let Ok(n @ 1..) = read else { return };
                if host.borrow().boot != at_accept.boot {
                    server = None;
                    continue;
                }
                if to_client.write_all(&server_bytes[..n]).await.is_err() {
                    return;
                }
            }
            changed = host.changed() => {
                if changed.is_err() {
                    return;
                }
                if host.borrow().boot != at_accept.boot {
                    // The server's side of the connection ends with the host.
                    server = None;
                }
            }
        }
    }
}
