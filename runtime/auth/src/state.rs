//! Shared state of a running auth service.

use std::sync::Arc;

use crate::config::AuthConfig;
use crate::cookie::CookieNames;
use crate::db::Pool;
use crate::mail::Mailer;
use crate::origin::TrustedOrigins;
use crate::rate_limit::RateLimiter;

pub struct Inner {
    pub config: AuthConfig,
    pub pool: Pool,
    pub cookies: CookieNames,
    pub trusted: TrustedOrigins,
    pub rate_limiter: RateLimiter,
    pub mailer: Mailer,
    pub session_cache: crate::session_cache::SessionCache,
    /// How get-session reads sessions (see `db::session_reads`).
    pub session_reads: crate::db::session_reads::SessionReads,
    /// Services allowed to provision (sorted), reported as `has<Service>Account`.
    pub provision_services: Vec<String>,
    /// OpenID Connect providers for social sign-in, with their cached documents.
    pub oauth: crate::oauth::Providers,
    /// Whether BetterAuth's password hashes may be stored, which a failed password check must
    /// then cost as much as.
    pub legacy_hashes: crate::password::LegacyHashes,
    /// The work requests do after their answers, bounded (see `after_the_answer`).
    pub after_the_answer: crate::after_the_answer::AfterTheAnswer,
}

/// Cheap to clone; handed to every handler.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Connects to PostgreSQL, runs migrations (adding the additional user fields' columns), looks
    /// for BetterAuth's password hashes and builds the mailer.
    pub async fn connect(config: AuthConfig) -> anyhow::Result<Self> {
        let pool = crate::db::connect_and_migrate(
            &config.database,
            config.database_tls.clone(),
            config.pool_size,
            true,
        )
        .await?;
        crate::user_fields::ensure_columns(&pool.get().await?, &config.user_fields)
            .await
            .map_err(|e| anyhow::anyhow!("adding the columns of AUTH_USER_FIELDS: {e}"))?;
        let legacy = crate::db::accounts::any_password_not_argon2id(&pool.get().await?).await?;
        let mailer = Mailer::from_config(&config)?;
        let state = Self::new(config, pool, mailer);
        if legacy {
            state.legacy_hashes.found();
        }
        Ok(state)
    }

    pub fn new(config: AuthConfig, pool: Pool, mailer: Mailer) -> Self {
        let cookies = CookieNames::new(config.secure_cookies());
        let trusted = TrustedOrigins::new(&config.base_url, &config.trusted_origins);
        let rate_limiter = RateLimiter::new(config.rate_limits);
        let provision_services = config.provision_services.keys().cloned().collect();
        let session_cache = crate::session_cache::SessionCache::new(config.session_cache_ttl);
        let oauth = crate::oauth::Providers::new(&config.oauth_providers);
        let after_the_answer = crate::after_the_answer::AfterTheAnswer::new(config.pool_size);
        // get-session reads only what this configuration shows.
        let get_session_sql = crate::db::sessions::find_with_users_sql(
            !config.provision_services.is_empty(),
            !config.user_fields.is_empty(),
        );
        let session_reads =
            crate::db::session_reads::SessionReads::new(pool.clone(), get_session_sql);
        AppState(Arc::new(Inner {
            config,
            pool,
            cookies,
            trusted,
            rate_limiter,
            mailer,
            session_cache,
            session_reads,
            provision_services,
            oauth,
            legacy_hashes: Default::default(),
            after_the_answer,
        }))
    }

    /// The secret that signs (see `crate::secrets`; verification goes through `secrets()`).
    pub fn secret(&self) -> &[u8] {
        self.config.secrets.current()
    }

    pub fn secrets(&self) -> &crate::secrets::Secrets {
        &self.config.secrets
    }

    /// User JSON with this service's `has<Service>Account` fields.
    pub fn user_json(&self, user: &crate::db::models::User) -> serde_json::Value {
        serde_json::to_value(self.user_view(user)).expect("a user serializes")
    }

    /// The same user, to serialize directly (no intermediate `Value`).
    pub fn user_view<'a>(&'a self, user: &'a crate::db::models::User) -> crate::json::UserJson<'a> {
        crate::json::UserJson {
            user,
            fields: &self.config.user_fields,
            provision_services: &self.provision_services,
        }
    }

    pub async fn db(&self) -> Result<crate::db::Client, crate::error::ApiError> {
        Ok(self.pool.get().await?)
    }
}
