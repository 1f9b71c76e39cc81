//! Bringing a stack up: secrets, containers (all at once), ports, then auth, then base services.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::future::try_join_all;
use stackr::plan::{Plan, ServicePlan};
use stackr_testkit::free_port;

use super::env::{remap_env, PortMap};
use super::process::ServiceProcess;
use super::secrets::write_plan_secrets;
use super::{Binaries, RunningService, Stack};
use crate::containers::{PostgresContainer, RedisContainer, ServiceDatabase};
use crate::scaffold_spec::{scaffold_spec, service_args};

/// Variables the checks add to auth's planned environment, and why.
const AUTH_EXTRA_ENV: &[(&str, &str)] = &[
    // The checks sign up several users from 127.0.0.1 within seconds; per-IP rate limits would
    // turn that into 429s that say nothing about the invariants under test.
    ("AUTH_RATE_LIMITS", "off"),
    // The checks grant roles by editing auth's `user` table directly (as an operator would),
    // which bypasses the invalidation of auth's own get-session cache; without it a role change
    // is visible at once instead of after up to a second.
    ("AUTH_SESSION_CACHE_MS", "0"),
];

// Generous: the wait ends as soon as every service answers, and a loaded machine is slow.
const READY_TIMEOUT: Duration = Duration::from_secs(180);

pub async fn start(plan: Plan, binaries: &Binaries) -> anyhow::Result<Stack> {
    let began = Instant::now();
    let root = tempfile::Builder::new()
        .prefix("stackr-checks-")
        .tempdir()?;
    let secrets = write_plan_secrets(root.path(), &plan)?;
    let log_dir = root.path().join(&plan.state_dir).join("logs");
    std::fs::create_dir_all(&log_dir)?;

    let containers =
        try_join_all(plan.services.iter().map(|s| start_containers(s, &secrets))).await?;
    let containers_ready = began.elapsed();

    let mut ports = PortMap::new();
    for (service, (pg, redis, _)) in plan.services.iter().zip(&containers) {
        ports.insert(service.port, free_port());
        if let Some(admin) = service.admin_port {
            ports.insert(admin, free_port());
        }
        ports.insert(service.dev_postgres_port, pg.host_port());
        ports.insert(service.dev_redis_port, redis.host_port());
    }

    let mut services = Vec::new();
    // Auth first: base services' guards need it, and provisioning checks it at their first call.
    let order = plan
        .services
        .iter()
        .zip(containers)
        .partition::<Vec<_>, _>(|(s, _)| s.is_auth());
    for (service, (postgres, redis, database)) in order.0.into_iter().chain(order.1) {
        let mut env = remap_env(&service.api_env, &ports);
        // The plan names the socket of a dev Redis started beside the project; the checks' Redis
        // is a container, reached over TCP.
        for (name, value) in &mut env {
            if name == stackr_contract::env::REDIS_URL {
                *value = redis.url_without_password();
            }
        }
        if service.is_auth() {
            env.extend(
                AUTH_EXTRA_ENV
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            );
        }
        let spec = if service.is_auth() {
            None
        } else {
            Some(scaffold_spec(&plan, service))
        };
        let (program, args) = match &spec {
            None => (&binaries.auth, Vec::new()),
            Some(spec) => (&binaries.service, service_args(spec)),
        };
        let process =
            ServiceProcess::spawn(&service.name, program, &args, &env, root.path(), &log_dir)?;
        let api_port = ports[&service.port];
        let mut running = RunningService {
            plan: service.clone(),
            spec,
            api_port,
            env,
            database,
            process,
            postgres,
            redis,
        };
        if service.is_auth() {
            wait_until_healthy(&mut running).await?;
        }
        services.push(running);
    }
    for running in services.iter_mut().filter(|s| !s.plan.is_auth()) {
        wait_until_healthy(running).await?;
    }
    // Shown with --nocapture and in failing tests' output: where a slow start spent its time.
    eprintln!(
        "stackr-checks: stack `{}` up in {:.1?} (containers {:.1?}, processes {:.1?})",
        plan.project,
        began.elapsed(),
        containers_ready,
        began.elapsed() - containers_ready
    );
    // Back in plan order, so tests can rely on the config's order.
    services.sort_by_key(|s| plan.services.iter().position(|p| p.name == s.plan.name));
    Ok(Stack {
        plan,
        services,
        root,
    })
}

/// The service's PostgreSQL (with its role and database, password from the plan's secret file)
/// and Redis (password from the plan's secret file).
async fn start_containers(
    service: &ServicePlan,
    secrets: &BTreeMap<String, String>,
) -> anyhow::Result<(PostgresContainer, RedisContainer, ServiceDatabase)> {
    let secret = |file: &str| {
        secrets
            .get(file)
            .cloned()
            .with_context(|| format!("the plan lists no secret {file}"))
    };
    let db_password = secret(&service.dev.db_password_file)?;
    let redis_password = secret(&service.dev.redis_password_file)?;
    let (pg, redis) = tokio::try_join!(
        PostgresContainer::start(&service.name),
        RedisContainer::start_with_password(&service.name, &redis_password),
    )?;
    let database = pg.create_database(&service.db_name, &db_password).await?;
    Ok((pg, redis, database))
}

async fn wait_until_healthy(service: &mut RunningService) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let url = service.url("/health");
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        service.process.ensure_running()?;
        if let Ok(resp) = client.get(&url).send().await {
            if resp.status().is_success() {
                return Ok(());
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} did not answer {url} within {READY_TIMEOUT:?}; end of its log:\n{}",
            service.name(),
            service.process.log_tail(40)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
