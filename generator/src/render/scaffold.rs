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
    package: &'a str,
    api_bin: &'a str,
    worker_bin: Option<&'a str>,
    port: u16,
    runtime: &'a RuntimeDeps,
}

/// The crate of one service under `services/<name>/`.
pub fn service_crate(plan: &Plan, service: &ServicePlan) -> Result<Vec<RenderedFile>> {
    let context = ServiceContext {
        name: &service.name,
        kind: service.kind,
        is_auth: service.is_auth,
        middleware: service.middleware,
        package: &service.package,
        api_bin: &service.api_bin,
        worker_bin: service.worker_bin.as_deref(),
        port: service.port,
        runtime: &plan.runtime,
    };
    let dir = format!("services/{}", service.name);
    let mut files = vec![
        RenderedFile::new(
            format!("{dir}/Cargo.toml"),
            engine::render("scaffold/service/Cargo.toml.tera", &context)?,
        ),
        RenderedFile::new(
            format!("{dir}/src/bin/api.rs"),
            engine::render("scaffold/service/src/bin/api.rs.tera", &context)?,
        ),
    ];
    if service.worker_bin.is_some() {
        files.push(RenderedFile::new(
            format!("{dir}/src/bin/worker.rs"),
            engine::render("scaffold/service/src/bin/worker.rs.tera", &context)?,
        ));
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
