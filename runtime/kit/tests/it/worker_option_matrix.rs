//! Every option of Node's `Queue.add` and `FlowProducer`, whatever value JavaScript makes sense
//! of (integer and non-integer numbers, numbers as strings, any value as a flag), means on our
//! worker what it means on Node's: the same jobs run side by side on a Node worker
//! and on ours (interop/bullmq, bullmq 6.5.1) end with the same attempts, delays, priorities,
//! removals, failure records and final state.
//!
//! Left out: `repeat` (job schedulers have their own tests, `worker_job_schedulers.rs`),
//! `priority` with a fraction (Node's `Queue.add` refuses it), retention by a small `count`,
//! which prunes the whole finished set and so depends on the order in which unrelated jobs
//! finish, and `keepLogs` with a fraction: on Node's worker the job's first `job.log` then fails
//! with a Redis script error (LTRIM takes integers only), ours keeps the whole number of lines.

use crate::worker_support;

use std::collections::HashMap;

use redis::AsyncCommands;
use serde_json::{json, Value};
use stackr_testkit::TempRedis;
use worker_support::*;

/// Each row: the job as given to Node, and, for values our worker rewrites to what Node behaves
/// like in a form bullmq-official reads (see `src/worker/node_options/`), JSON pointer into `opts` -> the
/// rewritten value. Flows nest rows in `children`. (In groups: one `json!` of them all is too
/// deep a macro expansion.)
fn matrix() -> Value {
    let groups = [numbers(), javascript_values(), order_and_flows()];
    Value::Array(
        groups
            .iter()
            .flat_map(|group| group.as_array().unwrap().clone())
            .collect(),
    )
}

/// Rows with integer and non-integer numbers.
fn numbers() -> Value {
    json!([
        // retries and backoff
        { "name": "always-fails", "opts": { "attempts": 2, "backoff": { "type": "fixed", "delay": 100.5 } }, "rewritten": { "/backoff/delay": 101 } },
        { "name": "always-fails", "opts": { "attempts": 3, "backoff": { "type": "exponential", "delay": 50.25 } }, "rewritten": { "/backoff/delay": 51 } },
        { "name": "always-fails", "opts": { "attempts": 2, "backoff": 80.5 }, "rewritten": { "/backoff/delay": 81 } },
        { "name": "always-fails", "opts": { "attempts": 2, "backoff": 20 } },
        { "name": "always-fails", "opts": { "attempts": 2.5, "backoff": 10 }, "rewritten": { "/attempts": 3 } },
        { "name": "always-fails", "opts": { "attempts": 2, "backoff": { "type": "fixed", "delay": 40, "jitter": 0.5 } } },
        { "name": "always-fails", "opts": { "attempts": 0 } },
        { "name": "fails-once", "opts": { "attempts": 2 } },
        { "name": "fails-once", "opts": { "attempts": 1.5 }, "rewritten": { "/attempts": 2 } },
        { "name": "fatal", "opts": { "attempts": 3, "backoff": 10 } },
        // failure records
        { "name": "always-fails", "opts": { "attempts": 3, "stackTraceLimit": 1.5 }, "rewritten": { "/stackTraceLimit": 1 } },
        { "name": "always-fails", "opts": { "attempts": 2, "stackTraceLimit": 1 } },
        // delays and timestamps
        { "name": "fails-once", "opts": { "attempts": 2, "delay": 150.5 }, "rewritten": { "/delay": 151 } },
        { "name": "welcome", "opts": { "delay": 120 } },
        { "name": "welcome", "opts": { "delay": 100.75, "priority": 2 }, "rewritten": { "/delay": 101 } },
        { "name": "welcome", "opts": { "timestamp": 1700000000000.5 }, "rewritten": { "/timestamp": 1700000000000_u64 } },
        // removal
        { "name": "always-fails", "opts": { "attempts": 2, "backoff": 10, "removeOnFail": true } },
        { "name": "always-fails", "opts": { "removeOnFail": false } },
        { "name": "always-fails", "opts": { "removeOnFail": 100 } },
        { "name": "always-fails", "opts": { "removeOnFail": { "age": 3600.5, "count": 100 } }, "rewritten": { "/removeOnFail/age": 3601 } },
        { "name": "fails-once", "opts": { "attempts": 2, "removeOnComplete": true } },
        { "name": "welcome", "opts": { "removeOnComplete": { "age": 3600.5, "count": 100 } }, "rewritten": { "/removeOnComplete/age": 3601 } },
        { "name": "welcome", "opts": { "removeOnComplete": { "age": 3600, "count": 100.5 } }, "rewritten": { "/removeOnComplete/count": 100 } },
        { "name": "welcome", "opts": { "removeOnComplete": 100.5 }, "rewritten": { "/removeOnComplete": 100 } },
        { "name": "welcome", "opts": { "removeOnComplete": false } },
        // ids, size, deduplication, logs
        { "name": "welcome", "opts": { "jobId": "custom-1" } },
        { "name": "welcome", "data": { "n": 1 }, "opts": { "sizeLimit": 100.5 }, "rewritten": { "/sizeLimit": 100 } },
        { "name": "welcome", "opts": { "deduplication": { "id": "once" } } },
        { "name": "welcome", "opts": { "deduplication": { "id": "once" } } },
        { "name": "reports", "data": { "logs": ["a", "b", "c"], "progress": [50] }, "opts": { "keepLogs": 2 } },
    ])
}

/// Rows whose values JavaScript makes sense of in ways bullmq-official does not.
fn javascript_values() -> Value {
    json!([
        // what JavaScript makes of other values: numeric strings are numbers, any value is a
        // flag, numbers beyond an integer field are its largest value
        { "name": "fails-once", "opts": { "attempts": "2" }, "rewritten": { "/attempts": 2 } },
        { "name": "fails-once", "opts": { "attempts": 9007199254740991_u64 }, "rewritten": { "/attempts": 4294967295_u64 } },
        { "name": "fails-once", "opts": { "attempts": 2, "backoff": { "type": "fixed", "delay": "10" } }, "rewritten": { "/backoff/delay": 10 } },
        { "name": "always-fails", "opts": { "attempts": 2, "stackTraceLimit": "1" }, "rewritten": { "/stackTraceLimit": 1 } },
        { "name": "welcome", "opts": { "delay": "100" }, "rewritten": { "/delay": 100 } },
        { "name": "welcome", "opts": { "timestamp": "1700000000000" }, "rewritten": { "/timestamp": 1700000000000_u64 } },
        { "name": "welcome", "opts": { "priority": -1 }, "rewritten": { "/priority": 0 } },
        { "name": "welcome", "opts": { "lifo": 1 }, "rewritten": { "/lifo": true } },
        { "name": "welcome", "opts": { "sizeLimit": "100" }, "rewritten": { "/sizeLimit": 100 } },
        // Queue.add reads the size limit, and no worker: a value without a number in it is left out
        { "name": "welcome", "opts": { "sizeLimit": "abc" }, "rewritten": { "/sizeLimit": null } },
        { "name": "welcome", "opts": { "deduplication": { "id": 123 } }, "rewritten": { "/deduplication/id": "123" } },
        // a backoff delay of -1 means "no retry" to Node
        { "name": "always-fails", "opts": { "attempts": 2, "backoff": { "type": "fixed", "delay": -1 } }, "rewritten": { "/attempts": 1, "/backoff/delay": 0 } },
        { "name": "always-fails", "opts": { "attempts": 3, "backoff": -1 }, "rewritten": { "/attempts": 1, "/backoff/delay": 0 } },
        // so does an exponential backoff's retry delay, round(2^(n-1) × delay), that rounds to -1
        { "name": "always-fails", "opts": { "attempts": 4, "backoff": { "type": "exponential", "delay": -0.5 } }, "rewritten": { "/attempts": 2, "/backoff/delay": 0, "/backoff/type": "fixed" } },
        { "name": "always-fails", "opts": { "attempts": 5, "backoff": { "type": "exponential", "delay": -0.25 } }, "rewritten": { "/attempts": 3, "/backoff/delay": 0, "/backoff/type": "fixed" } },
        { "name": "always-fails", "opts": { "attempts": 3, "backoff": { "type": "exponential", "delay": "-0.6" } }, "rewritten": { "/attempts": 1, "/backoff/delay": 0, "/backoff/type": "fixed" } },
        { "name": "always-fails", "opts": { "attempts": 3, "backoff": { "type": "exponential", "delay": -2 } }, "rewritten": { "/backoff/delay": 0, "/backoff/type": "fixed" } },
        // a stack trace limit whose whole part is 0, other than the number 0, limits nothing
        { "name": "always-fails", "opts": { "attempts": 2, "stackTraceLimit": 0.5 }, "rewritten": { "/stackTraceLimit": null } },
        { "name": "always-fails", "opts": { "attempts": 2, "stackTraceLimit": "0" }, "rewritten": { "/stackTraceLimit": null } },
        { "name": "always-fails", "opts": { "attempts": 2, "stackTraceLimit": -0.5 }, "rewritten": { "/stackTraceLimit": null } },
        { "name": "always-fails", "opts": { "attempts": 2, "stackTraceLimit": 0 } },
        // a negative count keeps every finished job; a string is a flag
        { "name": "welcome", "opts": { "removeOnComplete": -1 }, "rewritten": { "/removeOnComplete": false } },
        { "name": "welcome", "opts": { "removeOnComplete": { "count": -1 } }, "rewritten": { "/removeOnComplete": {} } },
        { "name": "always-fails", "opts": { "removeOnFail": -1 }, "rewritten": { "/removeOnFail": false } },
        { "name": "always-fails", "opts": { "removeOnFail": { "count": -1, "age": 3600 } }, "rewritten": { "/removeOnFail": { "age": 3600 } } },
        { "name": "welcome", "opts": { "removeOnComplete": "10" } },
    ])
}

/// Rows whose first runs are ordered, and flows.
fn order_and_flows() -> Value {
    json!([
        // order: lifo and priorities (see `ORDERED`)
        { "name": "welcome", "data": { "order": "fifo-1" } },
        { "name": "welcome", "data": { "order": "lifo" }, "opts": { "lifo": true } },
        { "name": "welcome", "data": { "order": "priority-5" }, "opts": { "priority": 5 } },
        { "name": "welcome", "data": { "order": "priority-1" }, "opts": { "priority": 1 } },
        { "name": "welcome", "data": { "order": "fifo-2" } },
        // flows
        { "name": "welcome", "children": [
            { "name": "welcome", "data": { "child": 1 } },
            { "name": "fails-once", "opts": { "attempts": 2, "backoff": 20.5 }, "rewritten": { "/backoff/delay": 21 } },
            { "name": "fails-once", "opts": { "attempts": "2" }, "rewritten": { "/attempts": 2 } },
            { "name": "welcome", "children": [{ "name": "welcome", "data": { "grandchild": 1 } }] },
        ] },
        { "name": "welcome", "children": [{ "name": "always-fails", "opts": { "failParentOnFailure": true } }] },
        { "name": "welcome", "children": [{ "name": "always-fails", "opts": { "continueParentOnFailure": true } }] },
        // a parent failed by its child keeps its own options, even ones bullmq-official cannot read
        { "name": "welcome", "opts": { "removeOnFail": true, "attempts": "2" }, "children": [{ "name": "always-fails", "opts": { "failParentOnFailure": true } }] },
        { "name": "welcome", "children": [{ "name": "always-fails", "opts": { "ignoreDependencyOnFailure": true } }] },
        { "name": "welcome", "children": [{ "name": "always-fails", "opts": { "removeDependencyOnFailure": true } }] },
        { "name": "welcome", "opts": { "attempts": 2 }, "children": [
            { "name": "always-fails", "opts": { "attempts": 2, "backoff": 10.5, "failParentOnFailure": true }, "rewritten": { "/backoff/delay": 11 } },
        ] },
    ])
}

/// The `order` data of the rows whose first runs must come in this order, on both workers:
/// the LIFO job first, then the plain ones in the order they were added, then by priority.
const ORDERED: [&str; 5] = ["lifo", "fifo-1", "fifo-2", "priority-1", "priority-5"];

/// The rows as `add_jobs.js` prints their ids: each row, a flow's parent before its children.
fn depth_first(rows: &Value) -> Vec<Value> {
    fn walk(row: &Value, out: &mut Vec<Value>) {
        out.push(row.clone());
        for child in row["children"].as_array().into_iter().flatten() {
            walk(child, out);
        }
    }
    let mut out = Vec::new();
    for row in rows.as_array().unwrap() {
        walk(row, &mut out);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_option_node_accepts_is_honoured_like_on_a_node_worker() {
    let redis = TempRedis::start();
    let matrix = matrix();
    let rows = depth_first(&matrix);
    let (by_node, by_rust) = run_on_node_and_ours(&redis.url(), &matrix).await;
    assert_eq!(by_node.len(), rows.len());

    let by_node = normalized(&by_node, "by-node");
    let by_rust = normalized(&by_rust, "by-rust");
    // Every difference is collected, so one run shows them all.
    let mut differences = Vec::new();
    for ((row, node_job), rust_job) in rows.iter().zip(&by_node).zip(&by_rust) {
        let mut row = row.clone();
        row.as_object_mut().unwrap().remove("children");
        let mut differ = |what: &str, node: Value, rust: Value| {
            if node != rust {
                differences.push(format!(
                    "{what} of {row}
  node: {node}
  ours: {rust}"
                ));
            }
        };
        for field in [
            "state",
            "attemptsMade",
            "attemptsStarted",
            "failedReason",
            "returnvalue",
            "delay",
            "priority",
            "parentKey",
            "childrenValues",
            "progress",
            "logs",
        ] {
            differ(field, node_job[field].clone(), rust_job[field].clone());
        }
        differ(
            "stacktrace",
            json!(first_lines(&node_job["stacktrace"])),
            json!(first_lines(&rust_job["stacktrace"])),
        );
        if node_job["state"] != "missing" {
            let mut expected_opts = node_job["opts"].clone();
            for (pointer, value) in row["rewritten"].as_object().into_iter().flatten() {
                *expected_opts
                    .pointer_mut(pointer)
                    .expect("a rewritten option") = value.clone();
            }
            differ("opts", expected_opts, rust_job["opts"].clone());
        }
        // Nothing ran before it was due, on either worker.
        if let Some(delay) = row["opts"]["delay"].as_f64() {
            for job in [node_job, rust_job] {
                let waited =
                    job["processedOn"].as_f64().unwrap() - job["timestamp"].as_f64().unwrap();
                if waited < delay.ceil() {
                    differences.push(format!("{row} ran {waited} ms after being added: {job}"));
                }
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // The absolute facts, so the test cannot pass by both sides being wrong the same way.
    let state_of = |data_order: &str| {
        let at = rows
            .iter()
            .position(|r| r["data"]["order"] == data_order)
            .unwrap();
        by_rust[at]["state"].clone()
    };
    assert_eq!(state_of("lifo"), "completed");
    assert_eq!(by_rust[0]["attemptsMade"], 2, "{:#}", by_rust[0]);
    assert_eq!(
        by_rust[4]["attemptsMade"], 3,
        "attempts 2.5: {:#}",
        by_rust[4]
    );

    let mut conn = redis_conn(&redis.url()).await;
    let node_order = first_runs(&mut conn, "by-node").await;
    let rust_order = first_runs(&mut conn, "by-rust").await;
    assert_eq!(node_order, ORDERED, "Node's worker");
    assert_eq!(rust_order, ORDERED, "ours");
}

/// Node's view of one side with what legitimately differs between the two queues made equal:
/// the queue's name in keys, and the random ids FlowProducer gives flow jobs (by position).
fn normalized(jobs: &[Value], queue: &str) -> Vec<Value> {
    let mut text = Value::Array(jobs.to_vec())
        .to_string()
        .replace(&format!("bull:{queue}"), "bull:Q");
    for (at, job) in jobs.iter().enumerate() {
        let id = job["id"].as_str().unwrap_or_default();
        if id.len() > 20 {
            text = text.replace(id, &format!("#{at}"));
        }
    }
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

/// The `order` data of the ordered rows, in the order of their first `active` event.
async fn first_runs(conn: &mut redis::aio::MultiplexedConnection, queue: &str) -> Vec<String> {
    let events: Vec<(String, HashMap<String, String>)> = redis::cmd("XRANGE")
        .arg(format!("bull:{queue}:events"))
        .arg("-")
        .arg("+")
        .query_async(conn)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut order = Vec::new();
    for (_, fields) in events {
        if fields.get("event").map(String::as_str) != Some("active") {
            continue;
        }
        let id = fields["jobId"].clone();
        if seen.contains(&id) {
            continue;
        }
        seen.push(id.clone());
        let data: String = conn
            .hget(format!("bull:{queue}:{id}"), "data")
            .await
            .unwrap_or_default();
        let data: Value = serde_json::from_str(&data).unwrap_or_default();
        if let Some(tag) = data["order"].as_str() {
            order.push(tag.to_string());
        }
    }
    order
}

/// Options Node's `Queue.add` takes but no worker can act on as asked fail the job on ours
/// before its handler runs, with a reason naming the option, rather than running it with other
/// options. A backoff type without a strategy here lets the job run, and a failed attempt that
/// would be retried with it fails the job, naming it. (Node's worker throws while failing such a
/// job's attempt and leaves it active until a stalled check.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_that_cannot_be_understood_fail_the_job_naming_the_option() {
    let redis = TempRedis::start();
    let queue = queue_config(&redis.url(), "unreadable");
    let linear = json!({ "attempts": 3, "backoff": { "type": "linear", "delay": 10 } });
    // "welcome" completes whenever its handler runs.
    let cases = [
        (json!({ "attempts": "many" }), "`attempts`"),
        (json!({ "attempts": 2, "backoff": "10" }), "`backoff`"),
        (
            json!({ "attempts": 2, "backoff": { "type": 7 } }),
            "`backoff.type`",
        ),
    ];
    let mut jobs: Vec<Value> = cases
        .iter()
        .map(|(opts, _)| json!({ "name": "welcome", "opts": opts }))
        .collect();
    jobs.push(json!({ "name": "welcome", "opts": linear }));
    jobs.push(json!({ "name": "always-fails", "opts": linear }));
    let ids = node_add(&queue, Value::Array(jobs));
    let running =
        stackr_kit::worker::start(fast_worker_config(queue.clone(), 2), by_name_handlers())
            .await
            .unwrap();
    let seen = eventually_finished_or_missing(&queue, &ids).await;
    running.shutdown().await.unwrap();
    for ((opts, option), job) in cases.iter().zip(&seen) {
        assert_eq!(job["state"], "failed", "{opts}: {job:#}");
        let reason = job["failedReason"].as_str().unwrap_or_default();
        assert!(
            reason.contains(&format!("job option {option}")),
            "{opts}: the reason names {option}: {reason}"
        );
    }
    let [succeeds, fails] = [&seen[cases.len()], &seen[cases.len() + 1]];
    assert_eq!(succeeds["state"], "completed", "{succeeds:#}");
    assert_eq!(fails["state"], "failed", "{fails:#}");
    assert_eq!(fails["attemptsMade"], 1, "not retried: {fails:#}");
    let reason = fails["failedReason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("failure on attempt 1 (not retried: job option `backoff.type`"),
        "the handler's reason, and why it is not retried: {reason}"
    );
}

/// Options Node's `Queue.add` never stores but other producers may, which Node's worker reads
/// without a word: a backoff JavaScript takes for false is none (each failed attempt is retried
/// at once). The same jobs, stored with these options in place of the ones `Queue.add` wrote,
/// end the same on both workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_other_producers_store_are_read_as_nodes_worker_reads_them() {
    let redis = TempRedis::start();
    let mut conn = redis_conn(&redis.url()).await;
    let stored = [
        ("fails-once", json!({ "attempts": 2, "backoff": false })),
        ("always-fails", json!({ "attempts": 3, "backoff": "" })),
    ];
    let jobs: Vec<Value> = stored
        .iter()
        .map(|(name, _)| json!({ "name": name }))
        .collect();
    let mut seen = Vec::new();
    for side in ["by-node", "by-rust"] {
        let queue = queue_config(&redis.url(), side);
        let ids = node_add(&queue, Value::Array(jobs.clone()));
        for (id, (_, opts)) in ids.iter().zip(&stored) {
            let _: () = conn
                .hset(format!("bull:{side}:{id}"), "opts", opts.to_string())
                .await
                .unwrap();
        }
        if side == "by-node" {
            run_node_worker_until_finished(&queue, &ids);
            seen.push(eventually_finished_or_missing(&queue, &ids).await);
        } else {
            let config = fast_worker_config(queue.clone(), 2);
            let running = stackr_kit::worker::start(config, by_name_handlers())
                .await
                .unwrap();
            seen.push(eventually_finished_or_missing(&queue, &ids).await);
            running.shutdown().await.unwrap();
        }
    }
    let (by_node, by_rust) = (&seen[0], &seen[1]);
    for (((name, opts), node_job), rust_job) in stored.iter().zip(by_node).zip(by_rust) {
        for field in ["state", "attemptsMade", "failedReason", "returnvalue"] {
            assert_eq!(
                rust_job[field], node_job[field],
                "{field} of {name} with {opts}\n  node: {node_job:#}\n  ours: {rust_job:#}"
            );
        }
    }
    assert_eq!(by_rust[0]["state"], "completed", "{:#}", by_rust[0]);
    assert_eq!(by_rust[1]["attemptsMade"], 3, "{:#}", by_rust[1]);
}
