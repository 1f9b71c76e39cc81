//! `placement` of `stackr.config.json`: which host runs which part of the stack, when the stack
//! spans several NixOS hosts. Absent, everything runs on one host.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The hosts of a deployment spanning several machines, each with the parts it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementConfig {
    /// The hosts, in order (a host's name becomes its NixOS configuration, colmena node and the
    /// name its certificate is issued for).
    pub hosts: Vec<HostConfig>,
    /// First port of API replicas on a host running several of one service: the replicas listen
    /// on loopback from here, behind the load balancer on the service's own port.
    #[serde(default = "default_replica_port_start")]
    pub replica_port_start: u16,
}

/// Where API replicas' loopback ports start when `replicaPortStart` is left out.
pub const DEFAULT_REPLICA_PORT_START: u16 = 18080;

fn default_replica_port_start() -> u16 {
    DEFAULT_REPLICA_PORT_START
}

/// One host of the deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostConfig {
    /// Lowercase `[a-z][a-z0-9-]*`: NixOS configuration, colmena node and certificate name.
    pub name: String,
    /// The IP address other hosts reach this one at (colmena's `deployment.targetHost` too).
    pub address: String,
    /// The parts of each service this host runs, by service name.
    #[serde(default, deserialize_with = "super::unique_keys::deserialize")]
    pub runs: BTreeMap<String, PartsConfig>,
}

/// The parts of one service a host runs. Each part of every service runs on exactly one host.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartsConfig {
    /// Number of API replicas on this host (1 to 100); several sit behind a load balancer on the
    /// service's port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = crate::model::placement::MAX_REPLICAS))]
    pub api: Option<u32>,
    /// Number of workers on this host (1 to 100), all consuming the service's one queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = crate::model::placement::MAX_REPLICAS))]
    pub worker: Option<u32>,
    /// Whether the service's PostgreSQL runs here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub postgres: bool,
    /// Whether the service's Redis runs here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redis: bool,
}
