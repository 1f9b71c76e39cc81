//! Surgical edits of a service crate's `Cargo.toml` (a file the user owns): pointing its
//! `stackr-auth` / `stackr-kit` dependencies at the config's runtime source, keeping everything
//! else (features, comments, formatting) as it is.

use anyhow::{Context, Result};
use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::plan::RuntimeDeps;

/// Keys of a dependency that say where it comes from; the runtime source replaces exactly these.
const SOURCE_KEYS: &[&str] = &["path", "git", "rev", "branch", "tag", "version", "registry"];
const DEPENDENCY_TABLES: &[&str] = &["dependencies", "dev-dependencies", "build-dependencies"];

/// `text` with every `stackr-auth` / `stackr-kit` dependency taken from `runtime`; unchanged
/// (byte for byte) when they already are.
pub fn set_runtime_deps(text: &str, runtime: &RuntimeDeps) -> Result<String> {
    let mut doc: DocumentMut = text.parse().context("not valid TOML")?;
    let mut changed = false;
    for (name, spec) in [("stackr-auth", &runtime.auth), ("stackr-kit", &runtime.kit)] {
        let wanted: Value = spec.parse().expect("runtime specs are valid TOML values");
        for table in DEPENDENCY_TABLES {
            let Some(item) = doc
                .get_mut(table)
                .and_then(Item::as_table_like_mut)
                .and_then(|deps| deps.get_mut(name))
            else {
                continue;
            };
            changed |= point_at(item, &wanted);
        }
    }
    Ok(if changed {
        doc.to_string()
    } else {
        text.to_owned()
    })
}

/// Gives the dependency `item` the source of `wanted` (a version string or an inline table of
/// source keys); returns whether anything changed.
fn point_at(item: &mut Item, wanted: &Value) -> bool {
    let wanted_keys: Vec<(String, Value)> = match wanted {
        Value::InlineTable(table) => table
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect(),
        version => vec![("version".to_owned(), version.clone())],
    };
    let current = source_of(item);
    let same = current.len() == wanted_keys.len()
        && wanted_keys.iter().all(|(k, v)| {
            current
                .iter()
                .any(|(ck, cv)| ck == k && cv.as_str() == v.as_str())
        });
    if same {
        return false;
    }
    let only_source = item
        .as_table_like()
        .is_none_or(|table| table.iter().all(|(k, _)| SOURCE_KEYS.contains(&k)));
    if only_source {
        // Written as the scaffold writes it, keeping the comment around the value.
        let decor = item.as_value().map(|v| v.decor().clone());
        let mut value = wanted.clone();
        if let Some(decor) = decor {
            *value.decor_mut() = decor;
        }
        *item = Item::Value(value);
    } else if let Some(table) = item.as_table_like_mut() {
        for key in SOURCE_KEYS {
            table.remove(key);
        }
        for (key, mut value) in wanted_keys {
            value.decor_mut().clear();
            table.insert(&key, Item::Value(value));
        }
        table.fmt();
    }
    true
}

/// The source keys of a dependency and their values (a bare string is a version).
fn source_of(item: &Item) -> Vec<(String, Value)> {
    if let Some(version) = item.as_value().filter(|v| v.is_str()) {
        return vec![("version".to_owned(), version.clone())];
    }
    item.as_table_like()
        .map(|table: &dyn TableLike| {
            table
                .iter()
                .filter(|(k, _)| SOURCE_KEYS.contains(k))
                .filter_map(|(k, v)| Some((k.to_owned(), v.as_value()?.clone())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::set_runtime_deps;
    use crate::model::Runtime;
    use crate::plan::RuntimeDeps;

    const SCAFFOLDED: &str = "[package]\nname = \"core-service\"\n\n[dependencies]\nstackr-kit = \"=0.1.0\" # the toolkit\nanyhow = { workspace = true }\n";

    #[test]
    fn moves_a_scaffolded_dependency_to_another_source() {
        let vendored = RuntimeDeps::from_model(&Runtime::Vendored("0.1.0".into()));
        let text = set_runtime_deps(SCAFFOLDED, &vendored).unwrap();
        assert_eq!(
            text,
            SCAFFOLDED.replace(
                "\"=0.1.0\" # the toolkit",
                "{ path = \"../../stackr-runtime/kit\" } # the toolkit"
            )
        );
        assert_eq!(
            set_runtime_deps(&text, &vendored).unwrap(),
            text,
            "a second run changes nothing"
        );
        let git = RuntimeDeps::from_model(&Runtime::Git {
            url: "https://example.invalid/stackr.git".into(),
            rev: "abc".into(),
        });
        let text = set_runtime_deps(&text, &git).unwrap();
        assert!(
            text.contains("stackr-kit = { git = \"https://example.invalid/stackr.git\", rev = \"abc\" } # the toolkit"),
            "{text}"
        );
    }

    #[test]
    fn keeps_features_and_other_keys_of_the_users() {
        let text = "[dependencies]\nstackr-kit = { version = \"=0.1.0\", features = [\"x\"] }\n\n[dependencies.stackr-auth]\npath = \"../../runtime/auth\"\ndefault-features = false\n";
        let vendored = RuntimeDeps::from_model(&Runtime::Vendored("0.1.0".into()));
        let edited = set_runtime_deps(text, &vendored).unwrap();
        let doc: toml_edit::DocumentMut = edited.parse().unwrap();
        let kit = &doc["dependencies"]["stackr-kit"];
        assert_eq!(
            kit["path"].as_str(),
            Some("../../stackr-runtime/kit"),
            "{edited}"
        );
        assert!(kit.get("version").is_none(), "{edited}");
        assert!(kit["features"].is_array(), "{edited}");
        let auth = &doc["dependencies"]["stackr-auth"];
        assert_eq!(
            auth["path"].as_str(),
            Some("../../stackr-runtime/auth"),
            "{edited}"
        );
        assert_eq!(auth["default-features"].as_bool(), Some(false), "{edited}");
    }
}
