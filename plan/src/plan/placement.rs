//! The fleet: the hosts of a deployment spanning several machines, what each runs, and the local
//! folder its secrets and certificates are uploaded from.

use serde::Serialize;

use crate::model::placement::{Placement, Replicas};
use crate::model::Model;

#[derive(Debug, Clone, Serialize)]
pub struct FleetPlan {
    pub hosts: Vec<HostPlan>,
    pub services: Vec<PlacedService>,
    /// Folder (relative to the project root, inside the git-ignored state folder) holding the
    /// deployment's secrets, CA and host certificates: `stackr secrets` fills it, colmena
    /// uploads each host's share from it.
    pub secrets_dir: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostPlan {
    pub name: String,
    pub address: String,
    /// colmena tags: the services with a part on the host (`colmena apply --on @core`).
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlacedService {
    pub name: String,
    pub api: PlacedReplicas,
    pub worker: Option<PlacedReplicas>,
    pub postgres_host: String,
    pub redis_host: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlacedReplicas {
    pub host: String,
    pub replicas: u32,
    /// API only: the replicas' loopback ports.
    pub ports: Vec<u16>,
}

/// The folder of the deployment's secrets (`stackr secrets`), in the state folder. The dev stack's
/// `--reset` keeps it: they are a deployment's only copy, not dev data.
pub const DEPLOY_SECRETS_FOLDER: &str = "deploy";

/// The local folder of deployment secrets, under the state folder `state_dir`.
pub fn deploy_secrets_dir(state_dir: &str) -> String {
    format!("{state_dir}/{DEPLOY_SECRETS_FOLDER}")
}

pub fn fleet(model: &Model) -> Option<FleetPlan> {
    let placement: &Placement = model.placement.as_ref()?;
    let host = |index: usize| placement.hosts[index].name.clone();
    let replicas = |r: Replicas, ports: &[u16]| PlacedReplicas {
        host: host(r.host),
        replicas: r.count,
        ports: ports.to_vec(),
    };
    let services: Vec<PlacedService> = model
        .services
        .iter()
        .zip(&placement.services)
        .map(|(service, placed)| PlacedService {
            name: service.name.clone(),
            api: replicas(placed.api, &placed.replica_ports),
            worker: placed.worker.map(|w| replicas(w, &[])),
            postgres_host: host(placed.postgres),
            redis_host: host(placed.redis),
        })
        .collect();
    let hosts = placement
        .hosts
        .iter()
        .map(|h| HostPlan {
            name: h.name.clone(),
            address: h.address.to_string(),
            tags: services
                .iter()
                .filter(|s| {
                    let parts = [
                        Some(&s.api.host),
                        s.worker.as_ref().map(|w| &w.host),
                        Some(&s.postgres_host),
                        Some(&s.redis_host),
                    ];
                    parts.into_iter().flatten().any(|p| *p == h.name)
                })
                .map(|s| s.name.clone())
                .collect(),
        })
        .collect();
    Some(FleetPlan {
        hosts,
        services,
        secrets_dir: deploy_secrets_dir(&model.state_dir),
    })
}
