//! What the several-host check and the load-balancer bench do to a running [`Fleet`]: commands
//! and HTTP requests from inside a host (each API's port is open to its own host only), sign-up
//! at auth over HTTPS verified against the deployment's CA, jobs added to a service's queue as
//! its own worker connects to it.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

use super::{Fleet, Host};

pub use crate::systemd::curl::{quoted, Answer};

impl Host {
    /// Runs `script` as root in the host; its stdout.
    pub fn sh(&self, script: &str) -> anyhow::Result<String> {
        self.machine
            .sh(script)
            .with_context(|| format!("on {}", self.name))
    }

    /// Whether `script` succeeds on the host.
    pub fn succeeds(&self, script: &str) -> bool {
        self.machine
            .run(script)
            .is_ok_and(|output| output.status.success())
    }

    /// A request with curl from this host, trusting the deployment's CA.
    pub fn http(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> anyhow::Result<Answer> {
        self.machine
            .http(method, url, headers, body, Some(&self.ca_file()))
            .with_context(|| format!("on {}", self.name))
    }

    /// The deployment CA's certificate on this host (`stackr.fleet.tls.caFile`).
    pub fn ca_file(&self) -> String {
        self.system["stackr"]["fleet"]["tls"]["caFile"]
            .as_str()
            .expect("every fleet host has the CA")
            .to_owned()
    }

    /// The environment of `unit` as its process sees it, with each `%d/<credential>` replaced
    /// by the file the credential is loaded from: what a probe needs to connect as the unit does.
    pub fn unit_environment(&self, unit: &str) -> anyhow::Result<Vec<(String, String)>> {
        let config = &self.system["units"][unit];
        let credentials: Vec<(String, String)> = match &config["serviceConfig"]["LoadCredential"] {
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            Value::String(one) => vec![one.as_str()],
            _ => Vec::new(),
        }
        .into_iter()
        .filter_map(|c| c.split_once(':'))
        .map(|(name, source)| (format!("%d/{name}"), source.to_owned()))
        .collect();
        let mut environment = Vec::new();
        for (name, value) in config["environment"]
            .as_object()
            .with_context(|| format!("{} has no unit {unit}", self.name))?
        {
            let mut value = value.as_str().unwrap_or_default().to_owned();
            for (placeholder, source) in &credentials {
                value = value.replace(placeholder, source);
            }
            environment.push((name.clone(), value));
        }
        Ok(environment)
    }
}

impl Fleet {
    /// `stackr.services.<service>` of the evaluation.
    pub fn service(&self, service: &str) -> &Value {
        &self.hosts.values().next().expect("hosts").system["stackr"]["services"][service]
    }

    /// The name of the auth service.
    pub fn auth_name(&self) -> String {
        let services = self.hosts.values().next().expect("hosts").system["stackr"]["services"]
            .as_object()
            .expect("services");
        services
            .iter()
            .find(|(_, s)| s["kind"] == "auth")
            .map(|(name, _)| name.clone())
            .expect("an auth service")
    }

    /// `service`'s port: its load balancer's, on the host of its API replicas.
    pub fn port(&self, service: &str) -> u64 {
        self.service(service)["port"].as_u64().expect("a port")
    }

    /// `GET path` through `service`'s load balancer (HTTPS, by its host's name), from the host it
    /// runs on.
    pub fn get(&self, service: &str, path: &str, cookie: Option<&str>) -> anyhow::Result<Answer> {
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
        let host = self.host_of(service, "api");
        let url = format!("https://{}:{}{path}", host.name, self.port(service));
        host.http("GET", &url, &headers, None)
    }

    /// auth's URL as the other hosts reach it (HTTPS, by its host's name).
    pub fn auth_url(&self) -> String {
        let auth = self.auth_name();
        format!(
            "https://{}:{}",
            self.host_of(&auth, "api").name,
            self.port(&auth)
        )
    }

    /// Signs up a fresh user at auth from host `from` (over HTTPS, CA-verified), as a browser on
    /// auth's own page would: the session cookie and the user's id.
    pub fn sign_up(
        &self,
        from: &str,
        email: &str,
        password: &str,
    ) -> anyhow::Result<(String, String)> {
        let origin = self.hosts[from].system["stackr"]["auth"]["baseUrl"]
            .as_str()
            .context("auth has no baseUrl")?
            .to_owned();
        let body =
            serde_json::json!({ "email": email, "password": password, "name": "Fleet Check" });
        let answer = self.hosts[from].http(
            "POST",
            &format!("{}/api/auth/sign-up/email", self.auth_url()),
            &[("origin", &origin)],
            Some(&body.to_string()),
        )?;
        if answer.status != 200 {
            bail!("sign-up: {answer:?}");
        }
        let cookie = answer
            .first_cookie()
            .with_context(|| format!("sign-up set no cookie: {answer:?}"))?
            .to_owned();
        let user: Value = serde_json::from_str(&answer.body)?;
        let id = user["user"]["id"]
            .as_str()
            .context("no user id")?
            .to_owned();
        Ok((cookie, id))
    }

    /// The first worker unit of `service` (whose connection settings every replica shares).
    fn worker_unit(&self, service: &str) -> String {
        format!("stackr-{service}-worker-1")
    }

    /// Adds a job to `service`'s queue from its workers' host, connected as they are (TLS to
    /// the Redis host, by name, with the service's password); the job's id.
    pub fn enqueue(&self, service: &str, job: &str) -> anyhow::Result<String> {
        let host = self.host_of(service, "worker");
        let environment = host.unit_environment(&self.worker_unit(service))?;
        let variables: String = environment
            .iter()
            .filter(|(name, _)| {
                name.starts_with("REDIS_")
                    || name.starts_with("STACKR_QUEUE")
                    || name == "TLS_CA_FILE"
            })
            .map(|(name, value)| format!("{name}={} ", quoted(value)))
            .collect();
        Ok(host
            .sh(&format!(
                "{variables}{}/bin/stackr-checks-enqueue {}",
                crate::systemd::store::WORKSPACE_PACKAGE,
                quoted(job)
            ))?
            .trim()
            .to_owned())
    }

    /// `redis-cli` against `service`'s Redis from its own host, with its own password (TLS,
    /// verified by the Redis host's name).
    pub fn redis(&self, service: &str, command: &str) -> anyhow::Result<String> {
        let host = self.host_of(service, "redis");
        let port = self.service(service)["redis"]["port"]
            .as_u64()
            .context("redis port")?;
        let password = format!(
            "{}/{service}-redis-password",
            host.system["stackr"]["secretsDir"]
                .as_str()
                .context("secretsDir")?
        );
        let output = host.machine.run(&format!(
            "REDISCLI_AUTH=\"$(cat {})\" redis-cli --no-auth-warning --tls --cacert {} -h {} -p {port} {command} 2>&1",
            quoted(&password),
            quoted(&host.ca_file()),
            host.name
        ))?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Whether `service`'s job `id` is in its queue's completed set.
    pub fn job_completed(&self, service: &str, id: &str) -> anyhow::Result<bool> {
        let answer = self.redis(service, &format!("ZSCORE bull:{service}:completed {id}"))?;
        Ok(!answer.is_empty())
    }

    /// Waits for `check` within `deadline`; its last complaint (and the hosts' state) otherwise.
    pub fn wait_for(
        &self,
        what: &str,
        deadline: Duration,
        check: impl Fn() -> Result<(), String>,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            match check() {
                Ok(()) => return Ok(()),
                Err(seen) if started.elapsed() > deadline => bail!(
                    "waited {deadline:?} for {what}; last seen: {seen}\n{}",
                    self.diagnostics()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }
}
