//! The scaffold as `stackr add service` writes it (the demo's `core` service) run as a real
//! process with the environment a generated process-compose.yaml gives it.

use crate::kit_support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kit_support::{AuthServer, Browser};
use reqwest::StatusCode;
use serde_json::{json, Value};
use stackr_testkit::{free_port, TempPostgres, TempRedis};

const CREDENTIAL: &str = "core-credential-0123456789abcdefghijklmnopq";

/// Builds the demo's `core` service, which `stackr generate` scaffolded from
/// templates/scaffold/service (the flexible flavor: guard, device sessions, provisioning), and
/// returns its API binary. Built explicitly because `cargo test -p stackr-kit` does not build other
/// packages, and a stale binary would test old code. The build is the demo stack's own
/// (`--workspace --bins`): a `-p core-service` build resolves features differently and would
/// compile much of the dependency graph a second time, while this one is a no-op after
/// `scripts/test.sh`'s build.
fn scaffolded_api_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status =
                stackr_testkit::without_cargo_package_env(&mut Command::new(env!("CARGO")))
                    .args(["build", "--workspace", "--bins"])
                    .current_dir(env!("CARGO_MANIFEST_DIR"))
                    .status()
                    .expect("run cargo build --workspace --bins");
            assert!(
                status.success(),
                "building the scaffolded core service failed"
            );
            // tests live in target/<profile>/deps; binaries in target/<profile>.
            let deps = std::env::current_exe()
                .unwrap()
                .parent()
                .unwrap()
                .to_owned();
            deps.parent().unwrap().join("core-api")
        })
        .clone()
}

struct Fixture {
    pg: TempPostgres,
    redis: TempRedis,
    auth: AuthServer,
    secrets: tempfile::TempDir,
}

impl Fixture {
    fn start() -> Fixture {
        let pg = TempPostgres::start();
        let redis = TempRedis::start_with_password(Some("core-redis-pw"));
        let auth_db = pg.create_service_database("auth", "auth-pw");
        pg.create_service_database("core", "core-db-pw");
        let auth = AuthServer::start(&auth_db, &[("core", CREDENTIAL)]);
        let secrets = tempfile::tempdir().unwrap();
        for (file, value) in [
            ("core-db-password", "core-db-pw"),
            ("core-redis-password", "core-redis-pw"),
            ("core-credential", CREDENTIAL),
        ] {
            std::fs::write(secrets.path().join(file), format!("{value}\n")).unwrap();
        }
        Fixture {
            pg,
            redis,
            auth,
            secrets,
        }
    }

    fn env(&self, port: u16) -> Vec<(&'static str, String)> {
        let secret = |f: &str| self.secrets.path().join(f).to_str().unwrap().to_owned();
        vec![
            ("STACKR_SERVICE", "core".into()),
            ("PORT", port.to_string()),
            (
                "DATABASE_URL",
                format!("postgres://core@127.0.0.1:{}/core", self.pg.port()),
            ),
            ("DATABASE_PASSWORD_FILE", secret("core-db-password")),
            (
                "REDIS_URL",
                format!("redis://127.0.0.1:{}", self.redis.port()),
            ),
            ("REDIS_PASSWORD_FILE", secret("core-redis-password")),
            ("STACKR_QUEUE", "core".into()),
            ("AUTH_URL", self.auth.url.clone()),
            ("SERVICE_CREDENTIAL_FILE", secret("core-credential")),
            ("SESSION_CACHE_TTL_MS", "3000".into()),
            ("TRUSTED_ORIGINS", self.auth.url.clone()),
            ("RUST_LOG", "info".into()),
        ]
    }

    fn spawn(&self, env: Vec<(&'static str, String)>) -> Child {
        Command::new(scaffolded_api_binary())
            .env_clear()
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scaffold-api")
    }
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    // Generous: the binary migrates its database first, slowly on a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(res) = http.get(format!("{base}/health")).send().await {
            if res.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("scaffold-api never became healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaffold_serves_health_me_domain_and_devices_then_shuts_down_gracefully() {
    let fx = Fixture::start();
    let port = free_port();
    let notify = stackr_testkit::NotifySocket::bind();
    let mut env = fx.env(port);
    env.push(("NOTIFY_SOCKET", notify.path().display().to_string()));
    let mut child = fx.spawn(env);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    // systemd (`Type=notify`) starts what depends on this API once it says READY=1.
    notify.wait_ready(Duration::from_secs(120));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "ready means listening"
    );
    wait_healthy(&http, &base).await;

    let status = |r: reqwest::Response| r.status();
    assert_eq!(
        status(http.get(format!("{base}/me")).send().await.unwrap()),
        StatusCode::UNAUTHORIZED
    );

    let alice = Browser::new(&fx.auth.url)
        .sign_up("alice@example.com")
        .await;
    let res = http
        .get(format!("{base}/me"))
        .header("cookie", &alice.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["user"]["id"], alice.user_id.as_str());
    // Flexible: the first call provisioned alice in the service's own database.
    assert_eq!(
        fx.pg.psql("core", &format!("SELECT count(*) FROM stackr_user WHERE user_id = '{}' AND provisioned_at IS NOT NULL", alice.user_id)),
        "1"
    );

    // The scaffold's own state change is CSRF-protected by default: a foreign page is refused.
    let res = http
        .post(format!("{base}/notes"))
        .header("cookie", &alice.cookie)
        .header("origin", "https://evil.example")
        .header("content-type", "text/plain")
        .body(r#"{"text": "forged"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A JSON body sent to `path` from the app's origin with `cookie`.
    let post = |path: &str, cookie: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .header("cookie", cookie)
            .header("origin", &fx.auth.url)
            .json(&body)
            .send()
    };
    let res = post("/notes", &alice.cookie, json!({"text": "hello"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // The example note routes: anyone signed in may add notes, each is kept and every listing
    // is built whole in memory, so a note's size and a listing's length are bounded.
    let bob = Browser::new(&fx.auth.url).sign_up("bob@example.com").await;
    let add_note = |text: String| post("/notes", &bob.cookie, json!({ "text": text }));
    assert_eq!(
        add_note("x".repeat(4097)).await.unwrap().status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // PostgreSQL's text cannot hold a NUL character: the caller's mistake, not a server error.
    assert_eq!(
        add_note("a\0b".to_owned()).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    for n in 0..=100 {
        let text = if n == 0 {
            "x".repeat(4096)
        } else {
            n.to_string()
        };
        assert_eq!(add_note(text).await.unwrap().status(), StatusCode::CREATED);
    }
    let listed: Value = http
        .get(format!("{base}/notes"))
        .header("cookie", &bob.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listed["notes"].as_array().unwrap();
    assert_eq!(
        (listed.len(), &listed[0]["text"]),
        (100, &json!("100")),
        "the newest hundred"
    );
    // The example job route: anyone signed in may call it, and each job stays in the service's
    // Redis, so the message's size and the finished jobs kept are bounded.
    let enqueue = |message: String| post("/jobs", &alice.cookie, json!({ "message": message }));
    assert_eq!(
        enqueue("x".repeat(4097)).await.unwrap().status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let res = enqueue("x".repeat(4096)).await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut redis = redis::Client::open(fx.redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let opts: String = redis::cmd("HGET")
        .arg(format!("bull:core:{id}"))
        .arg("opts")
        .query_async(&mut redis)
        .await
        .unwrap();
    let opts: Value = serde_json::from_str(&opts).unwrap();
    assert_eq!(
        (&opts["removeOnComplete"], &opts["removeOnFail"]),
        (&json!(1000), &json!(5000)),
        "{opts}"
    );
    // No worker runs here: jobs only pile up, as they do while a worker is down or slower than
    // its callers. Once 10 000 wait, a new one is refused, and taken again when fewer wait.
    let wait_list = "bull:core:wait";
    let already: usize = redis::cmd("LLEN")
        .arg(wait_list)
        .query_async(&mut redis)
        .await
        .unwrap();
    let filler = vec!["filler"; 10_000 - already];
    let _: () = redis::cmd("RPUSH")
        .arg(wait_list)
        .arg(&filler)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(
        enqueue("one too many".into()).await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let _: () = redis::cmd("LREM")
        .arg(wait_list)
        .arg(0)
        .arg("filler")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(
        enqueue("room again".into()).await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    // One user alone cannot fill that bound: 60 jobs a minute each (three asked for above),
    // counted in the service's Redis, so every replica counts alike; others are still served.
    for n in 4..=60 {
        let status = enqueue(format!("job {n}")).await.unwrap().status();
        assert_eq!(status, StatusCode::ACCEPTED, "job {n}");
    }
    assert_eq!(
        enqueue("one a minute too many".into())
            .await
            .unwrap()
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        post("/jobs", &bob.cookie, json!({ "message": "bob's" }))
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );

    let created: Value = http
        .post(format!("{base}/device-sessions"))
        .header("cookie", &alice.cookie)
        .header("origin", &fx.auth.url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap();
    let notes: Value = http
        .get(format!("{base}/notes"))
        .header("x-device-session-token", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        notes["notes"][0]["text"], "hello",
        "the device acts for alice"
    );
    assert_eq!(
        notes["notes"].as_array().map(Vec::len),
        Some(1),
        "the forged note was not stored"
    );

    // A database failure (here a table gone and a constraint a migration added) is answered 500
    // and its reason logged, on one line even where PostgreSQL's DETAIL quotes a stored value.
    fx.pg.psql("core", "ALTER TABLE note RENAME TO note_moved");
    let res = http
        .get(format!("{base}/notes"))
        .header("cookie", &bob.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    fx.pg.psql(
        "core",
        "ALTER TABLE note_moved RENAME TO note; ALTER TABLE note ADD CONSTRAINT note_short CHECK (length(text) < 12) NOT VALID",
    );
    let res = add_note("twelve chars\nforged line".into()).await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    fx.pg
        .psql("core", "ALTER TABLE note DROP CONSTRAINT note_short");

    // SIGTERM: graceful shutdown, exit status 0.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status after SIGTERM: {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "scaffold-api did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The log tells what happened, and never carries a credential.
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains("provisioned user"), "{log}");
    assert!(log.contains("/notes"), "requests are traced: {log}");
    assert!(
        log.contains(r#"relation \"note\" does not exist"#),
        "why listing failed: {log}"
    );
    assert!(log.contains("note_short"), "why adding failed: {log}");
    assert!(
        !log.lines().any(|line| line.starts_with("forged line")),
        "a stored value started a log line: {log}"
    );
    let session_token = alice
        .cookie
        .split_once('=')
        .unwrap()
        .1
        .split('.')
        .next()
        .unwrap();
    for secret in [
        session_token,
        token,
        CREDENTIAL,
        "core-db-pw",
        "core-redis-pw",
    ] {
        assert!(!log.contains(secret), "a secret reached the log: {log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_variable_is_named_and_the_process_fails() {
    let fx = Fixture::start();
    let env: Vec<_> = fx
        .env(free_port())
        .into_iter()
        .filter(|(k, _)| *k != "AUTH_URL")
        .collect();
    let child = fx.spawn(env);
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AUTH_URL"), "stderr: {stderr}");
}
