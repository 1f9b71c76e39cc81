//! process-compose's load-time variable expansion: `$VAR` and `${VAR}` in the file are replaced
//! with the caller's environment (unset → empty), `${VAR:-default}` falls back when unset or
//! empty, and `$$` stands for a literal `$` left for the shell. Running the same file through
//! the embedded supervisor must give the commands process-compose would run.

/// Expands `input` with `lookup`; see the module docs for the syntax.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek().map(|&(_, n)| n) {
            Some('$') => {
                chars.next();
                out.push('$');
            }
            Some('{') => {
                chars.next();
                let mut body = String::new();
                let mut closed = false;
                for (_, n) in chars.by_ref() {
                    if n == '}' {
                        closed = true;
                        break;
                    }
                    body.push(n);
                }
                if !closed {
                    // Not a variable reference after all: keep the text as written.
                    out.push_str("${");
                    out.push_str(&body);
                    continue;
                }
                out.push_str(&braced(&body, lookup));
            }
            Some(n) if n == '_' || n.is_ascii_alphabetic() => {
                let mut name = String::new();
                while let Some(&(_, n)) = chars.peek() {
                    if n == '_' || n.is_ascii_alphanumeric() {
                        name.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push_str(&lookup(&name).unwrap_or_default());
            }
            _ => out.push('$'),
        }
    }
    out
}

fn braced(body: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    if let Some((name, default)) = body.split_once(":-") {
        return match lookup(name) {
            Some(v) if !v.is_empty() => v,
            _ => default.to_owned(),
        };
    }
    if let Some((name, default)) = body.split_once('-') {
        return lookup(name).unwrap_or_else(|| default.to_owned());
    }
    lookup(body).unwrap_or_default()
}

/// Expansion from the supervisor's own environment.
pub fn expand_from_env(input: &str) -> String {
    expand(input, &|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/dev".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_plain_and_braced_variables() {
        assert_eq!(expand("cd $HOME/x", &env), "cd /home/dev/x");
        assert_eq!(expand("cd ${HOME}x", &env), "cd /home/devx");
        assert_eq!(expand("a${MISSING}b$MISSING.c", &env), "ab.c");
    }

    #[test]
    fn double_dollar_is_left_for_the_shell() {
        assert_eq!(expand("echo $$PGDATA $$1", &env), "echo $PGDATA $1");
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        assert_eq!(expand("${MISSING:-5432}", &env), "5432");
        assert_eq!(expand("${EMPTY:-x}", &env), "x");
        assert_eq!(expand("${EMPTY-x}", &env), "");
        assert_eq!(expand("${HOME:-x}", &env), "/home/dev");
    }

    #[test]
    fn lone_dollars_stay() {
        assert_eq!(
            expand("cost: 5$ and $ and $1 and ${open", &env),
            "cost: 5$ and $ and $1 and ${open"
        );
    }
}
