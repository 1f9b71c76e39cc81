//! `nix/fleet.nix`, for a stack placed on several hosts: the placement as values, each host's
//! NixOS module, colmena's per-host settings and the flake outputs made of them.

use anyhow::Result;

use super::templates;
use crate::plan::placement::FleetPlan;

pub const PATH: &str = "nix/fleet.nix";

pub fn render(fleet: &FleetPlan) -> Result<String> {
    templates::NIX_FLEET.render(fleet)
}
