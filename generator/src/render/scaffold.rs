//! User-owned files: written once (by `stackr init` / `stackr add service`), never overwritten.

use anyhow::Result;
use serde::Serialize;

use super::{engine, RenderedFile};
use crate::model::{AuthMiddleware, ServiceKind};
use crate::plan::{Plan, RuntimeDeps, ServicePlan};

#[derive(Serialize)]
struct ServiceContext<'a> {
    name: &'a str,
    kind: ServiceKind,
    is_auth: bool,
    middleware: Option<AuthMiddleware>,
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
    /// The `stackr-kit` dependency with its `testing` feature, for the service's own tests.
    kit_for_tests: String,
}

/// The crate of one service under `services/<name>/`. Base services follow stackr-kit's
/// scaffold (runtime/kit/SCAFFOLD.md); the auth service is a thin main over `stackr-auth`.
pub fn service_crate(plan: &Plan, service: &ServicePlan) -> Result<Vec<RenderedFile>> {
    let guarded = service
        .middleware
        .is_some_and(|m| m != AuthMiddleware::None)
        && plan.auth.is_some();
    let context = ServiceContext {
        name: &service.name,
        kind: service.kind,
        is_auth: service.is_auth,
        middleware: service.middleware,
        flavor_variant: match service.middleware.unwrap_or_default() {
            AuthMiddleware::RoleGated => "RoleGated",
            AuthMiddleware::Flexible => "Flexible",
            AuthMiddleware::None => "None",
            AuthMiddleware::Standard => "Standard",
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
        kit_for_tests: with_feature(&plan.runtime.kit, "testing"),
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
        // Calling another service as the user needs a user: only guarded services show it.
        if guarded {
            files.push(file(
                "src/domain/calls.rs",
                "scaffold/service/src/domain/calls.rs.tera",
            )?);
        }
        if service.worker_bin.is_some() {
            files.push(file(
                "src/domain/jobs.rs",
                "scaffold/service/src/domain/jobs.rs.tera",
            )?);
        }
        files.push(file(
            "migrations/0001_init.sql",
            "scaffold/service/migrations/0001_init.sql.tera",
        )?);
        files.push(file("tests/api.rs", "scaffold/service/tests/api.rs.tera")?);
    }
    if service.worker_bin.is_some() {
        files.push(file(
            "src/bin/worker.rs",
            "scaffold/service/src/bin/worker.rs.tera",
        )?);
        files.push(file(
            "src/job_names.rs",
            "scaffold/service/src/job_names.rs.tera",
        )?);
    }
    Ok(files)
}

/// A dependency spec (`"=1.0"` or an inline table) with `feature` turned on.
fn with_feature(spec: &str, feature: &str) -> String {
    let features = format!("features = [\"{feature}\"]");
    match spec.strip_suffix('}') {
        Some(table) => format!("{}, {features} }}", table.trim_end()),
        None => format!("{{ version = {spec}, {features} }}"),
    }
}

#[derive(Serialize)]
struct Member<'a> {
    name: &'a str,
}

#[cfg(test)]
mod tests {
    use super::with_feature;

    #[test]
    fn a_feature_joins_any_dependency_spec() {
        assert_eq!(
            with_feature(r#"{ path = "../../stackr-runtime/kit" }"#, "testing"),
            r#"{ path = "../../stackr-runtime/kit", features = ["testing"] }"#
        );
        assert_eq!(
            with_feature(r#""=0.1.0""#, "testing"),
            r#"{ version = "=0.1.0", features = ["testing"] }"#
        );
    }
}

#[derive(Serialize)]
struct ProjectContext<'a> {
    project: &'a str,
    state_dir: &'a str,
    services: Vec<Member<'a>>,
    /// `[profile.dev.package.NAME] opt-level`, as the stackr workspace has them.
    optimized: Vec<Optimized>,
}

#[derive(Serialize)]
struct Optimized {
    name: String,
    opt_level: i64,
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
        optimized: crate::runtime_sources::optimized_dev_packages()?
            .into_iter()
            .map(|(name, opt_level)| Optimized { name, opt_level })
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
