//! GitHub's profile: plain OAuth 2.0 has no ID token, so who signed in is read from the REST API
//! with the access token, as BetterAuth does:
//!
//! * `GET /user`: `id` (a number, the account id), `login`, `name`, `avatar_url`, and `email`,
//!   the public address or `null`;
//! * `GET /user/emails`: `[{email, primary, verified, visibility}]`, every address.
//!
//! The address is the public one, else the primary one, else the first listed; it counts as
//! verified only when the list says that very address is verified.

use anyhow::anyhow;
use serde_json::{Map, Value};

use super::discovery::Provider;
use super::exchange::{string, Profile};
use super::http::{get_json, get_value};

pub async fn profile(provider: &Provider, access_token: &str) -> anyhow::Result<Profile> {
    Ok(profile_and_user(provider, access_token).await?.0)
}

/// The profile, and `/user` as GitHub answered it with `email` set to the chosen address when
/// GitHub gave none (BetterAuth's `account-info` answers this object as `data`).
pub async fn profile_and_user(
    provider: &Provider,
    access_token: &str,
) -> anyhow::Result<(Profile, Map<String, Value>)> {
    let discovered = provider.discovered().await?;
    let (Some(user_url), Some(emails_url)) =
        (&discovered.userinfo_endpoint, &discovered.emails_endpoint)
    else {
        return Err(anyhow!(
            "GitHub's user and emails endpoints are not configured"
        ));
    };
    let mut user = get_json(provider.http(), user_url, Some(access_token)).await?;
    let subject = match user.get("id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(anyhow!("GitHub's user has no id")),
    };
    // BetterAuth reads the list leniently: a failed request is an empty list.
    let emails = get_value(provider.http(), emails_url, Some(access_token))
        .await
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let listed = |e: &Value| e["email"].as_str().map(str::to_owned);
    let email = string(&user, "email").or_else(|| {
        emails
            .iter()
            .find(|e| e["primary"] == Value::Bool(true))
            .or(emails.first())
            .and_then(listed)
    });
    let email_verified = email.as_deref().is_some_and(|address| {
        emails
            .iter()
            .find(|e| e["email"].as_str() == Some(address))
            .is_some_and(|e| e["verified"] == Value::Bool(true))
    });
    let profile = Profile {
        subject,
        email: email.clone(),
        email_verified,
        name: string(&user, "name").or_else(|| string(&user, "login")),
        image: string(&user, "avatar_url"),
    };
    if string(&user, "email").is_none() {
        if let Some(address) = email {
            user.insert("email".into(), address.into());
        }
    }
    Ok((profile, user))
}
