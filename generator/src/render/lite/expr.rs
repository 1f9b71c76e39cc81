//! Tag expressions: tokens, then recursive descent into [`Expr`], refusing what the lite
//! renderer does not implement.

use super::syntax::{unsupported, Unsupported};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    NotEq,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    NixStr,
    JsonEncode,
    Length,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A variable, its dotted path split once; `default` (only first, as in tera) and the filters
    /// applied after it.
    Path {
        path: Vec<String>,
        default: Option<Box<Expr>>,
        filters: Vec<Filter>,
    },
    Str(String),
    Int(i64),
    Concat(Vec<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(Compare, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Symbol(&'static str),
}

fn tokens(text: &str) -> Result<Vec<Token>, Unsupported> {
    const SYMBOLS: [&str; 12] = [
        ">=", "<=", "==", "!=", ">", "<", "~", "|", "(", ")", "=", ",",
    ];
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while let Some(c) = rest.chars().next() {
        let len = if c.is_ascii_alphabetic() || c == '_' {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(rest.len());
            out.push(Token::Ident(rest[..len].to_owned()));
            len
        } else if c.is_ascii_digit() {
            let len = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let Ok(value) = rest[..len].parse() else {
                return unsupported(format!("number `{}`", &rest[..len]));
            };
            out.push(Token::Int(value));
            len
        } else if matches!(c, '"' | '\'' | '`') {
            let Some(end) = rest[1..].find(c) else {
                return unsupported("unterminated string");
            };
            out.push(Token::Str(rest[1..1 + end].to_owned()));
            end + 2
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            out.push(Token::Symbol(symbol));
            symbol.len()
        } else {
            return unsupported(format!("`{c}` in `{text}`"));
        };
        rest = rest[len..].trim_start();
    }
    Ok(out)
}

/// Parses a whole tag expression.
pub fn expression(text: &str) -> Result<Expr, Unsupported> {
    let tokens = tokens(text)?;
    let mut parser = Parser { tokens, at: 0 };
    let expr = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(expr),
        Some(token) => unsupported(format!("{token:?} in `{text}`")),
    }
}

/// A variable's `default` value and its other filters.
type Filters = (Option<Box<Expr>>, Vec<Filter>);

/// Recursive descent with tera's precedence: `or` < `and` < `not` < comparison < `~` < filters.
struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Ident(w)) if w == word);
        if found {
            self.at += 1;
        }
        found
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol);
        if found {
            self.at += 1;
        }
        found
    }

    fn or(&mut self) -> Result<Expr, Unsupported> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, Unsupported> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, Unsupported> {
        if self.keyword("not") {
            return Ok(Expr::Not(Box::new(self.comparison()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, Unsupported> {
        let left = self.concat()?;
        let op = match self.peek() {
            Some(Token::Symbol(">")) => Compare::Gt,
            Some(Token::Symbol(">=")) => Compare::Gte,
            Some(Token::Symbol("<")) => Compare::Lt,
            Some(Token::Symbol("<=")) => Compare::Lte,
            Some(Token::Symbol("==")) => Compare::Eq,
            Some(Token::Symbol("!=")) => Compare::NotEq,
            _ => return Ok(left),
        };
        self.at += 1;
        Ok(Expr::Compare(op, Box::new(left), Box::new(self.concat()?)))
    }

    fn concat(&mut self) -> Result<Expr, Unsupported> {
        let first = self.operand()?;
        if !matches!(self.peek(), Some(Token::Symbol("~"))) {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.symbol("~") {
            parts.push(self.operand()?);
        }
        if parts
            .iter()
            .any(|p| matches!(p, Expr::Path { default, filters, .. } if default.is_some() || !filters.is_empty()))
        {
            return unsupported("filters inside `~`");
        }
        Ok(Expr::Concat(parts))
    }

    fn operand(&mut self) -> Result<Expr, Unsupported> {
        match self.next() {
            Some(Token::Str(text)) => Ok(Expr::Str(text)),
            Some(Token::Int(value)) => Ok(Expr::Int(value)),
            Some(Token::Ident(name))
                if !["not", "and", "or", "in", "is", "true", "false"].contains(&name.as_str()) =>
            {
                let path: Vec<String> = name.split('.').map(str::to_owned).collect();
                if path.iter().any(String::is_empty)
                    || ["loop", "__tera_context"].contains(&path[0].as_str())
                {
                    return unsupported(format!("variable `{name}`"));
                }
                let (default, filters) = self.filters()?;
                Ok(Expr::Path {
                    path,
                    default,
                    filters,
                })
            }
            other => unsupported(format!("{other:?} where a value belongs")),
        }
    }

    /// `| default(value=…)` (first only, as tera honours it) and the other supported filters.
    fn filters(&mut self) -> Result<Filters, Unsupported> {
        let mut default = None;
        let mut filters = Vec::new();
        while self.symbol("|") {
            let Some(Token::Ident(name)) = self.next() else {
                return unsupported("a filter without a name");
            };
            let mut value = None;
            if self.symbol("(") && !self.symbol(")") {
                let Some(Token::Ident(arg)) = self.next() else {
                    return unsupported(format!("arguments of filter `{name}`"));
                };
                if arg != "value" || !self.symbol("=") {
                    return unsupported(format!("argument `{arg}` of filter `{name}`"));
                }
                value = Some(self.concat()?);
                if !self.symbol(")") {
                    return unsupported(format!("arguments of filter `{name}`"));
                }
            }
            match (name.as_str(), value) {
                ("default", Some(value)) if default.is_none() && filters.is_empty() => {
                    default = Some(Box::new(value));
                }
                ("nix_str", None) => filters.push(Filter::NixStr),
                ("json_encode", None) => filters.push(Filter::JsonEncode),
                ("length", None) => filters.push(Filter::Length),
                (other, _) => return unsupported(format!("filter `{other}` here")),
            }
        }
        Ok((default, filters))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Expr {
        Expr::Path {
            path: p.split('.').map(str::to_owned).collect(),
            default: None,
            filters: Vec::new(),
        }
    }

    #[test]
    fn parses_the_precedence_tera_uses() {
        assert_eq!(
            expression("not a.b and c or d").unwrap(),
            Expr::Or(
                Box::new(Expr::And(
                    Box::new(Expr::Not(Box::new(path("a.b")))),
                    Box::new(path("c"))
                )),
                Box::new(path("d"))
            )
        );
        assert_eq!(
            expression("xs | length > 1").unwrap(),
            Expr::Compare(
                Compare::Gt,
                Box::new(Expr::Path {
                    path: vec!["xs".into()],
                    default: None,
                    filters: vec![Filter::Length]
                }),
                Box::new(Expr::Int(1))
            )
        );
    }
}
