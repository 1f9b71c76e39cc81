//! What a provider says about a linked account now (BetterAuth's per-provider `getUserInfo`, as
//! `account-info` answers it): `user` in BetterAuth's field order, and `data`, the provider's own
//! description.
//!
//! * GitHub: `/user` and `/user/emails` (see `super::github`); `user` is `{name, email, image,
//!   emailVerified}`, `data` is `/user` (its `email` filled in when GitHub gave none).
//! * A provider with a userinfo endpoint: userinfo with the access token, whose `sub` must be the
//!   account's; `data` is the answer plus `email`, `emailVerified`, `image` (from `picture`) and
//!   `name`, as BetterAuth's genericOAuth plugin adds them.
//! * Without one (Google, Apple): the claims of the ID token stored at sign-in or by a refresh,
//!   verified then and stored sealed; `data` is `{id, emailVerified, image, …claims}`.
//!
//! In both OpenID cases `user` is `{email, emailVerified, image, name}`; absent values are left
//! out, as JavaScript's `undefined` is.

use anyhow::{anyhow, bail};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use super::discovery::Provider;
use super::exchange::{flag, string};
use super::http::get_json;
use super::presets::Preset;

pub struct AccountInfo {
    pub user: Map<String, Value>,
    pub data: Map<String, Value>,
}

pub async fn fetch(
    provider: &Provider,
    account_id: &str,
    access_token: &str,
    id_token: Option<&str>,
) -> anyhow::Result<AccountInfo> {
    if provider.config.preset() == Some(Preset::Github) {
        let (profile, data) = super::github::profile_and_user(provider, access_token).await?;
        let mut user = Map::new();
        user.insert("name".into(), profile.name.unwrap_or_default().into());
        put(&mut user, "email", profile.email.map(Value::from));
        put(&mut user, "image", profile.image.map(Value::from));
        user.insert("emailVerified".into(), profile.email_verified.into());
        return Ok(AccountInfo { user, data });
    }
    let discovered = provider.discovered().await?;
    let data = match &discovered.userinfo_endpoint {
        Some(endpoint) => {
            let mut info = get_json(provider.http(), endpoint, Some(access_token)).await?;
            if string(&info, "sub").as_deref() != Some(account_id) {
                bail!("userinfo describes another subject than the account");
            }
            let verified = flag(&info, "email_verified");
            let extra = [
                ("email", info.get("email").cloned()),
                ("emailVerified", Some(verified.into())),
                ("image", info.get("picture").cloned()),
                ("name", info.get("name").cloned()),
            ];
            for (key, value) in extra {
                put(&mut info, key, value);
            }
            info
        }
        None => {
            let claims = claims(id_token.ok_or_else(|| anyhow!("no ID token is stored"))?)?;
            if string(&claims, "sub").as_deref() != Some(account_id) {
                bail!("the stored ID token describes another subject than the account");
            }
            let mut data = Map::new();
            data.insert("id".into(), account_id.into());
            data.insert(
                "emailVerified".into(),
                flag(&claims, "email_verified").into(),
            );
            put(&mut data, "image", claims.get("picture").cloned());
            data.extend(claims);
            data
        }
    };
    let mut user = Map::new();
    put(&mut user, "email", data.get("email").cloned());
    user.insert("emailVerified".into(), flag(&data, "emailVerified").into());
    put(
        &mut user,
        "image",
        data.get("image").filter(|v| !v.is_null()).cloned(),
    );
    put(&mut user, "name", data.get("name").cloned());
    Ok(AccountInfo { user, data })
}

/// Sets `key` unless the value is absent (JSON has no `undefined`: BetterAuth's answer leaves
/// such keys out), keeping the place of a key already there.
fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.into(), v);
    }
}

/// The claims of an ID token this service verified when it was issued (it is only ever read back
/// from the sealed account row).
fn claims(id_token: &str) -> anyhow::Result<Map<String, Value>> {
    let payload = id_token
        .split('.')
        .nth(1)
        .ok_or_else(|| anyhow!("the stored ID token is not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD.decode(payload)?;
    match serde_json::from_slice(&bytes)? {
        Value::Object(map) => Ok(map),
        _ => bail!("the stored ID token's claims are not an object"),
    }
}
