//! Queries on `"twoFactor"`. `secret` and `backupCodes` hold ciphertext (see `crate::crypto`).

use super::Client;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

pub struct TwoFactorRow {
    pub id: String,
    pub secret: String,
    pub backup_codes: String,
    pub verified: bool,
}

pub async fn by_user(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<Option<TwoFactorRow>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            r#"select "id", "secret", "backupCodes", coalesce("verified", true)
               from "twoFactor" where "userId" = $1 limit 1"#,
            &[&user_id],
        )
        .await?
        .map(|r| TwoFactorRow {
            id: r.get(0),
            secret: r.get(1),
            backup_codes: r.get(2),
            verified: r.get(3),
        }))
}

/// Replaces the user's 2FA enrolment with a fresh, unverified one, recording whether the user's
/// address is verified now (read in the insert, so under whatever lock `tx` holds on the user's
/// row): a factor enrolled before the mailbox was proved does not survive a reset by mail
/// ([`delete_enrolled_unverified`]).
pub async fn replace(
    tx: &impl GenericClient,
    user_id: &str,
    secret: &str,
    backup_codes: &str,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        r#"delete from "twoFactor" where "userId" = $1"#,
        &[&user_id],
    )
    .await?;
    tx.execute(
        r#"insert into "twoFactor" ("id", "secret", "backupCodes", "userId", "verified", "failedVerificationCount", "enrolledAddressVerified")
           select $1, $2, $3, u."id", false, 0, coalesce(u."emailVerified", false) from "user" u where u."id" = $4"#,
        &[&crate::ids::new_id(), &secret, &backup_codes, &user_id],
    )
    .await?;
    Ok(())
}

/// Turns the enrolment on (its first code was right). Whether it counts as enrolled while the
/// address was verified stays what `enable` recorded, or an address move since
/// ([`keep_through_resets`]): a move between `enable` and this leaves the new address unverified,
/// and reading it again here would undo the move's mark. `false` when the enrolment is gone
/// (replaced, or removed by a reset or a disable).
pub async fn mark_verified(
    tx: &impl GenericClient,
    id: &str,
) -> Result<bool, tokio_postgres::Error> {
    Ok(tx
        .execute(
            r#"update "twoFactor" set "verified" = true, "failedVerificationCount" = 0, "lockedUntil" = null
               where "id" = $1"#,
            &[&id],
        )
        .await?
        == 1)
}

/// Removes the user's enrolment if it was made while the address was not verified
/// ([`replace`]): whether there was one.
pub async fn delete_enrolled_unverified(
    tx: &impl GenericClient,
    user_id: &str,
) -> Result<bool, tokio_postgres::Error> {
    Ok(tx
        .execute(
            r#"delete from "twoFactor" where "userId" = $1 and not "enrolledAddressVerified""#,
            &[&user_id],
        )
        .await?
        > 0)
}

/// The user's address moved: whatever enrolment they have counts from now on as enrolled while
/// the address was verified, so a reset by mail keeps it. [`delete_enrolled_unverified`] is for
/// the owner of an address that a stranger signed up with first; the new address's mailbox
/// opened a link to take this account as it was, factor included, and a reset through it must
/// not shed the factor (a copy of a session cookie can move an account whose address is not
/// verified, and would otherwise end with the account and without its second factor).
pub async fn keep_through_resets(
    tx: &impl GenericClient,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        r#"update "twoFactor" set "enrolledAddressVerified" = true where "userId" = $1 and not "enrolledAddressVerified""#,
        &[&user_id],
    )
    .await?;
    Ok(())
}

pub async fn set_backup_codes(
    client: &impl GenericClient,
    id: &str,
    codes: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"update "twoFactor" set "backupCodes" = $2 where "id" = $1"#,
            &[&id, &codes],
        )
        .await?;
    Ok(())
}

/// The sealed backup codes as stored now.
pub async fn backup_codes(
    client: &Client,
    id: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            r#"select "backupCodes" from "twoFactor" where "id" = $1"#,
            &[&id],
        )
        .await?
        .map(|r| r.get(0)))
}

/// The two sealed (encrypted) columns of an enrolment.
#[derive(Clone, Copy)]
pub enum Sealed {
    Secret,
    BackupCodes,
}

/// Compare-and-swap of a sealed column: `false` when someone changed it since `old` was read
/// (the caller re-reads and tries again), so two writers never overwrite each other (spending
/// two backup codes at once, re-sealing after a secret rotation).
pub async fn swap_sealed(
    client: &Client,
    id: &str,
    column: Sealed,
    old: &str,
    new: &str,
) -> Result<bool, tokio_postgres::Error> {
    let sql = match column {
        Sealed::Secret => {
            r#"update "twoFactor" set "secret" = $3 where "id" = $1 and "secret" = $2"#
        }
        Sealed::BackupCodes => {
            r#"update "twoFactor" set "backupCodes" = $3 where "id" = $1 and "backupCodes" = $2"#
        }
    };
    Ok(client.execute(sql, &[&id, &old, &new]).await? == 1)
}

/// Records `step` as the last accepted TOTP step, unless it is not later than the one recorded:
/// `false` means the code was already used (or is older than one that was).
pub async fn accept_totp_step(
    client: &Client,
    id: &str,
    step: i64,
) -> Result<bool, tokio_postgres::Error> {
    Ok(client
        .execute(
            r#"update "twoFactor" set "lastAcceptedStep" = $2
               where "id" = $1 and coalesce("lastAcceptedStep", -1) < $2"#,
            &[&id, &step],
        )
        .await?
        == 1)
}

/// Claims one verification attempt against the account in a single statement (the row lock makes
/// concurrent claims queue, so at most `limit` succeed): `false` while the account is locked. The
/// claim that reaches `limit` locks the account until `lock_until`; an expired lock restarts the
/// count. A success calls `reset_failures`.
pub async fn claim_attempt(
    client: &Client,
    id: &str,
    limit: i32,
    lock_until: DateTime<Utc>,
) -> Result<bool, tokio_postgres::Error> {
    let now = super::now_ms();
    Ok(client
        .execute(
            r#"update "twoFactor" set
                 "failedVerificationCount" = case when "lockedUntil" <= $2 then 1
                                                  else coalesce("failedVerificationCount", 0) + 1 end,
                 "lockedUntil" = case when "lockedUntil" <= $2 then null
                                      when coalesce("failedVerificationCount", 0) + 1 >= $3 then $4
                                      else "lockedUntil" end
               where "id" = $1 and ("lockedUntil" is null or "lockedUntil" <= $2)"#,
            &[&id, &now, &limit, &lock_until],
        )
        .await?
        == 1)
}

pub async fn reset_failures(client: &Client, id: &str) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"update "twoFactor" set "failedVerificationCount" = 0, "lockedUntil" = null where "id" = $1"#,
            &[&id],
        )
        .await?;
    Ok(())
}

pub async fn delete_for_user(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "twoFactor" where "userId" = $1"#,
            &[&user_id],
        )
        .await?;
    Ok(())
}
