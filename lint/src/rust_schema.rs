//! Tables that Rust schema code maps onto, without compiling it: ORM attributes
//! (`#[sea_orm(table_name = "user")]`, `#[diesel(table_name = session)]`, diesel 1's
//! `#[table_name = "…"]`, `#[ormlite(table = "…")]`), diesel's `table!` macro and sea-query /
//! sea-orm-migration `Iden` enums.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::visit::Visit;

use crate::rust_source::{for_each_attribute, position, string_literal, RustFile};

/// A table an ORM declaration maps onto, where its name is written, and through what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedTable {
    pub table: String,
    pub line: usize,
    pub column: usize,
    /// `an ORM model`, `a diesel \`table!\``, `a sea-query \`Iden\` enum`.
    pub through: &'static str,
}

/// Every table the file's schema code maps onto.
pub fn mapped_tables(file: &RustFile) -> Vec<MappedTable> {
    let mut found = Vec::new();
    table_name_attributes(file.tokens.clone(), &mut found);
    for call in file.macro_calls().into_iter().filter(|m| m.name == "table") {
        diesel_tables(call.arguments, &mut found);
    }
    if let Some(syntax) = &file.syntax {
        let mut enums = IdenEnums::default();
        enums.visit_file(syntax);
        for (table, at) in enums.tables {
            found.push((table, at, "a sea-query `Iden` enum"));
        }
    }
    found
        .into_iter()
        .map(|(table, (line, column), through)| MappedTable {
            table,
            line,
            column,
            through,
        })
        .collect()
}

type TableAt = (String, (usize, usize), &'static str);

/// `#[sea_orm(table_name = "user")]`, `#[diesel(table_name = session)]`,
/// `#[table_name = "account"]` (diesel 1), `#[ormlite(table = "user")]`, anywhere in the file.
fn table_name_attributes(tokens: TokenStream, found: &mut Vec<TableAt>) {
    for_each_attribute(tokens, &mut |attribute| {
        let is_doc =
            matches!(attribute.clone().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc");
        if !is_doc {
            assignments_to(attribute, &["table_name", "table"], found);
        }
    });
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
