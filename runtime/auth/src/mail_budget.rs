//! A per-recipient budget of the mails anyone can make auth send: reset links
//! (`request-password-reset`), verification links (`send-verification-email`) and change-email
//! links (`change-email`, and the link an opened change-email confirmation mails to the new
//! address). The per-IP rate limits alone let whoever holds many client addresses
//! send one mailbox as many mails as they like (and get auth's mail server listed as a spam
//! source); with this budget a mailbox gets at most [`MAILS_PER_WINDOW`] mails of one kind per
//! [`WINDOW`], however many clients ask. A request over the budget is answered as any other (the
//! answer must not tell which addresses have accounts) and sends nothing.
//!
//! An account whose address is not verified has change-email links mailed to the address it
//! names: it has a budget of its own too ([`take_for_account`]), or one account could have auth
//! mail as many addresses as it liked.
//!
//! Each kind has a budget of its own, so that asking for one kind of mail never uses up another:
//! change-email links sent to an address do not keep its owner from receiving reset links. The
//! window is as long as the links live: when a request is refused, the mails of the same window,
//! each with a link as good as the one refused, are still in the mailbox, so using the budget up
//! keeps no owner from resetting or verifying. Budgets live in the auth database (`mail_budget`),
//! shared by every replica and kept across restarts.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::db::now_ms;

/// Mails of one kind a mailbox may be sent per [`WINDOW`] (every `+tag` spelling of an address
/// shares one budget).
pub const MAILS_PER_WINDOW: u32 = 5;
/// As long as the longest-lived of the links mailed lives (see the module docs): a reset link,
/// or a verification link (which change-email mails are too).
pub const WINDOW: Duration = Duration::from_secs(longer(
    crate::routes::password_reset::TOKEN_LIFETIME_SECS,
    crate::routes::email_verification::LINK_LIFETIME_SECS,
));

const fn longer(a: i64, b: i64) -> u64 {
    (if a > b { a } else { b }) as u64
}

/// The kinds of mail, each with its own budget per address.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    PasswordReset,
    Verification,
    ChangeEmail,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::PasswordReset => "password-reset",
            Kind::Verification => "verification",
            Kind::ChangeEmail => "change-email",
        }
    }
}

/// The budget's row key: a digest, so the addresses asked for are not stored.
fn row_key(budget: &str) -> Vec<u8> {
    Sha256::digest(budget.as_bytes()).to_vec()
}

/// Takes one mail of `kind` to `address` from its budget, in one statement (concurrent requests
/// cannot overdraw it): `false` when the window's mails are used up, and nothing may be sent.
pub async fn take(
    client: &impl deadpool_postgres::GenericClient,
    kind: Kind,
    address: &str,
) -> Result<bool, tokio_postgres::Error> {
    take_from(client, &format!("{}\0{}", kind.name(), mailbox(address))).await
}

/// The mailbox `address` reaches, as far as a budget goes: its normalized spelling without a
/// `+tag` (`ann+shop@example.com` is `ann@example.com` at most mail servers, and the tag is the
/// sender's to choose). At a server that reads `+` otherwise, its addresses share one budget,
/// which only sends them fewer mails.
fn mailbox(address: &str) -> String {
    let address = crate::db::users::normalize_email(address);
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let untagged = local.split_once('+').map_or(local, |(base, _)| base);
            format!("{untagged}@{domain}")
        }
        None => address,
    }
}

/// Takes one change-email mail from the budget of the account `user_id`, which names the
/// address it goes to when its own is not verified: the addresses' budgets alone would let one
/// account have auth mail as many addresses as it liked.
pub async fn take_for_account(
    client: &impl deadpool_postgres::GenericClient,
    user_id: &str,
) -> Result<bool, tokio_postgres::Error> {
    take_from(client, &format!("change-email-asked-by\0{user_id}")).await
}

async fn take_from(
    client: &impl deadpool_postgres::GenericClient,
    budget: &str,
) -> Result<bool, tokio_postgres::Error> {
    let now = now_ms();
    let taken = client
        .query_opt(
            r#"insert into "mail_budget" as b ("key", "sent", "window_start")
               values ($1, 1, $2)
               on conflict ("key") do update set
                 "sent" = case when b."window_start" <= $3 then 1 else b."sent" + 1 end,
                 "window_start" = case when b."window_start" <= $3 then $2 else b."window_start" end
               where b."window_start" <= $3 or b."sent" < $4
               returning 1"#,
            &[
                &row_key(budget),
                &now,
                &(now - WINDOW),
                &(MAILS_PER_WINDOW as i32),
            ],
        )
        .await?;
    Ok(taken.is_some())
}

/// Deletes the budgets whose window is over (housekeeping): how many.
pub async fn delete_ended(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            r#"delete from "mail_budget" where "window_start" <= $1"#,
            &[&(now_ms() - WINDOW)],
        )
        .await
}
