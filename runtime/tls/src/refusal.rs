//! A connection refused by TLS (a certificate not issued by the trusted CA, or not for the host
//! name, a protocol mismatch), or by the client because the server did not prove itself
//! ([`crate::postgres_login`]), will be refused again: start-up loops that wait for a server to come
//! up stop at once on it, with its reason, instead of retrying for their whole wait.

use std::error::Error;
use std::sync::Arc;

/// The TLS error somewhere in `err`'s chain of causes, if any.
pub fn tls_refused<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = cause(e);
    }
    None
}

/// Whether `err` will be refused again: TLS refused the server, or the server did not prove
/// itself by SCRAM on a plain connection.
pub fn refused_for_good(err: &(dyn Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<crate::postgres_login::LoginRefused>() {
            return true;
        }
        next = cause(e);
    }
    tls_refused(err).is_some()
}

/// `err` and each of its causes, as one line: drivers' own messages often stop at "error
/// performing TLS handshake" and leave the reason (which certificate check failed) to a cause.
pub fn full_message(err: &(dyn Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut next = cause(err);
    while let Some(e) = next {
        let part = e.to_string();
        if !message.contains(&part) {
            message.push_str(": ");
            message.push_str(&part);
        }
        next = cause(e);
    }
    message
}

/// [`full_message`] quoted, for one log line: a database error's DETAIL line may hold a stored
/// value (an address), which must not start a line of its own.
pub fn log_line(err: &(dyn Error + 'static)) -> String {
    format!("{:?}", full_message(err))
}

/// Why a start-up loop stopped on `err`: a refusal for good at once, with its full message; any
/// other error only once it had been retried until the start-up wait ended, which it says.
pub fn why_start_up_stopped(err: &(dyn Error + 'static)) -> String {
    let message = full_message(err);
    if refused_for_good(err) {
        message
    } else {
        stackr_contract::unreachable_within_startup_wait(&message)
    }
}

fn cause<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a (dyn Error + 'static)> {
    // io::Error's `source` skips the error it wraps (often another io::Error): look inside.
    if let Some(inner) = err
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        return Some(inner);
    }
    // The redis crate hands its cause out as the `Arc` holding it, whose `source` is the
    // cause's own (skipping it, for an io::Error): look inside too.
    if let Some(shared) = err.downcast_ref::<Arc<dyn Error + Send + Sync>>() {
        return Some(&**shared);
    }
    err.source()
}
