//! `stackr-lint`: the architecture rules of a stackr project, made mechanical. The library
//! behind `stackr lint`.
//!
//! A project is `stackr.config.json` (its `services` list: `name`, `kind` `auth`|`base`, and the
//! `dev`/`deploy` port starts) plus one crate per service under `services/<name>/`. Every rule
//! in [`RULES`] reads the loaded project and reports [`Finding`]s with exact positions:
//!
//! - `no-auth-tables-outside-auth`, `no-cross-service-imports`, `no-foreign-database`,
//!   `no-trusted-identity-header`, `no-unlisted-migration` (see `stackr lint --list` for the
//!   rationale of each).
//!
//! Behaviour, decisions and limits are documented in the crate's README.md.
//!
//! Things the linter could not check (a Rust file or SQL statement that does not parse) are
//! [`Warning`]s: printed, but they do not fail the run on their own.

mod cli;
mod connection_strings;
mod env_reads;
mod finding;
mod identity_headers;
mod manifest_dependencies;
mod paths;
mod project;
mod rules;
mod rust_schema;
mod rust_source;
mod sql_tables;
mod text_position;

use std::path::Path;

use anyhow::Result;

pub use cli::{run, run_with, Args, OutputFormat, EXIT_CONFIG_ERROR, EXIT_FINDINGS};
pub use finding::{Finding, LintReport, Warning};
pub use project::CONFIG_FILE;
pub use rules::{Rule, RULES};

/// Lints the project at `root` and returns its findings, sorted by file and position.
/// Errors only when the project cannot be read at all (no or invalid `stackr.config.json`).
pub fn lint_project(root: &Path) -> Result<Vec<Finding>> {
    Ok(lint_project_report(root)?.findings)
}

/// The stack the lint runs on: parsing and walking Rust recurse once per level of nesting, and a
/// file nested [`rust_source::MAX_NESTING`] deep must fit (the main thread's 8 MiB do not, in a
/// debug build).
const STACK_BYTES: usize = 256 << 20;

/// Like [`lint_project`], with the warnings about what could not be checked.
pub fn lint_project_report(root: &Path) -> Result<LintReport> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("stackr-lint".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, || lint_on_this_thread(root))
            .map_err(|e| anyhow::anyhow!("cannot start the lint's thread: {e}"))?
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn lint_on_this_thread(root: &Path) -> Result<LintReport> {
    let (project, warnings) = project::Project::load(root)?;
    let mut report = LintReport {
        findings: Vec::new(),
        warnings,
    };
    for rule in RULES {
        (rule.check)(&project, &mut report);
    }
    Ok(report.finish())
}
