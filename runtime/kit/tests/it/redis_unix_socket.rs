//! A service's Redis on the same host is reached through its Unix socket (`redis+unix://`), where
//! no other local user can stand in for it; the password still comes from `REDIS_PASSWORD_FILE`,
//! for the API's connection and for the worker's alike.

use crate::worker_support;

use std::time::{Duration, Instant};

use serde_json::json;
use stackr_kit::config::ServiceEnv;
use stackr_kit::worker::{self, Handlers, Job, JobError, Producer, WorkerConfig};
use stackr_testkit::TempRedis;
use worker_support::*;

// `&` would end the `pass` parameter unless encoded.
const PASSWORD: &str = "s3cret&more";

fn password_file(dir: &tempfile::TempDir) -> String {
    let file = dir.path().join("redis-password");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    file.to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_runs_jobs_from_a_redis_reached_through_its_unix_socket() {
    let redis = TempRedis::start_with_password(Some(PASSWORD));
    let secrets = tempfile::tempdir().unwrap();
    let password_file = password_file(&secrets);
    let socket_url = redis.socket_url();
    let env = |name: &str| match name {
        "REDIS_URL" => Some(socket_url.clone()),
        "REDIS_PASSWORD_FILE" => Some(password_file.clone()),
        "STACKR_QUEUE" => Some("core".to_owned()),
        _ => None,
    };
    let config = WorkerConfig::from_lookup(&env).expect("a redis+unix:// URL is a Redis URL");
    assert!(
        !format!("{config:?}").contains("s3cret"),
        "the password shows: {config:?}"
    );
    let queue = config.queue.clone();
    let running = worker::start(
        fast_worker_config(queue.clone(), 1),
        Handlers::new().on("greet", |_job: Job| async {
            Ok::<_, JobError>(json!("hello"))
        }),
    )
    .await
    .expect("the worker connects through the socket");

    let producer = Producer::new(queue);
    let id = producer.add("greet", json!({})).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let status = producer.status(&id).await.unwrap().expect("the job exists");
        if status.return_value.is_some() || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    running.shutdown().await.unwrap();
    assert_eq!(status.return_value, Some(json!("hello")), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_connects_to_a_redis_reached_through_its_unix_socket() {
    let redis = TempRedis::start_with_password(Some(PASSWORD));
    let secrets = tempfile::tempdir().unwrap();
    let password_file = password_file(&secrets);
    let socket_url = redis.socket_url();
    let env = ServiceEnv::from_lookup(&|name: &str| match name {
        "STACKR_SERVICE" => Some("core".to_owned()),
        "DATABASE_URL" => Some("postgres://core:unused@127.0.0.1:1/core".to_owned()),
        "REDIS_URL" => Some(socket_url.clone()),
        "REDIS_PASSWORD_FILE" => Some(password_file.clone()),
        _ => None,
    })
    .expect("a redis+unix:// URL is a Redis URL");
    let shown = env.redis_url.to_string();
    assert!(!shown.contains("s3cret"), "the password shows: {shown}");

    let mut conn = stackr_kit::redis_conn::connect(&env.redis_url, None)
        .await
        .expect("the API connects through the socket with the password");
    let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    assert_eq!(pong, "PONG");
}
