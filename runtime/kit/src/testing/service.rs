use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::{free_port, TempPostgres, TempRedis};
use crate::worker::{Producer, QueueConfig};

const DB_PASSWORD: &str = "test-db-password";
const REDIS_PASSWORD: &str = "test-redis-password";
/// Longest a binary may take to answer `/health` (it migrates first; a loaded machine is slow).
const READY_WITHIN: Duration = Duration::from_secs(120);

/// A base service's API binary running against its own throwaway PostgreSQL and Redis, with the
/// environment `stackr dev` gives it; killed on drop. Its guard's auth is an address where
/// nothing listens: requests without a session are refused (401) without asking auth, and a
/// request with a cookie fails closed (503).
pub struct ServiceUnderTest {
    name: String,
    port: u16,
    env: Vec<(&'static str, String)>,
    processes: Vec<Child>,
    http: reqwest::Client,
    _files: tempfile::TempDir,
    _redis: TempRedis,
    _postgres: TempPostgres,
}

impl ServiceUnderTest {
    /// Starts `api_binary` (in a service's tests: `env!("CARGO_BIN_EXE_<name>-api")`) as
    /// service `name` and waits until its `/health` answers 200.
    pub async fn start(api_binary: &str, name: &str) -> ServiceUnderTest {
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
        let env = vec![
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
            ("AUTH_URL", format!("http://127.0.0.1:{}", free_port())),
            (
                "SERVICE_CREDENTIAL_FILE",
                file("credential", "test-service-credential"),
            ),
            ("STACKR_QUEUE", name.to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ];
        let mut service = ServiceUnderTest {
            name: name.to_owned(),
            port,
            env,
            processes: Vec::new(),
            http: reqwest::Client::new(),
            _files: files,
            _redis: redis,
            _postgres: postgres,
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
