//! Serde types of `stackr.config.json`. Field names are camelCase on disk; every struct rejects
//! unknown fields so a typo is an error rather than a silently ignored setting.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole stack: one auth service, any number of base services, and the few project-wide
/// settings the generator needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StackrConfig {
    /// Editor hint pointing at the published JSON Schema; ignored by stackr.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Project name: lowercase `[a-z][a-z0-9-]*`. Used in the VM test name and the dev app.
    pub name: String,
    /// Git-ignored folder holding dev secrets, databases and sockets, relative to the project root:
    /// folder names of letters, digits, `.`, `_` and `-` (not first), no `..`; not in `target`
    /// or a `.stackr-staging-…` folder, which `cargo clean` and stackr delete.
    #[serde(default = "default_state_dir")]
    #[schemars(regex(
        pattern = r"^[A-Za-z0-9._][A-Za-z0-9._-]*(/[A-Za-z0-9._][A-Za-z0-9._-]*)*$"
    ))]
    pub state_dir: String,
    /// Where scaffolded services get the stackr runtime crates (`stackr-auth`, `stackr-kit`) from.
    /// Default: vendored, at the version of the stackr that runs.
    #[serde(default)]
    pub runtime: RuntimeSource,
    /// Local development (process-compose) settings.
    #[serde(default)]
    pub dev: DevSettings,
    /// NixOS deployment settings.
    #[serde(default)]
    pub deploy: DeploySettings,
    /// The services of the stack, in order. Order fixes default ports.
    pub services: Vec<ServiceConfig>,
    /// Several NixOS hosts: which host runs which part. Absent: everything on one host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<super::PlacementConfig>,
}

pub fn default_state_dir() -> String {
    stackr_contract::DEFAULT_STATE_DIR.to_owned()
}

/// Exactly one of `vendored`, `path`, `git` or `version`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeSource {
    /// Version of stackr whose runtime crates stackr writes into the project's `stackr-runtime/`
    /// folder (managed like generated files; what `stackr init` picks). `stackr upgrade` moves the
    /// project to the runtime of the stackr that runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendored: Option<String>,
    /// Folder (relative to the project root, or absolute) holding `auth/` and `kit/` crates.
    /// The stackr repository itself uses `runtime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Git repository of stackr; requires `rev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<String>,
    /// Pinned git revision (full commit hash) for `git`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// Cargo version requirement of the runtime crates in a registry, e.g. `=0.1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Dev PostgreSQL and Redis ports are `start + index of the service`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DevSettings {
    /// First dev PostgreSQL port; must keep the whole range clear of 5432.
    #[serde(default = "default_dev_postgres")]
    pub postgres_port_start: u16,
    /// First dev Redis port; must keep the whole range clear of 6379.
    #[serde(default = "default_dev_redis")]
    pub redis_port_start: u16,
}

// Below Linux's ephemeral range (32768–60999), whose ports the kernel gives to the local end of
// outgoing connections: a dev server's port there can be held by a client socket (or one in
// TIME-WAIT) when the server starts. 1000 services fit in each range without overlap.
fn default_dev_postgres() -> u16 {
    15440
}
fn default_dev_redis() -> u16 {
    17380
}

impl Default for DevSettings {
    fn default() -> Self {
        Self {
            postgres_port_start: default_dev_postgres(),
            redis_port_start: default_dev_redis(),
        }
    }
}

/// NixOS deployment: each service's PostgreSQL (its own server at `postgresPortStart + index`, or
/// a database in the shared system server) and one `services.redis.servers.<name>` per service at
/// `redisPortStart + index`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploySettings {
    /// `stackr.stateDir` on the host.
    #[serde(default = "default_deploy_state_dir")]
    pub state_dir: String,
    /// `per-service` (default): each service runs its own PostgreSQL server. `shared`: one
    /// database and role per service in the host's system PostgreSQL, for small hosts.
    #[serde(default)]
    pub postgres_mode: PostgresMode,
    /// First port of the per-service PostgreSQL servers; never includes 5432 (a system server's).
    #[serde(default = "default_deploy_postgres")]
    pub postgres_port_start: u16,
    /// First Redis port on the host; never 6379 (the default instance).
    #[serde(default = "default_deploy_redis")]
    pub redis_port_start: u16,
}

/// Where deployed services keep their databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PostgresMode {
    #[default]
    PerService,
    Shared,
}

impl PostgresMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PostgresMode::PerService => "per-service",
            PostgresMode::Shared => "shared",
        }
    }
}

fn default_deploy_state_dir() -> String {
    "/var/lib/stackr".to_owned()
}
fn default_deploy_postgres() -> u16 {
    5440
}
fn default_deploy_redis() -> u16 {
    6380
}

impl Default for DeploySettings {
    fn default() -> Self {
        Self {
            state_dir: default_deploy_state_dir(),
            postgres_mode: PostgresMode::default(),
            postgres_port_start: default_deploy_postgres(),
            redis_port_start: default_deploy_redis(),
        }
    }
}

/// `auth` is the single trust anchor; `base` services authenticate through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    Auth,
    #[default]
    Base,
}

/// How a base service's guard treats requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMiddleware {
    /// Any signed-in user.
    #[default]
    Standard,
    /// Users holding one of `roles` (admin always passes).
    RoleGated,
    /// Adds device sessions and first-call provisioning.
    Flexible,
    /// No guard.
    None,
}

impl AuthMiddleware {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::RoleGated => "role-gated",
            Self::Flexible => "flexible",
            Self::None => "none",
        }
    }
}

/// One service of the stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceConfig {
    /// Lowercase `[a-z][a-z0-9-]*`: Nix attribute, systemd unit, database name and env prefix.
    pub name: String,
    /// `auth` (exactly one when any base service exists) or `base` (default).
    #[serde(default, skip_serializing_if = "is_base")]
    pub kind: ServiceKind,
    /// API port. Default: 8888 for auth, 8080 + n for the n-th base service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Auth only: admin page port (default 3333).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_port: Option<u16>,
    /// Auth only: IP address the admin page listens on (default loopback); a private-network
    /// address to reach it from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_bind: Option<String>,
    /// Base only: guard flavor (default `standard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_middleware: Option<AuthMiddleware>,
    /// Base only, `role-gated`: roles allowed through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Whether the service has a BullMQ worker (default: true for base, false for auth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<bool>,
    /// Worker concurrency (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_concurrency: Option<u32>,
    /// Auth only: public base URL (default `http://localhost:<port>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Auth only: browser origins allowed to call auth (default `http://localhost:3000`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_origins: Option<Vec<String>>,
    /// Auth only: providers users may sign in with (Google, GitHub, Apple, or any OpenID
    /// Connect issuer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oauth_providers: Vec<OAuthProviderConfig>,
    /// Auth only: additional fields every user has (BetterAuth's `user.additionalFields`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_fields: Vec<super::UserFieldConfig>,
    /// Extra non-secret environment variables for the API and worker (not those stackr, systemd
    /// or the dev supervisor set).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "super::unique_keys::deserialize"
    )]
    pub environment: BTreeMap<String, String>,
}

/// A sign-in provider of the auth service. Its secret is never written here: in dev auth reads it
/// from `<stateDir>/secrets/oauth-<id>-client-secret` (Apple: `oauth-<id>-private-key`, the `.p8`
/// key), on NixOS from the file `stackr.auth.oauthProviders.*.clientSecretFile` (or
/// `privateKeyFile`) names, through systemd's LoadCredential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthProviderConfig {
    /// Lowercase `[a-z0-9_-]`: the `provider` of BetterAuth's `signIn.social` and the last part
    /// of the redirect URI to register, `<baseUrl>/api/auth/callback/<id>`.
    pub id: String,
    /// A built-in provider; leave out for a generic OpenID Connect provider and give `issuer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<OAuthPreset>,
    /// A generic OpenID Connect provider's issuer URL (https), whose discovery document is
    /// `<issuer>/.well-known/openid-configuration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The client id the provider issued.
    pub client_id: String,
    /// Scopes asked for besides the preset's own (generic providers: besides `openid`; default
    /// `email` and `profile`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Apple only: the Team ID of the developer account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// Apple only: the Key ID of the Sign in with Apple private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Link a sign-in to an existing user with the same address even when the provider does not
    /// say the address is verified. Only for providers that never hand out unverified addresses.
    #[serde(default, skip_serializing_if = "is_false")]
    pub trusted_for_account_linking: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// The built-in providers, configured as BetterAuth configures them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OAuthPreset {
    Google,
    Github,
    Apple,
}

impl OAuthPreset {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Github => "github",
            Self::Apple => "apple",
        }
    }
}

fn is_base(kind: &ServiceKind) -> bool {
    *kind == ServiceKind::Base
}

impl ServiceConfig {
    /// A service with every optional field left to its default.
    pub fn named(name: &str, kind: ServiceKind) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            port: None,
            admin_port: None,
            admin_bind: None,
            auth_middleware: None,
            roles: Vec::new(),
            worker: None,
            worker_concurrency: None,
            base_url: None,
            trusted_origins: None,
            oauth_providers: Vec::new(),
            user_fields: Vec::new(),
            environment: BTreeMap::new(),
        }
    }
}
