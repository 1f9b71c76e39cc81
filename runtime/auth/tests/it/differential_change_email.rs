//! Differential test of `change-email` (verification mail to the new address) and of the link
//! it mails, `verify-email` with a change-email token, against the real BetterAuth 1.7.25 and
//! stackr-auth. BetterAuth's test server drops its mails, so the links are minted here with the
//! shared secret, exactly as both servers mint them, plus the claims binding stackr-auth's links to
//! the account's credentials (`stackrCredentials`, computed from stackr-auth's database) and to
//! the session that asked (`stackrSession`): BetterAuth gets them too and ignores them, so a link
//! stackr-auth mails still works on BetterAuth.

use crate::common;
use crate::common::differential;

use common::*;
use differential::*;
use serde_json::{json, Map, Value};
use stackr_auth::routes::change_email::{binding, BINDING_CLAIM, SESSION_CLAIM};
use stackr_auth::state::AppState;

/// Mints change-email links for one server: `ours` is stackr-auth's state, `None` for BetterAuth.
struct Minter<'a> {
    ours: Option<&'a AppState>,
}

/// The id of the session `client` is signed in with.
async fn session_id(client: &mut Client) -> String {
    client.session().await["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

impl Minter<'_> {
    /// A change-email verification link's token for `user_id`, from `email` to `update_to`, as
    /// asked for by the session `asked_by`.
    async fn token(
        &self,
        user_id: &str,
        asked_by: &str,
        email: &str,
        update_to: &str,
        lifetime: i64,
    ) -> String {
        let request = "change-email-verification";
        self.mint(request, user_id, asked_by, email, update_to, lifetime)
            .await
    }

    /// The same for a confirmation link (mailed to the current address), valid ten minutes.
    async fn confirmation_token(
        &self,
        user_id: &str,
        asked_by: &str,
        email: &str,
        update_to: &str,
    ) -> String {
        let request = "change-email-confirmation";
        self.mint(request, user_id, asked_by, email, update_to, 600)
            .await
    }

    async fn mint(
        &self,
        request: &str,
        user_id: &str,
        asked_by: &str,
        email: &str,
        update_to: &str,
        lifetime: i64,
    ) -> String {
        let bound_to = match self.ours {
            Some(state) => binding(state, &state.db().await.unwrap(), user_id)
                .await
                .unwrap(),
            None => "0123456789abcdef0123456789abcdef".to_owned(),
        };
        let now = chrono::Utc::now().timestamp();
        let mut claims = Map::new();
        for (k, v) in [
            ("email", json!(email)),
            ("updateTo", json!(update_to)),
            ("requestType", json!(request)),
            ("userId", json!(user_id)),
            (BINDING_CLAIM, json!(bound_to)),
            (SESSION_CLAIM, json!(asked_by)),
            ("iat", json!(now)),
            ("exp", json!(now + lifetime)),
        ] {
            claims.insert(k.into(), v);
        }
        stackr_auth::jwt::encode(SECRET.as_bytes(), &claims)
    }
}

async fn scenario(base: &str, mint: Minter<'_>) -> Vec<(String, Value)> {
    let mut run = Run {
        client: Client::new(base),
        results: vec![],
    };
    let r = Client::new(base)
        .post(
            "/api/auth/change-email",
            json!({"newEmail": "x@example.com"}),
        )
        .await;
    run.record("change-email anonymous", &r, true);
    run.client
        .sign_up("Cam", "cam@example.com", "password-123")
        .await;
    Client::new(base)
        .sign_up("Taken", "taken@example.com", "password-123")
        .await;
    let user_id = run.client.session().await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let asked_by = session_id(&mut run.client).await;
    for (name, body) in [
        ("change-email invalid", json!({"newEmail": "not-an-email"})),
        ("change-email missing", json!({})),
        ("change-email same", json!({"newEmail": "Cam@example.com"})),
        (
            "change-email taken",
            json!({"newEmail": "taken@example.com"}),
        ),
        (
            "change-email foreign callback",
            json!({"newEmail": "cam2@example.com", "callbackURL": "https://evil.example/x"}),
        ),
        (
            "change-email",
            json!({"newEmail": "cam2@example.com", "callbackURL": "/settings"}),
        ),
    ] {
        let r = run.client.post("/api/auth/change-email", body).await;
        run.record(name, &r, true);
    }
    run.results.push((
        "email before the link".into(),
        run.client.session().await["user"]["email"].clone(),
    ));

    let expired = mint
        .token(
            &user_id,
            &asked_by,
            "cam@example.com",
            "cam2@example.com",
            -10,
        )
        .await;
    let r = run
        .client
        .get(&format!("/api/auth/verify-email?token={expired}"))
        .await;
    run.record("verify change expired", &r, true);
    let wrong_user = mint
        .token(
            "no-such-user",
            &asked_by,
            "cam@example.com",
            "cam2@example.com",
            600,
        )
        .await;
    let r = run
        .client
        .get(&format!("/api/auth/verify-email?token={wrong_user}"))
        .await;
    run.record("verify change unknown user", &r, true);
    let token = mint
        .token(
            &user_id,
            &asked_by,
            "cam@example.com",
            "cam2@example.com",
            600,
        )
        .await;
    let r = Client::new(base)
        .get(&format!(
            "/api/auth/verify-email?token={token}&callbackURL=%2Fsettings"
        ))
        .await;
    run.record("verify change with callback", &r, true);
    run.results.push((
        "verify change location".into(),
        json!(r.headers.get("location").map(|v| v.to_str().unwrap())),
    ));
    run.results.push((
        "email after the link".into(),
        run.client.session().await["user"]["email"].clone(),
    ));
    let r = run
        .client
        .get(&format!("/api/auth/verify-email?token={token}"))
        .await;
    run.record("verify change replayed", &r, true);
    let back = mint
        .token(
            &user_id,
            &asked_by,
            "cam2@example.com",
            "cam3@example.com",
            600,
        )
        .await;
    let r = run
        .client
        .get(&format!("/api/auth/verify-email?token={back}"))
        .await;
    run.record("verify change signed in", &r, false);
    run.results
        .push(("verify change signed in cookies".into(), cookie_shapes(&r)));
    run.results.push((
        "email and verified after the second link".into(),
        json!([
            run.client.session().await["user"]["email"].clone(),
            run.client.session().await["user"]["emailVerified"].clone()
        ]),
    ));
    let mut other = Client::new(base);
    other.sign_in("taken@example.com", "password-123").await;
    let foreign = mint
        .token(
            &user_id,
            &asked_by,
            "cam3@example.com",
            "cam4@example.com",
            600,
        )
        .await;
    let r = other
        .get(&format!("/api/auth/verify-email?token={foreign}"))
        .await;
    run.record("verify change signed in as someone else", &r, true);

    // A confirmation link (mailed to the current address when it is verified) moves nothing: it
    // mails the verification link to the new address (both servers' mails are dropped here).
    let confirmation = mint
        .confirmation_token(&user_id, &asked_by, "cam3@example.com", "cam6@example.com")
        .await;
    let r = Client::new(base)
        .get(&format!(
            "/api/auth/verify-email?token={confirmation}&callbackURL=%2Fsettings"
        ))
        .await;
    run.record("verify change confirmation", &r, true);
    run.results.push((
        "email after the confirmation".into(),
        json!([
            r.headers.get("location").map(|v| v.to_str().unwrap()),
            run.client.session().await["user"]["email"].clone()
        ]),
    ));

    let before = mint
        .token(
            &user_id,
            &asked_by,
            "cam3@example.com",
            "cam5@example.com",
            600,
        )
        .await;
    let r = run
        .client
        .post(
            "/api/auth/change-password",
            json!({"currentPassword": "password-123", "newPassword": "password-456"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = Client::new(base)
        .get(&format!("/api/auth/verify-email?token={before}"))
        .await;
    run.record("verify change asked for before a password change", &r, true);
    run.results
}

#[tokio::test]
async fn change_email_answers_like_betterauth() {
    let pair = Pair::start().await;
    let theirs = scenario(&pair.ba.base(), Minter { ours: None }).await;
    let mine = scenario(
        &pair.ours.base,
        Minter {
            ours: Some(&pair.ours.state),
        },
    )
    .await;
    compare(
        &theirs,
        &mine,
        &[(
            "verify change asked for before a password change",
            "stackr-auth binds the link to the credentials: 401 CREDENTIALS_CHANGED",
        )],
    );
}
