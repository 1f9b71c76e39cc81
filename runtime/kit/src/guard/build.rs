use stackr_contract::env as contract;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;

use super::{Flavor, Guard, Inner, TrustedOrigins};
use crate::auth::AuthClient;
use crate::cache::{SessionCache, DEFAULT_CAPACITY};
use crate::config::{ConfigError, DEFAULT_SESSION_CACHE_TTL};
use crate::device::{DeviceSessions, OwnerStatuses, DEFAULT_DEVICE_SESSION_TTL};
use crate::provision::Provisioner;

/// Configures a [`Guard`]. Flavor defaults: `flexible` provisions and has device sessions (both
/// need the service database and the service credential).
pub struct GuardBuilder {
    flavor: Flavor,
    auth: AuthClient,
    cache_ttl: Duration,
    cache_capacity: usize,
    allowed_roles: Vec<String>,
    origins: TrustedOrigins,
    database: Option<Pool>,
    provisioning: Option<bool>,
    device_session_ttl: Duration,
}

impl GuardBuilder {
    pub(super) fn new(flavor: Flavor, auth: AuthClient) -> Self {
        GuardBuilder {
            flavor,
            auth,
            cache_ttl: DEFAULT_SESSION_CACHE_TTL,
            cache_capacity: DEFAULT_CAPACITY,
            allowed_roles: Vec::new(),
            origins: TrustedOrigins::default(),
            database: None,
            provisioning: None,
            device_session_ttl: DEFAULT_DEVICE_SESSION_TTL,
        }
    }

    /// Zero disables the verified-session cache.
    pub fn session_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    pub fn session_cache_capacity(mut self, entries: usize) -> Self {
        self.cache_capacity = entries;
        self
    }

    /// Role-gated: roles that pass besides `admin` (which always passes).
    pub fn allowed_roles<I, R>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.allowed_roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Browser origins whose pages may make cookie-authenticated state changes (`TRUSTED_ORIGINS`);
    /// none by default, so such requests are refused until the deployment names its front ends.
    pub fn trusted_origins(mut self, origins: TrustedOrigins) -> Self {
        self.origins = origins;
        self
    }

    /// The service's own database (provisioning records, device sessions).
    pub fn database(mut self, pool: Pool) -> Self {
        self.database = Some(pool);
        self
    }

    /// Overrides the flavor's default (on for `flexible` only), e.g. to provision a standard
    /// service that auth lists in `AUTH_PROVISION_SERVICES`.
    pub fn provisioning(mut self, on: bool) -> Self {
        self.provisioning = Some(on);
        self
    }

    pub fn device_session_ttl(mut self, ttl: Duration) -> Self {
        self.device_session_ttl = ttl;
        self
    }

    pub fn build(self) -> Result<Guard, ConfigError> {
        if self.flavor == Flavor::None {
            return Ok(Guard::disabled());
        }
        let provisioning = self.provisioning.unwrap_or(self.flavor.provisions());
        let needs_db_and_credential = provisioning || self.flavor.has_device_sessions();
        if needs_db_and_credential && self.database.is_none() {
            return Err(ConfigError::Invalid {
                var: contract::DATABASE_URL,
                reason: format!(
                    "flavor {} needs the service database for provisioning/device sessions",
                    self.flavor
                ),
            });
        }
        // Device sessions ask auth about their owners with the service credential.
        if needs_db_and_credential && !self.auth.has_credential() {
            return Err(ConfigError::Missing {
                var: contract::SERVICE_CREDENTIAL_FILE,
            });
        }
        let provisioner = provisioning
            .then(|| Provisioner::new(self.database.clone().expect("checked"), self.auth.clone()));
        let owners = self
            .flavor
            .has_device_sessions()
            .then(|| OwnerStatuses::new(self.auth.clone(), self.cache_ttl));
        let devices = self.flavor.has_device_sessions().then(|| {
            DeviceSessions::new(
                self.database.clone().expect("checked"),
                self.device_session_ttl,
            )
        });
        Ok(Guard {
            inner: Arc::new(Inner {
                flavor: self.flavor,
                cache: SessionCache::new(self.cache_ttl, self.cache_capacity),
                auth: Some(self.auth),
                allowed_roles: self.allowed_roles,
                origins: self.origins,
                provisioner,
                devices,
                owners,
            }),
        })
    }
}
