//! User-owned files: written once (by `stackr init` / `stackr add service`), never overwritten.

use anyhow::Result;
use serde::Serialize;

use super::engine::Template;
use super::templates;
use super::RenderedFile;
use crate::model::{AuthMiddleware, ServiceKind};
use crate::plan::{Plan, RuntimeDeps, ServicePlan};

#[derive(Serialize)]
pub(super) struct ServiceContext<'a> {
    name: &'a str,
    kind: ServiceKind,
    is_auth: bool,
    middleware: Option<AuthMiddleware>,
    /// `stackr_kit::Flavor` variant of the guard.
    flavor_variant: &'static str,
    /// The roles as Rust string literals: `"a", "b"`.
    roles_literal: String,
    /// [`crate::plan::GuardSpec::is_guarded`]: the example routes ask who calls.
    guarded: bool,
    /// [`crate::plan::GuardSpec::provisioning`].
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
    let spec = plan.guard_spec(service);
    let guarded = spec.is_guarded();
    let context = ServiceContext {
        name: &service.name,
        kind: service.kind,
        is_auth: service.is_auth(),
        middleware: service.middleware,
        flavor_variant: match spec.flavor {
            AuthMiddleware::RoleGated => "RoleGated",
            AuthMiddleware::Flexible => "Flexible",
            AuthMiddleware::None => "None",
            AuthMiddleware::Standard => "Standard",
        },
        roles_literal: spec
            .roles
            .iter()
            .map(|r| format!("{r:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        provisioning: spec.provisioning,
        guarded,
        package: &service.package,
        api_bin: &service.api_bin,
        worker_bin: service.worker_bin.as_deref(),
        runtime: &plan.runtime,
        kit_for_tests: with_feature(&plan.runtime.kit, "testing"),
    };
    let dir = crate::project::service_crate_dir(&service.name);
    let file = |path: &str, template: Template<ServiceContext<'_>>| -> Result<RenderedFile> {
        Ok(RenderedFile::new(
            format!("{dir}/{path}"),
            template.render(&context)?,
        ))
    };
    let mut files = vec![file("Cargo.toml", templates::SERVICE_CARGO_TOML)?];
    if service.is_auth() {
        files.push(file("src/main.rs", templates::AUTH_MAIN)?);
    } else {
        files.push(file("src/main.rs", templates::SERVICE_MAIN)?);
        // Without a guard the example routes cannot ask who calls: they use no identity.
        let domain = if guarded {
            templates::SERVICE_DOMAIN
        } else {
            templates::SERVICE_DOMAIN_UNGUARDED
        };
        files.push(file("src/domain/mod.rs", domain)?);
        // Calling another service as the user needs a user: only guarded services show it.
        if guarded {
            files.push(file("src/domain/calls.rs", templates::SERVICE_CALLS)?);
        }
        if service.worker_bin.is_some() {
            files.push(file("src/domain/jobs.rs", templates::SERVICE_JOBS)?);
        }
        files.push(file(
            "migrations/0001_init.sql",
            templates::SERVICE_MIGRATION,
        )?);
        files.push(file("tests/api.rs", templates::SERVICE_API_TEST)?);
    }
    if service.worker_bin.is_some() {
        files.push(file("src/bin/worker.rs", templates::SERVICE_WORKER)?);
        files.push(file("src/job_names.rs", templates::SERVICE_JOB_NAMES)?);
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
pub(super) struct Member<'a> {
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
pub(super) struct ProjectContext<'a> {
    project: &'a str,
    state_dir: &'a str,
    services: Vec<Member<'a>>,
    /// `[profile.dev.package.NAME] opt-level`, as the stackr workspace has them.
    optimized: Vec<Optimized>,
    /// How the folders of a stopped command's writes begin (git-ignored).
    staging_prefix: &'static str,
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
        staging_prefix: crate::write::STAGING_PREFIX,
    };
    Ok(vec![
        RenderedFile::new("flake.nix", templates::PROJECT_FLAKE.render(&context)?),
        RenderedFile::new(
            "Cargo.toml",
            templates::PROJECT_CARGO_TOML.render(&context)?,
        ),
        RenderedFile::new(".gitignore", templates::PROJECT_GITIGNORE.render(&context)?),
    ])
}
