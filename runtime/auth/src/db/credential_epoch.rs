//! Queries on `"credential_epoch"`: the per-user counter that ends every credential a base
//! service derived from the user's sessions (device sessions) when the sessions themselves end,
//! and, with the password hash and the count of address changes kept beside it, the pending
//! change-email links (`routes::change_email`) and the devices trusted to skip the second factor
//! (`routes::two_factor::challenge`).

use super::Client;
use deadpool_postgres::GenericClient;

/// What a base service needs to know about the owner of a credential it derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerStatus {
    /// Banned now (an expired temporary ban does not count).
    pub banned: bool,
    pub epoch: i64,
}

/// Moves the user's epoch on. Called after the sessions are deleted, so a base service that reads
/// the epoch and then checks the session can never stamp a new credential with the new epoch on
/// the strength of a session that is being revoked.
pub async fn bump(client: &impl GenericClient, user_id: &str) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"insert into "credential_epoch" as e ("user_id", "epoch") values ($1, 1)
               on conflict ("user_id") do update set "epoch" = e."epoch" + 1, "bumped_at" = CURRENT_TIMESTAMP"#,
            &[&user_id],
        )
        .await?;
    Ok(())
}

/// Counts a change of the user's email address, in the transaction that makes it; a contest of
/// the old address ([`contest_sign_up`]) goes with it. Until a password is set through a reset
/// link at the new address, the account's ways in count as set up before the address was proved
/// ([`take_address_moved_unproved`]).
pub async fn address_moved(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"insert into "credential_epoch" as e ("user_id", "epoch", "address_moves", "address_moved_unproved") values ($1, 0, 1, true)
               on conflict ("user_id") do update set "address_moves" = e."address_moves" + 1, "sign_up_contested" = false, "address_moved_unproved" = true"#,
            &[&user_id],
        )
        .await?;
    Ok(())
}

/// `None` when the user does not exist (deleted).
pub async fn owner_status(
    client: &Client,
    user_id: &str,
) -> Result<Option<OwnerStatus>, tokio_postgres::Error> {
    let stmt = client
        .prepare_cached(&format!(
            r#"select {}, coalesce(e."epoch", 0)
               from "user" u left join "credential_epoch" e on e."user_id" = u."id"
               where u."id" = $1"#,
            super::users::ban_runs("now()")
        ))
        .await?;
    Ok(client
        .query_opt(&stmt, &[&user_id])
        .await?
        .map(|row| OwnerStatus {
            banned: row.get(0),
            epoch: row.get(1),
        }))
}

/// The user's password was set otherwise than through a reset link, or proved together with a
/// second factor that is not mail: one-time codes by mail are a second factor again (see
/// [`password_set_through_reset`]).
pub async fn password_not_by_mail(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"update "credential_epoch" set "password_by_mail" = false where "user_id" = $1 and "password_by_mail""#,
            &[&user_id],
        )
        .await?;
    Ok(())
}

/// The user's password was just set through a reset link, in one statement: while it was, a
/// one-time code by mail is no second factor (the same mailbox would be both factors), and a
/// contest of the address is settled (the mailbox chose this password, not a stranger signing
/// up first: [`contest_sign_up`], [`password_chosen_unproved`]).
pub async fn password_set_through_reset(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"insert into "credential_epoch" as e ("user_id", "epoch", "password_by_mail") values ($1, 0, true)
               on conflict ("user_id") do update set "password_by_mail" = true, "sign_up_contested" = false, "password_unproved" = false"#,
            &[&user_id],
        )
        .await?;
    Ok(())
}

/// Whether the user's password was last set through a reset link
/// ([`password_set_through_reset`]).
pub async fn password_by_mail(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<bool, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            r#"select "password_by_mail" from "credential_epoch" where "user_id" = $1"#,
            &[&user_id],
        )
        .await?
        .is_some_and(|row| row.get(0)))
}

/// The user's password was just chosen by someone who had not proved the mailbox (a sign-up), or
/// the account just moved to an address whose mailbox did not choose it (a change of address,
/// which carries the password and the provider identities the account held): they may be a
/// stranger's, who signed up first with another's address or moved their account to it, so no
/// provider identity is linked to the user by its address ([`way_in_unproved`]) until a
/// password is set through a reset link ([`password_set_through_reset`]).
pub async fn password_chosen_unproved(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            r#"insert into "credential_epoch" as e ("user_id", "epoch", "password_unproved") values ($1, 0, true)
               on conflict ("user_id") do update set "password_unproved" = true"#,
            &[&user_id],
        )
        .await?;
    Ok(())
}

/// Whether the user holds a way in set up by someone who had not proved the mailbox
/// ([`password_chosen_unproved`]): a password, or a provider identity (one that came with the
/// account to its new address). A user left with neither (a contested sign-up's password
/// dropped when the owner proved the address) holds nothing of a stranger's.
pub async fn way_in_unproved(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<bool, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            r#"select 1 from "credential_epoch" e join "account" a on a."userId" = e."user_id"
               where e."user_id" = $1 and e."password_unproved"
                 and (a."providerId" <> $2 or a."password" is not null)
               limit 1"#,
            &[&user_id, &super::accounts::CREDENTIAL],
        )
        .await?
        .is_some())
}

/// Whether the user's account moved to its address ([`address_moved`]) and no password was set
/// through a reset link since, clearing the mark: true for the reset that proves the address,
/// which removes the provider identities held then (whoever held the account then linked them,
/// and the address's owner followed a mail that said only to make it the account's address).
pub async fn take_address_moved_unproved(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<bool, tokio_postgres::Error> {
    take_mark(client, user_id, "address_moved_unproved").await
}

/// Marks the user's address as contested, if it is still not verified: a sign-up with another
/// password came for it meanwhile (see `routes::sign_up`). The user's row is locked first, so a
/// verification under way either comes before (and nothing is marked) or after (and sees it).
pub async fn contest_sign_up(
    client: &mut Client,
    user_id: &str,
) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let unverified = tx
        .query_opt(
            r#"select 1 from "user" where "id" = $1 and not coalesce("emailVerified", false) for no key update"#,
            &[&user_id],
        )
        .await?
        .is_some();
    if unverified {
        tx.execute(
            r#"insert into "credential_epoch" as e ("user_id", "epoch", "sign_up_contested") values ($1, 0, true)
               on conflict ("user_id") do update set "sign_up_contested" = true"#,
            &[&user_id],
        )
        .await?;
    }
    tx.commit().await
}

/// Whether the user's address was contested ([`contest_sign_up`]), clearing the mark: true for
/// one caller only.
pub async fn take_sign_up_contest(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<bool, tokio_postgres::Error> {
    take_mark(client, user_id, "sign_up_contested").await
}

/// Whether the user's mark `column` (a boolean column of `credential_epoch`) was set, clearing
/// it: true for one caller only.
async fn take_mark(
    client: &impl GenericClient,
    user_id: &str,
    column: &'static str,
) -> Result<bool, tokio_postgres::Error> {
    let sql = format!(
        r#"update "credential_epoch" set "{column}" = false where "user_id" = $1 and "{column}""#
    );
    Ok(client.execute(&sql, &[&user_id]).await? > 0)
}

/// What a change-email link and a trusted device are bound to: the stored password hash
/// (`None` without a password), the epoch, one or the other of which a reset, a password change
/// or the end of all (or all other, or another) sessions moves on, and the count of address
/// changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub password_hash: Option<String>,
    pub epoch: i64,
    pub address_moves: i64,
}

impl Credentials {
    /// Feeds these credentials into `mac` so that a MAC over them changes when any of them does
    /// (the parts are delimited; a missing password hash differs from every stored one).
    pub fn update_mac(&self, mac: &mut impl hmac::Mac) {
        mac.update(format!("\0{}\0{}\0", self.epoch, self.address_moves).as_bytes());
        match &self.password_hash {
            Some(hash) => {
                mac.update(b"p");
                mac.update(hash.as_bytes());
            }
            None => mac.update(b"-"),
        }
    }
}

/// The SQL expressions of a user's [`Credentials`] (the password hash, the epoch, the address
/// changes), with the user id and the password provider id (`accounts::CREDENTIAL`) as the
/// parameters named: for [`credentials`], and for statements that must check them where they
/// change something.
pub(super) fn credentials_sql(user_id: &str, provider_id: &str) -> [String; 3] {
    let counter = |column: &str| {
        format!(
            r#"coalesce((select "{column}" from "credential_epoch" where "user_id" = {user_id}), 0)"#
        )
    };
    [
        format!(
            r#"(select "password" from "account" where "userId" = {user_id} and "providerId" = {provider_id} limit 1)"#
        ),
        counter("epoch"),
        counter("address_moves"),
    ]
}

/// The user's [`Credentials`], read in one statement (an unknown user has none: no hash, zeros).
pub async fn credentials(
    client: &impl GenericClient,
    user_id: &str,
) -> Result<Credentials, tokio_postgres::Error> {
    let [password_hash, epoch, address_moves] = credentials_sql("$1", "$2");
    let row = client
        .query_one(
            &format!("select {password_hash}, {epoch}, {address_moves}"),
            &[&user_id, &super::accounts::CREDENTIAL],
        )
        .await?;
    Ok(Credentials {
        password_hash: row.get(0),
        epoch: row.get(1),
        address_moves: row.get(2),
    })
}
