//! Template text -> nodes: splits text from `{{ }}`, `{% %}` and `{# #}` tags, parses tag
//! expressions and nests `if`/`for` bodies. Whitespace markers are recorded, not applied (see
//! `whitespace.rs`).

/// A construct outside the subset (the template is then rendered by tera).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unsupported template construct: {}", self.0)
    }
}

fn unsupported<T>(what: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported(what.into()))
}

/// Whether a tag trims the whitespace before it (`{%-`) and after it (`-%}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ws {
    pub left: bool,
    pub right: bool,
}

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
pub enum Node {
    Text(String),
    Comment(Ws),
    Var(Ws, Expr),
    Set(Ws, String, Expr),
    For {
        start: Ws,
        end: Ws,
        var: String,
        container: Vec<String>,
        body: Vec<Node>,
    },
    If {
        /// `if` and each `elif`: the tag's whitespace markers, the condition, the body.
        conditions: Vec<(Ws, Expr, Vec<Node>)>,
        otherwise: Option<(Ws, Vec<Node>)>,
        end: Ws,
    },
}

/// One piece of template text: literal text or the inside of a tag.
enum Piece<'a> {
    Text(&'a str),
    Var(Ws, &'a str),
    Tag(Ws, &'a str),
    Comment(Ws),
}

pub fn parse(source: &str) -> Result<Vec<Node>, Unsupported> {
    let pieces = split(source)?;
    let mut at = 0;
    let (nodes, end) = body(&pieces, &mut at)?;
    match end {
        None => Ok(nodes),
        Some((_, tag)) => unsupported(format!("`{{% {tag} %}}` without its opening tag")),
    }
}

/// Splits `source` into text and tags. A tag's inner text excludes its delimiters and markers.
fn split(source: &str) -> Result<Vec<Piece<'_>>, Unsupported> {
    let mut pieces = Vec::new();
    let mut rest = source;
    while !rest.is_empty() {
        let opening = rest
            .as_bytes()
            .windows(2)
            .position(|w| w[0] == b'{' && matches!(w[1], b'{' | b'%' | b'#'));
        let Some(open) = opening else {
            pieces.push(Piece::Text(rest));
            break;
        };
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let kind = &rest[open..open + 2];
        let close = match kind {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        let inner_start = open + 2;
        let Some(len) = find_close(&rest[inner_start..], close, kind == "{#") else {
            return unsupported(format!("`{kind}` without `{close}`"));
        };
        let mut inner = &rest[inner_start..inner_start + len];
        let mut ws = Ws::default();
        if let Some(stripped) = inner.strip_prefix('-') {
            ws.left = true;
            inner = stripped;
        }
        if let Some(stripped) = inner.strip_suffix('-') {
            ws.right = true;
            inner = stripped;
        }
        pieces.push(match kind {
            "{{" => Piece::Var(ws, inner.trim()),
            "{%" => Piece::Tag(ws, inner.trim()),
            _ => Piece::Comment(ws),
        });
        rest = &rest[inner_start + len + 2..];
    }
    Ok(pieces)
}

/// Offset of `close` in `text`, skipping quoted strings inside tags (not inside comments).
fn find_close(text: &str, close: &str, comment: bool) -> Option<usize> {
    if comment {
        return text.find(close);
    }
    let bytes = text.as_bytes();
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if matches!(b, b'"' | b'\'' | b'`') => quote = Some(b),
            None if text[i..].starts_with(close) => return Some(i),
            None => {}
        }
    }
    None
}

/// The tag that ended a body (`elif …`, `else`, `endif`, `endfor`) with its markers; `None` at
/// the end of the template.
type Closing<'a> = Option<(Ws, &'a str)>;

/// Parses nodes up to a closing tag.
fn body<'a>(pieces: &[Piece<'a>], at: &mut usize) -> Result<(Vec<Node>, Closing<'a>), Unsupported> {
    let mut nodes = Vec::new();
    while let Some(piece) = pieces.get(*at) {
        *at += 1;
        match *piece {
            Piece::Text(text) => nodes.push(Node::Text(text.to_owned())),
            Piece::Comment(ws) => nodes.push(Node::Comment(ws)),
            Piece::Var(ws, inner) => nodes.push(Node::Var(ws, expression(inner)?)),
            Piece::Tag(ws, inner) => {
                let (keyword, args) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
                let args = args.trim();
                match keyword {
                    "if" => nodes.push(if_node(ws, args, pieces, at)?),
                    "for" => nodes.push(for_node(ws, args, pieces, at)?),
                    "set" => {
                        let Some((name, value)) = args.split_once('=') else {
                            return unsupported(format!("`{{% {inner} %}}`"));
                        };
                        let name = name.trim();
                        check_ident(name)?;
                        nodes.push(Node::Set(ws, name.to_owned(), expression(value)?));
                    }
                    "elif" | "else" | "endif" | "endfor" => return Ok((nodes, Some((ws, inner)))),
                    _ => return unsupported(format!("`{{% {inner} %}}`")),
                }
            }
        }
    }
    Ok((nodes, None))
}

fn if_node(
    start: Ws,
    condition: &str,
    pieces: &[Piece],
    at: &mut usize,
) -> Result<Node, Unsupported> {
    let mut conditions = Vec::new();
    let mut tag_ws = start;
    let mut condition = expression(condition)?;
    loop {
        let (nodes, end) = body(pieces, at)?;
        conditions.push((tag_ws, condition, nodes));
        match end {
            Some((ws, tag)) if tag.starts_with("elif ") => {
                tag_ws = ws;
                condition = expression(&tag["elif ".len()..])?;
            }
            Some((else_ws, "else")) => {
                let (nodes, end) = body(pieces, at)?;
                let Some((end_ws, "endif")) = end else {
                    return unsupported("`else` not followed by `endif`");
                };
                return Ok(Node::If {
                    conditions,
                    otherwise: Some((else_ws, nodes)),
                    end: end_ws,
                });
            }
            Some((end_ws, "endif")) => {
                return Ok(Node::If {
                    conditions,
                    otherwise: None,
                    end: end_ws,
                })
            }
            _ => return unsupported("`if` without `endif`"),
        }
    }
}

fn for_node(start: Ws, args: &str, pieces: &[Piece], at: &mut usize) -> Result<Node, Unsupported> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let [var, "in", container] = words[..] else {
        return unsupported(format!("`{{% for {args} %}}`"));
    };
    check_ident(var)?;
    let Expr::Path {
        path,
        default: None,
        filters,
    } = expression(container)?
    else {
        return unsupported(format!("for loop over `{container}`"));
    };
    if !filters.is_empty() {
        return unsupported(format!("for loop over `{container}`"));
    }
    let (nodes, end) = body(pieces, at)?;
    let Some((end, "endfor")) = end else {
        return unsupported("`for` without `endfor` (or with `else`)");
    };
    Ok(Node::For {
        start,
        end,
        var: var.to_owned(),
        container: path,
        body: nodes,
    })
}

fn check_ident(name: &str) -> Result<(), Unsupported> {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        unsupported(format!("name `{name}`"))
    }
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
fn expression(text: &str) -> Result<Expr, Unsupported> {
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
                    default = Some(Box::new(value))
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

    #[test]
    fn refuses_what_it_does_not_implement() {
        for text in [
            "{% macro m() %}{% endmacro %}",
            "{% raw %}x{% endraw %}",
            "{{ a | upper }}",
            "{{ a + 1 }}",
            "{{ loop.index }}",
            "{% for k, v in m %}{% endfor %}",
            "{% for x in xs %}{% else %}{% endfor %}",
            "{% include \"x\" %}",
            "{{ (a) }}",
            "{% if a %}",
            "{{ a | default(value=1) | default(value=2) }}",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
