//! Work a request does after its answer, bounded in how much of it runs at once.
//!
//! `change-email` and the opening of its confirmation link answer before finding out whether
//! the new address has an account, so that the answer's time does not tell (see
//! `routes::change_email`). The rest (a look-up, a mail budget drawn on, a link made and mailed)
//! runs in a task of its own, each holding a database connection while it does. Bounded by the
//! rate limits alone (per client address: a client with many addresses has as many budgets), a
//! flood of such requests piled up tasks without end, and while the database was slow they held
//! every connection of the pool that answers take theirs from. At most a quarter of the pool's size
//! (at least one) run at once; a request that would start one more is refused with the rate
//! limiter's answer, before anything about the address is read, so its own answer does not
//! depend on the address. How long a task holds its place does (an address without an account
//! costs more writes), which a client could read off another request's refusal while the bound
//! is full: a weak signal, bounded by the per-address rate limits and mail budgets. Doing the
//! work in the request instead would make its answer wait for exactly what the answer must not
//! wait for. Refusals are logged at warn when they start (and once a minute while they go on),
//! and when the work is taken again: an operator sees a bound too small for the instance's users,
//! and a flood of refused requests writes no line each.

use std::future::Future;
use std::sync::Arc;

use stackr_tls::outage::Outage;
use tokio::sync::Semaphore;

use crate::error::ApiResult;

/// The seconds a refused client is told to wait: the work it waits for takes milliseconds.
const RETRY_AFTER_SECS: u64 = 1;

pub struct AfterTheAnswer {
    permits: Arc<Semaphore>,
    bound: usize,
    /// Refusing work, and taking it again, said once each (see the module docs).
    refusals: Outage,
}

impl AfterTheAnswer {
    /// Bounded by the size of the database pool the work shares with the answers.
    pub fn new(pool_size: usize) -> Self {
        let bound = (pool_size / 4).max(1);
        AfterTheAnswer {
            permits: Arc::new(Semaphore::new(bound)),
            bound,
            refusals: Outage::new("the work after answers"),
        }
    }

    /// How many may run at once.
    pub fn bound(&self) -> usize {
        self.bound
    }

    /// Starts `work` (`what` names it in the log when it fails: the answer is the same whatever
    /// happens there), or answers `429` when as many as [`Self::bound`] are running.
    pub fn run(
        &self,
        what: &'static str,
        work: impl Future<Output = ApiResult<()>> + Send + 'static,
    ) -> ApiResult<()> {
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            self.refusals.note(Err(format!(
                "{what} refused with 429: {} already running, the most at once",
                self.bound
            )));
            return Err(crate::rate_limit::too_many_requests(RETRY_AFTER_SECS));
        };
        self.refusals.note(Ok::<(), String>(()));
        tokio::spawn(async move {
            if let Err(e) = work.await {
                tracing::warn!(error = ?e, what, "could not finish the work after an answer");
            }
            drop(permit);
        });
        Ok(())
    }
}
