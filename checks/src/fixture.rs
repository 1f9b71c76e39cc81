//! The fixture config (`checks/fixture/stackr.config.json`) and its plan, made by the generator's
//! own library: the checks run exactly what `stackr generate` would describe for that config.

use std::path::PathBuf;

use stackr::plan::Plan;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixture")
}

/// The fixture's plan (config -> validated model -> plan).
pub fn fixture_plan() -> anyhow::Result<Plan> {
    let project = stackr::project::load_project(&fixture_dir())
        .map_err(|e| anyhow::anyhow!("the checks' fixture config does not load: {e}"))?;
    Ok(project.plan)
}
