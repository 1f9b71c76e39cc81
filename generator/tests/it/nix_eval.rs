//! Evaluates the generated Nix with `nix-instantiate --eval` (pure expressions, stubbed `pkgs`)
//! and compares the values with the plan: the Nix says what the config says. Skipped when
//! nix-instantiate is not installed (nixpkgs itself is never needed).

use crate::common;

use common::{
    fixture_config, fixture_plan, generated_project, nix_eval_json, nix_instantiate_available,
    FIXTURES,
};
use serde_json::Value;
use stackr_testkit::machine_calls;

/// Writes the fixture's generated files into a temp dir and evaluates `expression` there.
fn eval(fixture: &str, expression: &str) -> Value {
    let project = generated_project(&fixture_config(fixture));
    nix_eval_json(project.path(), expression, fixture)
}

#[test]
fn stackr_nix_sets_the_planned_values() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    for fixture in FIXTURES {
        let plan = fixture_plan(fixture);
        let value = eval(
            fixture,
            "let m = import ./nix/stackr.nix { packagesFor = pkgs: builtins.mapAttrs (n: _: \"pkg-\" + n) (import ./nix/packages.nix { craneLib = pkgs.craneLib; src = /src; }); }; \
             in (m { pkgs = { craneLib = { buildDepsOnly = a: a; buildPackage = a: a; }; }; \
             lib.mkDefault = content: { _type = \"override\"; priority = 1000; inherit content; }; }).stackr",
        );
        // What a host may set its own way is a default (`lib.mkDefault`, as nixpkgs' lib
        // defines it), which the host's plain definition replaces; the rest is plain.
        let default = |content: serde_json::Value| serde_json::json!({ "_type": "override", "priority": 1000, "content": content });
        assert_eq!(value["enable"], true);
        assert_eq!(
            value["stateDir"],
            default(plan.deploy_state_dir.clone().into())
        );
        assert_eq!(
            value["postgresql"]["mode"],
            serde_json::json!(plan.deploy_postgres_mode)
        );
        let services = value["services"].as_object().unwrap();
        assert_eq!(services.len(), plan.services.len(), "{fixture}");
        for service in &plan.services {
            let nix = &value["services"][&service.name];
            assert_eq!(
                nix["kind"],
                serde_json::json!(service.kind),
                "{fixture}/{}",
                service.name
            );
            assert_eq!(
                nix["package"],
                default(format!("pkg-{}", service.name).into())
            );
            assert_eq!(nix["port"], default(service.port.into()));
            assert_eq!(
                nix["redis"]["port"],
                default(service.deploy_redis_port.into())
            );
            match service.deploy_postgres_port {
                Some(port) => assert_eq!(nix["postgres"]["port"], default(port.into())),
                None => assert!(nix["postgres"]["port"].is_null()),
            }
            assert_eq!(
                nix["worker"]["enable"],
                default(service.worker_bin.is_some().into())
            );
            assert_eq!(
                nix["worker"]["concurrency"],
                default(service.worker_concurrency.into())
            );
            match service.middleware {
                Some(flavor) => assert_eq!(nix["authMiddleware"], serde_json::json!(flavor)),
                None => assert!(nix.get("authMiddleware").is_none()),
            }
            for extra in &service.extra_env {
                assert_eq!(
                    nix["environment"][&extra.name],
                    default(extra.value.clone().into())
                );
            }
        }
        match plan.services.iter().find(|s| s.is_auth()) {
            // Defaults (`lib.mkDefault`, as nixpkgs' lib defines it), which a host replaces
            // with its public address and origins.
            Some(auth) => {
                assert_eq!(
                    value["auth"]["baseUrl"],
                    default(serde_json::json!(auth.base_url.clone().unwrap()))
                );
                assert_eq!(
                    value["auth"]["trustedOrigins"],
                    default(serde_json::json!(auth.trusted_origins))
                );
            }
            None => assert!(value.get("auth").is_none(), "{fixture}"),
        }
    }
}

#[test]
fn packages_nix_builds_each_service_package() {
    if !nix_instantiate_available() {
        return;
    }
    for fixture in FIXTURES {
        let plan = fixture_plan(fixture);
        let value = eval(fixture, "import ./nix/packages.nix { craneLib = { buildDepsOnly = a: a // { deps = true; }; buildPackage = a: a; }; src = \"/src\"; }");
        for service in &plan.services {
            let package = &value[&service.name];
            assert_eq!(package["pname"], service.package);
            assert_eq!(
                package["cargoExtraArgs"],
                format!("--locked --package {}", service.package)
            );
            // Every service reuses the one dependency build.
            assert_eq!(package["cargoArtifacts"], value["cargoArtifacts"]);
            assert_eq!(package["cargoArtifacts"]["deps"], true);
            assert_eq!(package["src"], "/src");
        }
    }
}

#[test]
fn vm_test_checks_readiness_and_every_pair_isolation() {
    if !nix_instantiate_available() {
        return;
    }
    for fixture in FIXTURES {
        let plan = fixture_plan(fixture);
        let project = generated_project(&fixture_config(fixture));
        let value = common::nixos::evaluate_vm_test(project.path());
        // The deployed system, to know where its processes reach their stores.
        let system =
            common::nixos::evaluate_system(&common::nixos::modules_dir(), project.path(), "{ }")
                .unwrap();
        assert_eq!(value["name"], format!("stackr-{}", plan.project));
        let calls = machine_calls(value["testScript"].as_str().unwrap());
        let ran = |method: &str, parts: &[&str]| {
            calls
                .iter()
                .any(|c| c.method == method && parts.iter().all(|part| c.argument.contains(part)))
        };
        let secrets = format!("{}/secrets", plan.deploy_state_dir);
        for service in &plan.services {
            let api = format!("stackr-{}-api.service", service.name);
            assert!(ran("wait_for_unit", &[&api]), "{fixture}: waits for {api}");
            let health = format!("http://127.0.0.1:{}/health", service.port);
            assert!(ran("succeed", &[&health]), "{fixture}: probes {health}");
            if service.worker_bin.is_some() {
                let worker = format!("stackr-{}-worker.service", service.name);
                assert!(
                    ran("wait_for_unit", &[&worker]),
                    "{fixture}: waits for {worker}"
                );
            }
        }
        // With auth, a session signed up before the reboot is checked after it.
        if let Some(auth) = plan.services.iter().find(|s| s.is_auth()) {
            let check = format!("http://127.0.0.1:{}/api/auth/get-session", auth.port);
            let reboot = calls.iter().position(|c| c.method == "shutdown").unwrap();
            assert!(
                calls[reboot..].iter().any(|c| c.argument.contains(&check)),
                "{fixture}: {check} after the reboot"
            );
        }
        // Every service's role and Redis password are refused by every other service's server,
        // and open its own.
        for own in &plan.services {
            let db_password = format!("cat {secrets}/{}-db-password", own.name);
            let redis_password = format!("cat {secrets}/{}-redis-password", own.name);
            for other in &plan.services {
                // Where `other`'s processes reach its database (systemd reads `%%` as `%`), as
                // `own`'s role; and its Redis's socket.
                let url = system["units"][format!("stackr-{}-api", other.name)]["environment"]
                    ["DATABASE_URL"]
                    .as_str()
                    .unwrap()
                    .replace("%%", "%");
                let (_, at) = url.split_once('@').unwrap();
                let target = format!("psql -X 'postgres://{}@{at}'", own.db_name);
                let socket = system["redis"][&other.name]["unixSocket"].as_str().unwrap();
                let redis = format!("redis-cli -s {socket} ping");
                let expected = if other.name == own.name {
                    "succeed"
                } else {
                    "fail"
                };
                assert!(
                    ran(expected, &[&db_password, &target]),
                    "{fixture}: {own_name}'s role at {other_name}'s database must {expected}",
                    own_name = own.name,
                    other_name = other.name
                );
                assert!(
                    ran(expected, &[&redis_password, &redis]),
                    "{fixture}: {own_name}'s password at {other_name}'s Redis must {expected}",
                    own_name = own.name,
                    other_name = other.name
                );
            }
        }
    }
}

#[test]
fn dev_app_runs_process_compose() {
    if !nix_instantiate_available() {
        return;
    }
    let value = eval("minimal", DEV_APP);
    assert_eq!(value["name"], "minimal-dev");
    assert!(value["text"]
        .as_str()
        .unwrap()
        .contains("process-compose --config process-compose.yaml up"));
}

/// The dev app, its packages stood in for: its name and shell text.
const DEV_APP: &str = "import ./nix/dev.nix { pkgs = { writeShellApplication = a: { inherit (a) name text; }; process-compose = 1; postgresql = 1; redis = 1; cargo = 1; rustc = 1; stdenv.cc = 1; util-linux = 1; coreutils = 1; gnugrep = 1; gnused = 1; }; }";

/// `nix run .#dev` with a cargo config that moves the build (`build.target-dir`): its processes
/// run their binaries from `${CARGO_TARGET_DIR:-target}/debug`, so the app hands them the folder
/// cargo builds in, or they would not find their binaries (or run old ones left in `target/`).
/// The app's text runs here with a `process-compose` that records what it was given.
#[test]
fn the_dev_app_hands_its_processes_the_folder_a_cargo_config_builds_in() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    let config = fixture_config("minimal");
    let project = generated_project(&config);
    let root = project.path();
    std::fs::write(root.join("stackr.config.json"), &config).unwrap();
    let text = nix_eval_json(root, DEV_APP, "minimal")["text"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    std::fs::write(
        root.join(".cargo/config.toml"),
        "[build]\ntarget-dir = \"elsewhere\"\n",
    )
    .unwrap();
    let bin = tempfile::tempdir().unwrap();
    let given = bin.path().join("given");
    let stubs = [
        (
            "process-compose",
            format!(
                "#!/bin/sh\necho \"${{CARGO_TARGET_DIR-unset}}\" > '{}'\n",
                given.display()
            ),
        ),
        (
            "cargo",
            format!("#!/bin/sh\nexec '{}' \"$@\"\n", env!("CARGO")),
        ),
    ];
    for (name, script) in stubs {
        let path = bin.path().join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    let run = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &text])
        .current_dir(root)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&given).unwrap().trim_end(),
        root.canonicalize()
            .unwrap()
            .join("elsewhere")
            .to_str()
            .unwrap()
    );
}
