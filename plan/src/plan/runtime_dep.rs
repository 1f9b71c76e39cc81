//! The Cargo dependency lines scaffolded services use for the stackr runtime crates.

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
        // Service crates live two levels below the project root.
        let path = |root: &str, crate_dir: &str| {
            format!(
                "{{ path = {} }}",
                toml_string(&format!("../../{root}/{crate_dir}"))
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

/// A TOML basic string; JSON string escapes are a subset of TOML's.
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings always serialize")
}
