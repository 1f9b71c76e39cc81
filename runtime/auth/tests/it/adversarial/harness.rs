//! The suite's machinery: one running stackr-auth with production-like settings, clients that
//! each come from their own loopback address (so per-IP rate limits stay on and still let every
//! attack through to the logic it targets), and a runner that counts refused attacks.

use std::future::Future;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::common::{Client, Options, TestServer};

/// `Err` says what got through.
pub type Outcome = Result<(), String>;

/// Fails the attack (it got through) unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

type Run = fn(Arc<Stack>) -> Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// One attack: what the attacker does, what must happen instead, and the code that tries it.
pub struct Attack {
    pub attack: &'static str,
    pub refusal: &'static str,
    pub run: Run,
}

/// The reverse proxy in front of auth (the only address whose `X-Forwarded-For` counts).
pub const PROXY_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 9, 9, 9));

/// The base service allowed to provision, and its credential.
pub const PROVISIONING: (&str, &str) = ("flexible", "flexible-credential-0123456789abcdef");

/// The stack under attack.
pub struct Stack {
    pub server: TestServer,
    next_address: AtomicU32,
    next_user: AtomicU32,
}

/// A signed-up user.
pub struct User {
    pub id: String,
    pub email: String,
    pub password: String,
}

impl Stack {
    /// Rate limits on, as in production.
    pub async fn start() -> Arc<Self> {
        Self::start_with(Options {
            rate_limits: true,
            trusted_proxies: vec![PROXY_ADDRESS.to_string()],
            provision: vec![PROVISIONING],
            ..Default::default()
        })
        .await
    }

    pub async fn start_with(options: Options) -> Arc<Self> {
        Arc::new(Stack {
            server: TestServer::start_with(options).await,
            next_address: AtomicU32::new(1),
            next_user: AtomicU32::new(1),
        })
    }

    /// A loopback address no other client of this stack has used.
    pub fn new_address(&self) -> IpAddr {
        let n = self.next_address.fetch_add(1, Ordering::SeqCst);
        IpAddr::V4(Ipv4Addr::new(127, 10, (n >> 8) as u8, (n & 0xff) as u8))
    }

    /// A browser on an address of its own.
    pub fn client(&self) -> Client {
        Client::from_address(&self.server.base, Some(self.new_address()))
    }

    /// The same browser (same cookies) seen from a new address.
    pub fn moved(&self, browser: &Client) -> Client {
        let mut c = self.client();
        c.cookies = browser.cookies.clone();
        c
    }

    /// Signs a new user up; returns the signed-in browser.
    pub async fn user(&self, tag: &str) -> (Client, User) {
        let n = self.next_user.fetch_add(1, Ordering::SeqCst);
        let email = format!("{tag}-{n}@example.com");
        let password = format!("password-{tag}-{n}");
        let mut c = self.client();
        let r = c.sign_up(tag, &email, &password).await;
        assert_eq!(r.status, 200, "sign-up of {email}: {}", r.text);
        let id = r.json()["user"]["id"].as_str().unwrap().to_owned();
        (
            c,
            User {
                id,
                email,
                password,
            },
        )
    }

    /// A single `bigint`/`count` answer from the auth database.
    pub async fn count(&self, sql: &str, user_id: &str) -> i64 {
        let client = self.server.state.db().await.unwrap();
        client.query_one(sql, &[&user_id]).await.unwrap().get(0)
    }

    /// Makes a user admin behind the service's back (as the `set-role` CLI does).
    pub async fn make_admin(&self, user_id: &str) {
        let client = self.server.state.db().await.unwrap();
        client
            .execute(
                r#"update "user" set "role" = 'admin' where "id" = $1"#,
                &[&user_id],
            )
            .await
            .unwrap();
    }

    pub async fn sessions_of(&self, user_id: &str) -> i64 {
        self.count(
            r#"select count(*) from "session" where "userId" = $1"#,
            user_id,
        )
        .await
    }

    /// A single text answer (or none) from the auth database.
    pub async fn text(&self, sql: &str, user_id: &str) -> Option<String> {
        let client = self.server.state.db().await.unwrap();
        client
            .query_opt(sql, &[&user_id])
            .await
            .unwrap()
            .and_then(|r| r.get(0))
    }

    /// Signs `user` in from a new address; returns the browser and the answer.
    pub async fn sign_in(&self, user: &User) -> (Client, crate::common::Response) {
        let mut c = self.client();
        let r = c.sign_in(&user.email, &user.password).await;
        (c, r)
    }
}

/// Runs every attack in order, prints one line each and the summary, and fails when any got
/// through. `STACKR_ATTACKS=<text>` runs only the attacks whose description contains it.
pub async fn run_all(stack: Arc<Stack>, attacks: Vec<Attack>) {
    let only = std::env::var("STACKR_ATTACKS").ok();
    let mut tried = 0;
    let mut through = Vec::new();
    for a in attacks
        .iter()
        .filter(|a| only.as_deref().is_none_or(|o| a.attack.contains(o)))
    {
        tried += 1;
        let outcome = tokio::spawn((a.run)(stack.clone()))
            .await
            .unwrap_or_else(|e| Err(format!("the attack itself failed: {e}")));
        match outcome {
            Ok(()) => println!("refused: {} -> {}", a.attack, a.refusal),
            Err(why) => {
                println!("GOT THROUGH: {} (expected: {}): {why}", a.attack, a.refusal);
                through.push(format!("{}: {why}", a.attack));
            }
        }
    }
    // Straight to stderr, past the test harness's capture, so the summary is in the log of every
    // run (scripts/test.sh keeps a passing suite's output otherwise hidden).
    let _ = writeln!(
        std::io::stderr(),
        "attacks tried: {tried}, refused: {}",
        tried - through.len()
    );
    assert!(
        through.is_empty(),
        "{} attacks got through:\n{}",
        through.len(),
        through.join("\n")
    );
}
