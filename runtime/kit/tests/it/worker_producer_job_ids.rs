//! Custom job ids that belong to the queue itself. Those naming one of its keys: a job's hash is
//! stored at `<prefix>:<queue>:<job id>`, where the queue keeps its lists and sets (`wait`,
//! `active`, `marker`, `completed`, …); BullMQ's add script writes the job's hash there before it
//! pushes the job, so one add with the id `wait` or `marker` leaves a hash in the queue's place
//! and every later add fails (WRONGTYPE), `active` stops every fetch, `completed` every
//! completion, `stalled` every stalled check. And those of a job scheduler's iterations (below).
//! Node's `Queue.add` accepts all of them; an API that passes its callers' ids (an idempotency
//! key) must not let one caller stop the queue, or a schedule, for everyone.

use crate::worker_support;

use redis::AsyncCommands;
use serde_json::json;
use stackr_kit::worker::{Handlers, Job, JobError, JobOptions, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_id_naming_a_key_of_the_queue_is_refused_and_the_queue_goes_on() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    let mut conn = redis_conn(&redis.url()).await;

    let names = node("queue_keys.js", &[], &queue);
    let queue_keys: Vec<String> = serde_json::from_str(names.trim()).expect("a JSON array");
    assert!(queue_keys.len() > 10, "{queue_keys:?}");
    for id in &queue_keys {
        let refused = producer
            .add_with("echo", json!({}), JobOptions::new().job_id(id.as_str()))
            .await;
        let message = refused
            .expect_err(&format!("job id {id:?} added"))
            .to_string();
        assert!(
            message.contains(&format!("{id:?}")) && message.contains("queue's own keys"),
            "{id}: {message}"
        );
        let key = format!("bull:core:{id}");
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        // `meta` is a hash of the queue's own; a job's always has `data`.
        let job_stored = kind == "hash" && conn.hexists(&key, "data").await.unwrap();
        assert!(!job_stored, "a job's hash took the queue's key {id:?}");
    }

    // Ids that only contain such a name are ids like any other.
    let custom = producer
        .add_with("echo", json!({}), JobOptions::new().job_id("wait-list"))
        .await
        .expect("an ordinary custom id");
    let plain = producer
        .add("echo", json!({}))
        .await
        .expect("the queue takes jobs");
    let handlers = Handlers::new().on("echo", |_job: Job| async { Ok::<_, JobError>(json!(1)) });
    run_until_in_set(
        fast_worker_config(queue, 2),
        handlers,
        &conn,
        "completed",
        &[custom, plain],
    )
    .await;
    let failed: usize = conn.zcard("bull:core:failed").await.unwrap();
    assert_eq!(failed, 0);
}

/// A job scheduler's iterations have the ids `repeat:<scheduler id>:<time in ms>`, and a cron
/// scheduler's times are known in advance. A job added first under the id of a coming
/// iteration takes its place: Node's `upsertJobScheduler` then fails ("job ID already exists")
/// and the job runs at the scheduled time, under the name and with the data its adder chose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_id_of_a_job_schedulers_iteration_is_refused() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "core");
    let producer = Producer::new(queue.clone());
    let mut conn = redis_conn(&redis.url()).await;

    let minute = 60_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // The next two whole minutes: `0 * * * * *`'s first iteration comes at one of them.
    let next = now.div_ceil(minute) * minute;
    for at in [next, next + minute] {
        let id = format!("repeat:nightly:{at}");
        let taken = JobOptions::new()
            .job_id(id.as_str())
            .delay(std::time::Duration::from_millis(at - now));
        let refused = producer
            .add_with("nightly", json!({ "to": "someone else" }), taken)
            .await;
        let message = refused
            .expect_err(&format!("job id {id:?} added"))
            .to_string();
        assert!(message.contains("job scheduler"), "{id}: {message}");
        let stored: bool = conn.exists(format!("bull:core:{id}")).await.unwrap();
        assert!(!stored, "{id} stored");
    }

    let upsert = json!([{
        "id": "nightly",
        "repeat": { "pattern": "0 * * * * *" },
        "template": { "name": "nightly", "data": { "to": "everyone" } }
    }]);
    let out = node("schedulers.js", &["upsert", &upsert.to_string()], &queue);
    assert!(out.contains("repeat:nightly:"), "{out}");
}
