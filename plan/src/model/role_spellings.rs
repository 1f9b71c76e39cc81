//! Roles are compared exactly, case included: auth stores a role as it is given, and a guard lets
//! a user through when one of their roles is spelled as the service lists it (only `admin`
//! passes every gate). A role that differs from a built-in one or from another listed role only
//! in case would be a role of its own: `ADMIN` one no admin holds, `Finance` beside `finance` two
//! roles, a user given one refused at the other's gate. Such a spelling is refused.

use stackr_contract::roles::BUILT_IN;

use super::validate::Reporter;
use crate::config::{ConfigError, JsonPath, StackrConfig};

/// Refuses the first role (in the config's order) that differs only in case from a built-in
/// role or from a role listed before it, in its service or an earlier one.
pub(super) fn check(config: &StackrConfig, report: &Reporter) -> Result<(), ConfigError> {
    let mut earlier: Vec<(&str, JsonPath)> = Vec::new();
    for (service_index, service) in config.services.iter().enumerate() {
        for (role_index, role) in service.roles.iter().enumerate() {
            let at = JsonPath::service(service_index)
                .key("roles")
                .index(role_index);
            let only_in_case = |other: &str| other != role && other.eq_ignore_ascii_case(role);
            if let Some(built_in) = BUILT_IN.iter().find(|b| only_in_case(b)) {
                return Err(report.error(
                    at,
                    format!(
                        "role `{role}` differs from the built-in role `{built_in}` only in case: roles are compared exactly, so it would be another role"
                    ),
                    format!(
                        "write `{built_in}` (admins pass every role gate without being listed), or name a role of your own"
                    ),
                ));
            }
            if let Some((first, first_at)) = earlier.iter().find(|(other, _)| only_in_case(other)) {
                return Err(report.error(
                    at,
                    format!(
                        "role `{role}` differs from `{first}` at `{first_at}` only in case: roles are compared exactly, so these would be two roles, and a user given one would not pass the other's gate"
                    ),
                    format!("spell it `{first}` as there, or name another role"),
                ));
            }
            earlier.push((role, at));
        }
    }
    Ok(())
}
