use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use rand::distr::{Alphanumeric, SampleString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use stackr_tls::outage::Outage;

pub const DEFAULT_DEVICE_SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Prefix that makes a leaked token recognisable (secret scanners, logs reviews).
const TOKEN_PREFIX: &str = "sds_";

/// The device a request came from, as established by its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceIdentity {
    pub device_session_id: String,
    /// The user who created the device session; the device acts for them.
    pub user_id: String,
    pub label: String,
    /// The owner's credential epoch when the device session was created (see `owner_status`).
    #[serde(skip)]
    pub owner_epoch: i64,
}

/// Returned once, at creation: the only time the token is visible.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewDeviceSession {
    pub id: String,
    pub token: String,
    pub label: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSessionInfo {
    pub id: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceStoreError {
    #[error("service database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("service database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

/// Live device sessions one user may hold: a signed-in user could otherwise grow the table, and
/// every listing of it, without end. Ample for the devices a person has.
pub const MAX_LIVE_PER_USER: usize = 50;

/// What makes a device session live (neither revoked nor expired), for every query that reads
/// live ones alone; a macro so that the queries stay `&'static str`.
macro_rules! live {
    () => {
        "revoked_at IS NULL AND expires_at > now()"
    };
}

/// How many live device sessions `user_id` holds.
async fn live_count(
    client: &impl deadpool_postgres::GenericClient,
    user_id: &str,
) -> Result<i64, DeviceStoreError> {
    let query = concat!(
        "SELECT count(*) FROM stackr_device_session WHERE user_id = $1 AND ",
        live!()
    );
    Ok(client.query_one(query, &[&user_id]).await?.get(0))
}

pub struct DeviceSessions {
    pool: Pool,
    ttl: Duration,
    /// Lookups failing are logged when that starts and when it ends: any anonymous client can
    /// present a made-up token, as often as it likes.
    lookups: Outage,
}

impl DeviceSessions {
    pub fn new(pool: Pool, ttl: Duration) -> Self {
        DeviceSessions {
            pool,
            ttl,
            lookups: Outage::new("device session lookup"),
        }
    }

    /// `owner_epoch`: the owner's credential epoch, read from auth before the creating session
    /// was last verified. `None` when the user already holds [`MAX_LIVE_PER_USER`] live ones.
    /// The user's expired and revoked ones are deleted first: they can no longer be used, and a
    /// user's rows stay bounded.
    pub async fn create(
        &self,
        user_id: &str,
        label: &str,
        owner_epoch: i64,
    ) -> Result<Option<NewDeviceSession>, DeviceStoreError> {
        // ThreadRng is a CSPRNG (ChaCha12, OS-seeded); scoped so the future stays Send.
        let (id, token) = {
            let mut rng = rand::rng();
            (
                Alphanumeric.sample_string(&mut rng, 24),
                format!("{TOKEN_PREFIX}{}", Alphanumeric.sample_string(&mut rng, 43)),
            )
        };
        let expires_at =
            Utc::now() + chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::days(30));
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Two creations at once for one user: the second counts after the first's insert.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('stackr-device-sessions:' || $1, 0))",
            &[&user_id],
        )
        .await?;
        tx.execute(
            concat!(
                "DELETE FROM stackr_device_session WHERE user_id = $1 AND NOT (",
                live!(),
                ")"
            ),
            &[&user_id],
        )
        .await?;
        if live_count(&tx, user_id).await? >= MAX_LIVE_PER_USER as i64 {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO stackr_device_session (id, token_hash, user_id, label, expires_at, owner_epoch) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&id, &token_hash(&token), &user_id, &label, &expires_at, &owner_epoch],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(NewDeviceSession {
            id,
            token,
            label: label.to_owned(),
            expires_at,
        }))
    }

    /// Whether `user_id` already holds [`MAX_LIVE_PER_USER`] live device sessions: asked before
    /// auth is, so that a user at the limit, repeating a creation bound to be refused, costs auth
    /// nothing. [`DeviceSessions::create`] counts again under the user's lock, which is what holds
    /// the bound against creations racing each other.
    pub(crate) async fn at_limit(&self, user_id: &str) -> Result<bool, DeviceStoreError> {
        let client = self.pool.get().await?;
        Ok(live_count(&client, user_id).await? >= MAX_LIVE_PER_USER as i64)
    }

    /// The live (not expired, not revoked) device session the token belongs to. Whether its owner
    /// still stands is auth's to say (the guard asks).
    pub async fn verify(&self, token: &str) -> Result<Option<DeviceIdentity>, DeviceStoreError> {
        let found = self.look_up(token).await;
        self.lookups.note_outcome(&found);
        found
    }

    async fn look_up(&self, token: &str) -> Result<Option<DeviceIdentity>, DeviceStoreError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let client = self.pool.get().await?;
        let Some(row) = client
            .query_opt(
                concat!(
                    "SELECT id, user_id, label, owner_epoch, \
                     last_used_at IS NULL OR last_used_at < now() - interval '1 minute' \
                     FROM stackr_device_session WHERE token_hash = $1 AND ",
                    live!()
                ),
                &[&token_hash(token)],
            )
            .await?
        else {
            return Ok(None);
        };
        let identity = DeviceIdentity {
            device_session_id: row.get(0),
            user_id: row.get(1),
            label: row.get(2),
            owner_epoch: row.get(3),
        };
        // last_used_at is for the user's device list; minute precision spares a write per request.
        if row.get::<_, bool>(4) {
            client
                .execute(
                    "UPDATE stackr_device_session SET last_used_at = now() WHERE id = $1",
                    &[&identity.device_session_id],
                )
                .await?;
        }
        Ok(Some(identity))
    }

    pub async fn list(&self, user_id: &str) -> Result<Vec<DeviceSessionInfo>, DeviceStoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                concat!(
                    "SELECT id, label, created_at, expires_at, last_used_at FROM stackr_device_session \
                     WHERE user_id = $1 AND ",
                    live!(),
                    " ORDER BY created_at"
                ),
                &[&user_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DeviceSessionInfo {
                id: r.get(0),
                label: r.get(1),
                created_at: r.get(2),
                expires_at: r.get(3),
                last_used_at: r.get(4),
            })
            .collect())
    }

    /// Revokes one of `user_id`'s device sessions; `false` when there is no such live session.
    pub async fn revoke(&self, user_id: &str, id: &str) -> Result<bool, DeviceStoreError> {
        // PostgreSQL's text holds no NUL, so no row has such an id; sent, it fails the statement.
        if id.contains('\0') {
            return Ok(false);
        }
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "UPDATE stackr_device_session SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
                &[&id, &user_id],
            )
            .await?;
        Ok(n == 1)
    }
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
