//! Every option of Node's `Queue.add` and `FlowProducer`, integer and non-integer numbers alike,
//! means on our worker what it means on Node's: the same jobs run side by side on a Node worker
//! and on ours (interop/bullmq, bullmq 6.5.1) end with the same attempts, delays, priorities,
//! removals and final state.

mod worker_support;

use serde_json::{json, Value};
use stackr_testkit::TempRedis;
use worker_support::*;

/// Options as Node's `Queue.add` accepts them, fractional numbers included, must mean on our
/// worker what they mean on Node's: same attempts, same final state, same failure records.
/// bullmq-official reads only integers, so our worker stores the integer Node behaves like in
/// place of each fractional number (`rounded`: JSON pointer -> the number stored instead).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_option_node_accepts_is_honoured_like_on_a_node_worker() {
    let redis = TempRedis::start();
    let matrix = json!([
        [{ "name": "always-fails", "opts": { "attempts": 2, "backoff": { "type": "fixed", "delay": 100.5 } } }, { "/backoff/delay": 101 }],
        [{ "name": "always-fails", "opts": { "attempts": 3, "backoff": { "type": "exponential", "delay": 50.25 } } }, { "/backoff/delay": 51 }],
        [{ "name": "always-fails", "opts": { "attempts": 2, "backoff": 80.5 } }, { "/backoff/delay": 81 }],
        [{ "name": "always-fails", "opts": { "attempts": 2.5, "backoff": 10 } }, { "/attempts": 3 }],
        [{ "name": "always-fails", "opts": { "attempts": 2, "backoff": 10, "removeOnFail": true } }, {}],
        [{ "name": "always-fails", "opts": { "attempts": 3, "stackTraceLimit": 1.5 } }, { "/stackTraceLimit": 1 }],
        [{ "name": "fails-once", "opts": { "attempts": 2, "delay": 150.5 } }, { "/delay": 151 }],
        [{ "name": "fails-once", "opts": { "attempts": 2, "removeOnComplete": true } }, {}],
        [{ "name": "welcome", "opts": { "delay": 100.75, "priority": 2 } }, { "/delay": 101 }],
        [{ "name": "welcome", "opts": { "lifo": true, "keepLogs": 3 } }, {}],
        [{ "name": "welcome", "opts": { "removeOnComplete": { "age": 3600.5, "count": 10 } } }, { "/removeOnComplete/age": 3601 }],
    ]);
    let matrix = matrix.as_array().unwrap();
    let jobs = Value::Array(
        matrix
            .iter()
            .map(|entry| {
                let mut job = entry[0].clone();
                job["data"] = json!({});
                job
            })
            .collect(),
    );

    let (by_node, by_rust) = run_on_node_and_ours(&redis.url(), &jobs).await;

    for ((entry, node_job), rust_job) in matrix.iter().zip(&by_node).zip(&by_rust) {
        let context = format!("job {}\nnode: {node_job:#}\nrust: {rust_job:#}", entry[0]);
        for field in ["state", "attemptsMade", "failedReason", "returnvalue"] {
            assert_eq!(node_job[field], rust_job[field], "{field} of {context}");
        }
        if node_job["state"] != "missing" {
            let mut expected_opts = node_job["opts"].clone();
            for (pointer, number) in entry[1].as_object().unwrap() {
                *expected_opts
                    .pointer_mut(pointer)
                    .expect("a rounded option") = number.clone();
            }
            assert_eq!(expected_opts, rust_job["opts"], "opts of {context}");
        }
        assert_eq!(
            first_lines(&node_job["stacktrace"]),
            first_lines(&rust_job["stacktrace"]),
            "stacktrace of {context}"
        );
    }
}
