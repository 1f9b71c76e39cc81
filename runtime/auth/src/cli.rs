//! Operator commands of the `stackr-auth` binary.

use anyhow::{bail, Context};

/// Sets a user's role (e.g. to make the first admin), connecting with `DATABASE_URL`.
pub async fn set_role(email: &str, role: &str) -> anyhow::Result<()> {
    if !role
        .split(',')
        .all(|r| matches!(r.trim(), "user" | "admin"))
    {
        bail!("role must be `user` or `admin` (or a comma list of them), got {role:?}");
    }
    let db = crate::config::database_from_env()?;
    let pool = crate::db::connect_and_migrate(&db, 1).await?;
    let client = pool.get().await.context("connect to PostgreSQL")?;
    let Some(user) = crate::db::users::by_email(&client, email).await? else {
        bail!("no user with email {email}");
    };
    crate::db::users::set_role(&client, &user.id, role).await?;
    println!("{email} now has role {role}");
    Ok(())
}
