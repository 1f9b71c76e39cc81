//! A small GitHub on a loopback port, speaking the parts of GitHub's OAuth app flow and REST API
//! a sign-in uses, with the answers GitHub's documentation gives
//! ("Authorizing OAuth apps", "Troubleshooting OAuth app access token request errors",
//! "REST API: Users" and "REST API: Emails"):
//!
//! * `GET /login/oauth/authorize?client_id&redirect_uri&scope&state&code_challenge…`: a sign-in
//!   form (login and password, any password); posting it redirects to `redirect_uri` with `code`
//!   and `state`.
//! * `POST /login/oauth/access_token` (form `client_id`, `client_secret`, `code`,
//!   `redirect_uri`, `code_verifier`): with `Accept: application/json`
//!   `{"access_token","scope","token_type":"bearer"}`, otherwise the same form-encoded. A refused
//!   request is still `200`, with `{"error","error_description","error_uri"}`:
//!   `incorrect_client_credentials`, `redirect_uri_mismatch`, `bad_verification_code` (a code that
//!   is unknown, used or expired; the fake also answers it to a wrong PKCE verifier). A code is
//!   good once.
//! * `GET /user` (`Authorization: Bearer <token>` or `token <token>`): `{"login","id","node_id",
//!   "avatar_url","name","email","type"}`, `email` being the public address or `null`; a bad
//!   token gets `401 {"message":"Bad credentials"}`; a request without `User-Agent` gets `403`.
//! * `GET /user/emails`: `[{"email","primary","verified","visibility"}]`; without the
//!   `user:email` scope `404 {"message":"Not Found"}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "Iv1.fakegithubclient";
pub const CLIENT_SECRET: &str = "client-secret-of-the-fake-github";

/// One address of a GitHub account.
#[derive(Clone)]
pub struct Email {
    pub email: &'static str,
    pub primary: bool,
    pub verified: bool,
}

/// A GitHub account.
#[derive(Clone)]
pub struct Account {
    pub id: u64,
    pub login: &'static str,
    pub name: Option<&'static str>,
    /// The public address (`email` of `/user`), or none.
    pub public_email: Option<&'static str>,
    pub emails: Vec<Email>,
}

struct Grant {
    login: String,
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
}

#[derive(Default)]
struct Inner {
    accounts: HashMap<String, Account>,
    codes: HashMap<String, Grant>,
    /// access token → (login, scope)
    tokens: HashMap<String, (String, String)>,
    counter: u64,
}

type Shared = Arc<Mutex<Inner>>;

pub struct GithubFake {
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GithubFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GithubFake {
    pub async fn start(accounts: Vec<Account>) -> GithubFake {
        let inner = Inner {
            accounts: accounts
                .into_iter()
                .map(|a| (a.login.to_owned(), a))
                .collect(),
            ..Default::default()
        };
        let app = Router::new()
            .route(
                "/login/oauth/authorize",
                get(authorize_form).post(authorize),
            )
            .route(
                "/login/oauth/access_token",
                axum::routing::post(access_token),
            )
            .route("/user", get(user))
            .route("/user/emails", get(emails))
            .with_state(Arc::new(Mutex::new(inner)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        GithubFake { base, task }
    }

    /// The providers-file entry of the `github` preset with every endpoint replaced by this
    /// fake's.
    pub fn preset_entry(&self, provider_id: &str, secret_file: &std::path::Path) -> Value {
        json!({
            "providerId": provider_id,
            "preset": "github",
            "clientId": CLIENT_ID,
            "clientSecretFile": secret_file,
            "endpoints": {
                "authorization": format!("{}/login/oauth/authorize", self.base),
                "token": format!("{}/login/oauth/access_token", self.base),
                "userinfo": format!("{}/user", self.base),
                "emails": format!("{}/user/emails", self.base),
            }
        })
    }
}

fn random_token(prefix: &str, inner: &mut Inner) -> String {
    inner.counter += 1;
    format!("{prefix}_{}_{:016x}", inner.counter, rand::random::<u64>())
}

fn html_safe(v: &str) -> bool {
    !v.contains(['"', '<', '>', '&'])
}

async fn authorize_form(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return (StatusCode::NOT_FOUND, "unknown client_id").into_response();
    }
    let mut hidden = String::new();
    for key in [
        "redirect_uri",
        "state",
        "scope",
        "code_challenge",
        "code_challenge_method",
    ] {
        if let Some(v) = q.get(key) {
            if !html_safe(v) {
                return (StatusCode::BAD_REQUEST, "unexpected characters").into_response();
            }
            hidden.push_str(&format!(
                r#"<input type="hidden" name="{key}" value="{v}">"#
            ));
        }
    }
    Html(format!(
        r#"<html><body><form method="post" action="/login/oauth/authorize">{hidden}<input name="login"><input type="password" name="password"></form></body></html>"#
    ))
    .into_response()
}

async fn authorize(State(s): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let mut inner = s.lock().unwrap();
    let login = f.get("login").cloned().unwrap_or_default();
    if !inner.accounts.contains_key(&login) {
        return (StatusCode::UNAUTHORIZED, "Incorrect username or password.").into_response();
    }
    let redirect_uri = f.get("redirect_uri").cloned().unwrap_or_default();
    let challenge = match f.get("code_challenge_method").map(String::as_str) {
        Some("S256") | None => f.get("code_challenge").cloned(),
        Some(_) => return (StatusCode::BAD_REQUEST, "unsupported challenge").into_response(),
    };
    let code = random_token("code", &mut inner);
    let grant = Grant {
        login,
        redirect_uri: redirect_uri.clone(),
        challenge,
        scope: f.get("scope").cloned().unwrap_or_default(),
    };
    inner.codes.insert(code.clone(), grant);
    let mut to = url::Url::parse(&redirect_uri).unwrap();
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", f.get("state").map_or("", String::as_str));
    Redirect::to(to.as_str()).into_response()
}

fn token_error(error: &str, description: &str) -> Response {
    Json(json!({
        "error": error,
        "error_description": description,
        "error_uri": format!("https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#{}", error.replace('_', "-")),
    }))
    .into_response()
}

async fn access_token(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map_or("", String::as_str);
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return token_error(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let mut inner = s.lock().unwrap();
    let Some(grant) = inner.codes.remove(field("code")) else {
        return token_error(
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        );
    };
    if field("redirect_uri") != grant.redirect_uri {
        return token_error(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    }
    if let Some(challenge) = &grant.challenge {
        let verifier = URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes()));
        if &verifier != challenge {
            return token_error(
                "bad_verification_code",
                "The code passed is incorrect or expired.",
            );
        }
    }
    let token = random_token("gho", &mut inner);
    // GitHub reports the granted scopes comma-separated.
    let scope = grant.scope.split_whitespace().collect::<Vec<_>>().join(",");
    inner
        .tokens
        .insert(token.clone(), (grant.login, grant.scope.clone()));
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        Json(json!({"access_token": token, "scope": scope, "token_type": "bearer"})).into_response()
    } else {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("access_token", &token)
            .append_pair("scope", &scope)
            .append_pair("token_type", "bearer")
            .finish();
        (
            [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
            body,
        )
            .into_response()
    }
}

/// The account and granted scope behind a request's token, or GitHub's refusal.
fn caller(s: &Shared, headers: &HeaderMap) -> Result<(Account, String), Box<Response>> {
    if !headers.contains_key(header::USER_AGENT) {
        return Err(Box::new((
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.",
        )
            .into_response()));
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("token "))
        .unwrap_or("");
    let inner = s.lock().unwrap();
    match inner.tokens.get(token) {
        Some((login, scope)) => Ok((inner.accounts[login].clone(), scope.clone())),
        None => Err(Box::new(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})),
            )
                .into_response(),
        )),
    }
}

async fn user(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let (a, _) = match caller(&s, &headers) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    Json(json!({
        "login": a.login,
        "id": a.id,
        "node_id": format!("U_{}", a.id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", a.id),
        "name": a.name,
        "email": a.public_email,
        "type": "User",
    }))
    .into_response()
}

async fn emails(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let (a, scope) = match caller(&s, &headers) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    if !scope
        .split_whitespace()
        .any(|s| s == "user:email" || s == "user")
    {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest/users/emails"})),
        )
            .into_response();
    }
    let list: Vec<Value> = a
        .emails
        .iter()
        .map(|e| {
            json!({
                "email": e.email,
                "primary": e.primary,
                "verified": e.verified,
                "visibility": if Some(e.email) == a.public_email { Some("public") } else { None },
            })
        })
        .collect();
    Json(list).into_response()
}
