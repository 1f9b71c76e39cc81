//! `stackr dev`: the stack of this project, with the state folder its config names, refused
//! while generated files have drifted from the config (they would run an outdated stack);
//! `--only` starts some services (by name) with what they need.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::config::CONFIG_FILE;
use crate::plan::{Plan, ServicePlan};
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
            "run stackr from a project's root (or pass -C DIR), or create a project with `stackr init NAME`",
        )
        .into());
    }
    let mut dev = args.into_options(root);
    // A bare process-compose file (no stackr project around it) keeps the supervisor's defaults.
    if root.join(CONFIG_FILE).is_file() {
        let project = load_project(root)?;
        if !given_state_dir {
            dev.state_dir = root.join(&project.plan.state_dir);
        }
        dev.ports = project.plan.dev_ports();
        if !dev.only.is_empty() {
            let services = only_services(&project.plan, &dev.only)?;
            dev.ports = services.iter().flat_map(|s| s.dev_ports()).collect();
            dev.only = services
                .iter()
                .flat_map(|s| s.dev_programs())
                .map(str::to_owned)
                .collect();
        }
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

/// The services `--only` names, plus auth (every base service's API needs it), in the config's
/// order. Unknown names are a usage error listing the services there are.
fn only_services<'p>(plan: &'p Plan, names: &[String]) -> Result<Vec<&'p ServicePlan>> {
    let unknown: Vec<&str> = names
        .iter()
        .filter(|n| !plan.services.iter().any(|s| &s.name == *n))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
        return Err(crate::UsageError::new(
            format!(
                "--only: no service named {} in {CONFIG_FILE}",
                unknown.join(", ")
            ),
            format!("name services of this project: {}", known.join(", ")),
        )
        .into());
    }
    Ok(plan
        .services
        .iter()
        .filter(|s| s.is_auth || names.contains(&s.name))
        .collect())
}
