//! BetterAuth's social sign-in routes for the OpenID Connect providers of `crate::oauth`:
//! `sign-in/social`, `callback/:id`, `link-social`, `list-accounts`, `unlink-account`,
//! `account-info`, and the default error page `error`.

pub mod account_info;
pub mod accounts;
pub mod callback;
pub mod error_page;
pub mod link;
pub mod sign_in;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::error_codes;
use crate::oauth::flow_state::{self, FlowState, Link};
use crate::oauth::Provider;
use crate::respond;
use crate::state::AppState;

/// What `sign-in/social` and `link-social` share from their bodies.
pub struct FlowRequest {
    pub provider: String,
    pub callback_url: Option<String>,
    pub error_callback_url: Option<String>,
    pub new_user_callback_url: Option<String>,
    pub disable_redirect: bool,
    pub scopes: Vec<String>,
    pub login_hint: Option<String>,
    pub request_sign_up: Option<bool>,
    pub has_id_token: bool,
}

impl FlowRequest {
    /// Reads the fields (unknown ones are ignored, as zod does) and refuses callback URLs that
    /// are neither a plain relative path nor on a trusted origin, with BetterAuth's codes.
    pub fn parse(state: &AppState, body: &mut Body) -> ApiResult<FlowRequest> {
        let scopes = match body.map().get("scopes") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items))
                if items
                    .iter()
                    .all(|v| v.is_string() && v.as_str().is_some_and(|s| s.len() <= 256))
                    && items.len() <= 32 =>
            {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            }
            Some(_) => {
                return Err(ApiError::validation(
                    "[body.scopes] Invalid input: expected array of up to 32 short strings",
                ))
            }
        };
        let request = FlowRequest {
            provider: body.string("provider"),
            callback_url: body.opt_string("callbackURL"),
            error_callback_url: body.opt_string("errorCallbackURL"),
            new_user_callback_url: body.opt_string("newUserCallbackURL"),
            disable_redirect: body.opt_bool("disableRedirect").unwrap_or(false),
            scopes,
            login_hint: body.opt_string("loginHint"),
            request_sign_up: body.opt_bool("requestSignUp"),
            has_id_token: body.has("idToken"),
        };
        body.check()?;
        for (url, code, message) in [
            (
                &request.callback_url,
                error_codes::INVALID_CALLBACK_URL,
                "Invalid callbackURL",
            ),
            (
                &request.error_callback_url,
                error_codes::INVALID_ERROR_CALLBACK_URL,
                "Invalid errorCallbackURL",
            ),
            (
                &request.new_user_callback_url,
                error_codes::INVALID_NEW_USER_CALLBACK_URL,
                "Invalid newUserCallbackURL",
            ),
        ] {
            if url
                .as_deref()
                .is_some_and(|u| !u.is_empty() && !state.trusted.is_trusted_url(u))
            {
                return Err(ApiError::forbidden(code, message));
            }
        }
        Ok(request)
    }

    /// The configured provider, or BetterAuth's `404 PROVIDER_NOT_FOUND`; an ID token in the
    /// body gets `404 ID_TOKEN_NOT_SUPPORTED` (sign-in by an ID token the browser obtained
    /// itself is not offered: it would skip this service's nonce).
    pub fn provider(&self, state: &AppState) -> ApiResult<std::sync::Arc<Provider>> {
        let provider = state
            .oauth
            .get(&self.provider)
            .ok_or_else(provider_not_found)?;
        if self.has_id_token {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                error_codes::ID_TOKEN_NOT_SUPPORTED,
                "id_token not supported",
            ));
        }
        Ok(provider)
    }
}

fn provider_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        error_codes::PROVIDER_NOT_FOUND,
        "Provider not found",
    )
}

/// Stores the flow, and answers BetterAuth's `{"url", "redirect"}` with the state cookie (and
/// `Location` unless `disableRedirect`).
pub async fn start_flow(
    state: &AppState,
    provider: &Provider,
    request: FlowRequest,
    link: Option<Link>,
) -> ApiResult<Response> {
    let discovered = provider.discovered().await.map_err(|e| {
        // An unreachable provider is answered as BetterAuth answers a provider whose discovery
        // failed: it is not available.
        tracing::warn!(provider = %provider.config.id, error = ?format!("{e:#}"), "provider discovery failed");
        provider_not_found()
    })?;
    let (oauth_state, code_verifier, nonce) = flow_state::new_secrets();
    let flow = FlowState {
        callback_url: request
            .callback_url
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| state.config.base()),
        code_verifier,
        error_url: request.error_callback_url.filter(|u| !u.is_empty()),
        new_user_url: request.new_user_callback_url.filter(|u| !u.is_empty()),
        link,
        expires_at: flow_state::expires_at_ms(),
        request_sign_up: request.request_sign_up,
        id_token_nonce: nonce,
        oauth_state,
        provider_id: provider.config.id.clone(),
    };
    let client = state.db().await?;
    let state_cookie = flow_state::save(state, &client, &flow).await?;

    let config = &provider.config;
    let mut scopes: Vec<String> = Vec::new();
    let base_scopes = config
        .base_scopes()
        .iter()
        .map(std::string::ToString::to_string);
    for s in base_scopes
        .chain(request.scopes)
        .chain(config.scopes.clone())
    {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    let (response_type, extra_params) = config.authorization_params();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(flow.code_verifier.as_bytes()));
    let mut url = discovered.authorization_endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", response_type)
            .append_pair("client_id", &provider.config.client_id)
            .append_pair("state", &flow.oauth_state)
            .append_pair("scope", &scopes.join(" "))
            .append_pair(
                "redirect_uri",
                &crate::oauth::redirect_uri(&state.config.base(), &provider.config.id),
            );
        if let Some(hint) = &request.login_hint {
            q.append_pair("login_hint", hint);
        }
        // A nonce only where an ID token will carry it back.
        if !discovered.issuers.is_empty() {
            q.append_pair("nonce", &flow.id_token_nonce);
        }
        if config.uses_pkce() {
            q.append_pair("code_challenge_method", "S256")
                .append_pair("code_challenge", &challenge);
        }
        q.extend_pairs(extra_params);
    }
    let mut out = Map::new();
    out.insert("url".into(), url.as_str().into());
    out.insert("redirect".into(), (!request.disable_redirect).into());
    let mut res =
        respond::json_with_cookies(StatusCode::OK, Value::Object(out), vec![state_cookie]);
    if !request.disable_redirect {
        if let Ok(v) = HeaderValue::from_str(url.as_str()) {
            res.headers_mut().insert(header::LOCATION, v);
        }
    }
    Ok(res)
}
