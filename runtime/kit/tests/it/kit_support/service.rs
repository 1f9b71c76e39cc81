//! The base service under test, configured through the same variables a generated
//! process-compose.yaml sets, and wired by `ServiceRuntime` as a scaffolded service is.

use std::collections::HashMap;

use axum::routing::get;
use axum::Extension;
use axum::{Json, Router};
use reqwest::StatusCode;
use serde_json::{json, Value};
use stackr_kit::device::device_session_routes;
use stackr_kit::runtime::ServiceSpec;
use stackr_kit::{
    require_auth, Authenticated, Flavor, Guard, Principal, ServiceRuntime, ServiceState,
};
use stackr_testkit::{TempPostgres, TempRedis};

use super::{AuthServer, Browser, CountingProxy, SignedIn};

pub const SERVICE: &str = "core";
pub const CREDENTIAL: &str = "core-credential-0123456789abcdefghijklmnopqrstuv";
/// Every base service auth accepts service calls from; `Stack::add_service` starts the others.
const SERVICES: [&str; 3] = [SERVICE, "staff", "misconfigured"];

/// The credential auth expects from `service`.
pub fn credential_of(service: &str) -> String {
    CREDENTIAL.replacen(SERVICE, service, 1)
}

/// Auth on `auth_db`, accepting service calls from every one of `SERVICES`.
fn start_auth(
    auth_db: &str,
    rate_limits: bool,
    oauth_providers: Vec<stackr_auth::oauth::ProviderConfig>,
    session_cache: std::time::Duration,
) -> AuthServer {
    let credentials: Vec<(String, String)> = SERVICES
        .iter()
        .map(|s| (s.to_string(), credential_of(s)))
        .collect();
    let credentials: Vec<(&str, &str)> = credentials
        .iter()
        .map(|(s, c)| (s.as_str(), c.as_str()))
        .collect();
    AuthServer::start_with(
        auth_db,
        &credentials,
        rate_limits,
        oauth_providers,
        session_cache,
    )
}

pub struct StackOptions {
    pub flavor: Flavor,
    pub roles: &'static [&'static str],
    /// `SESSION_CACHE_TTL_MS`
    pub cache_ttl_ms: u64,
    /// The credential the service presents, when not the right one (tests of a wrong one).
    pub service_credential: Option<&'static str>,
    /// Auth's per-address rate limits (production default); off, tests sign many users up.
    pub rate_limits: bool,
    /// Auth's sign-in providers.
    pub oauth_providers: Vec<stackr_auth::oauth::ProviderConfig>,
    /// Auth's own get-session cache TTL; off by default, since tests change auth's tables
    /// directly (roles) and only changes made through auth invalidate that cache.
    pub auth_session_cache: std::time::Duration,
    /// The auth the service calls (`AUTH_URL`), when not the stack's through its proxy: another
    /// replica ([`Stack::start_auth_replica`]).
    pub auth_url: Option<String>,
}

impl StackOptions {
    pub fn new(flavor: Flavor) -> Self {
        StackOptions {
            flavor,
            roles: &[],
            cache_ttl_ms: 0,
            service_credential: None,
            rate_limits: false,
            oauth_providers: Vec::new(),
            auth_session_cache: std::time::Duration::ZERO,
            auth_url: None,
        }
    }

    pub fn auth_url(mut self, url: &str) -> Self {
        self.auth_url = Some(url.to_owned());
        self
    }

    pub fn auth_session_cache(mut self, ttl: std::time::Duration) -> Self {
        self.auth_session_cache = ttl;
        self
    }

    pub fn oauth_providers(mut self, providers: Vec<stackr_auth::oauth::ProviderConfig>) -> Self {
        self.oauth_providers = providers;
        self
    }

    pub fn roles(mut self, roles: &'static [&'static str]) -> Self {
        self.roles = roles;
        self
    }

    pub fn cache_ttl_ms(mut self, ms: u64) -> Self {
        self.cache_ttl_ms = ms;
        self
    }

    pub fn service_credential(mut self, credential: &'static str) -> Self {
        self.service_credential = Some(credential);
        self
    }

    pub fn rate_limits(mut self, on: bool) -> Self {
        self.rate_limits = on;
        self
    }
}

/// A base service running in-process on its own database.
pub struct Service {
    _secrets: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub struct Stack {
    pub pg: TempPostgres,
    pub redis: TempRedis,
    pub auth: AuthServer,
    /// Auth's database, which every auth replica shares.
    auth_db: String,
    /// Sits between the services and auth; counts calls, can answer garbage.
    pub proxy: CountingProxy,
    pub browser: Browser,
    /// The first service's URL (`core`, started with the stack's options).
    pub service_url: String,
    http: reqwest::Client,
    services: Vec<Service>,
    rate_limits: bool,
    /// With rate limits on, each sign-up comes from its own loopback address, as users do.
    next_address: std::sync::atomic::AtomicU8,
}

impl Stack {
    pub async fn start(mut options: StackOptions) -> Stack {
        let pg = TempPostgres::start();
        let redis = TempRedis::start_with_password(Some("redis-pw"));
        let auth_db = pg.create_service_database("auth", "auth-db-pw");
        let auth = start_auth(
            &auth_db,
            options.rate_limits,
            std::mem::take(&mut options.oauth_providers),
            options.auth_session_cache,
        );
        let proxy = CountingProxy::start(&auth.url).await;
        let browser = Browser::new(&auth.url);
        let mut stack = Stack {
            pg,
            redis,
            auth,
            auth_db,
            proxy,
            browser,
            service_url: String::new(),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            services: Vec::new(),
            rate_limits: options.rate_limits,
            next_address: std::sync::atomic::AtomicU8::new(2),
        };
        stack.service_url = stack.add_service(SERVICE, options).await;
        stack
    }

    /// A second auth server on the same database with the same secret, as a deployment with
    /// several auth replicas runs them; `session_cache`: its get-session cache TTL.
    pub fn start_auth_replica(&self, session_cache: std::time::Duration) -> AuthServer {
        start_auth(&self.auth_db, self.rate_limits, Vec::new(), session_cache)
    }

    /// Starts base service `name` (one of `SERVICES`) with its own database, configured through
    /// the contract's variables and wired by `ServiceRuntime` as a scaffolded service is; its URL.
    pub async fn add_service(&mut self, name: &'static str, options: StackOptions) -> String {
        let db_password = format!("{name}-db-pw");
        self.pg.create_service_database(name, &db_password);
        // Secrets in files, URLs without passwords: the contract's shape.
        let secrets = tempfile::tempdir().unwrap();
        let write = |file: &str, value: &str| {
            let path = secrets.path().join(file);
            std::fs::write(&path, format!("{value}\n")).unwrap();
            path.to_str().unwrap().to_owned()
        };
        let credential = options
            .service_credential
            .map_or_else(|| credential_of(name), str::to_owned);
        let port = stackr_testkit::free_port();
        let env: HashMap<&str, String> = HashMap::from([
            ("STACKR_SERVICE", name.to_owned()),
            ("PORT", port.to_string()),
            (
                "DATABASE_URL",
                format!("postgres://{name}@127.0.0.1:{}/{name}", self.pg.port()),
            ),
            ("DATABASE_PASSWORD_FILE", write("db-password", &db_password)),
            (
                "REDIS_URL",
                format!("redis://127.0.0.1:{}", self.redis.port()),
            ),
            ("REDIS_PASSWORD_FILE", write("redis-password", "redis-pw")),
            ("STACKR_QUEUE", name.to_owned()),
            (
                "AUTH_URL",
                options.auth_url.unwrap_or_else(|| self.proxy.url.clone()),
            ),
            ("SERVICE_CREDENTIAL_FILE", write("credential", &credential)),
            ("SESSION_CACHE_TTL_MS", options.cache_ttl_ms.to_string()),
            // The pages that may change things with the cookie: the one origin the tests use.
            ("TRUSTED_ORIGINS", self.auth.url.clone()),
        ]);
        let lookup = move |k: &str| env.get(k).cloned();
        let spec = ServiceSpec {
            flavor: options.flavor,
            roles: options.roles,
            provisioning: options.flavor.provisions(),
            migrations: &[],
        };
        let runtime = ServiceRuntime::from_lookup(spec, &lookup)
            .await
            .expect("service runtime from env");
        let router = runtime.router(test_routes(options.flavor, runtime.state().guard.clone()));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(stackr_kit::server::serve_on(listener, router, async move {
            let _ = stop_rx.await;
        }));
        let url = format!("http://127.0.0.1:{port}");
        self.services.push(Service {
            _secrets: secrets,
            stop: Some(stop_tx),
        });
        url
    }

    pub async fn sign_up(&self, name: &str) -> SignedIn {
        let email = format!("{name}@example.com");
        if !self.rate_limits {
            return self.browser.sign_up(&email).await;
        }
        let n = self
            .next_address
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Browser::from_address(&self.auth.url, [127, 0, 0, n].into())
            .sign_up(&email)
            .await
    }

    /// GET on the service with the given headers; the body parsed as JSON (`null` if empty).
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        self.request(reqwest::Method::GET, path, headers).await
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        self.request_at(&self.service_url, method, path, headers)
            .await
    }

    /// The status `/me` answers at the service at `base` for `who`'s cookie.
    pub async fn me_status_at(&self, base: &str, who: &SignedIn) -> u16 {
        self.request_at(
            base,
            reqwest::Method::GET,
            "/me",
            &[("cookie", &who.cookie)],
        )
        .await
        .0
        .as_u16()
    }

    /// [`Stack::request`] to the service at `base` (see [`Stack::add_service`]).
    pub async fn request_at(
        &self,
        base: &str,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{base}{path}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("service request");
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The browser origin the service trusts (`TRUSTED_ORIGINS`).
    pub fn trusted_origin(&self) -> &str {
        &self.auth.url
    }

    /// `POST /device-sessions` with `who`'s cookie from a trusted origin; the new token.
    pub async fn create_device_session(&self, who: &SignedIn) -> String {
        let (status, created) = self
            .request(
                reqwest::Method::POST,
                "/device-sessions",
                &[("cookie", &who.cookie), ("origin", &self.auth.url)],
            )
            .await;
        assert_eq!(status, 201, "creating a device session: {created}");
        created["token"].as_str().unwrap().to_owned()
    }

    /// The status `/flex/me` answers a device presenting `token`.
    pub async fn device_status(&self, token: &str) -> u16 {
        self.get("/flex/me", &[("x-device-session-token", token)])
            .await
            .0
            .as_u16()
    }

    /// Waits (up to `within`) for `/flex/me` to refuse the device token with 401.
    pub async fn wait_device_refused(&self, token: &str, within: std::time::Duration) {
        let deadline = std::time::Instant::now() + within;
        loop {
            let status = self.device_status(token).await;
            if status == 401 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the device session still answers {status} {within:?} after its owner's sessions ended"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// SQL as superuser in the first service's own database.
    pub fn service_sql(&self, sql: &str) -> String {
        self.pg.psql(SERVICE, sql)
    }

    /// SQL as superuser in auth's database (e.g. granting a role, as an admin would).
    pub fn auth_sql(&self, sql: &str) -> String {
        self.pg.psql("auth", sql)
    }

    pub fn set_role(&self, user: &SignedIn, role: &str) {
        self.auth_sql(&format!(
            "UPDATE \"user\" SET role = '{role}' WHERE id = '{}'",
            user.user_id
        ));
    }
}

/// The routes a scaffolded service would have (reads and a state change of the user's own), plus
/// one unprotected route for comparison and a router protected as a whole by the middleware form
/// of the guard.
fn test_routes(flavor: Flavor, guard: Guard) -> Router<ServiceState> {
    let layered = Router::new()
        .route("/layered/me", get(me).post(me))
        .route(
            "/layered/extension",
            get(|Extension(user): Extension<Authenticated>| async move {
                Json(json!({"id": user.user().id}))
            }),
        )
        .route_layer(axum::middleware::from_fn_with_state(guard, require_auth));
    let router = Router::new()
        .route("/public", get(|| async { Json(json!({"public": true})) }))
        .route("/me", get(me))
        .route("/notes", axum::routing::post(me))
        .merge(layered);
    if flavor == Flavor::Flexible {
        router
            .route("/flex/me", get(flex_me))
            .merge(device_session_routes())
    } else {
        router
    }
}

async fn me(user: Authenticated) -> Json<Value> {
    let user = user.user();
    let has_account = user.has_service_account(SERVICE);
    Json(json!({"id": user.id, "email": user.email, "role": user.role, "hasAccount": has_account}))
}

async fn flex_me(who: Principal) -> Json<Value> {
    Json(json!({"userId": who.user_id(), "device": who.is_device()}))
}
