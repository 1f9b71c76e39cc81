//! Unit files from the evaluated system, written as NixOS writes them (nixos/lib/systemd-lib.nix
//! `serviceToUnit`, `attrsToSection`; nixos/modules/system/boot/systemd.nix): `[Unit]` with the
//! description, dependencies and `unitConfig` verbatim, `[Service]` with one `Environment=` line per variable (PATH
//! from the unit's `path` and the default packages) and `serviceConfig` verbatim (a list is one
//! line per element, booleans `true`/`false`). `wantedBy`/`requiredBy` become `.wants`/`.requires`
//! links, as NixOS installs them.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use serde_json::Value;

/// A file of the rendered system, relative to the container's root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    File {
        content: String,
        executable: bool,
    },
    /// A secret: mode 0400, owned by root.
    Private {
        content: Vec<u8>,
    },
    Symlink {
        target: String,
    },
}

/// Every unit of `system` (the JSON of `evaluate.nix`), with its `.wants`/`.requires` links, under
/// `etc/systemd/system/`.
pub fn unit_files(system: &Value) -> anyhow::Result<BTreeMap<String, Entry>> {
    let units = system["units"]
        .as_object()
        .context("the evaluation has no units")?;
    let default_path = strings(&system["defaultUnitPath"])?;
    let mut files = BTreeMap::new();
    for (name, unit) in units {
        let file = format!("{name}.service");
        files.insert(
            format!("etc/systemd/system/{file}"),
            Entry::File {
                content: unit_file(unit, &default_path).with_context(|| format!("unit {name}"))?,
                executable: false,
            },
        );
        files.extend(install_links(unit, &file)?);
    }
    Ok(files)
}

/// The `.wants`/`.requires` links of unit `file`, from its `wantedBy`/`requiredBy`, as NixOS
/// installs them.
fn install_links(unit: &Value, file: &str) -> anyhow::Result<BTreeMap<String, Entry>> {
    let mut links = BTreeMap::new();
    for (field, suffix) in [("wantedBy", "wants"), ("requiredBy", "requires")] {
        for target in strings(&unit[field])? {
            links.insert(
                format!("etc/systemd/system/{target}.{suffix}/{file}"),
                Entry::Symlink {
                    target: format!("../{file}"),
                },
            );
        }
    }
    Ok(links)
}

/// Every socket unit of `system` (`sockets` of `evaluate.nix`), with its `.wants`/`.requires`
/// links: `[Unit]` with the description and ordering, `[Socket]` with one `ListenStream=` per
/// stream and `socketConfig` verbatim (nixos/lib/systemd-lib.nix `socketToUnit`).
pub fn socket_files(system: &Value) -> anyhow::Result<BTreeMap<String, Entry>> {
    let mut files = BTreeMap::new();
    for (name, socket) in system["sockets"].as_object().into_iter().flatten() {
        let file = format!("{name}.socket");
        let mut content = String::from("[Unit]\n");
        if let Some(description) = socket["description"].as_str().filter(|d| !d.is_empty()) {
            content += &format!("Description={description}\n");
        }
        let before = strings(&socket["before"])?;
        if !before.is_empty() {
            content += &format!("Before={}\n", before.join(" "));
        }
        content += "\n[Socket]\n";
        for stream in strings(&socket["listenStreams"])? {
            content += &format!("ListenStream={stream}\n");
        }
        let config = socket["socketConfig"]
            .as_object()
            .with_context(|| format!("socket {name} has no socketConfig"))?;
        content += &settings(config)?;
        files.insert(
            format!("etc/systemd/system/{file}"),
            Entry::File {
                content,
                executable: false,
            },
        );
        files.extend(install_links(socket, &file)?);
    }
    Ok(files)
}

/// The host's commands (`environment.systemPackages` written as scripts, `stackr-set-role`) under
/// `usr/local/bin/`, where NixOS's system profile would put them on PATH.
pub fn command_files(system: &Value) -> anyhow::Result<BTreeMap<String, Entry>> {
    let packages = system["packages"]
        .as_array()
        .context("the evaluation has no packages")?;
    Ok(packages
        .iter()
        .filter_map(|package| {
            let name = package["name"].as_str()?;
            let text = package["text"].as_str().filter(|text| !text.is_empty())?;
            Some((
                format!("usr/local/bin/{name}"),
                Entry::File {
                    content: format!("#!/bin/sh\n{text}"),
                    executable: true,
                },
            ))
        })
        .collect())
}

fn unit_file(unit: &Value, default_path: &[String]) -> anyhow::Result<String> {
    let mut text = String::from("[Unit]\n");
    if let Some(description) = unit["description"].as_str().filter(|d| !d.is_empty()) {
        text += &format!("Description={description}\n");
    }
    for (field, key) in [
        ("requires", "Requires"),
        ("wants", "Wants"),
        ("after", "After"),
        ("before", "Before"),
        ("bindsTo", "BindsTo"),
        ("partOf", "PartOf"),
        ("conflicts", "Conflicts"),
    ] {
        let names = strings(&unit[field])?;
        if !names.is_empty() {
            text += &format!("{key}={}\n", names.join(" "));
        }
    }
    if let Some(config) = unit["unitConfig"].as_object() {
        text += &settings(config)?;
    }
    text += "\n[Service]\n";
    let mut environment: BTreeMap<String, String> = BTreeMap::new();
    if let Some(vars) = unit["environment"].as_object() {
        for (name, value) in vars {
            if let Some(value) = value.as_str() {
                environment.insert(name.clone(), value.to_owned());
            }
        }
    }
    let mut path = strings(&unit["path"])?;
    path.extend(default_path.iter().cloned());
    let bins: Vec<String> = path.iter().map(|p| format!("{p}/bin")).collect();
    let sbins: Vec<String> = path.iter().map(|p| format!("{p}/sbin")).collect();
    environment.insert(
        "PATH".into(),
        format!("{}:{}", bins.join(":"), sbins.join(":")),
    );
    for (name, value) in &environment {
        // NixOS writes `Environment=` + the JSON string of `NAME=value`.
        text += &format!(
            "Environment={}\n",
            serde_json::to_string(&format!("{name}={value}"))?
        );
    }
    let config = unit["serviceConfig"]
        .as_object()
        .context("no serviceConfig")?;
    text += &settings(config)?;
    Ok(text)
}

/// `Key=value` lines of a `serviceConfig`/`unitConfig` (nixos/lib/systemd-lib.nix
/// `attrsToSection`): a list is one line per element.
fn settings(config: &serde_json::Map<String, Value>) -> anyhow::Result<String> {
    let mut text = String::new();
    // Nix attribute sets are ordered by name.
    let config: BTreeMap<&String, &Value> = config.iter().collect();
    for (key, value) in config {
        let values = match value {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for value in values {
            text += &format!("{key}={}\n", option_value(&value)?);
        }
    }
    Ok(text)
}

/// nixos/lib/systemd-lib.nix `toOption`.
fn option_value(value: &Value) -> anyhow::Result<String> {
    Ok(match value {
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => bail!("a systemd setting cannot be {other}"),
    })
}

fn strings(value: &Value) -> anyhow::Result<Vec<String>> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("{item} is not a string"))
            })
            .collect(),
        other => bail!("{other} is not a list"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_sections_environment_lists_and_links() {
        let system = json!({
            "defaultUnitPath": ["/nix/store/x-coreutils"],
            "units": { "demo": {
                "description": "demo unit",
                "after": ["a.service", "b.service"], "requires": [], "wants": [],
                "before": [], "bindsTo": [], "partOf": [], "conflicts": ["shutdown.target"],
                "unitConfig": { "DefaultDependencies": false },
                "wantedBy": ["multi-user.target"], "requiredBy": [],
                "environment": { "FILE": "%d/secret", "QUOTE": "say \"hi\"" },
                "path": ["/nix/store/x-postgresql"],
                "serviceConfig": { "Type": "notify", "PrivateTmp": true, "LimitNOFILE": 65536,
                                   "LoadCredential": ["a:/x", "b:/y"] }
            }}
        });
        let files = unit_files(&system).unwrap();
        let Entry::File { content, .. } = &files["etc/systemd/system/demo.service"] else {
            panic!("no unit file");
        };
        assert_eq!(
            content,
            "[Unit]\nDescription=demo unit\nAfter=a.service b.service\n\
             Conflicts=shutdown.target\nDefaultDependencies=false\n\n[Service]\n\
             Environment=\"FILE=%d/secret\"\n\
             Environment=\"PATH=/nix/store/x-postgresql/bin:/nix/store/x-coreutils/bin:/nix/store/x-postgresql/sbin:/nix/store/x-coreutils/sbin\"\n\
             Environment=\"QUOTE=say \\\"hi\\\"\"\n\
             LimitNOFILE=65536\nLoadCredential=a:/x\nLoadCredential=b:/y\nPrivateTmp=true\nType=notify\n"
        );
        assert_eq!(
            files["etc/systemd/system/multi-user.target.wants/demo.service"],
            Entry::Symlink {
                target: "../demo.service".into()
            }
        );
    }

    #[test]
    fn renders_socket_units_with_their_streams_settings_and_links() {
        let system = json!({ "sockets": { "demo-api": {
            "description": "demo socket", "before": [],
            "wantedBy": ["sockets.target"], "requiredBy": [],
            "listenStreams": ["127.0.0.1:8888"],
            "socketConfig": { "FileDescriptorName": "api", "Service": "demo-api.service",
                              "IPAddressAllow": "localhost" }
        }}});
        let files = socket_files(&system).unwrap();
        let Entry::File { content, .. } = &files["etc/systemd/system/demo-api.socket"] else {
            panic!("no socket file");
        };
        assert_eq!(
            content,
            "[Unit]\nDescription=demo socket\n\n[Socket]\nListenStream=127.0.0.1:8888\n\
             FileDescriptorName=api\nIPAddressAllow=localhost\nService=demo-api.service\n"
        );
        assert_eq!(
            files["etc/systemd/system/sockets.target.wants/demo-api.socket"],
            Entry::Symlink {
                target: "../demo-api.socket".into()
            }
        );
    }

    #[test]
    fn refuses_a_setting_that_is_not_a_scalar() {
        let system = json!({ "defaultUnitPath": [], "units": { "bad": {
            "serviceConfig": { "ExecStart": { "not": "a string" } } } } });
        assert!(unit_files(&system).is_err());
    }
}
