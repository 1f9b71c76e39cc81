//! A browser for OpenID sign-in flows: one cookie jar for the auth service and one for the
//! provider, following redirects and filling the provider's development login and consent forms.

use serde_json::{json, Value};

use crate::common::{Client, Response};

/// The provider id the test stacks configure, and the client registered at the provider.
pub const PROVIDER: &str = "corp";
pub const CLIENT_ID: &str = "stackr-test";
pub const CLIENT_SECRET: &str = "client-secret-of-the-test-provider";

/// stackr-auth's configuration for the test provider listening on `op_port`.
pub fn provider_config(op_port: u16) -> stackr_auth::oauth::ProviderConfig {
    use stackr_auth::oauth::providers::{ClientSecret, Source};
    stackr_auth::oauth::ProviderConfig {
        id: PROVIDER.into(),
        source: Source::Discovery(
            format!("http://127.0.0.1:{op_port}/.well-known/openid-configuration")
                .parse()
                .unwrap(),
        ),
        client_id: CLIENT_ID.into(),
        client_secret: ClientSecret::Shared(stackr_auth::config::Secret::new(CLIENT_SECRET)),
        scopes: vec!["email".into(), "profile".into()],
        trusted_for_account_linking: false,
    }
}

/// A browser: one cookie jar for the auth service, one for the provider.
pub struct Browser {
    pub auth: Client,
    op: Client,
    /// The auth service's public base (`http://localhost:<port>`), which redirects name; requests
    /// for it go to the same server through the test's address.
    public_base: String,
    /// `Set-Cookie` of the auth service's last answer.
    pub last_set_cookies: Vec<String>,
}

/// Where a browser's trip ended.
pub enum End {
    /// The auth service's final redirect (to the callback URL or the error URL), as sent.
    App(String),
    /// The provider's redirect to the auth callback, not followed (`stop_at_callback`).
    Callback(String),
}

impl Browser {
    /// `auth` talks to the auth service; `public_base` is the base URL it is configured with.
    pub fn new(auth: Client, public_base: String, op_issuer: &str) -> Self {
        let mut op = Client::new(op_issuer);
        op.origin = None;
        Browser {
            auth,
            op,
            public_base,
            last_set_cookies: Vec::new(),
        }
    }

    pub async fn post_auth(&mut self, path: &str, body: Value) -> Response {
        self.auth.post(path, body).await
    }

    /// Follows redirects and fills the provider's forms (login `login`, any password; consent),
    /// until the browser is sent to the app.
    pub async fn follow(&mut self, mut url: String, login: &str, stop_at_callback: bool) -> End {
        let op_base = self.op.url("");
        let mut form: Option<Vec<(String, String)>> = None;
        for _ in 0..30 {
            let on_auth = url.starts_with(&self.public_base);
            if on_auth && stop_at_callback && url.contains("/api/auth/callback/") {
                return End::Callback(url);
            }
            let res = if on_auth {
                let path = &url[self.public_base.len()..];
                // A provider's page may post its form to the auth service (form_post): a
                // cross-site POST, on which a browser sends no `SameSite=Lax` cookie.
                let res = match form.take() {
                    Some(fields) => {
                        let jar = std::mem::take(&mut self.auth.cookies);
                        let req = self.auth.raw().post(self.auth.url(path)).form(&fields);
                        let res = self.auth.send(req).await;
                        self.auth.cookies = jar;
                        res
                    }
                    None => self.auth.get(path).await,
                };
                self.last_set_cookies = res.set_cookies();
                res
            } else {
                assert!(url.starts_with(&op_base), "unexpected redirect to {url}");
                let req = match form.take() {
                    Some(fields) => self.op.raw().post(&url).form(&fields),
                    None => self.op.raw().get(&url),
                };
                self.op.send(req).await
            };
            if let Some(next) = res.headers.get("location") {
                let next = next.to_str().unwrap();
                // The auth service sends a posted callback on to its own GET callback.
                let own_callback = next.starts_with(&self.public_base)
                    && next[self.public_base.len()..].starts_with("/api/auth/callback/");
                if on_auth && !next.starts_with(&op_base) && !own_callback {
                    return End::App(next.to_owned());
                }
                url = if next.starts_with('/') {
                    format!("{}{next}", op_base.trim_end_matches('/'))
                } else {
                    next.to_owned()
                };
                continue;
            }
            assert_eq!(res.status, 200, "{url}: {}", res.text);
            let (action, fields) = provider_form(&res.text, login);
            url = if action.starts_with('/') {
                format!("{}{action}", op_base.trim_end_matches('/'))
            } else {
                action
            };
            form = Some(fields);
        }
        panic!("no end after 30 steps, last at {url}");
    }

    /// `sign-in/social` with `body` (provider added), then the whole trip.
    pub async fn social(&mut self, login: &str, body: Value) -> End {
        self.social_via(PROVIDER, login, body).await
    }

    /// `social` through the provider configured as `provider`.
    pub async fn social_via(&mut self, provider: &str, login: &str, body: Value) -> End {
        let mut body = body;
        body["provider"] = provider.into();
        let r = self.post_auth("/api/auth/sign-in/social", body).await;
        assert_eq!(r.status, 200, "sign-in/social: {}", r.text);
        let url = r.json()["url"].as_str().unwrap().to_owned();
        self.follow(url, login, false).await
    }

    /// `sign-in/social` for `provider` with `disableRedirect`: the authorization URL it answers.
    pub async fn authorization_url(&mut self, provider: &str) -> String {
        let r = self
            .post_auth(
                "/api/auth/sign-in/social",
                json!({"provider": provider, "disableRedirect": true}),
            )
            .await;
        assert_eq!(r.status, 200, "sign-in/social: {}", r.text);
        r.json()["url"].as_str().unwrap().to_owned()
    }

    pub async fn social_until_callback(&mut self, login: &str) -> String {
        let r = self
            .post_auth(
                "/api/auth/sign-in/social",
                json!({"provider": PROVIDER, "callbackURL": "/dashboard"}),
            )
            .await;
        let url = r.json()["url"].as_str().unwrap().to_owned();
        match self.follow(url, login, true).await {
            End::Callback(u) => u,
            End::App(u) => panic!("expected to stop at the callback, ended at {u}"),
        }
    }

    /// Requests an auth-service URL as named in a redirect.
    pub async fn open(&mut self, url: &str) -> Response {
        self.auth.get(&url[self.public_base.len()..]).await
    }
}

/// The provider's development form: its action and fields (hidden ones, plus login/password when
/// it is the login form).
pub fn provider_form(html: &str, login: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let raw = &tag[start..start + tag[start..].find('"')?];
        // Attribute values as a browser reads them.
        Some(
            raw.replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&amp;", "&"),
        )
    };
    let form_at = html
        .find("<form")
        .unwrap_or_else(|| panic!("no form in {html}"));
    let form_tag = &html[form_at..form_at + html[form_at..].find('>').unwrap()];
    let action = attr(form_tag, "action").unwrap();
    let mut fields = Vec::new();
    for part in html[form_at..].split("<input").skip(1) {
        let tag = &part[..part.find('>').unwrap()];
        match (attr(tag, "type").as_deref(), attr(tag, "name")) {
            (Some("hidden"), Some(name)) => {
                fields.push((name, attr(tag, "value").unwrap_or_default()));
            }
            (_, Some(name)) if name == "login" => fields.push((name, login.to_owned())),
            (_, Some(name)) if name == "password" => fields.push((name, "any".into())),
            _ => {}
        }
    }
    (action, fields)
}

pub fn app(end: End) -> String {
    match end {
        End::App(u) => u,
        End::Callback(u) => panic!("stopped at {u}"),
    }
}

/// The value of query parameter `name` in `url`.
pub fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name} in {url}"))
        .1
        .into_owned()
}

/// `url` with its query replaced by `pairs`.
pub fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.into()
}

/// The `Location` of a redirect.
pub fn location(r: &Response) -> &str {
    r.headers["location"].to_str().unwrap()
}

/// The providers of a providers file holding `entries`, written into `dir` and read as the
/// binary reads `AUTH_OAUTH_PROVIDERS_FILE`.
pub fn providers_from_file(
    dir: &std::path::Path,
    entries: Value,
) -> Vec<stackr_auth::oauth::ProviderConfig> {
    let list = dir.join("providers.json");
    std::fs::write(&list, entries.to_string()).unwrap();
    stackr_auth::oauth::providers::load(&list).unwrap()
}
