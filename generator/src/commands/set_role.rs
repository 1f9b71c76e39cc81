//! `stackr set-role EMAIL ROLE`: gives a user of the dev stack a role (how the first admin is
//! made). It runs the project's own auth binary, built by cargo, with the auth API's dev
//! environment from the plan, so the command reaches the dev database `stackr dev` runs and accepts
//! exactly the roles the config declares.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use stackr_contract::email::looks_like_email;
use stackr_contract::env::AUTH_ROLES;
use stackr_contract::roles::Roles;

use crate::project::load_project;
use crate::UsageError;

pub fn run(root: &Path, email: &str, role: &str) -> Result<ExitCode> {
    // Checked as auth checks them, before cargo builds auth (minutes on a fresh project) only
    // for it to refuse them; an address sign-up refuses belongs to no user.
    if !looks_like_email(email.trim()) {
        return Err(UsageError::new(
            format!("`{email}` is not an email address"),
            "give the address the user signed up with, e.g. `ada@example.com`",
        )
        .into());
    }
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
    // The roles auth reads from the environment it is run with.
    let declared = auth.api_env.iter().find(|e| e.name == AUTH_ROLES);
    let roles =
        Roles::parse(declared.map_or("", |e| e.value.as_str())).map_err(anyhow::Error::msg)?;
    if let Some(refused) = roles.first_refused(role) {
        let what = if role.trim().is_empty() {
            "no role given".to_owned()
        } else if refused.is_empty() {
            format!("`{role}` has an empty entry")
        } else {
            format!("`{refused}` is not a role this stack declares")
        };
        return Err(UsageError::new(
            format!("{what}; roles are {}", roles.describe()),
            "give one of them, or several as a comma list (e.g. `user,finance`); a `role-gated` service in stackr.config.json declares more",
        )
        .into());
    }
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
