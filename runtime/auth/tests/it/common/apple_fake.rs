//! A small Sign in with Apple on a loopback port, answering as Apple's REST API documentation
//! describes it ("Request an authorization to the Sign in with Apple server", "Generate and
//! validate tokens", "Fetch Apple's public key for verifying token signature"):
//!
//! * `GET /auth/authorize?client_id&redirect_uri&state&scope&response_type=code id_token
//!   &response_mode=form_post&nonce`: the user is signed in at once (`USER`); Apple answers a
//!   page whose form posts `state`, `code`, `id_token` and, the first time only, `user` (a JSON
//!   `{"name":{"firstName","lastName"},"email"}`) to `redirect_uri`.
//! * `POST /auth/token` (form `client_id`, `client_secret`, `code`, `grant_type`,
//!   `redirect_uri`): the client secret must be an ES256 JWT signed by the developer's key
//!   (`kid` the key id, `iss` the team id, `sub` the client id, `aud` the issuer); answers
//!   `{"access_token","token_type":"Bearer","expires_in","refresh_token","id_token"}`, or
//!   `400 {"error":"invalid_client"|"invalid_grant"}`. The ID token (RS256) carries `nonce`,
//!   `email` and `email_verified` as the string `"true"`, as Apple sends it.
//! * `GET /auth/keys`: the JWKS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "com.example.web";
pub const TEAM_ID: &str = "TEAM123456";
pub const KEY_ID: &str = "KEY1234567";
/// The developer's key (the `.p8` file) and its public half, which Apple holds.
pub const CLIENT_KEY: &str = include_str!("../../fixtures/apple/client-key.p8");
const CLIENT_PUBLIC_KEY: &str = include_str!("../../fixtures/apple/client-key.pub.pem");
/// Apple's ID-token signing key; its public half is served at `/auth/keys`.
const SIGNING_KEY: &str = include_str!("../../fixtures/apple/id-token-signing-key.pem");
const SIGNING_KEY_N: &str = "wpY7YxM8BoH1tfmmVfcyxs3yqfAPYoguLC4Im5AFSgIIPvCnMkWOiFktPU-gN-8wHpqxHDcnQlCufKBQrQM4MdQ6svgxTJ1ZTLv4ocb0aNLl8HtwCm0I783ugUL32EjW4qp-05vdbKvsBTqeqDKZQxJY_FszyD_ubzzqEJka1O0gpY1DYG5Xsg8pj_ukc83aKK9-iO9Ykoo5Bmts0E81mOG1dfaXXa0Sdd2fWgl68jqkXzRltT4ksEqE2IsQwZCNhaxmjOxiLNk9JMsQKIf--UXTXoj_-PLd1KfcSVZ4XKsQK3vi-681QRq5M2Na9Wpba5M6eh0Of0za-POrS9ldvQ";
const SIGNING_KID: &str = "apple-test-signing-key";

/// The person signing in: Apple's subject and address.
pub const USER_SUB: &str = "001234.abcdef";
pub const USER_EMAIL: &str = "ada@example.com";

#[derive(Default)]
struct Inner {
    /// code → (nonce, redirect_uri)
    codes: HashMap<String, (String, String)>,
    counter: u64,
    /// What the token endpoint received besides the fields it checks (tests look at it).
    token_requests: Vec<HashMap<String, String>>,
    /// The subject of the ID tokens issued from now on, when not `USER_SUB`.
    subject: Option<String>,
    /// The `scope` the token endpoint answers from now on (Apple's answer has none).
    scope: Option<String>,
}

type Shared = Arc<Mutex<Inner>>;

pub struct AppleFake {
    pub base: String,
    inner: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AppleFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Ctx {
    inner: Shared,
    issuer: String,
}

impl AppleFake {
    pub async fn start() -> AppleFake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let inner: Shared = Arc::default();
        let ctx = Arc::new(Ctx {
            inner: inner.clone(),
            issuer: base.clone(),
        });
        let app = Router::new()
            .route("/auth/authorize", get(authorize))
            .route("/auth/token", post(token))
            .route("/auth/keys", get(keys))
            .with_state(ctx);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        AppleFake { base, inner, task }
    }

    /// The token requests received, as form fields.
    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.inner.lock().unwrap().token_requests.clone()
    }

    /// Issues ID tokens with the subject `sub` from now on (an identity provider with a bug, or a
    /// hostile one).
    pub fn issue_subject(&self, sub: &str) {
        self.inner.lock().unwrap().subject = Some(sub.to_owned());
    }

    /// Answers token requests with a `scope` member from now on.
    pub fn answer_scope(&self, scope: &str) {
        self.inner.lock().unwrap().scope = Some(scope.to_owned());
    }

    /// The providers-file entry of the `apple` preset with every endpoint replaced by this
    /// fake's.
    pub fn preset_entry(&self, provider_id: &str, key_file: &std::path::Path) -> Value {
        json!({
            "providerId": provider_id,
            "preset": "apple",
            "clientId": CLIENT_ID,
            "teamId": TEAM_ID,
            "keyId": KEY_ID,
            "privateKeyFile": key_file,
            "endpoints": {
                "issuer": self.base,
                "authorization": format!("{}/auth/authorize", self.base),
                "token": format!("{}/auth/token", self.base),
                "jwks": format!("{}/auth/keys", self.base),
            }
        })
    }
}

fn escape(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

async fn authorize(
    State(ctx): State<Arc<Ctx>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| q.get(k).cloned().unwrap_or_default();
    if field("client_id") != CLIENT_ID
        || field("response_type") != "code id_token"
        || field("response_mode") != "form_post"
    {
        return (StatusCode::BAD_REQUEST, "invalid_request").into_response();
    }
    let code = {
        let mut inner = ctx.inner.lock().unwrap();
        inner.counter += 1;
        let code = format!("c{}.0.apple", inner.counter);
        inner
            .codes
            .insert(code.clone(), (field("nonce"), field("redirect_uri")));
        code
    };
    let user = json!({"name": {"firstName": "Ada", "lastName": "Lovelace"}, "email": USER_EMAIL});
    let mut inputs = String::new();
    for (name, value) in [
        ("state", field("state")),
        ("code", code),
        ("user", user.to_string()),
    ] {
        inputs.push_str(&format!(
            r#"<input type="hidden" name="{name}" value="{}">"#,
            escape(&value)
        ));
    }
    Html(format!(
        r#"<html><body onload="document.forms[0].submit()"><form method="post" action="{}">{inputs}</form></body></html>"#,
        escape(&field("redirect_uri"))
    ))
    .into_response()
}

fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response()
}

async fn token(State(ctx): State<Arc<Ctx>>, Form(f): Form<HashMap<String, String>>) -> Response {
    ctx.inner.lock().unwrap().token_requests.push(f.clone());
    let field = |k: &str| f.get(k).map_or("", String::as_str);
    let secret = field("client_secret");
    let header_ok = jsonwebtoken::decode_header(secret)
        .is_ok_and(|h| h.alg == Algorithm::ES256 && h.kid.as_deref() == Some(KEY_ID));
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[TEAM_ID]);
    validation.set_audience(&[&ctx.issuer]);
    validation.sub = Some(CLIENT_ID.to_owned());
    let key = DecodingKey::from_ec_pem(CLIENT_PUBLIC_KEY.as_bytes()).unwrap();
    let secret_ok = jsonwebtoken::decode::<Value>(secret, &key, &validation).is_ok();
    if field("client_id") != CLIENT_ID || !header_ok || !secret_ok {
        return token_error("invalid_client");
    }
    let Some((nonce, redirect_uri)) = ctx.inner.lock().unwrap().codes.remove(field("code")) else {
        return token_error("invalid_grant");
    };
    if field("grant_type") != "authorization_code" || field("redirect_uri") != redirect_uri {
        return token_error("invalid_grant");
    }
    let (subject, scope) = {
        let inner = ctx.inner.lock().unwrap();
        (inner.subject.clone(), inner.scope.clone())
    };
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": ctx.issuer, "aud": CLIENT_ID, "sub": subject.as_deref().unwrap_or(USER_SUB),
        "iat": now, "exp": now + 600, "auth_time": now, "nonce": nonce,
        "email": USER_EMAIL, "email_verified": "true", "is_private_email": "false",
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(SIGNING_KID.to_owned());
    let id_token = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(SIGNING_KEY.as_bytes()).unwrap(),
    )
    .unwrap();
    let mut answer = json!({
        "access_token": "a.apple-access", "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": "r.apple-refresh", "id_token": id_token,
    });
    if let Some(scope) = scope {
        answer["scope"] = scope.into();
    }
    Json(answer).into_response()
}

async fn keys() -> Json<Value> {
    Json(json!({"keys": [{
        "kty": "RSA", "kid": SIGNING_KID, "use": "sig", "alg": "RS256",
        "n": SIGNING_KEY_N, "e": "AQAB",
    }]}))
}
