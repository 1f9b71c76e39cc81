//! The guard spec a service's generated scaffold declares (`const SPEC: ServiceSpec = …` in its
//! `src/main.rs`), read from the generator's own rendering for the fixture.
//!
//! The checks run one kit-based binary for every base service instead of compiling each
//! scaffolded crate (a separate workspace would rebuild every dependency, minutes on CI). Handing
//! that binary the flavor, roles and provisioning switch the scaffold renders keeps the processes
//! under test behaving exactly as the generated services would.

use anyhow::Context;
use stackr::plan::{Plan, ServicePlan};

/// `ServiceSpec` of a scaffold, in the words of the config (`role-gated`, not `RoleGated`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaffoldSpec {
    pub flavor: String,
    pub roles: Vec<String>,
    pub provisioning: bool,
}

impl ScaffoldSpec {
    /// The command line of `stackr-checks-service` for this spec.
    pub fn service_args(&self) -> Vec<String> {
        vec![
            "--flavor".into(),
            self.flavor.clone(),
            "--roles".into(),
            self.roles.join(","),
            "--provisioning".into(),
            self.provisioning.to_string(),
        ]
    }
}

/// Renders `service`'s scaffold and reads its `SPEC`.
pub fn scaffold_spec(plan: &Plan, service: &ServicePlan) -> anyhow::Result<ScaffoldSpec> {
    let files = stackr::render::scaffold::service_crate(plan, service)?;
    let main = files
        .iter()
        .find(|f| f.path.ends_with("/src/main.rs"))
        .with_context(|| format!("the scaffold of {} has no src/main.rs", service.name))?;
    parse_spec(&main.content).with_context(|| {
        format!(
            "the scaffold of {} changed shape; update checks/src/scaffold_spec.rs to read its SPEC",
            service.name
        )
    })
}

fn parse_spec(main_rs: &str) -> anyhow::Result<ScaffoldSpec> {
    let start = main_rs
        .find("const SPEC: ServiceSpec")
        .context("no `const SPEC: ServiceSpec`")?;
    let block = &main_rs[start..];
    let block = &block[..block.find("};").context("SPEC is not closed")?];
    let field = |name: &str| -> anyhow::Result<&str> {
        let at = block
            .find(&format!("{name}:"))
            .with_context(|| format!("SPEC has no `{name}`"))?;
        let rest = &block[at + name.len() + 1..];
        Ok(rest[..rest.find(",\n").unwrap_or(rest.len())].trim())
    };
    let variant = field("flavor")?
        .strip_prefix("Flavor::")
        .context("flavor is not a Flavor:: variant")?;
    let flavor = match variant {
        "Standard" => "standard",
        "RoleGated" => "role-gated",
        "Flexible" => "flexible",
        "None" => "none",
        other => anyhow::bail!("unknown flavor variant {other}"),
    };
    let roles = field("roles")?
        .trim_start_matches("&[")
        .trim_end_matches(']')
        .split(',')
        .map(|r| r.trim().trim_matches('"'))
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    let provisioning = field("provisioning")?
        .parse()
        .context("provisioning is not a bool literal")?;
    Ok(ScaffoldSpec {
        flavor: flavor.to_owned(),
        roles,
        provisioning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_spec_block() {
        let main = "const SPEC: ServiceSpec = ServiceSpec {\n    flavor: Flavor::RoleGated,\n    roles: &[\"finance\", \"ops\"],\n    provisioning: true,\n    migrations: MIGRATIONS,\n};\n";
        let spec = parse_spec(main).unwrap();
        assert_eq!(
            spec,
            ScaffoldSpec {
                flavor: "role-gated".into(),
                roles: vec!["finance".into(), "ops".into()],
                provisioning: true
            }
        );
        assert!(parse_spec("fn main() {}").is_err());
    }

    #[test]
    fn every_fixture_base_service_has_a_readable_spec_matching_its_config() {
        let plan = crate::fixture::fixture_plan().unwrap();
        for service in plan.services.iter().filter(|s| !s.is_auth) {
            let spec = scaffold_spec(&plan, service).unwrap();
            assert_eq!(
                Some(spec.flavor.as_str()),
                service
                    .middleware
                    .map(stackr::config::AuthMiddleware::as_str),
                "{}",
                service.name
            );
            assert_eq!(spec.roles, service.roles, "{}", service.name);
        }
    }
}
