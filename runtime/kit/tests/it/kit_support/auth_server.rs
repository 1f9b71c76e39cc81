//! stackr-auth on its own runtime thread, so a test can take it down completely (listener and
//! every open keep-alive connection) to prove the guard fails closed.

use std::str::FromStr;
use std::sync::mpsc;
use std::thread::JoinHandle;

use stackr_auth::config::Secret;
use stackr_auth::{AppState, AuthConfig};

pub const AUTH_SECRET: &str = "kit-tests-secret-0123456789abcdef0123456789abcd";

pub struct AuthServer {
    pub url: String,
    /// Auth's admin dashboard (`stackr_auth::admin_page`), served from the same state.
    pub admin_url: String,
    /// Auth's dev mailbox (password-reset links land here).
    pub mail_dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
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
        let admin_port = stackr_testkit::free_port();
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
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let state = match AppState::connect(config).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("{e:#}")));
                        return;
                    }
                };
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .unwrap();
                let admin_listener = tokio::net::TcpListener::bind(("127.0.0.1", admin_port))
                    .await
                    .unwrap();
                let dashboard = stackr_auth::admin_page::router(state.clone())
                    .into_make_service_with_connect_info::<std::net::SocketAddr>();
                tokio::spawn(async move { axum::serve(admin_listener, dashboard).await });
                let _ = ready_tx.send(Ok(()));
                tokio::select! {
                    r = stackr_auth::serve(listener, state) => { r.expect("auth server"); }
                    _ = stop_rx => {}
                }
            });
            // Dropping the runtime kills every connection task: auth is really gone.
            rt.shutdown_background();
        });
        ready_rx
            .recv()
            .expect("auth thread")
            .expect("stackr-auth failed to start");
        AuthServer {
            url,
            admin_url: format!("http://127.0.0.1:{admin_port}"),
            mail_dir,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        self.stop();
    }
}
