//! Template text -> nodes: splits text from `{{ }}`, `{% %}` and `{# #}` tags and nests `if`/`for`
//! bodies (tag expressions: `expr.rs`). Whitespace markers are recorded, not applied (see
//! `whitespace.rs`).

use super::expr::{expression, Expr};

/// A construct outside the subset (the template is then rendered by tera).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unsupported template construct: {}", self.0)
    }
}

pub(super) fn unsupported<T>(what: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported(what.into()))
}

/// Whether a tag trims the whitespace before it (`{%-`) and after it (`-%}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ws {
    pub left: bool,
    pub right: bool,
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
            None if bytes[i..].starts_with(close.as_bytes()) => return Some(i),
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

#[cfg(test)]
mod tests {
    use super::*;

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
            "{% if é %}{% endif %}",
            "{{ (a) }}",
            "{% if a %}",
            "{{ a | default(value=1) | default(value=2) }}",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
