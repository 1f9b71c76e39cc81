//! `no-trusted-identity-header`: identity comes only from the auth service's answer to the
//! forwarded cookie, which the stackr_kit guard extractors obtain. Handler code that reads
//! `x-user-id`, `x-forwarded-user`, `x-auth-user…` (or a `TypedHeader` of such) trusts whatever
//! any client chose to send.
//!
//! Only *reads* count: `headers.get(…)`, `headers[…]`, `headers.contains_key(…)`, a one-argument
//! `req.header(…)`, `TypedHeader<XUserId>` and `typed_get::<XUserId>()`. Setting such a header
//! on an outgoing request (a test proving it is ignored) is fine.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;

use super::{finding, Rule};
use crate::finding::LintReport;
use crate::identity_headers::{is_identity_header, kebab_case};
use crate::project::{Project, Service};
use crate::rust_source::{position, string_literal};

pub const RULE: Rule = Rule {
    name: NAME,
    rationale: "any client can send x-user-id & co; identity comes only from auth's answer to the cookie, via the stackr_kit guard",
    check,
};

const NAME: &str = "no-trusted-identity-header";

/// Methods that read a header by name (`HeaderMap`, http `Request`, actix/tide style).
const READ_METHODS: [&str; 5] = ["get", "get_all", "contains_key", "header", "get_header"];
const TYPED_READ_METHODS: [&str; 2] = ["typed_get", "typed_try_get"];

fn check(project: &Project, report: &mut LintReport) {
    for service in &project.services {
        let names = IdentityNames::of(service);
        for file in &service.rust_files {
            let Some(syntax) = &file.syntax else { continue };
            let mut reads = HeaderReads {
                names: &names,
                found: Vec::new(),
            };
            reads.visit_file(syntax);
            for (at, header) in reads.found {
                report.findings.push(finding(
                    NAME,
                    &file.path,
                    at,
                    format!(
                        "service `{}` reads identity from {header}, which any client can set; take \
                         the user from the stackr_kit guard (e.g. the `Authenticated` extractor), \
                         which asks auth about the forwarded cookie",
                        service.name
                    ),
                ));
            }
        }
    }
}

/// Constants (`const X_USER_ID: HeaderName = HeaderName::from_static("x-user-id")`) and
/// `headers::Header` types whose name is an identity header, collected over the whole crate
/// so a read in one file of a constant defined in another is still seen.
#[derive(Default)]
struct IdentityNames {
    constants: BTreeSet<String>,
    header_types: BTreeSet<String>,
}

impl IdentityNames {
    fn of(service: &Service) -> IdentityNames {
        let mut names = IdentityNames::default();
        let files = || service.rust_files.iter().filter_map(|f| f.syntax.as_ref());
        for syntax in files() {
            ConstantCollector(&mut names).visit_file(syntax);
        }
        for syntax in files() {
            HeaderTypeCollector(&mut names).visit_file(syntax);
        }
        names
    }

    fn is_identity_constant(&self, name: &str) -> bool {
        self.constants.contains(name) || (name.starts_with("X_") && is_identity_header(name))
    }

    /// The identity header a token stream names, through a literal or a known constant.
    fn header_in(&self, tokens: TokenStream) -> Option<String> {
        tokens.into_iter().find_map(|token| match token {
            TokenTree::Literal(literal) => string_literal(&literal)
                .map(|l| l.value)
                .filter(|v| v.contains('-') && is_identity_header(v)),
            TokenTree::Ident(ident) if self.constants.contains(&ident.to_string()) => {
                Some(ident.to_string())
            }
            TokenTree::Group(group) => self.header_in(group.stream()),
            _ => None,
        })
    }
}

struct ConstantCollector<'a>(&'a mut IdentityNames);

impl<'ast> Visit<'ast> for ConstantCollector<'_> {
    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        let names = &mut *self.0;
        if names.header_in(item.expr.to_token_stream()).is_some() {
            names.constants.insert(item.ident.to_string());
        }
    }
    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        let names = &mut *self.0;
        if names.header_in(item.expr.to_token_stream()).is_some() {
            names.constants.insert(item.ident.to_string());
        }
    }
    fn visit_impl_item_const(&mut self, item: &'ast syn::ImplItemConst) {
        let names = &mut *self.0;
        if names.header_in(item.expr.to_token_stream()).is_some() {
            names.constants.insert(item.ident.to_string());
        }
    }
}

struct HeaderTypeCollector<'a>(&'a mut IdentityNames);

impl<'ast> Visit<'ast> for HeaderTypeCollector<'_> {
    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let implements_header = item
            .trait_
            .as_ref()
            .and_then(|(_, path, _)| path.segments.last())
            .is_some_and(|segment| segment.ident == "Header");
        if let (true, syn::Type::Path(self_type)) = (implements_header, &*item.self_ty) {
            let names = &mut *self.0;
            let body: TokenStream = item.items.iter().map(ToTokens::to_token_stream).collect();
            if names.header_in(body).is_some() {
                if let Some(segment) = self_type.path.segments.last() {
                    names.header_types.insert(segment.ident.to_string());
                }
            }
        }
    }
}

struct HeaderReads<'a> {
    names: &'a IdentityNames,
    /// Position and a description of what was read (``request header `x-user-id` ``).
    found: Vec<((usize, usize), String)>,
}

impl HeaderReads<'_> {
    /// The identity header `argument` names, if any. A literal must look like a header
    /// (`x-…`, or read from something called `…header…`) so `json.get("user-id")` is left alone.
    fn identity_argument(&self, argument: &syn::Expr, receiver_is_headers: bool) -> Option<String> {
        match argument {
            syn::Expr::Lit(syn::ExprLit { lit, .. }) => {
                let value = match lit {
                    syn::Lit::Str(s) => s.value(),
                    syn::Lit::ByteStr(b) => String::from_utf8_lossy(&b.value()).into_owned(),
                    _ => return None,
                };
                let header_shaped =
                    value.to_ascii_lowercase().starts_with("x-") || receiver_is_headers;
                let is_identity =
                    header_shaped && value.contains('-') && is_identity_header(&value);
                is_identity.then(|| format!("request header `{value}`"))
            }
            syn::Expr::Path(path) => {
                let name = path.path.segments.last()?.ident.to_string();
                // A constant defined elsewhere (another crate) is judged by its name, but only
                // when read from headers: `claims.get(USER_ID)` is not a header read.
                let named_like_header =
                    receiver_is_headers && is_identity_header(name.trim_end_matches("_HEADER"));
                let is_identity = self.names.is_identity_constant(&name) || named_like_header;
                is_identity.then(|| format!("request header `{name}` (an identity header name)"))
            }
            syn::Expr::Reference(reference) => {
                self.identity_argument(&reference.expr, receiver_is_headers)
            }
            syn::Expr::Paren(inner) => self.identity_argument(&inner.expr, receiver_is_headers),
            // HeaderName::from_static("x-user-id") and friends, written inline.
            syn::Expr::Call(call) => call
                .args
                .iter()
                .find_map(|a| self.identity_argument(a, true)),
            _ => None,
        }
    }

    fn identity_type(&self, ty: &syn::Type) -> Option<String> {
        let syn::Type::Path(path) = ty else {
            return None;
        };
        let name = path.path.segments.last()?.ident.to_string();
        let known = self.names.header_types.contains(&name);
        (known || is_identity_header(&kebab_case(&name))).then(|| format!("typed header `{name}`"))
    }

    fn report(&mut self, span: proc_macro2::Span, header: String) {
        self.found.push((position(span), header));
    }
}

fn mentions_headers(expr: &syn::Expr) -> bool {
    expr.to_token_stream()
        .to_string()
        .to_ascii_lowercase()
        .contains("header")
}

impl<'ast> Visit<'ast> for HeaderReads<'_> {
    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let method = call.method.to_string();
        if READ_METHODS.contains(&method.as_str()) && call.args.len() == 1 {
            let argument = &call.args[0];
            if let Some(header) = self.identity_argument(argument, mentions_headers(&call.receiver))
            {
                self.report(argument.span(), header);
            }
        }
        if TYPED_READ_METHODS.contains(&method.as_str()) {
            for argument in call.turbofish.iter().flat_map(|t| &t.args) {
                if let syn::GenericArgument::Type(ty) = argument {
                    if let Some(header) = self.identity_type(ty) {
                        self.report(ty.span(), header);
                    }
                }
            }
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_index(&mut self, index: &'ast syn::ExprIndex) {
        if let Some(header) = self.identity_argument(&index.index, mentions_headers(&index.expr)) {
            self.report(index.index.span(), header);
        }
        syn::visit::visit_expr_index(self, index);
    }

    /// `TypedHeader<XUserId>` wherever a type is written (extractor arguments, `Option<…>`).
    fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
        if segment.ident == "TypedHeader" {
            if let syn::PathArguments::AngleBracketed(arguments) = &segment.arguments {
                for argument in &arguments.args {
                    if let syn::GenericArgument::Type(ty) = argument {
                        if let Some(header) = self.identity_type(ty) {
                            self.report(ty.span(), header);
                        }
                    }
                }
            }
        }
        syn::visit::visit_path_segment(self, segment);
    }

    /// Macro bodies are not parsed by syn; look for `<…header…>.get("x-user-id")` in their tokens.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.scan_macro_tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }
}

impl HeaderReads<'_> {
    fn scan_macro_tokens(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (index, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Group(group) => self.scan_macro_tokens(group.stream()),
                TokenTree::Ident(method) if READ_METHODS.iter().any(|m| method == m) => {
                    let after_dot = index > 0
                        && matches!(&tokens[index - 1], TokenTree::Punct(p) if p.as_char() == '.');
                    let receiver_is_headers = index > 1
                        && tokens[index - 2]
                            .to_string()
                            .to_ascii_lowercase()
                            .contains("header");
                    let Some(TokenTree::Group(arguments)) = tokens.get(index + 1) else {
                        continue;
                    };
                    let Some(TokenTree::Literal(literal)) = arguments.stream().into_iter().next()
                    else {
                        continue;
                    };
                    let Some(literal) = string_literal(&literal) else {
                        continue;
                    };
                    let value = literal.value;
                    let header_shaped =
                        value.to_ascii_lowercase().starts_with("x-") || receiver_is_headers;
                    if after_dot
                        && header_shaped
                        && value.contains('-')
                        && is_identity_header(&value)
                    {
                        self.found.push((
                            (literal.line, literal.column),
                            format!("request header `{value}`"),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
}
