//! What a base service asks auth about the owner of a device session (`user-status`, with a
//! service credential): a server that answers it, and the owner's credential epoch.

use super::{Client, Options, TestServer};

const SERVICE: &str = "core";
const CREDENTIAL: &str = "core-credential-0123456789abcdef0123456789abcdef";

/// A server that a base service with a device session may ask `user-status`.
async fn server_with_a_base_service() -> TestServer {
    TestServer::start_with(Options {
        provision: vec![(SERVICE, CREDENTIAL)],
        ..Options::default()
    })
    .await
}

/// What the tests of ending a user's sessions start from: a server a base service asks
/// ([`server_with_a_base_service`]), an admin signed in (Root), and the owner of the sessions
/// (Uma, password `password-123`) signed up and signed in.
pub struct OwnerAndAdmin {
    pub server: TestServer,
    pub admin: Client,
    pub owner: Client,
    pub owner_id: String,
}

pub async fn owner_and_admin() -> OwnerAndAdmin {
    let server = server_with_a_base_service().await;
    let admin = server.admin("Root", "root@example.com").await;
    let mut owner = server.client();
    let owner_id = owner
        .sign_up_id("Uma", "uma@example.com", "password-123")
        .await;
    OwnerAndAdmin {
        server,
        admin,
        owner,
        owner_id,
    }
}

/// The credential epoch of `user_id` as the base service reads it: a device session stamped
/// with an older one is refused.
pub async fn credential_epoch(server: &TestServer, user_id: &str) -> i64 {
    let client = server.client();
    let r = client
        .raw()
        .get(client.url(&format!("/api/auth/user-status?userId={user_id}")))
        .header("x-stackr-service", SERVICE)
        .header("authorization", format!("Bearer {CREDENTIAL}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "user-status");
    let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    body["credentialEpoch"].as_i64().unwrap()
}

/// An admin (Ada) impersonating `user_id`: a session of the user's that no device session is
/// made from.
pub async fn impersonated_by_an_admin(server: &TestServer, user_id: &str) -> Client {
    let mut impersonation = server.admin("Ada", "ada@example.com").await;
    let r = impersonation
        .post(
            "/api/auth/admin/impersonate-user",
            serde_json::json!({"userId": user_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    impersonation
}
