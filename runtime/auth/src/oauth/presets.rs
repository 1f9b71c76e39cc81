//! Built-in providers, with the endpoints, scopes and request parameters BetterAuth 1.7 uses for
//! them, so that an app registered for BetterAuth works unchanged:
//!
//! * **Google**: OpenID Connect without discovery. Scopes `email profile openid`, PKCE, and
//!   `include_granted_scopes=true`; the ID token's issuer is `https://accounts.google.com` or
//!   `accounts.google.com`; the profile is read from the ID token.
//! * **GitHub**: plain OAuth 2.0, no ID token. Scopes `read:user user:email`, PKCE; the profile
//!   is `GET /user`, the addresses `GET /user/emails` (see `super::github`).
//! * **Apple**: OpenID Connect without discovery. Scopes `email name`, `response_type=code
//!   id_token` with `response_mode=form_post` (Apple posts the browser back), no PKCE; the client
//!   secret is a JWT signed with the developer's key (see `super::apple_secret`); the name arrives
//!   once, in the callback's `user` parameter.
//!
//! Every endpoint can be replaced in the providers file (`endpoints`), for a proxy or a test
//! provider.

use jsonwebtoken::Algorithm;

/// A built-in provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Google,
    Github,
    Apple,
}

/// Where a provider is reached; the preset's defaults, each replaceable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The ID token's issuer; none for a provider without ID tokens.
    pub issuer: Option<String>,
    pub authorization: url::Url,
    pub token: url::Url,
    /// OpenID Connect's userinfo, or GitHub's `/user`.
    pub userinfo: Option<url::Url>,
    /// GitHub's `/user/emails`.
    pub emails: Option<url::Url>,
    pub jwks: Option<url::Url>,
}

fn url(s: &str) -> url::Url {
    url::Url::parse(s).expect("a preset endpoint is a URL")
}

impl Preset {
    /// The names accepted in the providers file's `preset`.
    pub const NAMES: [&'static str; 3] = ["google", "github", "apple"];

    pub fn parse(name: &str) -> Option<Preset> {
        match name {
            "google" => Some(Preset::Google),
            "github" => Some(Preset::Github),
            "apple" => Some(Preset::Apple),
            _ => None,
        }
    }

    pub fn endpoints(self) -> Endpoints {
        match self {
            Preset::Google => Endpoints {
                issuer: Some("https://accounts.google.com".into()),
                authorization: url("https://accounts.google.com/o/oauth2/v2/auth"),
                token: url("https://oauth2.googleapis.com/token"),
                userinfo: None,
                emails: None,
                jwks: Some(url("https://www.googleapis.com/oauth2/v3/certs")),
            },
            Preset::Github => Endpoints {
                issuer: None,
                authorization: url("https://github.com/login/oauth/authorize"),
                token: url("https://github.com/login/oauth/access_token"),
                userinfo: Some(url("https://api.github.com/user")),
                emails: Some(url("https://api.github.com/user/emails")),
                jwks: None,
            },
            Preset::Apple => Endpoints {
                issuer: Some("https://appleid.apple.com".into()),
                authorization: url("https://appleid.apple.com/auth/authorize"),
                token: url("https://appleid.apple.com/auth/token"),
                userinfo: None,
                emails: None,
                jwks: Some(url("https://appleid.apple.com/auth/keys")),
            },
        }
    }

    /// Other spellings of the issuer the provider's ID tokens carry.
    pub fn issuer_aliases(self) -> &'static [&'static str] {
        match self {
            Preset::Google => &["accounts.google.com"],
            Preset::Github | Preset::Apple => &[],
        }
    }

    pub fn default_scopes(self) -> &'static [&'static str] {
        match self {
            Preset::Google => &["email", "profile", "openid"],
            Preset::Github => &["read:user", "user:email"],
            Preset::Apple => &["email", "name"],
        }
    }

    /// The algorithms the provider signs ID tokens with.
    pub fn algorithms(self) -> Vec<Algorithm> {
        match self {
            Preset::Google | Preset::Apple => vec![Algorithm::RS256],
            Preset::Github => Vec::new(),
        }
    }

    pub fn uses_pkce(self) -> bool {
        self != Preset::Apple
    }

    /// `response_type` and the parameters the authorization request adds for this provider.
    pub fn authorization_params(self) -> (&'static str, &'static [(&'static str, &'static str)]) {
        match self {
            Preset::Google => ("code", &[("include_granted_scopes", "true")]),
            Preset::Github => ("code", &[]),
            Preset::Apple => ("code id_token", &[("response_mode", "form_post")]),
        }
    }
}
