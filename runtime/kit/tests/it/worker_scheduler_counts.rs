//! A job scheduler's iteration count (`repeat.count` in the job's options) is whatever the job's
//! hash says: one at the largest value a count can hold still runs and completes like any other
//! iteration, instead of crashing its processing (counting the iteration after it overflows)
//! and holding up shutdown.

use crate::worker_support;

use std::time::{SystemTime, UNIX_EPOCH};

use redis::AsyncCommands;
use serde_json::json;
use stackr_kit::worker::{Handlers, Job, JobError, JobOptions, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iteration_at_the_largest_count_still_completes() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    let mut conn = redis_conn(&redis.url()).await;
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut ids = Vec::new();
    // One scheduler whose limit ends it with this iteration, one without a limit.
    for (scheduler, limit) in [("limited", Some(5)), ("unlimited", None)] {
        let _: () = conn
            .zadd("bull:core:repeat", scheduler, millis)
            .await
            .unwrap();
        let _: () = conn
            .hset_multiple(
                format!("bull:core:repeat:{scheduler}"),
                &[("name", "tick"), ("every", "60000"), ("ic", "1")],
            )
            .await
            .unwrap();
        let id = format!("repeat:{scheduler}:{millis}");
        let options = JobOptions::new().attempts(1).job_id(&id);
        // bullmq-official's own add: the producer refuses an iteration's id from its callers.
        let queue = producer.queue().await.unwrap();
        queue.add("tick", json!({})).options(options).await.unwrap();
        let mut repeat = json!({"every": 60000, "count": u64::MAX});
        if let Some(limit) = limit {
            repeat["limit"] = json!(limit);
        }
        let options = json!({"attempts": 1, "repeat": repeat}).to_string();
        let _: () = conn
            .hset_multiple(
                format!("bull:core:{id}"),
                &[("opts", options.as_str()), ("rjk", scheduler)],
            )
            .await
            .unwrap();
        ids.push(id);
    }

    let handlers = Handlers::new().on("tick", |_: Job| async {
        Ok::<_, JobError>(json!("ticked"))
    });
    run_until_in_set(
        fast_worker_config(queue, 2),
        handlers,
        &conn,
        "completed",
        &ids,
    )
    .await;
}
