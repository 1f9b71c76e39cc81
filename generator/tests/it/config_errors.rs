//! Each config mistake is reported by the real binary as a diagnostic (the message, the file with
//! line and column, the offending line of the config with the JSON path as its label, what to
//! do), with exit code 2, no panic, and nothing written. The whole message is snapshotted: stderr
//! is not a terminal here, so it has no colors and the fixed width.

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

/// A config with the auth service and then `services` (JSON text, one service a line).
fn with_services(services: &str) -> String {
    format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n{services}\n  ]\n}}\n")
}

#[test]
fn malformed_json_points_at_line_and_column() {
    insta::assert_snapshot!(generate_error("{\n  \"name\": \"shop\",\n  \"services\": [\n    { \"name\": \"auth\", \"kind\": \"auth\" },\n  ]\n}\n"));
}

#[test]
fn unknown_field_names_the_path() {
    insta::assert_snapshot!(generate_error(&with_services(
        "    { \"name\": \"core\", \"prot\": 8080 }"
    )));
}

#[test]
fn duplicate_names_point_at_the_second() {
    insta::assert_snapshot!(generate_error(&with_services(
        "    { \"name\": \"core\" },\n    { \"name\": \"core\" }"
    )));
}

/// `deploy.stateDir` reaches Nix, shell and Python text: only a plain folder under /var/lib is
/// taken (a `${…}` in it ran as Nix code in the VM test).
#[test]
fn a_deploy_state_dir_that_is_not_a_plain_folder_under_var_lib_is_refused() {
    for state_dir in [
        "/var/lib/x${builtins.trace \\\"ran\\\" \\\"\\\"}",
        "/var/lib/a b",
        "/var/lib/../etc",
        "var/lib/stackr",
        "/srv/stackr",
        "/var/lib/",
    ] {
        let config = format!(
            "{{\n  \"name\": \"shop\",\n  \"deploy\": {{ \"stateDir\": \"{state_dir}\" }},\n  \"services\": [ {{ \"name\": \"auth\", \"kind\": \"auth\" }} ]\n}}\n"
        );
        let message = generate_error(&config);
        assert!(
            message.contains("deploy.stateDir"),
            "{state_dir}: {message}"
        );
    }
    let config = "{\n  \"name\": \"shop\",\n  \"deploy\": { \"stateDir\": \"/var/lib/shop-2/state\" },\n  \"services\": [ { \"name\": \"auth\", \"kind\": \"auth\" } ]\n}\n";
    let dir = common::project_with_config(config);
    let generated = common::stackr(dir.path(), &["generate"]);
    assert!(generated.status.success(), "{}", common::stderr(&generated));
}

/// `core-pg` would be the NixOS system user of both its own API and core's PostgreSQL server.
#[test]
fn a_name_that_is_another_services_postgres_user_is_refused() {
    for services in [
        "    { \"name\": \"core\" },\n    { \"name\": \"core-pg\" }",
        "    { \"name\": \"core-pg\" },\n    { \"name\": \"core\" }",
    ] {
        let message = generate_error(&with_services(services));
        assert!(
            message.contains(
                "service name `core-pg` is the system user of `core`'s PostgreSQL server"
            ),
            "{message}"
        );
    }
}

/// Auth answers each base service's provisioning flag by a name made from the service's
/// (`core-2` → `hasCore2Account`): two services whose flags are one would each read the other's
/// answer. The second is refused at its line, naming both and the flag.
#[test]
fn names_that_give_one_account_flag_are_refused() {
    for (first, second) in [("core2", "core-2"), ("a-1b", "a1b"), ("pay-out", "payOut")] {
        let services =
            format!("    {{ \"name\": \"{first}\" }},\n    {{ \"name\": \"{second}\" }}");
        let message = generate_error(&with_services(&services));
        if second == "payOut" {
            // Not a valid name in the first place.
            assert!(message.contains("invalid service name"), "{message}");
            continue;
        }
        let flag = stackr_contract::has_account_field(first);
        let flat = message
            .replace('│', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            flat.contains(&format!("`{first}` and `{second}`"))
                && flat.contains(&flag)
                && flat.contains("services[2].name"),
            "{message}"
        );
    }
}

#[test]
fn invalid_and_reserved_names_are_refused() {
    insta::assert_snapshot!(
        "invalid_name",
        generate_error(&with_services("    { \"name\": \"Core_1\" }"))
    );
    insta::assert_snapshot!(
        "reserved_name",
        generate_error(&with_services("    { \"name\": \"postgres\" }"))
    );
}

#[test]
fn port_collisions_are_refused() {
    insta::assert_snapshot!(generate_error(&with_services(
        "    { \"name\": \"core\", \"port\": 8080 },\n    {\n      \"name\": \"wallet\",\n      \"port\": 8080\n    }"
    )));
}

#[test]
fn admin_and_privileged_ports_are_refused_with_their_owner() {
    insta::assert_snapshot!(
        "admin_port",
        generate_error(&with_services("    { \"name\": \"core\", \"port\": 3333 }"))
    );
    insta::assert_snapshot!(
        "privileged_port",
        generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"adminPort\": 80 }}\n  ]\n}}\n"))
    );
}

#[test]
fn dev_range_over_system_ports_is_refused() {
    insta::assert_snapshot!(generate_error("{\n  \"name\": \"shop\",\n  \"dev\": { \"postgresPortStart\": 5430 },\n  \"services\": [ { \"name\": \"auth\", \"kind\": \"auth\" }, { \"name\": \"a\" }, { \"name\": \"b\" } ]\n}\n"));
}

#[test]
fn deployed_postgres_range_clashing_with_system_or_redis_ports_is_refused() {
    insta::assert_snapshot!(
        "over_system_postgres",
        generate_error("{\n  \"name\": \"shop\",\n  \"deploy\": { \"postgresPortStart\": 5431 },\n  \"services\": [ { \"name\": \"auth\", \"kind\": \"auth\" }, { \"name\": \"a\" } ]\n}\n")
    );
    insta::assert_snapshot!(
        "over_deployed_redis",
        generate_error("{\n  \"name\": \"shop\",\n  \"deploy\": { \"postgresPortStart\": 6381 },\n  \"services\": [ { \"name\": \"auth\", \"kind\": \"auth\" }, { \"name\": \"a\" } ]\n}\n")
    );
}

#[test]
fn base_service_without_auth_is_refused() {
    insta::assert_snapshot!(generate_error(&format!(
        "{VALID_HEAD}    {{ \"name\": \"core\", \"authMiddleware\": \"standard\" }}\n  ]\n}}\n"
    )));
}

#[test]
fn two_auth_services_are_refused() {
    insta::assert_snapshot!(generate_error(&with_services(
        "    { \"name\": \"login\", \"kind\": \"auth\" }"
    )));
}

#[test]
fn missing_config_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let output = stackr(dir.path(), &["generate"]);
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&output));
}

#[test]
fn wrong_types_are_refused() {
    insta::assert_snapshot!(generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"port\": \"8888\" }}\n  ]\n}}\n")));
}

#[test]
fn api_port_of_a_system_database_is_refused() {
    insta::assert_snapshot!(generate_error(&with_services(
        "    { \"name\": \"core\", \"port\": 5432 }"
    )));
}

#[test]
fn role_gated_without_roles_is_refused() {
    insta::assert_snapshot!(generate_error(&with_services(
        "    { \"name\": \"billing\", \"authMiddleware\": \"role-gated\" }"
    )));
}

/// Roles are compared exactly, case included (a guard lets a user through on a role spelled as
/// the service lists it, and only `admin` passes every gate): `ADMIN` was taken beside `admin`
/// as another role, one no admin holds, and `Finance` beside `finance` as two roles a user
/// given one would not pass the other's gate with. A role that differs from a built-in one or an
/// earlier one only in case is refused at its path, naming the other.
#[test]
fn a_role_differing_from_another_only_in_case_is_refused() {
    let gated = |name: &str, roles: &str| {
        format!("    {{ \"name\": \"{name}\", \"authMiddleware\": \"role-gated\", \"roles\": {roles} }}")
    };
    for (services, at, said) in [
        (
            gated("billing", r#"["admin", "ADMIN"]"#),
            "services[1].roles[1]",
            "role `ADMIN` differs from the built-in role `admin` only in case",
        ),
        (
            gated("billing", r#"["User"]"#),
            "services[1].roles[0]",
            "role `User` differs from the built-in role `user` only in case",
        ),
        (
            gated("billing", r#"["finance", "Finance"]"#),
            "services[1].roles[1]",
            "role `Finance` differs from `finance` at `services[1].roles[0]` only in case",
        ),
        (
            format!(
                "{},\n{}",
                gated("billing", r#"["finance"]"#),
                gated("reports", r#"["ops", "FINANCE"]"#)
            ),
            "services[2].roles[1]",
            "role `FINANCE` differs from `finance` at `services[1].roles[0]` only in case",
        ),
    ] {
        let message = flat(&generate_error(&with_services(&services)));
        assert!(
            message.contains(said)
                && message.contains(&format!("── {at}"))
                && message.contains("stackr.config.json:")
                && message.contains("help:"),
            "{services}: {message}"
        );
    }
    // The same role in two services is one role, and `admin` listed changes nothing: both taken.
    let config = with_services(&format!(
        "{},\n{}",
        gated("billing", r#"["finance", "admin"]"#),
        gated("reports", r#"["finance"]"#)
    ));
    let dir = project_with_config(&config);
    let generated = stackr(dir.path(), &["generate"]);
    assert!(generated.status.success(), "{}", stderr(&generated));
}

#[test]
fn trusted_origin_that_is_not_an_origin_is_refused() {
    insta::assert_snapshot!(generate_error(&format!("{VALID_HEAD}    {{\n      \"name\": \"auth\",\n      \"kind\": \"auth\",\n      \"trustedOrigins\": [\"http://localhost:3000\", \"not a url\"]\n    }}\n  ]\n}}\n")));
}

/// A config with an auth service whose `baseUrl` is `url` (JSON string contents) and a base
/// service.
fn with_base_url(url: &str) -> String {
    format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"baseUrl\": \"{url}\" }},\n    {{ \"name\": \"core\" }}\n  ]\n}}\n")
}

/// Auth's `baseUrl` is one of the origins every base service trusts (`TRUSTED_ORIGINS`, a
/// comma-separated list of origins and wildcard patterns): a `*` in it trusted every origin, a
/// comma added another, and systemd read a `%` as a specifier.
#[test]
fn a_base_url_that_is_not_one_plain_url_is_refused() {
    for url in [
        "https://*",
        "https://*.example.com",
        "https://auth.example.com,https://attacker.example",
        "https://a.example/%7Ex",
        "https://user:pw@auth.example.com",
        "https://auth.example.com/?next=1",
        "https://auth.example.com/#top",
        "https://auth.example.com/a b",
        "ftp://auth.example.com",
        "https://",
        "not a url",
    ] {
        let message = generate_error(&with_base_url(url));
        assert!(
            message.contains("services[0].baseUrl") && message.contains("baseUrl"),
            "{url}: {message}"
        );
    }
    for url in ["https://auth.example.com", "http://localhost:8888/auth/"] {
        let dir = project_with_config(&with_base_url(url));
        let generated = stackr(dir.path(), &["generate"]);
        assert!(generated.status.success(), "{url}: {}", stderr(&generated));
    }
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
    insta::assert_snapshot!(generate_error_in_project(|config| {
        let start = config.find("\"services\": [").unwrap();
        format!("{}\"services\": []\n}}\n", &config[..start])
    }));
}

#[test]
fn base_service_reusing_the_auth_crate_is_refused() {
    insta::assert_snapshot!(generate_error_in_project(|config| {
        config
            .replacen("\"name\": \"auth\"", "\"name\": \"identity\"", 1)
            .replace("\"name\": \"core\"", "\"name\": \"auth\"")
    }));
}

#[test]
fn empty_bom_and_non_object_files_say_what_is_wrong() {
    insta::assert_snapshot!("empty", generate_error(""));
    insta::assert_snapshot!(
        "bom",
        generate_error("\u{feff}{\"name\": \"shop\", \"services\": []}\n")
    );
    insta::assert_snapshot!("array", generate_error("\n  []\n"));
}

#[test]
fn a_number_out_of_range_for_a_port_is_called_so() {
    insta::assert_snapshot!(generate_error(&format!(
        "{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"port\": 1e+25 }}\n  ]\n}}\n"
    )));
}

/// A number no port can be is quoted as written, at its field: `-0` was shown as serde reads it,
/// `-0.0`, and `1e400` (beyond what a float holds) was a syntax error at the document root,
/// though JSON allows it. Each report names the file, the line, the field and the whole numbers
/// the field takes.
#[test]
fn a_number_no_port_can_be_is_quoted_as_written_at_its_field() {
    for written in ["-0", "1e400", "1e5", "-1e400"] {
        let message = flat(&generate_error(&format!(
            "{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"port\": {written} }}\n  ]\n}}\n"
        )));
        assert!(
            message.contains(&format!(
                "`{written}` is not a whole number from 0 to 65535"
            )),
            "{written}: {message}"
        );
        assert!(
            message.contains("stackr.config.json:4:")
                && message.contains("services[0].port")
                && message.contains("help:")
                && !message.contains("not valid JSON"),
            "{written}: {message}"
        );
    }
}

/// An array opened where an object belongs, nested deep and never closed (a paste gone wrong),
/// was reported as the first field serde reads by position from it: "expected a string" at
/// `services[0][0]`, or at `[0]` for a file that is an unclosed array. It is an array where an
/// object belongs, at the object's path.
#[test]
fn an_unclosed_nested_array_where_an_object_belongs_is_called_so() {
    let deep = "[".repeat(200);
    for (config, at) in [
        (format!("{VALID_HEAD}    {deep}\n"), "services[0]"),
        (
            format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {deep}"),
            "services[1]",
        ),
        (
            format!("{{\n  \"name\": \"shop\",\n  \"dev\": {deep}\n"),
            "dev",
        ),
    ] {
        let message = flat(&generate_error(&config));
        assert!(
            message.contains("invalid type: an array, expected an object")
                && message.contains(&format!("── {at}"))
                && message.contains("stackr.config.json:")
                && message.contains("help:"),
            "{at}: {message}"
        );
    }
    let message = flat(&generate_error(&format!("{deep}\n")));
    assert!(
        message.contains("the config must be a JSON object, but the file holds an array"),
        "{message}"
    );
}

#[test]
fn dev_without_a_project_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = stackr(dir.path(), &["dev"]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    insta::assert_snapshot!(message);
}

/// A stack whose auth service declares `providers` (JSON list text, one provider a line).
fn with_providers(providers: &str) -> String {
    format!("{VALID_HEAD}    {{\n      \"name\": \"auth\",\n      \"kind\": \"auth\",\n      \"oauthProviders\": [\n{providers}\n      ]\n    }}\n  ]\n}}\n")
}

#[test]
fn oauth_provider_mistakes_point_at_the_field() {
    insta::assert_snapshot!(
        "preset_and_issuer",
        generate_error(&with_providers(
            r#"        { "id": "corp", "preset": "google", "issuer": "https://id.example.com", "clientId": "c" }"#,
        ))
    );
    insta::assert_snapshot!(
        "plain_http_issuer",
        generate_error(&with_providers(
            "        { \"id\": \"google\", \"preset\": \"google\", \"clientId\": \"g\" },\n        { \"id\": \"corp\", \"issuer\": \"http://id.example.com\", \"clientId\": \"c\" }",
        ))
    );
    insta::assert_snapshot!(
        "id_twice",
        generate_error(&with_providers(
            "        { \"id\": \"google\", \"preset\": \"google\", \"clientId\": \"g\" },\n        { \"id\": \"google\", \"preset\": \"github\", \"clientId\": \"h\" }",
        ))
    );
    insta::assert_snapshot!(
        "password_accounts_id",
        generate_error(&with_providers(
            r#"        { "id": "credential", "issuer": "https://id.example.com", "clientId": "c" }"#,
        ))
    );
    insta::assert_snapshot!(
        "apple_without_key_id",
        generate_error(&with_providers(
            r#"        { "id": "apple", "preset": "apple", "clientId": "com.example.web", "teamId": "TEAM123456" }"#,
        ))
    );
    insta::assert_snapshot!(
        "invalid_id",
        generate_error(&with_providers(
            r#"        { "id": "Google", "preset": "google", "clientId": "g" }"#,
        ))
    );
    // The secret never goes in the config: there is no field for it, and the error does not
    // repeat its value.
    let secret = generate_error(&with_providers(
        r#"        { "id": "google", "preset": "google", "clientId": "g", "clientSecret": "s3cret" }"#,
    ));
    assert!(!secret.contains("s3cret"), "{secret}");
    insta::assert_snapshot!("client_secret", secret);
}

#[test]
fn oauth_providers_belong_to_auth() {
    insta::assert_snapshot!(generate_error(&with_services(
        "    { \"name\": \"core\", \"oauthProviders\": [{ \"id\": \"google\", \"preset\": \"google\", \"clientId\": \"g\" }] }"
    )));
}

#[test]
fn runtime_sources_are_exclusive_and_complete() {
    let config = |runtime: &str| {
        format!("{{\n  \"name\": \"shop\",\n  \"runtime\": {runtime},\n  \"services\": [\n    {{ \"name\": \"auth\", \"kind\": \"auth\" }}\n  ]\n}}\n")
    };
    insta::assert_snapshot!(
        "two_sources",
        generate_error(&config(r#"{ "vendored": "0.1.0", "path": "runtime" }"#))
    );
    insta::assert_snapshot!(
        "rev_without_git",
        generate_error(&config(r#"{ "rev": "0123abc" }"#))
    );
}

/// A control character in a runtime source would reach the services' Cargo.toml, where TOML
/// refuses it raw (DEL went through unescaped, and stackr panicked writing the manifest): it is
/// refused at its field.
#[test]
fn a_runtime_source_with_a_control_character_is_refused_at_its_field() {
    for (runtime, field) in [
        (r#"{ "version": "=0.1.0\u007f" }"#, "runtime.version"),
        (r#"{ "path": "run\u007ftime" }"#, "runtime.path"),
        (
            r#"{ "git": "https://example.com/s\u0000.git", "rev": "0123abc" }"#,
            "runtime.git",
        ),
        (
            r#"{ "git": "https://example.com/s.git", "rev": "0123\u001babc" }"#,
            "runtime.rev",
        ),
        (r#"{ "vendored": "0.1.0\u0085" }"#, "runtime.vendored"),
    ] {
        let message = generate_error(&format!(
            "{{\n  \"name\": \"shop\",\n  \"runtime\": {runtime},\n  \"services\": [\n    {{ \"name\": \"auth\", \"kind\": \"auth\" }}\n  ]\n}}\n"
        ));
        assert!(
            message.contains(field) && message.contains("control character"),
            "{runtime}: {message}"
        );
    }
}

/// The fleet fixture with core's parts on `app-core` written as `parts` (JSON object members).
fn fleet_with_core_parts(parts: &str) -> String {
    common::fixture_config("fleet").replace(
        r#""core": { "api": 2, "worker": 2 }"#,
        &format!(r#""core": {{ {parts} }}"#),
    )
}

/// `message` with the diagnostic's frame and line breaks taken out.
fn flat(message: &str) -> String {
    message
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A replica count beyond [`stackr::model::placement::MAX_REPLICAS`] is refused at the count
/// itself: 4000000000 API replicas aborted stackr allocating their ports, as many workers were
/// taken, and 70000 API replicas were blamed on `replicaPortStart`.
#[test]
fn a_replica_count_above_the_limit_is_refused_at_the_count() {
    let limit = stackr::model::placement::MAX_REPLICAS;
    for (parts, field) in [
        (r#""api": 4000000000, "worker": 1"#.to_owned(), "api"),
        (r#""api": 1, "worker": 4000000000"#.to_owned(), "worker"),
        (r#""api": 70000, "worker": 1"#.to_owned(), "api"),
        (format!(r#""api": {}, "worker": 1"#, limit + 1), "api"),
    ] {
        let message = generate_error(&fleet_with_core_parts(&parts));
        assert!(
            flat(&message).contains(&format!("placement.hosts[1].runs.core.{field}"))
                && flat(&message).contains(&format!("at most {limit}")),
            "{parts}: {message}"
        );
    }
    let config = fleet_with_core_parts(&format!(r#""api": {limit}, "worker": {limit}"#));
    let dir = project_with_config(&config);
    let generated = stackr(dir.path(), &["generate"]);
    assert!(generated.status.success(), "{}", stderr(&generated));
}

/// A key written twice in `environment` or in a host's `runs` is refused at the second: JSON
/// parsers keep one of the two, silently (stackr kept the last).
#[test]
fn a_key_written_twice_in_environment_or_runs_is_refused() {
    let message = generate_error(&with_services(
        r#"    { "name": "core", "environment": { "FLAG": "on", "OTHER": "x", "FLAG": "off" } }"#,
    ));
    assert!(
        flat(&message).contains("duplicate key `FLAG`")
            && flat(&message).contains("services[1].environment")
            && flat(&message).contains("keep one of the two"),
        "{message}"
    );
    let config = common::fixture_config("fleet").replace(
        r#""core": { "postgres": true, "redis": true },"#,
        r#""core": { "postgres": true }, "core": { "redis": true },"#,
    );
    let message = generate_error(&config);
    assert!(
        flat(&message).contains("duplicate key `core`")
            && flat(&message).contains("placement.hosts[3].runs"),
        "{message}"
    );
}

/// An `environment` value reaches nix/stackr.nix, systemd's `Environment=` and
/// process-compose.yaml: a NUL, a newline or another control character there is refused.
#[test]
fn an_environment_value_with_a_control_character_is_refused() {
    for value in ["a\\u0000b", "a\\nb", "a\\u007fb", "a\\tb"] {
        let message = generate_error(&with_services(&format!(
            r#"    {{ "name": "core", "environment": {{ "GREETING": "{value}" }} }}"#
        )));
        assert!(
            flat(&message).contains("services[1].environment.GREETING")
                && flat(&message).contains("control character"),
            "{value}: {message}"
        );
    }
}

/// systemd and `stackr dev`'s supervisor set these at each start: readiness (`Type=notify`) and
/// the API's handed socket. A value in `environment`, written as systemd's `Environment=`,
/// overrode theirs: the unit never became ready, or the API was handed no socket.
#[test]
fn environment_names_the_process_manager_sets_are_refused() {
    for name in [
        "NOTIFY_SOCKET",
        "LISTEN_FDS",
        "LISTEN_PID",
        "LISTEN_FDNAMES",
    ] {
        let message = generate_error(&with_services(&format!(
            r#"    {{ "name": "core", "environment": {{ "{name}": "x" }} }}"#
        )));
        assert!(
            flat(&message).contains(&format!("services[1].environment.{name}"))
                && flat(&message).contains("is not allowed"),
            "{name}: {message}"
        );
    }
}

#[test]
fn admin_bind_is_an_ip_address_of_the_auth_service() {
    insta::assert_snapshot!(
        "admin_bind_on_a_base_service",
        generate_error(&with_services(
            "    { \"name\": \"core\", \"adminBind\": \"10.0.0.5\" }"
        ))
    );
    insta::assert_snapshot!(
        "admin_bind_not_an_ip",
        generate_error(&format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"adminBind\": \"admin.internal\" }}\n  ]\n}}\n"))
    );
}

/// `stackr dev` keeps databases and secrets in `stateDir`, git-ignores everything in it and
/// `--reset` deletes it: a folder of the project's own files (its service crates, its Nix
/// files) or the project itself is refused, naming a file it holds.
#[test]
fn a_state_dir_holding_the_projects_own_files_is_refused() {
    for state_dir in [
        "services",
        "nix",
        ".",
        "services/core",
        // The same folders, spelled otherwise.
        "./services",
        "services/.",
        "./",
        ".//nix",
    ] {
        let config = format!(
            "{{\n  \"name\": \"shop\",\n  \"stateDir\": \"{state_dir}\",\n  \"services\": [\n    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"core\" }}\n  ]\n}}\n"
        );
        let message = generate_error(&config);
        assert!(
            message.contains("stateDir") && message.contains("the project's own files"),
            "{state_dir}: {message}"
        );
    }
}

/// `stateDir` is written into the dev stack's shell commands: only folder names of letters,
/// digits, `.`, `_` and `-` not starting with `-` are taken (`;` ran a command, `~` put the
/// secrets in the home folder, `*` and `{a,b}` expanded to other folders).
#[test]
fn a_state_dir_with_shell_syntax_is_refused() {
    for state_dir in [
        ".st;>/tmp/x;#",
        "~",
        "~/st",
        "*",
        "st{a,b}",
        "st?",
        "st[ab]",
        "a|b",
        "a&b",
        "a=b",
        "-rf",
        "st/-x",
        "st:x",
        "st\\u00e9",
    ] {
        let config = format!(
            "{{\n  \"name\": \"shop\",\n  \"stateDir\": \"{state_dir}\",\n  \"services\": [ {{ \"name\": \"auth\", \"kind\": \"auth\" }} ]\n}}\n"
        );
        let message = generate_error(&config);
        let flat = message
            .replace('│', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            flat.contains("stateDir")
                && flat.contains(
                    "named with letters, digits, `.`, `_` and `-`, none starting with `-`"
                ),
            "{state_dir}: {message}"
        );
    }
    let config = "{\n  \"name\": \"shop\",\n  \"stateDir\": \"./.state/dev_1-a\",\n  \"services\": [ { \"name\": \"auth\", \"kind\": \"auth\" } ]\n}\n";
    let dir = project_with_config(config);
    let generated = stackr(dir.path(), &["generate"]);
    assert!(generated.status.success(), "{}", stderr(&generated));
}

/// Nor may it lie inside a folder of sources or the git repository: `--reset` deleted a
/// service's `src/`, or the whole repository, and new files there were git-ignored.
#[test]
fn a_state_dir_inside_the_projects_sources_is_refused() {
    for (state_dir, folder) in [
        ("services/core/src", "services/core"),
        ("services/core", "services/core"),
        (".git", ".git"),
        (".git/stackr", ".git"),
        ("./stackr-runtime/dev", "stackr-runtime"),
        // As a case-insensitive file system (macOS) sees them.
        (".GIT", ".git"),
        ("Services/Core/src", "services/core"),
    ] {
        let config = format!(
            "{{\n  \"name\": \"shop\",\n  \"stateDir\": \"{state_dir}\",\n  \"services\": [\n    {{ \"name\": \"auth\", \"kind\": \"auth\" }},\n    {{ \"name\": \"core\" }}\n  ]\n}}\n"
        );
        let message = generate_error(&config);
        assert!(
            message.contains("stateDir") && message.contains(&format!("inside `{folder}`")),
            "{state_dir}: {message}"
        );
    }
}

/// Nor a folder that something deletes on its own: one named like the staging folder of an
/// interrupted write (`.stackr-staging-…`), which the next `stackr generate` deleted without a
/// word, or cargo's `target`, which `cargo clean` deletes. The dev databases and the
/// deployment's secrets (the only copy of its CA key) went with it.
#[test]
fn a_state_dir_that_stackr_or_cargo_delete_is_refused() {
    for (state_dir, named) in [
        (".stackr-staging-dev", ".stackr-staging-"),
        (".stackr-staging-x/state", ".stackr-staging-"),
        ("target", "target"),
        ("./target/stackr", "target"),
    ] {
        let config = format!(
            "{{\n  \"name\": \"shop\",\n  \"stateDir\": \"{state_dir}\",\n  \"services\": [ {{ \"name\": \"auth\", \"kind\": \"auth\" }} ]\n}}\n"
        );
        let message = generate_error(&config);
        assert!(
            flat(&message).contains("stateDir") && flat(&message).contains(&format!("`{named}`")),
            "{state_dir}: {message}"
        );
    }
}

/// Nor inside the runtime folder a config names (`runtime.path`), whose crates are sources too.
#[test]
fn a_state_dir_inside_the_runtime_folder_is_refused() {
    let config = "{\n  \"name\": \"shop\",\n  \"stateDir\": \"runtime/auth/src\",\n  \"runtime\": { \"path\": \"runtime\" },\n  \"services\": [\n    { \"name\": \"auth\", \"kind\": \"auth\" }\n  ]\n}\n";
    let message = generate_error(config);
    assert!(message.contains("inside `runtime`"), "{message}");
}

/// A config saved in another encoding: the error says so and where, not "run stackr init".
#[test]
fn a_config_that_is_not_utf8_is_named_with_its_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stackr.config.json"),
        b"{\n  \"name\": \"sh\xe9op\"\n}\n",
    )
    .unwrap();
    let output = stackr(dir.path(), &["generate"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("not UTF-8")
            && message.contains("line 2, byte 14")
            && message.contains("save the file as UTF-8")
            && !message.contains("stackr init"),
        "{message}"
    );
}

/// A lone surrogate escape was said in serde's words ("lone leading surrogate in hex escape"),
/// as a syntax error; the escape is named at its place, with what to write instead.
#[test]
fn a_lone_surrogate_escape_is_named_with_what_to_write() {
    let message = generate_error(&format!(
        "{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"baseUrl\": \"https://\\udc00.example\" }}\n  ]\n}}\n"
    ));
    assert!(
        message.contains(r"`\udc00` is a lone surrogate")
            && message.contains("stackr.config.json:4:")
            && message.contains("services[0].baseUrl")
            && message.contains("write the character itself")
            && !message.contains("hex escape"),
        "{message}"
    );
}

#[test]
fn a_duplicate_field_is_told_to_appear_once() {
    let dir = project_with_config(
        "{\n  \"name\": \"shop\",\n  \"name\": \"shop\",\n  \"services\": []\n}\n",
    );
    let message = stderr(&stackr(dir.path(), &["generate"]));
    assert!(
        message.contains("duplicate field `name`") && message.contains("keep one of the two"),
        "{message}"
    );
}

/// A project folder that does not exist is a usage error naming the config, for the writing
/// commands (which lock the folder first) as for the others.
#[test]
fn a_missing_project_folder_is_named() {
    let parent = tempfile::tempdir().unwrap();
    let missing = parent.path().join("missing");
    for command in [
        &["generate"][..],
        &["add", "service", "wallet"][..],
        &["generate", "--check"][..],
    ] {
        let output = stackr(
            parent.path(),
            &[&["-C", missing.to_str().unwrap()], command].concat(),
        );
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("stackr.config.json"),
            "{command:?}: {}",
            stderr(&output)
        );
    }
}

/// A key or a value pasted in by mistake can be megabytes long: the report quotes its start and
/// says how long it is, instead of printing all of it (into a terminal or a CI log).
#[test]
fn a_huge_unknown_key_or_value_is_quoted_by_its_start() {
    let huge = "q".repeat(1_000_000);
    let configs = [
        (
            "an unknown key",
            format!("{VALID_HEAD}    {{ \"name\": \"auth\", \"kind\": \"auth\", \"{huge}\": 1 }}\n  ]\n}}\n"),
        ),
        (
            "an unknown top-level key",
            format!("{{\n  \"name\": \"shop\",\n  \"{huge}\": 1,\n  \"services\": []\n}}\n"),
        ),
        (
            "an unknown kind",
            with_services(&format!("    {{ \"name\": \"core\", \"kind\": \"{huge}\" }}")),
        ),
        (
            "an unknown guard flavor",
            with_services(&format!(
                "    {{ \"name\": \"core\", \"authMiddleware\": \"{huge}\" }}"
            )),
        ),
    ];
    for (what, config) in configs {
        let message = generate_error(&config);
        assert!(
            message.len() < 2_000,
            "{what}: a report of {} bytes: {}…",
            message.len(),
            &message[..300]
        );
        assert!(
            message.contains("qqqq") && message.contains("1000000 characters"),
            "{what}: quotes the start and says how long it is: {message}"
        );
    }
}
