//! Lexical path arithmetic: where a relative path written in a service's source lands inside
//! the project, without touching the file system (the target need not exist).

use std::path::{Component, Path, PathBuf};

use crate::project::{Project, Service};

/// `a/b/../c/./d` → `a/c/d`. A `..` above the start is kept, so a path that leaves the project
/// never looks like one inside it.
pub fn normalize(path: &Path) -> PathBuf {
    let mut parts: Vec<Component> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                _ => parts.push(component),
            },
            other => parts.push(other),
        }
    }
    parts.iter().collect()
}

/// `written`, resolved against `base` (both relative to the project root), made relative to the
/// root again. Absolute paths into the project are accepted too.
pub fn resolve(project: &Project, base: &Path, written: &str) -> PathBuf {
    let written = Path::new(written);
    if written.is_absolute() {
        return match written.strip_prefix(&project.root) {
            Ok(inside) => normalize(inside),
            Err(_) => written.to_owned(),
        };
    }
    normalize(&base.join(written))
}

/// The service whose crate directory contains `path` (relative to the root).
pub fn owning_service<'a>(project: &'a Project, path: &Path) -> Option<&'a Service> {
    project.services.iter().find(|s| path.starts_with(&s.dir))
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::path::Path;

    #[test]
    fn parent_components_are_folded() {
        assert_eq!(
            normalize(Path::new("services/core/src/../../wallet/x.rs")),
            Path::new("services/wallet/x.rs")
        );
        assert_eq!(normalize(Path::new("a/../../b")), Path::new("../b"));
    }
}
