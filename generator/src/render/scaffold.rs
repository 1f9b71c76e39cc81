//! User-owned files: written once (by `stackr init` / `stackr add service`), never overwritten.

use anyhow::Result;
use serde::Serialize;

use super::{engine, RenderedFile};
use crate::plan::{Plan, RuntimeDeps, ServicePlan};

#[derive(Serialize)]
struct ServiceContext<'a> {
    name: &'a str,
    kind: &'a str,
    is_auth: bool,
    middleware: Option<&'a str>,
    /// `stackr_kit::Flavor` variant of the guard.
    flavor_variant: &'static str,
    /// The roles as Rust string literals: `"a", "b"`.
    roles_literal: String,
    /// Whether requests pass an auth guard (a flavor other than `none`, and an auth service).
    guarded: bool,
    /// Whether the guard provisions the user's record on first call (and tells auth).
    provisioning: bool,
    package: &'a str,
    api_bin: &'a str,
    worker_bin: Option<&'a str>,
    runtime: &'a RuntimeDeps,
}

/// The crate of one service under `services/<name>/`. Base services follow stackr-kit's
/// scaffold (runtime/kit/SCAFFOLD.md); the auth service is a thin main over `stackr-auth`.
pub fn service_crate(plan: &Plan, service: &ServicePlan) -> Result<Vec<RenderedFile>> {
    let guarded = service.middleware.is_some_and(|m| m != "none") && plan.auth.is_some();
    let context = ServiceContext {
        name: &service.name,
        kind: service.kind,
        is_auth: service.is_auth,
        middleware: service.middleware,
        flavor_variant: match service.middleware {
            Some("role-gated") => "RoleGated",
            Some("flexible") => "Flexible",
            Some("none") => "None",
            _ => "Standard",
        },
        roles_literal: service
            .roles
            .iter()
            .map(|r| format!("{r:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        // Every guarded base service is one of auth's provisioning targets (it holds a
        // credential and appears in AUTH_PROVISION_SERVICES), so each one provisions.
        provisioning: guarded,
        guarded,
        package: &service.package,
        api_bin: &service.api_bin,
        worker_bin: service.worker_bin.as_deref(),
        runtime: &plan.runtime,
    };
    let dir = format!("services/{}", service.name);
    let file = |path: &str, template: &str| -> Result<RenderedFile> {
        Ok(RenderedFile::new(
            format!("{dir}/{path}"),
            engine::render(template, &context)?,
        ))
    };
    let mut files = vec![file("Cargo.toml", "scaffold/service/Cargo.toml.tera")?];
    if service.is_auth {
        files.push(file(
            "src/main.rs",
            "scaffold/service/src/auth_main.rs.tera",
        )?);
    } else {
        files.push(file("src/main.rs", "scaffold/service/src/main.rs.tera")?);
        // Without a guard the example routes cannot ask who calls: they use no identity.
        let domain = if guarded {
            "scaffold/service/src/domain/mod.rs.tera"
        } else {
            "scaffold/service/src/domain/mod_unguarded.rs.tera"
        };
        files.push(file("src/domain/mod.rs", domain)?);
        files.push(file(
            "migrations/0001_init.sql",
            "scaffold/service/migrations/0001_init.sql.tera",
        )?);
    }
    if service.worker_bin.is_some() {
        files.push(file(
            "src/bin/worker.rs",
            "scaffold/service/src/bin/worker.rs.tera",
        )?);
    }
    Ok(files)
}

#[derive(Serialize)]
struct Member<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct ProjectContext<'a> {
    project: &'a str,
    state_dir: &'a str,
    services: Vec<Member<'a>>,
}

/// `flake.nix`, root `Cargo.toml` and `.gitignore` of a new project.
pub fn project_files(plan: &Plan) -> Result<Vec<RenderedFile>> {
    let context = ProjectContext {
        project: &plan.project,
        state_dir: &plan.state_dir,
        services: plan
            .services
            .iter()
            .map(|s| Member { name: &s.name })
            .collect(),
    };
    Ok(vec![
        RenderedFile::new(
            "flake.nix",
            engine::render("scaffold/project/flake.nix.tera", &context)?,
        ),
        RenderedFile::new(
            "Cargo.toml",
            engine::render("scaffold/project/Cargo.toml.tera", &context)?,
        ),
        RenderedFile::new(
            ".gitignore",
            engine::render("scaffold/project/gitignore.tera", &context)?,
        ),
    ])
}
