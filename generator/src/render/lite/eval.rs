//! Renders nodes against a context tree with tera's rules: variables resolve in the innermost
//! `for`/`set` scope first, then in the context; values print as tera prints them; truthiness,
//! comparisons and `default` behave as in tera. `None` whenever tera would fail or decide
//! differently than this subset can, so the caller can let tera render.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Number;

use super::expr::{Compare, Expr, Filter};
use super::syntax::Node;
use super::value::Value;
use crate::render::engine::nix_str_of;

/// A name bound by `for` or `set`, innermost last.
struct Binding<'n, 'v> {
    name: &'n str,
    value: Cow<'v, Value>,
}

struct Renderer<'n, 'v> {
    context: &'v Value,
    scope: Vec<Binding<'n, 'v>>,
}

pub fn render(nodes: &[Node], context: &Value) -> Option<String> {
    let mut renderer = Renderer {
        context,
        scope: Vec::new(),
    };
    let mut out = String::with_capacity(4096);
    renderer.nodes(nodes, &mut out)?;
    Some(out)
}

impl<'n, 'v> Renderer<'n, 'v> {
    fn nodes(&mut self, nodes: &'n [Node], out: &mut String) -> Option<()> {
        for node in nodes {
            match node {
                Node::Text(text) => out.push_str(text),
                Node::Comment(_) => {}
                Node::Var(_, expr) => {
                    let value = self.value(expr)?;
                    write_value(out, &value);
                }
                Node::Set(_, name, expr) => {
                    let value = Cow::Owned(self.value(expr)?.into_owned());
                    self.scope.push(Binding { name, value });
                }
                Node::For {
                    var,
                    container,
                    body,
                    ..
                } => {
                    // Only containers borrowed from the context: their items can be borrowed too.
                    let Found::Context(Value::Array(items)) = self.lookup(container)? else {
                        return None;
                    };
                    let base = self.scope.len();
                    for item in items {
                        self.scope.push(Binding {
                            name: var,
                            value: Cow::Borrowed(item),
                        });
                        self.nodes(body, out)?;
                        // `set` inside the body lasts one iteration, as in tera.
                        self.scope.truncate(base);
                    }
                }
                Node::If {
                    conditions,
                    otherwise,
                    ..
                } => {
                    let mut chosen = otherwise.as_ref().map(|(_, body)| body);
                    for (_, condition, body) in conditions {
                        if self.truthy(condition)? {
                            chosen = Some(body);
                            break;
                        }
                    }
                    if let Some(body) = chosen {
                        self.nodes(body, out)?;
                    }
                }
            }
        }
        Some(())
    }

    /// The value at `path`: bindings innermost first (a binding whose sub-path is missing lets
    /// the search go on outwards, as in tera), then the context.
    fn lookup(&self, path: &[String]) -> Option<Found<'_, 'v>> {
        let (first, rest) = path.split_first()?;
        for binding in self.scope.iter().rev().filter(|b| b.name == first) {
            let found = match &binding.value {
                Cow::Borrowed(value) => descend(value, rest).map(Found::Context),
                Cow::Owned(value) => descend(value, rest).map(Found::Scope),
            };
            if found.is_some() {
                return found;
            }
        }
        let root = self.context.get(first)?;
        descend(root, rest).map(Found::Context)
    }

    fn value(&self, expr: &Expr) -> Option<Cow<'_, Value>> {
        match expr {
            Expr::Path {
                path,
                default,
                filters,
            } => {
                let found = self.lookup(path).map(|f| Cow::Borrowed(f.value()));
                let mut value = match (found, default) {
                    (Some(v), Some(d)) if matches!(*v, Value::Null) => self.value(d)?,
                    (None, Some(d)) => self.value(d)?,
                    (found, _) => found?,
                };
                for filter in filters {
                    value = Cow::Owned(apply(filter, &value)?);
                }
                Some(value)
            }
            Expr::Str(text) => Some(Cow::Owned(Value::String(text.clone()))),
            Expr::Int(n) => Some(Cow::Owned(Value::Number(Number::from(*n)))),
            Expr::Concat(parts) => {
                // Room for a typical `NAME=value` line, so it is not regrown piece by piece.
                let mut text = String::with_capacity(96);
                for part in parts {
                    match &*self.value(part)? {
                        Value::String(s) => text.push_str(s),
                        Value::Number(n) => write!(text, "{n}").ok()?,
                        _ => return None,
                    }
                }
                Some(Cow::Owned(Value::String(text)))
            }
            Expr::Not(inner) => Some(Cow::Owned(Value::Bool(!self.truthy(inner)?))),
            Expr::And(..) | Expr::Or(..) | Expr::Compare(..) => {
                Some(Cow::Owned(Value::Bool(self.truthy(expr)?)))
            }
        }
    }

    /// An expression as an `if` condition. A variable that cannot be resolved is false there.
    fn truthy(&self, expr: &Expr) -> Option<bool> {
        match expr {
            Expr::Path { .. } => Some(self.value(expr).is_some_and(|v| is_truthy(&v))),
            Expr::Not(inner) => Some(!self.truthy(inner)?),
            Expr::And(a, b) => Some(self.truthy(a)? && self.truthy(b)?),
            Expr::Or(a, b) => Some(self.truthy(a)? || self.truthy(b)?),
            Expr::Compare(op, a, b) => {
                let (a, b) = (self.value(a)?, self.value(b)?);
                match op {
                    Compare::Eq | Compare::NotEq => {
                        let same = match (&*a, &*b) {
                            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
                            (Value::Number(_), _) | (_, Value::Number(_)) => false,
                            // serde_json compares objects regardless of key order: leave to tera.
                            (Value::Object(_) | Value::Array(_), _)
                            | (_, Value::Object(_) | Value::Array(_)) => return None,
                            (a, b) => a == b,
                        };
                        Some(same == (*op == Compare::Eq))
                    }
                    _ => {
                        let (Value::Number(x), Value::Number(y)) = (&*a, &*b) else {
                            return None;
                        };
                        let (x, y) = (x.as_f64()?, y.as_f64()?);
                        Some(match op {
                            Compare::Gt => x > y,
                            Compare::Gte => x >= y,
                            Compare::Lt => x < y,
                            _ => x <= y,
                        })
                    }
                }
            }
            Expr::Str(_) | Expr::Int(_) | Expr::Concat(_) => Some(is_truthy(&*self.value(expr)?)),
        }
    }
}

/// Where a variable was found: in the context (lives as long as the render), or in a value a
/// `set` computed (lives in the scope).
enum Found<'s, 'v> {
    Context(&'v Value),
    Scope(&'s Value),
}

impl<'s, 'v: 's> Found<'s, 'v> {
    fn value(self) -> &'s Value {
        match self {
            Found::Context(value) | Found::Scope(value) => value,
        }
    }
}

fn descend<'a>(mut value: &'a Value, path: &[String]) -> Option<&'a Value> {
    for segment in path {
        value = match value {
            Value::Object(_) => value.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

fn apply(filter: &Filter, value: &Value) -> Option<Value> {
    Some(match filter {
        Filter::NixStr => Value::String(match value {
            Value::String(text) => nix_str_of(Some(text), value),
            other => nix_str_of(None, other),
        }),
        Filter::JsonEncode => Value::String(serde_json::to_string(value).ok()?),
        Filter::Length => Value::Number(Number::from(match value {
            Value::Array(items) => items.len(),
            Value::Object(entries) => entries.len(),
            Value::String(text) => text.chars().count(),
            _ => return None,
        } as u64)),
    })
}

fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// Prints a value the way tera does in `{{ }}`.
fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Number(n) => {
            let _ = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => write!(out, "{i}"),
                (_, Some(u), _) => write!(out, "{u}"),
                (_, _, Some(f)) => write!(out, "{f}"),
                _ => Ok(()),
            };
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => {}
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(_) => out.push_str("[object]"),
    }
}
