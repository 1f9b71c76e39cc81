//! `stackr add service`: ports, config, workspace member (comments kept), crate, regeneration,
//! and the all-or-nothing rollback.

use crate::common;

use common::{
    edit_config, init_project, read_config, stackr, stackr_with_env, stderr, stdout, tree,
};

#[test]
fn adds_a_service_end_to_end() {
    let (_parent, root) = init_project(&[]);
    // A user comment that toml_edit must keep.
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let cargo = cargo.replace(
        "[workspace.dependencies]",
        "# pinned on purpose\n[workspace.dependencies]",
    );
    std::fs::write(root.join("Cargo.toml"), &cargo).unwrap();

    let output = stackr(
        &root,
        &["add", "service", "wallet", "--roles", "finance,audit"],
    );
    assert!(output.status.success(), "{}", stderr(&output));

    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    assert!(config.contains("\"name\": \"wallet\""));
    assert!(
        config.contains("\"port\": 8081"),
        "next free port after core's 8080: {config}"
    );
    assert!(config.contains("\"authMiddleware\": \"role-gated\""));
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("    \"services/wallet\",\n]"), "{cargo}");
    assert!(cargo.contains("# pinned on purpose"), "{cargo}");
    assert!(root.join("services/wallet/src/bin/worker.rs").is_file());
    let compose = std::fs::read_to_string(root.join("process-compose.yaml")).unwrap();
    assert!(
        compose.contains("wallet-api:") && compose.contains("AUTH_PROVISION_SERVICES=core,wallet"),
        "auth provisions the new service"
    );
    assert!(
        compose.contains("AUTH_ROLES=audit,finance"),
        "auth accepts the roles the new service declares: {compose}"
    );
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn default_port_follows_the_highest_one_in_use() {
    let (_parent, root) = init_project(&[]);
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    std::fs::write(
        root.join("stackr.config.json"),
        config.replace("\"port\": 8080", "\"port\": 9000"),
    )
    .unwrap();
    let output = stackr(&root, &["add", "service", "billing"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(
            "if `stackr dev` is running, stop it (Ctrl-C) and start it again to run `billing`"
        ),
        "add service says a running stack must be restarted"
    );
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    assert!(
        config.contains("\"name\": \"billing\",\n      \"port\": 9001"),
        "the port after core's 9000: {config}"
    );
}

#[test]
fn role_gated_without_roles_asks_for_the_flag() {
    let (_parent, root) = init_project(&[]);
    let before = tree(&root);
    let output = stackr(
        &root,
        &[
            "add",
            "service",
            "billing",
            "--auth-middleware",
            "role-gated",
        ],
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("--roles"), "{message}");
    assert_eq!(tree(&root), before, "nothing written");
}

#[test]
fn explicit_port_flavor_and_no_worker() {
    let (_parent, root) = init_project(&[]);
    let output = stackr(
        &root,
        &[
            "add",
            "service",
            "feed",
            "--port",
            "9100",
            "--auth-middleware",
            "flexible",
            "--no-worker",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    assert!(
        config.contains("\"port\": 9100")
            && config.contains("\"flexible\"")
            && config.contains("\"worker\": false")
    );
    assert!(!root.join("services/feed/src/bin/worker.rs").exists());
}

#[test]
fn refusals_change_nothing() {
    let (_parent, root) = init_project(&[]);
    let before = tree(&root);
    for args in [
        vec!["add", "service", "core"],
        vec!["add", "service", "Bad"],
        vec!["add", "service", "x", "--port", "8080"],
        vec![
            "add",
            "service",
            "x",
            "--auth-middleware",
            "standard",
            "--roles",
            "a",
        ],
    ] {
        let output = stackr(&root, &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("panicked"));
        assert_eq!(tree(&root), before, "{args:?} changed the project");
    }
}

#[test]
fn injected_failure_rolls_everything_back() {
    let (_parent, root) = init_project(&[]);
    let before = tree(&root);
    // Fail at several points of the commit: first file, middle, last.
    for fail_after in ["0", "3", "8"] {
        let output = stackr_with_env(
            &root,
            &["add", "service", "wallet"],
            &[("STACKR_TEST_FAIL_AFTER", fail_after)],
        );
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("injected failure"),
            "{}",
            stderr(&output)
        );
        assert_eq!(
            tree(&root),
            before,
            "project changed after a failure at {fail_after}"
        );
    }
    // Without the injected failure the same command succeeds.
    let output = stackr(&root, &["add", "service", "wallet"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_ne!(tree(&root), before);
}

/// `add service` killed halfway through its writes (`kill -9`: no rollback runs) leaves a mixed
/// project; the next writing command finishes the writes, and the project is the one an
/// uninterrupted run makes.
#[test]
fn a_killed_add_service_is_finished_by_the_next_command() {
    let (_parent, reference) = init_project(&[]);
    let (_parent2, root) = init_project(&[]);
    assert!(stackr(&reference, &["add", "service", "wallet"])
        .status
        .success());
    let wanted = tree(&reference);
    let output = stackr_with_env(
        &root,
        &["add", "service", "wallet"],
        &[("STACKR_TEST_CRASH_AFTER", "4")],
    );
    assert!(!output.status.success(), "{}", stderr(&output));
    assert_ne!(tree(&root), wanted, "the kill left a mixed project");
    // A check in between says what is going on: the next writing command moves the project on
    // to the interrupted command's result, not back.
    let check = stackr(&root, &["generate", "--check"]);
    assert!(!check.status.success());
    let said = format!("{}{}", stdout(&check), stderr(&check));
    assert!(
        said.contains("an interrupted stackr command left .stackr-staging-")
            && said.contains("the next `stackr generate` finishes it"),
        "{said}"
    );
    let generate = stackr(&root, &["generate"]);
    assert!(generate.status.success(), "{}", stderr(&generate));
    assert!(
        stderr(&generate).contains("finished writing"),
        "{}",
        stderr(&generate)
    );
    assert_eq!(tree(&root), wanted);
}

/// Two `add service` at once: each waits for the other, and both services are added.
#[test]
fn concurrent_add_services_both_land() {
    let (_parent, root) = init_project(&[]);
    let spawn = |name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_stackr"))
            .args(["add", "service", name])
            .current_dir(&root)
            .output()
    };
    let (wallet, billing) = std::thread::scope(|s| {
        let wallet = s.spawn(|| spawn("wallet"));
        let billing = s.spawn(|| spawn("billing"));
        (
            wallet.join().unwrap().unwrap(),
            billing.join().unwrap().unwrap(),
        )
    });
    assert!(wallet.status.success(), "{}", stderr(&wallet));
    assert!(billing.status.success(), "{}", stderr(&billing));
    let config = read_config(&root);
    let names: Vec<&str> = config["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"wallet") && names.contains(&"billing"),
        "{names:?}"
    );
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

/// A service added makes the dev port ranges grow by one port each; when a range grows over an
/// existing service's port, the refusal names the file, the JSON path and that service.
#[test]
fn a_range_grown_over_a_port_is_refused_naming_the_path_and_the_service() {
    let (_parent, root) = init_project(&[]);
    let start = read_config(&root)["dev"]["postgresPortStart"]
        .as_u64()
        .unwrap();
    // Two services now (ports start..start+1); with a third, the range reaches start+2.
    edit_config(&root, |config| {
        config["services"][1]["port"] = (start + 2).into();
    });
    let before = tree(&root);

    let added = stackr(&root, &["add", "service", "billing"]);
    assert_eq!(added.status.code(), Some(2));
    let message = stderr(&added);
    assert!(
        message.contains("stackr.config.json (with `billing` added): at `dev.postgresPortStart`")
            && message.contains(&format!("port {} of `core`", start + 2)),
        "{message}"
    );
    assert_eq!(tree(&root), before, "nothing written");
}

#[test]
fn the_users_config_layout_is_kept() {
    let (_parent, root) = init_project(&[]);
    // The user's own layout: four-space indent, their key order, one line per service, defaults
    // left out.
    let mine = r#"{
    "name": "shop",
    "services": [
        { "name": "auth", "kind": "auth", "port": 8888, "adminPort": 3333 },
        { "name": "core", "port": 8080, "authMiddleware": "standard" }
    ],
    "$schema": "./stackr.schema.json"
}
"#;
    std::fs::write(root.join("stackr.config.json"), mine).unwrap();
    let output = stackr(&root, &["add", "service", "billing", "--roles", "finance"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    let added = r#"        { "name": "core", "port": 8080, "authMiddleware": "standard" },
        { "name": "billing", "port": 8081, "authMiddleware": "role-gated", "roles": [ "finance" ] }
    ],"#;
    assert_eq!(
        config,
        mine.replace(
            "        { \"name\": \"core\", \"port\": 8080, \"authMiddleware\": \"standard\" }\n    ],",
            added
        ),
        "only the new service is added"
    );

    // One service per block, as `init` writes them: the new one is a block like the others.
    let (_parent, root) = init_project(&[]);
    let mine = r#"{
  "name": "shop",
  "services": [
    {
      "name": "auth",
      "kind": "auth"
    },
    {
      "name": "core"
    }
  ]
}
"#;
    std::fs::write(root.join("stackr.config.json"), mine).unwrap();
    let output = stackr(
        &root,
        &[
            "add", "service", "ledger", "--port", "9000", "--roles", "audit",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    let expected = mine.replace(
        "      \"name\": \"core\"\n    }\n",
        "      \"name\": \"core\"\n    },\n    {\n      \"name\": \"ledger\",\n      \"port\": 9000,\n      \"authMiddleware\": \"role-gated\",\n      \"roles\": [\n        \"audit\"\n      ]\n    }\n",
    );
    assert_eq!(config, expected);
    let check = stackr(&root, &["generate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
}

/// A project `stackr generate` made from a config alone has no workspace manifest for the new
/// crate: the refusal says how to make one, changes nothing, and what it says works.
#[test]
fn a_project_without_a_workspace_manifest_is_told_how_to_make_one() {
    let dir = common::project_with_config(&common::fixture_config("minimal"));
    let generate = stackr(dir.path(), &["generate"]);
    assert!(generate.status.success(), "{}", stderr(&generate));
    let before = tree(dir.path());

    let refused = stackr(dir.path(), &["add", "service", "billing"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let said = stderr(&refused);
    assert!(
        said.contains("help:") && said.contains("members = []"),
        "{said}"
    );
    assert_eq!(tree(dir.path()), before);

    std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
    let added = stackr(dir.path(), &["add", "service", "billing"]);
    assert!(added.status.success(), "{}", stderr(&added));
}

/// `--roles` takes a comma list as `init --roles` does: spaces after the commas are no part of a
/// role (`finance, audit` was refused as the role ` audit`), and an empty entry (`finance,,audit`,
/// `""`) is refused at the flag, saying so, not as the config's "invalid role ``".
#[test]
fn roles_are_read_as_a_comma_list() {
    let (_parent, root) = init_project(&[]);
    let output = stackr(
        &root,
        &["add", "service", "wallet", "--roles", "finance, audit"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        read_config(&root)["services"][2]["roles"],
        serde_json::json!(["finance", "audit"])
    );
    let before = tree(&root);
    for roles in ["finance,,audit", ""] {
        let output = stackr(&root, &["add", "service", "ledger", "--roles", roles]);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{roles:?}: {message}");
        assert!(
            message.contains("--roles") && message.contains("empty role"),
            "{roles:?}: {message}"
        );
        assert_eq!(tree(&root), before, "nothing written");
    }
}
