//! Flavor `role-gated`: signed in is not enough; one of the allowed roles is, and admin always is.

use crate::kit_support;

use kit_support::{Stack, StackOptions};
use stackr_kit::Flavor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowed_roles_and_admin_pass() {
    let stack =
        Stack::start(StackOptions::new(Flavor::RoleGated).roles(&["editor", "billing"])).await;
    let plain = stack.sign_up("plain").await;
    let editor = stack.sign_up("editor").await;
    let admin = stack.sign_up("admin").await;
    let lookalike = stack.sign_up("lookalike").await;
    stack.set_role(&editor, "user,editor");
    stack.set_role(&admin, "admin");
    stack.set_role(&lookalike, "editors,user");

    let (status, body) = stack.get("/me", &[("cookie", &plain.cookie)]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "FORBIDDEN");

    let (status, body) = stack.get("/me", &[("cookie", &editor.cookie)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], editor.user_id.as_str());

    assert_eq!(
        stack.get("/me", &[("cookie", &admin.cookie)]).await.0,
        200,
        "admin always passes"
    );
    assert_eq!(
        stack.get("/me", &[("cookie", &lookalike.cookie)]).await.0,
        403,
        "roles match whole names"
    );
    assert_eq!(
        stack.get("/me", &[]).await.0,
        401,
        "no session is 401, not 403"
    );
    assert_eq!(
        stack
            .get(
                "/me",
                &[("x-user-role", "admin"), ("x-user-id", &admin.user_id)]
            )
            .await
            .0,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_granted_by_auth_takes_effect() {
    let stack = Stack::start(StackOptions::new(Flavor::RoleGated).roles(&["editor"])).await;
    let carol = stack.sign_up("carol").await;
    assert_eq!(stack.get("/me", &[("cookie", &carol.cookie)]).await.0, 403);
    stack.set_role(&carol, "editor");
    assert_eq!(stack.get("/me", &[("cookie", &carol.cookie)]).await.0, 200);
}
