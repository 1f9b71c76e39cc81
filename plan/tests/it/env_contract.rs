//! The environment the plan gives each process is exactly the contract's: every variable set is
//! listed with a scope that covers the process, and every reserved variable is set somewhere.

use std::path::Path;

use stackr_contract::env::{Scope, CONTRACT};
use stackr_plan::config::parse_config;
use stackr_plan::model::validate;
use stackr_plan::plan::plan;

const CONFIG: &str = r#"{
  "name": "shop",
  "services": [
    { "name": "auth", "kind": "auth", "adminBind": "127.0.0.1", "oauthProviders": [
      { "id": "google", "preset": "google", "clientId": "id.apps" }
    ], "userFields": [ { "name": "plan", "type": "string", "defaultValue": "free" } ] },
    { "name": "core", "authMiddleware": "role-gated", "roles": ["finance"] }
  ]
}"#;

fn covers(scope: Scope, is_auth: bool, is_api: bool) -> bool {
    match scope {
        Scope::Every => true,
        Scope::Api => is_api,
        Scope::Base => !is_auth,
        Scope::Worker => !is_auth && !is_api,
        Scope::Auth => is_auth,
        Scope::Deployment => false,
    }
}

#[test]
fn every_variable_set_is_in_the_contract_for_that_process() {
    let file = Path::new("stackr.config.json");
    let config = parse_config(file, CONFIG).unwrap();
    let plan = plan(&validate(&config, file, CONFIG).unwrap());
    let mut set = std::collections::BTreeSet::new();
    for service in &plan.services {
        let processes = [(true, &service.api_env), (false, &service.worker_env)];
        for (is_api, env) in processes {
            if !is_api && service.is_auth() {
                continue;
            }
            for var in env.iter().filter(|v| !service.extra_env.contains(v)) {
                let entry = CONTRACT
                    .iter()
                    .find(|c| c.name == var.name)
                    .unwrap_or_else(|| panic!("{} is set but not in the contract", var.name));
                assert!(
                    covers(entry.scope, service.is_auth(), is_api),
                    "{} is set for {} ({}) outside its scope {:?}",
                    var.name,
                    service.name,
                    if is_api { "api" } else { "worker" },
                    entry.scope
                );
                set.insert(var.name.clone());
            }
        }
    }
    for entry in CONTRACT
        .iter()
        .filter(|c| c.reserved && c.scope != Scope::Deployment)
    {
        assert!(
            set.contains(entry.name),
            "{} is reserved but the plan never sets it",
            entry.name
        );
    }
}
