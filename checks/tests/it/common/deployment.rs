//! A NixOS host's evaluated system booted under systemd in a container (`stackr_checks::systemd`),
//! and what the checks of such a host do from inside it: commands, requests from loopback, psql
//! and redis-cli as a service's role, jobs, waits. Each systemd check of a single host boots one.

use std::time::{Duration, Instant};

use serde_json::Value;
use stackr_checks::image::systemd_image;
use stackr_checks::systemd::curl::{quoted, Answer};
use stackr_checks::systemd::{build_workspace_binaries, render_system, workspace_bin_dir, Machine};

/// As the generated VM test deploys it: secrets created once on the host, kept across reboots.
pub const HOST: &str = "{ stackr.secrets.generate = true; }";
/// Booting runs initdb (three times in per-service mode) and starts every service: minutes on a
/// loaded 2-core machine.
pub const BOOT: Duration = Duration::from_secs(600);
/// For a condition that needs a few requests or a job round trip.
pub const SETTLE: Duration = Duration::from_secs(120);

pub struct Service {
    pub name: String,
    pub port: u64,
    /// The socket folder and port of the PostgreSQL holding its database (its own, or the system
    /// one in shared mode), as its processes reach it.
    pub postgres_socket_dir: String,
    pub postgres_port: u64,
    /// Its Redis's Unix socket: the server has no TCP listener.
    pub redis_socket: String,
    pub has_worker: bool,
    pub is_auth: bool,
}

pub struct Deployment {
    /// The host module the running system was evaluated with, and that evaluation: a deploy
    /// ([`Deployment::deploy`]) replaces both.
    pub host: String,
    pub system: Value,
    pub machine: Machine,
    pub services: Vec<Service>,
    pub secrets_dir: String,
}

impl Deployment {
    /// Boots a container with `system`, the evaluation with `host` (a NixOS module as Nix text),
    /// rendered as NixOS writes it; returns once every unit of multi-user.target has started.
    pub fn boot(host: &str, system: Value) -> Deployment {
        build_workspace_binaries();
        let (root, adapted) = render_system(&system).unwrap();
        eprintln!("changed for the container:\n  {}", adapted.join("\n  "));
        let image = systemd_image().to_string();
        let machine = Machine::boot(&image, &root, &workspace_bin_dir().unwrap()).unwrap();
        let redis = system["redis"].clone();
        let services = system["stackr"]["services"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, s)| {
                let (postgres_socket_dir, postgres_port) = database_server(&system, name);
                Service {
                    name: name.clone(),
                    port: s["port"].as_u64().unwrap(),
                    postgres_socket_dir,
                    postgres_port,
                    redis_socket: redis[name]["unixSocket"].as_str().unwrap().to_owned(),
                    has_worker: s["worker"]["enable"] == true,
                    is_auth: s["kind"] == "auth",
                }
            })
            .collect();
        let secrets_dir = system["stackr"]["secretsDir"].as_str().unwrap().to_owned();
        let deployment = Deployment {
            host: host.to_owned(),
            system,
            machine,
            services,
            secrets_dir,
        };
        deployment.start();
        deployment
    }

    /// Boot finished, then `systemctl start multi-user.target` (which waits for its jobs).
    pub fn start(&self) {
        let state = self.machine.wait_for_boot(BOOT).unwrap();
        eprintln!("systemd finished booting: {state}");
        self.machine
            .sh("timeout 600 systemctl start multi-user.target")
            .unwrap_or_else(|e| panic!("{e:#}\n{}", self.diagnostics()));
    }

    pub fn units(&self) -> Vec<String> {
        self.system["units"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    pub fn service(&self, name: &str) -> &Service {
        self.services.iter().find(|s| s.name == name).unwrap()
    }

    pub fn auth(&self) -> &Service {
        self.services.iter().find(|s| s.is_auth).unwrap()
    }

    pub fn sh(&self, script: &str) -> String {
        self.machine
            .sh(script)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", self.diagnostics()))
    }

    /// Whether `script` succeeds in the container.
    pub fn succeeds(&self, script: &str) -> bool {
        self.machine.run(script).unwrap().status.success()
    }

    pub fn secret(&self, file: &str) -> String {
        self.sh(&format!("cat {}/{file}", self.secrets_dir))
    }

    /// A request from inside the container (the auth API accepts loopback peers only).
    pub fn http(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        self.machine.http(method, url, headers, body, None).unwrap()
    }

    pub fn url(&self, service: &str, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.service(service).port)
    }

    /// `GET path` at `service`'s API, with the session `cookie` if given.
    pub fn get(&self, service: &str, path: &str, cookie: Option<&str>) -> Answer {
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
        self.http("GET", &self.url(service, path), &headers, None)
    }

    /// Auth's view of a session cookie (`GET /api/auth/get-session`).
    pub fn session(&self, cookie: &str) -> Answer {
        self.get(&self.auth().name, "/api/auth/get-session", Some(cookie))
    }

    /// Signs up a fresh user at auth as a browser on auth's own page would; the session cookie.
    pub fn sign_up(&self, email: &str, password: &str) -> (String, String) {
        let origin = self.system["stackr"]["auth"]["baseUrl"]
            .as_str()
            .unwrap()
            .to_owned();
        let body =
            serde_json::json!({ "email": email, "password": password, "name": "Systemd Check" });
        let answer = self.http(
            "POST",
            &self.url(&self.auth().name, "/api/auth/sign-up/email"),
            &[("origin", &origin)],
            Some(&body.to_string()),
        );
        assert_eq!(answer.status, 200, "sign-up: {answer:?}");
        let cookie = answer
            .first_cookie()
            .unwrap_or_else(|| panic!("sign-up set no cookie: {answer:?}"))
            .to_owned();
        let user: Value = serde_json::from_str(&answer.body).unwrap();
        (cookie, user["user"]["id"].as_str().unwrap().to_owned())
    }

    /// Waits for `check` (which describes what it saw on failure) within `deadline`.
    pub fn wait_for(&self, what: &str, deadline: Duration, check: impl Fn() -> Result<(), String>) {
        let started = Instant::now();
        loop {
            match check() {
                Ok(()) => return,
                Err(seen) if started.elapsed() > deadline => panic!(
                    "waited {deadline:?} for {what}; last seen: {seen}\n{}",
                    self.diagnostics()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }

    /// `redis-cli` against `service`'s Redis with `password_of`'s password (given through the
    /// environment, not argv).
    pub fn redis(&self, service: &str, password_of: &str, command: &str) -> String {
        let password = self.secret(&format!("{password_of}-redis-password"));
        self.redis_with(service, &password, command)
    }

    /// `redis-cli` against `service`'s Redis with `password`.
    pub fn redis_with(&self, service: &str, password: &str, command: &str) -> String {
        let output = self
            .machine
            .run(&format!(
                "REDISCLI_AUTH={} redis-cli --no-auth-warning -s {} {command} 2>&1",
                quoted(password),
                self.service(service).redis_socket
            ))
            .unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// psql as `role` with its own password against `database` on `server`'s PostgreSQL.
    pub fn psql(
        &self,
        role: &str,
        server: &str,
        database: &str,
        sql: &str,
    ) -> Result<String, String> {
        let password = self.secret(&format!("{role}-db-password"));
        self.psql_with(role, &password, server, database, sql)
    }

    /// psql as `role` with `password` against `database` on `server`'s PostgreSQL.
    pub fn psql_with(
        &self,
        role: &str,
        password: &str,
        server: &str,
        database: &str,
        sql: &str,
    ) -> Result<String, String> {
        self.machine.outcome(&format!(
            "PGPASSWORD={} psql -X -At -h {} -p {} -U {role} -d {database} -c {}",
            quoted(password),
            self.service(server).postgres_socket_dir,
            self.service(server).postgres_port,
            quoted(sql)
        ))
    }

    /// Adds a job to `service`'s queue as its own processes would; the job id.
    pub fn enqueue(&self, service: &str, job: &str) -> String {
        let s = self.service(service);
        self.sh(&format!(
            "REDIS_URL=redis+unix://{} REDIS_PASSWORD_FILE={}/{service}-redis-password \
             STACKR_QUEUE={service} STACKR_QUEUE_PREFIX=bull \
             /opt/stackr/workspace/bin/stackr-checks-enqueue {job}",
            s.redis_socket, self.secrets_dir
        ))
        .trim()
        .to_owned()
    }

    /// Waits until `service`'s worker has completed job `id`.
    pub fn wait_for_job(&self, service: &str, id: &str) {
        self.wait_for(&format!("{service} job {id} to complete"), SETTLE, || {
            // BullMQ keeps each completed job's id in the queue's `completed` set, whatever the
            // handler returned; a failed one goes to `failed` instead.
            let completed = self.redis(
                service,
                service,
                &format!("ZSCORE bull:{service}:completed {id}"),
            );
            let value = self.redis(
                service,
                service,
                &format!("HGET bull:{service}:{id} returnvalue"),
            );
            if !completed.is_empty() {
                Ok(())
            } else {
                Err(format!("not in the completed set; returnvalue={value:?}"))
            }
        });
    }

    pub fn show(&self, unit: &str, properties: &str) -> String {
        self.sh(&format!(
            "systemctl show --property={properties} {unit}.service"
        ))
    }

    /// Failed units and the journal's tail, for a failing assertion's message.
    pub fn diagnostics(&self) -> String {
        self.machine
            .sh("systemctl --failed --no-pager; systemctl list-jobs --no-pager; journalctl -b --no-pager | tail -n 60")
            .unwrap_or_else(|e| format!("(no diagnostics: {e:#})"))
    }
}

/// The socket folder and port of the PostgreSQL server holding `service`'s database: its API
/// unit's `DATABASE_URL` (`postgres://ROLE@FOLDER:PORT/DATABASE`, the folder percent-encoded and
/// each `%` doubled for systemd), what its processes connect to.
fn database_server(system: &Value, service: &str) -> (String, u64) {
    let url = system["units"][format!("stackr-{service}-api")]["environment"]["DATABASE_URL"]
        .as_str()
        .unwrap_or_else(|| panic!("{service}'s API unit has no DATABASE_URL"));
    let (server, _) = url
        .split_once('@')
        .and_then(|(_, rest)| rest.split_once('/'))
        .unwrap_or_else(|| panic!("DATABASE_URL {url}"));
    let (folder, port) = server.rsplit_once(':').unwrap();
    (folder.replace("%%2F", "/"), port.parse().unwrap())
}
