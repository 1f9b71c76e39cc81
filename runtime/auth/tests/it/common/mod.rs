//! Test harness: a real PostgreSQL (testkit), the auth service on a loopback port, and an HTTP
//! client that keeps cookies the way a browser would (and lets tests look at raw `Set-Cookie`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::header::HeaderMap;
use serde_json::Value;
use stackr_auth::config::{MailConfig, Secret};
use stackr_auth::{AppState, AuthConfig};
use stackr_testkit::TempPostgres;

pub const SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";
pub const APP_ORIGIN: &str = "http://localhost:3000";

#[derive(Default)]
pub struct Options {
    pub provision: Vec<(&'static str, &'static str)>,
    pub rate_limits: bool,
    pub require_email_verification: bool,
    pub https: bool,
    /// get-session cache TTL; `Some(0)` for tests that edit rows behind the service's back.
    pub session_cache_ms: Option<u64>,
    /// `AUTH_TRUSTED_PROXIES`.
    pub trusted_proxies: Vec<String>,
    /// `AUTH_SECRETS_FILE` entries; `SECRET` stays the unversioned secret unless dropped.
    pub versioned_secrets: Vec<(u32, &'static str)>,
    pub drop_unversioned_secret: bool,
    /// `AUTH_ROLES`: the roles the stack declares besides `user` and `admin`.
    pub roles: &'static str,
    /// OpenID Connect providers for social sign-in.
    pub oauth_providers: Vec<stackr_auth::oauth::ProviderConfig>,
    /// `AUTH_USER_FIELDS` (JSON), empty for none.
    pub user_fields: &'static str,
}

pub struct TestServer {
    pub pg: TempPostgres,
    pub db_url: String,
    pub base: String,
    pub state: AppState,
    pub mail_dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Another auth process of a [`TestServer`]'s, on its database.
pub struct Replica {
    pub base: String,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> Self {
        let pg = tokio::task::spawn_blocking(TempPostgres::start)
            .await
            .unwrap();
        let db_url = pg.create_service_database("auth", "auth-db-password");
        Self::start_on(pg, db_url, opts).await
    }

    /// Starts the service on an existing database.
    pub async fn start_on(pg: TempPostgres, db_url: String, opts: Options) -> Self {
        let mail_dir = tempfile::tempdir().unwrap();
        let (base, state, task) = launch(&db_url, &mail_dir, opts).await;
        TestServer {
            pg,
            db_url,
            base,
            state,
            mail_dir,
            task,
        }
    }

    /// Stops the service and starts it again on the same database with other options (a
    /// restart with a new configuration); the new address is in `base`.
    pub async fn restart_with(&mut self, opts: Options) {
        self.task.abort();
        let (base, state, task) = launch(&self.db_url, &self.mail_dir, opts).await;
        self.base = base;
        self.state = state;
        self.task = task;
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// A client signed up as `email` (password `password-123`) and made an admin.
    pub async fn admin(&self, name: &str, email: &str) -> Client {
        let mut admin = self.client();
        admin.sign_up(name, email, "password-123").await;
        self.psql(&format!(
            r#"update "user" set "role" = 'admin' where "email" = '{email}'"#
        ));
        admin
    }

    /// A second auth process on the same database, as a replica behind a load balancer; it stops
    /// when dropped.
    pub async fn replica(&self) -> Replica {
        let (base, _, task) = launch(&self.db_url, &self.mail_dir, Options::default()).await;
        Replica { base, task }
    }

    pub fn psql(&self, sql: &str) -> String {
        let db = self.db_url.rsplit('/').next().unwrap();
        self.pg.psql(db, sql)
    }

    /// Marks `email`'s address verified, as its owner's click on a verification link does
    /// (`mail_flows.rs` follows the link), for tests whose point lies beyond it: a second factor
    /// enrolled before the address was verified does not survive a reset
    /// (`two_factor_after_reset.rs`).
    pub fn address_verified(&self, email: &str) {
        self.psql(&format!(
            r#"update "user" set "emailVerified" = true where "email" = '{email}'"#
        ));
    }

    /// Mail files in the dev mailbox, oldest first.
    pub fn mails(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.mail_dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Waits for the `count`-th (1-based) one-time sign-in code mailed (`code: 123456`) and
    /// returns it.
    pub async fn wait_for_code(&self, count: usize) -> String {
        let within = std::time::Duration::from_secs(60);
        let deadline = std::time::Instant::now() + within;
        loop {
            let codes: Vec<String> = self
                .mails()
                .iter()
                .filter_map(|m| m.split_once("code: ").map(|(_, rest)| rest[..6].to_owned()))
                .collect();
            if codes.len() >= count {
                return codes[count - 1].clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no code #{count} mailed within {within:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Asks for a password reset of `email` and returns the token of the link in the `count`-th
    /// mail to it.
    pub async fn reset_token(&self, email: &str, count: usize) -> String {
        let r = self
            .client()
            .post(
                "/api/auth/request-password-reset",
                serde_json::json!({"email": email}),
            )
            .await;
        assert_eq!(r.status, 200, "request-password-reset: {}", r.text);
        let link = self.wait_for_link(email, count).await;
        let path = link.split('?').next().unwrap();
        path.rsplit('/').next().unwrap().to_owned()
    }

    /// Resets `email`'s password to `new_password` through the link in the `count`-th mail to it
    /// (asked for here), from a browser of its own.
    pub async fn reset_password(&self, email: &str, count: usize, new_password: &str) {
        let token = self.reset_token(email, count).await;
        let r = self
            .client()
            .post(
                "/api/auth/reset-password",
                serde_json::json!({"newPassword": new_password, "token": token}),
            )
            .await;
        assert_eq!(r.status, 200, "reset-password: {}", r.text);
    }

    /// Moves the account `holder` is signed in to from its verified address `from` to `to`, as its
    /// holder and the two mailboxes would: change-email, then the confirmation link (the
    /// `count`-th mail to `from`) and the verification link (the first to `to`), each opened from
    /// a browser of its own.
    pub async fn move_address(&self, holder: &mut Client, from: &str, count: usize, to: &str) {
        let r = holder
            .post(
                "/api/auth/change-email",
                serde_json::json!({"newEmail": to}),
            )
            .await;
        assert_eq!(r.status, 200, "change-email: {}", r.text);
        for (mailbox, count) in [(from, count), (to, 1)] {
            let link = self.wait_for_link(mailbox, count).await;
            let r = self
                .client()
                .get(&link[link.find("/api/auth/").unwrap()..])
                .await;
            assert!(r.status < 400, "{mailbox}: {} {}", r.status, r.text);
        }
        assert_eq!(holder.session().await["user"]["email"], to);
    }

    /// Waits for a mail to `to` (mail is sent in the background) and returns the first URL in it.
    pub async fn wait_for_link(&self, to: &str, count: usize) -> String {
        let within = std::time::Duration::from_secs(60);
        let deadline = std::time::Instant::now() + within;
        loop {
            let mails: Vec<String> = self
                .mails()
                .into_iter()
                .filter(|m| m.contains(&format!("To: {to}")))
                .collect();
            if mails.len() >= count {
                let m = &mails[count - 1];
                let start = m.find("http").expect("a link in the mail");
                return m[start..].split_whitespace().next().unwrap().to_owned();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no mail #{count} to {to} in the mailbox within {within:?}; it holds {} mail(s) to {to}",
                mails.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

async fn launch(
    db_url: &str,
    mail_dir: &tempfile::TempDir,
    opts: Options,
) -> (
    String,
    AppState,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let scheme = if opts.https { "https" } else { "http" };
    let base = format!("http://127.0.0.1:{port}");
    let mut config = AuthConfig::new(
        Secret::new(SECRET),
        db_url.parse().unwrap(),
        format!("{scheme}://localhost:{port}").parse().unwrap(),
    );
    if !opts.versioned_secrets.is_empty() {
        let unversioned = (!opts.drop_unversioned_secret).then(|| Secret::new(SECRET));
        let versioned = opts
            .versioned_secrets
            .iter()
            .map(|(v, s)| (*v, Secret::new(*s)))
            .collect();
        config.secrets = stackr_auth::secrets::Secrets::new(unversioned, versioned).unwrap();
    }
    config.trusted_origins = vec![APP_ORIGIN.to_owned()];
    config.rate_limits = opts.rate_limits;
    config.require_email_verification = opts.require_email_verification;
    config.trusted_proxies = opts
        .trusted_proxies
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    if let Some(ms) = opts.session_cache_ms {
        config.session_cache_ttl = std::time::Duration::from_millis(ms);
    }
    config.oauth_providers = opts.oauth_providers;
    if !opts.user_fields.is_empty() {
        config.user_fields = stackr_auth::user_fields::parse(opts.user_fields).unwrap();
    }
    config.mail = MailConfig::Mailbox(mail_dir.path().to_path_buf());
    config.roles = stackr_auth::roles::Roles::parse(opts.roles).unwrap();
    config.provision_services = opts
        .provision
        .iter()
        .map(|(svc, cred)| (svc.to_string(), Secret::new(*cred)))
        .collect::<BTreeMap<_, _>>();
    let state = AppState::connect(config).await.expect("auth state");
    let task = tokio::spawn(stackr_auth::serve(listener, state.clone()));
    (base, state, task)
}

pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
}

/// A browser-like client: keeps cookies, sends the app's Origin on POSTs.
pub struct Client {
    http: reqwest::Client,
    base: String,
    pub cookies: BTreeMap<String, String>,
    pub origin: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Self::from_address(base, None)
    }

    /// A client whose connections come from `address` (any 127.x.y.z works on loopback), so
    /// per-IP rate limits see it as a client of its own.
    pub fn from_address(base: &str, address: Option<std::net::IpAddr>) -> Self {
        Client {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .local_address(address)
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookies: BTreeMap::new(),
            origin: Some(APP_ORIGIN.to_owned()),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, headers: &HeaderMap) {
        for v in headers.get_all("set-cookie") {
            let s = v.to_str().unwrap();
            let (pair, attrs) = s.split_once(';').unwrap_or((s, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Response {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        self.absorb(&headers);
        Response {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&mut self, path: &str) -> Response {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Response {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(o) = &self.origin {
            req = req.header("origin", o);
        }
        self.send(req).await
    }

    pub fn raw(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn sign_up(&mut self, name: &str, email: &str, password: &str) -> Response {
        self.post(
            "/api/auth/sign-up/email",
            serde_json::json!({"name": name, "email": email, "password": password}),
        )
        .await
    }

    /// Signs up (which must succeed); the new user's id.
    pub async fn sign_up_id(&mut self, name: &str, email: &str, password: &str) -> String {
        let r = self.sign_up(name, email, password).await;
        assert_eq!(r.status, 200, "sign-up: {}", r.text);
        r.json()["user"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Response {
        self.post(
            "/api/auth/sign-in/email",
            serde_json::json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn session(&mut self) -> Value {
        let r = self.get("/api/auth/get-session").await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }
}

/// The median of answer times: unlike the mean, it resists the stalls of a loaded machine.
pub fn median(mut times: Vec<std::time::Duration>) -> std::time::Duration {
    times.sort();
    times[times.len() / 2]
}

/// Reads the key out of an otpauth URI the way an authenticator app does (base32).
pub fn key_from_uri(uri: &str) -> Vec<u8> {
    let u = url::Url::parse(uri).unwrap();
    let secret = u
        .query_pairs()
        .find(|(k, _)| k == "secret")
        .unwrap()
        .1
        .into_owned();
    data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap()
}

/// The TOTP code an authenticator app shows for `key` right now.
pub fn totp_now(key: &[u8]) -> String {
    totp_steps_from_now(key, 0)
}

/// The code `steps` 30-second steps away from now (the server accepts one step either side). A
/// step is accepted once per user, so a test that already used the current step uses the next.
pub fn totp_steps_from_now(key: &[u8], steps: i64) -> String {
    let period = stackr_auth::totp::PERIOD as i64;
    let mut now = stackr_auth::totp::now_secs() as i64;
    // The server counts steps from when the code arrives: near the end of a step, the code could
    // arrive one step later than it was made for, so wait for the next step to begin.
    let left = period - now % period;
    if left <= 3 {
        std::thread::sleep(std::time::Duration::from_secs(left as u64));
        now = stackr_auth::totp::now_secs() as i64;
    }
    let at = now + steps * period;
    stackr_auth::totp::code_at(key, at as u64)
}

/// Turns TOTP on for the signed-in `browser` (enable, then verify with the code of the previous
/// step, so the current and next steps are still unused); returns the key and backup codes.
/// Waits until `count` statements wait for a lock, as a test does that holds one in an open
/// transaction on `client` to put requests behind it in order; fails with `failure` once
/// `deadline` has passed.
pub async fn until_waiting_for_locks(
    client: &tokio_postgres::Client,
    count: usize,
    deadline: std::time::Instant,
    failure: &str,
) {
    while client
        .query("select 1 from pg_locks where not granted", &[])
        .await
        .unwrap()
        .len()
        < count
    {
        assert!(std::time::Instant::now() < deadline, "{failure}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Asks, as `client`, to move the account to `new_email`; the link mailed there.
pub async fn change_link(server: &TestServer, client: &mut Client, new_email: &str) -> String {
    let r = client
        .post(
            "/api/auth/change-email",
            serde_json::json!({"newEmail": new_email}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    server.wait_for_link(new_email, 1).await
}

pub async fn enable_two_factor(browser: &mut Client, password: &str) -> (Vec<u8>, Vec<String>) {
    let r = browser
        .post(
            "/api/auth/two-factor/enable",
            serde_json::json!({"password": password}),
        )
        .await;
    assert_eq!(r.status, 200, "enable: {}", r.text);
    let key = key_from_uri(r.json()["totpURI"].as_str().unwrap());
    let backup = serde_json::from_value(r.json()["backupCodes"].clone()).unwrap();
    let r = browser
        .post(
            "/api/auth/two-factor/verify-totp",
            serde_json::json!({"code": totp_steps_from_now(&key, -1)}),
        )
        .await;
    assert_eq!(r.status, 200, "verify-totp: {}", r.text);
    (key, backup)
}
pub mod apple_fake;
pub mod differential;
pub mod github_fake;
pub mod node;
pub mod oidc_browser;
pub mod oidc_pair;
pub mod owner_status;
