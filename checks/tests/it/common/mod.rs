//! Shared by the end-to-end tests: the fixture stack, a browser against it, and SQL helpers; a
//! NixOS host booted under systemd ([`deployment`]) and the checks every such host passes
//! ([`host_steps`]).

pub mod deployment;
pub mod host_steps;

use stackr_checks::fixture::fixture_plan;
use stackr_checks::http::{Browser, BrowserSession};
use stackr_checks::{Binaries, Stack};

/// Random per run, like every other credential of the suite.
pub fn password() -> String {
    stackr_checks::secret::random_secret(24)
}

/// The fixture stack, up and healthy.
pub async fn start_fixture_stack() -> Stack {
    let binaries = Binaries {
        auth: env!("CARGO_BIN_EXE_stackr-checks-auth").into(),
        service: env!("CARGO_BIN_EXE_stackr-checks-service").into(),
    };
    let plan = fixture_plan().expect("fixture plan");
    match Stack::start(plan, &binaries).await {
        Ok(stack) => stack,
        Err(e) => panic!("the fixture stack did not start: {e:#}"),
    }
}

pub fn browser(stack: &Stack) -> Browser {
    Browser::new(&stack.auth().url(""), &stack.auth_origin())
}

/// Signs up a fresh user (unique address per call).
pub async fn sign_up(stack: &Stack, who: &str) -> BrowserSession {
    let email = format!(
        "{who}-{}@checks.example",
        stackr_checks::secret::random_secret(8).to_lowercase()
    );
    browser(stack)
        .sign_up(&email, &password(), who)
        .await
        .unwrap_or_else(|e| panic!("sign-up of {who}: {e:#}"))
}

/// Gives a user a role the way an operator would: in auth's database (the admin plugin's `role`
/// column). Must run before the user's first call to a base service, whose guard caches sessions.
pub async fn set_role(stack: &Stack, user_id: &str, role: &str) {
    let auth = stack.auth();
    let db = auth
        .postgres
        .superuser(&auth.database.database)
        .await
        .expect("superuser on auth's database");
    let n = db
        .execute(
            r#"UPDATE "user" SET role = $1 WHERE id = $2"#,
            &[&role, &user_id],
        )
        .await
        .expect("set role");
    assert_eq!(n, 1, "user {user_id} must exist in auth's database");
}
