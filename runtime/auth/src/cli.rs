//! Commands of an auth binary: `stackr-auth` and every generated auth service's API binary run
//! [`run`], so the operator command that makes the first admin exists wherever auth does.

use anyhow::{bail, Context};

const USAGE: &str = "usage: BIN [serve]\n       BIN set-role <email> <role>[,<role>…]\n\nWithout arguments the auth service serves. `set-role` gives a user roles (how the first admin\nis made): built-in `user` and `admin`, or one the stack declares in AUTH_ROLES. Configuration comes\nfrom the environment (DATABASE_URL, DATABASE_PASSWORD_FILE, AUTH_ROLES, …; see the crate docs).";

/// Serves, or runs the operator command named by `args` (the process arguments after the binary).
pub async fn run(bin: &str, args: &[String]) -> anyhow::Result<()> {
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] | ["serve"] => crate::run_from_env().await,
        ["set-role", email, role] => set_role(email, role).await,
        ["--help" | "-h" | "help"] => {
            println!("{}", USAGE.replace("BIN", bin));
            Ok(())
        }
        ["set-role", ..] => bail!("usage: {bin} set-role <email> <role>"),
        _ => bail!("unknown arguments {args:?}; run `{bin} --help`"),
    }
}

/// [`run`] with the process's own name and arguments: the whole `main` of an auth binary.
pub async fn main() -> anyhow::Result<()> {
    crate::init_tracing();
    let mut argv = std::env::args();
    let bin = argv
        .next()
        .as_deref()
        .and_then(|p| {
            std::path::Path::new(p)
                .file_name()?
                .to_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "stackr-auth".to_owned());
    run(&bin, &argv.collect::<Vec<_>>()).await
}

/// Sets a user's role (e.g. to make the first admin), connecting with `DATABASE_URL`. The role
/// (or comma list of roles) must be one `AUTH_ROLES` declares or a built-in one.
pub async fn set_role(email: &str, role: &str) -> anyhow::Result<()> {
    let roles = crate::config::roles_from_env()?;
    if roles.first_refused(role).is_some() {
        bail!(
            "role {role:?} is not one this stack declares; roles are {} (declare more on a `role-gated` service in stackr.config.json)",
            roles.describe()
        );
    }
    let (db, tls) = crate::config::database_from_env()?;
    let pool = crate::db::connect_and_migrate(&db, tls, 1, false).await?;
    let mut client = pool.get().await.context("connect to PostgreSQL")?;
    let tx = client.transaction().await?;
    // After the admin actions under way, as they run after each other; the impersonations the
    // change leaves wrong end, as with the admin API's `set-role` (which alone also refuses to
    // take the role from the last admin: this command is how one is made again).
    crate::db::users::lock_the_admins(&tx).await?;
    let Some(user) = crate::db::users::by_email(&tx, email).await? else {
        bail!("no user with email {email}");
    };
    crate::db::sessions::end_impersonations_for_role(&tx, &user, role).await?;
    crate::db::users::set_role(&tx, &user.id, role).await?;
    tx.commit().await?;
    println!("{email} now has role {role}");
    Ok(())
}
