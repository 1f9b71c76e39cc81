//! `no-auth-tables-outside-auth`: identity lives in the auth service's database only. A base
//! service that creates a `user`, `session`, `account` or `verification` table has started a
//! second source of truth for identity. Looked for in SQL migrations and in Rust schema code:
//! SQL inside string literals, ORM table attributes, diesel `table!` and sea-query `Iden` enums.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::visit::Visit;

use super::{finding, Rule};
use crate::finding::{LintReport, Warning};
use crate::project::{Project, Service};
use crate::rust_source::{position, string_literal, RustFile};
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
    let orm_message = |name: &str, how: &str| {
        format!(
            "base service `{}` maps {how} onto identity table `{name}`; only `{auth_name}` may own \
             user/session/account/verification: ask auth (through the stackr_kit guard) instead",
            service.name
        )
    };
    let mut orm_tables = Vec::new();
    table_name_attributes(file.tokens.clone(), &mut orm_tables);
    for call in file.macro_calls().into_iter().filter(|m| m.name == "table") {
        diesel_tables(call.arguments, &mut orm_tables);
    }
    for (name, at, how) in orm_tables {
        if is_identity_table(&name) {
            push(at, orm_message(&name, how));
        }
    }
    if let Some(syntax) = &file.syntax {
        let mut enums = IdenEnums::default();
        enums.visit_file(syntax);
        for (name, at) in enums.tables {
            if is_identity_table(&name) {
                push(at, orm_message(&name, "a sea-query `Iden` enum"));
            }
        }
    }
}

fn looks_like_table_ddl(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    upper.contains("TABLE") && (upper.contains("CREATE") || upper.contains("ALTER"))
}

type TableAt = (String, (usize, usize), &'static str);

/// `#[sea_orm(table_name = "user")]`, `#[diesel(table_name = session)]`,
/// `#[table_name = "account"]` (diesel 1), `#[ormlite(table = "user")]`, anywhere in the file.
fn table_name_attributes(tokens: TokenStream, found: &mut Vec<TableAt>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (index, token) in tokens.iter().enumerate() {
        let TokenTree::Group(group) = token else {
            continue;
        };
        let after_pound =
            index > 0 && matches!(&tokens[index - 1], TokenTree::Punct(p) if p.as_char() == '#');
        if after_pound && group.delimiter() == Delimiter::Bracket {
            let is_doc = matches!(group.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc");
            if !is_doc {
                assignments_to(group.stream(), &["table_name", "table"], found);
            }
        } else {
            table_name_attributes(group.stream(), found);
        }
    }
}

/// `key = "name"` or `key = path::to::name` anywhere inside an attribute's tokens.
fn assignments_to(tokens: TokenStream, keys: &[&str], found: &mut Vec<TableAt>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (index, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Group(group) => assignments_to(group.stream(), keys, found),
            TokenTree::Ident(key) if keys.iter().any(|k| key == k) => {
                let is_assignment = matches!(tokens.get(index + 1), Some(TokenTree::Punct(p)) if p.as_char() == '=');
                if is_assignment {
                    found.extend(
                        name_value(&tokens[index + 2..]).map(|(n, at)| (n, at, "an ORM model")),
                    );
                }
            }
            _ => {}
        }
    }
}

/// A string literal, or the last segment of a `a::b::c` / `a.b` path, at the start of `tokens`.
fn name_value(tokens: &[TokenTree]) -> Option<(String, (usize, usize))> {
    match tokens.first()? {
        TokenTree::Literal(literal) => {
            let literal = string_literal(literal)?;
            let table = literal
                .value
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .trim_matches('"')
                .to_owned();
            Some((table, (literal.line, literal.column)))
        }
        TokenTree::Ident(_) => {
            let last = tokens
                .iter()
                .take_while(|t| matches!(t, TokenTree::Ident(_) | TokenTree::Punct(_)))
                .take_while(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
                .filter_map(|t| match t {
                    TokenTree::Ident(ident) => Some(ident),
                    _ => None,
                })
                .last()?;
            Some((last.to_string(), position(last.span())))
        }
        _ => None,
    }
}

/// diesel's `table! { [#[sql_name = "…"]] [schema.]name (pk) { columns } … }`: the name right
/// before each brace-delimited column list, or the `sql_name` that overrides it.
fn diesel_tables(arguments: TokenStream, found: &mut Vec<TableAt>) {
    let mut name: Option<(String, (usize, usize))> = None;
    let mut sql_name: Option<(String, (usize, usize))> = None;
    let tokens: Vec<TokenTree> = arguments.into_iter().collect();
    for (index, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Group(group) if group.delimiter() == Delimiter::Bracket => {
                let mut renamed = Vec::new();
                assignments_to(group.stream(), &["sql_name"], &mut renamed);
                if let Some((table, at, _)) = renamed.pop() {
                    sql_name = Some((table, at));
                }
            }
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => {
                if let Some((table, at)) = sql_name.take().or(name.take()) {
                    found.push((table, at, "a diesel `table!`"));
                }
            }
            TokenTree::Ident(ident) => {
                let after_use =
                    index > 0 && matches!(&tokens[index - 1], TokenTree::Ident(i) if i == "use");
                if !after_use && ident != "use" {
                    name = Some((ident.to_string(), position(ident.span())));
                }
            }
            _ => {}
        }
    }
}

/// sea-query / sea-orm-migration enums: `#[derive(DeriveIden)] enum User { Table, Id }` names
/// table `user` (or the `#[sea_orm(iden = "…")]` / `#[iden = "…"]` given on the enum or on
/// its `Table` variant).
#[derive(Default)]
struct IdenEnums {
    tables: Vec<(String, (usize, usize))>,
}

impl<'ast> Visit<'ast> for IdenEnums {
    fn visit_item_enum(&mut self, item: &'ast syn::ItemEnum) {
        let derives_iden = item
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("derive"))
            .any(|a| {
                let derives = tokens_of(a).to_string();
                derives
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| w == "Iden" || w == "DeriveIden")
            });
        let table_variant = item.variants.iter().find(|v| v.ident == "Table");
        if let (true, Some(variant)) = (derives_iden, table_variant) {
            let mut renamed = Vec::new();
            for attribute in variant.attrs.iter().chain(&item.attrs) {
                if !attribute.path().is_ident("derive") {
                    assignments_to(tokens_of(attribute), &["iden"], &mut renamed);
                }
            }
            let name = match renamed.first() {
                Some((name, _, _)) => name.clone(),
                None => snake_case(&item.ident.to_string()),
            };
            self.tables.push((name, position(item.ident.span())));
        }
        syn::visit::visit_item_enum(self, item);
    }
}

fn tokens_of(attribute: &syn::Attribute) -> TokenStream {
    quote::ToTokens::to_token_stream(&attribute.meta)
}

fn snake_case(camel: &str) -> String {
    let mut snake = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.extend(c.to_lowercase());
    }
    snake
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

    #[test]
    fn diesel_table_macro_names_each_table() {
        let mut found = Vec::new();
        let tokens: TokenStream =
            "public.session (id) { id -> Int4, } #[sql_name = \"user\"] people (id) { id -> Int4, }"
                .parse()
                .unwrap();
        diesel_tables(tokens, &mut found);
        let names: Vec<&str> = found.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, vec!["session", "user"]);
    }

    #[test]
    fn snake_case_of_enum_names() {
        assert_eq!(snake_case("Verification"), "verification");
        assert_eq!(snake_case("UserProfile"), "user_profile");
    }
}
