//! The one table between the NixOS store paths the units name and what this container has, and
//! the rest of the rendered system: the store files the evaluation describes (unit scripts, Redis
//! config) and the users NixOS would create.
//!
//! Nothing else differs from what NixOS would run: every unit file names the same store paths,
//! and in the container each store path is a symlink to Debian's programs (PostgreSQL 15, Redis,
//! bash, coreutils, …) or to the workspace's binaries.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use serde_json::Value;

use super::render::Entry;

/// nixpkgs package (the store path's name after its hash) -> the folder of Debian's package whose
/// `bin/` holds the same programs. Debian's PostgreSQL 15 keeps its server programs in
/// /usr/lib/postgresql/15/bin; the rest is in /usr/bin.
pub const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("postgresql", "/usr/lib/postgresql/15"),
    ("postgresql-15", "/usr/lib/postgresql/15"),
    ("redis", "/usr"),
    ("bash", "/usr"),
    ("coreutils", "/usr"),
    ("findutils", "/usr"),
    ("gnugrep", "/usr"),
    ("gnused", "/usr"),
    ("systemd", "/usr"),
    // `setpriv`, which `stackr-postgres` runs.
    ("util-linux", "/usr"),
];

/// A NixOS module that makes the evaluated hosts choose PostgreSQL 15, Debian's (the per-service
/// servers follow `system.stateVersion`, as nixpkgs' own server does).
pub const DEBIAN_POSTGRESQL_HOST: &str = "{ system.stateVersion = \"23.11\"; }";

/// nixpkgs packages whose programs Debian keeps in /usr/sbin: their store path becomes a folder
/// whose `bin` links there.
pub const DEBIAN_SBIN_PACKAGES: &[&str] = &["nginx", "iptables"];

/// Where the workspace's binaries appear in the container (its `bin/` is the cargo target
/// folder, mounted read-only): every stackr service package maps here.
pub const WORKSPACE_PACKAGE: &str = "/opt/stackr/workspace";

const STORE: &str = "/nix/store/";

/// The store of the rendered system: the evaluation's store files, and a symlink per package
/// store path (Debian's or the workspace's, per the table). A store path any unit names that is
/// neither is an error: the table must say where every program comes from.
pub fn store_entries(
    system: &Value,
    units: &BTreeMap<String, Entry>,
) -> anyhow::Result<BTreeMap<String, Entry>> {
    let mut entries = BTreeMap::new();
    let files = system["storeFiles"].as_object().context("no storeFiles")?;
    for (path, content) in files {
        let content = content.as_str().context("store file content")?.to_owned();
        entries.insert(
            relative(path)?,
            Entry::File {
                executable: content.starts_with("#!"),
                content,
            },
        );
    }
    let workspace: Vec<String> = system["stackr"]["services"]
        .as_object()
        .context("no stackr.services")?
        .values()
        .filter_map(|s| s["package"].as_str().map(str::to_owned))
        .collect();
    let named: Vec<String> = units
        .values()
        .chain(entries.values())
        .filter_map(|e| match e {
            Entry::File { content, .. } => Some(store_paths(content)),
            Entry::Symlink { .. } | Entry::Private { .. } => None,
        })
        .flatten()
        .collect();
    for path in named {
        if files.contains_key(&path) {
            continue;
        }
        let package = package_name(&path);
        if DEBIAN_SBIN_PACKAGES.contains(&package) {
            let bin = format!("{}/bin", relative(&path)?);
            entries.insert(
                bin,
                Entry::Symlink {
                    target: "/usr/sbin".to_owned(),
                },
            );
            continue;
        }
        let target = if workspace.contains(&path) {
            WORKSPACE_PACKAGE.to_owned()
        } else {
            match DEBIAN_PACKAGES.iter().find(|(name, _)| *name == package) {
                Some((_, folder)) => (*folder).to_owned(),
                None => {
                    bail!("{path} is named by a unit but the store table has no `{package}`")
                }
            }
        };
        entries.insert(relative(&path)?, Entry::Symlink { target });
    }
    Ok(entries)
}

/// `etc/sysusers.d/stackr.conf`: the system users and groups of the evaluation, created by
/// systemd-sysusers at boot (NixOS creates `users.users` before any service starts, too).
pub fn sysusers(system: &Value) -> anyhow::Result<(String, Entry)> {
    let users = system["users"].as_object().context("no users")?;
    let mut groups: Vec<&str> = users.values().filter_map(|u| u["group"].as_str()).collect();
    groups.sort();
    groups.dedup();
    let mut text: String = groups.iter().map(|g| format!("g {g} -\n")).collect();
    for (name, user) in users {
        if user["isSystemUser"] != true {
            bail!("user {name} is not a system user; only system users are rendered");
        }
        let group = user["group"].as_str().context("user without group")?;
        let home = user["home"].as_str().unwrap_or("/var/empty");
        text += &format!("u {name} -:{group} \"{name}\" {home}\n");
    }
    Ok((
        "etc/sysusers.d/stackr.conf".to_owned(),
        Entry::File {
            content: text,
            executable: false,
        },
    ))
}

/// Every store path (`/nix/store/<name>`, without what follows it) in `text`.
fn store_paths(text: &str) -> Vec<String> {
    text.match_indices(STORE)
        .map(|(at, _)| {
            let rest = &text[at + STORE.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-._+".contains(c)))
                .unwrap_or(rest.len());
            format!("{STORE}{}", &rest[..end])
        })
        .collect()
}

/// `/nix/store/<hash>-postgresql` -> `postgresql`.
fn package_name(path: &str) -> &str {
    let name = path.trim_start_matches(STORE);
    match name.split_once('-') {
        Some((hash, rest)) if hash.len() == 32 => rest,
        _ => name,
    }
}

fn relative(path: &str) -> anyhow::Result<String> {
    match path.strip_prefix('/') {
        Some(rest) if path.starts_with(STORE) => Ok(rest.to_owned()),
        _ => bail!("{path} is not a store path"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn unit(text: &str) -> BTreeMap<String, Entry> {
        BTreeMap::from([(
            "etc/systemd/system/x.service".to_owned(),
            Entry::File {
                content: text.to_owned(),
                executable: false,
            },
        )])
    }

    #[test]
    fn maps_every_named_package_by_the_table_and_refuses_an_unknown_one() {
        let hash = "0".repeat(32);
        let system = json!({
            "storeFiles": { "/nix/store/unit-script-x-start": format!("#!/nix/store/{hash}-bash/bin/bash\n") },
            "stackr": { "services": { "core": { "package": format!("/nix/store/{hash}-core-service") } } },
        });
        let units = unit(&format!(
            "ExecStart=/nix/store/{hash}-core-service/bin/core-api\n\
             ExecStartPre=/nix/store/unit-script-x-start\n\
             Environment=\"PATH=/nix/store/{hash}-postgresql/bin\"\n"
        ));
        let entries = store_entries(&system, &units).unwrap();
        let link = |name: &str| match &entries[&format!("nix/store/{hash}-{name}")] {
            Entry::Symlink { target } => target.clone(),
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(link("core-service"), WORKSPACE_PACKAGE);
        assert_eq!(link("postgresql"), "/usr/lib/postgresql/15");
        assert_eq!(link("bash"), "/usr");
        assert!(matches!(
            entries["nix/store/unit-script-x-start"],
            Entry::File {
                executable: true,
                ..
            }
        ));

        let sbin = unit(&format!("ExecStart=/nix/store/{hash}-nginx/bin/nginx\n"));
        let entries = store_entries(&system, &sbin).unwrap();
        assert_eq!(
            entries[&format!("nix/store/{hash}-nginx/bin")],
            Entry::Symlink {
                target: "/usr/sbin".into()
            }
        );

        let unknown = unit(&format!(
            "ExecStart=/nix/store/{hash}-haproxy/bin/haproxy\n"
        ));
        let error = store_entries(&system, &unknown).unwrap_err().to_string();
        assert!(error.contains("no `haproxy`"), "{error}");
    }

    #[test]
    fn finds_store_paths_and_their_package_names() {
        let text =
            "ExecStart=/nix/store/00000000000000000000000000000000-postgresql/bin/postgres -c x\n\
                    ExecStartPre=+/nix/store/redis-core-prep-conf\n";
        let paths = store_paths(text);
        assert_eq!(
            paths,
            [
                "/nix/store/00000000000000000000000000000000-postgresql",
                "/nix/store/redis-core-prep-conf"
            ]
        );
        assert_eq!(package_name(&paths[0]), "postgresql");
    }
}
