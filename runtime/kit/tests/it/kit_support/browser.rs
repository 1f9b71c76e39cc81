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

    /// What an app that keeps no cookies does: `POST /sign-in/email` without `Origin`, keeping
    /// the `set-auth-token` answer header (the value it sends as `Authorization: Bearer` later).
    pub async fn app_sign_in(&self, email: &str) -> String {
        let res = self
            .http
            .post(format!("{}/api/auth/sign-in/email", self.auth_url))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("sign-in request");
        assert_eq!(res.status(), 200, "app sign-in failed");
        res.headers()["set-auth-token"].to_str().unwrap().to_owned()
    }

    /// `POST /sign-out` as an app: with its bearer token, no cookie and no `Origin`.
    pub async fn app_sign_out(&self, token: &str) {
        let res = self
            .http
            .post(format!("{}/api/auth/sign-out", self.auth_url))
            .header("authorization", format!("Bearer {token}"))
            .json(&json!({}))
            .send()
            .await
            .expect("sign-out request");
        assert_eq!(res.status(), 200, "app sign-out failed");
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
        let cookie = cookie_set(&res, "better-auth.session_token=");
        let body: Value = res.json().await.unwrap();
        SignedIn {
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
            email,
            cookie,
        }
    }

    /// Signs in through provider `provider` at `provider_base`, whose sign-in form takes the
    /// authorization request's parameters and a `login` (as the test fake GitHub's does):
    /// `sign-in/social`, the provider's form, then auth's callback with the state cookie.
    pub async fn social_sign_in(
        &self,
        provider: &str,
        provider_base: &str,
        login: &str,
    ) -> SignedIn {
        let http = http_without_redirects();
        let res = http
            .post(format!("{}/api/auth/sign-in/social", self.auth_url))
            .header("origin", &self.auth_url)
            .json(&json!({"provider": provider, "callbackURL": "/", "disableRedirect": true}))
            .send()
            .await
            .expect("sign-in/social request");
        assert_eq!(res.status(), 200, "sign-in/social failed");
        let state_cookie = cookie_set(&res, "better-auth.state=");
        let body: Value = res.json().await.unwrap();
        let authorize = url::Url::parse(body["url"].as_str().unwrap()).unwrap();
        assert!(authorize.as_str().starts_with(provider_base), "{authorize}");
        let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
        form.push(("login".into(), login.into()));
        let res = http
            .post(format!("{provider_base}/login/oauth/authorize"))
            .form(&form)
            .send()
            .await
            .expect("provider sign-in form");
        let callback = res.headers()["location"].to_str().unwrap().to_owned();
        let res = http
            .get(&callback)
            .header(COOKIE, &state_cookie)
            .send()
            .await
            .expect("auth callback");
        assert_eq!(res.status(), 302, "the callback redirects");
        let cookie = cookie_set(&res, "better-auth.session_token=");
        let user = self
            .session_user(&SignedIn {
                user_id: String::new(),
                email: String::new(),
                cookie: cookie.clone(),
            })
            .await;
        SignedIn {
            user_id: user["id"].as_str().expect("a session").to_owned(),
            email: user["email"].as_str().unwrap().to_owned(),
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
        self.session(who).await["user"].clone()
    }

    /// Auth's `get-session` answer for `who`'s cookie (`null` once the session ended).
    pub async fn session(&self, who: &SignedIn) -> Value {
        let res = self
            .http
            .get(format!("{}/api/auth/get-session", self.auth_url))
            .header(COOKIE, &who.cookie)
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }
}

/// A client that shows redirects instead of following them, as a test needs to see them.
pub(super) fn http_without_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of the cookie `prefix` (`name=`) that `res` sets.
pub(super) fn cookie_set(res: &reqwest::Response, prefix: &str) -> String {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(prefix))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {prefix} cookie set"))
        .to_owned()
}
