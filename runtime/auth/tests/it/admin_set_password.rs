//! An admin's `set-user-password` ends every session of the user, as a reset does.

use crate::common;

use common::owner_status::{
    credential_epoch, impersonated_by_an_admin, owner_and_admin, OwnerAndAdmin,
};
use serde_json::json;

/// An admin resetting a compromised account's password left whoever held a session of it
/// signed in, and their device sessions working. Every session of the user ends (an admin's
/// impersonation of them too), and so does every credential derived from one: the credential
/// epoch moves on. The answer is BetterAuth's.
#[tokio::test]
async fn setting_a_users_password_ends_their_sessions() {
    let OwnerAndAdmin {
        server,
        admin: mut root,
        mut owner,
        owner_id: uid,
    } = owner_and_admin().await;
    let mut thief = server.client();
    let r = thief.sign_in("uma@example.com", "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut impersonation = impersonated_by_an_admin(&server, &uid).await;
    let epoch = credential_epoch(&server, &uid).await;

    let r = root
        .post(
            "/api/auth/admin/set-user-password",
            json!({"userId": uid, "newPassword": "new-password-1"}),
        )
        .await;
    assert_eq!((r.status, r.json()), (200, json!({"status": true})));
    for (who, browser) in [
        ("the owner", &mut owner),
        ("the thief", &mut thief),
        ("the impersonation", &mut impersonation),
    ] {
        assert_eq!(browser.session().await, json!(null), "{who}'s session");
    }
    assert!(
        credential_epoch(&server, &uid).await > epoch,
        "device sessions end with them"
    );
    assert_eq!(root.session().await["user"]["email"], "root@example.com");
    let r = owner.sign_in("uma@example.com", "new-password-1").await;
    assert_eq!(r.status, 200, "{}", r.text);
}
