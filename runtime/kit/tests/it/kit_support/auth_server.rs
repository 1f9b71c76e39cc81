//! stackr-auth as the kit's tests configure it (`stackr_kit::testing::TestAuth`, on its own
//! runtime thread, so a test can take it down completely to prove the guard fails closed).

use std::str::FromStr;

use stackr_auth::config::Secret;
use stackr_auth::AuthConfig;
use stackr_kit::testing::TestAuth;

pub const AUTH_SECRET: &str = "kit-tests-secret-0123456789abcdef0123456789abcd";

pub struct AuthServer {
    /// First, so that it stops before its mailbox folder is deleted.
    server: TestAuth,
    pub url: String,
    /// Auth's admin dashboard (`stackr_auth::admin_page`), served from the same state.
    pub admin_url: String,
    /// Auth's dev mailbox (password-reset links land here).
    pub mail_dir: tempfile::TempDir,
}

impl AuthServer {
    /// `database_url`: auth's own database; `services`: (name, credential) allowed to provision.
    /// Rate limits off: tests sign many users up from one address.
    pub fn start(database_url: &str, services: &[(&str, &str)]) -> AuthServer {
        Self::start_with(
            database_url,
            services,
            false,
            Vec::new(),
            std::time::Duration::ZERO,
        )
    }

    /// `oauth_providers`: what auth's providers file would configure; `session_cache`: auth's
    /// get-session cache TTL (tests that change auth's tables directly need it off, since only
    /// changes made through auth invalidate it).
    pub fn start_with(
        database_url: &str,
        services: &[(&str, &str)],
        rate_limits: bool,
        oauth_providers: Vec<stackr_auth::oauth::ProviderConfig>,
        session_cache: std::time::Duration,
    ) -> AuthServer {
        let port = stackr_testkit::free_port();
        let url = format!("http://localhost:{port}");
        let mut config = AuthConfig::new(
            Secret::new(AUTH_SECRET.as_bytes().to_vec()),
            tokio_postgres::Config::from_str(database_url).expect("auth database url"),
            url::Url::parse(&url).unwrap(),
        );
        config.rate_limits = rate_limits;
        config.oauth_providers = oauth_providers;
        let mail_dir = tempfile::tempdir().unwrap();
        config.mail = stackr_auth::config::MailConfig::Mailbox(mail_dir.path().to_owned());
        config.session_cache_ttl = session_cache;
        for (name, credential) in services {
            config.provision_services.insert(
                name.to_string(),
                Secret::new(credential.as_bytes().to_vec()),
            );
        }
        let server = TestAuth::serve(config, port);
        AuthServer {
            url,
            admin_url: server.admin_url().to_owned(),
            mail_dir,
            server,
        }
    }

    pub fn stop(&mut self) {
        self.server.stop();
    }
}
