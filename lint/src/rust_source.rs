//! A service's Rust file, parsed once: the `syn` syntax tree for structured questions (method
//! calls, attributes, types) and the raw token stream for what hides inside macro invocations,
//! which `syn` leaves unparsed (`sqlx::query!("…")`, `json!({…})`, `include_str!(…)`).

use std::path::PathBuf;

use proc_macro2::{Delimiter, LineColumn, Span, TokenStream, TokenTree};

use crate::finding::Warning;
use crate::project::TextFile;

/// The deepest nesting of brackets a file may have to be read: lexing, parsing and every walk
/// of the tree recurse once per level, and deeper input would overflow the lint's stack. Far
/// beyond what people write (rustfmt gives up long before).
pub const MAX_NESTING: usize = 2_000;

/// The deepest nesting of `(`, `[` and `{` in `text`, counting those in strings and comments
/// too: an upper bound of what the lexer meets, which is all the check needs.
fn bracket_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for byte in text.bytes() {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

pub struct RustFile {
    /// Relative to the project root.
    pub path: PathBuf,
    /// `None` when the file does not parse as Rust (reported as a warning).
    pub syntax: Option<syn::File>,
    pub tokens: TokenStream,
}

impl RustFile {
    pub fn parse(file: TextFile, warnings: &mut Vec<Warning>) -> RustFile {
        let TextFile { path, text } = file;
        let depth = bracket_depth(&text);
        if depth > MAX_NESTING {
            warnings.push(Warning {
                file: path.clone(),
                line: 1,
                column: 1,
                message: format!(
                    "not checked at all: brackets nested {depth} deep, more than the {MAX_NESTING} stackr lint reads"
                ),
            });
            return RustFile {
                path,
                syntax: None,
                tokens: TokenStream::new(),
            };
        }
        // Lexing is more forgiving than parsing: the token-based checks still run on a file
        // with a syntax error. A shebang line is not a token.
        let lexable = if text.starts_with("#!") && !text.starts_with("#![") {
            text.find('\n').map_or("", |i| &text[i..])
        } else {
            &text
        };
        let lexed: Option<TokenStream> = lexable.parse().ok();
        let syntax = match syn::parse_file(&text) {
            Ok(syntax) => Some(syntax),
            Err(error) => {
                let (line, column) = position(error.span());
                let unchecked = if lexed.is_some() {
                    "by syntax-based rules"
                } else {
                    "at all"
                };
                warnings.push(Warning {
                    file: path.clone(),
                    line,
                    column,
                    message: format!("not checked {unchecked}: Rust does not parse: {error}"),
                });
                None
            }
        };
        let tokens = lexed.unwrap_or_default();
        RustFile {
            path,
            syntax,
            tokens,
        }
    }

    /// Every string literal of the file, inside macro invocations too, but not doc comments.
    pub fn string_literals(&self) -> Vec<StringLiteral> {
        let mut found = Vec::new();
        collect_string_literals(self.tokens.clone(), &mut found);
        found
    }

    /// Every `name!(…)` invocation of the file, nested ones included.
    pub fn macro_calls(&self) -> Vec<MacroCall> {
        let mut found = Vec::new();
        collect_macro_calls(self.tokens.clone(), &mut found);
        found
    }
}

/// Macros that embed a whole folder (of migrations, mostly) at compile time, its path relative to
/// the crate root: `sqlx::migrate!`, diesel's and refinery's `embed_migrations!`, `include_dir!`.
pub const FOLDER_MACROS: [&str; 3] = ["migrate", "embed_migrations", "include_dir"];

/// 1-based line and column of a span's start (proc-macro2 columns are 0-based).
pub fn position(span: Span) -> (usize, usize) {
    let LineColumn { line, column } = span.start();
    (line, column + 1)
}

/// A string (or byte string) literal and where its text starts in the file.
#[derive(Debug, Clone)]
pub struct StringLiteral {
    pub value: String,
    pub line: usize,
    pub column: usize,
    /// Columns between the literal's start and its first content character (`"` = 1,
    /// `r#"` = 3), or `None` when escapes make positions inside the value inexact.
    content_offset: Option<usize>,
}

impl StringLiteral {
    /// File position of the character at `offset` (bytes) in the literal's value. Falls back
    /// to the literal's own start when escapes make the mapping inexact.
    pub fn position_of(&self, offset: usize) -> (usize, usize) {
        let Some(content_offset) = self.content_offset else {
            return (self.line, self.column);
        };
        let (line, column) = crate::text_position::line_column(&self.value, offset);
        if line == 1 {
            (self.line, self.column + content_offset + column - 1)
        } else {
            (self.line + line - 1, column)
        }
    }

    /// File position of a 1-based (line, column) inside the literal's value.
    pub fn position_of_line_column(&self, line: usize, column: usize) -> (usize, usize) {
        match self.content_offset {
            None => (self.line, self.column),
            Some(offset) if line <= 1 => (self.line, self.column + offset + column - 1),
            Some(_) => (self.line + line - 1, column),
        }
    }
}

/// Reads a literal token as a string when it is one (`"…"`, `r#"…"#`, `b"…"`).
/// Calls `visit` with the inside of every `#[…]` attribute anywhere in `tokens`, macro bodies
/// included (attributes inside an attribute are not visited again).
pub fn for_each_attribute(tokens: TokenStream, visit: &mut impl FnMut(TokenStream)) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (index, token) in tokens.iter().enumerate() {
        let TokenTree::Group(group) = token else {
            continue;
        };
        let after_pound =
            index > 0 && matches!(&tokens[index - 1], TokenTree::Punct(p) if p.as_char() == '#');
        if after_pound && group.delimiter() == Delimiter::Bracket {
            visit(group.stream());
        } else {
            for_each_attribute(group.stream(), visit);
        }
    }
}

pub fn string_literal(literal: &proc_macro2::Literal) -> Option<StringLiteral> {
    let (value, is_raw) = match syn::Lit::new(literal.clone()) {
        syn::Lit::Str(s) => (s.value(), literal.to_string().starts_with('r')),
        syn::Lit::ByteStr(b) => (
            String::from_utf8_lossy(&b.value()).into_owned(),
            literal.to_string().starts_with("br"),
        ),
        _ => return None,
    };
    let source = literal.to_string();
    let opening = source.find('"')? + 1;
    let content_offset = if is_raw || !source.contains('\\') {
        Some(opening)
    } else {
        None
    };
    let (line, column) = position(literal.span());
    Some(StringLiteral {
        value,
        line,
        column,
        content_offset,
    })
}

pub(crate) fn collect_string_literals(tokens: TokenStream, found: &mut Vec<StringLiteral>) {
    let mut previous_was_pound = false;
    for token in tokens {
        match &token {
            TokenTree::Group(group) => {
                let is_doc_attribute = previous_was_pound
                    && group.delimiter() == Delimiter::Bracket
                    && matches!(group.stream().into_iter().next(),
                        Some(TokenTree::Ident(ident)) if ident == "doc");
                if !is_doc_attribute {
                    collect_string_literals(group.stream(), found);
                }
            }
            TokenTree::Literal(literal) => found.extend(string_literal(literal)),
            _ => {}
        }
        previous_was_pound = matches!(&token, TokenTree::Punct(p) if p.as_char() == '#')
            || (previous_was_pound && matches!(&token, TokenTree::Punct(p) if p.as_char() == '!'));
    }
}

/// `path::name!(args)`: the last path segment and the tokens between the delimiters.
#[derive(Debug, Clone)]
pub struct MacroCall {
    pub name: String,
    pub arguments: TokenStream,
    pub line: usize,
    pub column: usize,
}

fn collect_macro_calls(tokens: TokenStream, found: &mut Vec<MacroCall>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (index, token) in tokens.iter().enumerate() {
        if let TokenTree::Group(group) = token {
            collect_macro_calls(group.stream(), found);
        }
        let (TokenTree::Ident(name), Some(TokenTree::Punct(bang)), Some(TokenTree::Group(group))) =
            (token, tokens.get(index + 1), tokens.get(index + 2))
        else {
            continue;
        };
        if bang.as_char() == '!' && name != "macro_rules" {
            let (line, column) = position(name.span());
            found.push(MacroCall {
                name: name.to_string(),
                arguments: group.stream(),
                line,
                column,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rust(text: &str) -> RustFile {
        RustFile::parse(
            TextFile {
                path: "x.rs".into(),
                text: text.to_owned(),
            },
            &mut Vec::new(),
        )
    }

    #[test]
    fn literals_inside_macros_are_found_but_doc_comments_are_not() {
        let file =
            rust("/// CREATE TABLE doc\nfn f() {\n    let q = sqlx::query!(\"SELECT 1\");\n}\n");
        let literals = file.string_literals();
        assert_eq!(literals.len(), 1);
        assert_eq!(
            (
                literals[0].value.as_str(),
                literals[0].line,
                literals[0].column
            ),
            ("SELECT 1", 3, 26)
        );
    }

    #[test]
    fn positions_inside_raw_literals_map_to_the_file() {
        let file = rust("const Q: &str = r#\"\n  CREATE TABLE t ();\"#;\n");
        let literal = &file.string_literals()[0];
        let offset = literal.value.find("TABLE").unwrap();
        assert_eq!(literal.position_of(offset), (2, 10));
        assert_eq!(literal.position_of_line_column(1, 1), (1, 20));
    }

    #[test]
    fn unparsable_files_warn_but_keep_their_tokens() {
        let mut warnings = Vec::new();
        // Balanced delimiters (so it lexes) but not Rust (so it does not parse).
        let text = "fn broken() {\n    let = \"x-user-id\";\n}\n".to_owned();
        let file = RustFile::parse(
            TextFile {
                path: "x.rs".into(),
                text,
            },
            &mut warnings,
        );
        assert!(file.syntax.is_none());
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].message.contains("does not parse"),
            "{}",
            warnings[0].message
        );
        assert_eq!(file.string_literals()[0].value, "x-user-id");
    }

    #[test]
    fn nested_macro_calls_are_found() {
        let file = rust("fn f() { println!(\"{}\", include_str!(\"../x\")); }");
        let names: Vec<String> = file.macro_calls().into_iter().map(|m| m.name).collect();
        assert_eq!(names, vec!["println", "include_str"]);
    }
}
