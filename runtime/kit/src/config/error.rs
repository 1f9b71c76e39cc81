use std::path::PathBuf;

/// A configuration problem, always naming the environment variable involved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {var} is not set (see docs/runtime-contract.md; the generated process-compose.yaml / NixOS module sets it)")]
    Missing { var: &'static str },

    #[error("environment variable {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },

    #[error("cannot read the file named by {var} ({path}): {source}")]
    UnreadableFile {
        var: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the file named by {var} ({path}) is empty")]
    EmptyFile { var: &'static str, path: PathBuf },
}
