//! `no-unlisted-migration`: a base service applies the migrations its code lists
//! (`Migration::new("0002_x", include_str!("../migrations/0002_x.sql"))` in `MIGRATIONS`), not
//! every file of its `migrations/` folder. A file added there and not listed is never applied,
//! and nothing else says so: the service starts, its tables lack the change, and its queries fail
//! at run time. A migration counts as listed when a string in the service's Rust code names it
//! (`…/migrations/<file>`), or when the code embeds the folder whole
//! (`sqlx::migrate!("./migrations")`, `embed_migrations!`, `include_dir!`).

use std::path::Path;

use super::{finding, Rule};
use crate::finding::LintReport;
use crate::project::Project;
use crate::rust_source::{collect_string_literals, RustFile, FOLDER_MACROS};

pub const RULE: Rule = Rule {
    name: NAME,
    rationale: "a migration file the service's code does not list is never applied",
    check,
};

const NAME: &str = "no-unlisted-migration";

/// The folder of a service's migrations, in its crate.
const MIGRATIONS_DIR: &str = "migrations";

fn check(project: &Project, report: &mut LintReport) {
    for service in project.services.iter().filter(|s| !s.is_auth()) {
        let folder = service.dir.join(MIGRATIONS_DIR);
        let named: Vec<String> = service
            .rust_files
            .iter()
            .flat_map(RustFile::string_literals)
            .map(|literal| literal.value)
            .collect();
        if service.rust_files.iter().any(embeds_folder) {
            continue;
        }
        for file in &service.sql_files {
            let Some(name) = migration_file_name(&file.path, &folder) else {
                continue;
            };
            if !named.iter().any(|value| names_file(value, name)) {
                let stem = name.strip_suffix(".sql").unwrap_or(name);
                report.findings.push(finding(
                    NAME,
                    &file.path,
                    (1, 1),
                    format!(
                        "migration `{name}` is listed nowhere in `{}`'s code, so it is never \
                         applied: add `Migration::new(\"{stem}\", \
                         include_str!(\"../{MIGRATIONS_DIR}/{name}\"))` to the service's \
                         MIGRATIONS (src/main.rs)",
                        service.name
                    ),
                ));
            }
        }
    }
}

/// The file name of `path` when it is directly in `folder`.
fn migration_file_name<'a>(path: &'a Path, folder: &Path) -> Option<&'a str> {
    if path.parent()? != folder {
        return None;
    }
    path.file_name()?.to_str()
}

/// Whether a string names the file `name` of the migrations folder (`…/migrations/<name>`): the
/// folder a whole path component, so a file of the same name in `seed-migrations/` is not it.
fn names_file(value: &str, name: &str) -> bool {
    value
        .strip_suffix(name)
        .and_then(|rest| rest.strip_suffix('/'))
        .is_some_and(is_migrations_folder)
}

/// Whether a path's last component is the migrations folder (`migrations`, `./migrations`), not
/// merely a name ending like it (`seed-migrations`).
fn is_migrations_folder(path: &str) -> bool {
    path == MIGRATIONS_DIR || path.ends_with(&format!("/{MIGRATIONS_DIR}"))
}

/// Whether `file` embeds the migrations folder whole (`sqlx::migrate!("./migrations")`,
/// `include_dir!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))`): a string merely ending
/// in `/migrations` elsewhere (a route) lists nothing.
fn embeds_folder(file: &RustFile) -> bool {
    file.macro_calls()
        .into_iter()
        .filter(|call| FOLDER_MACROS.contains(&call.name.as_str()))
        .any(|call| {
            let mut literals = Vec::new();
            collect_string_literals(call.arguments, &mut literals);
            literals
                .iter()
                .any(|literal| is_migrations_folder(literal.value.trim_end_matches('/')))
        })
}
