//! `no-auth-tables-outside-auth`: identity lives in the auth service's database only. A base
//! service that creates a `user`, `session`, `account` or `verification` table has started a
//! second source of truth for identity. Looked for in SQL migrations and in Rust schema code:
//! SQL inside string literals, ORM table attributes, diesel `table!` and sea-query `Iden` enums.

use super::{finding, Rule};
use crate::finding::{LintReport, Warning};
use crate::project::{Project, Service};
use crate::rust_schema::mapped_tables;
use crate::rust_source::RustFile;
use crate::sql_tables::{declared_tables, Declaration, DeclaredTable};

pub const RULE: Rule = Rule {
    name: NAME,
    rationale: "only the auth service owns user/session/account/verification; a second copy of identity data drifts and leaks",
    check,
};

const NAME: &str = "no-auth-tables-outside-auth";

/// BetterAuth's tables, which the auth service alone owns.
pub const IDENTITY_TABLES: [&str; 4] = ["user", "session", "account", "verification"];

fn is_identity_table(name: &str) -> bool {
    IDENTITY_TABLES.contains(&name.to_lowercase().as_str())
}

fn check(project: &Project, report: &mut LintReport) {
    let auth_name = project
        .services
        .iter()
        .find(|s| s.is_auth())
        .map_or_else(|| "auth".to_owned(), |s| s.name.clone());
    for service in project.services.iter().filter(|s| !s.is_auth()) {
        check_migrations(service, &auth_name, report);
        for file in &service.rust_files {
            check_rust(service, file, &auth_name, report);
        }
    }
}

fn explain(table: &DeclaredTable, service: &Service, auth_name: &str) -> String {
    let verb = match table.how {
        Declaration::Create => "creates",
        Declaration::RenameTo => "renames a table to",
    };
    format!(
        "base service `{}` {verb} identity table `{}`; only `{auth_name}` may own \
         user/session/account/verification: key this service's records by the user id the \
         stackr_kit guard returns",
        service.name, table.written
    )
}

fn check_migrations(service: &Service, auth_name: &str, report: &mut LintReport) {
    for file in &service.sql_files {
        match declared_tables(&file.text) {
            Ok(scan) => {
                for table in scan.tables.iter().filter(|t| is_identity_table(&t.table)) {
                    let message = explain(table, service, auth_name);
                    report.findings.push(finding(
                        NAME,
                        &file.path,
                        (table.line, table.column),
                        message,
                    ));
                }
                for statement in scan.unparsed {
                    report.warnings.push(Warning {
                        file: file.path.clone(),
                        line: statement.line,
                        column: statement.column,
                        message: format!(
                            "sqlparser could not parse this statement ({}); its table names were \
                             checked by a token scan only",
                            statement.error
                        ),
                    });
                }
            }
            // SQL PostgreSQL could not run either; refuse rather than wave it through unchecked.
            Err(unreadable) => report.findings.push(finding(
                NAME,
                &file.path,
                (unreadable.line, unreadable.column),
                format!(
                    "cannot read this migration ({}), so it cannot be shown to stay clear of \
                     identity tables; fix the SQL",
                    unreadable.error
                ),
            )),
        }
    }
}

fn check_rust(service: &Service, file: &RustFile, auth_name: &str, report: &mut LintReport) {
    let mut push = |at: (usize, usize), message: String| {
        report.findings.push(finding(NAME, &file.path, at, message));
    };
    // SQL embedded in Rust: `sqlx::query("CREATE TABLE …")`, refinery/barrel strings, …
    for literal in file.string_literals() {
        if !looks_like_table_ddl(&literal.value) {
            continue;
        }
        let Ok(scan) = declared_tables(&literal.value) else {
            continue;
        };
        for table in scan.tables.iter().filter(|t| is_identity_table(&t.table)) {
            push(
                literal.position_of_line_column(table.line, table.column),
                explain(table, service, auth_name),
            );
        }
    }
    for mapped in mapped_tables(file)
        .into_iter()
        .filter(|m| is_identity_table(&m.table))
    {
        let message = format!(
            "base service `{}` maps {} onto identity table `{}`; only `{auth_name}` may own \
             user/session/account/verification: ask auth (through the stackr_kit guard) instead",
            service.name, mapped.through, mapped.table
        );
        push((mapped.line, mapped.column), message);
    }
}

fn looks_like_table_ddl(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    upper.contains("TABLE") && (upper.contains("CREATE") || upper.contains("ALTER"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_tables_match_case_insensitively_and_exactly() {
        assert!(is_identity_table("User"));
        assert!(is_identity_table("VERIFICATION"));
        assert!(!is_identity_table("users"));
        assert!(!is_identity_table("user_profile"));
    }
}
