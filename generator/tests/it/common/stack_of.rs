//! A stack of any size, for the generate bench and the output-growth test: auth plus
//! `count - 1` base services cycling through the guard flavors.

pub fn config_with(count: usize) -> String {
    let flavors = ["standard", "role-gated", "flexible", "none"];
    let mut services = vec![r#"{ "name": "auth", "kind": "auth" }"#.to_owned()];
    for i in 1..count {
        let flavor = flavors[i % flavors.len()];
        let roles = if flavor == "role-gated" {
            r#", "roles": ["finance"]"#
        } else {
            ""
        };
        services.push(format!(
            r#"{{ "name": "svc{i}", "authMiddleware": "{flavor}"{roles} }}"#
        ));
    }
    // The deployed PostgreSQL servers take one port each from `postgresPortStart`; the default
    // range would reach 6379 (refused) at 1000 services.
    format!(
        "{{ \"name\": \"bench\", \"deploy\": {{ \"postgresPortStart\": 10000 }}, \"services\": [\n{}\n] }}\n",
        services.join(",\n")
    )
}
