//! `revoke-session` of another of the user's sessions ends what was derived from it.

use crate::common;

use common::owner_status::{
    credential_epoch, impersonated_by_an_admin, owner_and_admin, OwnerAndAdmin,
};
use serde_json::json;

/// An owner who finds a session they do not know in `list-sessions` and revokes it ended the
/// session only: a device session its holder made from it in a base service (its token lasting
/// 30 days) stayed good, since device sessions are not tied to the session they came from and
/// only the credential epoch ends them. Revoking another session now moves the epoch on, as
/// `revoke-other-sessions` does. Ending the caller's own session is a sign-out, which does not.
#[tokio::test]
async fn revoking_another_session_ends_the_credentials_derived_from_sessions() {
    let OwnerAndAdmin {
        server,
        mut owner,
        owner_id: uid,
        ..
    } = owner_and_admin().await;
    let mut thief = server.client();
    let r = thief.sign_in("uma@example.com", "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let thiefs = thief.session().await["session"]["id"].clone();
    let epoch = credential_epoch(&server, &uid).await;

    let listed = owner.get("/api/auth/list-sessions").await.json();
    let handle = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == thiefs)
        .expect("the thief's session is listed")["token"]
        .clone();
    let r = owner
        .post("/api/auth/revoke-session", json!({"token": handle}))
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));
    assert_eq!(thief.session().await, json!(null));
    let after = credential_epoch(&server, &uid).await;
    assert!(after > epoch, "the thief's device sessions end too");
    assert_eq!(owner.session().await["user"]["email"], "uma@example.com");

    // The owner's own session, revoked: a sign-out, which leaves the epoch.
    let token = owner.session().await["session"]["token"].clone();
    let r = owner
        .post("/api/auth/revoke-session", json!({"token": token}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(owner.session().await, json!(null));
    assert_eq!(credential_epoch(&server, &uid).await, after);
}

/// An admin's `revoke-user-session` of one of the user's own sessions ends what was derived from
/// sessions too; ending an impersonation of the user, from which no device session is made,
/// leaves the user's.
#[tokio::test]
async fn an_admins_revocation_of_a_session_ends_the_credentials_derived_from_sessions() {
    let OwnerAndAdmin {
        server,
        admin: mut root,
        mut owner,
        owner_id: uid,
    } = owner_and_admin().await;
    let mut impersonation = impersonated_by_an_admin(&server, &uid).await;
    let epoch = credential_epoch(&server, &uid).await;

    let revoke = |session: serde_json::Value| json!({"sessionToken": session["session"]["token"]});
    let r = root
        .post(
            "/api/auth/admin/revoke-user-session",
            revoke(impersonation.session().await),
        )
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"success": true})));
    assert_eq!(impersonation.session().await, json!(null));
    assert_eq!(credential_epoch(&server, &uid).await, epoch);

    let r = root
        .post(
            "/api/auth/admin/revoke-user-session",
            revoke(owner.session().await),
        )
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"success": true})));
    assert_eq!(owner.session().await, json!(null));
    assert!(credential_epoch(&server, &uid).await > epoch);
}

/// The user's own `revoke-session` of an admin's impersonation of them ends it, as the admin
/// route does, and ends no more: no device session is made from an impersonation, so the
/// credential epoch stays, and the user's own session with it.
#[tokio::test]
async fn the_users_revocation_of_an_impersonation_of_them_ends_it_alone() {
    let OwnerAndAdmin {
        server,
        mut owner,
        owner_id: uid,
        ..
    } = owner_and_admin().await;
    let mut impersonation = impersonated_by_an_admin(&server, &uid).await;
    let impersonating = impersonation.session().await;
    assert!(
        impersonating["session"]["impersonatedBy"].is_string(),
        "{impersonating}"
    );
    let epoch = credential_epoch(&server, &uid).await;

    let r = owner
        .post(
            "/api/auth/revoke-session",
            json!({"token": impersonating["session"]["token"]}),
        )
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));
    assert_eq!(impersonation.session().await, json!(null));
    assert_eq!(credential_epoch(&server, &uid).await, epoch);
    assert_eq!(owner.session().await["user"]["email"], "uma@example.com");
}
