//! Sign-in with OpenID Connect providers and the Google, GitHub and Apple presets, on BetterAuth's social sign-in wire protocol
//! (`sign-in/social`, `callback/:id`, `link-social`; BetterAuth 1.7 serves its generic OAuth
//! providers through these same routes). The routes are in `crate::routes::social`; this module
//! holds what they share: the configured providers with their cached discovery documents and
//! keys, the per-browser flow state, the code exchange, ID-token validation, and the rules that
//! turn a provider identity into a user.

pub mod apple_secret;
pub mod discovery;
pub mod exchange;
pub mod flow_state;
pub mod github;
pub mod http;
pub mod id_token;
pub mod identity;
pub mod presets;
pub mod providers;
pub mod userinfo;

use std::sync::Arc;

pub use discovery::Provider;
pub use providers::ProviderConfig;

/// The configured providers, by id.
#[derive(Default)]
pub struct Providers {
    list: Vec<Arc<Provider>>,
}

impl Providers {
    pub fn new(configs: &[ProviderConfig]) -> Self {
        let http = http::client();
        Providers {
            list: configs
                .iter()
                .map(|c| Arc::new(Provider::new(c.clone(), http.clone())))
                .collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<Provider>> {
        self.list.iter().find(|p| p.config.id == id).cloned()
    }
}

/// The redirect URI registered at the provider: `<base URL>/api/auth/callback/<provider id>`.
pub fn redirect_uri(base: &str, provider_id: &str) -> String {
    format!("{base}/api/auth/callback/{provider_id}")
}
