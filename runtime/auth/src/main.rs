//! `stackr-auth`: the standalone auth server (same environment as the generated auth service).
//!
//! `stackr-auth` serves; `stackr-auth set-role <email> <role>` changes a user's role (how the first
//! admin is made).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    stackr_auth::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => stackr_auth::run_from_env().await,
        Some("set-role") if args.len() == 3 => stackr_auth::cli::set_role(&args[1], &args[2]).await,
        Some("--help" | "-h" | "help") => {
            println!("usage: stackr-auth [serve]\n       stackr-auth set-role <email> <role>\n\nConfiguration comes from the environment (see the crate docs).");
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown command {other:?}; run `stackr-auth --help`"),
    }
}
