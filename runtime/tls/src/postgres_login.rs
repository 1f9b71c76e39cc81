//! Plain PostgreSQL connections (a Unix socket, loopback TCP: no certificate) make the server
//! prove it is the stack's own before the client answers it. A server's port or socket can be
//! taken by another program while the server is down (a restart, a crash). The stack's servers
//! log a role with a password in only by SCRAM (pg_hba `scram-sha-256`), where the password never
//! crosses and the server proves it knows it too. So, when the connection has a password, a server
//! asking for it in clear or as an MD5 hash, or letting the role in without SCRAM (trust), is
//! refused before the client sends anything more: the password stays here, and no query goes to
//! a server that did not prove itself. Without a password there is nothing to prove, and any
//! login the server offers goes through.
//!
//! TLS connections (`sslmode=verify-full`) are left to tokio-postgres: the certificate proves
//! the server.

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

/// The fewest SCRAM iterations accepted (PostgreSQL's default `scram_iterations`): the client's
/// proof is sent before the server proves itself, and a server choosing fewer would make it
/// cheap to test guesses of the password against.
const LEAST_SCRAM_ITERATIONS: u32 = 4096;
/// The most SCRAM iterations accepted: the client computes its proof with the server's count,
/// on a runtime thread, and a program holding a stopped server's address could ask for billions
/// (an hour of CPU per connection attempt). 244 times PostgreSQL's default, well above what
/// servers are set to.
const MOST_SCRAM_ITERATIONS: u32 = 1_000_000;
/// The longest SASLContinue body read: a server nonce, a salt and an iteration count.
const LONGEST_SASL_CONTINUE: usize = 1024;

/// PostgreSQL's authentication request codes (the `R` message).
const AUTH_OK: u32 = 0;
const AUTH_CLEARTEXT: u32 = 3;
const AUTH_MD5: u32 = 5;
const AUTH_SASL: u32 = 10;
const AUTH_SASL_CONTINUE: u32 = 11;
const AUTH_SASL_FINAL: u32 = 12;

/// A server that did not prove itself: the login was stopped before the client answered.
#[derive(Debug, thiserror::Error)]
#[error(
    "PostgreSQL at {server} {asked}; the stack's servers log roles in only by SCRAM \
     (pg_hba scram-sha-256), so another program may hold this address while its server is down: \
     nothing was sent to it. See which process listens there (`ss -ltnpx`), or, for a server of \
     your own, give the role a SCRAM login in its pg_hba.conf"
)]
pub struct LoginRefused {
    server: String,
    asked: String,
}

fn what_was_asked(refusal: Refusal) -> String {
    let code = match refusal {
        Refusal::Method(code) => code,
        Refusal::FewIterations(Some(n)) => {
            return format!(
                "asked for a SCRAM proof with {n} iterations (fewer than {LEAST_SCRAM_ITERATIONS})"
            )
        }
        Refusal::ManyIterations(n) => {
            return format!(
                "asked for a SCRAM proof with {n} iterations (more than {MOST_SCRAM_ITERATIONS})"
            )
        }
        Refusal::FewIterations(None) => {
            return "sent a SCRAM challenge with no readable iteration count".into()
        }
    };
    match code {
        AUTH_OK => "let the role in without SCRAM (a trust or peer login)".into(),
        AUTH_CLEARTEXT => "asked for the password in clear text".into(),
        AUTH_MD5 => "asked for the password as an MD5 hash".into(),
        other => format!("asked for a login method other than SCRAM (authentication code {other})"),
    }
}

/// Why the client stops before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// An authentication request other than SCRAM's, or the login's end without its proof.
    Method(u32),
    /// A SCRAM challenge with too few iterations (or none readable).
    FewIterations(Option<u32>),
    /// A SCRAM challenge whose proof would hold a thread for too long.
    ManyIterations(u32),
}

/// Reads the server's messages as they pass, until the login ends.
#[derive(Debug)]
struct LoginWatch {
    header: [u8; 5],
    header_len: usize,
    body_left: usize,
    /// Of an `R` message: its code, as far as it has arrived.
    code: [u8; 4],
    code_len: usize,
    is_auth: bool,
    /// Of a SASLContinue: its body, read for the iteration count.
    challenge: Vec<u8>,
    scram_proved: bool,
    over: bool,
}

impl LoginWatch {
    fn new(scram_only: bool) -> Self {
        LoginWatch {
            header: [0; 5],
            header_len: 0,
            body_left: 0,
            code: [0; 4],
            code_len: 0,
            is_auth: false,
            challenge: Vec::new(),
            scram_proved: false,
            // With no password to keep, nothing is watched.
            over: !scram_only,
        }
    }

    /// Takes in the next bytes from the server; why the client must not answer them.
    fn take(&mut self, mut bytes: &[u8]) -> Result<(), Refusal> {
        while !bytes.is_empty() && !self.over {
            if self.header_len < self.header.len() {
                let n = (self.header.len() - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + n].copy_from_slice(&bytes[..n]);
                self.header_len += n;
                bytes = &bytes[n..];
                if self.header_len == self.header.len() {
                    let length = u32::from_be_bytes(self.header[1..5].try_into().unwrap());
                    self.body_left = (length as usize).saturating_sub(4);
                    self.is_auth = self.header[0] == b'R';
                    self.code_len = 0;
                    if self.body_left == 0 {
                        self.header_len = 0;
                    }
                }
                continue;
            }
            let n = self.body_left.min(bytes.len());
            let mut body = &bytes[..n];
            if self.is_auth && self.code_len < self.code.len() {
                let m = (self.code.len() - self.code_len).min(n);
                self.code[self.code_len..self.code_len + m].copy_from_slice(&body[..m]);
                self.code_len += m;
                body = &body[m..];
                if self.code_len == self.code.len() {
                    self.challenge.clear();
                    self.judge(u32::from_be_bytes(self.code))?;
                }
            }
            let in_challenge =
                self.is_auth && self.code_len == 4 && self.code == AUTH_SASL_CONTINUE.to_be_bytes();
            if in_challenge && self.challenge.len() + body.len() <= LONGEST_SASL_CONTINUE {
                self.challenge.extend_from_slice(body);
            }
            self.body_left -= n;
            bytes = &bytes[n..];
            if self.body_left == 0 {
                self.header_len = 0;
                if in_challenge {
                    enough_iterations(&self.challenge)?;
                }
            }
        }
        Ok(())
    }

    fn judge(&mut self, code: u32) -> Result<(), Refusal> {
        match code {
            AUTH_SASL | AUTH_SASL_CONTINUE => Ok(()),
            // tokio-postgres checks the server's proof in this message before it goes on.
            AUTH_SASL_FINAL => {
                self.scram_proved = true;
                Ok(())
            }
            AUTH_OK if self.scram_proved => {
                self.over = true;
                Ok(())
            }
            refused => Err(Refusal::Method(refused)),
        }
    }
}

/// Whether a SCRAM challenge (`r=<nonce>,s=<salt>,i=<iterations>`) asks for enough iterations,
/// and not too many.
fn enough_iterations(challenge: &[u8]) -> Result<(), Refusal> {
    let iterations = std::str::from_utf8(challenge)
        .ok()
        .and_then(|text| text.split(',').find_map(|part| part.strip_prefix("i=")))
        .and_then(|n| n.parse::<u32>().ok());
    match iterations {
        Some(n) if n > MOST_SCRAM_ITERATIONS => Err(Refusal::ManyIterations(n)),
        Some(n) if n >= LEAST_SCRAM_ITERATIONS => Ok(()),
        other => Err(Refusal::FewIterations(other)),
    }
}

/// A plain connection whose login is watched by a [`LoginWatch`].
struct Watched<S> {
    inner: S,
    watch: LoginWatch,
    server: String,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if let Err(refusal) = this.watch.take(&buf.filled()[before..]) {
            // The request never reaches the client, which therefore answers nothing.
            buf.set_filled(before);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                LoginRefused {
                    server: this.server.clone(),
                    asked: what_was_asked(refusal),
                },
            )));
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The socket under a plain connection. A socket that could not be opened becomes one whose
/// first read or write fails with the reason: tokio-postgres turns an I/O error of the stream it
/// is given into its own error, which nothing outside it can build.
enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
    Failed(Option<io::Error>),
}

impl Socket {
    fn failure(slot: &mut Option<io::Error>) -> io::Error {
        slot.take()
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "not connected"))
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Failed(e) => Poll::Ready(Err(Socket::failure(e))),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Failed(e) => Poll::Ready(Err(Socket::failure(e))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_flush(cx),
            Socket::Unix(s) => Pin::new(s).poll_flush(cx),
            Socket::Failed(e) => Poll::Ready(Err(Socket::failure(e))),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Failed(_) => Poll::Ready(Ok(())),
        }
    }
}

/// A plain connection is made here to one server: several hosts, or a host list's
/// `target_session_attrs` and `load_balance_hosts`, are tokio-postgres's own connect's, which a
/// plain connection does not go through.
pub(crate) fn check_plain(config: &Config) -> Result<(), crate::TlsError> {
    use tokio_postgres::config::{LoadBalanceHosts, TargetSessionAttrs};
    let setting = if config.get_hosts().len() > 1 {
        "more than one host"
    } else if config.get_hostaddrs().len() > 1 {
        "more than one hostaddr"
    } else if config.get_target_session_attrs() != TargetSessionAttrs::Any {
        "target_session_attrs"
    } else if config.get_load_balance_hosts() != LoadBalanceHosts::Disable {
        "load_balance_hosts"
    } else {
        return Ok(());
    };
    Err(crate::TlsError::PlainNeedsOneHost { setting })
}

/// Opens `config`'s one host ([`check_plain`]), with its connect timeout and, over TCP, its
/// keepalives and unacknowledged-data limit (as tokio-postgres's own connect sets them).
async fn open(config: &Config) -> (Socket, String) {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let timeout = config.get_connect_timeout().copied();
    let (attempt, server) = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => {
            let address = config.get_hostaddrs().first().copied();
            (
                within(timeout, tcp(config, name, address, port)).await,
                format!("{name}:{port}"),
            )
        }
        Some(Host::Unix(dir)) => {
            let path = dir.join(format!(".s.PGSQL.{port}"));
            (
                within(timeout, unix(&path)).await,
                path.display().to_string(),
            )
        }
        None => (
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the URL names no host",
            )),
            String::from("(no host)"),
        ),
    };
    match attempt {
        Ok(socket) => (socket, server),
        Err(error) => {
            let error =
                io::Error::new(error.kind(), format!("cannot connect to {server}: {error}"));
            (Socket::Failed(Some(error)), server)
        }
    }
}

async fn within<T>(
    limit: Option<Duration>,
    connect: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, connect)
            .await
            .unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection timed out",
                ))
            }),
        None => connect.await,
    }
}

async fn tcp(
    config: &Config,
    name: &str,
    address: Option<std::net::IpAddr>,
    port: u16,
) -> io::Result<Socket> {
    let stream = match address {
        Some(ip) => TcpStream::connect((ip, port)).await?,
        None => TcpStream::connect((name, port)).await?,
    };
    stream.set_nodelay(true)?;
    let socket = SockRef::from(&stream);
    #[cfg(target_os = "linux")]
    if let Some(limit) = config.get_tcp_user_timeout() {
        socket.set_tcp_user_timeout(Some(*limit))?;
    }
    if config.get_keepalives() {
        let mut keepalive = TcpKeepalive::new().with_time(config.get_keepalives_idle());
        if let Some(interval) = config.get_keepalives_interval() {
            keepalive = keepalive.with_interval(interval);
        }
        if let Some(retries) = config.get_keepalives_retries() {
            keepalive = keepalive.with_retries(retries);
        }
        socket.set_tcp_keepalive(&keepalive)?;
    }
    Ok(Socket::Tcp(stream))
}

async fn unix(path: &Path) -> io::Result<Socket> {
    Ok(Socket::Unix(UnixStream::connect(path).await?))
}

/// deadpool's connection step for plain connections: the socket opened here, the login watched.
pub(crate) struct WatchedLogin;

impl deadpool_postgres::Connect for WatchedLogin {
    fn connect(
        &self,
        config: &Config,
    ) -> Pin<
        Box<
            dyn Future<
                    Output = Result<(Client, tokio::task::JoinHandle<()>), tokio_postgres::Error>,
                > + Send
                + '_,
        >,
    > {
        let config = config.clone();
        Box::pin(async move {
            let (client, connection) = connect(&config).await?;
            let task = tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "PostgreSQL connection ended");
                }
            });
            Ok((client, task))
        })
    }
}

/// A plain connection to the server `config` names, its login watched.
pub(crate) async fn connect(
    config: &Config,
) -> Result<
    (
        Client,
        tokio_postgres::Connection<
            impl AsyncRead + AsyncWrite + Unpin,
            tokio_postgres::tls::NoTlsStream,
        >,
    ),
    tokio_postgres::Error,
> {
    let (socket, server) = open(config).await;
    let watched = Watched {
        inner: socket,
        watch: LoginWatch::new(config.get_password().is_some()),
        server,
    };
    config.connect_raw(watched, NoTls).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn auth(code: u32, rest: &[u8]) -> Vec<u8> {
        let mut body = code.to_be_bytes().to_vec();
        body.extend_from_slice(rest);
        message(b'R', &body)
    }

    /// What the watch says of `stream`, fed in pieces of `piece` bytes.
    fn verdict(scram_only: bool, stream: &[u8], piece: usize) -> Result<(), Refusal> {
        let mut watch = LoginWatch::new(scram_only);
        stream.chunks(piece).try_for_each(|chunk| watch.take(chunk))
    }

    fn scram_login() -> Vec<u8> {
        [
            auth(AUTH_SASL, b"SCRAM-SHA-256\0\0"),
            auth(AUTH_SASL_CONTINUE, b"r=abc,s=c2FsdA==,i=4096"),
            auth(AUTH_SASL_FINAL, b"v=proof"),
            auth(AUTH_OK, b""),
        ]
        .concat()
    }

    #[test]
    fn a_scram_login_goes_through_and_what_follows_is_not_read() {
        // After the login, bytes that would look like a cleartext request are data.
        let stream = [
            scram_login(),
            message(b'S', b"a\0b\0"),
            auth(AUTH_CLEARTEXT, b""),
        ]
        .concat();
        for piece in 1..=stream.len() {
            assert_eq!(verdict(true, &stream, piece), Ok(()), "pieces of {piece}");
        }
    }

    #[test]
    fn clear_text_md5_and_a_login_without_scram_are_refused_however_the_bytes_arrive() {
        let notice = message(b'N', b"SNOTICE\0\0");
        for (code, rest) in [
            (AUTH_CLEARTEXT, &b""[..]),
            (AUTH_MD5, &b"salt"[..]),
            (AUTH_OK, &b""[..]),
            (7, &b""[..]),
        ] {
            let stream = [notice.clone(), auth(code, rest)].concat();
            for piece in 1..=stream.len() {
                assert_eq!(
                    verdict(true, &stream, piece),
                    Err(Refusal::Method(code)),
                    "pieces of {piece}"
                );
            }
        }
        // The login's end without the server's SCRAM proof before it.
        let unproved = [auth(AUTH_SASL, b"SCRAM-SHA-256\0\0"), auth(AUTH_OK, b"")].concat();
        assert_eq!(verdict(true, &unproved, 3), Err(Refusal::Method(AUTH_OK)));
    }

    /// The client's proof goes out before the server proves itself: a server choosing few
    /// iterations would make guesses of the password cheap to test against it.
    #[test]
    fn a_scram_challenge_with_few_iterations_is_refused() {
        for (challenge, refusal) in [
            (
                &b"r=abc,s=c2FsdA==,i=1"[..],
                Refusal::FewIterations(Some(1)),
            ),
            (
                b"r=abc,s=c2FsdA==,i=4095",
                Refusal::FewIterations(Some(4095)),
            ),
            (b"r=abc,s=c2FsdA==", Refusal::FewIterations(None)),
        ] {
            let stream = [
                auth(AUTH_SASL, b"SCRAM-SHA-256\0\0"),
                auth(AUTH_SASL_CONTINUE, challenge),
            ]
            .concat();
            for piece in 1..=stream.len() {
                assert_eq!(
                    verdict(true, &stream, piece),
                    Err(refusal),
                    "pieces of {piece}"
                );
            }
        }
        let enough = [
            auth(AUTH_SASL, b"SCRAM-SHA-256\0\0"),
            auth(AUTH_SASL_CONTINUE, b"r=abc,s=c2FsdA==,i=600000"),
        ]
        .concat();
        assert_eq!(verdict(true, &enough, 1), Ok(()));
    }

    /// The client computes its proof with the server's iteration count, on a runtime thread:
    /// a program holding the server's address while it is down could ask for 4 billion and
    /// hold that thread for an hour on every connection attempt.
    #[test]
    fn a_scram_challenge_with_more_iterations_than_a_proof_should_cost_is_refused() {
        for count in [MOST_SCRAM_ITERATIONS + 1, i32::MAX as u32, u32::MAX] {
            let challenge = format!("r=abc,s=c2FsdA==,i={count}");
            let stream = [
                auth(AUTH_SASL, b"SCRAM-SHA-256\0\0"),
                auth(AUTH_SASL_CONTINUE, challenge.as_bytes()),
            ]
            .concat();
            assert_eq!(
                verdict(true, &stream, 2),
                Err(Refusal::ManyIterations(count)),
                "{count}"
            );
        }
        let most = format!("r=abc,s=c2FsdA==,i={MOST_SCRAM_ITERATIONS}");
        assert_eq!(
            verdict(true, &auth(AUTH_SASL_CONTINUE, most.as_bytes()), 1),
            Ok(())
        );
        assert!(what_was_asked(Refusal::ManyIterations(u32::MAX)).contains("4294967295 iterations"));
    }

    #[test]
    fn a_plain_connection_names_one_server() {
        for (url, setting) in [
            ("postgres://core@a:5432,b:5432/core", "more than one host"),
            (
                "postgres://core@a:5432/core?target_session_attrs=read-write",
                "target_session_attrs",
            ),
        ] {
            let err = crate::postgres::config(url, None).unwrap_err().to_string();
            assert!(
                err.contains(setting) && err.contains("name one host"),
                "{err}"
            );
        }
        assert!(crate::postgres::config("postgres://core@%2Frun%2Fpg:5432/core", None).is_ok());
    }

    #[test]
    fn without_a_password_any_login_goes_through() {
        for code in [AUTH_OK, AUTH_CLEARTEXT, AUTH_MD5] {
            assert_eq!(verdict(false, &auth(code, b""), 1), Ok(()));
        }
    }

    #[test]
    fn a_server_not_up_is_named_and_worth_another_try() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config: Config = format!("postgres://core:pw@127.0.0.1:{port}/core")
            .parse()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let Err(e) = runtime.block_on(connect(&config)) else {
            panic!("connected to a closed port");
        };
        let message = crate::refusal::full_message(&e);
        assert!(
            message.contains(&format!("cannot connect to 127.0.0.1:{port}")),
            "{message}"
        );
        assert!(!crate::refusal::refused_for_good(&e), "{message}");
    }

    #[test]
    fn the_refusal_names_the_server_and_is_final() {
        let refused = LoginRefused {
            server: "127.0.0.1:5440".into(),
            asked: what_was_asked(Refusal::Method(AUTH_CLEARTEXT)),
        };
        assert!(refused
            .to_string()
            .contains("127.0.0.1:5440 asked for the password in clear text"));
        let wrapped = io::Error::new(io::ErrorKind::PermissionDenied, refused);
        assert!(crate::refusal::refused_for_good(&wrapped));
        assert!(!crate::refusal::refused_for_good(&io::Error::other(
            "connection refused"
        )));
    }
}
