//! Which string literals of a Rust file name environment variables. A SCREAMING_CASE string is
//! not necessarily one (`"WALLET_EMPTY"` may be an error code), so a literal counts only where a
//! variable is looked up: as an argument of `env::var`, `var_os`, `env!`, `option_env!`,
//! `envy::prefixed`, `config::Environment::with_prefix`, a `lookup(…)` closure and the like; as
//! `env = "…"` in an attribute (clap, figment); or when its suffix says it is a setting
//! (`…_URL`, `…_PASSWORD_FILE`, `…_PORT`, …).

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::rust_source::{string_literal, StringLiteral};

/// Functions and macros whose string arguments are variable names (or name prefixes).
const READERS: [&str; 9] = [
    "var",
    "var_os",
    "env",
    "option_env",
    "prefixed",
    "with_prefix",
    "set_var",
    "remove_var",
    "lookup",
];

/// Suffixes that make a SCREAMING_CASE string a setting wherever it appears.
const SETTING_SUFFIXES: [&str; 16] = [
    "_URL",
    "_URI",
    "_DSN",
    "_FILE",
    "_PASSWORD",
    "_SECRET",
    "_TOKEN",
    "_HOST",
    "_PORT",
    "_DIR",
    "_PATH",
    "_KEY",
    "_DATABASE",
    "_DB",
    "_USER",
    "_",
];

pub fn variable_literals(tokens: &TokenStream) -> Vec<StringLiteral> {
    let mut found = Vec::new();
    collect(tokens.clone(), false, &mut found);
    found.retain(|l| is_screaming_case(&l.value));
    found
}

fn is_screaming_case(text: &str) -> bool {
    text.len() > 1
        && text.starts_with(|c: char| c.is_ascii_uppercase())
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `in_reader_call`: the tokens are the direct arguments of one of [`READERS`].
fn collect(tokens: TokenStream, in_reader_call: bool, found: &mut Vec<StringLiteral>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (index, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Group(group) => {
                let reader = group.delimiter() == Delimiter::Parenthesis
                    && called_name(&tokens, index)
                        .is_some_and(|name| READERS.contains(&name.as_str()));
                collect(group.stream(), reader, found);
            }
            TokenTree::Literal(literal) => {
                let Some(literal) = string_literal(literal) else {
                    continue;
                };
                let after_env_assignment = index >= 2
                    && matches!(&tokens[index - 1], TokenTree::Punct(p) if p.as_char() == '=')
                    && matches!(&tokens[index - 2], TokenTree::Ident(i) if i == "env");
                let setting_shaped = SETTING_SUFFIXES.iter().any(|s| literal.value.ends_with(s));
                if in_reader_call || after_env_assignment || setting_shaped {
                    found.push(literal);
                }
            }
            _ => {}
        }
    }
}

/// The function or macro a parenthesised group is the argument list of: `name(…)`,
/// `name!(…)` or `name::<T>(…)`.
fn called_name(tokens: &[TokenTree], group_index: usize) -> Option<String> {
    let mut index = group_index.checked_sub(1)?;
    if matches!(&tokens[index], TokenTree::Punct(p) if p.as_char() == '!') {
        index = index.checked_sub(1)?;
    }
    match &tokens[index] {
        TokenTree::Ident(name) => Some(name.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::variable_literals;

    fn names(source: &str) -> Vec<String> {
        variable_literals(&source.parse().unwrap())
            .into_iter()
            .map(|l| l.value)
            .collect()
    }

    #[test]
    fn reads_count_and_other_strings_do_not() {
        let source = r#"
            let a = std::env::var("WALLET_LIMITS");
            let b = env!("WALLET_BUILD");
            #[arg(env = "WALLET_MODE")] x: u8,
            let c = envy::prefixed("WALLET_");
            let d = "WALLET_REDIS_URL";
            let code = "WALLET_EMPTY";
            let e = std::env::var(format!("{}_X", "WALLET_Y"));
        "#;
        assert_eq!(
            names(source),
            vec![
                "WALLET_LIMITS",
                "WALLET_BUILD",
                "WALLET_MODE",
                "WALLET_",
                "WALLET_REDIS_URL"
            ]
        );
    }
}
