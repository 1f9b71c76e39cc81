//! What a user's browser does against auth: sign up (getting the session cookie), sign out.

use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{json, Value};

/// The password every test user signs up with.
pub const PASSWORD: &str = "correct horse battery staple";

pub struct Browser {
    http: reqwest::Client,
    auth_url: String,
}

#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user_id: String,
    pub email: String,
    /// `better-auth.session_token=<signed value>`, as a browser would send it.
    pub cookie: String,
}

impl SignedIn {
    /// The same cookie with one character of its HMAC signature changed.
    pub fn tampered_cookie(&self) -> String {
        let (name, value) = self.cookie.split_once('=').unwrap();
        let decoded = value
            .replace("%2B", "+")
            .replace("%2F", "/")
            .replace("%3D", "=");
        let dot = decoded.rfind('.').unwrap();
        let (token, sig) = decoded.split_at(dot + 1);
        let first = sig.chars().next().unwrap();
        let swapped = if first == 'A' { 'B' } else { 'A' };
        format!("{name}={token}{swapped}{}", &sig[1..])
    }
}

impl Browser {
    pub fn new(auth_url: &str) -> Self {
        Self::from_address(auth_url, [127, 0, 0, 1].into())
    }

    /// A browser whose connections come from `address` (any of 127.0.0.0/8 reaches auth on
    /// loopback), so per-address rate limits see a different client.
    pub fn from_address(auth_url: &str, address: std::net::IpAddr) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .no_proxy()
                .local_address(address)
                .build()
                .unwrap(),
            auth_url: auth_url.to_owned(),
        }
    }

    pub async fn sign_up(&self, email: &str) -> SignedIn {
        self.signed_in(
            "sign-up",
            json!({"name": "Test User", "email": email, "password": PASSWORD}),
        )
        .await
    }

    /// A new session for an existing user (the password is the one sign-up set).
    pub async fn sign_in(&self, email: &str) -> SignedIn {
        self.signed_in("sign-in", json!({"email": email, "password": PASSWORD}))
            .await
    }

    /// `POST /{kind}/email`; the session cookie it sets.
    async fn signed_in(&self, kind: &str, body: Value) -> SignedIn {
        let email = body["email"].as_str().unwrap().to_owned();
        let res = self
            .http
            .post(format!("{}/api/auth/{kind}/email", self.auth_url))
            .header("origin", &self.auth_url)
            .json(&body)
            .send()
            .await
            .expect("sign-in request");
        assert_eq!(res.status(), 200, "{kind} failed");
        let cookie = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("better-auth.session_token="))
            .and_then(|v| v.split(';').next())
            .expect("signing in sets the session cookie")
            .to_owned();
        let body: Value = res.json().await.unwrap();
        SignedIn {
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
            email,
            cookie,
        }
    }

    pub async fn sign_out(&self, who: &SignedIn) {
        let res = self
            .http
            .post(format!("{}/api/auth/sign-out", self.auth_url))
            .header("origin", &self.auth_url)
            .header(COOKIE, &who.cookie)
            .json(&json!({}))
            .send()
            .await
            .expect("sign-out request");
        assert_eq!(res.status(), 200, "sign-out failed");
    }

    /// A JSON POST to auth as a browser on auth's own origin sends it; `(status, body)`.
    pub async fn post(&self, path: &str, cookie: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.auth_url))
            .header("origin", &self.auth_url)
            .json(&body);
        if let Some(cookie) = cookie {
            req = req.header(COOKIE, cookie);
        }
        let res = req.send().await.expect("auth request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Auth's own view of the user (e.g. `hasCoreAccount`).
    pub async fn session_user(&self, who: &SignedIn) -> Value {
        let res = self
            .http
            .get(format!("{}/api/auth/get-session", self.auth_url))
            .header(COOKIE, &who.cookie)
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        body["user"].clone()
    }
}
