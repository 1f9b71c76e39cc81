//! The database host of a service and of auth crashes and boots again (docs/deploy.md places
//! PostgreSQL on a host of its own): its connections were never closed, so every pooled one is
//! dead, yet once the host is back no request fails.

use stackr_kit::config::SecretUrl;
use stackr_testkit::{HostCrashProxy, TempPostgres};

use super::kit_support::{AuthServer, Browser};

/// `url` (a database of `pg`) reached through `proxy` instead.
fn through(url: &str, pg: &TempPostgres, proxy: &HostCrashProxy) -> String {
    url.replace(
        &format!("127.0.0.1:{}/", pg.port()),
        &format!("127.0.0.1:{}/", proxy.port()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_fails_once_a_crashed_database_host_is_back() {
    let pg = TempPostgres::start();
    let proxy = HostCrashProxy::start(pg.port()).await;
    let service_db = through(&pg.create_service_database("core", "core-pw"), &pg, &proxy);
    let pool = stackr_kit::db::connect(&SecretUrl::new(&service_db).unwrap(), None, "core", 4)
        .await
        .unwrap();
    let auth_db = through(&pg.create_service_database("auth", "auth-pw"), &pg, &proxy);
    let auth = AuthServer::start(&auth_db, &[]);
    let browser = Browser::new(&auth.url);
    let who = browser.sign_up("crash@example.com").await;
    // Every connection of the service's pool made, and many of auth's (sign-ups at once,
    // get-sessions at once for its session readers).
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(pool.get().await.unwrap());
    }
    drop(held);
    let mut at_once = tokio::task::JoinSet::new();
    for i in 0..16 {
        let (url, who) = (auth.url.clone(), who.clone());
        at_once.spawn(async move {
            let browser = Browser::new(&url);
            browser.sign_up(&format!("warm{i}@example.com")).await;
            browser.session_user(&who).await;
        });
    }
    at_once.join_all().await;

    proxy.crash();
    // Down longer than a pooled connection may sit unchecked, as any reboot is.
    tokio::time::sleep(2 * stackr_tls::postgres_host::CHECK_AFTER_UNUSED).await;
    proxy.back();

    for _ in 0..6 {
        let client = pool.get().await.expect("a connection");
        let one: i32 = client
            .query_one("SELECT 1", &[])
            .await
            .expect("a query")
            .get(0);
        assert_eq!(one, 1);
        assert_eq!(browser.session_user(&who).await["id"], who.user_id.as_str());
        browser.sign_in("crash@example.com").await;
    }
}

/// Drops every packet to and from `port` on loopback while it lives: a host that went silent
/// (a crash, a cut cable), as seen from another host. Needs root and iptables.
struct Silenced(u16);

impl Silenced {
    fn rules(&self, action: &str) -> bool {
        let port = self.0.to_string();
        [
            ["-p", "tcp", "--dport", &port],
            ["-p", "tcp", "--sport", &port],
        ]
        .iter()
        .all(|rule| {
            std::process::Command::new("iptables")
                .args(["-w", action, "INPUT", "-i", "lo"])
                .args(rule)
                .args(["-j", "DROP"])
                .status()
                .is_ok_and(|s| s.success())
        })
    }
}

impl Drop for Silenced {
    fn drop(&mut self) {
        self.rules("-D");
    }
}

/// A query sent to a database host that went silent fails within about half a minute (TCP's
/// own limit is about 15 minutes): the request that sent it gets an answer, and its connection
/// goes back to the pool as closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_to_a_silent_database_host_fails_within_half_a_minute() {
    let pg = TempPostgres::start();
    let url = pg.create_service_database("core", "core-pw");
    let pool = stackr_kit::db::connect(&SecretUrl::new(&url).unwrap(), None, "core", 1)
        .await
        .unwrap();
    let client = pool.get().await.unwrap();
    let silenced = Silenced(pg.port());
    if !silenced.rules("-A") {
        eprintln!("skipped: needs root and iptables");
        return;
    }
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(90),
        client.query_one("SELECT 1", &[]),
    )
    .await
    .expect("the query still waits after 90 s");
    assert!(answer.is_err(), "answered while silenced: {answer:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(45),
        "failed only after {:?}",
        started.elapsed()
    );
}
