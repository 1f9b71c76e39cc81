//! On the fixture stack: identity data lives only in auth's database, no
//! service's database role gets into another service's database, no process's environment names
//! another service's database or Redis, and a job a service enqueues lands only in its own Redis.

use crate::common;

use std::collections::BTreeSet;

use reqwest::StatusCode;
use stackr_checks::{RunningService, Stack};
use tokio_postgres::NoTls;

use common::{browser, set_role, sign_up, start_fixture_stack};

/// The tables BetterAuth's core schema owns; only auth may have them.
const IDENTITY_TABLES: &[&str] = &["user", "session", "account", "verification"];

/// Identity tables found in every database of `service`'s PostgreSQL, as `database.table`, plus
/// how many user tables the service's own database has (to show the inspection saw real data).
async fn identity_tables(service: &RunningService) -> (BTreeSet<String>, i64) {
    let admin = service.postgres.superuser("postgres").await.unwrap();
    let databases: Vec<String> = admin
        .query("SELECT datname FROM pg_database WHERE datallowconn", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        databases.contains(&service.database.database),
        "{} has its database",
        service.name()
    );
    let mut found = BTreeSet::new();
    let mut own_tables = 0;
    for database in databases {
        let db = service.postgres.superuser(&database).await.unwrap();
        let rows = db
            .query(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
                &[],
            )
            .await
            .unwrap();
        if database == service.database.database {
            own_tables = rows.len() as i64;
        }
        for row in rows {
            let table: String = row.get(0);
            if IDENTITY_TABLES.contains(&table.as_str()) {
                found.insert(format!("{database}.{table}"));
            }
        }
    }
    (found, own_tables)
}

async fn identity_tables_are_only_in_auth(stack: &Stack) {
    for service in &stack.services {
        let (found, own_tables) = identity_tables(service).await;
        assert!(
            own_tables > 0,
            "{}'s database has its tables (the service ran its migrations)",
            service.name()
        );
        if service.plan.is_auth() {
            let expected: BTreeSet<String> = IDENTITY_TABLES
                .iter()
                .map(|t| format!("{}.{t}", service.database.database))
                .collect();
            assert_eq!(
                found, expected,
                "auth's database holds the identity tables, and only there"
            );
        } else {
            assert!(
                found.is_empty(),
                "{} holds identity tables: {found:?}",
                service.name()
            );
        }
    }
}

/// Every (role, database) pair: a service's own works; every other is refused *by the server's
/// authentication* (SQLSTATE class 28), not by a connection or configuration error that would
/// make the check pass without asking anything.
async fn every_foreign_database_refuses_every_role(stack: &Stack) {
    for from in &stack.services {
        for to in &stack.services {
            let mut cfg = tokio_postgres::Config::new();
            cfg.host("127.0.0.1")
                .port(to.database.port)
                .user(&from.database.role)
                .password(&from.database.password)
                .dbname(&to.database.database);
            let outcome = cfg.connect(NoTls).await;
            if from.name() == to.name() {
                assert!(
                    outcome.is_ok(),
                    "{} must reach its own database: {:?}",
                    from.name(),
                    outcome.err()
                );
                continue;
            }
            let Err(err) = outcome else {
                panic!(
                    "role {} got into {}'s database {}",
                    from.database.role,
                    to.name(),
                    to.database.database
                )
            };
            let code = err.as_db_error().map(|db| db.code().code().to_owned());
            assert!(
                code.as_deref().is_some_and(|c| c.starts_with("28")),
                "role {} at {}'s database must be refused by authentication, got {err:?}",
                from.database.role,
                to.name()
            );
        }
    }
}

async fn no_process_environment_names_another_service(stack: &Stack) {
    for service in &stack.services {
        let env = service.process.environment().unwrap();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(
            get("DATABASE_URL").as_deref(),
            Some(service.database.url_without_password().as_str())
        );
        assert_eq!(
            get("REDIS_URL").as_deref(),
            Some(service.redis.url_without_password().as_str())
        );
        for (name, _) in &env {
            let is_store_url = name.ends_with("DATABASE_URL") || name.ends_with("REDIS_URL");
            assert!(
                !is_store_url || name == "DATABASE_URL" || name == "REDIS_URL",
                "{} has {name}",
                service.name()
            );
        }
        for other in stack.services.iter().filter(|o| o.name() != service.name()) {
            let foreign = [
                other.database.url_without_password(),
                other.redis.url_without_password(),
                format!("127.0.0.1:{}", other.postgres.host_port()),
                format!("127.0.0.1:{}", other.redis.host_port()),
                other.plan.dev.db_password_file.clone(),
                other.plan.dev.redis_password_file.clone(),
            ];
            for (name, value) in &env {
                for needle in &foreign {
                    assert!(
                        !value.contains(needle.as_str()),
                        "{}'s {name} names {}'s store ({needle})",
                        service.name(),
                        other.name()
                    );
                }
            }
        }
    }
}

async fn jobs_land_only_in_their_own_redis(stack: &Stack) {
    let caller = sign_up(stack, "producer").await;
    set_role(stack, &caller.user_id, "admin").await;
    let mut enqueued = Vec::new();
    for service in stack.base_services() {
        let answer = browser(stack)
            .post(
                &service.url("/jobs"),
                // From the trusted page: a cookie-carrying POST needs a trusted Origin.
                &[("cookie", &caller.cookie), ("origin", &stack.auth_origin())],
            )
            .await
            .unwrap();
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "enqueue at {}: {answer:?}",
            service.name()
        );
        let job_id = answer.json().unwrap()["jobId"]
            .as_str()
            .expect("a job id")
            .to_owned();
        let queue = service
            .env_var("STACKR_QUEUE")
            .expect("a base service has a queue")
            .to_owned();
        let prefix = service
            .env_var("STACKR_QUEUE_PREFIX")
            .unwrap_or("bull")
            .to_owned();
        enqueued.push((
            service.name().to_owned(),
            format!("{prefix}:{queue}:"),
            job_id,
        ));
    }
    for holder in &stack.services {
        let mut conn = holder.redis.connect().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .unwrap();
        for (owner, queue_prefix, job_id) in &enqueued {
            let job_key = format!("{queue_prefix}{job_id}");
            let queue_keys: Vec<&String> = keys
                .iter()
                .filter(|k| k.starts_with(queue_prefix.as_str()))
                .collect();
            if holder.name() == owner {
                assert!(
                    keys.contains(&job_key),
                    "{owner}'s job {job_key} is in its own Redis: {keys:?}"
                );
            } else {
                assert!(
                    queue_keys.is_empty(),
                    "{}'s Redis holds keys of {owner}'s queue: {queue_keys:?}",
                    holder.name()
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_share_no_data_credentials_or_queues() {
    let stack = start_fixture_stack().await;
    identity_tables_are_only_in_auth(&stack).await;
    every_foreign_database_refuses_every_role(&stack).await;
    no_process_environment_names_another_service(&stack).await;
    jobs_land_only_in_their_own_redis(&stack).await;
}
