//! Differential test of the admin plugin's user, password, session, permission and impersonation
//! endpoints: the same requests against the real BetterAuth 1.7.25 and stackr-auth.

use crate::common;
use crate::common::differential;

use common::*;
use differential::*;
use serde_json::{json, Value};

/// Differences kept on purpose (each is documented in the README).
const DELIBERATE: &[(&str, &str)] = &[(
    "get-session after set-user-password",
    "stackr-auth ends the user's sessions, as a reset does; BetterAuth leaves them",
)];

async fn id_of(client: &mut Client) -> Value {
    client.session().await["user"]["id"].clone()
}

/// `make_admin` runs SQL on the server's own database.
async fn scenario(base: &str, make_admin: impl Fn(&str)) -> Vec<(String, Value)> {
    let mut run = Run {
        client: Client::new(base),
        results: vec![],
    };
    let mut root = Client::new(base);
    root.sign_up("Root", "root@example.com", "password-123")
        .await;
    let mut uma = Client::new(base);
    uma.sign_up("Uma", "uma@example.com", "password-123").await;
    let uid = id_of(&mut uma).await;
    make_admin("root@example.com");
    let me = id_of(&mut root).await;
    let mut anon = Client::new(base);

    let new_user = json!({"email": "New@Example.com", "password": "password-123", "name": "Nu"});
    let r = anon
        .post("/api/auth/admin/create-user", new_user.clone())
        .await;
    run.record("create-user anonymous", &r, true);
    let r = uma
        .post("/api/auth/admin/create-user", new_user.clone())
        .await;
    run.record("create-user as user", &r, true);
    let r = root
        .post("/api/auth/admin/create-user", new_user.clone())
        .await;
    run.record("create-user", &r, false);
    run.results.push((
        "create-user values".into(),
        json!([
            r.json()["user"]["email"],
            r.json()["user"]["role"],
            r.set_cookies().len()
        ]),
    ));
    let created = r.json()["user"]["id"].clone();
    let r = root.post("/api/auth/admin/create-user", new_user).await;
    run.record("create-user duplicate", &r, true);
    let r = root
        .post(
            "/api/auth/admin/create-user",
            json!({"email": "not-an-email", "name": "X"}),
        )
        .await;
    run.record("create-user invalid email", &r, true);
    let r = root
        .post(
            "/api/auth/admin/create-user",
            json!({"email": "nopass@example.com", "name": "NP", "role": "admin"}),
        )
        .await;
    run.record("create-user without password, as admin", &r, false);
    run.results
        .push(("create-user role".into(), r.json()["user"]["role"].clone()));

    let update = |data: Value| json!({"userId": uid, "data": data});
    let r = root
        .post(
            "/api/auth/admin/update-user",
            update(json!({"name": "Renamed"})),
        )
        .await;
    run.record("update-user", &r, false);
    run.results
        .push(("update-user name".into(), r.json()["name"].clone()));
    for (step, data) in [
        ("nothing", json!({})),
        ("password", json!({"password": "x"})),
        ("id", json!({"id": "x"})),
        ("taken email", json!({"email": "root@example.com"})),
        ("ban self", json!({"banned": true})),
    ] {
        let body = if step == "ban self" {
            json!({"userId": me, "data": data})
        } else {
            update(data)
        };
        let r = root.post("/api/auth/admin/update-user", body).await;
        run.record(&format!("update-user {step}"), &r, true);
    }
    let r = root
        .post(
            "/api/auth/admin/update-user",
            json!({"userId": "nobody", "data": {"name": "X"}}),
        )
        .await;
    run.record("update-user unknown user", &r, true);

    let r = root
        .post(
            "/api/auth/admin/set-user-password",
            json!({"userId": uid, "newPassword": "short"}),
        )
        .await;
    run.record("set-user-password too short", &r, true);
    let r = root
        .post(
            "/api/auth/admin/set-user-password",
            json!({"userId": "nobody", "newPassword": "password-456"}),
        )
        .await;
    run.record("set-user-password unknown user", &r, true);
    let r = root
        .post(
            "/api/auth/admin/set-user-password",
            json!({"userId": uid, "newPassword": "password-456"}),
        )
        .await;
    run.record("set-user-password", &r, true);
    let r = uma.get("/api/auth/get-session").await;
    run.record("get-session after set-user-password", &r, false);
    // Signed in again, with a session in both from here on.
    uma.sign_in("uma@example.com", "password-456").await;
    let r = uma
        .post(
            "/api/auth/admin/set-user-password",
            json!({"userId": uid, "newPassword": "password-456"}),
        )
        .await;
    run.record("set-user-password as user", &r, true);

    let mut laptop = Client::new(base);
    laptop.sign_in("uma@example.com", "password-456").await;
    let r = root
        .post("/api/auth/admin/list-user-sessions", json!({"userId": uid}))
        .await;
    run.record("list-user-sessions", &r, false);
    let token = r.json()["sessions"][0]["token"].clone();
    let r = uma
        .post("/api/auth/admin/list-user-sessions", json!({"userId": uid}))
        .await;
    run.record("list-user-sessions as user", &r, true);
    let r = root
        .post(
            "/api/auth/admin/revoke-user-session",
            json!({"sessionToken": "unknown"}),
        )
        .await;
    run.record("revoke-user-session unknown", &r, true);
    let r = root
        .post(
            "/api/auth/admin/revoke-user-session",
            json!({"sessionToken": token}),
        )
        .await;
    run.record("revoke-user-session", &r, true);
    let r = root
        .post(
            "/api/auth/admin/revoke-user-sessions",
            json!({"userId": uid}),
        )
        .await;
    run.record("revoke-user-sessions", &r, true);
    let r = laptop.get("/api/auth/get-session").await;
    run.record("get-session after revoke-user-sessions", &r, true);

    for (step, anonymous, body) in [
        (
            "admin may ban",
            false,
            json!({"permissions": {"user": ["ban"], "session": ["revoke"]}}),
        ),
        (
            "admin may impersonate admins",
            false,
            json!({"permissions": {"user": ["impersonate-admins"]}}),
        ),
        (
            "unknown resource",
            false,
            json!({"permissions": {"billing": ["read"]}}),
        ),
        ("no permissions", false, json!({})),
        (
            "the older `permission`",
            false,
            json!({"permission": {"user": ["list"]}}),
        ),
        (
            "anonymous",
            true,
            json!({"permissions": {"user": ["list"]}}),
        ),
    ] {
        let client = if anonymous { &mut anon } else { &mut root };
        let r = client.post("/api/auth/admin/has-permission", body).await;
        run.record(&format!("has-permission: {step}"), &r, true);
    }

    let mut victim = Client::new(base);
    victim.sign_in("uma@example.com", "password-456").await;
    let r = root
        .post("/api/auth/admin/stop-impersonating", json!({}))
        .await;
    run.record("stop-impersonating without impersonation", &r, true);
    let r = root
        .post("/api/auth/admin/impersonate-user", json!({"userId": uid}))
        .await;
    run.record("impersonate-user", &r, false);
    run.results
        .push(("impersonate-user cookies".into(), cookie_shapes(&r)));
    let r = root.get("/api/auth/get-session").await;
    run.record("get-session while impersonating", &r, false);
    run.results.push((
        "impersonated user".into(),
        json!([
            r.json()["user"]["email"],
            r.json()["session"]["impersonatedBy"] == me
        ]),
    ));
    let r = root
        .post("/api/auth/admin/stop-impersonating", json!({}))
        .await;
    run.record("stop-impersonating", &r, false);
    run.results
        .push(("stop-impersonating cookies".into(), cookie_shapes(&r)));
    run.results.push((
        "back as".into(),
        root.session().await["user"]["email"].clone(),
    ));
    let r = root
        .post(
            "/api/auth/admin/impersonate-user",
            json!({"userId": created}),
        )
        .await;
    run.record("impersonate-user a user the admin created", &r, false);
    root.post("/api/auth/admin/stop-impersonating", json!({}))
        .await;
    make_admin("uma@example.com");
    let r = root
        .post("/api/auth/admin/impersonate-user", json!({"userId": uid}))
        .await;
    run.record("impersonate-user an admin", &r, true);

    let r = root
        .post("/api/auth/admin/remove-user", json!({"userId": me}))
        .await;
    run.record("remove-user self", &r, true);
    let r = root
        .post("/api/auth/admin/remove-user", json!({"userId": created}))
        .await;
    run.record("remove-user", &r, true);
    let r = root
        .post("/api/auth/admin/remove-user", json!({"userId": created}))
        .await;
    run.record("remove-user again", &r, true);
    run.results
}

#[tokio::test]
async fn admin_plugin_answers_like_betterauth() {
    let pair = Pair::start().await;
    let theirs = scenario(&pair.ba.base(), pair.promoter("ba")).await;
    let mine = scenario(&pair.ours.base, pair.promoter("ours")).await;
    compare(&theirs, &mine, DELIBERATE);
}
