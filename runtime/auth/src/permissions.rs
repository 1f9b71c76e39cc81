//! Who may do what through the admin API: BetterAuth's admin access-control statements. The
//! `admin` role holds every permission but `impersonate-admins`; `user` and the stack's declared
//! roles (see [`crate::roles`]) hold none.

use crate::db::models::User;

/// The resources and actions the admin plugin knows, and what the `admin` role is granted.
const ADMIN_GRANTS: &[(&str, &[&str])] = &[
    (
        "user",
        &[
            "create",
            "list",
            "set-role",
            "ban",
            "impersonate",
            "delete",
            "set-password",
            "set-email",
            "set-phone",
            "get",
            "update",
        ],
    ),
    ("session", &["list", "revoke", "delete"]),
];

/// Whether one role grants `action` on `resource`.
fn role_grants(role: &str, resource: &str, action: &str) -> bool {
    role == "admin"
        && ADMIN_GRANTS
            .iter()
            .any(|(r, actions)| *r == resource && actions.contains(&action))
}

/// Whether one of the user's roles grants every requested action. A request naming no resource,
/// or a resource with no action, is denied (as BetterAuth's access control denies it).
pub fn allows(user: &User, requested: &[(String, Vec<String>)]) -> bool {
    !requested.is_empty()
        && user.roles().any(|role| {
            requested.iter().all(|(resource, actions)| {
                !actions.is_empty() && actions.iter().all(|a| role_grants(role, resource, a))
            })
        })
}

/// Whether the user may do this one action.
pub fn allows_one(user: &User, resource: &str, action: &str) -> bool {
    user.roles().any(|role| role_grants(role, resource, action))
}
