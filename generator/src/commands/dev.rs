//! `stackr dev`: the stack of this project, with the state folder its config names, refused
//! while generated files have drifted from the config (they would run an outdated stack);
//! `--only` starts some services (by name) with what they need.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::config::CONFIG_FILE;
use crate::plan::{dev_build, Plan, ServicePlan};
use crate::project::load_project;

/// `no_check`: start even when generated files differ from what the config generates.
pub fn run(root: &Path, args: stackr_supervisor::DevArgs, no_check: bool) -> Result<ExitCode> {
    let given_state_dir = args.state_dir.is_some();
    if !root.join(CONFIG_FILE).is_file() && !root.join(&args.file).is_file() {
        return Err(crate::UsageError::new(
            format!(
                "no {CONFIG_FILE} and no {} in {}: there is no stack to run here",
                args.file.display(),
                root.display()
            ),
            crate::config::project_above_hint(root).unwrap_or_else(|| {
                "run stackr from a project's root (or pass -C DIR), or create a project with `stackr init NAME`".to_owned()
            }),
        )
        .into());
    }
    let mut dev = args.into_options(root);
    // A bare process-compose file (no stackr project around it) keeps the supervisor's defaults.
    if root.join(CONFIG_FILE).is_file() {
        let project = load_project(root)?;
        crate::state_dir_unlinked::check(
            root,
            &[crate::plan::dev_secrets_dir(&project.plan.state_dir)],
            "the dev databases, Redis data and secrets (which `--reset` deletes)",
        )?;
        let configured = root.join(&project.plan.state_dir);
        // The generated commands keep their data in the configured folder: another one given
        // here would move only the lock and what --reset deletes.
        if given_state_dir && !stackr_supervisor::same_folder(&dev.state_dir, &configured) {
            return Err(crate::UsageError::new(
                format!(
                    "--state-dir {}: this project keeps its dev state in `{}`, the `stateDir` of {CONFIG_FILE}, which its generated commands use",
                    dev.state_dir.display(),
                    project.plan.state_dir
                ),
                format!("leave --state-dir out, or change `stateDir` in {CONFIG_FILE} and run `stackr generate`"),
            )
            .into());
        }
        dev.state_dir = configured;
        dev.reset_keeps = vec![crate::plan::placement::DEPLOY_SECRETS_FOLDER.to_owned()];
        dev.made_before_first_run = vec![crate::plan::DEV_SECRETS_FOLDER.to_owned()];
        let services: Vec<&ServicePlan> = if dev.only.is_empty() {
            project.plan.services.iter().collect()
        } else {
            let services = only_services(&project.plan, &dev.only)?;
            dev.only = services
                .iter()
                .flat_map(|s| s.dev_programs())
                .map(str::to_owned)
                .collect();
            dev.env.push((
                dev_build::PACKAGES_VAR.to_owned(),
                dev_build::packages_value(services.iter().map(|s| s.package.as_str())),
            ));
            // The started services still call the others at their API ports.
            dev.held_ports = project
                .plan
                .services
                .iter()
                .filter(|s| !services.iter().any(|started| started.name == s.name))
                .map(|s| (s.port, format!("the API of {}, left out by --only", s.name)))
                .collect();
            services
        };
        dev.ports = services.iter().flat_map(|s| s.dev_ports()).collect();
        dev.loopback_ports = services.iter().flat_map(|s| s.dev_store_ports()).collect();
        check_socket_paths(root, &services)?;
        super::dev_root_access::check(root)?;
        if let Some(dir) = super::dev_target_dir::for_the_stack(root) {
            dev.env.push((super::dev_target_dir::VAR.to_owned(), dir));
        }
        // Each API's ports stay the stack's while it builds or restarts: another local program
        // there would be sent the users' cookies (and, on auth's, the services' credential).
        dev.sockets = services
            .iter()
            .flat_map(|s| {
                s.dev_sockets()
                    .into_iter()
                    .map(|(name, address)| stackr_supervisor::HandedSocket {
                        process: s.api_bin.clone(),
                        name: name.to_owned(),
                        address,
                    })
            })
            .collect();
        dev.ready_banner = ready_banner(&services);
        if !no_check {
            let (drifted, _) = super::generate::drifted_files(root, &project.plan)?;
            if !drifted.is_empty() {
                super::generate::print_drift(
                    &format!(
                        "error: {} generated file(s) differ from {CONFIG_FILE}, so the stack would not be the one the config describes:",
                        drifted.len()
                    ),
                    &drifted,
                );
                eprintln!(
                    "run `stackr generate` first (or `stackr dev --no-check` to start anyway)"
                );
                return Ok(ExitCode::from(crate::cli::USAGE_EXIT));
            }
        }
    }
    stackr_supervisor::dev(&dev)
}

/// The longest path a Unix socket may have on Linux (`sun_path` holds 108 bytes, the last a NUL).
const UNIX_SOCKET_PATH_MAX: usize = 107;

/// Every dev server's socket, with the project's path before it, fits Linux's limit: a longer
/// one stops the server (PostgreSQL) or its clients (Redis's, which name it whole) at start,
/// with an error far from the cause. The processes run in the project's real folder.
fn check_socket_paths(root: &Path, services: &[&ServicePlan]) -> Result<()> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    for (socket, what) in services.iter().flat_map(|s| s.dev_unix_sockets()) {
        let path = root.join(&socket);
        let length = path.as_os_str().len();
        if length > UNIX_SOCKET_PATH_MAX {
            return Err(crate::UsageError::new(
                format!(
                    "the Unix socket of {what} would be {} ({length} bytes): Linux allows a socket path at most {UNIX_SOCKET_PATH_MAX}",
                    path.display()
                ),
                format!("move the project to a shorter path, or set a shorter `stateDir` in {CONFIG_FILE} and run `stackr generate`"),
            )
            .into());
        }
    }
    Ok(())
}

/// The services `--only` names, plus auth (every base service's API needs it), in the config's
/// order. Unknown or empty names are a usage error listing the services there are.
fn only_services<'p>(plan: &'p Plan, names: &[String]) -> Result<Vec<&'p ServicePlan>> {
    let known: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    let refused = |what: String| {
        crate::UsageError::new(
            format!("--only: {what}"),
            format!("name services of this project: {}", known.join(", ")),
        )
    };
    // `--only "core, wallet"` means core and wallet.
    let names: Vec<&str> = names.iter().map(|n| n.trim()).collect();
    if names.iter().any(|n| n.is_empty()) {
        let given = names.join(",");
        return Err(refused(format!("an empty service name in `{given}`")).into());
    }
    let unknown: Vec<String> = names
        .iter()
        .filter(|n| !known.contains(n))
        .map(|n| {
            let lowercase = n.to_lowercase();
            if known.contains(&lowercase.as_str()) {
                format!("`{n}` (did you mean `{lowercase}`?)")
            } else {
                format!("`{n}`")
            }
        })
        .collect();
    if !unknown.is_empty() {
        let unknown = unknown.join(", ");
        return Err(refused(format!("no service named {unknown} in {CONFIG_FILE}")).into());
    }
    Ok(plan
        .services
        .iter()
        .filter(|s| s.is_auth() || names.contains(&s.name.as_str()))
        .collect())
}

/// What to open once the stack is ready: each API (and auth's admin page and dev mailbox), and how
/// to stop.
fn ready_banner(services: &[&ServicePlan]) -> Vec<String> {
    let width = services.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut lines = Vec::new();
    for s in services {
        lines.push(format!("  {:<width$}  http://127.0.0.1:{}", s.name, s.port));
        if let Some(admin) = s.admin_port {
            lines.push(format!(
                "  {:<width$}  http://127.0.0.1:{admin}  (admin page)",
                ""
            ));
        }
        if let Some(mail) = s.api_env_value(stackr_contract::env::AUTH_MAIL_DIR) {
            lines.push(format!(
                "  {:<width$}  {mail}/  (dev mailbox: sign-up, reset and verification mails)",
                ""
            ));
        }
    }
    lines.push("Ctrl-C stops the stack.".to_owned());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_lists_each_api_the_admin_page_and_the_mailbox() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let project = load_project(&root).expect("the repository's demo project loads");
        let services: Vec<&ServicePlan> = project.plan.services.iter().collect();
        assert_eq!(
            ready_banner(&services),
            [
                "  auth    http://127.0.0.1:8888",
                "          http://127.0.0.1:3333  (admin page)",
                "          .stackr/mail/  (dev mailbox: sign-up, reset and verification mails)",
                "  core    http://127.0.0.1:8080",
                "  wallet  http://127.0.0.1:8081",
                "Ctrl-C stops the stack.",
            ]
        );
    }
}
