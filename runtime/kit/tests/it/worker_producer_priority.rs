//! Priorities above BullMQ's limit (2^21 - 1), which Node's `Queue.add` refuses: BullMQ's
//! scripts order prioritized jobs by `priority × 2^32 + a counter`, and above the limit that sum
//! outgrows what a Lua number holds exactly, so jobs of one priority no longer run in the order
//! they were added.

use crate::worker_support;

use redis::AsyncCommands;
use serde_json::json;
use stackr_kit::worker::{JobOptions, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

const PRIORITY_LIMIT: u32 = (1 << 21) - 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_priority_above_bullmqs_limit_is_refused_as_node_refuses_it() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue);
    let mut conn = redis_conn(&redis.url()).await;

    let at_limit = JobOptions::new().priority(PRIORITY_LIMIT);
    producer
        .add_with("report", json!({}), at_limit)
        .await
        .expect("the limit itself is a priority");
    for priority in [PRIORITY_LIMIT + 1, u32::MAX] {
        let over = JobOptions::new().priority(priority);
        let refused = producer.add_with("report", json!({}), over).await;
        let message = refused.expect_err("added past the limit").to_string();
        assert!(
            message.contains(&format!(
                "Priority should be between 0 and {PRIORITY_LIMIT}"
            )),
            "{message}"
        );
    }
    let prioritized: usize = conn.zcard("bull:core:prioritized").await.unwrap();
    assert_eq!(prioritized, 1, "a refused job was stored");
}
