//! What a user's browser does against auth: sign up (getting the session cookie), sign out.

use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{json, Value};

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
        Browser {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            auth_url: auth_url.to_owned(),
        }
    }

    pub async fn sign_up(&self, email: &str) -> SignedIn {
        let res = self
            .http
            .post(format!("{}/api/auth/sign-up/email", self.auth_url))
            .header("origin", &self.auth_url)
            .json(&json!({"name": "Test User", "email": email, "password": "correct horse battery staple"}))
            .send()
            .await
            .expect("sign-up request");
        assert_eq!(res.status(), 200, "sign-up failed");
        let cookie = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("better-auth.session_token="))
            .and_then(|v| v.split(';').next())
            .expect("sign-up sets the session cookie")
            .to_owned();
        let body: Value = res.json().await.unwrap();
        SignedIn {
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
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
