//! The mails anyone may make auth send (a reset link, a verification link) are limited per
//! recipient, not only per client address: whoever holds many addresses (a botnet, an IPv4
//! range) must not be able to flood one mailbox through auth, nor have auth's mail server
//! marked as a spam source for it.

use serde_json::json;
use stackr_auth::mail_budget::MAILS_PER_WINDOW;

use crate::common::{Client, Options, TestServer};

/// Mails to `to` in the mailbox once the background sends have settled.
async fn mails_to(server: &TestServer, to: &str) -> usize {
    let count = || {
        server
            .mails()
            .iter()
            .filter(|m| m.contains(&format!("To: {to}")))
            .count()
    };
    let mut seen = count();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = count();
        if now == seen {
            return now;
        }
        seen = now;
    }
}

#[tokio::test]
async fn many_client_addresses_cannot_flood_one_mailbox() {
    let server = TestServer::start_with(Options {
        rate_limits: true,
        ..Default::default()
    })
    .await;
    let email = "flooded@example.com";
    server.client().sign_up("Flo", email, "password-123").await;
    let asked = MAILS_PER_WINDOW + 3;
    for route in [
        "/api/auth/request-password-reset",
        "/api/auth/send-verification-email",
    ] {
        let before = mails_to(&server, email).await;
        // One request per client address: the per-address limit never kicks in.
        for n in 0..asked {
            let address = format!("127.0.7.{}", n + 1).parse().unwrap();
            let r = Client::from_address(&server.base, Some(address))
                .post(route, json!({"email": email}))
                .await;
            // The answer stays the one every address gets (no enumeration).
            assert_eq!(r.status, 200, "{route} #{n}: {}", r.text);
            assert_eq!(r.json()["status"], true, "{route} #{n}: {}", r.text);
        }
        let sent = mails_to(&server, email).await - before;
        assert_eq!(
            sent, MAILS_PER_WINDOW as usize,
            "{route}: {asked} requests from as many addresses sent {sent} mails"
        );
    }
    // Another address has a budget of its own.
    let other = "other@example.com";
    server.client().sign_up("Otto", other, "password-123").await;
    let r = Client::from_address(&server.base, Some("127.0.8.1".parse().unwrap()))
        .post("/api/auth/request-password-reset", json!({"email": other}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    server.wait_for_link(other, 1).await;
}

/// The verification link a change-email confirmation mails to the new address is a mail of the
/// same budget: a confirmation link, opened again and again (it is not used up by opening), must
/// not mail the address it names more often than asking for the change directly would.
#[tokio::test]
async fn reopening_a_change_email_confirmation_cannot_flood_the_new_address() {
    let server = TestServer::start().await;
    let mut val = server.client();
    val.sign_up("Val", "val@example.com", "password-123").await;
    server.psql(r#"update "user" set "emailVerified" = true where "email" = 'val@example.com'"#);
    let victim = "victim@example.com";
    let r = val
        .post("/api/auth/change-email", json!({"newEmail": victim}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let confirmation = server.wait_for_link("val@example.com", 1).await;
    let url = url::Url::parse(&confirmation).unwrap();
    let path = format!("{}?{}", url.path(), url.query().unwrap());
    let asked = MAILS_PER_WINDOW + 3;
    for n in 0..asked {
        let address = format!("127.0.9.{}", n + 1).parse().unwrap();
        let r = Client::from_address(&server.base, Some(address))
            .get(&path)
            .await;
        // The link is good each time (it is not used up by opening).
        assert_eq!(r.status, 302, "#{n}: {}", r.text);
        let to = r.headers["location"].to_str().unwrap();
        assert!(!to.contains("error="), "#{n}: {to}");
    }
    let sent = mails_to(&server, victim).await;
    assert_eq!(
        sent, MAILS_PER_WINDOW as usize,
        "{asked} openings of one confirmation link sent {sent} mails"
    );
}

/// An account whose address is not verified has change-email links mailed to the new address,
/// which it names: each address has its budget, so the account itself has one too, or one
/// account could make auth mail as many addresses as it liked.
#[tokio::test]
async fn one_account_cannot_have_many_addresses_mailed() {
    let server = TestServer::start().await;
    let mut mal = server.client();
    mal.sign_up("Mal", "mal@example.com", "password-123").await;
    let asked = MAILS_PER_WINDOW + 3;
    let targets: Vec<String> = (0..asked)
        .map(|n| format!("target{n}@example.com"))
        .collect();
    for target in &targets {
        let r = mal
            .post("/api/auth/change-email", json!({"newEmail": target}))
            .await;
        // The answer stays the one every request gets.
        assert_eq!(r.status, 200, "{target}: {}", r.text);
    }
    let mut sent = 0;
    for target in &targets {
        sent += mails_to(&server, target).await;
    }
    assert_eq!(
        sent, MAILS_PER_WINDOW as usize,
        "{asked} change-email requests of one account sent {sent} mails"
    );
}

/// `flooded+1@example.com`, `flooded+2@example.com`, …: one mailbox at most mail servers (the
/// part after `+` is the owner's to choose), which accounts under as many spellings must not
/// flood with a budget per spelling.
#[tokio::test]
async fn plus_addresses_of_one_mailbox_share_its_budget() {
    let server = TestServer::start_with(Options {
        rate_limits: true,
        ..Default::default()
    })
    .await;
    let asked = MAILS_PER_WINDOW + 3;
    let spellings: Vec<String> = (0..asked)
        .map(|n| format!("flooded+{n}@example.com"))
        .collect();
    for (n, email) in spellings.iter().enumerate() {
        let address = format!("127.0.9.{}", n + 1).parse().unwrap();
        let r = Client::from_address(&server.base, Some(address))
            .sign_up("Flo", email, "password-123")
            .await;
        assert_eq!(r.status, 200, "sign-up of {email}: {}", r.text);
    }
    // Every spelling's mails: `To: flooded+…`.
    let before = mails_to(&server, "flooded+").await;
    for (n, email) in spellings.iter().enumerate() {
        let address = format!("127.0.10.{}", n + 1).parse().unwrap();
        let r = Client::from_address(&server.base, Some(address))
            .post("/api/auth/request-password-reset", json!({"email": email}))
            .await;
        assert_eq!(r.status, 200, "{email}: {}", r.text);
    }
    let sent = mails_to(&server, "flooded+").await - before;
    assert_eq!(
        sent, MAILS_PER_WINDOW as usize,
        "{asked} resets for as many spellings of one mailbox sent {sent} mails"
    );
}
