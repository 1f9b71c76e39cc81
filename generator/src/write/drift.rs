//! `--check`: compares rendered files with what is on disk, writing nothing.

use std::path::Path;

use crate::render::RenderedFile;

/// A generated file whose disk content differs from what `stackr generate` would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    Missing(String),
    Modified(String),
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::Missing(path) => write!(f, "missing:  {path}"),
            Drift::Modified(path) => write!(f, "modified: {path}"),
        }
    }
}

pub fn drift(root: &Path, files: &[RenderedFile]) -> Vec<Drift> {
    files
        .iter()
        .filter_map(|file| match std::fs::read(root.join(&file.path)) {
            Err(_) => Some(Drift::Missing(file.path.clone())),
            Ok(bytes) if bytes != file.content.as_bytes() => {
                Some(Drift::Modified(file.path.clone()))
            }
            Ok(_) => None,
        })
        .collect()
}
