//! stackr-kit's integration tests, in one binary: each module is one suite, and
//! scripts/test.sh runs each in its own process.

mod adversarial_guard;
mod auth_replicas;
mod dashboard_actions_at_guard;
mod database_host_crash;
mod database_unix_socket;
mod db_pool;
mod db_startup_wait;
mod device_session_limits;
mod device_session_revocation;
#[path = "../../../auth/tests/it/common/github_fake.rs"]
mod github_fake;
mod guard_auth_answers;
mod guard_bearer;
mod guard_fail_closed;
mod guard_flexible;
mod guard_oauth_user;
mod guard_origin;
mod guard_oversized_cookie;
mod guard_role_gated;
mod guard_standard;
mod health_checks;
mod kit_support;
mod peer_client;
mod provisioning_once;
mod redis_unix_socket;
mod runtime_setup;
mod scaffold_example;
mod slow_clients;
mod startup_failure;
mod test_postgres_login;
mod worker_crash_recovery;
mod worker_graceful_shutdown;
mod worker_handler_failures;
mod worker_idle;
mod worker_interop_node;
mod worker_job_schedulers;
mod worker_job_status;
mod worker_lock_renewal;
mod worker_node_parity;
mod worker_option_matrix;
mod worker_redis_startup;
mod worker_scheduler_counts;
mod worker_scripts_pinned;
mod worker_stored_attempts;
mod worker_support;
