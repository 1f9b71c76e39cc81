//! What a process whose start-up failed does with the connections waiting on a socket it was
//! handed. systemd (or `stackr dev`'s supervisor) keeps the socket listening after the process
//! exits, so a connection accepted into its queue is neither served nor refused: the client
//! waits until it gives up (a load balancer's read timeout, a minute; a browser, longer), through
//! every failed restart. Answered before the process exits, the client learns at once, and a load
//! balancer tries another replica.
//!
//! Only a failed start-up does this: during an ordinary restart, connections wait in the queue
//! for the process that comes back, which is what the held socket is for.

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::Passed;

/// How the waiting connections are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnAway {
    /// `503 Service Unavailable`, for a socket that serves plain HTTP.
    Unavailable,
    /// Closed without a word, for one that serves TLS (a plain answer would be garbage there).
    Close,
}

/// The most time spent answering: a process that failed should not linger.
const TURN_AWAY_TIME: Duration = Duration::from_secs(2);
/// The most time one connection gets to take its answer and close.
const PER_CONNECTION: Duration = Duration::from_millis(200);
/// The most request bytes read from one connection before it is answered.
const READ_AT_MOST: usize = 64 * 1024;

/// Answers every connection waiting on the socket handed over as `name`, if one was, and returns
/// how many. Call it only when start-up failed before the socket was taken (by
/// [`super::inherited_or_bound`] or [`super::inherited_unix`]): the descriptor is taken here.
/// Errors end the answering; they are not reported, since the process is failing already.
pub fn turn_away_waiting(name: &str, how: TurnAway) -> usize {
    let Ok(Passed::Named(fd)) = super::passed_to_this_process(name) else {
        return 0;
    };
    // Whatever the variables say, a descriptor that is not a listening socket (closed since, or
    // reused by the process) is left alone.
    // SAFETY: borrowed only for the check; `fcntl` and `getsockopt` on a closed descriptor fail.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    if !socket2::SockRef::from(&borrowed)
        .is_listener()
        .unwrap_or(false)
    {
        return 0;
    }
    // SAFETY: systemd passed this listening socket to this process under this name, and the
    // caller has not taken it (see above). Closing this copy leaves systemd's listening.
    let listener = socket2::Socket::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if listener.set_nonblocking(true).is_err() {
        return 0;
    }
    let deadline = Instant::now() + TURN_AWAY_TIME;
    let mut answered = 0;
    // Ends when the queue is empty (WouldBlock).
    while Instant::now() < deadline {
        let Ok((connection, _)) = listener.accept() else {
            break;
        };
        answer(&connection, how, deadline);
        answered += 1;
    }
    answered
}

/// Reads what the client has sent (so that closing does not reset the connection under the
/// answer), answers, and waits briefly for the client to close.
fn answer(connection: &socket2::Socket, how: TurnAway, deadline: Instant) {
    let time = PER_CONNECTION.min(deadline.saturating_duration_since(Instant::now()));
    if time.is_zero() {
        return;
    }
    let mut buffer = [0u8; 4096];
    let mut read = 0;
    if connection.set_nonblocking(true).is_ok() {
        while read < READ_AT_MOST {
            match (&*connection).read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => read += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
    if connection.set_nonblocking(false).is_err()
        || connection.set_write_timeout(Some(time)).is_err()
        || connection.set_read_timeout(Some(time)).is_err()
    {
        return;
    }
    if how == TurnAway::Unavailable {
        let body = format!(
            r#"{{"message":"{}","code":"{}"}}"#,
            crate::UNAVAILABLE_MESSAGE,
            crate::UNAVAILABLE_CODE
        );
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        if (&*connection).write_all(response.as_bytes()).is_err() {
            return;
        }
    }
    let _ = connection.shutdown(Shutdown::Write);
    // Until the client closes, or the time is up.
    while matches!((&*connection).read(&mut buffer), Ok(n) if n > 0) {}
}
