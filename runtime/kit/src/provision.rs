//! First-call provisioning: the first time a user reaches this service authenticated, the service
//! creates its own record keyed by `user.id` (table `stackr_user`) and then tells auth
//! (`POST /api/auth/provision`), which from then on reports `has<Service>Account: true`.
//!
//! Exactly once, even under concurrent first calls and across processes (API replicas, worker):
//! the record is inserted and then locked (`SELECT … FOR UPDATE`) in one transaction, auth is
//! called while the lock is held, and `provisioned_at` is set before commit. Concurrent callers
//! block on the row lock and then see `provisioned_at`. If auth fails, the transaction rolls back
//! and the next call retries. Users known to be provisioned are remembered in memory so the
//! steady state costs no query.
//!
//! In one process, a user's concurrent first calls wait for the first one before taking a
//! database connection (one of a fixed set of locks, chosen by the user): blocked on the row lock,
//! each would hold a connection for as long as auth takes to answer, and a burst of them would
//! leave none for anyone else.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use deadpool_postgres::Pool;

use crate::auth::{AuthClient, AuthError, ProvisionOutcome};
use stackr_tls::outage::Outage;

/// Above this many remembered users the memory is cleared (and refilled by one cheap query each).
const REMEMBERED_USERS_CAP: usize = 100_000;

/// Locks that first calls take by user: two users share one only by chance, and then one waits
/// for the other's provisioning, a round trip to auth.
const STRIPES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("the session ended before auth accepted the provisioning call")]
    SessionGone,
    #[error("auth refused this service's credential (check SERVICE_CREDENTIAL_FILE and AUTH_PROVISION_SERVICES)")]
    CredentialRejected,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("service database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("service database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

pub struct Provisioner {
    pool: Pool,
    auth: AuthClient,
    /// Auth's `has<Service>Account` flag of this service, named once.
    account_flag: String,
    provisioned: Mutex<HashSet<String>>,
    first_calls: Vec<tokio::sync::Mutex<()>>,
    stripe_of: RandomState,
    /// Provisioning failing is logged when that starts and when it ends: while auth or the
    /// service's database is down, or auth refuses the service's credential, every user's first
    /// call (every call, for a refused credential) fails.
    failures: Outage,
}

impl Provisioner {
    pub fn new(pool: Pool, auth: AuthClient) -> Self {
        Provisioner {
            pool,
            account_flag: crate::auth::service_account_flag(auth.service()),
            auth,
            provisioned: Mutex::new(HashSet::new()),
            first_calls: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            stripe_of: RandomState::new(),
            failures: Outage::new("provisioning"),
        }
    }

    fn remembered(&self, user_id: &str) -> bool {
        self.provisioned
            .lock()
            .expect("provisioned set")
            .contains(user_id)
    }

    /// The flag auth's user object carries for this service (`hasCoreAccount`).
    pub(crate) fn account_flag(&self) -> &str {
        &self.account_flag
    }

    /// Makes sure `user_id` is provisioned; `cookie` is the caller's cookie header, forwarded to
    /// auth unchanged as proof of the user.
    pub async fn ensure(&self, user_id: &str, cookie: &str) -> Result<(), ProvisionError> {
        let result = self.ensure_once(user_id, cookie).await;
        match &result {
            // The user's doing (signed out meanwhile), not a failure of the service's.
            Err(ProvisionError::SessionGone) => {}
            outcome => self.failures.note_outcome(outcome),
        }
        result
    }

    async fn ensure_once(&self, user_id: &str, cookie: &str) -> Result<(), ProvisionError> {
        if self.remembered(user_id) {
            return Ok(());
        }
        let stripe = self.stripe_of.hash_one(user_id) as usize % STRIPES;
        let _first_call = self.first_calls[stripe].lock().await;
        // Provisioned while this call waited.
        if self.remembered(user_id) {
            return Ok(());
        }
        let mut client = self.pool.get().await?;
        let already = client
            .query_opt(
                "SELECT provisioned_at IS NOT NULL FROM stackr_user WHERE user_id = $1",
                &[&user_id],
            )
            .await?
            .is_some_and(|row| row.get::<_, bool>(0));
        if !already {
            let tx = client.transaction().await?;
            tx.execute(
                "INSERT INTO stackr_user (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING",
                &[&user_id],
            )
            .await?;
            let done: bool = tx
                .query_one(
                    "SELECT provisioned_at IS NOT NULL FROM stackr_user WHERE user_id = $1 FOR UPDATE",
                    &[&user_id],
                )
                .await?
                .get(0);
            if !done {
                match self.auth.provision(cookie).await? {
                    ProvisionOutcome::Provisioned => {}
                    ProvisionOutcome::NoSession => return Err(ProvisionError::SessionGone),
                    ProvisionOutcome::CredentialRejected => {
                        return Err(ProvisionError::CredentialRejected)
                    }
                }
                tx.execute(
                    "UPDATE stackr_user SET provisioned_at = now() WHERE user_id = $1",
                    &[&user_id],
                )
                .await?;
                tracing::info!(
                    user_id,
                    service = self.auth.service(),
                    "provisioned user and told auth"
                );
            }
            tx.commit().await?;
        }
        self.remember(user_id);
        Ok(())
    }

    fn remember(&self, user_id: &str) {
        let mut set = self.provisioned.lock().expect("provisioned set");
        if set.len() >= REMEMBERED_USERS_CAP {
            set.clear();
        }
        set.insert(user_id.to_owned());
    }
}
