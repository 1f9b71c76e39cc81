//! The SMTP sender delivers through a real SMTP server: Python's standard-library `smtpd`
//! DebuggingServer, which prints every message it receives. Skipped (with a message) when
//! `python3` or its `smtpd` module is unavailable.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use stackr_auth::mail::{MailSender, OutgoingMail, SmtpSender};

#[tokio::test]
async fn smtp_sender_delivers_to_a_real_smtp_server() {
    let has_smtpd = Command::new("python3")
        .args(["-c", "import smtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_smtpd {
        eprintln!("skipping: python3 with the smtpd module is not available");
        return;
    }
    let port = stackr_testkit::free_port();
    let mut server = Command::new("python3")
        .args([
            "-u",
            "-W",
            "ignore",
            "-m",
            "smtpd",
            "-n",
            "-c",
            "DebuggingServer",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = server.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("END MESSAGE") {
                let _ = tx.send(seen.clone());
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the SMTP server never listened on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let sender = SmtpSender::new(
        &format!("smtp://127.0.0.1:{port}"),
        None,
        "stackr <no-reply@example.com>",
    )
    .unwrap();
    sender
        .send(&OutgoingMail {
            to: "dest@example.com".into(),
            subject: "Reset your password".into(),
            text: "link: http://localhost/reset".into(),
        })
        .await
        .expect("SMTP delivery");
    let received = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the SMTP server got a message");
    let _ = server.kill();
    let _ = server.wait();
    assert!(received.contains("To: dest@example.com"), "{received}");
    assert!(
        received.contains("Subject: Reset your password"),
        "{received}"
    );
    assert!(
        received.contains("link: http://localhost/reset"),
        "{received}"
    );
}
