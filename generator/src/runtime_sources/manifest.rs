//! A runtime crate's `Cargo.toml` made standalone for a project: settings inherited from the
//! stackr workspace (`x.workspace = true`) are written out, and what only the stackr repository
//! builds or checks (binaries, benches, tests, dev-dependencies, its lint policy) is dropped, so
//! the crate is a library that builds inside any workspace.

use anyhow::{bail, Context, Result};
use toml_edit::{DocumentMut, InlineTable, Item, Value};

/// Tables of the repository's own targets, test-only dependencies and lint policy (a project's
/// lints are its own; the managed crates are checked in the stackr repository).
const DROPPED_TABLES: &[&str] = &[
    "bin",
    "bench",
    "test",
    "example",
    "dev-dependencies",
    "lints",
];
/// Target auto-discovery is off: only the library is vendored.
const AUTO_TARGETS: &[&str] = &["autobins", "autoexamples", "autotests", "autobenches"];
const DEPENDENCY_TABLES: &[&str] = &["dependencies", "build-dependencies"];

/// `member`, standalone; `workspace` is the root manifest it inherits from.
pub fn standalone(member: &str, workspace: &str, stackr_version: &str) -> Result<String> {
    let mut doc: DocumentMut = member.parse().context("a runtime crate's Cargo.toml")?;
    let root: DocumentMut = workspace.parse().context("the workspace Cargo.toml")?;
    let shared = root
        .get("workspace")
        .context("the root Cargo.toml has no [workspace]")?;
    for table in DROPPED_TABLES {
        doc.remove(table);
    }
    let package = doc
        .get_mut("package")
        .and_then(Item::as_table_mut)
        .context("a runtime crate's Cargo.toml has no [package]")?;
    let keys: Vec<String> = package.iter().map(|(k, _)| k.to_owned()).collect();
    for key in keys {
        if inherits(&package[key.as_str()]) {
            let value = shared
                .get("package")
                .and_then(|p| p.get(&key))
                .with_context(|| format!("[workspace.package] has no `{key}` to inherit"))?;
            package[key.as_str()] = value.clone();
        }
    }
    for key in AUTO_TARGETS {
        package[*key] = toml_edit::value(false);
    }
    let name = package
        .get("name")
        .and_then(Item::as_str)
        .unwrap_or("runtime crate")
        .to_owned();
    package.decor_mut().set_prefix(format!(
        "# `{name}` of stackr {stackr_version}, managed by stackr: `stackr generate` rewrites this folder.\n"
    ));
    // The vendored crates sit inside the project, so they are members of its workspace and a
    // plain `cargo test` would build their unit and doc tests, whose fixtures and
    // dev-dependencies stay in the stackr repository: the project tests its own crates only.
    let lib = doc
        .entry("lib")
        .or_insert(toml_edit::table())
        .as_table_like_mut()
        .context("[lib] of a runtime crate is not a table")?;
    lib.insert("test", toml_edit::value(false));
    lib.insert("doctest", toml_edit::value(false));
    for table in DEPENDENCY_TABLES {
        let Some(dependencies) = doc.get_mut(table).and_then(Item::as_table_like_mut) else {
            continue;
        };
        for (dependency, spec) in dependencies.iter_mut() {
            if inherits(spec) {
                let from = shared
                    .get("dependencies")
                    .and_then(|d| d.get(dependency.get()))
                    .with_context(|| {
                        format!("[workspace.dependencies] has no `{}`", dependency.get())
                    })?;
                *spec = Item::Value(Value::InlineTable(merged(from, spec)?));
            }
        }
    }
    Ok(doc.to_string())
}

/// Whether a field or dependency says `workspace = true`.
fn inherits(item: &Item) -> bool {
    item.get("workspace").and_then(Item::as_bool) == Some(true)
}

/// A workspace dependency (`"1"` or a table) with the member's additions: its `features` are
/// added to the workspace's, its other keys (`optional`) are kept.
fn merged(workspace: &Item, member: &Item) -> Result<InlineTable> {
    let mut spec = InlineTable::new();
    match workspace {
        Item::Value(Value::String(version)) => {
            spec.insert("version", version.value().as_str().into());
        }
        other => {
            let Some(table) = other.as_table_like() else {
                bail!("a [workspace.dependencies] entry is neither a version nor a table");
            };
            for (key, value) in table.iter() {
                if let Some(value) = value.as_value() {
                    spec.insert(key, value.clone().decorated("", ""));
                }
            }
        }
    }
    let member = member
        .as_table_like()
        .context("an inheriting dependency is a table")?;
    for (key, value) in member.iter().filter(|(key, _)| *key != "workspace") {
        let Some(value) = value.as_value() else {
            continue;
        };
        match (key, spec.get_mut("features").and_then(Value::as_array_mut)) {
            ("features", Some(features)) => {
                for feature in value.as_array().map(|a| a.iter()).into_iter().flatten() {
                    if !features.iter().any(|f| f.as_str() == feature.as_str()) {
                        features.push(feature.clone().decorated("", ""));
                    }
                }
            }
            _ => {
                spec.insert(key, value.clone().decorated("", ""));
            }
        }
    }
    spec.fmt();
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::standalone;

    const WORKSPACE: &str = r#"
[workspace]
members = ["runtime/kit"]
[workspace.package]
edition = "2021"
version = "0.3.0"
[workspace.dependencies]
anyhow = "1"
tokio = { version = "1", features = ["full"] }
reqwest = { version = "0.12", default-features = false, features = ["json"] }
"#;

    #[test]
    fn writes_out_inherited_settings_and_drops_repository_targets() {
        let member = r#"[package]
name = "stackr-kit"
edition.workspace = true
version.workspace = true
publish = false

[[bin]]
name = "tool"
path = "src/main.rs"

[dependencies]
anyhow = { workspace = true }
reqwest = { workspace = true, features = ["rustls-tls"], optional = true }
url = "2"

[dev-dependencies]
stackr-testkit = { path = "../../testkit" }

[[bench]]
name = "b"
harness = false

[lints]
workspace = true
"#;
        let text = standalone(member, WORKSPACE, "0.3.0").unwrap();
        let doc: toml_edit::DocumentMut = text.parse().unwrap();
        assert_eq!(doc["package"]["edition"].as_str(), Some("2021"), "{text}");
        assert_eq!(doc["package"]["version"].as_str(), Some("0.3.0"), "{text}");
        assert_eq!(doc["package"]["autobins"].as_bool(), Some(false), "{text}");
        assert_eq!(
            doc["dependencies"]["anyhow"]["version"].as_str(),
            Some("1"),
            "{text}"
        );
        let reqwest = &doc["dependencies"]["reqwest"];
        assert_eq!(reqwest["default-features"].as_bool(), Some(false), "{text}");
        assert_eq!(reqwest["optional"].as_bool(), Some(true), "{text}");
        let features: Vec<_> = reqwest["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f.as_str())
            .collect();
        assert_eq!(features, ["json", "rustls-tls"], "{text}");
        assert_eq!(doc["dependencies"]["url"].as_str(), Some("2"), "{text}");
        assert_eq!(doc["lib"]["test"].as_bool(), Some(false), "{text}");
        assert_eq!(doc["lib"]["doctest"].as_bool(), Some(false), "{text}");
        for gone in ["bin", "bench", "dev-dependencies", "lints"] {
            assert!(doc.get(gone).is_none(), "{gone} kept: {text}");
        }
        assert!(!text.contains("workspace"), "{text}");
        assert!(
            text.starts_with("# `stackr-kit` of stackr 0.3.0, managed by stackr"),
            "{text}"
        );
    }

    #[test]
    fn names_a_missing_workspace_entry() {
        let member = "[package]\nname = \"x\"\n[dependencies]\nserde = { workspace = true }\n";
        let err = standalone(member, WORKSPACE, "0.3.0").unwrap_err();
        assert!(format!("{err:#}").contains("serde"), "{err:#}");
    }
}
