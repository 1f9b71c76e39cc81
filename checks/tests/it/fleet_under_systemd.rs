//! A stack placed on several hosts, run for real (`stackr_checks::fleet`): the repository's own
//! project with the generator's four-host placement (auth's host; core's and wallet's hosts with
//! 2 API replicas behind nginx and 2 workers each; one database host carrying both services'
//! PostgreSQL and Redis), one systemd container per host on one Docker network, each host's units
//! from its own evaluation of the generated nix/fleet.nix, nginx and the iptables firewall as
//! nixpkgs runs them, the secrets of `stackr secrets` where colmena uploads them. The checks run
//! in order, the disruptive ones last. With both services' stores on one host, "the database
//! host of one service stopped" is that service's PostgreSQL server stopped on it.

use std::time::Duration;

use stackr::commands::secrets::{self, CaAction};
use stackr_checks::fleet::client::quoted;
use stackr_checks::fleet::keys;
use stackr_checks::fleet::{Fleet, Host};
use stackr_checks::secret::random_secret;
use stackr_checks::systemd::{build_workspace_binaries, example_job, Entry};

/// This test's network: a /24 no other check (nor the bench) uses.
const SUBNET: &str = "10.231.47";
/// Booting four hosts (three PostgreSQL clusters initialised) on a loaded 2-core machine.
const BOOT: Duration = Duration::from_secs(900);
/// For a condition that needs a few requests or job round trips.
const SETTLE: Duration = Duration::from_secs(180);
const SERVICES: [&str; 2] = ["core", "wallet"];

fn boot() -> Fleet {
    build_workspace_binaries();
    let fleet = Fleet::boot(SUBNET).unwrap_or_else(|e| panic!("{e:#}"));
    fleet
        .start(BOOT)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", fleet.diagnostics()));
    fleet
}

fn must<T>(fleet: &Fleet, result: anyhow::Result<T>) -> T {
    result.unwrap_or_else(|e| panic!("{e:#}\n{}", fleet.diagnostics()))
}

/// psql from `host` to `server`'s PostgreSQL (on its host, by name, TLS verified) as `role`
/// with the password in `role`'s secret file on `host`.
fn psql(fleet: &Fleet, host: &Host, role: &str, server: &str, sql: &str) -> Result<String, String> {
    let db_host = fleet.host_of(server, "postgres");
    let port = fleet.service(server)["postgres"]["port"].as_u64().unwrap();
    let secrets = host.system["stackr"]["secretsDir"].as_str().unwrap();
    let target = if db_host.name == host.name {
        // The server's own host reaches it through its socket (it listens on TCP for the others).
        format!("host=/run/stackr-{server}-postgresql port={port}")
    } else {
        format!(
            "host={} port={port} sslmode=verify-full sslrootcert={}",
            db_host.name,
            host.ca_file()
        )
    };
    host.machine.outcome(&format!(
        "PGPASSWORD=\"$(cat {secrets}/{role}-db-password)\" PGCONNECT_TIMEOUT=10 psql -X -At -d {} -c {}",
        quoted(&format!("{target} user={role} dbname={server}")),
        quoted(sql)
    ))
}

/// Whether a TCP connection from `from` to `to:port` is accepted within 5 s.
fn connects(from: &Host, to: &Host, port: u64) -> bool {
    from.succeeds(&format!(
        "timeout 5 bash -c '</dev/tcp/{}/{port}'",
        to.address
    ))
}

/// Hosts boot together, so a process may start before its store on another host answers: it
/// gives up when the start-up wait ends and systemd restarts it. Every unit ends active, and a
/// unit restarted only for that: for each restart, a process of the unit that gave up on a store
/// of another host (a crash or a local store missing would show no such line).
fn every_unit_of_every_host_is_active(fleet: &Fleet) {
    for host in fleet.hosts.values() {
        for (unit, config) in host.system["units"].as_object().unwrap() {
            let show = || {
                host.sh(&format!(
                    "systemctl show --property=ActiveState,NRestarts {unit}.service"
                ))
                .map_err(|e| format!("{e:#}"))
            };
            let active = fleet.wait_for(&format!("{}: {unit} active", host.name), SETTLE, || {
                let shown = show()?;
                if shown.contains("ActiveState=active\n") {
                    Ok(())
                } else {
                    Err(shown)
                }
            });
            let shown = must(fleet, show().map_err(anyhow::Error::msg));
            let restarts: usize = shown
                .lines()
                .find_map(|l| l.strip_prefix("NRestarts="))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{}: {unit}: {shown}", host.name));
            let journal = host
                .sh(&format!("journalctl -b -u {unit}.service --no-pager"))
                .unwrap_or_else(|err| format!("(no journal: {err:#})"));
            // Processes (by the `name[pid]:` of their lines) that gave up on such a store.
            let gave_up_on_remote_store = journal
                .lines()
                .filter(|line| {
                    line.contains("start-up wait")
                        && fleet.hosts.keys().any(|other| {
                            *other != host.name
                                && ["@", "//"]
                                    .iter()
                                    .any(|before| line.contains(&format!("{before}{other}:")))
                        })
                })
                .filter_map(|line| line.split_once("]: ").map(|(process, _)| process))
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            if active.is_err() || gave_up_on_remote_store < restarts {
                let lines: Vec<&str> = journal.lines().collect();
                let tail = &lines[lines.len().saturating_sub(40)..];
                panic!(
                    "{}: {unit} ({:?}):\n{shown}\nrestarts explained by a store of another host \
                     not up yet: {gave_up_on_remote_store}\n--- its journal ---\n{}\n{}",
                    host.name,
                    config["serviceConfig"]["Type"],
                    tail.join("\n"),
                    fleet.diagnostics()
                );
            }
        }
        // The evaluated firewall is installed: the chain ends with the refusal.
        let rules = must(fleet, host.sh("iptables -S nixos-fw"));
        assert!(
            rules
                .trim_end()
                .ends_with("-A nixos-fw -j nixos-fw-log-refuse"),
            "{}: {rules}",
            host.name
        );
    }
}

/// Sign-up at auth over HTTPS (CA-verified; plain HTTP refused), the session cookie forwarded
/// by both services' load balancers to their replicas, and core's first call creating the user's
/// record in core's own database. Returns the cookie.
fn sign_up_and_calls_through_both_load_balancers(fleet: &Fleet) -> String {
    let core_host = fleet.host_of("core", "api");
    let email = format!("fleet-{}@example.com", random_secret(8).to_lowercase());
    let (cookie, user_id) = must(
        fleet,
        fleet.sign_up(&core_host.name, &email, &random_secret(24)),
    );
    let plain = fleet.auth_url().replace("https://", "http://");
    let answer = core_host.http("GET", &format!("{plain}/api/auth/ok"), &[], None);
    assert!(
        answer.as_ref().map_or(true, |a| a.status != 200),
        "auth answered plain HTTP: {answer:?}"
    );
    // Auth recorded the client as its host's nginx saw it (X-Forwarded-For, believed from the
    // replicas' socket file, which only nginx may open: another local user of auth's host is
    // refused there).
    let auth_host = fleet.host_of("auth", "api");
    let recorded = psql(
        fleet,
        auth_host,
        "auth",
        "auth",
        &format!(r#"SELECT "ipAddress" FROM "session" WHERE "userId" = '{user_id}'"#),
    );
    assert_eq!(
        recorded.as_deref(),
        Ok(core_host.address.as_str()),
        "the session's client"
    );
    let socket = "/run/stackr-auth-api-1.sock";
    assert!(
        auth_host.succeeds(&format!("test -S {socket}")),
        "auth's replica listens on {socket}"
    );
    let ok = format!("curl -sf --unix-socket {socket} http://auth/api/auth/ok");
    assert!(auth_host.succeeds(&ok), "root reaches {socket}");
    let as_nobody = "setpriv --reuid=nobody --regid=nogroup --clear-groups";
    assert!(auth_host.succeeds(&format!("{as_nobody} true")));
    assert!(
        !auth_host.succeeds(&format!("{as_nobody} {ok}")),
        "a local user reached auth past nginx"
    );

    let me = must(fleet, fleet.get("core", "/me", Some(&cookie)));
    assert!(
        me.status == 200 && me.body.contains(&user_id),
        "core /me: {me:?}"
    );
    let stored = psql(
        fleet,
        core_host,
        "core",
        "core",
        &format!("SELECT count(*) FROM stackr_user WHERE user_id = '{user_id}'"),
    );
    assert_eq!(stored.as_deref(), Ok("1"), "provisioned in core's database");
    // wallet is role-gated (role finance): the session is resolved at auth through wallet's
    // load balancer, and a user without the role is refused, one without session unknown.
    let gated = must(fleet, fleet.get("wallet", "/me", Some(&cookie)));
    assert_eq!(gated.status, 403, "wallet /me with a session: {gated:?}");
    let anonymous = must(fleet, fleet.get("wallet", "/me", None));
    assert_eq!(anonymous.status, 401, "wallet /me without: {anonymous:?}");
    // Several calls in a row, so both replicas behind each balancer serve some.
    for _ in 0..6 {
        let me = must(fleet, fleet.get("core", "/me", Some(&cookie)));
        assert_eq!(me.status, 200, "core /me: {me:?}");
    }
    cookie
}

fn workers_of(fleet: &Fleet, service: &str) -> Vec<String> {
    let replicas = fleet.host_of(service, "worker").system["stackr"]["fleet"]["services"][service]
        ["worker"]["replicas"]
        .as_u64()
        .unwrap();
    (1..=replicas)
        .map(|i| format!("stackr-{service}-worker-{i}"))
        .collect()
}

fn wait_for_jobs(fleet: &Fleet, service: &str, ids: &[String]) {
    must(
        fleet,
        fleet.wait_for(&format!("{} {service} jobs", ids.len()), SETTLE, || {
            let pending: Vec<&String> = ids
                .iter()
                .filter(|id| !fleet.job_completed(service, id).unwrap_or(false))
                .collect();
            if pending.is_empty() {
                Ok(())
            } else {
                Err(format!("not completed: {pending:?}"))
            }
        }),
    );
}

fn enqueue_many(fleet: &Fleet, service: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|_| must(fleet, fleet.enqueue(service, &example_job(service))))
        .collect()
}

/// Both workers of each service consume its one queue: with both running every job completes,
/// and each one alone (the other stopped) completes jobs too.
fn both_workers_of_each_service_complete_jobs(fleet: &Fleet) {
    for service in SERVICES {
        let ids = enqueue_many(fleet, service, 10);
        wait_for_jobs(fleet, service, &ids);
        let host = fleet.host_of(service, "worker");
        let workers = workers_of(fleet, service);
        assert_eq!(workers.len(), 2, "{service}: {workers:?}");
        for alone in &workers {
            let others: Vec<&String> = workers.iter().filter(|w| *w != alone).collect();
            for other in &others {
                must(fleet, host.sh(&format!("systemctl stop {other}.service")));
            }
            let ids = enqueue_many(fleet, service, 3);
            wait_for_jobs(fleet, service, &ids);
            for other in &others {
                must(fleet, host.sh(&format!("systemctl start {other}.service")));
            }
        }
    }
}

/// Each service's PostgreSQL and Redis: reachable from its own hosts, dropped by the database
/// host's firewall for the other service's hosts, and the other service's credentials refused
/// even from the database host itself (where the firewall lets loopback through).
fn each_services_stores_are_closed_to_the_other_service(fleet: &Fleet) {
    for service in SERVICES {
        let other = SERVICES.iter().find(|o| **o != service).unwrap();
        let stores = fleet.service(service);
        let pg_port = stores["postgres"]["port"].as_u64().unwrap();
        let redis_port = stores["redis"]["port"].as_u64().unwrap();
        let db_host = fleet.host_of(service, "postgres");
        for (port, what) in [(pg_port, "PostgreSQL"), (redis_port, "Redis")] {
            for own in ["api", "worker"] {
                let own = fleet.host_of(service, own);
                assert!(
                    connects(own, db_host, port),
                    "{service}'s {what} from {}",
                    own.name
                );
            }
            for foreign in ["api", "worker"] {
                let foreign = fleet.host_of(other, foreign);
                assert!(
                    !connects(foreign, db_host, port),
                    "{service}'s {what} reachable from {other}'s host {}",
                    foreign.name
                );
            }
        }
        let refused = psql(fleet, db_host, other, service, "SELECT 1");
        assert!(
            refused.is_err(),
            "{other} logged in to {service}'s database: {refused:?}"
        );
        let secrets = db_host.system["stackr"]["secretsDir"].as_str().unwrap();
        let answer = must(
            fleet,
            db_host.sh(&format!(
                "REDISCLI_AUTH=\"$(cat {secrets}/{other}-redis-password)\" timeout 10 redis-cli \
                 --no-auth-warning --tls --cacert {} -h {} -p {redis_port} PING 2>&1 || true",
                db_host.ca_file(),
                db_host.name
            )),
        );
        // Refused for the password, not unreachable (this host reaches its Redis by name too).
        assert!(
            answer.contains("WRONGPASS"),
            "{service}'s Redis answered {other}'s password with {answer:?}"
        );
        assert_eq!(
            must(fleet, fleet.redis(service, "PING")),
            "PONG",
            "{service}'s own"
        );
    }
}

/// Every connection between hosts is TLS: each service's sessions in its PostgreSQL from its
/// hosts (pg_stat_ssl), its Redis refusing plain TCP, auth refusing plain HTTP (checked at
/// sign-up).
fn every_cross_host_connection_is_tls(fleet: &Fleet) {
    for service in SERVICES {
        // The pools close a connection nobody has used for a while (DB_POOL_IDLE_LIMIT): a
        // health check through the load balancer, to each replica, opens one now.
        for _ in 0..4 {
            let health = must(fleet, fleet.get(service, "/health", None));
            assert_eq!(health.status, 200, "{service}: {health:?}");
        }
        let api_host = fleet.host_of(service, "api");
        let counts = psql(
            fleet,
            api_host,
            service,
            service,
            &format!(
                "SELECT count(*) FILTER (WHERE NOT s.ssl) || ' ' || count(*) FROM pg_stat_activity a \
                 JOIN pg_stat_ssl s USING (pid) WHERE a.usename = '{service}' AND a.client_addr IS NOT NULL"
            ),
        )
        .unwrap_or_else(|e| panic!("{service}: {e}"));
        let (plain, all) = counts.split_once(' ').unwrap();
        assert_eq!(plain, "0", "{service}: sessions without TLS ({counts})");
        assert!(
            all.parse::<u32>().unwrap() >= 2,
            "{service}: sessions {counts}"
        );
        let redis_host = fleet.host_of(service, "redis");
        let port = fleet.service(service)["redis"]["port"].as_u64().unwrap();
        let plain = api_host.machine.run(&format!(
            "timeout 10 redis-cli -h {} -p {port} PING 2>&1",
            redis_host.name
        ));
        let plain = String::from_utf8_lossy(&plain.unwrap().stdout).into_owned();
        assert!(
            !plain.contains("PONG") && !plain.contains("NOAUTH"),
            "{service}'s Redis spoke plain TCP: {plain}"
        );
    }
}

/// How long nginx leaves out a replica that failed (the upstream's `fail_timeout`, in seconds).
fn fail_timeout(fleet: &Fleet, service: &str) -> Duration {
    let host = fleet.host_of(service, "api");
    let servers = host.system["nginx"]["upstreams"][format!("stackr-{service}")]["servers"]
        .as_object()
        .unwrap();
    let seconds = servers.values().next().unwrap()["fail_timeout"]
        .as_str()
        .and_then(|t| t.strip_suffix('s'))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("fail_timeout in seconds: {servers:?}"));
    Duration::from_secs(seconds)
}

/// One API replica stopped, then the other: the load balancer keeps answering, every call 200,
/// so each replica serves through it alone. A replica nginx saw fail is left out for the
/// upstream's `fail_timeout` even once it is back: the next one is stopped only after that.
fn a_stopped_api_replica_leaves_the_service_answering(fleet: &Fleet, cookie: &str) {
    let host = fleet.host_of("core", "api");
    let left_out = fail_timeout(fleet, "core");
    for stopped in ["stackr-core-api-1", "stackr-core-api-2"] {
        must(fleet, host.sh(&format!("systemctl stop {stopped}.service")));
        for _ in 0..10 {
            let me = must(fleet, fleet.get("core", "/me", Some(cookie)));
            assert_eq!(me.status, 200, "core with {stopped} stopped: {me:?}");
        }
        must(
            fleet,
            host.sh(&format!("systemctl start {stopped}.service")),
        );
        std::thread::sleep(left_out + Duration::from_secs(1));
    }
}

/// A worker stopped while jobs are queued: none is lost, the other worker completes them all.
fn a_stopped_worker_loses_no_job(fleet: &Fleet) {
    let host = fleet.host_of("core", "worker");
    let ids = enqueue_many(fleet, "core", 20);
    must(
        fleet,
        host.sh("systemctl stop stackr-core-worker-1.service"),
    );
    wait_for_jobs(fleet, "core", &ids);
    must(
        fleet,
        host.sh("systemctl start stackr-core-worker-1.service"),
    );
}

/// core's PostgreSQL stopped on the database host: wallet (and auth) keep serving.
fn a_stopped_database_leaves_the_other_service_serving(fleet: &Fleet, cookie: &str) {
    let db_host = fleet.host_of("core", "postgres");
    must(
        fleet,
        db_host.sh("systemctl stop stackr-core-postgresql.service"),
    );
    for _ in 0..5 {
        let health = must(fleet, fleet.get("wallet", "/health", None));
        assert_eq!(
            health.status, 200,
            "wallet with core's database stopped: {health:?}"
        );
        let gated = must(fleet, fleet.get("wallet", "/me", Some(cookie)));
        assert_eq!(
            gated.status, 403,
            "wallet's session check with core's database stopped: {gated:?}"
        );
    }
    let ids = enqueue_many(fleet, "wallet", 3);
    wait_for_jobs(fleet, "wallet", &ids);
}

/// Each host booted with a key an earlier deploy uploaded and no unit reads any more: gone once
/// the host started, every key its units read still there as uploaded.
fn a_key_no_unit_reads_any_more_is_gone(fleet: &Fleet) {
    for host in fleet.hosts.values() {
        let dir = host.system["stackr"]["secretsDir"].as_str().unwrap();
        let left = must(fleet, host.sh(&format!("ls -A {dir}")));
        assert!(
            !left.lines().any(|name| name == keys::STALE_KEY),
            "{}: {dir} still holds {}: {left}",
            host.name,
            keys::STALE_KEY
        );
        let uploaded = must(fleet, keys::key_entries(&host.system, fleet.project.path()));
        for (path, entry) in uploaded {
            let Entry::Private { content } = entry else {
                unreachable!()
            };
            let found = must(fleet, host.sh(&format!("cat /{path}")));
            assert_eq!(found.as_bytes(), content, "{}: /{path}", host.name);
        }
    }
}

/// What `colmena upload-keys` (and `colmena apply`) does to every host: each key of its node
/// read from the project's `.stackr/deploy/` as its `keyCommand` reads it, written where colmena
/// puts it, root's alone with mode 0400.
fn upload_keys(fleet: &Fleet) {
    for host in fleet.hosts.values() {
        let uploaded = must(fleet, keys::key_entries(&host.system, fleet.project.path()));
        for (path, entry) in uploaded {
            let Entry::Private { content } = entry else {
                unreachable!()
            };
            let script = format!(
                "umask 077 && cat > /{path}.new && chmod 0400 /{path}.new && mv /{path}.new /{path}"
            );
            let output = must(fleet, host.machine.run_with_input(&script, &content));
            assert!(
                output.status.success(),
                "{}: /{path}: {output:?}",
                host.name
            );
        }
    }
}

/// What `colmena exec [--on @<tag>] -- "<command>"` does: `command` on each host tagged `tag`
/// (every host without one), all at once. A restart there may fail on one host and still
/// settle (docs/deploy.md says when): a failure is shown, and the checks after it judge the
/// state the hosts reach.
fn exec_on(fleet: &Fleet, tag: Option<&str>, command: &str) {
    let hosts: Vec<&Host> = fleet
        .hosts
        .values()
        .filter(|host| {
            tag.is_none_or(|tag| {
                host.system["deployment"]["tags"]
                    .as_array()
                    .is_some_and(|tags| tags.iter().any(|t| t == tag))
            })
        })
        .collect();
    assert!(!hosts.is_empty(), "no host tagged {tag:?}");
    std::thread::scope(|scope| {
        let runs: Vec<_> = hosts
            .iter()
            .map(|host| scope.spawn(move || host.sh(command)))
            .collect();
        for run in runs {
            if let Err(failure) = run.join().unwrap() {
                eprintln!("{command}: {failure:#}");
            }
        }
    });
}

/// The stack still serves the signed-in user through both load balancers, and both services'
/// workers complete jobs.
fn still_serving(fleet: &Fleet, cookie: &str, after: &str) {
    must(
        fleet,
        fleet.wait_for(&format!("core to serve after {after}"), SETTLE, || {
            let me = fleet
                .get("core", "/me", Some(cookie))
                .map_err(|e| format!("{e:#}"))?;
            (me.status == 200).then_some(()).ok_or(format!("{me:?}"))
        }),
    );
    let wallet = must(fleet, fleet.get("wallet", "/me", Some(cookie)));
    assert_eq!(wallet.status, 403, "wallet after {after}: {wallet:?}");
    for service in SERVICES {
        let ids = enqueue_many(fleet, service, 4);
        wait_for_jobs(fleet, service, &ids);
    }
}

/// docs/deploy.md, "Rotating a password": core's PostgreSQL and Redis passwords deleted from
/// `.stackr/deploy/`, made again by `stackr secrets`, uploaded, and the units reading them
/// restarted by the guide's patterns on core's hosts at once (its API and workers on one host,
/// its stores on another). Every unit active again, the user served, jobs running, and the
/// old database password refused.
fn rotating_a_password_across_hosts(fleet: &Fleet, cookie: &str) {
    let deploy = fleet.project.path().join(".stackr/deploy");
    let app = fleet.host_of("core", "api");
    let secrets = app.system["stackr"]["secretsDir"].as_str().unwrap();
    let old = must(fleet, app.sh(&format!("cat {secrets}/core-db-password")));
    for file in ["core-db-password", "core-redis-password"] {
        std::fs::remove_file(deploy.join(file)).unwrap();
    }
    must(
        fleet,
        secrets::run(fleet.project.path(), CaAction::Keep).map(|_| ()),
    );
    upload_keys(fleet);
    exec_on(
        fleet,
        Some("core"),
        "timeout 300 systemctl restart 'stackr-core-d[b].service' 'redis-cor[e].service' 'stackr-core-api*.service' 'stackr-core-worker*.service'",
    );
    every_unit_of_every_host_is_active(fleet);
    still_serving(fleet, cookie, "rotating core's passwords");
    let new = must(fleet, app.sh(&format!("cat {secrets}/core-db-password")));
    assert_ne!(old, new, "the password was not replaced");
    let db_host = fleet.host_of("core", "postgres");
    let port = fleet.service("core")["postgres"]["port"].as_u64().unwrap();
    let refused = app.machine.outcome(&format!(
        "PGPASSWORD={} PGCONNECT_TIMEOUT=10 psql -X -At -d {} -c 'SELECT 1'",
        quoted(old.trim()),
        quoted(&format!(
            "host={} port={port} sslmode=verify-full sslrootcert={} user=core dbname=core",
            db_host.name,
            app.ca_file()
        ))
    ));
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("password authentication failed")),
        "core's old database password: {refused:?}"
    );
}

/// docs/deploy.md, "Rotating the CA": `stackr secrets --rotate-ca`, the keys uploaded to every
/// host, every stack unit and nginx restarted everywhere; then `--retire-previous-ca`, uploaded
/// and restarted again. After each, every unit active, every connection across hosts made (and
/// verified) again, the user served and jobs running; at the end every host trusts the new CA
/// alone, and every server presents a certificate it issued.
fn rotating_the_ca(fleet: &Fleet, cookie: &str) {
    let restart = "timeout 300 systemctl restart 'stackr-*-postgresql.service' 'stackr-*-api*.service' 'stackr-*-worker*.service' 'redis-*.service' 'nginx*'";
    let ca = |fleet: &Fleet| {
        std::fs::read_to_string(fleet.project.path().join(".stackr/deploy/tls-ca.crt")).unwrap()
    };
    let old = ca(fleet);
    must(
        fleet,
        secrets::run(fleet.project.path(), CaAction::Rotate).map(|_| ()),
    );
    let bundle = ca(fleet);
    assert!(
        bundle.matches("BEGIN CERTIFICATE").count() == 2 && bundle.contains(old.trim()),
        "the bundle during the rotation:\n{bundle}"
    );
    upload_keys(fleet);
    exec_on(fleet, None, restart);
    every_unit_of_every_host_is_active(fleet);
    every_cross_host_connection_is_tls(fleet);
    still_serving(fleet, cookie, "the new CA");

    must(
        fleet,
        secrets::run(fleet.project.path(), CaAction::RetirePrevious).map(|_| ()),
    );
    let new = ca(fleet);
    assert!(
        new.matches("BEGIN CERTIFICATE").count() == 1 && !new.contains(old.trim()),
        "the CA once the previous one is retired:\n{new}"
    );
    upload_keys(fleet);
    exec_on(fleet, None, restart);
    every_unit_of_every_host_is_active(fleet);
    every_cross_host_connection_is_tls(fleet);
    still_serving(fleet, cookie, "retiring the previous CA");
    // Every server presents a certificate of the new CA: verified against it alone.
    let core_host = fleet.host_of("core", "api");
    for (service, part) in [("auth", "api"), ("core", "postgres"), ("core", "redis")] {
        let server = fleet.host_of(service, part);
        let port = match part {
            "api" => fleet.service(service)["port"].as_u64().unwrap(),
            _ => fleet.service(service)[part]["port"].as_u64().unwrap(),
        };
        let starttls = if part == "postgres" {
            "-starttls postgres "
        } else {
            ""
        };
        let verified = core_host.machine.outcome(&format!(
            "openssl s_client {starttls}-connect {}:{port} -servername {} -verify_return_error -CAfile {} </dev/null 2>&1 | grep -E 'Verify return code'",
            server.name,
            server.name,
            core_host.ca_file()
        ));
        assert!(
            verified
                .as_ref()
                .is_ok_and(|v| v.contains("Verify return code: 0 (ok)")),
            "{service}'s {part} on {} against the new CA: {verified:?}",
            server.name
        );
    }
}

#[test]
fn a_stack_placed_on_four_hosts_runs_under_systemd() {
    let fleet = boot();
    every_unit_of_every_host_is_active(&fleet);
    a_key_no_unit_reads_any_more_is_gone(&fleet);
    let cookie = sign_up_and_calls_through_both_load_balancers(&fleet);
    both_workers_of_each_service_complete_jobs(&fleet);
    each_services_stores_are_closed_to_the_other_service(&fleet);
    every_cross_host_connection_is_tls(&fleet);
    a_stopped_api_replica_leaves_the_service_answering(&fleet, &cookie);
    a_stopped_worker_loses_no_job(&fleet);
    rotating_a_password_across_hosts(&fleet, &cookie);
    rotating_the_ca(&fleet, &cookie);
    a_stopped_database_leaves_the_other_service_serving(&fleet, &cookie);
}
