//! The Cargo dependency lines scaffolded services use for the stackr runtime crates.

use serde::Serialize;

use crate::model::Runtime;

/// Inline-table TOML for `stackr-auth` and `stackr-kit`, as seen from `services/<name>/Cargo.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeDeps {
    pub auth: String,
    pub kit: String,
}

impl RuntimeDeps {
    pub fn from_model(runtime: &Runtime) -> Self {
        let spec = |crate_dir: &str| match runtime {
            // Service crates live two levels below the project root.
            Runtime::Path(root) => format!(
                "{{ path = {} }}",
                toml_string(&format!("../../{root}/{crate_dir}"))
            ),
            Runtime::Git { url, rev } => format!(
                "{{ git = {}, rev = {} }}",
                toml_string(url),
                toml_string(rev)
            ),
            Runtime::Version(version) => toml_string(version),
        };
        Self {
            auth: spec("auth"),
            kit: spec("kit"),
        }
    }
}

/// A TOML basic string; JSON string escapes are a subset of TOML's.
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings always serialize")
}
