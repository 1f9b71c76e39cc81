//! API of `auth` (`auth-api`): the stack's auth service. All of it lives in the
//! `stackr-auth` library (BetterAuth wire protocol, sessions, provisioning, admin page);
//! configuration comes from the environment (AUTH_SECRET_FILE, DATABASE_URL, …).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    stackr_auth::init_tracing();
    stackr_auth::run_from_env().await
}
