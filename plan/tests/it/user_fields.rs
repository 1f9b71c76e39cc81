//! `userFields` of the auth service: mistakes reported at their place in the config, and the
//! declared fields handed to auth as `AUTH_USER_FIELDS`.

use std::path::Path;

use stackr_plan::config::parse_config;
use stackr_plan::model::validate;
use stackr_plan::plan::plan;

fn config(auth_extra: &str, core_extra: &str) -> String {
    format!(
        "{{\n  \"name\": \"shop\",\n  \"services\": [\n    {{ \"name\": \"auth\", \"kind\": \"auth\"{auth_extra} }},\n    {{ \"name\": \"core\"{core_extra} }}\n  ]\n}}\n"
    )
}

/// The error `stackr generate` would print for this config.
fn error(text: &str) -> String {
    let file = Path::new("stackr.config.json");
    match parse_config(file, text) {
        Err(e) => e.to_string(),
        Ok(config) => validate(&config, file, text)
            .expect_err("the config is refused")
            .to_string(),
    }
}

#[test]
fn mistakes_point_at_the_field() {
    let text = config(
        ",\n      \"userFields\": [\n        { \"name\": \"plan\", \"type\": \"string\" },\n        { \"name\": \"seats\", \"type\": \"number\", \"defaultValue\": \"3\" }\n      ]",
        "",
    );
    let message = error(&text);
    assert!(message.contains("userFields[1].defaultValue"), "{message}");
    assert!(message.contains("stackr.config.json:7"), "{message}");
    assert!(message.contains("is not a number"), "{message}");

    let message = error(&config(
        ", \"userFields\": [ { \"name\": \"role\", \"type\": \"string\" } ]",
        "",
    ));
    assert!(message.contains("userFields[0].name"), "{message}");
    assert!(message.contains("already a field"), "{message}");

    let message = error(&config(
        ", \"userFields\": [ { \"name\": \"plan\", \"type\": \"json\" } ]",
        "",
    ));
    assert!(message.contains("userFields[0].type"), "{message}");

    let message = error(&config(
        "",
        ", \"userFields\": [ { \"name\": \"plan\", \"type\": \"string\" } ]",
    ));
    assert!(message.contains("services[1].userFields"), "{message}");
    assert!(
        message.contains("only applies to the auth service"),
        "{message}"
    );
}

#[test]
fn declared_fields_reach_auth_and_only_auth() {
    let text = config(
        ", \"userFields\": [ { \"name\": \"plan\", \"type\": \"string\", \"input\": false, \"defaultValue\": \"free\" } ]",
        "",
    );
    let file = Path::new("stackr.config.json");
    let with_fields = plan(&validate(&parse_config(file, &text).unwrap(), file, &text).unwrap());
    for service in &with_fields.services {
        let value = service
            .api_env
            .iter()
            .find(|v| v.name == "AUTH_USER_FIELDS")
            .map(|v| v.value.as_str());
        if service.is_auth() {
            assert_eq!(
                value,
                Some(
                    r#"[{"name":"plan","type":"string","required":true,"input":false,"defaultValue":"free"}]"#
                )
            );
        } else {
            assert_eq!(value, None, "{}", service.name);
        }
    }
    let text = config("", "");
    let without = plan(&validate(&parse_config(file, &text).unwrap(), file, &text).unwrap());
    assert!(without
        .services
        .iter()
        .all(|s| s.api_env.iter().all(|v| v.name != "AUTH_USER_FIELDS")));
}
