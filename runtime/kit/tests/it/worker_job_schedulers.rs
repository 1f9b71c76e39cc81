//! Job schedulers (repeatable jobs) created with Node's `Queue.upsertJobScheduler`, consumed by
//! Node BullMQ 6.5.1's `Worker` on one queue (`by-node`) and by ours on another (`by-rust`) of
//! the same Redis, at the same time. Compared, as Node sees them (interop/bullmq/schedulers.js):
//! the jobs each scheduler produces (how many, names, data, ids `repeat:<scheduler id>:<millis>`,
//! options, outcome), the scheduler's stored state (`getJobScheduler`: iterationCount, next,
//! limit…), the queue's final counts, and that `removeJobScheduler` stops both workers.
//!
//! Both workers add a scheduler's next iteration when they fetch the current one; the module docs
//! of `stackr_kit::worker` list where they still differ, and the last test here shows one.
//!
//! Timing. Both queues get their schedulers from one Node process, one right after the other.
//! Iteration times (the `<millis>` of the ids) are compared by the shape the scheduler gives
//! them: `every` iterations are `every` apart, cron ones fall on the pattern's seconds. A worker
//! changes that shape only when it takes an iteration later than the next one is due, so the
//! intervals are a second or more, which a loaded machine does not reach. Counts are bounded by
//! `limit` wherever the case allows; the one unbounded case allows one iteration of difference
//! (the two first iterations are a few ms apart, and so are the two removals: either side of the
//! window may gain one). A Node-side check fails a test as "premise" rather than as a divergence
//! if Node's worker itself did not behave as the case expects. The tests take a lock so they run
//! one at a time: each runs a Node worker.

use crate::worker_support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use stackr_kit::worker::{self, QueueConfig, RunningWorker};
use stackr_testkit::TempRedis;
use worker_support::*;

const NODE_QUEUE: &str = "by-node";
const RUST_QUEUE: &str = "by-rust";

/// One test at a time (see the module docs).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Node's worker on `by-node` and ours on `by-rust`, on one Redis, both with the `by-name`
/// handlers (`run_worker.js by-name`, [`by_name_handlers`]).
struct Workers {
    redis_url: String,
    node: Option<KillOnDrop>,
    ours: Option<RunningWorker>,
}

impl Workers {
    async fn start(redis: &TempRedis) -> Self {
        let redis_url = redis.url();
        let node_queue = queue_config(&redis_url, NODE_QUEUE);
        let rust_queue = queue_config(&redis_url, RUST_QUEUE);
        let node = KillOnDrop(
            node_command("run_worker.js", &["by-name", "0"], &node_queue)
                .stdout(Stdio::null())
                .spawn()
                .expect("start Node's worker"),
        );
        let ours = worker::start(fast_worker_config(rust_queue, 4), by_name_handlers())
            .await
            .unwrap();
        // Both consume their (empty) queue before any scheduler exists.
        wait_until_blocked_on_empty_queues(&redis_conn(&redis_url).await, 2).await;
        Self {
            redis_url,
            node: Some(node),
            ours: Some(ours),
        }
    }

    fn queue(&self, name: &str) -> QueueConfig {
        queue_config(&self.redis_url, name)
    }

    async fn stop(mut self) {
        drop(self.node.take());
        if let Some(ours) = self.ours.take() {
            ours.shutdown().await.unwrap();
        }
    }
}

fn schedulers_js(queue: &QueueConfig, args: &[&str]) -> Value {
    let output = node_command("schedulers.js", args, queue)
        .output()
        .expect("run node schedulers.js");
    assert!(
        output.status.success(),
        "node schedulers.js {args:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("schedulers.js prints JSON")
}

/// `Queue.upsertJobScheduler` for each `{id, repeat, template}`, on both queues from one Node
/// process; returns `{<queue>: [first job id…]}`.
fn upsert_on_both(workers: &Workers, schedulers: &Value) -> Value {
    schedulers_js(
        &workers.queue(NODE_QUEUE),
        &["upsert", &schedulers.to_string(), NODE_QUEUE, RUST_QUEUE],
    )
}

/// `Queue.removeJobScheduler` for each id, on both queues from one Node process.
fn remove_on_both(workers: &Workers, ids: &[&str]) -> Value {
    schedulers_js(
        &workers.queue(NODE_QUEUE),
        &["remove", &json!(ids).to_string(), NODE_QUEUE, RUST_QUEUE],
    )
}

/// Every job of the queue (`{jobs, counts}`), as Node sees them.
fn all_jobs(queue: &QueueConfig) -> Value {
    schedulers_js(queue, &["jobs"])
}

/// `getJobScheduler` for each id (`{schedulers: {id: … | null}, count}`).
fn get_schedulers(queue: &QueueConfig, ids: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(ids);
    schedulers_js(queue, &args)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The jobs of scheduler `key` (by `repeatJobKey`), in iteration order.
fn jobs_of<'a>(all: &'a Value, key: &str) -> Vec<&'a Value> {
    let mut jobs: Vec<&Value> = all["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|job| job["repeatJobKey"] == key)
        .collect();
    jobs.sort_by_key(|job| millis_of(job, key));
    jobs
}

/// The `<millis>` of a job id `repeat:<key>:<millis>`; panics on any other id.
fn millis_of(job: &Value, key: &str) -> u64 {
    let id = job["id"].as_str().unwrap();
    id.strip_prefix(&format!("repeat:{key}:"))
        .and_then(|millis| millis.parse().ok())
        .unwrap_or_else(|| panic!("job id {id:?} is not Node's `repeat:{key}:<millis>`"))
}

fn millis_list(all: &Value, key: &str) -> Vec<u64> {
    jobs_of(all, key)
        .iter()
        .map(|job| millis_of(job, key))
        .collect()
}

fn states(all: &Value, key: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for job in jobs_of(all, key) {
        *counts
            .entry(job["state"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    counts
}

fn count_in(all: &Value, key: &str, wanted: &[&str]) -> usize {
    jobs_of(all, key)
        .iter()
        .filter(|job| wanted.contains(&job["state"].as_str().unwrap()))
        .count()
}

fn finished(all: &Value, key: &str) -> usize {
    count_in(all, key, &["completed", "failed"])
}

fn pending(all: &Value, key: &str) -> usize {
    count_in(all, key, &["waiting", "active", "prioritized"])
}

/// Differences between consecutive iteration times.
fn gaps(millis: &[u64]) -> Vec<u64> {
    millis.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Polls both queues until `done` holds on each, or `timeout`. Node's side must get there (the
/// premise of the comparison); ours not getting there is returned (`false`) for the caller to
/// report as a divergence.
async fn poll_both(
    workers: &Workers,
    timeout: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> (Value, Value, bool) {
    let deadline = Instant::now() + timeout;
    loop {
        let node = all_jobs(&workers.queue(NODE_QUEUE));
        let ours = all_jobs(&workers.queue(RUST_QUEUE));
        let (node_done, ours_done) = (done(&node), done(&ours));
        if node_done && ours_done {
            return (node, ours, true);
        }
        if Instant::now() >= deadline {
            assert!(
                node_done,
                "premise: Node's worker did not get to {what} within {timeout:?}: {node:#}"
            );
            return (node, ours, false);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Both queues' jobs and schedulers once each scheduler has made its last iteration.
struct Ended {
    node: Value,
    ours: Value,
    node_schedulers: Value,
    our_schedulers: Value,
    /// Whether ours got there (Node's must: the premise).
    ours_done: bool,
}

/// Waits until each scheduler of `expected` has finished its number of iterations with none
/// pending, on both queues, then 2.5 s more: an iteration past the last would show up by then.
async fn run_until_ended(workers: &Workers, expected: &[(&str, usize)]) -> Ended {
    let (_, _, ours_done) = poll_both(
        workers,
        Duration::from_secs(30),
        "every scheduler's last iteration",
        |all| {
            expected
                .iter()
                .all(|(key, n)| finished(all, key) >= *n && pending(all, key) == 0)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let keys: Vec<&str> = expected.iter().map(|(key, _)| *key).collect();
    Ended {
        node: all_jobs(&workers.queue(NODE_QUEUE)),
        ours: all_jobs(&workers.queue(RUST_QUEUE)),
        node_schedulers: get_schedulers(&workers.queue(NODE_QUEUE), &keys),
        our_schedulers: get_schedulers(&workers.queue(RUST_QUEUE), &keys),
        ours_done,
    }
}

/// Divergences of our worker from Node's, gathered so that one run reports them all.
#[derive(Default)]
struct Divergences(Vec<String>);

impl Divergences {
    /// Records a divergence when Node's value and ours differ.
    fn same(
        &mut self,
        what: impl std::fmt::Display,
        node: impl serde::Serialize,
        ours: impl serde::Serialize,
    ) {
        let (node, ours) = (json!(node), json!(ours));
        if node != ours {
            self.0
                .push(format!("{what}: Node's worker gives {node}, ours {ours}"));
        }
    }

    fn check(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.0.push(message());
        }
    }

    fn assert_none(self, case: &str) {
        assert!(
            self.0.is_empty(),
            "{case}: our worker diverges from Node's:\n  - {}",
            self.0.join("\n  - ")
        );
    }
}

/// The job fields a user sees, compared iteration by iteration.
fn compare_jobs(d: &mut Divergences, key: &str, node: &Value, ours: &Value) {
    d.same(
        format!("{key}: jobs by state"),
        states(node, key),
        states(ours, key),
    );
    let (node_jobs, our_jobs) = (jobs_of(node, key), jobs_of(ours, key));
    for (i, (n, o)) in node_jobs.iter().zip(&our_jobs).enumerate() {
        let at = format!("{key}: iteration {}", i + 1);
        for field in [
            "name",
            "data",
            "state",
            "attemptsMade",
            "returnvalue",
            "failedReason",
        ] {
            d.same(format!("{at} `{field}`"), &n[field], &o[field]);
        }
        for field in ["attempts", "backoff", "priority"] {
            d.same(
                format!("{at} opts.{field}"),
                &n["opts"][field],
                &o["opts"][field],
            );
        }
        let repeat = |job: &Value| {
            let mut repeat = job["opts"]["repeat"].clone();
            // Node's Lua derives `offset` from the first iteration's time, a few ms apart.
            if let Some(map) = repeat.as_object_mut() {
                map.remove("offset");
            }
            repeat
        };
        d.same(format!("{at} opts.repeat"), repeat(n), repeat(o));
        let entries = |job: &Value| job["stacktrace"].as_array().map_or(0, Vec::len);
        d.same(format!("{at} stacktrace entries"), entries(n), entries(o));
        d.same(
            format!("{at} log lines kept"),
            &n["logs"]["logs"],
            &o["logs"]["logs"],
        );
    }
}

/// The scheduler's stored state; its `next` must be its last iteration's time on each side.
fn compare_scheduler(
    d: &mut Divergences,
    key: &str,
    node: &Value,
    ours: &Value,
    node_jobs: &Value,
    our_jobs: &Value,
) {
    let (n, o) = (&node["schedulers"][key], &ours["schedulers"][key]);
    for field in [
        "name",
        "iterationCount",
        "limit",
        "every",
        "pattern",
        "startDate",
        "endDate",
        "tz",
        "template",
    ] {
        d.same(
            format!("{key}: getJobScheduler().{field}"),
            &n[field],
            &o[field],
        );
    }
    let last = |jobs: &Value| millis_list(jobs, key).last().copied();
    assert_eq!(
        n["next"].as_u64(),
        last(node_jobs),
        "premise: Node's scheduler {key} points at its last iteration: {n:#}"
    );
    d.check(o["next"].as_u64() == last(our_jobs), || {
        format!(
            "{key}: getJobScheduler().next is {} on ours, not its last iteration {:?}",
            o["next"],
            last(our_jobs)
        )
    });
    d.same(
        format!("{key}: getJobScheduler().iterationCount vs jobs made"),
        n["iterationCount"].as_u64() == Some(jobs_of(node_jobs, key).len() as u64),
        o["iterationCount"].as_u64() == Some(jobs_of(our_jobs, key).len() as u64),
    );
}

/// `limit`ed `every` and cron schedulers, one started `immediately`, one whose template retries
/// (attempts/backoff, a handler failing its first attempt): same jobs, same scheduler state,
/// same counts; removing them afterwards removes the pending iteration on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limited_schedulers_make_the_same_jobs_on_both_workers() {
    let _serial = SERIAL.lock().await;
    let redis = TempRedis::start();
    let workers = Workers::start(&redis).await;
    let schedulers = json!([
        { "id": "every-limit", "repeat": { "every": 1000, "limit": 3 },
          "template": { "name": "welcome", "data": { "case": "every-limit" } } },
        { "id": "cron-limit", "repeat": { "pattern": "*/2 * * * * *", "limit": 2 },
          "template": { "name": "welcome", "data": { "case": "cron-limit" } } },
        // The first iteration now, the second on 1 January (UTC): pending for the whole test.
        { "id": "immediately", "repeat": { "pattern": "0 0 0 1 1 *", "tz": "UTC", "immediately": true, "limit": 2 },
          "template": { "name": "welcome", "data": { "case": "immediately" } } },
        { "id": "retries", "repeat": { "every": 1500, "limit": 2 },
          "template": { "name": "fails-once", "data": { "case": "retries" },
                        "opts": { "attempts": 2, "backoff": { "type": "fixed", "delay": 100 } } } },
    ]);
    let keys = ["every-limit", "cron-limit", "immediately", "retries"];
    let upserted_at = now_ms();
    let first = upsert_on_both(&workers, &schedulers);
    assert!(
        first
            .as_object()
            .unwrap()
            .values()
            .flat_map(|ids| ids.as_array().unwrap())
            .all(Value::is_string),
        "every upsert made a first job: {first}"
    );

    let expected = [
        ("every-limit", 3),
        ("cron-limit", 2),
        ("immediately", 1),
        ("retries", 2),
    ];
    let Ended {
        node,
        ours,
        node_schedulers,
        our_schedulers,
        ours_done,
    } = run_until_ended(&workers, &expected).await;

    // Premises: what Node's worker does with these schedulers.
    assert_eq!(
        gaps(&millis_list(&node, "every-limit")),
        [1000, 1000],
        "{node:#}"
    );
    let node_cron = millis_list(&node, "cron-limit");
    assert!(
        node_cron.len() == 2
            && gaps(&node_cron) == [2000]
            && node_cron.iter().all(|m| m % 2000 == 0),
        "{node_cron:?}"
    );
    let node_immediately = millis_list(&node, "immediately");
    assert!(
        node_immediately.len() == 2
            && node_immediately[0] >= upserted_at
            && node_immediately[0] < upserted_at + 5_000,
        "{node_immediately:?} {upserted_at}"
    );

    let mut d = Divergences::default();
    d.check(ours_done, || {
        format!("our queue never reached the limits: {ours:#}")
    });
    for key in keys {
        compare_jobs(&mut d, key, &node, &ours);
        compare_scheduler(&mut d, key, &node_schedulers, &our_schedulers, &node, &ours);
    }
    d.same(
        "every-limit: gaps between iterations (ms)",
        gaps(&millis_list(&node, "every-limit")),
        gaps(&millis_list(&ours, "every-limit")),
    );
    let our_cron = millis_list(&ours, "cron-limit");
    d.check(
        our_cron.iter().all(|m| m % 2000 == 0) && gaps(&our_cron) == [2000],
        || format!("cron-limit: iterations not on consecutive even seconds: {our_cron:?}"),
    );
    d.same(
        "retries: gaps between iterations (ms)",
        gaps(&millis_list(&node, "retries")),
        gaps(&millis_list(&ours, "retries")),
    );
    // Same pattern and tz: the second iteration is the same instant on both queues.
    d.same(
        "immediately: second iteration time",
        node_immediately[1],
        millis_list(&ours, "immediately")
            .get(1)
            .copied()
            .unwrap_or(0),
    );
    d.same("queue counts", &node["counts"], &ours["counts"]);
    d.same(
        "getJobSchedulersCount",
        &node_schedulers["count"],
        &our_schedulers["count"],
    );

    // Removing the schedulers removes the iteration still pending (immediately's second).
    let removed = remove_on_both(&workers, &keys);
    d.same(
        "removeJobScheduler answers",
        &removed[NODE_QUEUE],
        &removed[RUST_QUEUE],
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let node_after = all_jobs(&workers.queue(NODE_QUEUE));
    let ours_after = all_jobs(&workers.queue(RUST_QUEUE));
    d.same(
        "queue counts after removeJobScheduler",
        &node_after["counts"],
        &ours_after["counts"],
    );
    assert_eq!(
        node_after["counts"]["delayed"], 0,
        "premise: {node_after:#}"
    );
    workers.stop().await;
    d.assert_none("limited schedulers");
}

/// An `every` scheduler without limit, watched for 4.5 s, then removed: each worker runs every
/// iteration (no gap in the ids), at the same pace (±1, see the module docs), and none after the
/// removal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlimited_every_scheduler_keeps_its_pace_and_stops_when_removed() {
    let _serial = SERIAL.lock().await;
    let redis = TempRedis::start();
    let workers = Workers::start(&redis).await;
    let every = 1000;
    upsert_on_both(
        &workers,
        &json!([{ "id": "pace", "repeat": { "every": every },
                  "template": { "name": "welcome", "data": { "case": "pace" } } }]),
    );
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    let removed = remove_on_both(&workers, &["pace"]);
    assert_eq!(removed, json!({ NODE_QUEUE: [true], RUST_QUEUE: [true] }));
    // A job running at the removal finishes; then nothing may change for 4 × `every`.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let node = all_jobs(&workers.queue(NODE_QUEUE));
    let ours = all_jobs(&workers.queue(RUST_QUEUE));
    tokio::time::sleep(Duration::from_millis(4 * every)).await;
    let node_later = all_jobs(&workers.queue(NODE_QUEUE));
    let ours_later = all_jobs(&workers.queue(RUST_QUEUE));
    let node_schedulers = get_schedulers(&workers.queue(NODE_QUEUE), &["pace"]);
    let our_schedulers = get_schedulers(&workers.queue(RUST_QUEUE), &["pace"]);
    workers.stop().await;

    let node_millis = millis_list(&node, "pace");
    assert!(
        node_millis.len() >= 4 && gaps(&node_millis).iter().all(|g| *g == every),
        "premise: Node's worker ran every {every} ms iteration: {node_millis:?}"
    );
    assert_eq!(
        node_later, node,
        "premise: nothing ran on Node's queue after the removal"
    );
    assert_eq!(
        node_schedulers,
        json!({ "schedulers": { "pace": null }, "count": 0 })
    );

    let mut d = Divergences::default();
    let our_millis = millis_list(&ours, "pace");
    d.check(gaps(&our_millis).iter().all(|g| *g == every), || {
        format!("pace: iterations skipped: ids {our_millis:?}, Node's {node_millis:?}")
    });
    d.check(node_millis.len().abs_diff(our_millis.len()) <= 1, || {
        format!(
            "pace: {} iterations on Node's worker, {} on ours in the same window",
            node_millis.len(),
            our_millis.len()
        )
    });
    d.check(
        states(&ours, "pace").keys().all(|s| s == "completed"),
        || format!("pace: jobs left after removal: {:?}", states(&ours, "pace")),
    );
    d.check(ours_later == ours, || {
        format!(
            "pace: jobs ran on ours after removeJobScheduler: {:?} then {:?}",
            our_millis,
            millis_list(&ours_later, "pace")
        )
    });
    d.same(
        "getJobScheduler after removal",
        &node_schedulers,
        &our_schedulers,
    );
    d.same(
        "queue counts",
        &node["counts"]["delayed"],
        &ours["counts"]["delayed"],
    );
    d.assert_none("unlimited every scheduler");
}

/// The template's job options on every iteration: Node copies all of them (and `timestamp`,
/// `prevMillis`) into the next iteration; here with visible effects, `keepLogs` (log lines kept)
/// and `stackTraceLimit` (stack entries kept), and others compared as stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_iteration_has_the_templates_options() {
    let _serial = SERIAL.lock().await;
    let redis = TempRedis::start();
    let workers = Workers::start(&redis).await;
    let logs: Vec<String> = (1..=5).map(|n| format!("line {n}")).collect();
    let schedulers = json!([
        { "id": "keep-logs", "repeat": { "every": 1000, "limit": 2 },
          "template": { "name": "reports", "data": { "logs": logs }, "opts": { "keepLogs": 2 } } },
        { "id": "stack-limit", "repeat": { "every": 1000, "limit": 2 },
          "template": { "name": "always-fails", "data": {},
                        "opts": { "attempts": 3, "backoff": { "type": "fixed", "delay": 50 }, "stackTraceLimit": 1 } } },
        { "id": "other-opts", "repeat": { "pattern": "*/2 * * * * *", "limit": 2 },
          "template": { "name": "welcome", "data": {},
                        "opts": { "priority": 3, "removeOnComplete": { "age": 3600 }, "removeOnFail": { "age": 3600 } } } },
        { "id": "lifo", "repeat": { "every": 1000, "limit": 2 },
          "template": { "name": "welcome", "data": {}, "opts": { "lifo": true, "attempts": 2 } } },
    ]);
    let keys = ["keep-logs", "stack-limit", "other-opts", "lifo"];
    upsert_on_both(&workers, &schedulers);
    let (node, ours, ours_done) = poll_both(
        &workers,
        Duration::from_secs(30),
        "two iterations of each",
        |all| {
            keys.iter()
                .all(|key| finished(all, key) >= 2 && pending(all, key) == 0)
        },
    )
    .await;
    workers.stop().await;

    let mut d = Divergences::default();
    d.check(ours_done, || format!("ours did not finish: {ours:#}"));
    for key in keys {
        compare_jobs(&mut d, key, &node, &ours);
        for (i, (n, o)) in jobs_of(&node, key)
            .iter()
            .zip(jobs_of(&ours, key))
            .enumerate()
        {
            let names = |job: &Value| -> BTreeSet<String> {
                job["opts"].as_object().unwrap().keys().cloned().collect()
            };
            let missing: Vec<String> = names(n).difference(&names(o)).cloned().collect();
            let extra: Vec<String> = names(o).difference(&names(n)).cloned().collect();
            d.check(missing.is_empty() && extra.is_empty(), || {
                format!(
                    "{key}: iteration {} opts lack {missing:?} (has extra {extra:?}) on ours; Node's: {}, ours: {}",
                    i + 1,
                    n["opts"],
                    o["opts"]
                )
            });
            for field in [
                "keepLogs",
                "stackTraceLimit",
                "lifo",
                "removeOnComplete",
                "removeOnFail",
            ] {
                d.same(
                    format!("{key}: iteration {} opts.{field}", i + 1),
                    &n["opts"][field],
                    &o["opts"][field],
                );
            }
        }
    }
    d.assert_none("template options on every iteration");
}

/// Node's worker adds the next iteration when it fetches the current one, from the job's own
/// options as it reads them, and so does ours: a handler slower than `every` does not slow the
/// schedule, a cron scheduler stops at its `endDate`, and a template option bullmq-official
/// cannot read (`attempts: "2"`) neither stops a scheduler early nor lets it run past its
/// `limit`. A scheduler ended that way is removed on ours (`next_iteration.rs` says why).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_iteration_is_added_when_the_current_one_is_fetched() {
    let _serial = SERIAL.lock().await;
    let redis = TempRedis::start();
    let workers = Workers::start(&redis).await;
    // The cron cases fall on even seconds; upserting early in a 2 s slot keeps both queues'
    // first iterations (upserted a few ms apart) in the same slot.
    while !(100..1_500).contains(&(now_ms() % 2_000)) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let slot = now_ms() / 2_000 * 2_000;
    // Iterations at slot + 2, 4 and 6 s; the next, at slot + 8 s, is past the end.
    let end_date = slot + 7_000;
    let schedulers = json!([
        { "id": "slow", "repeat": { "every": 1000, "limit": 3 },
          "template": { "name": "slow", "data": { "ms": 2500 } } },
        { "id": "cron-end", "repeat": { "pattern": "*/2 * * * * *", "endDate": end_date },
          "template": { "name": "welcome", "data": {} } },
        { "id": "text-attempts-cron", "repeat": { "pattern": "* * * * * *", "limit": 3 },
          "template": { "name": "welcome", "data": {}, "opts": { "attempts": "2" } } },
        { "id": "text-attempts-every", "repeat": { "every": 1000, "limit": 2 },
          "template": { "name": "welcome", "data": {}, "opts": { "attempts": "2" } } },
        // Patterns and zones Node reads where bullmq-official does not: a step from a start
        // (`0/2`), a zone in lower case.
        { "id": "start-step", "repeat": { "pattern": "0/2 * * * * *", "limit": 3 },
          "template": { "name": "welcome", "data": {} } },
        { "id": "zone-case", "repeat": { "pattern": "*/2 * * * * *", "tz": "utc", "limit": 3 },
          "template": { "name": "welcome", "data": {} } },
        // A number `backoff`, which Node's `Job` turns into `{type: "fixed", delay}`.
        { "id": "number-backoff", "repeat": { "every": 1000, "limit": 3 },
          "template": { "name": "welcome", "data": {}, "opts": { "attempts": 2, "backoff": 1000 } } },
    ]);
    let expected = [
        ("slow", 3),
        ("cron-end", 3),
        ("text-attempts-cron", 3),
        ("text-attempts-every", 2),
        ("start-step", 3),
        ("zone-case", 3),
        ("number-backoff", 3),
    ];
    upsert_on_both(&workers, &schedulers);
    let Ended {
        node,
        ours,
        node_schedulers,
        our_schedulers,
        ours_done,
    } = run_until_ended(&workers, &expected).await;
    let keys = expected.map(|(key, _)| key);
    workers.stop().await;

    for (key, n) in expected {
        assert_eq!(
            millis_list(&node, key).len(),
            n,
            "premise: Node's worker made {n} iterations of {key}: {node:#}"
        );
    }
    assert_eq!(gaps(&millis_list(&node, "slow")), [1000, 1000], "premise");
    assert_eq!(
        millis_list(&node, "cron-end"),
        [slot + 2_000, slot + 4_000, slot + 6_000],
        "premise"
    );

    let mut d = Divergences::default();
    d.check(ours_done, || {
        format!("our queue never got to every scheduler's last iteration: {ours:#}")
    });
    for key in keys {
        d.same(
            format!("{key}: iterations (ms)"),
            millis_list(&node, key).len(),
            millis_list(&ours, key).len(),
        );
        d.same(
            format!("{key}: gaps between iterations (ms)"),
            gaps(&millis_list(&node, key)),
            gaps(&millis_list(&ours, key)),
        );
        d.same(
            format!("{key}: jobs by state"),
            states(&node, key),
            states(&ours, key),
        );
    }
    // Where bullmq-official would add one more iteration (past `endDate`, or from defaults
    // where it could not read the options), our worker removes the ended scheduler instead;
    // Node's keeps listing it.
    for key in ["slow", "start-step", "zone-case", "number-backoff"] {
        compare_scheduler(&mut d, key, &node_schedulers, &our_schedulers, &node, &ours);
    }
    for key in ["cron-end", "text-attempts-cron", "text-attempts-every"] {
        assert!(
            node_schedulers["schedulers"][key].is_object(),
            "premise: Node's worker keeps {key} listed: {node_schedulers:#}"
        );
        d.check(our_schedulers["schedulers"][key].is_null(), || {
            format!("{key}: not removed once ended: {our_schedulers:#}")
        });
    }
    d.same(
        "getJobSchedulersCount",
        node_schedulers["count"].as_u64().map(|n| n - 3),
        &our_schedulers["count"],
    );
    // The text `attempts` is stored as written on Node's side and rewritten on ours (the
    // module docs of `stackr_kit::worker` say why); the other cases compare as stored.
    for key in [
        "slow",
        "cron-end",
        "start-step",
        "zone-case",
        "number-backoff",
    ] {
        compare_jobs(&mut d, key, &node, &ours);
    }
    d.same(
        "cron-end: iteration times",
        millis_list(&node, "cron-end"),
        millis_list(&ours, "cron-end"),
    );
    d.assert_none("next iteration at fetch");
}

/// Redis restarted under both workers (down for a second, its data kept in its append-only file):
/// each worker's first commands on its old connections fail. Node's worker goes on with its
/// schedulers within a second or two of Redis being back, and so must ours, including a
/// scheduler only our script can read (`tz: "utc"`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedulers_go_on_after_a_redis_restart() {
    let _serial = SERIAL.lock().await;
    let redis = persisted_redis();
    let workers = Workers::start(&redis).await;
    let keys = ["zone-case", "every"];
    upsert_on_both(
        &workers,
        &json!([
            { "id": "zone-case", "repeat": { "pattern": "* * * * * *", "tz": "utc" },
              "template": { "name": "welcome", "data": {} } },
            { "id": "every", "repeat": { "every": 1000 },
              "template": { "name": "welcome", "data": {} } },
        ]),
    );
    poll_both(
        &workers,
        Duration::from_secs(20),
        "two iterations each",
        |all| keys.iter().all(|key| finished(all, key) >= 2),
    )
    .await;
    let _redis = restart(redis).await;
    let back_at = now_ms();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let node = all_jobs(&workers.queue(NODE_QUEUE));
    let ours = all_jobs(&workers.queue(RUST_QUEUE));
    workers.stop().await;

    // Iterations due once Redis was back, and the longest wait between two of them then.
    let after_drop = |all: &Value, key: &str| -> (usize, u64) {
        let millis: Vec<u64> = jobs_of(all, key)
            .iter()
            .filter(|job| job["state"] == "completed")
            .map(|job| millis_of(job, key))
            .collect();
        let later: Vec<u64> = millis.into_iter().filter(|m| *m > back_at).collect();
        (later.len(), gaps(&later).into_iter().max().unwrap_or(0))
    };
    let mut d = Divergences::default();
    for key in keys {
        let (node_later, node_gap) = after_drop(&node, key);
        assert!(
            node_later >= 4 && node_gap <= 2_000,
            "premise: Node's worker ran {key} on after the restart: {node_later} iterations, \
             longest gap {node_gap} ms: {node:#}"
        );
        let (our_later, our_gap) = after_drop(&ours, key);
        d.check(our_later + 1 >= node_later && our_gap <= 2_000, || {
            format!(
                "{key}: after the restart, ours ran {our_later} iterations (Node's {node_later}), \
                 longest gap {our_gap} ms (Node's {node_gap})"
            )
        });
    }
    d.assert_none("Redis restart");
}
