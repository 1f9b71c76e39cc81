//! Dev PostgreSQL servers are small (one per service, 25 on one machine): each base service's API
//! and worker get a `DATABASE_POOL_SIZE` that together fits in its server.

use std::path::Path;

use stackr_plan::config::parse_config;
use stackr_plan::model::validate;
use stackr_plan::plan::dev_postgres::{MAX_CONNECTIONS, SUPERUSER_RESERVED_CONNECTIONS};
use stackr_plan::plan::{plan, EnvVar};

const SERVICES: usize = 25;

fn pool_size(env: &[EnvVar]) -> Option<u32> {
    env.iter()
        .find(|v| v.name == "DATABASE_POOL_SIZE")
        .map(|v| v.value.parse().expect("a number"))
}

#[test]
fn every_process_of_a_25_service_stack_gets_a_small_pool_that_fits_its_server() {
    let services: Vec<String> = (1..SERVICES)
        .map(|i| format!(r#"{{ "name": "svc{i}" }}"#))
        .collect();
    let text = format!(
        r#"{{ "name": "big", "services": [ {{ "name": "auth", "kind": "auth" }}, {} ] }}"#,
        services.join(", ")
    );
    let file = Path::new("stackr.config.json");
    let config = parse_config(file, &text).unwrap();
    let plan = plan(&validate(&config, file, &text).unwrap());
    assert_eq!(plan.services.len(), SERVICES);
    let budget = MAX_CONNECTIONS - SUPERUSER_RESERVED_CONNECTIONS;
    for service in plan.services.iter().filter(|s| !s.is_auth()) {
        let api = pool_size(&service.api_env).expect("the API's pool size is set");
        let worker = pool_size(&service.worker_env).expect("the worker's pool size is set");
        assert!(
            (1..=4).contains(&api) && (1..=4).contains(&worker),
            "{}: dev pools are small ({api}, {worker})",
            service.name
        );
        assert!(
            api + worker <= budget,
            "{}: API {api} + worker {worker} > {budget} connections its server allows",
            service.name
        );
    }
    let auth = plan.services.iter().find(|s| s.is_auth()).unwrap();
    assert_eq!(pool_size(&auth.api_env), None, "auth sizes its own pool");
}
