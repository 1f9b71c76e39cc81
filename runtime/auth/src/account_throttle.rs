//! A per-account budget of password attempts, on top of the per-IP limits (which an attacker with
//! many addresses simply spreads out over). A budget is named by a key: the normalised email, or
//! one of its known devices (see `crate::known_device`), which have budgets of their own.
//!
//! Every sign-in attempt for an email address takes one unit of its budget *before* the password
//! is checked (in one statement on the budget's row, so concurrent guesses cannot overdraw it); a
//! successful sign-in gives the budget back. Once `BUDGET` attempts have failed in a row, the
//! account takes no further attempt for `LOCK` after the last one, and then one at a time, each
//! failure locking it again. A refused attempt is answered exactly like a wrong password, after
//! the same work, so the lock reveals nothing about whether the account exists (unknown addresses
//! are throttled the same way). Budgets live in the auth database (`password_budget`), not in the
//! process: every replica of auth draws on the same one, and a restart (a deploy) refills none.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::db::{now_ms, Client};

/// Failed attempts in a row before the account locks.
pub const BUDGET: u32 = 10;
/// How long a locked account refuses every attempt.
pub const LOCK: Duration = Duration::from_secs(15 * 60);
/// A run of failures is forgotten after this long without attempts.
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The budget's row key: a digest, so what a guesser types is not stored.
fn row_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Takes one attempt from the budget `key`; `false` while it is locked. A run idle for
/// [`FORGET_AFTER`] starts again from a full budget.
pub async fn try_attempt(client: &Client, key: &str) -> Result<bool, tokio_postgres::Error> {
    let now = now_ms();
    // A locked row is left as it is, and the update's condition then returns no row.
    let taken = client
        .query_opt(
            r#"insert into "password_budget" as b ("key", "attempts", "last_attempt_at")
               values ($1, 1, $2)
               on conflict ("key") do update set
                 "attempts" = case when b."last_attempt_at" <= $4 then 1 else b."attempts" + 1 end,
                 "last_attempt_at" = $2
               where b."attempts" < $5 or b."last_attempt_at" <= $3
               returning 1"#,
            &[
                &row_key(key),
                &now,
                &(now - LOCK),
                &(now - FORGET_AFTER),
                &(BUDGET as i32),
            ],
        )
        .await?;
    Ok(taken.is_some())
}

/// The attempt on the budget `key` succeeded: its run of failures is over.
pub async fn succeeded(client: &Client, key: &str) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "password_budget" where "key" = $1"#,
            &[&row_key(key)],
        )
        .await?;
    Ok(())
}

/// Deletes the runs idle for [`FORGET_AFTER`] (housekeeping): how many.
pub async fn delete_forgotten(client: &Client) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "password_budget" where "last_attempt_at" <= $1"#,
            &[&(now_ms() - FORGET_AFTER)],
        )
        .await
}
