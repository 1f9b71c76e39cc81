//! The guard of a base service as its scaffold declares it (`const SPEC: ServiceSpec` in
//! `src/main.rs`): derived here once, so the scaffold template and the end-to-end checks (which
//! run one kit binary per base service with this spec instead of compiling each scaffold) read
//! the same fact.

use super::{Plan, ServicePlan};
use crate::model::AuthMiddleware;

/// The fields of `stackr_kit::ServiceSpec` that depend on the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardSpec {
    pub flavor: AuthMiddleware,
    /// Roles a `role-gated` guard lets through (admin always passes).
    pub roles: Vec<String>,
    /// Whether the guard provisions the user's record on first call (and tells auth).
    pub provisioning: bool,
}

impl GuardSpec {
    /// Whether requests pass an auth guard: a flavor other than `none`, in a stack with auth.
    pub fn is_guarded(&self) -> bool {
        // Only a guarded service can provision, and every guarded one does (see `guard_spec`).
        self.provisioning
    }
}

impl Plan {
    /// The guard spec of `service` (a base service; the auth service has no guard).
    pub fn guard_spec(&self, service: &ServicePlan) -> GuardSpec {
        let flavor = service.middleware.unwrap_or_default();
        let guarded = flavor != AuthMiddleware::None && self.auth.is_some();
        GuardSpec {
            flavor,
            roles: service.roles.clone(),
            // Every guarded base service is one of auth's provisioning targets (it holds a
            // credential and appears in AUTH_PROVISION_SERVICES), so each one provisions.
            provisioning: guarded,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn plan_of(text: &str) -> Plan {
        let file = Path::new("stackr.config.json");
        let config = crate::config::parse_config(file, text).unwrap();
        super::super::plan(&crate::model::validate(&config, file, text).unwrap())
    }

    fn spec(plan: &Plan, name: &str) -> GuardSpec {
        plan.guard_spec(plan.services.iter().find(|s| s.name == name).unwrap())
    }

    #[test]
    fn guarded_services_provision_and_unguarded_ones_do_not() {
        let plan = plan_of(
            r#"{ "name": "s", "services": [
                { "name": "auth", "kind": "auth" },
                { "name": "billing", "authMiddleware": "role-gated", "roles": ["finance"] },
                { "name": "open", "authMiddleware": "none" }
            ] }"#,
        );
        assert_eq!(
            spec(&plan, "billing"),
            GuardSpec {
                flavor: AuthMiddleware::RoleGated,
                roles: vec!["finance".into()],
                provisioning: true,
            }
        );
        let open = spec(&plan, "open");
        assert_eq!(
            (open.flavor, open.is_guarded()),
            (AuthMiddleware::None, false)
        );
    }

    #[test]
    fn without_auth_nothing_is_guarded() {
        let plan = plan_of(
            r#"{ "name": "s", "services": [ { "name": "core", "authMiddleware": "none" } ] }"#,
        );
        assert!(!spec(&plan, "core").is_guarded());
    }
}
