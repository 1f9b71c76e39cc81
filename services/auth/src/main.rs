//! API of `auth` (`auth-api`): the stack's auth service. All of it lives in the
//! `stackr-auth` library (BetterAuth wire protocol, sessions, provisioning, admin page);
//! configuration comes from the environment (AUTH_SECRET_FILE, DATABASE_URL, …).
//! `auth-api set-role EMAIL ROLE` gives a user a role (`stackr set-role` runs it in dev).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    stackr_auth::cli::main().await
}
