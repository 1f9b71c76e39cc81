//! The rules, one file each. A rule reads the loaded [`Project`] and appends to the report.

mod no_auth_tables_outside_auth;
mod no_cross_service_imports;
mod no_foreign_database;
mod no_trusted_identity_header;
mod no_unlisted_migration;

use std::path::Path;

use crate::finding::{Finding, LintReport};
use crate::project::Project;

pub struct Rule {
    pub name: &'static str,
    /// One line: why the rule exists (shown by `stackr lint --list`).
    pub rationale: &'static str,
    pub(crate) check: fn(&Project, &mut LintReport),
}

pub const RULES: &[Rule] = &[
    no_auth_tables_outside_auth::RULE,
    no_cross_service_imports::RULE,
    no_foreign_database::RULE,
    no_trusted_identity_header::RULE,
    no_unlisted_migration::RULE,
];

pub(crate) fn finding(
    rule: &'static str,
    file: &Path,
    (line, column): (usize, usize),
    message: String,
) -> Finding {
    Finding {
        rule,
        file: file.to_owned(),
        line,
        column,
        message,
    }
}
