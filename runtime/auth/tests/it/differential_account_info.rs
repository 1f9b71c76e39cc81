//! Differential test of `GET /api/auth/account-info`: the same requests against the real
//! BetterAuth 1.7.25 (genericOAuth plugin) and stackr-auth, both offering one real OpenID
//! provider (oidc-provider, which issues refresh tokens and can be told to refuse userinfo or
//! refreshes), comparing statuses, error bodies and the answers' shape and contents.

use crate::common;
use crate::common::differential;
use crate::common::oidc_browser;
use crate::common::oidc_pair;

use common::*;
use differential::*;
use oidc_browser::{Browser, PROVIDER};
use oidc_pair::OidcPair;
use serde_json::{json, Value};

/// The row id of the user's account with `provider_id`, from `list-accounts`.
async fn account_row(browser: &mut Browser, provider_id: &str) -> String {
    let r = browser.auth.get("/api/auth/list-accounts").await;
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["providerId"] == provider_id)
        .unwrap_or_else(|| panic!("no {provider_id} account in {}", r.text))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `user` and `data` in full (they come from the provider, the same for both servers), the rest
/// as its shape (the account row id differs).
fn record_info(run: &mut Run, name: &str, r: &Response) {
    run.record(name, r, r.status != 200);
    if r.status == 200 {
        let body = r.json();
        run.results.push((
            format!("{name}: user and data"),
            json!([
                body["user"],
                body["data"],
                body["account"]["providerId"],
                body["account"]["accountId"]
            ]),
        ));
    }
}

async fn scenario(
    pair: &OidcPair,
    db: &str,
    public_base: &str,
    base: &str,
) -> Vec<(String, Value)> {
    let op = pair.op.issuer();
    let new_browser = || Browser::new(Client::new(base), public_base.to_owned(), &op);
    let mut run = Run {
        client: Client::new(base),
        results: vec![],
    };
    let mut bob = new_browser();
    bob.social("bob", json!({"callbackURL": "/dashboard"}))
        .await;
    let bob_account = account_row(&mut bob, PROVIDER).await;
    let info = |id: &str| format!("/api/auth/account-info?accountId={id}");

    let r = run.client.get(&info(&bob_account)).await;
    run.record("no session", &r, true);
    let r = run.client.get("/api/auth/account-info").await;
    run.record("no session, no query", &r, true);
    for (name, query) in [
        ("no query", String::new()),
        ("empty accountId", "?accountId=".to_owned()),
        ("unknown key", format!("?accountId={bob_account}&extra=1")),
        (
            "two unknown keys",
            format!("?b=2&accountId={bob_account}&a=1"),
        ),
        (
            "accountId twice",
            format!("?accountId={bob_account}&accountId=x"),
        ),
        ("useAccountCookie", "?useAccountCookie=true".to_owned()),
        (
            "useAccountCookie false",
            "?useAccountCookie=false".to_owned(),
        ),
        (
            "both selections",
            format!("?accountId={bob_account}&useAccountCookie=true"),
        ),
    ] {
        let r = bob
            .auth
            .get(&format!("/api/auth/account-info{query}"))
            .await;
        run.record(name, &r, true);
    }
    let r = bob.auth.get(&info("nope")).await;
    run.record("unknown account", &r, true);
    let r = bob.auth.get(&info(&bob_account)).await;
    record_info(&mut run, "own account", &r);
    let r = bob
        .auth
        .get(&format!("{}&userId=someone-else", info(&bob_account)))
        .await;
    record_info(&mut run, "userId of someone else", &r);

    // An access token about to expire is refreshed, and the new expiry stored.
    let expire = format!(
        r#"update "account" set "accessTokenExpiresAt" = now() - interval '1 minute' where "id" = '{bob_account}'"#
    );
    let expiry = format!(
        r#"select "accessTokenExpiresAt" > now() from "account" where "id" = '{bob_account}'"#
    );
    pair.sql(db, &expire);
    let r = bob.auth.get(&info(&bob_account)).await;
    record_info(&mut run, "expired access token, refreshed", &r);
    run.results.push((
        "expiry after refresh is ahead".into(),
        json!(pair.sql(db, &expiry).trim()),
    ));

    pair.sql(db, &expire);
    pair.control("refresh", "refuse").await;
    let r = bob.auth.get(&info(&bob_account)).await;
    run.record("refresh refused", &r, true);
    pair.control("refresh", "ok").await;

    pair.control("userinfo", "refuse").await;
    let r = bob.auth.get(&info(&bob_account)).await;
    run.record("userinfo refused", &r, true);
    pair.control("userinfo", "ok").await;

    // Without a refresh token an expired access token is used as it is.
    pair.sql(
        db,
        &format!(r#"update "account" set "refreshToken" = null where "id" = '{bob_account}'"#),
    );
    pair.sql(db, &expire);
    let r = bob.auth.get(&info(&bob_account)).await;
    record_info(&mut run, "expired without refresh token", &r);

    pair.sql(
        db,
        &format!(r#"update "account" set "accessToken" = null, "accessTokenExpiresAt" = null where "id" = '{bob_account}'"#),
    );
    let r = bob.auth.get(&info(&bob_account)).await;
    run.record("no access token", &r, true);

    // Alice: a password user who links the provider; her credential account has no provider.
    let mut alice = new_browser();
    alice
        .auth
        .sign_up("Alice", "alice@example.com", "alice-password-1")
        .await;
    let credential = account_row(&mut alice, "credential").await;
    let r = alice.auth.get(&info(&credential)).await;
    run.record("credential account", &r, true);
    let r = alice
        .post_auth(
            "/api/auth/link-social",
            json!({"provider": PROVIDER, "callbackURL": "/settings"}),
        )
        .await;
    alice
        .follow(r.json()["url"].as_str().unwrap().to_owned(), "alice", false)
        .await;
    let linked = account_row(&mut alice, PROVIDER).await;
    let r = alice.auth.get(&info(&linked)).await;
    record_info(&mut run, "linked account", &r);
    let r = alice.auth.get(&info(&bob_account)).await;
    run.record("another user's account", &r, true);
    run.results
}

#[tokio::test]
async fn account_info_answers_like_betterauth() {
    let pair = OidcPair::start().await;
    let theirs = scenario(&pair, "ba", &pair.ba_public, &pair.ba.base()).await;
    let ours = &pair.ours;
    let mine = scenario(&pair, "ours", &ours.state.config.base(), &ours.base).await;
    compare(&theirs, &mine, &[]);
    // Equal answers could still be equally wrong: the outcomes, as BetterAuth's source says.
    let outcome = |name: &str| {
        let step = &mine.iter().find(|(n, _)| n == name).unwrap().1;
        (
            step["status"].as_u64().unwrap_or(0),
            step["body"]["code"].as_str().unwrap_or("").to_owned(),
        )
    };
    for (name, status, code) in [
        ("no session", 401, ""),
        ("no query", 400, "VALIDATION_ERROR"),
        ("unknown account", 400, "ACCOUNT_NOT_FOUND"),
        ("own account", 200, ""),
        ("expired access token, refreshed", 200, ""),
        ("refresh refused", 400, "FAILED_TO_GET_ACCESS_TOKEN"),
        ("userinfo refused", 401, "FAILED_TO_GET_USER_INFO"),
        ("expired without refresh token", 200, ""),
        ("no access token", 400, "ACCESS_TOKEN_NOT_FOUND"),
        ("credential account", 400, "PROVIDER_NOT_CONFIGURED"),
        ("linked account", 200, ""),
        ("another user's account", 400, "ACCOUNT_NOT_FOUND"),
    ] {
        assert_eq!(outcome(name), (status, code.to_owned()), "{name}");
    }
    let step = |name: &str| mine.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(step("expiry after refresh is ahead"), json!("t"));
    assert_eq!(
        step("own account: user and data")[0],
        json!({"email": "bob@example.com", "emailVerified": true, "name": "Bob Provider"})
    );
}
