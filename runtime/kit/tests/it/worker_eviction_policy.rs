//! A Redis that may evict keys under memory pressure (`maxmemory-policy` other than
//! `noeviction`) can drop a job, its lock or the queue's own keys: jobs lost, or run twice.
//! BullMQ requires `noeviction`, and Node's Queue and Worker warn when they connect to a Redis
//! set otherwise ("IMPORTANT! Eviction policy is …"); an operator who set a service's Redis up
//! as a cache must hear it from this worker too.

use crate::worker_support;

use stackr_testkit::TempRedis;
use worker_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_on_a_redis_that_may_evict_keys_says_so() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let mut conn = redis_conn(&redis.url()).await;
    let logs = |conn: redis::aio::MultiplexedConnection| {
        let queue = queue.clone();
        async move {
            let child = fixture_command(&queue, &[])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            wait_until_blocked_on_empty_queue(&conn).await;
            sigterm(&child);
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "{output:?}");
            String::from_utf8_lossy(&output.stderr).into_owned()
        }
    };

    let quiet = logs(conn.clone()).await;
    assert!(!quiet.contains("maxmemory-policy"), "{quiet}");

    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .query_async(&mut conn)
        .await
        .unwrap();
    let warned = logs(conn.clone()).await;
    let warning = warned
        .lines()
        .find(|line| line.contains("maxmemory-policy"))
        .unwrap_or_else(|| panic!("no warning in: {warned}"));
    assert!(
        warning.contains("WARN")
            && warning.contains("allkeys-lru")
            && warning.contains("noeviction"),
        "{warning}"
    );
}
