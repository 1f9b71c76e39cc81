//! A service's own PostgreSQL, in its own container.
//!
//! The container's superuser is reachable from the host only with a per-run random password
//! (scram-sha-256); the harness uses it to create the service's role and database, and to inspect
//! the database in the isolation checks. The service itself gets only its own role, which may
//! connect only to the database of the same name (pg_hba `sameuser`, see the entry script).

use std::time::{Duration, Instant};

use anyhow::Context;
use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use tokio_postgres::{Client, NoTls};

use super::request::checks_container;
use crate::secret::random_secret;

const PG_PORT: u16 = 5432;

pub struct PostgresContainer {
    service: String,
    container: ContainerAsync<GenericImage>,
    host_port: u16,
    superuser_password: String,
}

/// A service's role and database inside its container, as the service connects to them.
#[derive(Clone)]
pub struct ServiceDatabase {
    pub role: String,
    pub database: String,
    pub password: String,
    pub port: u16,
}

/// Without the password: assertion messages and logs may print a `ServiceDatabase`.
impl std::fmt::Debug for ServiceDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceDatabase")
            .field("role", &self.role)
            .field("database", &self.database)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl ServiceDatabase {
    /// `DATABASE_URL` as the runtime contract wants it: no password (that comes from a file).
    pub fn url_without_password(&self) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}/{}",
            self.role, self.port, self.database
        )
    }

    /// A connection config with the password, for the harness's own checks.
    pub fn config(&self) -> tokio_postgres::Config {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host("127.0.0.1")
            .port(self.port)
            .user(&self.role)
            .password(&self.password)
            .dbname(&self.database)
            .connect_timeout(Duration::from_secs(5));
        cfg
    }
}

impl PostgresContainer {
    /// Starts `service`'s PostgreSQL and waits until its superuser can log in from the host.
    pub async fn start(service: &str) -> anyhow::Result<Self> {
        let superuser_password = random_secret(32);
        let container = checks_container(
            PG_PORT,
            WaitFor::message_on_stderr("database system is ready to accept connections"),
            "postgres",
        )
        .with_env_var("POSTGRES_PASSWORD", &superuser_password)
        .with_cmd(["/usr/local/bin/stackr-postgres-entry"])
        .start()
        .await
        .with_context(|| format!("starting the PostgreSQL container of `{service}`"))?;
        let host_port = container.get_host_port_ipv4(PG_PORT).await?;
        let pg = PostgresContainer {
            service: service.to_owned(),
            container,
            host_port,
            superuser_password,
        };
        pg.wait_for_superuser().await?;
        Ok(pg)
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

    /// The log line can precede the listener by a moment; poll until a login succeeds.
    async fn wait_for_superuser(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match self.superuser("postgres").await {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(e.context(format!(
                        "PostgreSQL of `{}` never accepted a login",
                        self.service
                    )))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// A superuser connection to `database` (its connection task runs in the background).
    pub async fn superuser(&self, database: &str) -> anyhow::Result<Client> {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host("127.0.0.1")
            .port(self.host_port)
            .user("postgres")
            .password(&self.superuser_password)
            .dbname(database)
            .connect_timeout(Duration::from_secs(5));
        let (client, connection) = cfg.connect(NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Creates the service's role and database (role = database = service name with `-` → `_`),
    /// with a fresh random password; nobody else may connect to that database.
    pub async fn create_service_database(&self) -> anyhow::Result<ServiceDatabase> {
        self.create_database(&self.service.replace('-', "_"), &random_secret(32))
            .await
    }

    /// Creates role `name` with `password` and its database `name`; nobody else may connect to it.
    /// `name` must be a stackr database name (`[a-z][a-z0-9_]*`) and `password` alphanumeric.
    pub async fn create_database(
        &self,
        name: &str,
        password: &str,
    ) -> anyhow::Result<ServiceDatabase> {
        anyhow::ensure!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && password.chars().all(|c| c.is_ascii_alphanumeric()),
            "database names are [a-z0-9_] and passwords alphanumeric"
        );
        let admin = self.superuser("postgres").await?;
        // The checks above make the literals below impossible to break out of.
        // One statement per call: CREATE DATABASE refuses to run inside a multi-statement batch.
        for statement in [
            format!("CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'"),
            format!("CREATE DATABASE \"{name}\" OWNER \"{name}\""),
            format!("REVOKE ALL ON DATABASE \"{name}\" FROM PUBLIC"),
        ] {
            admin
                .batch_execute(&statement)
                .await
                .with_context(|| format!("creating role and database `{name}`"))?;
        }
        Ok(ServiceDatabase {
            role: name.to_owned(),
            database: name.to_owned(),
            password: password.to_owned(),
            port: self.host_port,
        })
    }

    /// Kills the server (the blast-radius check): no graceful shutdown, as in a crash.
    pub async fn stop(&self) -> anyhow::Result<()> {
        self.container
            .stop_with_timeout(Some(0))
            .await
            .with_context(|| format!("stopping the PostgreSQL container of `{}`", self.service))
    }
}
