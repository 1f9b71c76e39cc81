//! A worker whose queue is empty sleeps until Redis answers: on a developer machine running 25
//! services, 25 idle workers must not take a measurable share of a core between them.

use crate::worker_support;

use std::time::Duration;

use stackr_testkit::TempRedis;
use worker_support::*;

/// Context switches of every thread of `pid` so far: each wake-up of a thread is one.
fn wakeups(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the worker runs");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

#[tokio::test]
async fn an_idle_worker_sleeps() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let worker = KillOnDrop(fixture_command(&queue, &[]).spawn().unwrap());
    let conn = redis_conn(&redis.url()).await;
    wait_until_blocked_on_empty_queue(&conn).await;

    // Counting what does not happen needs a window: three seconds of an empty queue, in which the
    // worker's blocking read returns at most once (it blocks for 5 s) and its periodic checks run
    // every 30 s. A timer polling every 50 ms would wake it 60 times.
    let before = wakeups(worker.0.id());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let woke = wakeups(worker.0.id()) - before;
    assert!(woke < 30, "the idle worker woke up {woke} times in 3 s");
}
