//! The NixOS deployment of the repository's own project, run for real: the units of the module
//! evaluation rendered as NixOS writes them, booted by systemd as PID 1 in a container
//! (`stackr_checks::systemd`), then checked from inside as the generated VM test checks a NixOS
//! machine, and more. One boot serves every check (booting initialises three PostgreSQL
//! clusters): the checks run in order, the disruptive ones (a stopped database, a reboot) last.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use stackr_checks::secret::random_secret;
use stackr_checks::systemd::curl::{quoted, Answer};
use stackr_checks::systemd::{evaluate_repository, example_job, render_system, Entry};

use crate::common::deployment::{Deployment, BOOT, HOST, SETTLE};
use crate::common::host_steps::{
    a_job_runs_through_each_worker, a_reboot_keeps_users_sessions_and_queued_jobs,
    every_api_is_healthy, every_unit_is_active_through_its_readiness_notification,
    sign_up_and_provisioning_work, the_set_role_command_makes_the_first_admin,
};

/// What only this check does with its host: deploys and secret changes.
impl Deployment {
    /// A deploy of the evaluation with `host`, applied as NixOS's switch-to-configuration
    /// applies it: the units of the new evaluation written over the old ones, `systemctl
    /// daemon-reload`, then, for each active unit whose definition changed, what
    /// switch-to-configuration does (nixpkgs' switch-to-configuration-ng `compare_units` and
    /// `handle_modified_unit`): nothing for a `.socket` unit; a reload for a service whose reload
    /// triggers alone changed (nixpkgs writes them as `X-Reload-Triggers=`); a restart for any
    /// other service (`stopIfChanged = false`) or a stop and start. Reloads run first, then
    /// restarts, then starts. The harness renders no `X-Reload-Triggers=` line, so the changed
    /// triggers are read from the evaluations. The units restarted.
    fn deploy(&mut self, host: String) -> Vec<String> {
        let changed = evaluate_repository(&host).unwrap();
        let (old_root, _) = render_system(&self.system).unwrap();
        let (new_root, _) = render_system(&changed).unwrap();
        for (path, entry) in &new_root {
            if old_root.get(path) == Some(entry) {
                continue;
            }
            match entry {
                Entry::File {
                    content,
                    executable,
                } => {
                    let mode = if *executable { "755" } else { "644" };
                    let script = format!(
                        "mkdir -p \"$(dirname /{path})\" && cat > /{path} && chmod {mode} /{path}"
                    );
                    let output = self
                        .machine
                        .run_with_input(&script, content.as_bytes())
                        .unwrap();
                    assert!(output.status.success(), "writing /{path}: {output:?}");
                }
                Entry::Symlink { target } => {
                    self.sh(&format!(
                        "mkdir -p \"$(dirname /{path})\" && ln -sfn {} /{path}",
                        quoted(target)
                    ));
                }
                Entry::Private { .. } => panic!("the deploy changed a secret file: /{path}"),
            }
        }
        self.sh("systemctl daemon-reload");
        let (mut reload, mut restart) = (Vec::new(), Vec::new());
        for (name, unit) in changed["units"].as_object().unwrap() {
            let old = &self.system["units"][name];
            if old == unit || old.is_null() {
                continue;
            }
            let without_triggers = |unit: &Value| {
                let mut unit = unit.clone();
                unit.as_object_mut().unwrap().remove("reloadTriggers");
                unit
            };
            if without_triggers(old) == without_triggers(unit) {
                reload.push(format!("{name}.service"));
            } else {
                restart.push(format!("{name}.service"));
            }
        }
        eprintln!("the deploy reloads {reload:?}, restarts {restart:?}");
        for unit in &reload {
            self.sh(&format!("timeout 120 systemctl reload {unit}"));
        }
        if !restart.is_empty() {
            self.sh(&format!(
                "timeout 120 systemctl restart {}",
                restart.join(" ")
            ));
        }
        self.host = host;
        self.system = changed;
        restart
    }

    /// The journal of `unit` since `since` (a `date +%s` of the container).
    fn journal_since(&self, unit: &str, since: &str) -> String {
        self.sh(&format!(
            "journalctl --no-pager -o cat -u {unit} --since @{}",
            since.trim()
        ))
    }

    /// Replaces secret `file` as an operator does: a new value in the host's secrets folder,
    /// root's alone as `stackr.secrets.generate` made it (`umask 077`), written beside it and
    /// renamed. The old value.
    fn replace_secret(&self, file: &str, value: &str) -> String {
        let old = self.secret(file);
        let path = format!("{}/{file}", self.secrets_dir);
        let output = self
            .machine
            .run_with_input(
                &format!("umask 077 && cat > {path}.new && mv {path}.new {path}"),
                value.as_bytes(),
            )
            .unwrap();
        assert!(output.status.success(), "writing {path}: {output:?}");
        assert_eq!(
            self.sh(&format!("stat -c '%U %a' {path}")).trim(),
            "root 600"
        );
        old
    }
}

/// An API stopped (a deploy, a crash) leaves its port bound by systemd's socket unit, where no
/// other local user can take it; the next request waits in that socket's queue, starts the API
/// again, and is answered by it.
fn a_stopped_api_keeps_its_port_and_the_next_request_starts_it(d: &Deployment) {
    let auth = d
        .services
        .iter()
        .find(|s| s.is_auth)
        .expect("an auth service");
    let unit = format!("stackr-{}-api.service", auth.name);
    d.sh(&format!("systemctl stop {unit}"));
    let holder = d.sh(&format!("ss -Hltnp 'sport = :{}'", auth.port));
    assert!(
        holder.contains("systemd") && !holder.contains("-api"),
        "port {} while {unit} is stopped: {holder:?}",
        auth.port
    );
    let answer = d.get(&auth.name, "/health", None);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        d.sh(&format!("systemctl is-active {unit}")).trim(),
        "active"
    );
}

fn each_service_is_locked_out_of_the_others_stores(d: &Deployment) {
    for own in &d.services {
        d.psql(&own.name, &own.name, &own.name, "SELECT 1")
            .unwrap_or_else(|e| panic!("{} cannot open its own database: {e}", own.name));
        assert_eq!(
            d.redis(&own.name, &own.name, "PING"),
            "PONG",
            "{}",
            own.name
        );
        for other in d.services.iter().filter(|o| o.name != own.name) {
            let refused = d.psql(&own.name, &other.name, &other.name, "SELECT 1");
            assert!(
                refused.is_err(),
                "role {} opened {}'s database: {refused:?}",
                own.name,
                other.name
            );
            let answer = d.redis(&other.name, &own.name, "PING");
            assert_ne!(
                answer, "PONG",
                "{}'s Redis took {}'s password",
                other.name, own.name
            );
            // Another local identity does not even reach the sockets (their folders are the
            // servers' groups' alone), with the right password in hand.
            let clients = [
                (
                    "PostgreSQL",
                    format!(
                        "PGPASSWORD={} psql -X -At -h /run/stackr-{}-postgresql -p {} -U {} -d {} -c 'SELECT 1'",
                        quoted(&d.secret(&format!("{}-db-password", other.name))),
                        other.name,
                        other.postgres_port,
                        other.name,
                        other.name
                    ),
                ),
                (
                    "Redis",
                    format!(
                        "REDISCLI_AUTH={} redis-cli --no-auth-warning -s {} PING",
                        quoted(&d.secret(&format!("{}-redis-password", other.name))),
                        other.redis_socket
                    ),
                ),
            ];
            for (store, client) in clients {
                let (variable, command) = client.split_once(' ').unwrap();
                let as_own = d.machine.run(&format!(
                    "{variable} setpriv --reuid=stackr-{0} --regid=stackr-{0} --init-groups {command} 2>&1",
                    own.name
                ));
                let as_own = String::from_utf8_lossy(&as_own.unwrap().stdout).into_owned();
                assert!(
                    as_own.contains("Permission denied"),
                    "stackr-{} reached {}'s {store} socket: {as_own}",
                    own.name,
                    other.name
                );
            }
        }
    }
    // No TCP listener of any PostgreSQL or Redis for a local user to stand in for while it is
    // down.
    let listening = d.sh("ss -Hltnp");
    assert!(
        !listening.contains("redis-server") && !listening.contains("postgres"),
        "a store listens on TCP:\n{listening}"
    );
}

/// No secret value appears in any unit's `systemctl show`, any process's environment or command
/// line, nor in the store (the rendered unit scripts and configs).
fn no_secret_in_unit_properties_process_environments_or_the_store(d: &Deployment) {
    let files = d.sh(&format!("ls {}", d.secrets_dir));
    let secrets: BTreeMap<String, String> = files
        .split_whitespace()
        .map(|f| (f.to_owned(), d.secret(f)))
        .collect();
    assert!(secrets.len() >= d.services.len() * 2, "{secrets:?}");
    let shown = d.sh("systemctl show '*' --no-pager");
    let environments =
        d.sh("for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f 2>/dev/null; done");
    let processes = d.sh("ps -eo user,args --no-headers");
    // Symlinks (the table's packages) are not followed: only the store files the units name.
    let store = d.sh("cat $(find /nix/store -type f)");
    assert!(
        store.contains("requirepass"),
        "the store files were not read"
    );
    for (file, value) in &secrets {
        assert_eq!(value.len(), 48, "{file}");
        assert!(
            !shown.contains(value.as_str()),
            "systemctl show reveals {file}"
        );
        assert!(
            !environments.contains(value.as_str()),
            "a process environment holds {file}"
        );
        assert!(
            !processes.contains(value.as_str()),
            "a command line holds {file}"
        );
        assert!(!store.contains(value.as_str()), "the store holds {file}");
    }
    // The environments were really read: the services' variables are in them.
    assert!(
        environments.contains("DATABASE_PASSWORD_FILE="),
        "no service environment was read"
    );
}

/// The sandbox settings that apply in the container do their job: a unit with
/// `IPAddressAllow=localhost` is unreachable from another host while the others answer, and a
/// unit with `PrivateUsers=` (kept where the container allows it) runs in its own user namespace.
fn network_and_user_namespace_sandboxing_apply(d: &Deployment) {
    let address = d.machine.address().unwrap();
    let reachable = |port: u64| {
        let target = format!("{address}:{port}").parse().unwrap();
        std::net::TcpStream::connect_timeout(&target, Duration::from_secs(5)).is_ok()
    };
    for s in &d.services {
        let config = &d.system["units"][format!("stackr-{}-api", s.name)]["serviceConfig"];
        let local_only = config["IPAddressAllow"] == "localhost";
        assert_eq!(
            reachable(s.port),
            !local_only,
            "{} API from another host (IPAddressAllow={})",
            s.name,
            config["IPAddressAllow"]
        );
    }
    for s in &d.services {
        let unit = format!("redis-{}", s.name);
        assert_eq!(
            d.system["units"][&unit]["serviceConfig"]["PrivateUsers"],
            true
        );
        let pid = d.sh(&format!(
            "systemctl show --property=MainPID --value {unit}.service"
        ));
        let map = d.sh(&format!("cat /proc/{}/uid_map", pid.trim()));
        assert!(
            !map.split_whitespace().eq(["0", "0", "4294967295"]),
            "{unit} runs in the initial user namespace: {map}"
        );
    }
}

/// A unit in a user namespace of its own still reaches its stores' sockets through the groups it
/// joins, as every API and worker unit does on a host, where `PrivateUsers=` applies beside
/// `ProtectProc=` (the container drops it from those units): the groups are set before the
/// namespace is made. The same unit without those groups is refused at the socket folders, so the
/// groups are what lets it through.
fn store_groups_reach_the_sockets_from_a_private_user_namespace(d: &Deployment) {
    let redis_cli = d.sh("command -v redis-cli");
    let psql = d.sh("command -v psql");
    for s in &d.services {
        let config = &d.system["units"][format!("stackr-{}-api", s.name)]["serviceConfig"];
        let groups: Vec<&str> = config["SupplementaryGroups"]
            .as_array()
            .unwrap_or_else(|| panic!("{} API unit has no store groups: {config}", s.name))
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        assert!(!groups.is_empty(), "{}", s.name);
        // No password is given: reaching the server is what is checked, and it asks for one.
        let probe = format!(
            "cat /proc/self/uid_map; {} -s {} PING; {} -X -w -h /run/stackr-{}-postgresql -p {} -U {} -d {} -c 'SELECT 1'",
            redis_cli.trim(),
            s.redis_socket,
            psql.trim(),
            s.name,
            s.postgres_port,
            s.name,
            s.name
        );
        let run = |groups: &[&str]| {
            let joined: String = groups
                .iter()
                .map(|g| format!("--property=SupplementaryGroups={g} "))
                .collect();
            d.sh(&format!(
                "systemd-run --quiet --wait --pipe --collect --uid={0} --gid={0} --property=PrivateUsers=true {joined}/bin/sh -c {1} 2>&1 || true",
                config["User"].as_str().unwrap(),
                quoted(&probe)
            ))
        };
        let with_groups = run(&groups);
        let uid_map = with_groups.lines().next().unwrap_or_default();
        assert!(
            uid_map.split_whitespace().count() == 3
                && !uid_map.split_whitespace().eq(["0", "0", "4294967295"]),
            "{}: the probe ran in the initial user namespace: {with_groups}",
            s.name
        );
        assert!(
            with_groups.contains("NOAUTH") && with_groups.contains("no password supplied"),
            "{}: from a private user namespace with groups {groups:?}, the stores answered:\n{with_groups}",
            s.name
        );
        let without = run(&[]);
        assert_eq!(
            without.matches("Permission denied").count(),
            2,
            "{}: without its store groups the probe reached a socket:\n{without}",
            s.name
        );
    }
}

/// Every process of the stack runs as its unit's identity: no service process runs as root.
fn every_process_runs_as_its_units_identity(d: &Deployment) {
    for unit in d.units() {
        let config = &d.system["units"][&unit]["serviceConfig"];
        if config["Type"] == "oneshot" {
            continue;
        }
        let pid = d.sh(&format!(
            "systemctl show --property=MainPID --value {unit}.service"
        ));
        let user = d.sh(&format!("ps -o user= -p {}", pid.trim()));
        assert_eq!(user.trim(), config["User"].as_str().unwrap(), "{unit}");
    }
}

/// Each service's state, database and Redis folders belong to its own identity, mode 0700, and
/// no other service identity can list them.
fn each_service_owns_its_files_alone(d: &Deployment) {
    let state_dir = d.system["stackr"]["stateDir"].as_str().unwrap();
    let mut folders = Vec::new();
    for s in &d.services {
        folders.push((
            format!("{state_dir}/{}", s.name),
            format!("stackr-{}", s.name),
        ));
        folders.push((
            format!("{state_dir}/postgresql/{}", s.name),
            format!("stackr-{}-pg", s.name),
        ));
        folders.push((
            format!("/var/lib/redis-{}", s.name),
            format!("redis-{}", s.name),
        ));
    }
    for (folder, owner) in &folders {
        let stat = d.sh(&format!("stat -c '%U %a' {folder}"));
        assert_eq!(stat.trim(), format!("{owner} 700"), "{folder}");
        for (_, other) in folders.iter().filter(|(_, o)| o != owner) {
            assert!(
                !d.succeeds(&format!(
                    "setpriv --reuid={other} --regid={other} --clear-groups ls {folder}"
                )),
                "{other} can list {folder}"
            );
        }
        assert!(
            d.succeeds(&format!(
                "setpriv --reuid={owner} --regid={owner} --clear-groups ls {folder}"
            )),
            "{owner} cannot list its own {folder}"
        );
    }
}

/// `stackr-secrets`, run by systemd in its sandbox (root without capabilities, no network, the
/// file system read-only but for its state folder), made every secret root's alone in a folder
/// root's alone: systemd took every setting (none left out as unknown), and the unit succeeded.
fn the_secrets_oneshot_made_root_only_files_in_its_sandbox(d: &Deployment) {
    let shown = d.show(
        "stackr-secrets",
        "Result,ProtectSystem,ProtectHome,PrivateNetwork,PrivateTmp,PrivateDevices,NoNewPrivileges,RestrictAddressFamilies,CapabilityBoundingSet,SystemCallArchitectures,UMask,User",
    );
    for setting in [
        "Result=success",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        "PrivateNetwork=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_UNIX",
        "CapabilityBoundingSet=",
        "SystemCallArchitectures=native",
        "UMask=0077",
        "User=",
    ] {
        assert!(
            shown.lines().any(|line| line == setting),
            "stackr-secrets lacks {setting}:\n{shown}"
        );
    }
    assert_eq!(
        d.sh(&format!("stat -c '%U %G %a' {}", d.secrets_dir))
            .trim(),
        "root root 700"
    );
    let files = d.sh(&format!("ls {}", d.secrets_dir));
    assert!(
        files.split_whitespace().count() >= d.services.len() * 2,
        "{files}"
    );
    for file in files.split_whitespace() {
        let path = format!("{}/{file}", d.secrets_dir);
        assert_eq!(
            d.sh(&format!("stat -c '%U %G %a' {path}")).trim(),
            "root root 600",
            "{path}"
        );
        assert_eq!(d.secret(file).len(), 48, "{path}");
    }
    // The container drops `PrivateUsers=` beside `ProtectProc=` (see container_limits.rs), as
    // from this unit. Without ProtectProc, a root unit of the same sandbox in a user namespace of
    // its own still writes a file root's alone into its state folder.
    let probe = d.sh(
        "systemd-run --quiet --wait --pipe --collect --property=PrivateUsers=true \
         --property=ProtectSystem=strict --property=PrivateNetwork=true --property=CapabilityBoundingSet= \
         --property=NoNewPrivileges=true --property=UMask=0077 --property=StateDirectory=stackr-probe \
         /bin/sh -c 'cat /proc/self/uid_map; echo secret > /var/lib/stackr-probe/file.new && mv /var/lib/stackr-probe/file.new /var/lib/stackr-probe/file' 2>&1",
    );
    assert!(
        !probe.split_whitespace().eq(["0", "0", "4294967295"]),
        "the probe ran in the initial user namespace: {probe}"
    );
    assert_eq!(
        d.sh("stat -c '%U %G %a' /var/lib/stackr-probe/file && rm -r /var/lib/stackr-probe")
            .trim(),
        "root root 600",
        "{probe}"
    );
}

/// docs/deploy.md, "Rotating a password": what `colmena exec --on @core` runs on the host, the
/// units reading core's passwords restarted together by pattern.
const RESTART_CORE_PASSWORD_READERS: &str = "timeout 300 systemctl restart 'stackr-core-d[b].service' 'redis-cor[e].service' 'stackr-core-api*.service' 'stackr-core-worker*.service'";

/// Core's PostgreSQL and Redis passwords replaced and the units restarted as docs/deploy.md says:
/// every unit active again, the signed-in user served, its record and the queue kept, jobs
/// running, and the old passwords refused.
fn rotating_a_services_passwords_keeps_it_serving(d: &Deployment, cookie: &str, user_id: &str) {
    // A worker stopped by hand is not restarted by the patterns (systemctl matches only the
    // units in memory, which an inactive unit is not): the job may complete before the restart.
    let queued = d.enqueue("core", &example_job("core"));
    let completed = d.redis("core", "core", "ZCARD bull:core:completed");
    let old_db = d.replace_secret("core-db-password", &random_secret(48));
    let old_redis = d.replace_secret("core-redis-password", &random_secret(48));
    d.sh(RESTART_CORE_PASSWORD_READERS);
    every_unit_is_active_through_its_readiness_notification(d);
    let me = d.get("core", "/me", Some(cookie));
    assert!(
        me.status == 200 && me.body.contains(user_id),
        "core after rotating its passwords: {me:?}"
    );
    let stored = d.psql(
        "core",
        "core",
        "core",
        &format!("SELECT count(*) FROM stackr_user WHERE user_id = '{user_id}'"),
    );
    assert_eq!(
        stored,
        Ok("1".to_owned()),
        "core's records after the rotation"
    );
    d.wait_for_job("core", &queued);
    let kept = d.redis("core", "core", "ZCARD bull:core:completed");
    assert!(
        kept.parse::<u64>().unwrap() >= completed.parse::<u64>().unwrap(),
        "core's completed jobs: {completed} before the rotation, {kept} after"
    );
    a_job_runs_through_each_worker(d);
    let refused = d.psql_with("core", &old_db, "core", "core", "SELECT 1");
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("password authentication failed")),
        "core's old database password: {refused:?}"
    );
    let refused = d.redis_with("core", &old_redis, "PING");
    assert!(
        refused.contains("WRONGPASS"),
        "core's old Redis password: {refused:?}"
    );
}

/// The mistakes docs/deploy.md warns of: a new database password with only the API restarted
/// (its start fails, the journal says why), a new Redis password with only Redis restarted (the
/// API's health and the worker's journal say why, a job waits). Restarting the units together, as
/// the guide says, recovers without losing the job.
fn a_password_rotation_restarting_one_unit_fails_clearly_and_recovers(
    d: &Deployment,
    cookie: &str,
) {
    let since = d.sh("date +%s");
    d.replace_secret("core-db-password", &random_secret(48));
    let started = d
        .machine
        .run("timeout 120 systemctl restart 'stackr-core-api*.service'")
        .unwrap();
    assert!(
        !started.status.success(),
        "core's API started with a password its server does not take"
    );
    let journal = d.journal_since("stackr-core-api.service", &since);
    assert!(
        journal.contains("password authentication failed for user \"core\""),
        "core's API journal after a failed start:\n{journal}"
    );
    d.sh(RESTART_CORE_PASSWORD_READERS);
    every_unit_is_active_through_its_readiness_notification(d);
    let me = d.get("core", "/me", Some(cookie));
    assert_eq!(me.status, 200, "core after the recovery: {me:?}");

    let since = d.sh("date +%s");
    d.replace_secret("core-redis-password", &random_secret(48));
    d.sh("timeout 120 systemctl restart 'redis-cor[e].service'");
    let queued = d.enqueue("core", &example_job("core"));
    // The API's health check logs why Redis fails (the first, on the connection Redis closed,
    // may only time out).
    for unit in ["stackr-core-api", "stackr-core-worker"] {
        d.wait_for(
            &format!("{unit}'s journal to name the refusal"),
            SETTLE,
            || {
                let health = d.get("core", "/health", None);
                if health.status != 503 || !health.body.contains("\"redis\":\"unavailable\"") {
                    return Err(format!("core's health: {health:?}"));
                }
                let journal = d.journal_since(&format!("{unit}.service"), &since);
                journal.contains("WRONGPASS").then_some(()).ok_or(journal)
            },
        );
    }
    d.sh(RESTART_CORE_PASSWORD_READERS);
    every_unit_is_active_through_its_readiness_notification(d);
    d.wait_for_job("core", &queued);
}

/// Core's credential towards auth replaced. Auth's units forgotten (core's restarted as for a
/// password): users core already knows stay served, a user's first call (provisioning) answers
/// 503, and core's journal says auth refused its credential. Auth's API units restarted, as
/// docs/deploy.md says, and the new user is provisioned.
fn rotating_a_credential_needs_auths_units_restarted(d: &Deployment, cookie: &str) {
    let since = d.sh("date +%s");
    d.replace_secret("core-credential", &random_secret(48));
    d.sh(RESTART_CORE_PASSWORD_READERS);
    every_unit_is_active_through_its_readiness_notification(d);
    let me = d.get("core", "/me", Some(cookie));
    assert_eq!(me.status, 200, "a user core knows: {me:?}");
    let email = format!("rotation-{}@example.com", random_secret(8).to_lowercase());
    let (new_cookie, new_id) = d.sign_up(&email, &random_secret(24));
    let first = d.get("core", "/me", Some(&new_cookie));
    assert_eq!(
        first.status, 503,
        "a new user at core before auth restarts: {first:?}"
    );
    // journald takes the line from the process a moment later.
    d.wait_for("core's API journal to name the refusal", SETTLE, || {
        let journal = d.journal_since("stackr-core-api.service", &since);
        journal
            .contains("auth refused this service's credential")
            .then_some(())
            .ok_or(journal)
    });
    d.sh("timeout 300 systemctl restart 'stackr-auth-api*.service'");
    every_unit_is_active_through_its_readiness_notification(d);
    let first = d.get("core", "/me", Some(&new_cookie));
    assert!(
        first.status == 200 && first.body.contains(&new_id),
        "a new user at core once auth restarted: {first:?}"
    );
    let me = d.get("core", "/me", Some(cookie));
    assert_eq!(me.status, 200, "a user core knew: {me:?}");
}

/// The value of cookie `name` an answer sets (`name=value`).
fn cookie_named(answer: &Answer, name: &str) -> String {
    answer
        .cookie(name)
        .unwrap_or_else(|| panic!("no {name} cookie: {answer:?}"))
        .to_owned()
}

/// The TOTP code of the `secret=` in `uri` for the step `steps` 30-second steps from now, and
/// that step's number. Auth takes one step either side of its own, each once per user: a code
/// of a step the user already spent is refused. Near a step's end the next one is waited for, as
/// the code may arrive in it.
fn totp_code(uri: &str, steps: i64) -> (String, u64) {
    let secret = url::Url::parse(uri)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "secret")
        .expect("a secret in the TOTP URI")
        .1
        .into_owned();
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    // The code must reach auth before its step ends, through `docker exec` and curl on a
    // machine that may be loaded: with less than 10 s left, the next step's start is waited for.
    let period = stackr_auth::totp::PERIOD;
    let left = period - stackr_auth::totp::now_secs() % period;
    if left <= 10 {
        std::thread::sleep(Duration::from_secs(left + 1));
    }
    let at = (stackr_auth::totp::now_secs() as i64 + steps * period as i64) as u64;
    (stackr_auth::totp::code_at(&key, at), at / period)
}

/// Deploys the host with `setting` added, which restarts auth's API, and waits for every unit.
fn deploy_to_auth(d: &mut Deployment, setting: &str) {
    let host = format!("{{ imports = [ ({}) ]; {setting} }}", d.host);
    let restarted = d.deploy(host);
    let api = format!("stackr-{}-api.service", d.auth().name);
    assert!(
        restarted.contains(&api),
        "the deploy restarted {restarted:?}"
    );
    every_unit_is_active_through_its_readiness_notification(d);
}

/// A user with two-factor on, and the session its enrolment ended with.
struct TwoFactorUser {
    email: String,
    password: String,
    /// The enrolment's `otpauth://` URI.
    uri: String,
    session: String,
    /// The last TOTP step the user spent.
    spent_step: std::cell::Cell<u64>,
}

impl Deployment {
    /// A POST to auth as a browser on auth's own page sends it.
    fn post_to_auth(&self, path: &str, cookie: Option<&str>, body: Value) -> Answer {
        let origin = self.system["stackr"]["auth"]["baseUrl"].as_str().unwrap();
        let mut headers = vec![("origin", origin)];
        headers.extend(cookie.map(|c| ("cookie", c)));
        self.http(
            "POST",
            &self.url(&self.auth().name, path),
            &headers,
            Some(&body.to_string()),
        )
    }

    /// Signs `user` in with the TOTP code of the first step it has not spent (waiting for it to
    /// be in reach) and checks that its enrolment is then sealed with secret `version`; the
    /// session cookie.
    fn sign_in_with_two_factor(&self, user: &TwoFactorUser, version: &str) -> String {
        let credentials = serde_json::json!({ "email": user.email, "password": user.password });
        let answer = self.post_to_auth("/api/auth/sign-in/email", None, credentials);
        assert!(
            answer.status == 200 && answer.body.contains("\"twoFactorRedirect\":true"),
            "signing in: {answer:?}"
        );
        let pending = cookie_named(&answer, "better-auth.two_factor");
        let period = stackr_auth::totp::PERIOD;
        let ahead = loop {
            let ahead = (user.spent_step.get() + 1) as i64
                - (stackr_auth::totp::now_secs() / period) as i64;
            if ahead <= 1 {
                break ahead.max(0);
            }
            std::thread::sleep(Duration::from_secs(period));
        };
        let (code, step) = totp_code(&user.uri, ahead);
        user.spent_step.set(step);
        let answer = self.post_to_auth(
            "/api/auth/two-factor/verify-totp",
            Some(&pending),
            serde_json::json!({ "code": code }),
        );
        assert_eq!(answer.status, 200, "the second factor: {answer:?}");
        let sealed = self
            .psql(
                "auth",
                "auth",
                "auth",
                &format!(
                    "SELECT t.secret FROM \"twoFactor\" t JOIN \"user\" u ON u.id = t.\"userId\" WHERE u.email = '{}'",
                    user.email
                ),
            )
            .unwrap();
        assert!(
            sealed.starts_with(&format!("$ba${version}$")),
            "the enrolment after signing in: {sealed}"
        );
        cookie_named(&answer, "better-auth.session_token")
    }

    /// Whether auth and core take `session` as a signed-in user's.
    fn signed_in(&self, session: &str) -> Result<(), String> {
        let answer = self.session(session);
        if !(answer.status == 200 && answer.body.contains("\"user\"")) {
            return Err(format!("auth: {answer:?}"));
        }
        let me = self.get("core", "/me", Some(session));
        if me.status != 200 {
            return Err(format!("core: {me:?}"));
        }
        Ok(())
    }
}

/// docs/deploy.md, "Rotating auth's secret": a versioned secrets file (`1:…`) given to auth by a
/// deploy, then a line `2:…` and auth's API units restarted. Sessions from before each step stay
/// signed in, a two-factor user still signs in with the enrolment made before, and it is
/// re-sealed with the newest version. The two-factor user, for the old secret's retirement.
fn rotating_auths_secret_keeps_sessions_and_two_factor(
    d: &mut Deployment,
    cookie: &str,
) -> TwoFactorUser {
    let email = format!("two-factor-{}@example.com", random_secret(8).to_lowercase());
    let password = random_secret(24);
    let (signed_up, _) = d.sign_up(&email, &password);
    let enabled = d.post_to_auth(
        "/api/auth/two-factor/enable",
        Some(&signed_up),
        serde_json::json!({ "password": password }),
    );
    assert_eq!(enabled.status, 200, "enabling two-factor: {enabled:?}");
    let uri = serde_json::from_str::<Value>(&enabled.body).unwrap()["totpURI"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, spent_step) = totp_code(&uri, -1);
    let verified = d.post_to_auth(
        "/api/auth/two-factor/verify-totp",
        Some(&signed_up),
        serde_json::json!({ "code": code }),
    );
    assert_eq!(
        verified.status, 200,
        "completing the enrolment: {verified:?}"
    );
    let user = TwoFactorUser {
        email,
        password,
        uri,
        session: cookie_named(&verified, "better-auth.session_token"),
        spent_step: spent_step.into(),
    };
    let still_signed_in = |d: &Deployment, what: &str| {
        for session in [cookie, user.session.as_str()] {
            if let Err(why) = d.signed_in(session) {
                panic!("a session from before {what}: {why}");
            }
        }
    };

    let file = format!("{}/auth-secrets", d.secrets_dir);
    let output = d
        .machine
        .run_with_input(
            &format!("umask 077 && cat > {file}"),
            format!("1:{}\n", random_secret(48)).as_bytes(),
        )
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    deploy_to_auth(d, &format!("stackr.auth.secretsFile = {file:?};"));
    still_signed_in(d, "the versioned secret");
    d.sign_in_with_two_factor(&user, "1");

    let output = d
        .machine
        .run_with_input(
            &format!("cat >> {file}"),
            format!("2:{}\n", random_secret(48)).as_bytes(),
        )
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    d.sh(&format!(
        "timeout 300 systemctl restart 'stackr-{}-api*.service'",
        d.auth().name
    ));
    every_unit_is_active_through_its_readiness_notification(d);
    still_signed_in(d, "version 2");
    d.sign_in_with_two_factor(&user, "2");
    user
}

/// docs/deploy.md: the first secret retired (`stackr.auth.secretFile = null`) by a deploy once the
/// secrets file holds the newer ones. Sessions signed with it alone end; the two-factor user,
/// whose enrolment is sealed with version 2, still signs in, and that session is good at core.
fn retiring_auths_first_secret_ends_what_it_alone_signed(
    d: &mut Deployment,
    signed_with_it: &[&str],
    user: &TwoFactorUser,
) {
    deploy_to_auth(d, "stackr.auth.secretFile = null;");
    for session in signed_with_it {
        assert!(
            d.signed_in(session).is_err(),
            "a session signed with the retired secret is still signed in"
        );
    }
    let session = d.sign_in_with_two_factor(user, "2");
    if let Err(why) = d.signed_in(&session) {
        panic!("a session signed after the retirement: {why}");
    }
}

/// One service's PostgreSQL stopped: that service goes down with it, every other keeps serving.
fn a_stopped_database_leaves_the_others_serving(d: &Deployment, cookie: &str, user_id: &str) {
    d.sh("systemctl stop stackr-core-postgresql.service");
    for s in d.services.iter().filter(|s| s.name != "core") {
        let answer = d.get(&s.name, "/health", None);
        assert_eq!(
            answer.status, 200,
            "{} with core's database stopped: {answer:?}",
            s.name
        );
    }
    let session = d.session(cookie);
    assert!(
        session.status == 200 && session.body.contains(user_id),
        "auth with core's database stopped: {session:?}"
    );
    d.sh("timeout 600 systemctl start multi-user.target");
    d.wait_for("core to serve again", SETTLE, || {
        let answer = d.get("core", "/health", None);
        (answer.status == 200)
            .then_some(())
            .ok_or(format!("{answer:?}"))
    });
}

/// A reboot on which core's PostgreSQL and Redis fail their first two starts (a disk not mounted
/// yet, a full one) brings every unit up with only systemd at work: the stores are tried again,
/// and core's role, API and worker start once they are up. Nothing is started by hand after this
/// boot (the other boots start multi-user.target again, which would start what systemd gave up
/// on). A failed first start of a store its units required left them down for good: systemd
/// fails a dependent's start with the required unit's and never starts it again.
fn stores_failing_their_first_starts_at_boot_leave_no_unit_down(d: &Deployment) {
    let stores = ["stackr-core-postgresql", "redis-core"];
    d.sh(&format!(
        "cat > /usr/local/bin/fail-first-starts <<'EOF'\n\
         #!/bin/sh\n\
         count=/var/tmp/failed-starts-$1\n\
         n=$(cat \"$count\" 2>/dev/null || echo 0)\n\
         echo $((n + 1)) > \"$count\"\n\
         [ \"$n\" -ge 2 ]\n\
         EOF\n\
         chmod 755 /usr/local/bin/fail-first-starts\n\
         for unit in {}; do\n\
           rm -f /var/tmp/failed-starts-$unit\n\
           mkdir -p /etc/systemd/system/$unit.service.d\n\
           printf '[Service]\\nExecStartPre=+/usr/local/bin/fail-first-starts %s\\n' $unit \\\n\
             > /etc/systemd/system/$unit.service.d/fail-first-starts.conf\n\
         done",
        stores.join(" ")
    ));
    d.machine.reboot().unwrap();
    let state = d.machine.wait_for_boot(BOOT).unwrap();
    eprintln!("systemd finished booting: {state}");
    d.wait_for(
        "every unit up after the stores' failed starts",
        SETTLE,
        || {
            let down: Vec<String> = d
                .units()
                .into_iter()
                .filter(|unit| {
                    d.system["units"][unit]["unitConfig"]["ConditionCapability"] != "CAP_NET_ADMIN"
                })
                .filter_map(|unit| {
                    let shown = d.show(&unit, "ActiveState,SubState");
                    (!shown.contains("ActiveState=active\n")).then(|| format!("{unit}: {shown}"))
                })
                .collect();
            down.is_empty().then_some(()).ok_or(down.join("; "))
        },
    );
    for unit in stores {
        assert_eq!(
            d.sh(&format!("cat /var/tmp/failed-starts-{unit}")).trim(),
            "3",
            "{unit} was to fail twice, then start"
        );
        d.sh(&format!(
            "rm -r /etc/systemd/system/{unit}.service.d /var/tmp/failed-starts-{unit}"
        ));
    }
    d.sh("systemctl daemon-reload");
    let answer = d.get("core", "/health", None);
    assert_eq!(answer.status, 200, "core after the boot: {answer:?}");
}

/// A deploy that moves auth's admin page to another port (applied by [`Deployment::deploy`]):
/// the new port must then answer, held by systemd's socket unit (as every API port is), and the
/// old one be closed.
fn a_deploy_moving_the_admin_page_rebinds_its_socket(d: &mut Deployment) {
    let api = format!("stackr-{}-api", d.auth().name);
    let old_port: u16 = d.system["units"][&api]["environment"]["AUTH_ADMIN_PORT"]
        .as_str()
        .expect("auth has an admin page")
        .parse()
        .unwrap();
    let new_port = old_port + 1000;
    let host = format!(
        "{{ imports = [ ({}) ]; stackr.services.{}.adminPort = {new_port}; }}",
        d.host,
        d.auth().name
    );
    d.deploy(host);
    d.wait_for("the admin page on its new port", SETTLE, || {
        let holder = d.sh(&format!("ss -Hltnp 'sport = :{new_port}'"));
        if !holder.contains("systemd") {
            return Err(format!(
                "port {new_port} is not held by systemd: {holder:?}"
            ));
        }
        match d.machine.http(
            "GET",
            &format!("http://127.0.0.1:{new_port}/"),
            &[],
            None,
            None,
        ) {
            Ok(answer) if answer.status > 0 => Ok(()),
            other => Err(format!("no answer on port {new_port}: {other:?}")),
        }
    });
    let old_holder = d.sh(&format!("ss -Hltn 'sport = :{old_port}'"));
    assert!(
        old_holder.trim().is_empty(),
        "the old admin port {old_port} is still bound: {old_holder:?}"
    );
    let shown = d.show(&api, "ActiveState,SubState");
    assert!(shown.contains("ActiveState=active\n"), "{api}: {shown}");
}

/// The oneshot whose reload rebound the admin page's socket in the deploy before
/// (`stackr-<auth>-api-sockets`, its `systemctl restart` as root) did it in its sandbox: no
/// capability, no network but Unix sockets (systemd's own socket), the file system read-only and
/// home folders hidden. systemd took every setting (none left out as unknown), and the reload
/// (a failed one fails the deploy's `systemctl reload`) left it active.
fn the_sockets_oneshot_reloaded_in_its_sandbox(d: &Deployment) {
    let unit = format!("stackr-{}-api-sockets", d.auth().name);
    let shown = d.show(
        &unit,
        "Result,ActiveState,ProtectSystem,ProtectHome,PrivateNetwork,PrivateTmp,PrivateDevices,NoNewPrivileges,RestrictAddressFamilies,CapabilityBoundingSet,SystemCallArchitectures,UMask,User",
    );
    for setting in [
        "Result=success",
        "ActiveState=active",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateNetwork=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_UNIX",
        "CapabilityBoundingSet=",
        "SystemCallArchitectures=native",
        "UMask=0077",
        "User=",
    ] {
        assert!(
            shown.lines().any(|line| line == setting),
            "{unit} lacks {setting}:\n{shown}"
        );
    }
    // The container drops `PrivateUsers=` beside `ProtectProc=` (see container_limits.rs), as
    // from this unit. Without ProtectProc, root in a user namespace of its own, with that
    // sandbox, still restarts a unit through systemd's socket (a unit made for the probe).
    d.sh("systemd-run --quiet --unit=stackr-probe-target sleep infinity");
    let before = d.sh("systemctl show --property=MainPID --value stackr-probe-target.service");
    let probe = d.sh(
        "systemd-run --quiet --wait --pipe --collect --property=PrivateUsers=true \
         --property=ProtectSystem=strict --property=ProtectHome=true --property=PrivateNetwork=true \
         --property=RestrictAddressFamilies=AF_UNIX --property=CapabilityBoundingSet= \
         --property=NoNewPrivileges=true --property=SystemCallFilter=@system-service \
         --property=SystemCallFilter=~@privileged --property=SystemCallFilter=~@resources \
         /bin/sh -c 'cat /proc/self/uid_map; systemctl restart stackr-probe-target.service' 2>&1",
    );
    assert!(
        !probe.split_whitespace().eq(["0", "0", "4294967295"]),
        "the probe ran in the initial user namespace: {probe}"
    );
    let after = d.sh("systemctl show --property=MainPID --value stackr-probe-target.service");
    d.sh("systemctl stop stackr-probe-target.service");
    assert!(
        before.trim() != after.trim() && after.trim() != "0",
        "the probe did not restart its unit ({before:?} -> {after:?}): {probe}"
    );
}

/// A deploy that puts core's database password in a folder of its own, outside the secrets
/// folder: `stackr-secrets` makes the folder before its sandbox starts (the folder above is
/// read-only in it), writes the new password there, root's alone, and core's role gets it (its
/// `-db` unit) and its API and worker use it.
fn a_secret_in_a_folder_of_its_own_is_made_there(d: &mut Deployment) {
    // Under /root: the sandbox keeps a home folder read-only (ProtectHome=read-only), so a
    // secret an operator keeps there is seen, and written when missing.
    let dir = "/root/stackr-extra";
    let host = format!(
        "{{ imports = [ ({}) ]; stackr.services.core.postgres.passwordFile = \"{dir}/core-db-password\"; }}",
        d.host
    );
    let restarted = d.deploy(host);
    assert!(
        restarted.contains(&"stackr-secrets.service".to_owned()),
        "the deploy restarted {restarted:?}"
    );
    every_unit_is_active_through_its_readiness_notification(d);
    assert_eq!(
        d.system["units"]["stackr-secrets"]["serviceConfig"]["ReadWritePaths"],
        serde_json::json!([format!("\"-{dir}\"")])
    );
    assert_eq!(
        d.sh(&format!("stat -c '%U %G %a' {dir}")).trim(),
        "root root 700"
    );
    let path = format!("{dir}/core-db-password");
    assert_eq!(
        d.sh(&format!("stat -c '%U %G %a' {path}")).trim(),
        "root root 600"
    );
    let password = d.sh(&format!("cat {path}"));
    assert_eq!(password.len(), 48);
    d.psql_with("core", &password, "core", "core", "SELECT 1")
        .unwrap_or_else(|e| panic!("core's role with the password of {path}: {e}"));
    // Its /health answers 200 only with its database reached.
    d.wait_for("core to serve with its new password", SETTLE, || {
        let answer = d.get("core", "/health", None);
        (answer.status == 200)
            .then_some(())
            .ok_or(format!("{answer:?}"))
    });
}

#[test]
fn the_nixos_units_run_under_a_real_systemd() {
    let mut d = Deployment::boot(HOST, evaluate_repository(HOST).unwrap());
    every_unit_is_active_through_its_readiness_notification(&d);
    every_api_is_healthy(&d);
    let (cookie, user_id) = sign_up_and_provisioning_work(&d);
    the_set_role_command_makes_the_first_admin(&d, &cookie, &user_id);
    a_stopped_api_keeps_its_port_and_the_next_request_starts_it(&d);
    a_job_runs_through_each_worker(&d);
    each_service_is_locked_out_of_the_others_stores(&d);
    no_secret_in_unit_properties_process_environments_or_the_store(&d);
    every_process_runs_as_its_units_identity(&d);
    each_service_owns_its_files_alone(&d);
    the_secrets_oneshot_made_root_only_files_in_its_sandbox(&d);
    network_and_user_namespace_sandboxing_apply(&d);
    store_groups_reach_the_sockets_from_a_private_user_namespace(&d);
    rotating_a_services_passwords_keeps_it_serving(&d, &cookie, &user_id);
    a_password_rotation_restarting_one_unit_fails_clearly_and_recovers(&d, &cookie);
    rotating_a_credential_needs_auths_units_restarted(&d, &cookie);
    let two_factor_user = rotating_auths_secret_keeps_sessions_and_two_factor(&mut d, &cookie);
    a_stopped_database_leaves_the_others_serving(&d, &cookie, &user_id);
    a_reboot_keeps_users_sessions_and_queued_jobs(&d, &cookie, &user_id);
    // After every step that uses these sessions: they end here.
    retiring_auths_first_secret_ends_what_it_alone_signed(
        &mut d,
        &[&cookie, &two_factor_user.session],
        &two_factor_user,
    );
    a_deploy_moving_the_admin_page_rebinds_its_socket(&mut d);
    the_sockets_oneshot_reloaded_in_its_sandbox(&d);
    a_secret_in_a_folder_of_its_own_is_made_there(&mut d);
    stores_failing_their_first_starts_at_boot_leave_no_unit_down(&d);
}
