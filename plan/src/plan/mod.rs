//! The plan: every fact derived from the model, computed once (ports, names, paths, env vars,
//! secrets, dependency specs). Renderers only format what is here.

pub mod dev_build;
pub mod dev_postgres;
mod env;
mod guard;
mod oauth;
pub mod placement;
mod runtime_dep;
mod secrets;

use serde::Serialize;

pub use env::EnvVar;
pub use guard::GuardSpec;
pub use oauth::DevOAuth;
pub use runtime_dep::RuntimeDeps;
pub use secrets::{dev_secrets_dir, Secret, AUTH_SECRET, DEV_SECRETS_FOLDER};

use crate::model::{AuthMiddleware, Model, PostgresMode, ServiceKind};

/// The project-level plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub project: String,
    pub state_dir: String,
    pub services: Vec<ServicePlan>,
    /// Name of the auth service, if the stack has one.
    pub auth: Option<String>,
    /// Base services registered with auth as provisioning targets.
    pub provision_services: Vec<String>,
    /// Dev secret files to create once, in order.
    pub secrets: Vec<Secret>,
    /// Auth's sign-in providers in dev, when it has any.
    pub dev_oauth: Option<DevOAuth>,
    pub deploy_state_dir: String,
    /// `stackr.postgresql.mode`: `per-service` or `shared`.
    pub deploy_postgres_mode: PostgresMode,
    pub runtime: RuntimeDeps,
    /// The hosts and what each runs, when the config places the stack on several.
    pub fleet: Option<placement::FleetPlan>,
}

/// Everything about one service.
#[derive(Debug, Clone, Serialize)]
pub struct ServicePlan {
    pub name: String,
    pub kind: ServiceKind,
    /// Cargo package, `<name>-service`.
    pub package: String,
    pub api_bin: String,
    pub worker_bin: Option<String>,
    pub port: u16,
    pub admin_port: Option<u16>,
    /// Auth only, when configured (`AUTH_ADMIN_BIND`; auth's own default is loopback).
    pub admin_bind: Option<String>,
    pub middleware: Option<AuthMiddleware>,
    pub roles: Vec<String>,
    pub worker_concurrency: u32,
    /// PostgreSQL role and database (`-` mapped to `_`).
    pub db_name: String,
    pub dev_postgres_port: u16,
    pub dev_redis_port: u16,
    pub deploy_redis_port: u16,
    /// Port of the service's own deployed PostgreSQL server (none in shared mode).
    pub deploy_postgres_port: Option<u16>,
    /// The user field auth sets once this service provisioned the user (`hasMySvcAccount`).
    pub has_account_field: String,
    pub base_url: Option<String>,
    pub trusted_origins: Vec<String>,
    /// Auth only: sign-in providers.
    pub oauth_providers: Vec<crate::model::OAuthProviderConfig>,
    /// Auth only: the additional user fields as `AUTH_USER_FIELDS` carries them (empty for none).
    pub user_fields_json: String,
    pub dev: DevPaths,
    pub api_env: Vec<EnvVar>,
    pub worker_env: Vec<EnvVar>,
    /// User-supplied extra environment (also part of `api_env`/`worker_env`).
    pub extra_env: Vec<EnvVar>,
}

/// Cargo package of service `name`'s crate.
pub fn package_name(name: &str) -> String {
    format!("{name}-service")
}

/// PostgreSQL role and database of service `name`: hyphens, which unquoted SQL identifiers can't
/// hold, become underscores.
pub fn database_name(name: &str) -> String {
    name.replace('-', "_")
}

impl ServicePlan {
    /// Whether this is the stack's auth service (the trust anchor), not a base service.
    pub fn is_auth(&self) -> bool {
        self.kind == ServiceKind::Auth
    }
}

/// The file name of each dev Redis's Unix socket, in its `dir` ([`DevPaths::redis_dir`]).
pub const DEV_REDIS_SOCKET: &str = "redis.sock";

/// Dev state locations of one service, relative to the project root.
#[derive(Debug, Clone, Serialize)]
pub struct DevPaths {
    pub postgres_dir: String,
    pub redis_dir: String,
    /// The Redis's Unix socket, in its private data folder: the API and the worker reach their
    /// Redis through it, not through its TCP port, which another local user may take while
    /// Redis is down and would then be sent the password (Redis's `AUTH` carries it in clear).
    pub redis_socket: String,
    pub run_dir: String,
    pub db_password_file: String,
    pub redis_password_file: String,
    pub credential_file: Option<String>,
}

/// Builds the plan from a validated model.
pub fn plan(model: &Model) -> Plan {
    let state = &model.state_dir;
    let auth = model.auth();
    let provision_services: Vec<String> = if auth.is_some() {
        model
            .services
            .iter()
            .filter(|s| s.kind == ServiceKind::Base)
            .map(|s| s.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    let services: Vec<ServicePlan> = model
        .services
        .iter()
        .enumerate()
        .map(|(index, service)| {
            let is_auth = service.kind == ServiceKind::Auth;
            let name = &service.name;
            let secrets_dir = secrets::dev_secrets_dir(state);
            let secret = |what: &str| format!("{secrets_dir}/{name}-{what}");
            let redis_dir = format!("{state}/data/{name}/redis");
            let dev = DevPaths {
                postgres_dir: format!("{state}/data/{name}/postgres"),
                redis_socket: format!("{redis_dir}/{DEV_REDIS_SOCKET}"),
                redis_dir,
                run_dir: format!("{state}/run/{name}"),
                db_password_file: secret("db-password"),
                redis_password_file: secret("redis-password"),
                credential_file: (!is_auth && auth.is_some()).then(|| secret("credential")),
            };
            let offset = index as u16; // validation keeps every range inside u16
            let deploy_ports = crate::model::placement::deploy_store_ports(&model.deploy, index);
            let mut service_plan = ServicePlan {
                name: name.clone(),
                kind: service.kind,
                package: package_name(name),
                api_bin: format!("{name}-api"),
                worker_bin: service.worker.then(|| format!("{name}-worker")),
                port: service.port,
                admin_port: service.admin_port,
                admin_bind: service.admin_bind.map(|a| a.to_string()),
                middleware: service.middleware,
                roles: service.roles.clone(),
                worker_concurrency: service.worker_concurrency,
                db_name: database_name(name),
                dev_postgres_port: model.dev.postgres_port_start + offset,
                dev_redis_port: model.dev.redis_port_start + offset,
                deploy_redis_port: deploy_ports.1,
                deploy_postgres_port: (model.deploy.postgres_mode == PostgresMode::PerService)
                    .then_some(deploy_ports.0),
                has_account_field: stackr_contract::has_account_field(name),
                base_url: service.base_url.clone(),
                trusted_origins: service.trusted_origins.clone(),
                oauth_providers: service.oauth_providers.clone(),
                user_fields_json: if service.user_fields.is_empty() {
                    String::new()
                } else {
                    crate::model::user_fields::env_value(&service.user_fields)
                },
                dev,
                api_env: Vec::new(),
                worker_env: Vec::new(),
                extra_env: service
                    .environment
                    .iter()
                    .map(|(k, v)| EnvVar::new(k, v))
                    .collect(),
            };
            service_plan.api_env =
                env::dev_env(&service_plan, model, &provision_services, env::Process::Api);
            service_plan.worker_env = env::dev_env(
                &service_plan,
                model,
                &provision_services,
                env::Process::Worker,
            );
            service_plan
        })
        .collect();
    Plan {
        project: model.name.clone(),
        state_dir: state.clone(),
        secrets: secrets::dev_secrets(state, &services),
        dev_oauth: auth.and_then(|a| oauth::dev_oauth(state, a)),
        auth: auth.map(|a| a.name.clone()),
        provision_services,
        services,
        deploy_state_dir: model.deploy.state_dir.clone(),
        deploy_postgres_mode: model.deploy.postgres_mode,
        runtime: RuntimeDeps::from_model(&model.runtime),
        fleet: placement::fleet(model),
    }
}

impl Plan {
    /// Every port the dev stack listens on, with what listens there (what `stackr dev` checks is
    /// free before it starts anything).
    pub fn dev_ports(&self) -> Vec<(u16, String)> {
        self.services
            .iter()
            .flat_map(ServicePlan::dev_ports)
            .collect()
    }
}

impl ServicePlan {
    /// The ports this service's dev processes listen on, each with what it is for.
    pub fn dev_ports(&self) -> Vec<(u16, String)> {
        let mut ports = vec![(self.port, format!("the API of `{}`", self.name))];
        if let Some(admin) = self.admin_port {
            ports.push((admin, format!("the admin page of `{}`", self.name)));
        }
        ports.extend(self.dev_store_ports());
        ports
    }

    /// The ports of this service's dev PostgreSQL and Redis, each with what it is for. Both
    /// listen on 127.0.0.1 alone (the process-compose template binds them there).
    pub fn dev_store_ports(&self) -> [(u16, String); 2] {
        [
            (self.dev_postgres_port, self.dev_postgres_label()),
            (self.dev_redis_port, self.dev_redis_label()),
        ]
    }

    /// The Unix sockets this service's dev processes connect to, relative to the project root,
    /// each with what it is for: PostgreSQL's (which PostgreSQL names after its port) and Redis's.
    pub fn dev_unix_sockets(&self) -> [(String, String); 2] {
        [
            (self.dev_postgres_socket(), self.dev_postgres_label()),
            (self.dev.redis_socket.clone(), self.dev_redis_label()),
        ]
    }

    /// The Unix socket of this service's dev PostgreSQL, relative to the project root, which
    /// PostgreSQL names after its port.
    pub fn dev_postgres_socket(&self) -> String {
        format!("{}/.s.PGSQL.{}", self.dev.run_dir, self.dev_postgres_port)
    }

    fn dev_postgres_label(&self) -> String {
        format!("the dev PostgreSQL of `{}`", self.name)
    }

    fn dev_redis_label(&self) -> String {
        format!("the dev Redis of `{}`", self.name)
    }

    /// The value of `name` in the dev API process's environment: the last one listed, as the
    /// process sees it (a config's `environment` comes after what stackr sets).
    pub fn api_env_value(&self, name: &str) -> Option<&str> {
        self.api_env
            .iter()
            .rev()
            .find(|e| e.name == name)
            .map(|e| e.value.as_str())
    }

    /// The listening sockets of this service's dev API process (named as its runtime looks them
    /// up), where the process itself would listen given its dev environment: its port at its
    /// `LISTEN_ADDRESS` (a config's `environment` may open it), and auth's admin page at
    /// `AUTH_ADMIN_BIND` (auth's own default, loopback, when unset).
    pub fn dev_sockets(&self) -> Vec<(&'static str, std::net::SocketAddr)> {
        use stackr_contract::socket_activation::{ADMIN_SOCKET, API_SOCKET};
        let loopback = std::net::IpAddr::from(std::net::Ipv4Addr::LOCALHOST);
        // An address the runtime cannot read stops it with that error; loopback is held meanwhile.
        let listen = stackr_contract::env::listen_address(
            self.api_env_value(stackr_contract::env::LISTEN_ADDRESS),
        )
        .unwrap_or(loopback);
        let mut sockets = vec![(API_SOCKET, std::net::SocketAddr::new(listen, self.port))];
        if let Some(admin) = self.admin_port {
            let bind = self
                .api_env_value(stackr_contract::env::AUTH_ADMIN_BIND)
                .and_then(|a| a.parse().ok())
                .unwrap_or(loopback);
            sockets.push((ADMIN_SOCKET, std::net::SocketAddr::new(bind, admin)));
        }
        sockets
    }

    /// The dev processes running this service's own programs (API, worker), which are named
    /// after their binaries; their stores and auth are what they depend on.
    pub fn dev_programs(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.api_bin.as_str()).chain(self.worker_bin.as_deref())
    }
}
