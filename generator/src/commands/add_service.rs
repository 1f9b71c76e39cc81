//! `stackr add service NAME`: allocates a port, appends the service to the config, adds its crate
//! to the workspace (toml_edit), scaffolds it and regenerates, all in one atomic commit. Auth
//! picks the new service up as a provisioning target through the regenerated environment.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::generate::read_manifest;
use super::prompt;
use crate::config::{AuthMiddleware, ServiceConfig, ServiceKind, CONFIG_FILE};
use crate::model::{check_service_name, next_free_base_port};
use crate::plan::plan;
use crate::project::{
    check_config_text, commit_naming_overwritten_edits, config_text_with_service_added,
    load_project, regenerate,
};
use crate::UsageError;

pub struct AddServiceOptions {
    pub name: String,
    pub port: Option<u16>,
    pub middleware: Option<AuthMiddleware>,
    pub roles: Vec<String>,
    pub no_worker: bool,
}

/// A role-gated guard given no roles: only admins could call the service.
pub struct NoRoles(pub String);

/// The guard flavor of a new base service: the one asked for, else `role-gated` when it has
/// roles, `standard` with auth and `none` without. Role-gated without roles is refused.
pub fn guard_of(
    name: &str,
    has_auth: bool,
    asked: Option<AuthMiddleware>,
    roles: &[String],
) -> std::result::Result<AuthMiddleware, NoRoles> {
    let middleware = asked.unwrap_or(match (has_auth, roles.is_empty()) {
        (false, _) => AuthMiddleware::None,
        (true, true) => AuthMiddleware::Standard,
        (true, false) => AuthMiddleware::RoleGated,
    });
    if middleware == AuthMiddleware::RoleGated && roles.is_empty() {
        return Err(NoRoles(format!(
            "`{name}` would be role-gated with no roles, so only admins could call it"
        )));
    }
    Ok(middleware)
}

pub fn run(root: &Path, options: &AddServiceOptions) -> Result<ExitCode> {
    let project = load_project(root)?;
    let name = &options.name;
    check_service_name(name).map_err(|why| {
        UsageError::new(
            format!("invalid service name: {why}"),
            "use a lowercase name like `billing`",
        )
    })?;
    if project.config.services.iter().any(|s| &s.name == name) {
        return Err(UsageError::new(
            format!("the project already has a service named `{name}`"),
            "pick another name",
        )
        .into());
    }
    let crate_dir = crate::project::service_crate_dir(name);
    if root.join(&crate_dir).exists() {
        return Err(UsageError::new(
            format!("{crate_dir} already exists"),
            "remove or rename that folder first",
        )
        .into());
    }
    let has_auth = project.model.auth().is_some();
    let (asked, roles) = if has_auth
        && options.middleware.is_none()
        && options.roles.is_empty()
        && prompt::interactive()
    {
        let (flavor, roles) = prompt::ask_guard(&mut prompt::Terminal, name)?;
        (Some(flavor), roles)
    } else {
        (options.middleware, options.roles.clone())
    };
    let middleware = guard_of(name, has_auth, asked, &roles).map_err(|help| {
        UsageError::new(
            help.0,
            "name the roles it lets through with `--roles finance,audit`",
        )
    })?;
    let mut service = ServiceConfig::named(name, ServiceKind::Base);
    service.port = Some(
        options
            .port
            .unwrap_or_else(|| next_free_base_port(&project.config)),
    );
    service.auth_middleware = Some(middleware);
    service.roles = roles;
    service.worker = options.no_worker.then_some(false);

    let mut config = project.config.clone();
    config.services.push(service);
    // The user's file, with the service added to it (not rewritten: their layout and key order
    // stay).
    let (text, rewritten) = config_text_with_service_added(&project.text, &config);
    let label = format!("{CONFIG_FILE} (with `{name}` added)");
    let (_, model) = check_config_text(Path::new(&label), &text).map_err(|err| {
        // Without the line and column: they would point into a text not written anywhere.
        UsageError::new(
            format!("{label}: at `{}`: {}", err.path, err.message),
            err.help,
        )
    })?;
    // `stackr generate` makes a project from a config alone, without the workspace manifest
    // `stackr init` writes.
    let cargo_toml = read_manifest(root)?.ok_or_else(|| {
        UsageError::new(
            "the project has no root Cargo.toml, the workspace the new service's crate joins",
            "create Cargo.toml holding `[workspace]` and `members = []` (stackr registers every service in it), then run `stackr add service` again",
        )
    })?;
    let mut changes = regenerate(root, &plan(&model), Some(cargo_toml))?;
    changes.add(CONFIG_FILE, text);
    let written = commit_naming_overwritten_edits(root, &changes)?;
    let port = model.services.last().map(|s| s.port).unwrap_or_default();
    println!(
        "added service `{name}` (API port {port}, guard `{}`); wrote {} file(s)",
        middleware.as_str(),
        written.len()
    );
    if rewritten {
        println!("{CONFIG_FILE} was rewritten in stackr's own layout: the new service could not be added after the last one in yours");
    }
    // A running `stackr dev` keeps the stack it started with.
    println!("if `stackr dev` is running, stop it (Ctrl-C) and start it again to run `{name}`");
    Ok(ExitCode::SUCCESS)
}
