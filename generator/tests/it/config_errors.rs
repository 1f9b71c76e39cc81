//! Each config mistake is reported by the real binary with the file, JSON path, line, a hint,
//! exit code 2, no panic, and nothing written.

use crate::common;

use common::{project_with_config, stackr, stderr, tree};

/// Runs `stackr generate` on `config` and returns stderr, asserting exit code 2, no panic and an
/// untouched project.
fn generate_error(config: &str) -> String {
    let dir = project_with_config(config);
    let before = tree(dir.path());
    let output = stackr(dir.path(), &["generate"]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "stderr: {message}");
    assert!(!message.contains("panicked"), "{message}");
    assert_eq!(
        tree(dir.path()),
        before,
        "a failed generate must write nothing"
    );
    message
}

const VALID_HEAD: &str = "{\n  \"name\": \"shop\",\n  \"services\": [\n";

#[test]
fn malformed_json_points_at_line_and_column() {
    let message = generate_error("{\n  \"name\": \"shop\",\n  \"services\": [\n    { \"name\": \"auth\", \"kind\": \"auth\" },\n  ]\n}\n");
    assert!(message.contains("stackr.config.json:5:"), "{message}");
    assert!(message.contains("not valid JSON"), "{message}");
}

#[test]
fn unknown_field_names_the_path() {
    let message = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"core\", \"prot\": 8080 }}\n  ]\n}}\n"));
    assert!(message.contains("stackr.config.json:5:"), "{message}");
    assert!(message.contains("services[1]"), "{message}");
    assert!(message.contains("unknown field `prot`"), "{message}");
    assert!(message.contains("help:"), "{message}");
}

#[test]
fn duplicate_names_point_at_the_second() {
    let message = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"core\" }},\n    {{ \"name\": \"core\" }}\n  ]\n}}\n"));
    assert!(message.contains("stackr.config.json:6:15"), "{message}");
    assert!(message.contains("services[2].name"), "{message}");
    assert!(
        message.contains("duplicate service name `core`"),
        "{message}"
    );
    assert!(message.contains("line 5"), "{message}");
}

#[test]
fn invalid_and_reserved_names_are_refused() {
    let invalid = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"Core_1\" }}\n  ]\n}}\n"));
    assert!(
        invalid.contains(":5:")
            && invalid.contains("services[1].name")
            && invalid.contains("lowercase"),
        "{invalid}"
    );
    let reserved = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"postgres\" }}\n  ]\n}}\n"));
    assert!(
        reserved.contains("services[1].name") && reserved.contains("reserved"),
        "{reserved}"
    );
}

#[test]
fn port_collisions_are_refused() {
    let message = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"core\", \"port\": 8080 }},\n    {{\n      \"name\": \"wallet\",\n      \"port\": 8080\n    }}\n  ]\n}}\n"));
    assert!(message.contains("stackr.config.json:8:"), "{message}");
    assert!(
        message.contains("services[2].port") && message.contains("port collision"),
        "{message}"
    );
    assert!(message.contains("API port of `core`"), "{message}");
}

#[test]
fn admin_and_privileged_ports_are_refused_with_their_owner() {
    let admin = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"core\", \"port\": 3333 }}\n  ]\n}}\n"));
    assert!(
        admin.contains(
            "port collision: the API port of `core` is 3333, already the admin port of `auth`"
        ),
        "{admin}"
    );
    assert!(admin.contains("services[1].port"), "{admin}");
    let low = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"adminPort\": 80 }}\n  ]\n}}\n"));
    assert!(
        low.contains("the admin port of `auth` is 80; ports below 1024 need root"),
        "{low}"
    );
    assert!(low.contains("services[0].adminPort"), "{low}");
}

#[test]
fn dev_range_over_system_ports_is_refused() {
    let message = generate_error("{\n  \"name\": \"shop\",\n  \"dev\": { \"postgresPortStart\": 5430 },\n  \"services\": [ { \"name\": \"auth\", \"kind\": \"auth\" }, { \"name\": \"a\" }, { \"name\": \"b\" } ]\n}\n");
    assert!(
        message.contains(":3:")
            && message.contains("dev.postgresPortStart")
            && message.contains("5432"),
        "{message}"
    );
}

#[test]
fn deployed_postgres_range_clashing_with_system_or_redis_ports_is_refused() {
    let message = generate_error("{\n  \"name\": \"shop\",\n  \"deploy\": { \"postgresPortStart\": 5431 },\n  \"services\": [ { \"name\": \"auth\", \"kind\": \"auth\" }, { \"name\": \"a\" } ]\n}\n");
    assert!(
        message.contains("deploy.postgresPortStart") && message.contains("5432"),
        "{message}"
    );
    let message = generate_error("{\n  \"name\": \"shop\",\n  \"deploy\": { \"postgresPortStart\": 6381 },\n  \"services\": [ { \"name\": \"auth\", \"kind\": \"auth\" }, { \"name\": \"a\" } ]\n}\n");
    assert!(
        message.contains("deploy.postgresPortStart")
            && message.contains("overlaps the deployed Redis range"),
        "{message}"
    );
}

#[test]
fn base_service_without_auth_is_refused() {
    let message = generate_error(&format!(
        "{VALID_HEAD}    {{ \"name\": \"core\", \"authMiddleware\": \"standard\" }}\n  ]\n}}\n"
    ));
    assert!(
        message.contains("services[0]") && message.contains("no auth service"),
        "{message}"
    );
    assert!(
        message.contains("\"authMiddleware\": \"none\""),
        "{message}"
    );
}

#[test]
fn two_auth_services_are_refused() {
    let message = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"login\", \"kind\": \"auth\" }}\n  ]\n}}\n"));
    assert!(
        message.contains(":5:") && message.contains("services[1].kind"),
        "{message}"
    );
    assert!(message.contains("more than one auth service"), "{message}");
}

#[test]
fn missing_config_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let output = stackr(dir.path(), &["generate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("stackr init"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn wrong_types_are_refused() {
    let message = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"port\": \"8888\" }}\n  ]\n}}\n"));
    assert!(
        message.contains(":4:") && message.contains("services[0].port"),
        "{message}"
    );
}

#[test]
fn api_port_of_a_system_database_is_refused() {
    let message = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"core\", \"port\": 5432 }}\n  ]\n}}\n"));
    assert!(message.contains("stackr.config.json:5:"), "{message}");
    assert!(
        message.contains("services[1].port")
            && message.contains("the API port of `core` is 5432")
            && message.contains("PostgreSQL"),
        "{message}"
    );
}

#[test]
fn role_gated_without_roles_is_refused() {
    let message = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"billing\", \"authMiddleware\": \"role-gated\" }}\n  ]\n}}\n"));
    assert!(message.contains("stackr.config.json:5:"), "{message}");
    assert!(
        message.contains("services[1].authMiddleware") && message.contains("no roles"),
        "{message}"
    );
    assert!(
        message.contains("help:") && message.contains("\"roles\""),
        "{message}"
    );
}

#[test]
fn trusted_origin_that_is_not_an_origin_is_refused() {
    let message = generate_error(&format!("{VALID_HEAD}    {{\n      \"name\": \"auth\",\n      \"kind\": \"auth\",\n      \"trustedOrigins\": [\"http://localhost:3000\", \"not a url\"]\n    }}\n  ]\n}}\n"));
    assert!(message.contains("stackr.config.json:7:"), "{message}");
    assert!(
        message.contains("services[0].trustedOrigins[1]") && message.contains("`not a url`"),
        "{message}"
    );
}

/// Runs `stackr generate` in an initialised project after `edit` changed its config, asserting
/// exit code 2, no panic and nothing written; returns stderr.
fn generate_error_in_project(edit: impl FnOnce(String) -> String) -> String {
    let (_parent, root) = common::init_project(&[]);
    let file = root.join("stackr.config.json");
    std::fs::write(&file, edit(std::fs::read_to_string(&file).unwrap())).unwrap();
    let before = tree(&root);
    let output = stackr(&root, &["generate"]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "stderr: {message}");
    assert!(!message.contains("panicked"), "{message}");
    assert_eq!(tree(&root), before, "a failed generate must write nothing");
    message
}

#[test]
fn workspace_crates_without_a_service_are_refused() {
    let message = generate_error_in_project(|config| {
        let start = config.find("\"services\": [").unwrap();
        format!("{}\"services\": []\n}}\n", &config[..start])
    });
    assert!(message.contains("at `services`"), "{message}");
    assert!(
        message.contains("`services/auth`") && message.contains("Cargo.toml"),
        "names the orphan crate and where it is listed: {message}"
    );
    assert!(message.contains("help:"), "{message}");
}

#[test]
fn base_service_reusing_the_auth_crate_is_refused() {
    let message = generate_error_in_project(|config| {
        config
            .replacen("\"name\": \"auth\"", "\"name\": \"identity\"", 1)
            .replace("\"name\": \"core\"", "\"name\": \"auth\"")
    });
    assert!(message.contains("services[1].name"), "{message}");
    assert!(
        message.contains("services/auth") && message.contains("auth service's crate"),
        "{message}"
    );
}

#[test]
fn empty_bom_and_non_object_files_say_what_is_wrong() {
    let empty = generate_error("");
    assert!(
        empty.contains("the config file is empty") && !empty.contains(":0:"),
        "{empty}"
    );
    let bom = generate_error("\u{feff}{\"name\": \"shop\", \"services\": []}\n");
    assert!(
        bom.contains("stackr.config.json:1:1:") && bom.contains("byte order mark"),
        "{bom}"
    );
    let array = generate_error("\n  []\n");
    assert!(
        array.contains("stackr.config.json:2:3:")
            && array.contains("must be a JSON object")
            && array.contains("an array")
            && !array.contains("invalid length"),
        "{array}"
    );
}

#[test]
fn a_number_out_of_range_for_a_port_is_called_so() {
    let message = generate_error(&format!(
        "{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"port\": 1e+25 }}\n  ]\n}}\n"
    ));
    assert!(message.contains("services[0].port"), "{message}");
    assert!(
        message.contains("`1e+25`")
            && message.contains("whole number from 0 to 65535")
            && !message.contains("floating point"),
        "{message}"
    );
}

#[test]
fn dev_without_a_project_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = stackr(dir.path(), &["dev"]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message.contains("stackr.config.json") && message.contains("stackr init"),
        "{message}"
    );
}

/// A stack whose auth service declares `providers` (JSON list text, one provider a line).
fn with_providers(providers: &str) -> String {
    format!("{VALID_HEAD}    {{\n      \"name\": \"auth\",\n      \"kind\": \"auth\",\n      \"oauthProviders\": [\n{providers}\n      ]\n    }}\n  ]\n}}\n")
}

#[test]
fn oauth_provider_mistakes_point_at_the_field() {
    let both = generate_error(&with_providers(
        r#"        { "id": "corp", "preset": "google", "issuer": "https://id.example.com", "clientId": "c" }"#,
    ));
    assert!(both.contains("stackr.config.json:8:"), "{both}");
    assert!(both.contains("oauthProviders[0].preset"), "{both}");
    assert!(both.contains("not both"), "{both}");

    let plain_http = generate_error(&with_providers(
        "        { \"id\": \"google\", \"preset\": \"google\", \"clientId\": \"g\" },\n        { \"id\": \"corp\", \"issuer\": \"http://id.example.com\", \"clientId\": \"c\" }",
    ));
    assert!(plain_http.contains("stackr.config.json:9:"), "{plain_http}");
    assert!(
        plain_http.contains("oauthProviders[1].issuer"),
        "{plain_http}"
    );
    assert!(plain_http.contains("https"), "{plain_http}");

    let twice = generate_error(&with_providers(
        "        { \"id\": \"google\", \"preset\": \"google\", \"clientId\": \"g\" },\n        { \"id\": \"google\", \"preset\": \"github\", \"clientId\": \"h\" }",
    ));
    assert!(twice.contains("oauthProviders[1].id"), "{twice}");
    assert!(
        twice.contains("already used by oauthProviders[0]"),
        "{twice}"
    );

    let apple = generate_error(&with_providers(
        r#"        { "id": "apple", "preset": "apple", "clientId": "com.example.web", "teamId": "TEAM123456" }"#,
    ));
    assert!(apple.contains("oauthProviders[0].keyId"), "{apple}");
    assert!(apple.contains("Apple needs `keyId`"), "{apple}");

    let bad_id = generate_error(&with_providers(
        r#"        { "id": "Google", "preset": "google", "clientId": "g" }"#,
    ));
    assert!(bad_id.contains("oauthProviders[0].id"), "{bad_id}");

    // The secret never goes in the config: there is no field for it.
    let secret = generate_error(&with_providers(
        r#"        { "id": "google", "preset": "google", "clientId": "g", "clientSecret": "s3cret" }"#,
    ));
    assert!(secret.contains("unknown field `clientSecret`"), "{secret}");
    assert!(!secret.contains("s3cret"), "{secret}");
}

#[test]
fn oauth_providers_belong_to_auth() {
    let message = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"core\", \"oauthProviders\": [{{ \"id\": \"google\", \"preset\": \"google\", \"clientId\": \"g\" }}] }}\n  ]\n}}\n"));
    assert!(message.contains("services[1].oauthProviders"), "{message}");
    assert!(
        message.contains("only applies to the auth service"),
        "{message}"
    );
}

#[test]
fn runtime_sources_are_exclusive_and_complete() {
    let config = |runtime: &str| {
        format!("{{\n  \"name\": \"shop\",\n  \"runtime\": {runtime},\n  \"services\": [\n    {{ \"name\": \"auth\", \"kind\": \"auth\" }}\n  ]\n}}\n")
    };
    let both = generate_error(&config(r#"{ "vendored": "0.1.0", "path": "runtime" }"#));
    assert!(both.contains("stackr.config.json:3:"), "{both}");
    assert!(
        both.contains("ambiguous") && both.contains("`vendored`"),
        "{both}"
    );
    let rev_only = generate_error(&config(r#"{ "rev": "0123abc" }"#));
    assert!(
        rev_only.contains("`runtime.rev` is given without `git`"),
        "{rev_only}"
    );
}

#[test]
fn admin_bind_is_an_ip_address_of_the_auth_service() {
    let base = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"core\", \"adminBind\": \"10.0.0.5\" }}\n  ]\n}}\n"));
    assert!(
        base.contains("services[1].adminBind") && base.contains("only applies to the auth service"),
        "{base}"
    );
    let name = generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"adminBind\": \"admin.internal\" }}\n  ]\n}}\n"));
    assert!(
        name.contains("services[0].adminBind")
            && name.contains("`admin.internal` is not an IP address"),
        "{name}"
    );
}
