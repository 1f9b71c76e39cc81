//! The config against the service crates on disk: every service crate the root `Cargo.toml` lists
//! under `services/` must be a configured service, and an existing crate must be of its service's kind
//! (a base service named like a renamed auth service would otherwise reuse the old auth crate).

use std::path::Path;

use toml_edit::DocumentMut;

use crate::config::{ConfigError, JsonPath, ServiceKind, StackrConfig};

/// `label` and `text` are the config's, to locate errors.
pub fn check(
    root: &Path,
    config: &StackrConfig,
    label: &Path,
    text: &str,
) -> Result<(), ConfigError> {
    let error = |path: JsonPath, message: String, help: String| {
        ConfigError::at_path(label, text, path, message, help)
    };
    for (index, service) in config.services.iter().enumerate() {
        let Some(found) = crate_kind(&root.join("services").join(&service.name)) else {
            continue;
        };
        if found != service.kind {
            let (crate_kind, dependency) = match found {
                ServiceKind::Auth => ("an auth service's", "stackr-auth"),
                ServiceKind::Base => ("a base service's", "stackr-kit"),
            };
            let kind = match service.kind {
                ServiceKind::Auth => "the auth service",
                ServiceKind::Base => "a base service",
            };
            return Err(error(
                JsonPath::service(index).key("name"),
                format!(
                    "`services/{name}` is {crate_kind} crate (it depends on {dependency}), but `{name}` is {kind} here",
                    name = service.name
                ),
                format!(
                    "give the service another name, or move the old crate out of `services/{}`",
                    service.name
                ),
            ));
        }
    }
    // Only service crates (on stackr-auth or stackr-kit) count: a library of the user's own
    // under services/ is not a forgotten service.
    for name in workspace_service_crates(root) {
        // Configured services were checked above; only the others' manifests need reading.
        if config.services.iter().any(|s| s.name == name) {
            continue;
        }
        if crate_kind(&root.join("services").join(&name)).is_some() {
            return Err(error(
                JsonPath::root().key("services"),
                format!("`services/{name}` is a workspace member in Cargo.toml, but no service is named `{name}`"),
                format!("add `{name}` back to `services`; to drop it, remove `services/{name}` from the members in Cargo.toml and delete the folder"),
            ));
        }
    }
    Ok(())
}

/// Names of the crates the root manifest lists under `services/` (explicitly or by `services/*`).
fn workspace_service_crates(root: &Path) -> Vec<String> {
    let Some(manifest) = read_toml(&root.join("Cargo.toml")) else {
        return Vec::new();
    };
    let members: Vec<String> = manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut names = Vec::new();
    for member in members {
        if member == "services/*" {
            let crates = std::fs::read_dir(root.join("services"))
                .into_iter()
                .flatten();
            names.extend(
                crates
                    .flatten()
                    .filter(|entry| entry.path().join("Cargo.toml").is_file())
                    .filter_map(|entry| entry.file_name().to_str().map(str::to_owned)),
            );
        } else if let Some(name) = member.strip_prefix("services/") {
            names.push(name.trim_end_matches('/').to_owned());
        }
    }
    names
}

/// The kind of service a crate folder holds, judged by which runtime crate it depends on.
fn crate_kind(dir: &Path) -> Option<ServiceKind> {
    let manifest = read_toml(&dir.join("Cargo.toml"))?;
    let dependencies = manifest.get("dependencies")?.as_table_like()?;
    match (
        dependencies.contains_key("stackr-auth"),
        dependencies.contains_key("stackr-kit"),
    ) {
        (true, false) => Some(ServiceKind::Auth),
        (false, true) => Some(ServiceKind::Base),
        _ => None,
    }
}

/// A link is not read (a repository can carry one to any file on the machine): the names found
/// in a manifest end up in error messages.
fn read_toml(path: &Path) -> Option<DocumentMut> {
    stackr_plan::regular_file::read_to_string_unlinked(path)
        .ok()?
        .parse()
        .ok()
}
