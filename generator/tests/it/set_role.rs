//! `stackr set-role`: the documented way to make the first admin of a dev stack. It builds the
//! project's own auth binary and runs its `set-role` against the dev PostgreSQL (a real one here,
//! on the port the config gives auth), accepting the roles the config declares and no others.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::fake_cargo::FakeCargo;
use common::local_build::{in_shared_target, use_local_runtime};
use common::{init_project, stderr};
use stackr_testkit::TempPostgres;

const PASSWORD: &str = "dev-db-password";

/// Points auth's dev PostgreSQL at `pg` and makes `core` role-gated for `finance`.
fn use_database_and_roles(root: &Path, pg: &TempPostgres) {
    let config = std::fs::read_to_string(root.join("stackr.config.json")).unwrap();
    let config = config.replace("15440", &pg.port().to_string()).replace(
        "\"authMiddleware\": \"standard\"",
        "\"authMiddleware\": \"role-gated\", \"roles\": [\"finance\"]",
    );
    std::fs::write(root.join("stackr.config.json"), config).unwrap();
    pg.create_service_database("auth", PASSWORD);
    let secrets = root.join(".stackr/secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("auth-db-password"), PASSWORD).unwrap();
}

fn set_role(root: &Path, email: &str, role: &str) -> Output {
    in_shared_target(Command::new(env!("CARGO_BIN_EXE_stackr")))
        .current_dir(root)
        .args(["set-role", email, role])
        .output()
        .unwrap()
}

#[test]
fn set_role_makes_the_first_admin_and_gives_declared_roles() {
    let pg = TempPostgres::start();
    let (_parent, root) = init_project(&[]);
    use_local_runtime(&root);
    use_database_and_roles(&root, &pg);

    // Nobody has signed up yet: the command says so (and has created auth's tables meanwhile).
    let out = set_role(&root, "root@example.com", "admin");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no user with email root@example.com"),
        "{}",
        stderr(&out)
    );

    pg.psql(
        "auth",
        r#"insert into "user" ("id", "name", "email", "emailVerified", "role") values ('u1', 'Root', 'root@example.com', false, 'user'), ('u2', 'Fin', 'fin@example.com', false, 'user')"#,
    );
    let out = set_role(&root, "root@example.com", "admin");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = set_role(&root, "fin@example.com", "finance");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = set_role(&root, "fin@example.com", "auditor");
    assert!(
        !out.status.success() && stderr(&out).contains("`finance`"),
        "a role no service declares is refused, naming the declared ones: {}",
        stderr(&out)
    );
    let roles = pg.psql(
        "auth",
        r#"select "email", "role" from "user" order by "email""#,
    );
    assert!(
        roles.contains("fin@example.com|finance") && roles.contains("root@example.com|admin"),
        "{roles}"
    );
}

/// Arguments the auth binary refuses (no email address, no role, a role the stack does not
/// declare) were handed to it all the same, after cargo had built it: minutes on a fresh project,
/// to say no. They are refused first, naming what is wrong, and cargo never runs.
#[test]
fn bad_arguments_are_refused_before_anything_is_built() {
    let (_parent, root) = init_project(&["--roles", "core=finance"]);
    let cargo = FakeCargo::trying(&[]);
    for (args, said) in [
        (
            &["root@example", "admin"][..],
            "`root@example` is not an email address",
        ),
        (
            &["root example@x.com", "admin"][..],
            "is not an email address",
        ),
        (&["root@example.com", ""][..], "no role given"),
        (
            &["root@example.com", "admin,"][..],
            "`admin,` has an empty entry",
        ),
        (
            &["root@example.com", "auditor"][..],
            "`auditor` is not a role this stack declares; roles are `user`, `admin`, `finance`",
        ),
        (&["root@example.com"][..], "<ROLE>"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_stackr"))
            .current_dir(&root)
            .arg("set-role")
            .args(args)
            // The cargo set-role runs when CARGO names none.
            .env_remove("CARGO")
            .env("PATH", cargo.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
        assert_eq!(cargo.asked(), None, "{args:?}: cargo ran");
    }
}
