//! What a browser does against the stack, reduced to the calls the checks need: sign up / in /
//! out at auth (with the `Origin` header browsers send), and calls to base services with or
//! without the session cookie.

use std::time::Duration;

use anyhow::Context;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// BetterAuth's session cookie name on plain-http base URLs.
pub const SESSION_COOKIE: &str = "better-auth.session_token";

/// A browser session: the cookie header value a browser would send (`name=value`).
#[derive(Clone, Debug)]
pub struct BrowserSession {
    pub user_id: String,
    pub cookie: String,
    /// The `Set-Cookie` header auth answered with, attributes included.
    pub set_cookie: String,
}

pub struct Browser {
    http: reqwest::Client,
    auth_url: String,
    origin: String,
}

/// A status and body, for assertions that show what came back.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.body).with_context(|| format!("not JSON: {}", self.body))
    }
}

impl Browser {
    /// `auth_url`: where auth listens; `origin`: the origin of its public base URL.
    pub fn new(auth_url: &str, origin: &str) -> Self {
        // Generous: a sign-up hashes a password, slowly on a loaded machine; a hung request
        // still ends, with an error naming the request.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("a plain HTTP client always builds");
        Browser {
            http,
            auth_url: auth_url.trim_end_matches('/').to_owned(),
            origin: origin.to_owned(),
        }
    }

    pub async fn sign_up(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> anyhow::Result<BrowserSession> {
        let body = json!({ "email": email, "password": password, "name": name });
        session_from(
            self.post_auth("/api/auth/sign-up/email", None, &body)
                .await?,
            "sign-up",
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> anyhow::Result<BrowserSession> {
        let body = json!({ "email": email, "password": password });
        session_from(
            self.post_auth("/api/auth/sign-in/email", None, &body)
                .await?,
            "sign-in",
        )
        .await
    }

    pub async fn sign_out(&self, session: &BrowserSession) -> anyhow::Result<()> {
        let resp = self
            .post_auth("/api/auth/sign-out", Some(&session.cookie), &json!({}))
            .await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "sign-out answered {}",
            resp.status()
        );
        Ok(())
    }

    /// Auth's own view of a cookie: `GET /api/auth/get-session` (`null` when not signed in).
    pub async fn get_session(&self, cookie: &str) -> anyhow::Result<Value> {
        let answer = self
            .get(
                &format!("{}/api/auth/get-session", self.auth_url),
                &[("cookie", cookie)],
            )
            .await?;
        anyhow::ensure!(
            answer.status == StatusCode::OK,
            "get-session answered {answer:?}"
        );
        answer.json()
    }

    /// A GET with exactly the given headers.
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> anyhow::Result<Answer> {
        let mut req = self.http.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        Ok(Answer {
            status,
            body: resp.text().await.unwrap_or_default(),
        })
    }

    /// A POST with exactly the given headers and an empty JSON body.
    pub async fn post(&self, url: &str, headers: &[(&str, &str)]) -> anyhow::Result<Answer> {
        let mut req = self.http.post(url).json(&json!({}));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.with_context(|| format!("POST {url}"))?;
        let status = resp.status();
        Ok(Answer {
            status,
            body: resp.text().await.unwrap_or_default(),
        })
    }

    async fn post_auth(
        &self,
        path: &str,
        cookie: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<reqwest::Response> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.auth_url))
            .header("origin", &self.origin)
            .json(body);
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        req.send().await.with_context(|| format!("POST {path}"))
    }
}

/// The session a sign-up/sign-in answer establishes: its cookie and the user id in its body.
async fn session_from(resp: reqwest::Response, what: &str) -> anyhow::Result<BrowserSession> {
    let status = resp.status();
    let set_cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{SESSION_COOKIE}=")))
        .map(str::to_owned);
    let body = resp.text().await.unwrap_or_default();
    anyhow::ensure!(status == StatusCode::OK, "{what} answered {status}: {body}");
    let set_cookie =
        set_cookie.with_context(|| format!("{what} set no {SESSION_COOKIE} cookie"))?;
    let cookie = set_cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let body: Value =
        serde_json::from_str(&body).with_context(|| format!("{what} body is not JSON"))?;
    let user_id = body["user"]["id"]
        .as_str()
        .with_context(|| format!("{what} body has no user.id"))?
        .to_owned();
    Ok(BrowserSession {
        user_id,
        cookie,
        set_cookie,
    })
}
