//! `stackr init NAME`: a new project folder with config, schema, flake, workspace, service crates
//! and every generated file, written in one atomic commit.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::add_service::guard_of;
use super::prompt;
use crate::config::{
    AuthMiddleware, RuntimeSource, ServiceConfig, ServiceKind, StackrConfig, CONFIG_FILE,
    SCHEMA_FILE,
};
use crate::model::{check_name, next_free_base_port, AUTH_ADMIN_PORT, AUTH_PORT};
use crate::plan::plan;
use crate::project::{add_files, check_config_text, config_text, vendored_runtime};
use crate::render::{record, render_generated, scaffold};
use crate::runtime_sources;
use crate::write::{commit, Changeset};
use crate::UsageError;
use stackr_supervisor::io_advice::advised_outside_project;

/// Base services of a project created with `--defaults`.
pub const DEFAULT_SERVICES: &[&str] = &["core"];

pub struct InitOptions {
    /// Folder to create; its last component is the project name.
    pub path: String,
    pub defaults: bool,
    pub with_services: Option<Vec<String>>,
    pub no_auth: bool,
    /// Guard flavor per base service (`--auth-middleware SERVICE=FLAVOR`).
    pub middleware: Vec<(String, AuthMiddleware)>,
    /// Roles per base service (`--roles SERVICE=ROLE,ROLE`).
    pub roles: Vec<(String, Vec<String>)>,
}

pub fn run(parent: &Path, options: &InitOptions) -> Result<ExitCode> {
    // Without `.` components: the project is renamed into place, and a rename to `shop/.` fails.
    let dir: std::path::PathBuf = parent.join(&options.path).components().collect();
    // `.`, `..` and `/` end in no folder of their own, which the project would be made as.
    let Some(name) = dir.file_name() else {
        return Err(UsageError::new(
            format!(
                "`{}` names no folder: `stackr init` makes the project as a new folder, named after the project",
                options.path
            ),
            "give the folder's name, e.g. `stackr init shop` (an empty folder that exists is filled too: run it from the folder above)",
        )
        .into());
    };
    let name = name.to_str().unwrap_or_default().to_owned();
    check_name(&name).map_err(|why| {
        UsageError::new(
            format!("invalid project name: {why}"),
            "name the project folder like `my-stack`",
        )
    })?;
    // The project is renamed into place, which replaces an empty folder but not a link (to one,
    // or to nothing).
    if dir.is_symlink() {
        let target = std::fs::read_link(&dir).unwrap_or_default();
        return Err(UsageError::new(
            format!(
                "{} is a symbolic link (to {}): `stackr init` makes the project as a folder in its place",
                dir.display(),
                target.display()
            ),
            "give the path of the folder itself, or remove the link",
        )
        .into());
    }
    if dir.exists() && !dir.is_dir() {
        return Err(UsageError::new(
            format!("{} already exists and is not a folder", dir.display()),
            "choose a new folder name, or remove the file",
        )
        .into());
    }
    if dir.exists() && dir.read_dir().map_or(true, |mut d| d.next().is_some()) {
        return Err(UsageError::new(
            format!("{} already exists and is not empty", dir.display()),
            "choose a new folder name, or remove the folder",
        )
        .into());
    }
    let interactive = !options.defaults && prompt::interactive();
    let services = match &options.with_services {
        Some(list) => list.clone(),
        None if interactive => prompt::ask_services(&mut prompt::Terminal, DEFAULT_SERVICES)?,
        None => DEFAULT_SERVICES
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
    };
    let mut config = initial_config(&name, &services, !options.no_auth);
    let mut middleware = options.middleware.clone();
    let mut roles = options.roles.clone();
    if interactive && !options.no_auth {
        // Ask only about the services no flag already set.
        for service in &services {
            let flagged = middleware.iter().any(|(s, _)| s == service)
                || roles.iter().any(|(s, _)| s == service);
            if !flagged {
                let (flavor, its_roles) = prompt::ask_guard(&mut prompt::Terminal, service)?;
                middleware.push((service.clone(), flavor));
                roles.push((service.clone(), its_roles));
            }
        }
    }
    set_guards(&mut config, !options.no_auth, &middleware, &roles)?;
    let text = config_text(&config);
    let (_, model) = check_config_text(Path::new(CONFIG_FILE), &text)
        .map_err(|err| UsageError::new(err.message, err.help))?;
    let plan = plan(&model);

    let mut changes = Changeset::default();
    changes.add(CONFIG_FILE, text);
    add_files(&mut changes, scaffold::project_files(&plan)?);
    for service in &plan.services {
        add_files(&mut changes, scaffold::service_crate(&plan, service)?);
    }
    let mut owned = vendored_runtime(&plan)?;
    owned.extend(render_generated(&plan)?);
    add_files(&mut changes, record::with_record(owned));

    make_whole(&dir, &name, &changes)?;
    if !crate::git_repository::start(&dir)? {
        eprintln!(
            "warning: git is not installed, so {} is not a git repository: a flake command (`nix run .#dev`) copies the whole folder into the Nix store, where every local user can read it, {}/ (dev secrets, databases) included. Install git and run `git init && git add -A` there first.",
            dir.display(),
            plan.state_dir
        );
    }
    println!(
        "created {} with services: {}",
        dir.display(),
        plan.services
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "next: cd {} && cargo build && nix run .#dev   (or `stackr dev`)",
        // Relative to where the user is, `-C DIR` included; `./` adds nothing.
        dir.strip_prefix(".").unwrap_or(&dir).display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The config `init` writes: auth (unless `with_auth` is false) and one base service per name,
/// with explicit ports so the file documents them.
pub fn initial_config(name: &str, services: &[String], with_auth: bool) -> StackrConfig {
    let mut config = StackrConfig {
        schema: Some(format!("./{SCHEMA_FILE}")),
        name: name.to_owned(),
        state_dir: stackr_plan::config::default_state_dir(),
        runtime: RuntimeSource {
            vendored: Some(runtime_sources::VERSION.to_owned()),
            ..RuntimeSource::default()
        },
        dev: Default::default(),
        deploy: Default::default(),
        services: Vec::new(),
        placement: None,
    };
    if with_auth {
        let mut auth = ServiceConfig::named("auth", ServiceKind::Auth);
        auth.port = Some(AUTH_PORT);
        auth.admin_port = Some(AUTH_ADMIN_PORT);
        config.services.push(auth);
    }
    for service in services {
        let mut base = ServiceConfig::named(service, ServiceKind::Base);
        base.port = Some(next_free_base_port(&config));
        base.auth_middleware = Some(if with_auth {
            AuthMiddleware::Standard
        } else {
            AuthMiddleware::None
        });
        config.services.push(base);
    }
    config
}

/// Applies `--auth-middleware` and `--roles` to the base services being created, with the
/// defaults `add service` uses.
fn set_guards(
    config: &mut StackrConfig,
    with_auth: bool,
    middleware: &[(String, AuthMiddleware)],
    roles: &[(String, Vec<String>)],
) -> Result<()> {
    let names: Vec<String> = config
        .services
        .iter()
        .filter(|s| s.kind == ServiceKind::Base)
        .map(|s| s.name.clone())
        .collect();
    let named = middleware
        .iter()
        .map(|(service, _)| ("--auth-middleware", service))
        .chain(roles.iter().map(|(service, _)| ("--roles", service)));
    for (flag, service) in named {
        if !names.contains(service) {
            return Err(UsageError::new(
                format!("{flag} names `{service}`, which is not a base service of this project"),
                format!("name one of: {}", names.join(", ")),
            )
            .into());
        }
    }
    for service in config
        .services
        .iter_mut()
        .filter(|s| s.kind == ServiceKind::Base)
    {
        let asked = middleware
            .iter()
            .rev()
            .find(|(name, _)| *name == service.name)
            .map(|(_, flavor)| *flavor);
        let its_roles: Vec<String> = roles
            .iter()
            .filter(|(name, _)| *name == service.name)
            .flat_map(|(_, roles)| roles.iter().cloned())
            .collect();
        let guard = guard_of(&service.name, with_auth, asked, &its_roles).map_err(|no_roles| {
            UsageError::new(
                no_roles.0,
                format!(
                    "name the roles it lets through with `--roles {}=finance,audit`",
                    service.name
                ),
            )
        })?;
        service.auth_middleware = Some(guard);
        service.roles = its_roles;
    }
    Ok(())
}

/// `a, b,,c` -> [a, b, c].
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Writes the project `changes` into `dir` (absent or empty) whole or not at all: made in a
/// hidden folder beside it, which then takes its place in one rename. A killed `init` leaves
/// only that hidden folder (`.<name>.stackr-init-*`), never a half project under the name.
fn make_whole(dir: &Path, name: &str, changes: &Changeset) -> Result<()> {
    let beside = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A folder the user may not write in, or a full disk, is named with what to check there.
    let in_beside = |err, doing: String| advised_outside_project(err, doing, beside);
    std::fs::create_dir_all(beside)
        .map_err(|err| in_beside(err, format!("creating {}", beside.display())))?;
    let building = tempfile::Builder::new()
        .prefix(&format!(".{name}.stackr-init-"))
        .tempdir_in(beside)
        .map_err(|err| in_beside(err, format!("creating a folder in {}", beside.display())))?;
    commit(building.path(), changes)?;
    // The temporary folder is private: give the project the mode of the empty folder it replaces,
    // or the one `mkdir` would give it.
    let mode = match std::fs::metadata(dir) {
        Ok(existing) => existing.permissions().mode() & 0o7777,
        Err(_) => 0o777 & !current_umask(),
    };
    std::fs::set_permissions(building.path(), std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", building.path().display()))?;
    std::fs::rename(building.path(), dir)
        .map_err(|err| in_beside(err, format!("moving the new project to {}", dir.display())))?;
    // Renamed away: nothing left for the temporary folder's cleanup to remove.
    let _ = building.keep();
    Ok(())
}

/// The process's file mode creation mask.
fn current_umask() -> u32 {
    // SAFETY: umask only swaps the process's mask; it is set back at once (no thread of this
    // command creates files meanwhile).
    let mask = unsafe { libc::umask(0o022) };
    unsafe { libc::umask(mask) };
    mask
}
