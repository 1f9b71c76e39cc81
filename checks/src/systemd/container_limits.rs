//! The only change made to the evaluated units before they run here: settings that cannot work
//! in a Docker container, measured with systemd 252 in the checks' image (and listed, with the
//! reason, in modules/README.md). Everything else runs as NixOS would run it.

use serde_json::Value;

/// `PrivateUsers=true` together with any `ProtectProc=` other than `default` fails in a container
/// with status 217/USER ("Failed to set up user namespacing: No such file or directory"): the
/// helper that writes the new user namespace's uid/gid maps cannot find the service process in
/// the new procfs instance systemd mounts for ProtectProc inside a container. Either setting alone
/// works, so such units keep `ProtectProc=` (it hides other processes and their environments)
/// and lose `PrivateUsers=`. On a host booted by systemd both apply.
pub fn drop_private_users_beside_protect_proc(system: &mut Value) -> Vec<String> {
    let mut changed = Vec::new();
    let Some(units) = system["units"].as_object_mut() else {
        return changed;
    };
    for (name, unit) in units {
        let Some(config) = unit["serviceConfig"].as_object_mut() else {
            continue;
        };
        let protect_proc = config
            .get("ProtectProc")
            .and_then(Value::as_str)
            .is_some_and(|v| v != "default");
        if protect_proc && config.get("PrivateUsers") == Some(&Value::Bool(true)) {
            config.remove("PrivateUsers");
            changed.push(format!("{name}: PrivateUsers dropped (beside ProtectProc)"));
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_private_users_only_where_protect_proc_is_set() {
        let mut system = json!({ "units": {
            "both": { "serviceConfig": { "PrivateUsers": true, "ProtectProc": "invisible" } },
            "users-only": { "serviceConfig": { "PrivateUsers": true } },
        }});
        let changed = drop_private_users_beside_protect_proc(&mut system);
        assert_eq!(changed, ["both: PrivateUsers dropped (beside ProtectProc)"]);
        assert!(system["units"]["both"]["serviceConfig"]
            .get("PrivateUsers")
            .is_none());
        assert_eq!(
            system["units"]["users-only"]["serviceConfig"]["PrivateUsers"],
            true
        );
    }
}
