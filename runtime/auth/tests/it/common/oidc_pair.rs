//! The real BetterAuth (genericOAuth plugin) and stackr-auth side by side, each on its own
//! database of one PostgreSQL, both offering the provider `corp` of one real OpenID provider.
#![allow(dead_code)]

use super::node;
use super::oidc_browser::{provider_config, CLIENT_ID, CLIENT_SECRET, PROVIDER};
use crate::common::{Options, TestServer, APP_ORIGIN, SECRET};

/// Fields drop in this order: the Node servers before the PostgreSQL that `ours` owns.
pub struct OidcPair {
    pub ba: node::BetterAuthServer,
    /// BetterAuth's configured base URL (`http://localhost:<port>`).
    pub ba_public: String,
    pub op: node::OidcProvider,
    pub ours: TestServer,
}

impl OidcPair {
    pub async fn start() -> Self {
        let pg = tokio::task::spawn_blocking(stackr_testkit::TempPostgres::start)
            .await
            .unwrap();
        let ba_db = pg.create_database("ba");
        let our_db = pg.create_database("ours");
        let op_port = stackr_testkit::free_port();
        let ba_port = stackr_testkit::free_port();
        let ours = TestServer::start_on(
            pg,
            our_db,
            Options {
                oauth_providers: vec![provider_config(op_port)],
                ..Default::default()
            },
        )
        .await;
        let ba_public = format!("http://localhost:{ba_port}");
        let redirect_uris = [
            stackr_auth::oauth::redirect_uri(&ours.state.config.base(), PROVIDER),
            stackr_auth::oauth::redirect_uri(&ba_public, PROVIDER),
        ];
        let op = tokio::task::spawn_blocking(move || {
            node::OidcProvider::start(op_port, CLIENT_ID, CLIENT_SECRET, &redirect_uris)
        })
        .await
        .unwrap();
        let discovery = format!("{}/.well-known/openid-configuration", op.issuer());
        let ba = tokio::task::spawn_blocking(move || {
            node::BetterAuthServer::start_with(
                ba_port,
                &ba_db,
                SECRET,
                APP_ORIGIN,
                &[
                    ("OIDC_DISCOVERY_URL", discovery),
                    ("OIDC_CLIENT_ID", CLIENT_ID.to_owned()),
                    ("OIDC_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
                ],
            )
        })
        .await
        .unwrap();
        OidcPair {
            ba,
            ba_public,
            op,
            ours,
        }
    }

    /// Runs SQL on BetterAuth's database (`ba`) or stackr-auth's (`ours`).
    pub fn sql(&self, db: &str, sql: &str) -> String {
        self.ours.pg.psql(db, sql)
    }

    /// Sets one of the provider's test controls (`/test/<control>`, see `interop/oidc`).
    pub async fn control(&self, control: &str, body: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/test/{control}", self.op.issuer()))
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
}
