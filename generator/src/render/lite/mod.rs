//! A small renderer for the part of tera's template language the generated files use: text,
//! `{{ expr }}`, `{% if/elif/else %}`, `{% for x in path %}`, `{% set %}`, comments, the `-`
//! whitespace markers, `not/and/or`, comparisons, `~` and the filters `nix_str`, `json_encode`,
//! `length` and `default`.
//!
//! Why it exists: tera parses templates with pest (~10 ms for ours, paid by every `stackr`
//! process) and resolves every `{{ s.a.b }}` by allocating each path segment twice, which made
//! rendering cost ~300 µs per service. Here templates are parsed by hand (~0.25 ms for all) into
//! nodes whose paths are split once, and rendering borrows from the context.
//!
//! It follows tera's semantics (whitespace trimming, truthiness, value rendering, `default`),
//! and everything outside this subset is refused at parse time ([`Unsupported`]) or fails at
//! render time, in which case [`super::engine`] renders the template with tera itself. Tests
//! compare both engines on every template.

mod eval;
mod expr;
mod syntax;
mod value;
mod whitespace;

pub use syntax::Unsupported;
pub use value::Value;

/// A parsed template.
#[derive(Debug)]
pub struct Template {
    nodes: Vec<syntax::Node>,
}

impl Template {
    /// Parses `source`, or says which construct is outside the subset.
    pub fn parse(source: &str) -> Result<Self, Unsupported> {
        let nodes = syntax::parse(source)?;
        Ok(Self {
            nodes: whitespace::remove_whitespace(nodes, None),
        })
    }

    /// Renders against `context` (an object), or `None` where tera would have to decide (an
    /// undefined variable, a value of the wrong type): the caller then renders with tera.
    pub fn render(&self, context: &Value) -> Option<String> {
        eval::render(&self.nodes, context)
    }
}
