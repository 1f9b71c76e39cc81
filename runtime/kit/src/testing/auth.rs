//! The stack's auth service, stackr-auth itself, run in the test process for a service's tests:
//! its own database in the service's throwaway PostgreSQL, the service allowed to provision, so
//! a guarded route sees a real signed-in user exactly as under `stackr dev`.

use std::str::FromStr;
use std::sync::mpsc;
use std::thread::JoinHandle;

use rand::distr::{Alphanumeric, SampleString};
use stackr_auth::config::Secret;
use stackr_auth::{AppState, AuthConfig};

use super::free_port;

/// stackr-auth on a thread and runtime of its own: a service's tests run on tokio's
/// single-threaded test runtime, which would serve auth only while the test awaits.
pub(super) struct TestAuth {
    pub(super) url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestAuth {
    /// `database_url`: auth's own database; `service` may provision with `credential`.
    pub(super) fn start(database_url: &str, service: &str, credential: &str) -> TestAuth {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        // Signs this test's session cookies: new each run, like every secret of a stack.
        let secret = Alphanumeric.sample_string(&mut rand::rng(), 48);
        let mut config = AuthConfig::new(
            Secret::new(secret.into_bytes()),
            tokio_postgres::Config::from_str(database_url).expect("auth's database URL"),
            url::Url::parse(&url).expect("auth's URL"),
        );
        // A test signs up its users one after another from one address.
        config.rate_limits = false;
        config.provision_services.insert(
            service.to_owned(),
            Secret::new(credential.as_bytes().to_vec()),
        );
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime for auth");
            runtime.block_on(async move {
                let started = async {
                    let state = AppState::connect(config)
                        .await
                        .map_err(|e| format!("{e:#}"))?;
                    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                        .await
                        .map_err(|e| format!("cannot listen on port {port}: {e}"))?;
                    Ok::<_, String>((state, listener))
                };
                let (state, listener) = match started.await {
                    Ok(started) => started,
                    Err(why) => {
                        let _ = ready_tx.send(Err(why));
                        return;
                    }
                };
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
            // Dropping the runtime ends every connection task with it.
            runtime.shutdown_background();
        });
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(why)) => panic!("the test's auth (stackr-auth) did not start: {why}"),
            Err(_) => panic!("the test's auth (stackr-auth) thread died while starting"),
        }
        TestAuth {
            url,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for TestAuth {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
