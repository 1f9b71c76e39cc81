//! A service's own Redis, in its own container, protected by a per-run `requirepass`.

use std::time::{Duration, Instant};

use anyhow::Context;
use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use super::request::checks_container;
use crate::secret::random_secret;

const REDIS_PORT: u16 = 6379;

/// The password reaches redis-server through a config file written inside the container, so it is
/// never on a command line (host `ps` shows container processes' arguments).
const ENTRY: &str = r#"umask 077
printf 'requirepass %s\n' "$REDIS_PASSWORD" > /run/redis-checks.conf
unset REDIS_PASSWORD
exec redis-server /run/redis-checks.conf --bind 0.0.0.0 --protected-mode no --save '' --appendonly no"#;

pub struct RedisContainer {
    service: String,
    container: ContainerAsync<GenericImage>,
    host_port: u16,
    password: String,
}

impl RedisContainer {
    /// Starts `service`'s Redis with a fresh random password.
    pub async fn start(service: &str) -> anyhow::Result<Self> {
        Self::start_with_password(service, &random_secret(32)).await
    }

    /// Starts `service`'s Redis with `password` and waits until an authenticated PING answers.
    pub async fn start_with_password(service: &str, password: &str) -> anyhow::Result<Self> {
        let password = password.to_owned();
        let container = checks_container(
            REDIS_PORT,
            WaitFor::message_on_stdout("Ready to accept connections"),
            "redis",
        )
        .with_env_var("REDIS_PASSWORD", &password)
        .with_cmd(["sh", "-c", ENTRY])
        .start()
        .await
        .with_context(|| format!("starting the Redis container of `{service}`"))?;
        let host_port = container.get_host_port_ipv4(REDIS_PORT).await?;
        let redis = RedisContainer {
            service: service.to_owned(),
            container,
            host_port,
            password,
        };
        redis.wait_for_ping().await?;
        Ok(redis)
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn host_port(&self) -> u16 {
        self.host_port
    }

    pub fn container_id(&self) -> &str {
        self.container.id()
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// `REDIS_URL` as the runtime contract wants it: no password (that comes from a file).
    pub fn url_without_password(&self) -> String {
        format!("redis://127.0.0.1:{}", self.host_port)
    }

    /// A connection with the password, for the harness's own checks.
    pub async fn connect(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        let url = format!("redis://:{}@127.0.0.1:{}", self.password, self.host_port);
        Ok(stackr_kit::redis_conn::multiplexed(&url).await?)
    }

    async fn wait_for_ping(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let attempt = async {
                let mut conn = self.connect().await?;
                let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
                anyhow::ensure!(pong == "PONG", "PING answered {pong}");
                Ok(())
            };
            match attempt.await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(
                        e.context(format!("Redis of `{}` never answered PING", self.service))
                    )
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Kills the server, as in a crash.
    pub async fn stop(&self) -> anyhow::Result<()> {
        self.container
            .stop_with_timeout(Some(0))
            .await
            .with_context(|| format!("stopping the Redis container of `{}`", self.service))
    }
}
