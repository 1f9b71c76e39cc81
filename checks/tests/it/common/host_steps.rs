//! Checks of a booted single host ([`Deployment`]) that hold whichever way its databases are
//! deployed, each step of a systemd check.

use stackr_checks::secret::random_secret;
use stackr_checks::systemd::curl::quoted;
use stackr_checks::systemd::example_job;

use super::deployment::Deployment;

/// Every unit of the evaluation is active; a `Type=notify` unit is active only once its process
/// sent READY=1, so "active" with `Type=notify` is readiness reached, with no restart before.
pub fn every_unit_is_active_through_its_readiness_notification(d: &Deployment) {
    for unit in d.units() {
        let config = &d.system["units"][&unit]["serviceConfig"];
        // nixpkgs' firewall unit needs CAP_NET_ADMIN, which this single host's container is not
        // given (the several-host check runs it): systemd skips it by its condition.
        if d.system["units"][&unit]["unitConfig"]["ConditionCapability"] == "CAP_NET_ADMIN" {
            let shown = d.show(&unit, "ConditionResult,ActiveState");
            assert!(
                shown.contains("ConditionResult=no\n") && shown.contains("ActiveState=inactive\n"),
                "{unit}: {shown}"
            );
            continue;
        }
        let shown = d.show(&unit, "Type,ActiveState,SubState,NRestarts");
        let expected_type = config["Type"].as_str().unwrap_or("simple");
        let want_sub = if expected_type == "oneshot" {
            "exited"
        } else {
            "running"
        };
        assert!(
            shown.contains(&format!("Type={expected_type}\n"))
                && shown.contains("ActiveState=active\n")
                && shown.contains(&format!("SubState={want_sub}\n"))
                && shown.contains("NRestarts=0\n"),
            "{unit}:\n{shown}\n{}",
            d.diagnostics()
        );
    }
    for service in &d.services {
        for role in ["api", "worker"] {
            let unit = &d.system["units"][format!("stackr-{}-{role}", service.name)];
            if !unit.is_null() {
                assert_eq!(
                    unit["serviceConfig"]["Type"], "notify",
                    "{} {role}",
                    service.name
                );
            }
        }
    }
}

pub fn every_api_is_healthy(d: &Deployment) {
    for service in &d.services {
        let answer = d.get(&service.name, "/health", None);
        assert_eq!(answer.status, 200, "{} /health: {answer:?}", service.name);
    }
}

/// Sign-up at auth, the session accepted by every base service, and the first call provisioning
/// the user in the service's own database. Returns the session cookie and user id.
pub fn sign_up_and_provisioning_work(d: &Deployment) -> (String, String) {
    let email = format!("systemd-{}@example.com", random_secret(8).to_lowercase());
    let (cookie, user_id) = d.sign_up(&email, &random_secret(24));
    let provisioning = d.service("core");
    let answer = d.get(&provisioning.name, "/me", Some(&cookie));
    assert_eq!(answer.status, 200, "core /me: {answer:?}");
    assert!(answer.body.contains(&user_id), "core /me: {answer:?}");
    let stored = d
        .psql(
            "core",
            "core",
            "core",
            &format!("SELECT count(*) FROM stackr_user WHERE user_id = '{user_id}'"),
        )
        .unwrap();
    assert_eq!(
        stored, "1",
        "the user is provisioned in core's own database"
    );
    (cookie, user_id)
}

/// `stackr-set-role EMAIL ROLE`, run as root as the deploy guide says, makes the signed-up user
/// the first admin: auth's own binary as auth's identity, through its database's socket.
pub fn the_set_role_command_makes_the_first_admin(d: &Deployment, cookie: &str, user_id: &str) {
    let email = d.psql(
        "auth",
        "auth",
        "auth",
        &format!("SELECT email FROM \"user\" WHERE id = '{user_id}'"),
    );
    let email = email.unwrap_or_else(|e| panic!("the user's email: {e}"));
    let output = d.sh(&format!("stackr-set-role {} admin 2>&1", quoted(&email)));
    let role = d
        .psql(
            "auth",
            "auth",
            "auth",
            &format!("SELECT role FROM \"user\" WHERE id = '{user_id}'"),
        )
        .unwrap();
    assert_eq!(role, "admin", "stackr-set-role said: {output}");
    let answer = d.get("core", "/me", Some(cookie));
    assert_eq!(answer.status, 200, "core /me as an admin: {answer:?}");
}

pub fn a_job_runs_through_each_worker(d: &Deployment) {
    for service in d.services.iter().filter(|s| s.has_worker) {
        let id = d.enqueue(&service.name, &example_job(&service.name));
        d.wait_for_job(&service.name, &id);
    }
}

/// A reboot keeps users, sessions and jobs queued before it (and the generated secrets).
pub fn a_reboot_keeps_users_sessions_and_queued_jobs(d: &Deployment, cookie: &str, user_id: &str) {
    let secret_before = d.secret("auth-secret");
    d.sh("systemctl stop stackr-core-worker.service");
    let queued = d.enqueue("core", &example_job("core"));
    d.machine.reboot().unwrap();
    d.start();
    every_unit_is_active_through_its_readiness_notification(d);
    assert_eq!(
        d.secret("auth-secret"),
        secret_before,
        "the secrets were regenerated"
    );
    let session = d.session(cookie);
    assert!(
        session.status == 200 && session.body.contains(user_id),
        "the session did not survive the reboot: {session:?}"
    );
    let me = d.get("core", "/me", Some(cookie));
    assert_eq!(me.status, 200, "core after the reboot: {me:?}");
    d.wait_for_job("core", &queued);
}
