//! Every template under `templates/`, each bound to the one context type it is rendered with: a
//! renderer builds that context and calls the template's `render`, so rendering a template with
//! another template's context does not compile.

use super::engine::Template;
use super::{agents, nix_dev, nix_packages, nix_stackr, nix_vm_test, process_compose, scaffold};
use crate::plan::placement::FleetPlan;

/// Declares one `Template` constant per template, and [`SOURCES`], the text of every template
/// (embedded, so `stackr` needs no files at run time).
macro_rules! templates {
    ($($handle:ident: $context:ty = $path:literal;)*) => {
        $(
            #[doc = concat!("`templates/", $path, "`.")]
            pub(super) const $handle: Template<$context> = Template::new($path);
        )*
        /// (name, source) of every template, in the order they are declared.
        pub(super) const SOURCES: &[(&str, &str)] = &[$(
            ($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../templates/", $path))),
        )*];
    };
}

templates! {
    PROCESS_COMPOSE: process_compose::Context<'static> = "process-compose.yaml.tera";
    NIX_STACKR: nix_stackr::Context<'static> = "nix/stackr.nix.tera";
    NIX_FLEET: FleetPlan = "nix/fleet.nix.tera";
    NIX_PACKAGES: nix_packages::Context<'static> = "nix/packages.nix.tera";
    NIX_VM_TEST: nix_vm_test::Context<'static> = "nix/vm-test.nix.tera";
    NIX_DEV: nix_dev::Context<'static> = "nix/dev.nix.tera";
    AGENTS: agents::Context<'static> = "AGENTS.md.tera";
    PROJECT_FLAKE: scaffold::ProjectContext<'static> = "scaffold/project/flake.nix.tera";
    PROJECT_CARGO_TOML: scaffold::ProjectContext<'static> = "scaffold/project/Cargo.toml.tera";
    PROJECT_GITIGNORE: scaffold::ProjectContext<'static> = "scaffold/project/gitignore.tera";
    SERVICE_CARGO_TOML: scaffold::ServiceContext<'static> = "scaffold/service/Cargo.toml.tera";
    SERVICE_MAIN: scaffold::ServiceContext<'static> = "scaffold/service/src/main.rs.tera";
    AUTH_MAIN: scaffold::ServiceContext<'static> = "scaffold/service/src/auth_main.rs.tera";
    SERVICE_DOMAIN: scaffold::ServiceContext<'static> = "scaffold/service/src/domain/mod.rs.tera";
    SERVICE_DOMAIN_UNGUARDED: scaffold::ServiceContext<'static> =
        "scaffold/service/src/domain/mod_unguarded.rs.tera";
    SERVICE_MIGRATION: scaffold::ServiceContext<'static> =
        "scaffold/service/migrations/0001_init.sql.tera";
    SERVICE_CALLS: scaffold::ServiceContext<'static> = "scaffold/service/src/domain/calls.rs.tera";
    SERVICE_JOBS: scaffold::ServiceContext<'static> = "scaffold/service/src/domain/jobs.rs.tera";
    SERVICE_JOB_NAMES: scaffold::ServiceContext<'static> = "scaffold/service/src/job_names.rs.tera";
    SERVICE_WORKER: scaffold::ServiceContext<'static> = "scaffold/service/src/bin/worker.rs.tera";
    SERVICE_API_TEST: scaffold::ServiceContext<'static> = "scaffold/service/tests/api.rs.tera";
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every `.tera` file under `templates/`, relative to it.
    fn template_files(dir: &Path, root: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                template_files(&path, root, found);
            } else if path.extension().is_some_and(|e| e == "tera") {
                let relative = path.strip_prefix(root).unwrap();
                found.push(relative.to_str().unwrap().to_owned());
            }
        }
    }

    /// A template file without a handle could not be rendered; a handle without a file does not
    /// compile (`include_str!`).
    #[test]
    fn every_template_file_has_one_handle() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates");
        let mut files = Vec::new();
        template_files(&root, &root, &mut files);
        files.sort();
        let mut declared: Vec<String> = super::SOURCES.iter().map(|(n, _)| n.to_string()).collect();
        declared.sort();
        assert_eq!(declared, files);
    }
}
