//! A per-account budget of password attempts, on top of the per-IP limits (which an attacker with
//! many addresses simply spreads out over). A budget is named by a key: the normalised email, or
//! one of its known devices (see `crate::known_device`), which have budgets of their own.
//!
//! Every sign-in attempt for an email address takes one unit of its budget *before* the password
//! is checked (under one lock, so concurrent guesses cannot overdraw it); a successful sign-in
//! gives the budget back. Once `BUDGET` attempts have failed in a row, the account takes no
//! further attempt for `LOCK` after the last one, and then one at a time, each failure locking
//! it again. A refused attempt is answered exactly like a wrong password, after the same work,
//! so the lock reveals nothing about whether the account exists (unknown addresses are throttled
//! the same way). Counters live in memory, like the per-IP limits: one auth process is the
//! trust anchor.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::pruned_map::PrunedMap;

/// Failed attempts in a row before the account locks.
pub const BUDGET: u32 = 10;
/// How long a locked account refuses every attempt.
pub const LOCK: Duration = Duration::from_secs(15 * 60);
/// A run of failures is forgotten after this long without attempts.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);
/// From this many tracked addresses on, runs idle longer than the lock are pruned (except those
/// that used up their budget), so made-up addresses do not pile up in memory.
const MAX_KEYS: usize = 100_000;

struct Run {
    attempts: u32,
    last: Instant,
}

pub struct AccountThrottle {
    runs: Mutex<PrunedMap<Run>>,
}

impl Default for AccountThrottle {
    fn default() -> Self {
        AccountThrottle {
            runs: Mutex::new(PrunedMap::new(MAX_KEYS)),
        }
    }
}

impl AccountThrottle {
    /// Takes one attempt from the budget `key`; `false` while it is locked.
    pub fn try_attempt(&self, key: &str, now: Instant) -> bool {
        let mut runs = self
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget runs idle past the lock, but never a run that used up its budget: forgetting it
        // would hand whoever floods the table with made-up addresses a fresh budget.
        runs.prune_if_full(|_, r| {
            let idle = now.duration_since(r.last);
            idle < LOCK || (r.attempts >= BUDGET && idle < FORGET_AFTER)
        });
        let run = runs.entry(key.to_owned()).or_insert(Run {
            attempts: 0,
            last: now,
        });
        let idle = now.duration_since(run.last);
        if idle >= FORGET_AFTER {
            run.attempts = 0;
        }
        if run.attempts >= BUDGET && idle < LOCK {
            return false;
        }
        run.attempts = run.attempts.saturating_add(1);
        run.last = now;
        true
    }

    /// The attempt on the budget `key` succeeded: its run of failures is over.
    pub fn succeeded(&self, key: &str) {
        let mut runs = self
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        runs.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_budget_then_allows_one_attempt_per_lock() {
        let t = AccountThrottle::default();
        let t0 = Instant::now();
        for _ in 0..BUDGET {
            assert!(t.try_attempt("a@x.io", t0));
        }
        assert!(!t.try_attempt("a@x.io", t0));
        assert!(t.try_attempt("b@x.io", t0), "other accounts are unaffected");
        assert!(t.try_attempt("a@x.io", t0 + LOCK));
        assert!(!t.try_attempt("a@x.io", t0 + LOCK + Duration::from_secs(1)));
        t.succeeded("a@x.io");
        assert!(t.try_attempt("a@x.io", t0 + LOCK + Duration::from_secs(2)));
    }

    #[test]
    fn a_flood_of_made_up_addresses_does_not_give_a_locked_account_a_new_budget() {
        let t = AccountThrottle::default();
        let t0 = Instant::now();
        for _ in 0..BUDGET {
            assert!(t.try_attempt("victim@x.io", t0));
        }
        // Past the lock the account takes one attempt at a time; the guesser first fills the
        // table with made-up addresses so that pruning runs.
        let later = t0 + LOCK + Duration::from_secs(1);
        for n in 0..MAX_KEYS {
            t.try_attempt(&format!("made-up-{n}@x.io"), later);
        }
        assert!(t.try_attempt("victim@x.io", later));
        assert!(
            !t.try_attempt("victim@x.io", later),
            "a second attempt in a row: the run was forgotten"
        );
    }
}
