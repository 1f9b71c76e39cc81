use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::auth::TestAuth;
use super::{free_port, TempPostgres, TempRedis};
use crate::worker::{Producer, QueueConfig};

const DB_PASSWORD: &str = "test-db-password";
const REDIS_PASSWORD: &str = "test-redis-password";
const CREDENTIAL: &str = "test-service-credential";
/// Every user [`ServiceUnderTest::sign_up`] makes has it.
const USER_PASSWORD: &str = "test-password-correct-horse";
/// Longest a binary may take to answer `/health` (it migrates first; a loaded machine is slow).
const READY_WITHIN: Duration = Duration::from_secs(120);

/// A base service's API binary running against its own throwaway PostgreSQL and Redis, with the
/// environment `stackr dev` gives it; killed on drop. Started with [`Self::start`], its guard's
/// auth is an address where nothing listens: requests without a session are refused (401)
/// without asking auth, and a request with a cookie fails closed (503). Started with
/// [`Self::start_with_auth`], the stack's real auth runs beside it: [`Self::sign_up`] makes a
/// user, and [`Self::get_as`] / [`Self::post_as`] call the service as that user.
pub struct ServiceUnderTest {
    name: String,
    port: u16,
    env: Vec<(&'static str, String)>,
    processes: Vec<Child>,
    http: reqwest::Client,
    _files: tempfile::TempDir,
    auth: Option<TestAuth>,
    _redis: TempRedis,
    postgres: TempPostgres,
}

/// What [`ServiceUnderTest::start_with`] runs beside the service.
#[derive(Clone, Debug, Default)]
pub struct Beside {
    /// The stack's auth, as [`ServiceUnderTest::start_with_auth`] runs it.
    pub auth: bool,
    /// The other services the service calls (its `SERVICE_URLS`): each one's name and the URL
    /// of what answers for it in the test, such as a small axum router standing in for it. The
    /// user's cookie goes to them as it would to the real ones.
    pub peers: Vec<(String, String)>,
}

/// A user signed up at the test's auth, with the session cookie of their sign-up.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Auth's user id: what the guard gives handlers (`who.user_id()`).
    pub id: String,
    pub email: String,
    cookie: String,
}

impl TestUser {
    /// The `cookie` header a browser signed in as this user sends.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }
}

impl ServiceUnderTest {
    /// Starts `api_binary` (in a service's tests: `env!("CARGO_BIN_EXE_<name>-api")`) as
    /// service `name` and waits until its `/health` answers 200. No auth runs: only what a
    /// caller without a session gets can be tested; [`Self::start_with_auth`] runs one.
    pub async fn start(api_binary: &str, name: &str) -> ServiceUnderTest {
        Self::start_with(api_binary, name, Beside::default()).await
    }

    /// [`Self::start`], with the stack's auth (stackr-auth, in this process, on its own
    /// database) as the service's `AUTH_URL`: users made with [`Self::sign_up`] pass its guard,
    /// are provisioned on their first call, and their state changes come from a trusted origin.
    pub async fn start_with_auth(api_binary: &str, name: &str) -> ServiceUnderTest {
        let beside = Beside {
            auth: true,
            ..Beside::default()
        };
        Self::start_with(api_binary, name, beside).await
    }

    /// [`Self::start`] with what `beside` names running beside the service: the stack's auth,
    /// other services it calls.
    pub async fn start_with(api_binary: &str, name: &str, beside: Beside) -> ServiceUnderTest {
        let postgres = TempPostgres::start();
        let redis = TempRedis::start_with_password(Some(REDIS_PASSWORD));
        postgres.create_service_database(name, DB_PASSWORD);
        let files = tempfile::tempdir().expect("a temporary folder for the service's secrets");
        let file = |file: &str, content: &str| {
            let path = files.path().join(file);
            std::fs::write(&path, content).expect("write a test secret");
            path.display().to_string()
        };
        let port = free_port();
        let mut env = vec![
            ("STACKR_SERVICE", name.to_owned()),
            ("PORT", port.to_string()),
            (
                "DATABASE_URL",
                format!("postgres://{name}@127.0.0.1:{}/{name}", postgres.port()),
            ),
            ("DATABASE_PASSWORD_FILE", file("db-password", DB_PASSWORD)),
            ("REDIS_URL", format!("redis://127.0.0.1:{}", redis.port())),
            (
                "REDIS_PASSWORD_FILE",
                file("redis-password", REDIS_PASSWORD),
            ),
            ("SERVICE_CREDENTIAL_FILE", file("credential", CREDENTIAL)),
            ("STACKR_QUEUE", name.to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ];
        if !beside.peers.is_empty() {
            let urls: Vec<String> = beside
                .peers
                .iter()
                .map(|(peer, url)| format!("{peer}={url}"))
                .collect();
            env.push(("SERVICE_URLS", urls.join(",")));
        }
        let auth = beside.auth.then(|| {
            // A name no base service can have: a service's database is named after it.
            let database = postgres.create_database("stackr_test_auth");
            TestAuth::for_service(&database, name, CREDENTIAL)
        });
        match &auth {
            Some(auth) => {
                env.push(("AUTH_URL", auth.url().to_owned()));
                // The pages a signed-in user's requests come from, as auth's own in dev.
                env.push(("TRUSTED_ORIGINS", auth.url().to_owned()));
            }
            None => env.push(("AUTH_URL", format!("http://127.0.0.1:{}", free_port()))),
        }
        let mut service = ServiceUnderTest {
            name: name.to_owned(),
            port,
            env,
            processes: Vec::new(),
            http: reqwest::Client::new(),
            _files: files,
            auth,
            _redis: redis,
            postgres,
        };
        service.spawn(api_binary);
        service.wait_healthy().await;
        service
    }

    /// Starts `worker_binary` (`env!("CARGO_BIN_EXE_<name>-worker")`) on the service's queue.
    pub fn start_worker(&mut self, worker_binary: &str) {
        self.spawn(worker_binary);
    }

    fn spawn(&mut self, binary: &str) {
        assert!(
            Path::new(binary).is_file(),
            "{binary} is not built (cargo test builds a package's binaries for its tests)"
        );
        let child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (*k, v)))
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        self.processes.push(child);
    }

    async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(response) = self.http.get(self.url("/health")).send().await {
                if response.status() == StatusCode::OK {
                    return;
                }
            }
            if let Some(status) = self.processes[0].try_wait().ok().flatten() {
                panic!(
                    "{}'s API exited with {status} before it was healthy",
                    self.name
                );
            }
            assert!(
                Instant::now() < deadline,
                "{}'s API did not answer /health with 200 within {READY_WITHIN:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:PORT<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `GET path`: the status and the JSON body (`null` when the body is not JSON).
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        answer(self.http.get(self.url(path)).send().await).await
    }

    /// `POST path` with a JSON body, as a client without a cookie sends it.
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        answer(self.http.post(self.url(path)).json(body).send().await).await
    }

    /// Signs a new user up at the test's auth (the service must have been started with
    /// [`Self::start_with_auth`]); the user is signed in.
    pub async fn sign_up(&self, email: &str) -> TestUser {
        let auth = self.auth.as_ref().unwrap_or_else(|| {
            panic!(
                "sign_up needs the stack's auth: start {} with ServiceUnderTest::start_with_auth",
                self.name
            )
        });
        let name = email.split('@').next().unwrap_or(email);
        let response = self
            .http
            .post(format!("{}/api/auth/sign-up/email", auth.url()))
            .header("origin", auth.url())
            .json(&json!({ "name": name, "email": email, "password": USER_PASSWORD }))
            .send()
            .await
            .expect("the test's auth answers");
        let status = response.status();
        // Each `set-cookie` is `name=value; attributes`: a browser sends back the pairs.
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "signing {email} up failed: {body}");
        let id = body["user"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("auth's sign-up answer has no user id: {body}"))
            .to_owned();
        TestUser {
            id,
            email: email.to_owned(),
            cookie,
        }
    }

    /// `GET path` as `user`, with their session cookie.
    pub async fn get_as(&self, user: &TestUser, path: &str) -> (StatusCode, Value) {
        self.send_as(user, Method::GET, path, None).await
    }

    /// `POST path` with a JSON body as `user`, from a trusted page (as a browser sends it).
    pub async fn post_as(&self, user: &TestUser, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send_as(user, Method::POST, path, Some(body)).await
    }

    /// Any request as `user`: their session cookie, the trusted `Origin` a browser on the
    /// stack's pages sends, and the JSON body if there is one.
    pub async fn send_as(
        &self,
        user: &TestUser,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("cookie", &user.cookie);
        if let Some(auth) = &self.auth {
            request = request.header("origin", auth.url());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request.send().await).await
    }

    /// Runs SQL on the service's own database (as the superuser) and returns psql's unaligned
    /// output: to set up rows a test needs, or to read what the worker wrote.
    pub fn psql(&self, sql: &str) -> String {
        self.postgres.psql(&self.name, sql)
    }

    /// A producer on the service's own queue, to hand its worker jobs directly.
    pub fn producer(&self) -> Producer {
        let env = |var: &str| {
            self.env
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| v.clone())
        };
        Producer::new(QueueConfig::from_lookup(&env).expect("the test environment is complete"))
    }
}

async fn answer(response: Result<reqwest::Response, reqwest::Error>) -> (StatusCode, Value) {
    let response = response.expect("the service answers");
    let status = response.status();
    let body = response.bytes().await.expect("the service's whole answer");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

impl Drop for ServiceUnderTest {
    fn drop(&mut self) {
        for child in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
