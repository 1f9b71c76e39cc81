//! Redis calls made again while Redis comes back. A restart drops every connection, and the
//! first command on each then fails once; Node's client (ioredis) queues commands while it
//! connects again, so on Node's worker such calls wait instead of failing. These wait as
//! start-up waits for Redis: [`while_redis_comes_back`].

use std::time::{Duration, Instant};

use crate::redis_conn::may_come_up;

pub(crate) struct Retry {
    deadline: Instant,
    pause: Duration,
}

impl Retry {
    pub(crate) fn new() -> Self {
        Retry {
            deadline: Instant::now() + stackr_contract::STARTUP_WAIT,
            pause: Duration::from_millis(50),
        }
    }

    /// Whether a call that failed with `e` is worth making again: Redis may be coming back, and
    /// start-up's wait has not passed.
    pub(crate) fn worth_it(&self, e: &redis::RedisError) -> bool {
        may_come_up(e) && Instant::now() < self.deadline
    }

    /// Waits before the next call, twice as long each time, up to a second.
    pub(crate) async fn pause(&mut self) {
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(Duration::from_secs(1));
    }
}

/// Awaits `call` (an expression making the future of a `RedisResult`), made again while Redis
/// comes back: see [`Retry`].
macro_rules! while_redis_comes_back {
    ($call:expr) => {{
        let mut retry = $crate::worker::redis_retry::Retry::new();
        loop {
            let outcome = $call.await;
            match &outcome {
                Err(e) if retry.worth_it(e) => retry.pause().await,
                _ => break outcome,
            }
        }
    }};
}
pub(crate) use while_redis_comes_back;
