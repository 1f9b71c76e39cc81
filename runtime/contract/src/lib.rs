//! Facts every side of a stackr project must agree on, in one place: the generator writes them,
//! the runtime crates (auth, the kit) read them, lint and the checks test them. Few dependencies
//! (`url`, `percent-encoding`, `socket2`), so the runtime crates can carry it wherever they are vendored; features for auth and the kit
//! add how their processes log (`telemetry`) and serve HTTP (`http-server`). docs/runtime-contract.md
//! explains each name.

pub mod cookie;
pub mod email;
pub mod env;
#[cfg(feature = "http-server")]
pub mod http_server;
pub mod origin;
pub mod provider_url;
pub mod roles;
pub mod socket_activation;
#[cfg(feature = "telemetry")]
pub mod telemetry;
pub mod user_fields;

/// The message and code of a runtime process's `503` (`{"message", "code"}`, as auth's errors):
/// the kit's guard when a service cannot serve, and an API whose start-up failed
/// (`socket_activation::turn_away_waiting`).
pub const UNAVAILABLE_MESSAGE: &str = "Service unavailable";
pub const UNAVAILABLE_CODE: &str = "SERVICE_UNAVAILABLE";

/// How long a process waits at start-up for its PostgreSQL and Redis to answer: process-compose
/// and systemd may start it before its stores accept connections, or its stores run on another
/// host that is still booting.
pub const STARTUP_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a base service's PostgreSQL pool keeps a connection it has not used. Each open
/// connection is a server process (some 10 MB resident), which a service nobody is using has no
/// need to hold; the next request pays a new connection (a few milliseconds). node-postgres's
/// pool, which a Node service would use, closes them after 10 s. The dev-stack bench waits this
/// long, and [`DB_POOL_IDLE_CHECK`], before it counts a stack as idle.
pub const DB_POOL_IDLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);
/// How often the pool looks for connections unused for [`DB_POOL_IDLE_LIMIT`].
pub const DB_POOL_IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// What start-up says of a store that gave no answer within [`STARTUP_WAIT`].
pub fn no_answer_within_startup_wait() -> String {
    format!(
        "no answer within the start-up wait of {}s",
        STARTUP_WAIT.as_secs()
    )
}

/// What start-up says of a store whose last attempt got no answer before [`STARTUP_WAIT`] ended,
/// after earlier attempts failed: the error of the one before, if any (a wrong password answers at
/// once, attempt after attempt, and is the reason, whichever attempt the wait cut short).
pub fn no_answer_within_startup_wait_after(
    earlier_error: Option<&dyn std::fmt::Display>,
) -> String {
    match earlier_error {
        Some(earlier) => format!(
            "{}; the attempt before: {earlier}",
            no_answer_within_startup_wait()
        ),
        None => no_answer_within_startup_wait(),
    }
}

/// What start-up says of a store whose every connection failed until [`STARTUP_WAIT`] ended (its
/// host still booting, a wrong address, a role not created yet), with the last error.
pub fn unreachable_within_startup_wait(last_error: &dyn std::fmt::Display) -> String {
    format!(
        "still failing when the start-up wait of {}s ended; the last attempt: {last_error}",
        STARTUP_WAIT.as_secs()
    )
}

/// The provider id of auth's password accounts. Accounts are told apart by provider id alone,
/// and a password account's account id is its user's id, so an OAuth provider may not be named
/// so: its identity whose subject is a user's id would be that user's password account.
pub const PASSWORD_PROVIDER_ID: &str = "credential";

/// The state folder of `stackr dev` when the config names none (`stateDir`): secrets, data,
/// sockets and the dev mailbox, git-ignored.
pub const DEFAULT_STATE_DIR: &str = ".stackr";

/// The lines of the `.gitignore` written in the state folder by whatever starts the dev stack
/// first (`stackr dev`, or the stack's own `secrets` step under process-compose): it keeps the
/// folder out of git even in a project whose own `.gitignore` forgot it, and marks the folder as
/// a state folder, the only kind `stackr dev` takes over and `--reset` deletes.
pub const STATE_DIR_GITIGNORE: &[&str] =
    &["# stackr dev state: databases, Redis data, secrets", "*"];

/// The user field auth answers for each base service, true once that service provisioned the
/// user: `my-svc` → `hasMySvcAccount` (each part of the name capitalised, separators dropped).
pub fn has_account_field(service: &str) -> String {
    let camel: String = service
        .split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    format!("has{camel}Account")
}

#[cfg(test)]
mod tests {
    use super::has_account_field;

    #[test]
    fn has_account_fields_camel_case_the_service_name() {
        assert_eq!(has_account_field("core"), "hasCoreAccount");
        assert_eq!(has_account_field("my-svc"), "hasMySvcAccount");
        assert_eq!(has_account_field("a1-b2-c"), "hasA1B2CAccount");
        assert_eq!(has_account_field("wallet2"), "hasWallet2Account");
    }
}
