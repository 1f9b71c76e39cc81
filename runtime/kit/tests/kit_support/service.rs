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

pub struct StackOptions {
    pub flavor: Flavor,
    pub roles: &'static [&'static str],
    /// `SESSION_CACHE_TTL_MS`
    pub cache_ttl_ms: u64,
    /// The credential the service presents (tests of a wrong one).
    pub service_credential: &'static str,
}

impl StackOptions {
    pub fn new(flavor: Flavor) -> Self {
        StackOptions {
            flavor,
            roles: &[],
            cache_ttl_ms: 0,
            service_credential: CREDENTIAL,
        }
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
        self.service_credential = credential;
        self
    }
}

pub struct Stack {
    pub pg: TempPostgres,
    pub redis: TempRedis,
    pub auth: AuthServer,
    /// Sits between the service and auth; counts calls, can answer garbage.
    pub proxy: CountingProxy,
    pub browser: Browser,
    pub service_url: String,
    http: reqwest::Client,
    _secrets: tempfile::TempDir,
    stop_service: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Stack {
    pub async fn start(options: StackOptions) -> Stack {
        let pg = TempPostgres::start();
        let redis = TempRedis::start_with_password(Some("redis-pw"));
        let auth_db = pg.create_service_database("auth", "auth-db-pw");
        let db_password = "core-db-pw";
        pg.create_service_database("core", db_password);
        let auth = AuthServer::start(&auth_db, &[(SERVICE, CREDENTIAL)]);
        let proxy = CountingProxy::start(&auth.url).await;

        // Secrets in files, URLs without passwords: the contract's shape.
        let secrets = tempfile::tempdir().unwrap();
        let write = |name: &str, value: &str| {
            let path = secrets.path().join(name);
            std::fs::write(&path, format!("{value}\n")).unwrap();
            path.to_str().unwrap().to_owned()
        };
        let port = stackr_testkit::free_port();
        let env: HashMap<&str, String> = HashMap::from([
            ("STACKR_SERVICE", SERVICE.to_owned()),
            ("PORT", port.to_string()),
            (
                "DATABASE_URL",
                format!("postgres://core@127.0.0.1:{}/core", pg.port()),
            ),
            (
                "DATABASE_PASSWORD_FILE",
                write("core-db-password", db_password),
            ),
            ("REDIS_URL", format!("redis://127.0.0.1:{}", redis.port())),
            (
                "REDIS_PASSWORD_FILE",
                write("core-redis-password", "redis-pw"),
            ),
            ("AUTH_URL", proxy.url.clone()),
            (
                "SERVICE_CREDENTIAL_FILE",
                write("core-credential", options.service_credential),
            ),
            ("SESSION_CACHE_TTL_MS", options.cache_ttl_ms.to_string()),
            // The pages that may change things with the cookie: the one origin the tests use.
            ("TRUSTED_ORIGINS", auth.url.clone()),
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
        let browser = Browser::new(&auth.url);
        Stack {
            pg,
            redis,
            auth,
            proxy,
            browser,
            service_url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            _secrets: secrets,
            stop_service: Some(stop_tx),
        }
    }

    pub async fn sign_up(&self, name: &str) -> SignedIn {
        self.browser.sign_up(&format!("{name}@example.com")).await
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
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.service_url));
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

    /// SQL as superuser in the service's own database.
    pub fn service_sql(&self, sql: &str) -> String {
        self.pg.psql("core", sql)
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

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(stop) = self.stop_service.take() {
            let _ = stop.send(());
        }
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
    Json(json!({"id": user.user().id, "email": user.user().email, "role": user.user().role}))
}

async fn flex_me(who: Principal) -> Json<Value> {
    Json(json!({"userId": who.user_id(), "device": who.is_device()}))
}
