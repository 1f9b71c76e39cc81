//! Crash safety: the worker process is killed with SIGKILL in the middle of jobs, restarted, and
//! the stalled check recovers what it was running, starting with the check a worker runs as it
//! starts. Of 1,000 jobs none is lost, none is completed twice, and only jobs that were in
//! flight at the kill ran more than once.

use crate::worker_support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use redis::AsyncCommands;
use serde_json::json;
use stackr_kit::worker::{self, Handlers, Job, JobError, Producer};
use stackr_testkit::TempRedis;
use worker_support::*;

const JOBS: usize = 1_000;

/// Waits until `count` jobs of the crash queue are completed.
async fn completed_at_least(
    conn: &redis::aio::MultiplexedConnection,
    count: usize,
    within: Duration,
    when: &str,
) {
    eventually(within, &format!("{count} jobs completed {when}"), || {
        let mut conn = conn.clone();
        async move {
            let completed = conn.zcard::<_, usize>("bull:crash:completed").await;
            at_least(completed.unwrap(), count, "completed")
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_job_loses_nothing_and_completes_nothing_twice() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "crash");
    let mut conn = redis_conn(&redis.url()).await;
    let producer = Producer::new(queue.clone());
    let bulk = (0..JOBS)
        .map(|_| bullmq::BulkJob::new("work", json!({ "ms": 40 })))
        .collect::<Vec<_>>();
    let ids: Vec<String> = producer
        .queue()
        .await
        .unwrap()
        .add_bulk(bulk)
        .await
        .unwrap()
        .iter()
        .map(|job| job.id().to_string())
        .collect();
    assert_eq!(ids.len(), JOBS);

    // Short lock and stalled interval so the restarted worker recovers within seconds.
    let env = [
        ("WORKER_CONCURRENCY", "25"),
        ("WORKER_LOCK_DURATION_MS", "2000"),
        ("WORKER_STALLED_INTERVAL_MS", "1000"),
    ];
    let mut first = fixture_command(&queue, &env)
        .spawn()
        .expect("start worker fixture");
    completed_at_least(&conn, 300, Duration::from_secs(120), "by the first worker").await;
    first.kill().expect("SIGKILL the worker"); // std's kill is SIGKILL on Unix
    first.wait().unwrap();

    let in_flight_at_kill: HashSet<String> = conn.lrange("bull:crash:active", 0, -1).await.unwrap();
    assert!(
        !in_flight_at_kill.is_empty(),
        "the kill should have interrupted running jobs"
    );

    let mut second = fixture_command(&queue, &env)
        .spawn()
        .expect("restart worker fixture");
    completed_at_least(&conn, JOBS, Duration::from_secs(180), "after the restart").await;
    sigterm(&second);
    assert!(wait_exit(&mut second, Duration::from_secs(60)).success());

    // Nothing lost, nothing left anywhere else.
    assert_eq!(
        conn.zcard::<_, usize>("bull:crash:completed")
            .await
            .unwrap(),
        JOBS
    );
    assert_eq!(
        conn.zcard::<_, usize>("bull:crash:failed").await.unwrap(),
        0
    );
    assert_eq!(conn.llen::<_, usize>("bull:crash:wait").await.unwrap(), 0);
    assert_eq!(conn.llen::<_, usize>("bull:crash:active").await.unwrap(), 0);

    // Completed exactly once each: count the `completed` events moveToFinished writes atomically
    // with the state change, and check every job's own return value.
    let events: Vec<(String, HashMap<String, String>)> =
        stream_entries(&mut conn, "bull:crash:events").await;
    let mut completions: HashMap<String, usize> = HashMap::new();
    let mut stalled: HashSet<String> = HashSet::new();
    for (_, fields) in &events {
        match fields.get("event").map(String::as_str) {
            Some("completed") => *completions.entry(fields["jobId"].clone()).or_default() += 1,
            Some("stalled") => {
                stalled.insert(fields["jobId"].clone());
            }
            _ => {}
        }
    }
    for id in &ids {
        assert_eq!(completions.get(id), Some(&1), "job {id} completions");
        let returned: String = conn
            .hget(format!("bull:crash:{id}"), "returnvalue")
            .await
            .unwrap();
        assert_eq!(returned, json!({ "id": id }).to_string());
    }

    // Every handler ran at least once; only interrupted jobs ran again.
    let mut reruns = HashSet::new();
    for id in &ids {
        let executions = fixture_executions(&mut conn, id).await;
        assert!(executions >= 1, "job {id} never ran");
        if executions > 1 {
            assert_eq!(executions, 2, "job {id} ran {executions} times");
            reruns.insert(id.clone());
        }
    }
    assert!(
        reruns.is_subset(&in_flight_at_kill),
        "re-executed jobs that were not in flight at the kill: {:?}",
        reruns.difference(&in_flight_at_kill).collect::<Vec<_>>()
    );
    // The interrupted jobs came back through the stalled check, once.
    assert_eq!(
        stalled, in_flight_at_kill,
        "stalled events vs jobs in flight at the kill"
    );
    for id in &in_flight_at_kill {
        let stalled_count: u32 = conn.hget(format!("bull:crash:{id}"), "stc").await.unwrap();
        assert_eq!(stalled_count, 1, "job {id}");
    }
    eprintln!(
        "{} jobs in flight at the kill, {} re-executed, all {JOBS} completed once",
        in_flight_at_kill.len(),
        reruns.len()
    );
}

async fn stream_entries(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
) -> Vec<(String, HashMap<String, String>)> {
    let reply: redis::streams::StreamRangeReply = conn.xrange_all(key).await.unwrap();
    reply
        .ids
        .into_iter()
        .map(|entry| {
            let fields = entry
                .map
                .into_iter()
                .map(|(k, v)| (k, redis::from_redis_value::<String>(v).unwrap()))
                .collect();
            (entry.id, fields)
        })
        .collect()
}

/// Node's worker runs a stalled check as it starts, so a worker started after a crash takes the
/// dead worker's job back at once, not one stalled interval (here 2 minutes) later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_worker_takes_back_a_dead_workers_job_as_it_starts() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "restart");
    let conn = redis_conn(&redis.url()).await;
    let id = Producer::new(queue.clone())
        .add("work", json!({ "ms": 600_000 }))
        .await
        .unwrap();
    let stalled_set = "bull:restart:stalled";
    let lock = format!("bull:restart:{id}:lock");

    // Checks every 200 ms, lock renewals (which take the job out of the checks' snapshot) every
    // 2 s: the job is in the snapshot most of the time.
    let env = [
        ("WORKER_CONCURRENCY", "1"),
        ("WORKER_LOCK_DURATION_MS", "4000"),
        ("WORKER_STALLED_INTERVAL_MS", "200"),
    ];
    let mut dead = KillOnDrop(
        fixture_command(&queue, &env)
            .spawn()
            .expect("start fixture"),
    );
    let in_snapshot = redis::cmd("SISMEMBER").arg(stalled_set).arg(&id).clone();
    redis_answers(
        &conn,
        "the job in the stalled checks' snapshot",
        in_snapshot,
        true,
    )
    .await;
    dead.0.kill().expect("SIGKILL the worker");
    dead.0.wait().unwrap();
    // A renewal may have taken it out of the snapshot just before the kill; the dead worker's
    // next check would have put it back.
    let _: i64 = conn.clone().sadd(stalled_set, &id).await.unwrap();
    let lock_held = redis::cmd("EXISTS").arg(&lock).clone();
    redis_answers(&conn, "the dead worker's lock expired", lock_held, false).await;

    let mut config = fast_worker_config(queue.clone(), 1);
    config.stalled_interval = Duration::from_secs(120);
    let handlers = Handlers::new().on("work", |_job: Job| async move {
        Ok::<_, JobError>(json!("recovered"))
    });
    let running = worker::start(config, handlers).await.unwrap();
    let jobs = node_wait_finished(&queue, std::slice::from_ref(&id), Duration::from_secs(60));
    running.shutdown().await.unwrap();

    assert_eq!(jobs[0]["state"], "completed", "{:#}", jobs[0]);
    assert_eq!(jobs[0]["returnvalue"], "recovered");
    let stalls: Option<i64> = conn
        .clone()
        .hget(format!("bull:restart:{id}"), "stc")
        .await
        .unwrap();
    assert_eq!(stalls, Some(1), "taken back by a stalled check, once");
}

/// Waits until the yes/no `command` answers `wanted`.
async fn redis_answers(
    conn: &redis::aio::MultiplexedConnection,
    what: &str,
    command: redis::Cmd,
    wanted: bool,
) {
    eventually(Duration::from_secs(60), what, || {
        let mut conn = conn.clone();
        let command = command.clone();
        async move {
            let answer: bool = command.query_async(&mut conn).await.unwrap();
            if answer == wanted {
                Ok(())
            } else {
                Err(format!("{answer}"))
            }
        }
    })
    .await;
}
