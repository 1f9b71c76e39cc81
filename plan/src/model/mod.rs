//! The validated model: every config rule is checked here, once, and the result carries resolved
//! defaults so later stages never re-interpret raw config.

mod base_url;
mod names;
mod oauth;
pub mod placement;
pub mod ports;
mod role_spellings;
pub mod user_fields;
mod validate;

use std::collections::BTreeMap;

pub use crate::config::{
    AuthMiddleware, DeploySettings, DevSettings, OAuthPreset, OAuthProviderConfig, PostgresMode,
    ServiceKind,
};
pub use names::{check_name, check_service_name, MAX_SERVICE_NAME_LEN, RESERVED_NAMES};
pub use ports::{next_free_base_port, AUTH_ADMIN_PORT, AUTH_PORT, FIRST_BASE_PORT};
pub use validate::validate;

/// A validated stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub name: String,
    pub state_dir: String,
    pub runtime: Runtime,
    pub dev: DevSettings,
    pub deploy: DeploySettings,
    /// In config order; index `i` gets dev ports `start + i`.
    pub services: Vec<Service>,
    /// Which host runs which part; `None`: everything on one host.
    pub placement: Option<placement::Placement>,
}

/// Where service crates get `stackr-auth` / `stackr-kit` from.
#[derive(Debug, Clone, PartialEq)]
pub enum Runtime {
    /// The crates of this stackr version, written into the project (`stackr-runtime/`).
    Vendored(String),
    /// Folder relative to the project root, or absolute, containing `auth/` and `kit/`.
    Path(String),
    Git {
        url: String,
        rev: String,
    },
    Version(String),
}

/// A validated service with its defaults resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub kind: ServiceKind,
    pub port: u16,
    /// Auth only.
    pub admin_port: Option<u16>,
    /// Auth only, when configured: the admin page's listening address.
    pub admin_bind: Option<std::net::IpAddr>,
    /// `None` for auth.
    pub middleware: Option<AuthMiddleware>,
    pub roles: Vec<String>,
    pub worker: bool,
    pub worker_concurrency: u32,
    /// Auth only.
    pub base_url: Option<String>,
    /// Auth only.
    pub trusted_origins: Vec<String>,
    /// Auth only: sign-in providers, checked.
    pub oauth_providers: Vec<OAuthProviderConfig>,
    /// Auth only: additional user fields, checked.
    pub user_fields: Vec<crate::config::UserFieldConfig>,
    pub environment: BTreeMap<String, String>,
}

impl Model {
    pub fn auth(&self) -> Option<&Service> {
        self.services.iter().find(|s| s.kind == ServiceKind::Auth)
    }
}
