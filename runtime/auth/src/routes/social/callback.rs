//! `GET|POST /api/auth/callback/:id`: where the provider sends the browser back. Every outcome
//! is a redirect: to the flow's callback URL with a session cookie, or to its error URL (default
//! `<base>/api/auth/error`) with BetterAuth's `?error=<code>`. Nothing is created unless every
//! check passed, and refusals are logged with their reason, never with an authorization code or
//! a token.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::body::JsonOrFormBody;
use crate::client_ip::{user_agent, ClientIp};
use crate::current_session;
use crate::db::session_sign_in::Proved;
use crate::error::ApiResult;
use crate::error_codes;
use crate::oauth::flow_state::{self, FlowState, Refused};
use crate::oauth::presets::Preset;
use crate::oauth::{exchange, github, id_token, identity, Provider};
use crate::respond;
use crate::state::AppState;

/// The parameters a provider may send back (BetterAuth's callback schema).
const PARAMS: [&str; 7] = [
    "code",
    "error",
    "device_id",
    "error_description",
    "state",
    "user",
    "iss",
];

fn parse_query(raw: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if PARAMS.contains(&k.as_ref()) {
            out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    out
}

/// `url` with `?error=…[&error_description=…]` added before any fragment.
fn with_error(url: &str, error: &str, description: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("error", error);
    if let Some(d) = description {
        q.append_pair("error_description", d);
    }
    respond::with_query(url, &q.finish())
}

fn default_error_url(state: &AppState) -> String {
    format!("{}/api/auth/error", state.config.base())
}

/// A form post (`response_mode=form_post`) is turned into the same GET, as BetterAuth does:
/// the cookies that bind the flow are `SameSite=Lax` and only travel on the top-level GET.
pub async fn post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    JsonOrFormBody(body): JsonOrFormBody,
) -> ApiResult<Response> {
    let mut merged = url::form_urlencoded::Serializer::new(String::new());
    let from_query = parse_query(query.as_deref());
    for key in PARAMS {
        let value = from_query.get(key).cloned().or_else(|| {
            body.map()
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        });
        if let Some(v) = value {
            merged.append_pair(key, &v);
        }
    }
    // The id comes decoded from the path: encoded again, so `%2F..` cannot leave the path.
    let id = crate::cookie::encode_uri_component(&id);
    let target = format!(
        "{}?{}",
        crate::oauth::redirect_uri(&state.config.base(), &id),
        merged.finish()
    );
    Ok(respond::redirect(&target, Vec::new()))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let params = parse_query(query.as_deref());
    let client = state.db().await?;
    let taken = flow_state::take(
        &state,
        &client,
        &headers,
        &id,
        params.get("state").map(String::as_str),
    )
    .await?;
    drop(client);
    let expire_state = vec![state.cookies.expire(flow_state::cookie_name(&state))];
    let flow = match taken {
        Ok(flow) => flow,
        Err(refused) => {
            let (error_url, code) = match refused {
                Refused::NotFound => (None, "state_not_found"),
                Refused::Mismatch { error_url } => (error_url, "state_mismatch"),
            };
            // Debug only: anyone can call the callback with no flow of theirs, as often as
            // they like; a line each would be theirs to write.
            tracing::debug!(provider = ?id, code, "OAuth callback refused: state");
            let to = error_url.unwrap_or_else(|| default_error_url(&state));
            return Ok(respond::redirect(&with_error(&to, code, None), Vec::new()));
        }
    };
    let error_url = flow
        .error_url
        .clone()
        .unwrap_or_else(|| default_error_url(&state));
    let fail = |code: &str, description: Option<&str>| {
        // The id and a provider-sent `error` come from the request: Debug-quoted, so they cannot
        // forge log lines.
        tracing::warn!(provider = ?id, code = ?code, "OAuth callback refused");
        respond::redirect(
            &with_error(&error_url, code, description),
            expire_state.clone(),
        )
    };
    if let Some(error) = params.get("error") {
        return Ok(fail(
            error,
            params.get("error_description").map(String::as_str),
        ));
    }
    let Some(code) = params.get("code").filter(|c| !c.is_empty()) else {
        return Ok(fail("no_code", None));
    };
    let Some(provider) = state.oauth.get(&id) else {
        return Ok(fail("oauth_provider_not_found", None));
    };
    let identity = verified_identity(&state, &provider, &flow, code, &params)
        .await
        .and_then(|(profile, tokens)| {
            let usable = profile
                .within_caps()
                .map_err(|e| (UNABLE_TO_GET_USER_INFO, e))?;
            Ok((usable, tokens))
        });
    let identity = match identity {
        Ok(found) => found,
        Err((code, reason)) => {
            // Debug-quoted: the reason can carry text a provider sent.
            tracing::warn!(provider = %id, reason = ?format!("{reason:#}"), "OAuth sign-in failed");
            return Ok(fail(code, None));
        }
    };
    let (profile, tokens) = identity;
    let sealed = identity::seal(&state, &tokens);

    if let Some(link) = &flow.link {
        return Ok(
            match identity::link(&state, &provider.config, &profile, link, &sealed).await? {
                Ok(()) => respond::redirect(&flow.callback_url, expire_state),
                Err(code) => fail(code, None),
            },
        );
    }
    let Some(email) = profile.email.clone() else {
        return Ok(fail("email_not_found", None));
    };
    let (user, created) =
        match identity::sign_in(&state, &provider.config, &profile, &email, &sealed).await? {
            Ok(found) => found,
            Err(code) => return Ok(fail(code, None)),
        };
    if user.is_banned(chrono::Utc::now()) {
        let banned = crate::routes::sign_in::banned_error();
        return Ok(fail(error_codes::BANNED_USER, banned.message()));
    }
    if state.config.require_email_verification && !user.email_verified {
        return Ok(fail(identity::EMAIL_NOT_VERIFIED, None));
    }
    let mut client = state.db().await?;
    let Some(issued) = current_session::issue_if_still(
        &state,
        &mut client,
        &user.id,
        current_session::StillSo::NotBanned,
        // A provider's sign-in asks for neither the password nor the second factor (as in
        // BetterAuth): its session does not open the admin dashboard.
        Proved::Nothing,
        true,
        &ip,
        &user_agent(&headers),
    )
    .await?
    else {
        // Banned meanwhile.
        let banned = crate::routes::sign_in::banned_error();
        return Ok(fail(error_codes::BANNED_USER, banned.message()));
    };
    let to = match (&flow.new_user_url, created) {
        (Some(new_user), true) => new_user.clone(),
        _ => flow.callback_url.clone(),
    };
    let mut cookies = expire_state;
    cookies.extend(issued.cookies);
    tracing::info!(provider = %id, user_id = %user.id, created, "OAuth sign-in");
    Ok(respond::redirect(&to, cookies))
}

type Refusal = (&'static str, anyhow::Error);

/// The refusal of a provider's answer about who signed in that is missing or unusable.
const UNABLE_TO_GET_USER_INFO: &str = "unable_to_get_user_info";

/// Code → tokens → verified ID token → profile, each failure with its BetterAuth code.
async fn verified_identity(
    state: &AppState,
    provider: &Provider,
    flow: &FlowState,
    code: &str,
    params: &HashMap<String, String>,
) -> Result<(exchange::Profile, exchange::Tokens), Refusal> {
    let discovered = provider
        .discovered()
        .await
        .map_err(|e| ("invalid_code", e))?;
    // RFC 9207: an `iss` in the callback must be this provider's (mix-up defence), and one that
    // announces it names itself must have (§2.4: else the callback may be another's).
    match params.get("iss") {
        Some(iss) if !discovered.issuers.contains(iss) => {
            return Err((
                "issuer_mismatch",
                anyhow::anyhow!("the callback names another issuer"),
            ));
        }
        None if discovered.names_itself_in_callbacks => {
            return Err((
                "issuer_missing",
                anyhow::anyhow!(
                    "the callback names no issuer, though the provider announces it does"
                ),
            ));
        }
        _ => {}
    }
    let redirect_uri = crate::oauth::redirect_uri(&state.config.base(), &provider.config.id);
    let tokens = exchange::redeem_code(provider, code, &flow.code_verifier, &redirect_uri)
        .await
        .map_err(|e| ("invalid_code", e))?;
    let unable = UNABLE_TO_GET_USER_INFO;
    if provider.config.preset() == Some(Preset::Github) {
        let access_token = tokens.access_token.as_deref().ok_or_else(|| {
            (
                unable,
                anyhow::anyhow!("the token response has no access_token"),
            )
        })?;
        let profile = github::profile(provider, access_token)
            .await
            .map_err(|e| (unable, e))?;
        return Ok((profile, tokens));
    }
    let id_token = tokens.id_token.as_deref().ok_or_else(|| {
        (
            unable,
            anyhow::anyhow!("the token response has no id_token"),
        )
    })?;
    let claims = id_token::verify(provider, id_token, &flow.id_token_nonce)
        .await
        .map_err(|e| (unable, e))?;
    let mut profile = exchange::profile(provider, &claims, tokens.access_token.as_deref())
        .await
        .map_err(|e| (unable, e))?;
    if provider.config.preset() == Some(Preset::Apple) {
        if let Some(name) = params
            .get("user")
            .and_then(|u| exchange::apple_user_name(u))
        {
            profile.name = Some(name);
        }
    }
    Ok((profile, tokens))
}

#[cfg(test)]
mod tests {
    use super::with_error;

    #[test]
    fn error_codes_are_added_as_query_parameters() {
        assert_eq!(with_error("/oops", "no_code", None), "/oops?error=no_code");
        assert_eq!(
            with_error("/oops?x=1#top", "access_denied", Some("a b&c")),
            "/oops?x=1&error=access_denied&error_description=a+b%26c#top"
        );
    }
}
