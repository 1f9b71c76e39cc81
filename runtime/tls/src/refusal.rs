//! A connection refused by TLS (a certificate not issued by the trusted CA, or not for the host
//! name, a protocol mismatch) will be refused again: start-up loops that wait for a server to come
//! up stop at once on it, with its reason, instead of retrying for their whole wait.

use std::error::Error;

/// The TLS error somewhere in `err`'s chain of causes, if any.
pub fn tls_refused<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // io::Error's `source` skips the error it wraps, so look inside.
        if let Some(tls) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        next = e.source();
    }
    None
}
