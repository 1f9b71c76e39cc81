//! Which tables a piece of PostgreSQL declares: `CREATE TABLE name` and
//! `ALTER TABLE … RENAME TO name`. Parsed with sqlparser one statement at a time, so one
//! statement sqlparser does not support (a `DO $$ … $$` block, an exotic extension) costs only
//! that statement: for it a token-level scan of the same two shapes takes over, and the caller
//! is told the statement was not fully parsed.

use sqlparser::ast::{
    AlterTableOperation, ObjectName, ObjectNamePart, RenameTableNameKind, Statement,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredTable {
    /// The name as written, schema and quotes included (`public."User"`).
    pub written: String,
    /// The table's own name without schema or quotes, lower-cased (`user`).
    pub table: String,
    pub how: Declaration,
    /// 1-based position of the table name in the SQL text.
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declaration {
    Create,
    RenameTo,
}

/// A statement sqlparser rejected; its tables were found by the token scan instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnparsedStatement {
    pub line: usize,
    pub column: usize,
    pub error: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SqlScan {
    pub tables: Vec<DeclaredTable>,
    pub unparsed: Vec<UnparsedStatement>,
}

/// Why the text could not even be split into tokens (an unterminated quote, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableSql {
    pub line: usize,
    pub column: usize,
    pub error: String,
}

pub fn declared_tables(sql: &str) -> Result<SqlScan, UnreadableSql> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|error| UnreadableSql {
            line: error.location.line as usize,
            column: error.location.column as usize,
            error: error.message,
        })?;
    let mut scan = SqlScan::default();
    for statement in split_statements(tokens) {
        let first = &statement[0];
        let (line, column) = (
            first.span.start.line as usize,
            first.span.start.column as usize,
        );
        match Parser::new(&dialect)
            .with_tokens_with_locations(statement.clone())
            .parse_statements()
        {
            Ok(parsed) => parsed
                .iter()
                .for_each(|s| tables_of_statement(s, &mut scan.tables)),
            Err(error) => {
                scan.unparsed.push(UnparsedStatement {
                    line,
                    column,
                    error: error.to_string(),
                });
                scan.tables.extend(tables_by_token_scan(&statement));
            }
        }
    }
    Ok(scan)
}

/// Splits at top-level `;` and drops whitespace and comments, so each piece is one statement
/// (dollar-quoted bodies are single tokens, their `;` do not split).
fn split_statements(tokens: Vec<TokenWithSpan>) -> Vec<Vec<TokenWithSpan>> {
    let mut statements = vec![Vec::new()];
    for token in tokens {
        match token.token {
            Token::SemiColon => statements.push(Vec::new()),
            Token::Whitespace(_) | Token::EOF => {}
            _ => statements.last_mut().expect("never empty").push(token),
        }
    }
    statements.retain(|s| !s.is_empty());
    statements
}

fn tables_of_statement(statement: &Statement, tables: &mut Vec<DeclaredTable>) {
    match statement {
        Statement::CreateTable(create) => {
            tables.extend(declared(&create.name, Declaration::Create));
        }
        Statement::AlterTable(alter) => {
            for operation in &alter.operations {
                if let AlterTableOperation::RenameTable { table_name } = operation {
                    let (RenameTableNameKind::To(name) | RenameTableNameKind::As(name)) =
                        table_name;
                    tables.extend(declared(name, Declaration::RenameTo));
                }
            }
        }
        _ => {}
    }
}

fn declared(name: &ObjectName, how: Declaration) -> Option<DeclaredTable> {
    let ObjectNamePart::Identifier(last) = name.0.last()? else {
        return None;
    };
    Some(DeclaredTable {
        written: name.to_string(),
        table: last.value.to_lowercase(),
        how,
        line: last.span.start.line as usize,
        column: last.span.start.column as usize,
    })
}

/// `CREATE [modifiers] TABLE [IF NOT EXISTS] name` and `ALTER TABLE … RENAME TO name`, read
/// from tokens alone.
fn tables_by_token_scan(statement: &[TokenWithSpan]) -> Vec<DeclaredTable> {
    let words: Vec<Option<String>> = statement
        .iter()
        .map(|t| match &t.token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        })
        .collect();
    let is = |i: usize, keyword: &str| words.get(i).and_then(|w| w.as_deref()) == Some(keyword);
    let mut found = Vec::new();
    if is(0, "CREATE") {
        // Modifiers sit between CREATE and TABLE (OR REPLACE, TEMP, UNLOGGED, …).
        if let Some(table) = (1..statement.len().min(6)).find(|&i| is(i, "TABLE")) {
            let mut name = table + 1;
            if is(name, "IF") && is(name + 1, "NOT") && is(name + 2, "EXISTS") {
                name += 3;
            }
            found.extend(dotted_name_at(statement, name, Declaration::Create));
        }
    } else if is(0, "ALTER") && is(1, "TABLE") {
        for i in 2..statement.len() {
            if is(i, "RENAME") && is(i + 1, "TO") {
                found.extend(dotted_name_at(statement, i + 2, Declaration::RenameTo));
            }
        }
    }
    found
}

/// A possibly schema-qualified name starting at token `start` (`a`, `"A"`, `a."b"`).
fn dotted_name_at(
    tokens: &[TokenWithSpan],
    start: usize,
    how: Declaration,
) -> Option<DeclaredTable> {
    let mut parts = Vec::new();
    let mut index = start;
    while let Some(Token::Word(word)) = tokens.get(index).map(|t| &t.token) {
        parts.push((word, &tokens[index]));
        if matches!(tokens.get(index + 1).map(|t| &t.token), Some(Token::Period)) {
            index += 2;
        } else {
            break;
        }
    }
    let (last, token) = parts.last()?;
    Some(DeclaredTable {
        written: parts
            .iter()
            .map(|(w, _)| w.to_string())
            .collect::<Vec<_>>()
            .join("."),
        table: last.value.to_lowercase(),
        how,
        line: token.span.start.line as usize,
        column: token.span.start.column as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(sql: &str) -> Vec<(String, usize, usize)> {
        declared_tables(sql)
            .unwrap()
            .tables
            .into_iter()
            .map(|t| (t.table, t.line, t.column))
            .collect()
    }

    #[test]
    fn create_table_variants_are_normalised() {
        let sql = "CREATE TABLE \"User\" (id int);\ncreate table if not exists public.session (id int);\nCREATE UNLOGGED TABLE \"public\".\"ACCOUNT\" (id int);";
        assert_eq!(
            tables(sql),
            vec![
                ("user".into(), 1, 14),
                ("session".into(), 2, 35),
                ("account".into(), 3, 32)
            ]
        );
    }

    #[test]
    fn rename_to_is_a_declaration() {
        let scan = declared_tables("ALTER TABLE people RENAME TO Verification;").unwrap();
        assert_eq!(scan.tables[0].table, "verification");
        assert_eq!(scan.tables[0].how, Declaration::RenameTo);
        assert!(scan.unparsed.is_empty());
    }

    #[test]
    fn unparsable_statements_fall_back_to_the_token_scan() {
        // A nonsense clause sqlparser rejects; the statement is still recognised.
        let sql = "SELECT 1;\nCREATE TABLE session (id int) FROBNICATE WIDELY;";
        let scan = declared_tables(sql).unwrap();
        assert_eq!(scan.unparsed.len(), 1);
        assert_eq!(scan.unparsed[0].line, 2);
        assert_eq!(scan.tables[0].table, "session");
        assert_eq!((scan.tables[0].line, scan.tables[0].column), (2, 14));
    }

    #[test]
    fn dollar_quoted_bodies_do_not_split_statements() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nCREATE TABLE profile (user_id text);";
        assert_eq!(tables(sql), vec![("profile".into(), 2, 14)]);
    }

    #[test]
    fn unterminated_quotes_are_unreadable() {
        assert!(declared_tables("CREATE TABLE 'x").is_err());
    }
}
