//! `nix/packages.nix`: one Nix package per service crate, built from the workspace.

use anyhow::Result;
use serde::Serialize;

use super::templates;
use crate::plan::Plan;

pub const PATH: &str = "nix/packages.nix";

#[derive(Serialize)]
pub(super) struct Package<'a> {
    name: &'a str,
    package: &'a str,
}

#[derive(Serialize)]
pub(super) struct Context<'a> {
    packages: Vec<Package<'a>>,
}

pub fn render(plan: &Plan) -> Result<String> {
    let packages = plan
        .services
        .iter()
        .map(|s| Package {
            name: &s.name,
            package: &s.package,
        })
        .collect();
    templates::NIX_PACKAGES.render(&Context { packages })
}
