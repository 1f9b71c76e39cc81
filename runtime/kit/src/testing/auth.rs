//! The stack's auth service, stackr-auth itself, run in the test process: for a service's tests
//! ([`super::ServiceUnderTest::start_with_auth`]: its own database in the service's throwaway
//! PostgreSQL, the service allowed to provision, so a guarded route sees a real signed-in user
//! exactly as under `stackr dev`), and for the kit's own.

use std::str::FromStr;
use std::sync::mpsc;
use std::thread::JoinHandle;

use rand::distr::{Alphanumeric, SampleString};
use stackr_auth::config::Secret;
use stackr_auth::{AppState, AuthConfig};

use super::free_port;

/// stackr-auth on a thread and runtime of its own: a service's tests run on tokio's
/// single-threaded test runtime, which would serve auth only while the test awaits, and a test
/// can take it down completely (listener and every open keep-alive connection) with
/// [`TestAuth::stop`]. Stopped on drop.
pub struct TestAuth {
    url: String,
    admin_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestAuth {
    /// Auth for service `service`, which may provision with `credential`, on `database_url`
    /// (auth's own database), with a new secret and rate limits off (a test signs its users up
    /// one after another from one address).
    pub(super) fn for_service(database_url: &str, service: &str, credential: &str) -> TestAuth {
        let port = free_port();
        // Signs this test's session cookies: new each run, like every secret of a stack.
        let secret = Alphanumeric.sample_string(&mut rand::rng(), 48);
        let mut config = AuthConfig::new(
            Secret::new(secret.into_bytes()),
            tokio_postgres::Config::from_str(database_url).expect("auth's database URL"),
            url::Url::parse(&format!("http://127.0.0.1:{port}")).expect("auth's URL"),
        );
        config.rate_limits = false;
        config.provision_services.insert(
            service.to_owned(),
            Secret::new(credential.as_bytes().to_vec()),
        );
        TestAuth::serve(config, port)
    }

    /// Serves `config` on loopback: its API on `port`, its admin dashboard on a free port of
    /// its own. Returns once both listen; panics with auth's reason when it cannot start.
    pub fn serve(config: AuthConfig, port: u16) -> TestAuth {
        let admin_port = free_port();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime for auth");
            runtime.block_on(async move {
                let started = async {
                    let state = AppState::connect(config)
                        .await
                        .map_err(|e| format!("{e:#}"))?;
                    let listen = |port: u16| async move {
                        tokio::net::TcpListener::bind(("127.0.0.1", port))
                            .await
                            .map_err(|e| format!("cannot listen on port {port}: {e}"))
                    };
                    Ok::<_, String>((state, listen(port).await?, listen(admin_port).await?))
                };
                let (state, listener, admin_listener) = match started.await {
                    Ok(started) => started,
                    Err(why) => {
                        let _ = ready_tx.send(Err(why));
                        return;
                    }
                };
                let dashboard = stackr_auth::admin_page::router(state.clone())
                    .into_make_service_with_connect_info::<std::net::SocketAddr>();
                tokio::spawn(async move { axum::serve(admin_listener, dashboard).await });
                let _ = ready_tx.send(Ok(()));
                tokio::select! {
                    served = stackr_auth::serve(listener, state) => {
                        if let Err(e) = served {
                            eprintln!("the test's auth stopped: {e:#}");
                        }
                    }
                    _ = stop_rx => {}
                }
            });
            // Dropping the runtime ends every connection task with it: auth is really gone.
            runtime.shutdown_background();
        });
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(why)) => panic!("the test's auth (stackr-auth) did not start: {why}"),
            Err(_) => panic!("the test's auth (stackr-auth) thread died while starting"),
        }
        TestAuth {
            url: format!("http://127.0.0.1:{port}"),
            admin_url: format!("http://127.0.0.1:{admin_port}"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Auth's API, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Auth's admin dashboard (`stackr_auth::admin_page`), served from the same state.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Takes auth down: its listeners and every connection it holds.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestAuth {
    fn drop(&mut self) {
        self.stop();
    }
}
