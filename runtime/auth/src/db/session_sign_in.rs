//! Queries on `"session_sign_in"`: what the sign-in that opened a session proved of its holder
//! (migration `0015_session_sign_in.sql`). The admin dashboard asks, and the API's admin routes
//! for an admin with two-factor on; the rest of the API takes every session alike, as BetterAuth
//! does, and a sign-in through a provider asks for neither the password nor the second factor.
//!
//! A row lives and dies with its session (a foreign key, `on delete cascade`): every way a
//! session ends ends its record, and a refreshed session keeps its id and so its record. It is
//! in the database every replica shares and never cached: the dashboard reads it at every page,
//! as it reads the session (get-session's cache, `session_cache`, never shows it).

use deadpool_postgres::GenericClient;

/// What opening a session proved, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proved {
    /// Neither the password nor a second factor: a provider's sign-in, an impersonation, a
    /// session written before the record was kept (or by BetterAuth).
    Nothing,
    /// The user's password: a sign-in with it, or the sign-up that chose it.
    Password,
    /// The password and the second factor: a code from the authenticator, a backup code, a code
    /// by mail, or a device trusted after one of those.
    SecondFactor,
}

/// Records what opening `session_id` proved; written in the transaction that writes the
/// session, so that no session is ever seen without its record. Nothing is kept for
/// [`Proved::Nothing`].
pub async fn record(
    client: &impl GenericClient,
    session_id: &str,
    proved: Proved,
) -> Result<(), tokio_postgres::Error> {
    let second_factor = match proved {
        Proved::Nothing => return Ok(()),
        Proved::Password => false,
        Proved::SecondFactor => true,
    };
    client
        .execute(
            r#"insert into "session_sign_in" ("session_id", "second_factor") values ($1, $2)"#,
            &[&session_id, &second_factor],
        )
        .await?;
    Ok(())
}

/// What opening `session_id` proved.
pub async fn proved(
    client: &impl GenericClient,
    session_id: &str,
) -> Result<Proved, tokio_postgres::Error> {
    let row = client
        .query_opt(
            r#"select "second_factor" from "session_sign_in" where "session_id" = $1"#,
            &[&session_id],
        )
        .await?;
    Ok(match row.map(|r| r.get::<_, bool>(0)) {
        None => Proved::Nothing,
        Some(false) => Proved::Password,
        Some(true) => Proved::SecondFactor,
    })
}
