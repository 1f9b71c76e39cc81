//! The repository's project deployed with `deploy.postgresMode` "shared" (one system PostgreSQL,
//! nixpkgs' `services.postgresql`, holding a database and role per service), booted under a real
//! systemd as `nixos_under_systemd` boots the default mode. Only what the mode changes is checked
//! here, on a first boot and a reboot: the units start in order on the system server, the
//! services keep their data there, each role is refused every database but its own, and the
//! host's commands that reach a database (`stackr-set-role`, `stackr-postgres`) reach the system
//! server's. What the
//! services do with their stores is the same in both modes and proved by the other check.

use stackr_checks::systemd::curl::quoted;
use stackr_checks::systemd::evaluate_project;
use stackr_checks::systemd::project::changed_project;

use crate::common::deployment::{Deployment, HOST};
use crate::common::host_steps::{
    a_job_runs_through_each_worker, a_reboot_keeps_users_sessions_and_queued_jobs,
    every_api_is_healthy, every_unit_is_active_through_its_readiness_notification,
    sign_up_and_provisioning_work, the_set_role_command_makes_the_first_admin,
};

/// The database every PostgreSQL cluster has (the system server's superuser's, here).
const HOSTS_OWN_DATABASE: &str = "postgres";

/// Each service's role opens its own database, through the socket its processes use and over
/// loopback, and is refused by the system server's pg_hba rules (not by a wrong password) in every
/// other service's database and the host's own.
fn each_role_is_refused_every_other_database(d: &Deployment) {
    for own in &d.services {
        for host in [own.postgres_socket_dir.as_str(), "127.0.0.1"] {
            let password = d.secret(&format!("{}-db-password", own.name));
            let psql = |database: &str| {
                d.machine.outcome(&format!(
                    "PGPASSWORD={} psql -X -At -h {host} -p {} -U {} -d {database} -c 'SELECT 1'",
                    quoted(&password),
                    own.postgres_port,
                    own.name,
                ))
            };
            assert_eq!(
                psql(&own.name).as_deref(),
                Ok("1"),
                "{} in its own database through {host}",
                own.name
            );
            let others = d.services.iter().filter(|o| o.name != own.name);
            for database in others.map(|o| o.name.as_str()).chain([HOSTS_OWN_DATABASE]) {
                let refused = psql(database);
                assert!(
                    refused
                        .as_ref()
                        .is_err_and(|e| e.contains("pg_hba.conf rejects connection")),
                    "role {} in database {database} through {host}: {refused:?}",
                    own.name
                );
            }
        }
    }
}

/// `stackr-postgres SERVICE pg_dump`, run as root as docs/deploy.md backs a database up: the
/// system server's superuser through its socket (as `postgres`, not a server identity of the
/// service's own), the service's database by default, its rows in the dump.
fn the_backup_command_dumps_a_services_database(d: &Deployment, user_id: &str) {
    let dump = d.sh("stackr-postgres core pg_dump --format=plain --data-only --table=stackr_user");
    assert!(dump.contains(user_id), "core's dump:\n{dump}");
}

#[test]
fn a_shared_postgresql_host_works_under_a_real_systemd() {
    let project = changed_project(|config| {
        config["deploy"]["postgresMode"] = "shared".into();
        Ok(())
    })
    .unwrap();
    let system = evaluate_project(project.path(), HOST).unwrap();
    assert!(
        system["units"]["postgresql"].is_object()
            && !system["units"]
                .as_object()
                .unwrap()
                .keys()
                .any(|unit| unit.starts_with("stackr-") && unit.ends_with("-postgresql")),
        "the project is not in shared mode: {:?}",
        system["units"].as_object().unwrap().keys()
    );
    let d = Deployment::boot(HOST, system);
    every_unit_is_active_through_its_readiness_notification(&d);
    every_api_is_healthy(&d);
    let (cookie, user_id) = sign_up_and_provisioning_work(&d);
    the_set_role_command_makes_the_first_admin(&d, &cookie, &user_id);
    the_backup_command_dumps_a_services_database(&d, &user_id);
    a_job_runs_through_each_worker(&d);
    each_role_is_refused_every_other_database(&d);
    a_reboot_keeps_users_sessions_and_queued_jobs(&d, &cookie, &user_id);
}
