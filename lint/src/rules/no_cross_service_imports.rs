//! `no-cross-service-imports`: services share nothing but HTTP and the kit. A service crate that
//! depends on another service's crate, or compiles/embeds its files (`#[path]`, `include!`,
//! `include_str!`, `sqlx::migrate!` …), couples their deployments and bypasses the other
//! service's API and authorisation.

use std::path::Path;

use proc_macro2::{TokenStream, TokenTree};

use super::{finding, Rule};
use crate::finding::LintReport;
use crate::manifest_dependencies::dependencies;
use crate::paths::{owning_service, resolve};
use crate::project::{Project, Service, TextFile};
use crate::rust_source::{for_each_attribute, string_literal, RustFile, FOLDER_MACROS};

pub const RULE: Rule = Rule {
    name: NAME,
    rationale: "services talk over HTTP only; compiling in another service's code couples deployments and skips its API",
    check,
};

const NAME: &str = "no-cross-service-imports";

fn check(project: &Project, report: &mut LintReport) {
    for service in &project.services {
        if let Some(manifest) = &service.manifest {
            check_manifest(project, service, manifest, report);
        }
        for file in &service.rust_files {
            check_path_attributes(project, service, file, report);
            check_include_macros(project, service, file, report);
        }
    }
}

fn foreign<'a>(project: &'a Project, service: &Service, path: &Path) -> Option<&'a Service> {
    owning_service(project, path).filter(|owner| owner.name != service.name)
}

// ---- Cargo.toml --------------------------------------------------------------------------

fn check_manifest(
    project: &Project,
    service: &Service,
    manifest: &TextFile,
    report: &mut LintReport,
) {
    let dependencies = match dependencies(project, &service.dir, manifest) {
        Ok(dependencies) => dependencies,
        Err(warning) => return report.warnings.push(warning),
    };
    for dependency in dependencies {
        let by_path = dependency
            .path
            .as_deref()
            .and_then(|p| foreign(project, service, p));
        let by_name = project
            .others(service)
            .find(|o| o.package_name() == dependency.package);
        let (other, at) = match (by_path, by_name) {
            (Some(other), _) => (other, dependency.path_position),
            (None, Some(other)) => (other, dependency.key_position),
            (None, None) => continue,
        };
        report.findings.push(finding(
            NAME,
            &manifest.path,
            at,
            format!(
                "service `{}` depends on `{}`, the crate of service `{}`; call its HTTP API \
                 instead, and move genuinely shared code into a library outside services/",
                service.name, dependency.package, other.name
            ),
        ));
    }
}

// ---- Rust sources ------------------------------------------------------------------------

/// `#[path = "…"]` on a module: relative to the directory of the file that declares it.
fn check_path_attributes(
    project: &Project,
    service: &Service,
    file: &RustFile,
    report: &mut LintReport,
) {
    let mut attributes = Vec::new();
    path_attributes(file.tokens.clone(), &mut attributes);
    let base = file.path.parent().unwrap_or(Path::new(""));
    for (written, at) in attributes {
        let target = resolve(project, base, &written);
        if let Some(other) = foreign(project, service, &target) {
            report.findings.push(finding(
                NAME,
                &file.path,
                at,
                format!(
                    "`#[path = \"{written}\"]` compiles `{}`, code of service `{}`, into `{}`; \
                     call its HTTP API instead",
                    target.display(),
                    other.name,
                    service.name
                ),
            ));
        }
    }
}

/// `#[path = "…"]` attributes: their value and position.
fn path_attributes(tokens: TokenStream, found: &mut Vec<(String, (usize, usize))>) {
    for_each_attribute(tokens, &mut |attribute| {
        let inner: Vec<TokenTree> = attribute.into_iter().collect();
        if let [TokenTree::Ident(name), TokenTree::Punct(eq), TokenTree::Literal(value)] =
            inner.as_slice()
        {
            if name == "path" && eq.as_char() == '=' {
                if let Some(literal) = string_literal(value) {
                    found.push((literal.value, (literal.line, literal.column)));
                }
            }
        }
    });
}

/// Macros that read files at compile time, and what their paths are relative to.
fn include_base(macro_name: &str) -> Option<IncludeBase> {
    match macro_name {
        "include" | "include_str" | "include_bytes" => Some(IncludeBase::CurrentFile),
        name if FOLDER_MACROS.contains(&name) => Some(IncludeBase::CrateRoot),
        _ => None,
    }
}

enum IncludeBase {
    CurrentFile,
    CrateRoot,
}

fn check_include_macros(
    project: &Project,
    service: &Service,
    file: &RustFile,
    report: &mut LintReport,
) {
    for call in file.macro_calls() {
        let Some(base) = include_base(&call.name) else {
            continue;
        };
        let (written, mentions_manifest_dir) = included_path(call.arguments);
        let Some(written) = written else { continue };
        let base = match base {
            _ if mentions_manifest_dir => service.dir.clone(),
            IncludeBase::CrateRoot => service.dir.clone(),
            IncludeBase::CurrentFile => file.path.parent().unwrap_or(Path::new("")).to_owned(),
        };
        let relative = written
            .trim_start_matches("$CARGO_MANIFEST_DIR")
            .trim_start_matches(if mentions_manifest_dir { "/" } else { "" });
        let target = resolve(project, &base, relative);
        if let Some(other) = foreign(project, service, &target) {
            report.findings.push(finding(
                NAME,
                &file.path,
                (call.line, call.column),
                format!(
                    "`{}!` embeds `{}`, a file of service `{}`, into `{}`; services share no code \
                     or migrations: call its HTTP API instead",
                    call.name,
                    target.display(),
                    other.name,
                    service.name
                ),
            ));
        }
    }
}

/// The path a file-reading macro is given: its string literals concatenated (which covers
/// `concat!(env!("CARGO_MANIFEST_DIR"), "/../x")`), and whether it is anchored at the
/// manifest directory.
fn included_path(arguments: TokenStream) -> (Option<String>, bool) {
    let mut path = String::new();
    let mut found_literal = false;
    let mut manifest_dir = false;
    collect_path_pieces(arguments, &mut path, &mut found_literal, &mut manifest_dir);
    let anchored = manifest_dir || path.starts_with("$CARGO_MANIFEST_DIR");
    (found_literal.then_some(path), anchored)
}

fn collect_path_pieces(
    tokens: TokenStream,
    path: &mut String,
    found: &mut bool,
    manifest_dir: &mut bool,
) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut index = 0;
    while index < tokens.len() {
        match &tokens[index] {
            // env!("CARGO_MANIFEST_DIR") is the anchor, not a piece of the path.
            TokenTree::Ident(name) if name == "env" => {
                if let Some(TokenTree::Group(group)) = tokens.get(index + 2) {
                    *manifest_dir |= group.stream().to_string().contains("CARGO_MANIFEST_DIR");
                }
                index += 3;
                continue;
            }
            TokenTree::Group(group) => {
                collect_path_pieces(group.stream(), path, found, manifest_dir);
            }
            TokenTree::Literal(literal) => {
                if let Some(literal) = string_literal(literal) {
                    path.push_str(&literal.value);
                    *found = true;
                }
            }
            _ => {}
        }
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::included_path;

    #[test]
    fn manifest_anchored_concat_is_understood() {
        let tokens = "concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/../wallet/schema.sql\")"
            .parse()
            .unwrap();
        assert_eq!(
            included_path(tokens),
            (Some("/../wallet/schema.sql".to_owned()), true)
        );
        let tokens = "\"../../wallet/src/lib.rs\"".parse().unwrap();
        assert_eq!(
            included_path(tokens),
            (Some("../../wallet/src/lib.rs".to_owned()), false)
        );
    }
}
