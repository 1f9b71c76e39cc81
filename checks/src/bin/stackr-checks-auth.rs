//! The fixture stack's auth process: exactly what a scaffolded `services/auth` main does (the
//! auth library configured from the environment), built inside this crate so that
//! `cargo test -p stackr-checks` builds it too.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    stackr_auth::init_tracing();
    stackr_auth::run_from_env().await
}
