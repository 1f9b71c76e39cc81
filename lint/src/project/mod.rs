//! The project being linted: its services (from the config) and every source file of each
//! service, read and parsed once so all rules share the work.

mod config;
mod files;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use config::{ServiceKind, CONFIG_FILE};
pub use files::TextFile;

use crate::finding::Warning;
use crate::rust_source::RustFile;

/// Where service crates live, relative to the project root.
pub const SERVICES_DIR: &str = "services";

pub struct Project {
    pub root: PathBuf,
    pub services: Vec<Service>,
    /// The root `Cargo.toml`, when present (for `workspace = true` dependencies).
    pub workspace_manifest: Option<TextFile>,
}

pub struct Service {
    pub name: String,
    pub kind: ServiceKind,
    /// The service crate directory, relative to the project root (`services/<name>`).
    pub dir: PathBuf,
    pub postgres_ports: Vec<u16>,
    pub redis_ports: Vec<u16>,
    pub manifest: Option<TextFile>,
    pub rust_files: Vec<RustFile>,
    pub sql_files: Vec<TextFile>,
    /// `.env*`, TOML, YAML and JSON files: places a connection string may be hard-coded.
    pub config_files: Vec<TextFile>,
}

impl Service {
    /// Prefix of environment variables named after this service (`my-svc` → `MY_SVC_`).
    pub fn env_prefix(&self) -> String {
        format!("{}_", self.name.to_ascii_uppercase().replace('-', "_"))
    }

    /// PostgreSQL role and database name of this service (hyphens become underscores).
    pub fn database_name(&self) -> String {
        stackr_plan::plan::database_name(&self.name)
    }

    /// Cargo package name of a scaffolded service crate.
    pub fn package_name(&self) -> String {
        stackr_plan::plan::package_name(&self.name)
    }

    pub fn is_auth(&self) -> bool {
        self.kind == ServiceKind::Auth
    }
}

impl Project {
    /// Reads the config and every service's files. Problems that stop linting altogether (no
    /// config, invalid JSON) are errors; files that cannot be parsed become warnings.
    pub fn load(root: &Path) -> Result<(Project, Vec<Warning>)> {
        // Absolute, so `#[path = "/abs/…"]` and friends can be compared with it.
        let root = &std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
        let configured = config::read_config(root)?;
        let mut warnings = Vec::new();
        let mut services = Vec::new();
        for entry in &configured {
            let dir = Path::new(SERVICES_DIR).join(&entry.name);
            if !root.join(&dir).is_dir() {
                // A service without a crate here (e.g. auth run from the stackr-auth package)
                // has no code to lint, but its name, ports and kind still matter to the others.
                services.push(Service::without_code(entry, dir));
                continue;
            }
            services.push(files::load_service(root, entry, dir, &mut warnings)?);
        }
        for dir in files::unconfigured_service_dirs(root, &configured)? {
            warnings.push(Warning {
                file: dir.clone(),
                line: 1,
                column: 1,
                message: "service crate not listed in stackr.config.json; linted as a base service"
                    .to_owned(),
            });
            let name = dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let entry = config::ConfiguredService {
                name,
                kind: ServiceKind::Base,
                postgres_ports: Vec::new(),
                redis_ports: Vec::new(),
            };
            services.push(files::load_service(root, &entry, dir, &mut warnings)?);
        }
        let workspace_manifest = TextFile::read_optional(root, Path::new("Cargo.toml"))?;
        Ok((
            Project {
                root: root.to_owned(),
                services,
                workspace_manifest,
            },
            warnings,
        ))
    }

    /// Every service except `service` itself.
    pub fn others<'a>(&'a self, service: &'a Service) -> impl Iterator<Item = &'a Service> {
        self.services
            .iter()
            .filter(move |other| other.name != service.name)
    }
}

impl Service {
    fn without_code(entry: &config::ConfiguredService, dir: PathBuf) -> Service {
        Service {
            name: entry.name.clone(),
            kind: entry.kind,
            dir,
            postgres_ports: entry.postgres_ports.clone(),
            redis_ports: entry.redis_ports.clone(),
            manifest: None,
            rust_files: Vec::new(),
            sql_files: Vec::new(),
            config_files: Vec::new(),
        }
    }
}
