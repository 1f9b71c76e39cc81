//! Dev secrets: which files the one-shot `secrets` process creates (48 random `[A-Za-z0-9]`).

use serde::Serialize;

use super::ServicePlan;

/// The file name of auth's cookie/HMAC secret, in the dev secrets folder and a deployment's.
pub const AUTH_SECRET: &str = "auth-secret";

/// The dev secrets folder, in the state folder: the secrets the `secrets` process creates, and
/// those a developer puts there before the stack first runs (a sign-in provider's).
pub const DEV_SECRETS_FOLDER: &str = "secrets";

/// The dev secrets folder under the state folder `state_dir`.
pub fn dev_secrets_dir(state_dir: &str) -> String {
    format!("{state_dir}/{DEV_SECRETS_FOLDER}")
}

#[derive(Debug, Clone, Serialize)]
pub struct Secret {
    /// Path relative to the project root.
    pub file: String,
    /// What it is for, shown as a comment in the generated file.
    pub purpose: String,
}

pub fn dev_secrets(state_dir: &str, services: &[ServicePlan]) -> Vec<Secret> {
    let mut secrets = Vec::new();
    if services.iter().any(super::ServicePlan::is_auth) {
        secrets.push(Secret {
            file: format!("{}/{AUTH_SECRET}", dev_secrets_dir(state_dir)),
            purpose: "auth cookie/HMAC secret".to_owned(),
        });
    }
    for service in services {
        secrets.push(Secret {
            file: service.dev.db_password_file.clone(),
            purpose: format!("PostgreSQL password of role {}", service.db_name),
        });
        secrets.push(Secret {
            file: service.dev.redis_password_file.clone(),
            purpose: format!("Redis password of {}", service.name),
        });
        if let Some(credential) = &service.dev.credential_file {
            secrets.push(Secret {
                file: credential.clone(),
                purpose: format!("credential of {} towards auth", service.name),
            });
        }
    }
    secrets
}
