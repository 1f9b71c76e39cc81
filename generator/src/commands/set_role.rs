//! `stackr set-role EMAIL ROLE`: gives a user of the dev stack a role (how the first admin is
//! made). It runs the project's own auth binary, built by cargo, with the auth API's dev
//! environment from the plan, so the command reaches the dev database `stackr dev` runs and accepts
//! exactly the roles the config declares.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

use crate::project::load_project;
use crate::UsageError;

pub fn run(root: &Path, email: &str, role: &str) -> Result<ExitCode> {
    let project = load_project(root)?;
    let plan = &project.plan;
    let auth = plan
        .auth
        .as_ref()
        .and_then(|name| plan.services.iter().find(|s| &s.name == name))
        .ok_or_else(|| {
            UsageError::new(
                "this stack has no auth service, so it has no users to give roles to",
                "add a service with `\"kind\": \"auth\"` to stackr.config.json",
            )
        })?;
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .current_dir(root)
        .args(["run", "--quiet", "--package", &auth.package, "--bin"])
        .arg(&auth.api_bin)
        .args(["--", "set-role", email, role])
        .envs(auth.api_env.iter().map(|e| (&e.name, &e.value)));
    let status = command
        .status()
        .context("cannot run cargo to build and run the auth binary (is cargo on PATH?)")?;
    if status.success() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "error: `{} set-role` failed (above); the dev stack's PostgreSQL must be running (`stackr dev`) and the user must have signed up",
        auth.api_bin
    );
    Ok(ExitCode::FAILURE)
}
