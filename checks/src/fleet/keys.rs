//! The secrets of a host, installed where colmena's `deployment.keys` (modules/colmena.nix) puts
//! them: each key's file, read as its `keyCommand` reads it from the deploying machine's folder
//! (relative to the project, where colmena runs), at `destDir/<name>`; and a key an earlier
//! deploy left there, which the host's next start must remove.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::systemd::Entry;

/// Entries (paths relative to `/`) of every key of `system`'s colmena node.
pub fn key_entries(system: &Value, project: &Path) -> anyhow::Result<BTreeMap<String, Entry>> {
    let keys = system["deployment"]["keys"]
        .as_object()
        .context("the host has no colmena keys")?;
    let mut entries = BTreeMap::new();
    for (name, key) in keys {
        let command: Vec<&str> = key["keyCommand"]
            .as_array()
            .context("a key without keyCommand")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let ["cat", source] = command[..] else {
            bail!("key {name}: keyCommand {command:?} is not `cat FILE`");
        };
        // Installed root-owned with mode 0400 (Entry::Private): what every key asks for.
        if key["user"] != "root" || key["group"] != "root" || key["permissions"] != "0400" {
            bail!("key {name} asks for other ownership or permissions: {key}");
        }
        let content = std::fs::read(project.join(source))
            .with_context(|| format!("key {name}: reading {source}"))?;
        let dir = key["destDir"].as_str().context("a key without destDir")?;
        let path = format!("{}/{name}", dir.trim_start_matches('/'));
        entries.insert(path, Entry::Private { content });
    }
    Ok(entries)
}

/// A key an earlier deploy uploaded and this one no longer lists: the name of a service removed
/// from the host, its file, and the record of the keys of that deploy (`modules/stale-keys.nix`),
/// which listed it beside this one's.
pub const STALE_KEY: &str = "retired-db-password";

/// Entries of [`STALE_KEY`] and the record listing it, in the folder of `system`'s keys.
pub fn earlier_deploy_entries(system: &Value) -> anyhow::Result<BTreeMap<String, Entry>> {
    let dir = system["stackr"]["secretsDir"]
        .as_str()
        .context("no stackr.secretsDir")?
        .trim_start_matches('/');
    let keys = system["deployment"]["keys"]
        .as_object()
        .context("the host has no colmena keys")?;
    let record: String = keys
        .keys()
        .map(String::as_str)
        .chain([STALE_KEY])
        .map(|name| format!("{name}\n"))
        .collect();
    Ok(BTreeMap::from([
        (
            format!("{dir}/{STALE_KEY}"),
            Entry::Private {
                content: b"an old password".to_vec(),
            },
        ),
        (
            format!("{dir}/.stackr-keys"),
            Entry::Private {
                content: record.into_bytes(),
            },
        ),
    ]))
}
