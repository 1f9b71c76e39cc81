//! `stackr-auth`: the standalone auth server (same environment as the generated auth service).
//!
//! `stackr-auth` serves; `stackr-auth set-role <email> <role>` changes a user's role (how the first
//! admin is made). See [`stackr_auth::cli`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    stackr_auth::cli::main().await
}
