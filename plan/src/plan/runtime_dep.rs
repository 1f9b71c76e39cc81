//! The Cargo dependency lines scaffolded services use for the stackr runtime crates.

use std::fmt::Write;

use serde::Serialize;

use crate::layout::{AUTH_CRATE_DIR, KIT_CRATE_DIR, VENDORED_DIR};
use crate::model::Runtime;

/// Inline-table TOML for `stackr-auth` and `stackr-kit`, as seen from `services/<name>/Cargo.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeDeps {
    pub auth: String,
    pub kit: String,
    /// The stackr version whose runtime crates the project vendors, if it does.
    pub vendored: Option<String>,
}

impl RuntimeDeps {
    pub fn from_model(runtime: &Runtime) -> Self {
        // Service crates live two levels below the project root; an absolute folder is the
        // same seen from anywhere (prefixed, it would name a folder inside the project).
        let path = |root: &str, crate_dir: &str| {
            let up = if root.starts_with('/') { "" } else { "../../" };
            format!(
                "{{ path = {} }}",
                toml_string(&format!("{up}{root}/{crate_dir}"))
            )
        };
        let spec = |crate_dir: &str| match runtime {
            Runtime::Vendored(_) => path(VENDORED_DIR, crate_dir),
            Runtime::Path(root) => path(root, crate_dir),
            Runtime::Git { url, rev } => format!(
                "{{ git = {}, rev = {} }}",
                toml_string(url),
                toml_string(rev)
            ),
            Runtime::Version(version) => toml_string(version),
        };
        Self {
            auth: spec(AUTH_CRATE_DIR),
            kit: spec(KIT_CRATE_DIR),
            vendored: match runtime {
                Runtime::Vendored(version) => Some(version.clone()),
                _ => None,
            },
        }
    }
}

/// A TOML basic string: `"`, `\` and every control character escaped (TOML refuses most raw, DEL
/// included, which JSON's escaping leaves as it is).
fn toml_string(text: &str) -> String {
    let mut written = String::with_capacity(text.len() + 2);
    written.push('"');
    for c in text.chars() {
        match c {
            '"' => written.push_str("\\\""),
            '\\' => written.push_str("\\\\"),
            '\t' => written.push_str("\\t"),
            '\n' => written.push_str("\\n"),
            '\r' => written.push_str("\\r"),
            c if c.is_control() => {
                // Writing to a String cannot fail.
                let _ = write!(written, "\\u{:04X}", u32::from(c));
            }
            c => written.push(c),
        }
    }
    written.push('"');
    written
}

#[cfg(test)]
mod tests {
    use super::{toml_string, RuntimeDeps};
    use crate::model::Runtime;

    #[test]
    fn a_runtime_folder_is_seen_from_the_service_crates() {
        let relative = RuntimeDeps::from_model(&Runtime::Path("../stackr/runtime".into()));
        assert_eq!(relative.kit, r#"{ path = "../../../stackr/runtime/kit" }"#);
        let absolute = RuntimeDeps::from_model(&Runtime::Path("/src/stackr/runtime".into()));
        assert_eq!(absolute.kit, r#"{ path = "/src/stackr/runtime/kit" }"#);
        assert_eq!(absolute.auth, r#"{ path = "/src/stackr/runtime/auth" }"#);
    }

    /// TOML takes no control character raw in a basic string, DEL included.
    #[test]
    fn toml_strings_escape_every_control_character() {
        for (text, written) in [
            ("=0.1.0\u{7f}", r#""=0.1.0\u007F""#),
            ("a\u{0}b\tc\u{1b}", r#""a\u0000b\tc\u001B""#),
            ("q\"b\\", r#""q\"b\\""#),
            ("é\u{85}", r#""é\u0085""#),
        ] {
            assert_eq!(toml_string(text), written, "{text:?}");
        }
    }
}
