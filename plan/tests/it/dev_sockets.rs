//! The sockets `stackr dev` binds for each API are where the API itself would listen given its
//! environment: its `LISTEN_ADDRESS` (a config's `environment` may open it), auth's admin page at
//! `adminBind`. A socket anywhere else is refused by the runtime, which then cannot bind the port
//! the supervisor holds.

use std::net::SocketAddr;
use std::path::Path;

use stackr_plan::config::parse_config;
use stackr_plan::model::validate;
use stackr_plan::plan::{plan, Plan};

fn plan_of(text: &str) -> Plan {
    let file = Path::new("stackr.config.json");
    let config = parse_config(file, text).unwrap();
    plan(&validate(&config, file, text).unwrap())
}

fn sockets(plan: &Plan, service: &str) -> Vec<(&'static str, SocketAddr)> {
    plan.services
        .iter()
        .find(|s| s.name == service)
        .unwrap()
        .dev_sockets()
}

#[test]
fn sockets_follow_the_listen_address_and_admin_bind() {
    let plan = plan_of(
        r#"{ "name": "shop", "services": [
            { "name": "auth", "kind": "auth", "port": 8888, "adminPort": 3333, "adminBind": "0.0.0.0" },
            { "name": "core", "port": 8080 },
            { "name": "open", "port": 8081, "environment": { "LISTEN_ADDRESS": "0.0.0.0" } }
        ] }"#,
    );
    assert_eq!(
        sockets(&plan, "auth"),
        [
            ("api", "127.0.0.1:8888".parse().unwrap()),
            ("admin", "0.0.0.0:3333".parse().unwrap())
        ]
    );
    assert_eq!(
        sockets(&plan, "core"),
        [("api", "127.0.0.1:8080".parse().unwrap())]
    );
    assert_eq!(
        sockets(&plan, "open"),
        [("api", "0.0.0.0:8081".parse().unwrap())]
    );
}
