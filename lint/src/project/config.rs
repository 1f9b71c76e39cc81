//! The facts the rules need from `stackr.config.json` (service names, kinds, the ports of each
//! service's own stores), taken from the plan the generator renders, so lint never derives a
//! port or a default on its own.

use std::path::Path;

use anyhow::{bail, Result};
pub use stackr_plan::config::{ServiceKind, CONFIG_FILE};
use stackr_plan::plan::Plan;

/// One entry of the config's `services` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredService {
    pub name: String,
    pub kind: ServiceKind,
    /// Ports this service's own PostgreSQL and Redis listen on (dev and deploy).
    pub postgres_ports: Vec<u16>,
    pub redis_ports: Vec<u16>,
}

pub fn read_config(root: &Path) -> Result<Vec<ConfiguredService>> {
    if !root.join(CONFIG_FILE).is_file() {
        let help = stackr_plan::config::project_above_hint(root).unwrap_or_else(|| {
            "run `stackr lint` in a stackr project root or pass the root as PATH".to_owned()
        });
        bail!("cannot read {}: {help}", root.join(CONFIG_FILE).display());
    }
    let planned = stackr_plan::load_planned(root)?;
    Ok(services_of(&planned.plan))
}

pub fn services_of(plan: &Plan) -> Vec<ConfiguredService> {
    plan.services
        .iter()
        .map(|s| ConfiguredService {
            name: s.name.clone(),
            kind: s.kind,
            postgres_ports: std::iter::once(s.dev_postgres_port)
                .chain(s.deploy_postgres_port)
                .collect(),
            redis_ports: vec![s.dev_redis_port, s.deploy_redis_port],
        })
        .collect()
}
