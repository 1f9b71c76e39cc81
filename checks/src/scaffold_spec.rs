//! The guard spec a service's generated scaffold declares (`const SPEC: ServiceSpec = …` in its
//! `src/main.rs`), taken from the plan: the scaffold template renders the same
//! [`Plan::guard_spec`], and a test below proves the rendered `SPEC` still says what it says.
//!
//! The checks run one kit-based binary for every base service instead of compiling each
//! scaffolded crate (a separate workspace would rebuild every dependency, minutes on CI). Handing
//! that binary the flavor, roles and provisioning switch the scaffold declares keeps the
//! processes under test behaving exactly as the generated services would.

use stackr::plan::{GuardSpec, Plan, ServicePlan};

/// The guard spec `service`'s scaffold declares.
pub fn scaffold_spec(plan: &Plan, service: &ServicePlan) -> GuardSpec {
    plan.guard_spec(service)
}

/// The command line of `stackr-checks-service` for `spec`, in the words of the config
/// (`role-gated`, not `RoleGated`).
pub fn service_args(spec: &GuardSpec) -> Vec<String> {
    vec![
        "--flavor".into(),
        spec.flavor.as_str().to_owned(),
        "--roles".into(),
        spec.roles.join(","),
        "--provisioning".into(),
        spec.provisioning.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use stackr::model::AuthMiddleware;

    use super::*;

    /// The `SPEC` block of a rendered scaffold `main.rs`, read back as a [`GuardSpec`].
    fn rendered_spec(main_rs: &str) -> GuardSpec {
        let start = main_rs
            .find("const SPEC: ServiceSpec")
            .expect("the scaffold declares `const SPEC: ServiceSpec`");
        let block = &main_rs[start..];
        let block = &block[..block.find("};").expect("SPEC is closed")];
        let field = |name: &str| -> &str {
            let at = block
                .find(&format!("{name}:"))
                .unwrap_or_else(|| panic!("SPEC has no `{name}`"));
            let rest = &block[at + name.len() + 1..];
            rest[..rest.find(",\n").unwrap_or(rest.len())].trim()
        };
        let flavor = match field("flavor") {
            "Flavor::Standard" => AuthMiddleware::Standard,
            "Flavor::RoleGated" => AuthMiddleware::RoleGated,
            "Flavor::Flexible" => AuthMiddleware::Flexible,
            "Flavor::None" => AuthMiddleware::None,
            other => panic!("unknown flavor {other}"),
        };
        let roles = field("roles")
            .trim_start_matches("&[")
            .trim_end_matches(']')
            .split(',')
            .map(|r| r.trim().trim_matches('"'))
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect();
        GuardSpec {
            flavor,
            roles,
            provisioning: field("provisioning").parse().expect("a bool literal"),
        }
    }

    /// What the checks run each base service with is what its rendered scaffold declares: a
    /// template that stops rendering the plan's spec fails here.
    #[test]
    fn every_fixture_base_service_runs_with_the_spec_its_scaffold_renders() {
        let plan = crate::fixture::fixture_plan().unwrap();
        let mut flavors = Vec::new();
        for service in plan.services.iter().filter(|s| !s.is_auth()) {
            let files = stackr::render::scaffold::service_crate(&plan, service).unwrap();
            let main = files
                .iter()
                .find(|f| f.path.ends_with("/src/main.rs"))
                .expect("a base service's scaffold has src/main.rs");
            let spec = scaffold_spec(&plan, service);
            assert_eq!(rendered_spec(&main.content), spec, "{}", service.name);
            assert_eq!(Some(spec.flavor), service.middleware, "{}", service.name);
            flavors.push(spec.flavor);
        }
        // The fixture covers every flavor, so each variant's rendering is compared.
        for flavor in [
            AuthMiddleware::Standard,
            AuthMiddleware::RoleGated,
            AuthMiddleware::Flexible,
        ] {
            assert!(
                flavors.contains(&flavor),
                "the fixture has no {flavor:?} service"
            );
        }
    }

    #[test]
    fn service_args_say_the_spec_in_the_configs_words() {
        let spec = GuardSpec {
            flavor: AuthMiddleware::RoleGated,
            roles: vec!["finance".into(), "ops".into()],
            provisioning: true,
        };
        assert_eq!(
            service_args(&spec),
            [
                "--flavor",
                "role-gated",
                "--roles",
                "finance,ops",
                "--provisioning",
                "true"
            ]
        );
    }
}
