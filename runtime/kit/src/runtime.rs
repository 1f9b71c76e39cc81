//! One call that turns the environment into a running base service: config, own database and
//! Redis, migrations, the flavor's guard, `/health`, tracing of requests and graceful shutdown.
//! Scaffolded services call this from `main` and only add routes.

use std::sync::Arc;

use axum::extract::FromRef;
use axum::Router;
use deadpool_postgres::Pool;
use redis::aio::ConnectionManager;
use stackr_contract::env as contract;
use stackr_contract::socket_activation::{turn_away_waiting, TurnAway, API_SOCKET};
use tower_http::trace::{DefaultMakeSpan, TraceLayer};
use tracing::Level;

use crate::auth::AuthClient;
use crate::config::{ApiEnv, AuthEnv};
use crate::guard::{Flavor, Guard, TrustedOrigins};
use crate::health::HealthChecks;
use crate::migrate::Migration;
use crate::peer::{PeerClient, PeerUrls};
use crate::worker::{Producer, QueueConfig};

/// The router state of a scaffolded service. Handlers extract `State<Pool>`, `State<Guard>`,
/// `State<ConnectionManager>`, `State<PeerClient>` (calls to the other services),
/// `State<Arc<Producer>>` (jobs for this service's worker) or the extractors of [`crate::guard`]
/// directly.
#[derive(Clone, FromRef)]
pub struct ServiceState {
    pub guard: Guard,
    pub db: Pool,
    pub redis: ConnectionManager,
    pub peers: PeerClient,
    pub jobs: Arc<Producer>,
}

/// What a service decides at scaffold time.
#[derive(Clone, Copy, Debug)]
pub struct ServiceSpec {
    pub flavor: Flavor,
    /// Role-gated: roles that pass besides `admin`.
    pub roles: &'static [&'static str],
    /// First-call provisioning (own `stackr_user` record + auth's provision endpoint). The
    /// scaffold sets it to `flavor == Flexible`; any base service listed in auth's
    /// `AUTH_PROVISION_SERVICES` may turn it on.
    pub provisioning: bool,
    /// The service's own `migrations/*.sql`, in order.
    pub migrations: &'static [Migration],
}

pub struct ServiceRuntime {
    pub env: ApiEnv,
    pub state: ServiceState,
}

impl ServiceRuntime {
    /// Reads the environment, connects to the service's own PostgreSQL and Redis, runs the
    /// migrations and builds the guard. Errors name the variable or resource at fault. Besides
    /// [`ApiEnv`] and (unless flavor `none`) [`AuthEnv`], it reads `STACKR_QUEUE`(`_PREFIX`) for
    /// the job producer and `SERVICE_URLS` for the peer client.
    ///
    /// When it fails, the connections waiting on the API socket systemd or `stackr dev` handed
    /// over are answered `503` (see [`turn_away_waiting`]): the socket outlives the process.
    pub async fn from_env(spec: ServiceSpec) -> anyhow::Result<Self> {
        let started = Self::from_lookup(spec, &crate::config::process_env).await;
        if started.is_err() {
            turn_away_waiting(API_SOCKET, TurnAway::Unavailable);
        }
        started
    }

    /// [`ServiceRuntime::from_env`] with variables from `lookup` (tests, embedding).
    pub async fn from_lookup(
        spec: ServiceSpec,
        lookup: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> anyhow::Result<Self> {
        // All configuration first, so a missing variable is reported before any connection.
        let env = ApiEnv::from_lookup(lookup)?;
        let auth_env = if spec.flavor.needs_auth() {
            Some(AuthEnv::from_lookup(lookup)?)
        } else {
            None
        };
        if spec.provisioning && auth_env.as_ref().is_some_and(|a| a.credential.is_none()) {
            return Err(crate::config::ConfigError::Missing {
                var: contract::SERVICE_CREDENTIAL_FILE,
            }
            .into());
        }
        let queue = QueueConfig::from_lookup(lookup)?;
        let mut peers =
            PeerClient::trusting(PeerUrls::from_lookup(lookup)?, env.service.tls_ca.as_ref());
        if !spec.flavor.needs_auth() {
            peers = peers.without_cookie();
        }
        let name = env.service.service.clone();
        let db = crate::db::connect(
            &env.service.database_url,
            env.service.tls_ca.as_ref(),
            &name,
            env.service.db_pool_size,
        )
        .await?;
        let redis =
            crate::redis_conn::connect(&env.service.redis_url, env.service.tls_ca.as_ref()).await?;
        crate::migrate::run(&db, spec.migrations).await?;
        let guard = match auth_env {
            Some(auth_env) => {
                let auth = AuthClient::trusting(
                    &auth_env.auth_url,
                    &name,
                    auth_env.credential.clone(),
                    env.service.tls_ca.as_ref(),
                );
                Guard::builder(spec.flavor, auth)
                    .session_cache_ttl(auth_env.session_cache_ttl)
                    .allowed_roles(spec.roles.iter().copied())
                    .trusted_origins(TrustedOrigins::new(&auth_env.trusted_origins))
                    .provisioning(spec.provisioning)
                    .database(db.clone())
                    .build()?
            }
            None => Guard::disabled(),
        };
        tracing::info!(service = %name, flavor = %spec.flavor, database = %env.service.database_url, redis = %env.service.redis_url, "service configured");
        Ok(ServiceRuntime {
            env,
            state: ServiceState {
                guard,
                db,
                redis,
                peers,
                // Connects on first use, so a service that never enqueues opens no queue.
                jobs: Arc::new(Producer::new(queue)),
            },
        })
    }

    pub fn state(&self) -> &ServiceState {
        &self.state
    }

    /// `app` plus `/health` and request tracing, with the state applied: ready to serve. Answers
    /// without a caching rule of their handler's are marked `no-store`
    /// (`stackr_contract::http_server::no_store`).
    pub fn router(&self, app: Router<ServiceState>) -> Router {
        let health = HealthChecks::new(
            self.env.service.service.clone(),
            self.state.db.clone(),
            self.state.redis.clone(),
        );
        app.route("/health", health.route())
            .layer(axum::middleware::from_fn(crate::nul_in_url::refuse))
            .layer(axum::middleware::map_response(
                stackr_contract::http_server::no_store::unless_set,
            ))
            // One line per response (method, path, status, latency). Headers are not
            // recorded, so cookies and device tokens never reach the log.
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                    .on_response(log_response)
                    .on_failure(()),
            )
            .with_state(self.state.clone())
    }

    /// Serves [`ServiceRuntime::router`] on `LISTEN_ADDRESS` and `PORT` until SIGTERM/Ctrl-C,
    /// then finishes in-flight requests.
    pub async fn serve(self, app: Router<ServiceState>) -> anyhow::Result<()> {
        let router = self.router(app);
        let (address, port) = (self.env.listen_address, self.env.port);
        crate::server::serve(router, address, port)
            .await
            .map_err(|e| {
                anyhow::anyhow!("cannot serve on LISTEN_ADDRESS {address} PORT {port}: {e}")
            })
    }
}

/// The access log's line for a response: a server error at WARN, the rest at INFO, and nothing
/// more. tower-http's default adds an ERROR line for each 5xx: an outage of auth, answered 503
/// per request, filled the log with errors that are the service failing closed as designed.
/// What failed is logged where it failed, when that starts and when it ends
/// (`stackr_tls::outage`).
fn log_response<B>(
    response: &axum::http::Response<B>,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_millis();
    if response.status().is_server_error() {
        tracing::warn!(latency_ms, status, "finished processing request");
    } else {
        tracing::info!(latency_ms, status, "finished processing request");
    }
}
