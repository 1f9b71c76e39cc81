use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Ports handed out come from below Linux's ephemeral range (32768–60999 by default), which the
/// kernel uses for the local end of outgoing connections: a port picked there and released could
/// be taken by any client connection before the server under test binds it.
const RANGE: std::ops::Range<u16> = 20_000..32_000;
/// How long a handed-out port stays reserved for the process that got it.
const RESERVATION: Duration = Duration::from_secs(600);

/// A loopback TCP port that is free and reserved for this caller. Test suites run side by side in
/// several processes: each port is reserved with a file in a shared folder, so two processes never
/// get the same one while it may still be starting its server (a child process binds it only
/// after its own start-up).
pub fn free_port() -> u16 {
    let folder = reservations();
    std::fs::create_dir_all(&folder).expect("create the port reservation folder");
    let span = u32::from(RANGE.end - RANGE.start);
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id().wrapping_mul(2_654_435_761);
    for attempt in 0..span {
        let port = RANGE.start + ((seed.wrapping_add(attempt.wrapping_mul(7_919)) % span) as u16);
        if reserve(&folder.join(port.to_string())) && TcpListener::bind(("127.0.0.1", port)).is_ok()
        {
            return port;
        }
    }
    panic!("no free loopback port left in {RANGE:?}");
}

/// Keeps `port` reserved for another [`RESERVATION`] from now: a server stopped to be started
/// again on the same port (tests of a server going away) holds it while it is down, when
/// [`free_port`] would otherwise see it free and, past the first reservation, hand it out.
pub(crate) fn renew(port: u16) {
    let file = reservations().join(port.to_string());
    let renewed = std::fs::File::options()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_modified(SystemTime::now()));
    if renewed.is_err() {
        let _ = std::fs::write(&file, b"");
    }
}

fn reservations() -> PathBuf {
    std::env::temp_dir().join("stackr-test-ports")
}

/// Takes the reservation file of a port unless another process took it recently.
fn reserve(file: &PathBuf) -> bool {
    let stale = |file: &PathBuf| {
        std::fs::metadata(file)
            .and_then(|m| m.modified())
            .is_ok_and(|at| at.elapsed().unwrap_or_default() > RESERVATION)
    };
    if stale(file) {
        let _ = std::fs::remove_file(file);
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_from_outside_the_ephemeral_range_and_are_never_handed_out_twice() {
        let ports: std::collections::HashSet<u16> = (0..200).map(|_| free_port()).collect();
        assert_eq!(ports.len(), 200, "a port was handed out twice");
        assert!(ports.iter().all(|port| RANGE.contains(port)), "{ports:?}");
    }

    #[test]
    fn a_renewed_reservation_is_not_handed_out_once_the_first_one_ran_out() {
        let port = free_port();
        let file = reservations().join(port.to_string());
        let long_ago = SystemTime::now() - RESERVATION - Duration::from_secs(60);
        let age = |file: &PathBuf| {
            let f = std::fs::File::options().write(true).open(file).unwrap();
            f.set_modified(long_ago).unwrap();
        };
        age(&file);
        renew(port);
        assert!(!reserve(&file), "renewed, yet taken by another caller");
        age(&file);
        assert!(
            reserve(&file),
            "the premise: a reservation that ran out is taken"
        );
    }
}
