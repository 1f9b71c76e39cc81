//! Proves the NixOS evaluation harness (tests/it/nixos_eval.rs) is not vacuous: each mutation
//! injects one realistic mistake into a copy of the module library (or the host configuration)
//! and the harness must report it, either as an evaluation error from nixpkgs' module system or
//! as a property violation. Skipped when nix-instantiate is not installed.

use crate::common;

use std::path::Path;

use common::nixos::{evaluate_system, modules_dir, mutated_modules, violations};
use common::{fixture_config, generated_project, nix_instantiate_available};

/// What the harness must say about a mutation.
enum Caught {
    /// nixpkgs' module system refuses to evaluate, with this text in its error.
    ByEvaluation(&'static str),
    /// The system evaluates, and a property violation contains this text.
    ByProperty(&'static str),
}

struct Mutation {
    what: &'static str,
    /// File under modules/ and the text replaced in it (which must occur exactly once).
    file: &'static str,
    from: &'static str,
    to: &'static str,
    fixture: &'static str,
    host: &'static str,
    caught: Caught,
}

const GENERATE: &str = "{ stackr.secrets.generate = true; }";

const MUTATIONS: &[Mutation] = &[
    Mutation {
        what: "a renamed nixpkgs option",
        file: "redis.nix",
        from: "requirePassFile = svc.redis.passwordFile;",
        to: "requirePasswordFile = svc.redis.passwordFile;",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByEvaluation("requirePasswordFile' does not exist"),
    },
    Mutation {
        what: "a value of the wrong type",
        file: "redis.nix",
        from: "port = 0;",
        to: "port = toString 0;",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByEvaluation("is not of type"),
    },
    Mutation {
        what: "a systemd Type= systemd does not know",
        file: "postgresql.nix",
        from: "Type = \"notify\";",
        to: "Type = \"notfy\";",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByEvaluation("is not of type"),
    },
    Mutation {
        what: "an API or worker that does not report readiness",
        file: "units.nix",
        from: "Type = \"notify\";",
        to: "Type = \"simple\";",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByProperty("is not Type=notify"),
    },
    Mutation {
        what: "a stale name for a unit nixpkgs defines",
        file: "lib.nix",
        from: "redisUnit = name: \"redis-${name}.service\";",
        to: "redisUnit = name: \"redis-${name}-server.service\";",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByProperty(
            "stackr-core-api uses redis-core.service (REDIS_URL) without After= and Requires=/Wants= on it",
        ),
    },
    Mutation {
        what: "secrets in the Nix store",
        file: "options.nix",
        from: "else \"/var/keys/stackr\";",
        to: "else \"${builtins.storeDir}/stackr-keys\";",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByProperty("loads credential db-password from the Nix store"),
    },
    Mutation {
        what: "unquoted SQL identifiers with services named like SQL keywords",
        file: "lib.nix",
        from: "sqlIdent = name: ''\"${name}\"'';",
        to: "sqlIdent = name: name;",
        fixture: "keyword-names",
        host: "{ }",
        caught: Caught::ByProperty("unquoted SQL identifier `ROLE user`"),
    },
    Mutation {
        what: "API and worker sharing a state folder under two dynamic users",
        file: "units.nix",
        from: "User = user;\n        Group = user;",
        to: "DynamicUser = true;",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByProperty("state folder stackr/core is used by several identities"),
    },
    Mutation {
        what: "a base service not ordered after auth",
        file: "units.nix",
        from: "after = [ \"network.target\" ] ++ network ++ deps ++ authUnit ++ sockets;",
        to: "after = [ \"network.target\" ] ++ network ++ deps ++ sockets;",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByProperty(
            "stackr-core-worker uses stackr-auth-api.service (AUTH_URL) without After=",
        ),
    },
    Mutation {
        what: "a DATABASE_URL port nothing listens on",
        file: "lib.nix",
        from: "then config.stackr.services.${name}.postgres.port",
        to: "then 5432",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByProperty("where no server listens"),
    },
    Mutation {
        what: "a *_FILE variable naming a credential the unit does not load",
        file: "units.nix",
        from: "DATABASE_PASSWORD_FILE = \"%d/db-password\";",
        to: "DATABASE_PASSWORD_FILE = \"%d/database-password\";",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByProperty(
            "DATABASE_PASSWORD_FILE=%d/database-password is not a credential",
        ),
    },
    Mutation {
        what: "a deploy changing who may connect to an API's socket leaves it as it was",
        file: "units.nix",
        from: "builtins.toJSON { inherit (s.value) listenStreams socketConfig; }",
        to: "builtins.toJSON { inherit (s.value) listenStreams; }",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByProperty(
            "stackr-auth-api-sockets: its reloadTriggers miss the settings of stackr-auth-api.socket",
        ),
    },
    Mutation {
        what: "the system PostgreSQL made to require a stackr unit",
        file: "secrets.nix",
        from: "++ map stackrLib.redisUnit (lib.attrNames cfg.services);",
        to:
            "++ [ \"postgresql.service\" ] ++ map stackrLib.redisUnit (lib.attrNames cfg.services);",
        fixture: "shared-postgres",
        host: GENERATE,
        caught: Caught::ByProperty(
            "postgresql.service is made to depend on stackr unit stackr-secrets",
        ),
    },
    Mutation {
        what: "the generated secrets required by their consumers",
        file: "secrets.nix",
        from: "      before = consumerUnits;\n",
        to: "      before = consumerUnits;\n      requiredBy = consumerUnits;\n",
        fixture: "minimal",
        host: GENERATE,
        caught: Caught::ByProperty(
            "stackr-secrets: requiredBy stackr-auth-api.service: restarting it restarts",
        ),
    },
    Mutation {
        what: "a consumer of the generated secrets not ordered after them",
        file: "secrets.nix",
        from: "      before = consumerUnits;\n",
        to: "",
        fixture: "minimal",
        host: GENERATE,
        caught: Caught::ByProperty(
            "stackr-auth-api reads a generated secret but is not ordered after stackr-secrets",
        ),
    },
    Mutation {
        what: "a shared-mode database open to other roles",
        file: "postgresql.nix",
        from: "host ${id} all all reject\n",
        to: "",
        fixture: "shared-postgres",
        host: "{ }",
        // Each service's role is refused elsewhere by its own lines; the superuser (by password
        // over TCP, through nixpkgs' defaults) is not.
        caught: Caught::ByProperty("blog's database admits role postgres over TCP (md5)"),
    },
    Mutation {
        what: "a shared-mode role let in to the host's other databases",
        file: "postgresql.nix",
        from: "host all,replication ${id} all reject\n",
        to: "",
        fixture: "shared-postgres",
        host: "{ }",
        caught: Caught::ByProperty(
            "blog's role blog reaches database postgres over TCP from 127.0.0.1 without SSL (md5)",
        ),
    },
    Mutation {
        what: "a shared-mode role let in by peer to the host's other databases",
        file: "postgresql.nix",
        from: "local all,replication ${id} reject\n",
        to: "",
        fixture: "shared-postgres",
        host: "{ }",
        caught: Caught::ByProperty(
            "blog's role blog reaches database postgres through the socket (peer)",
        ),
    },
    Mutation {
        what: "a per-service server admitting every role",
        file: "postgresql.nix",
        from: "local ${id} ${id} scram-sha-256\n        ${lib.concatMapStrings",
        to: "local all all scram-sha-256\n        ${lib.concatMapStrings",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByProperty(
            "core's database admits role auth through the socket (scram-sha-256)",
        ),
    },
    Mutation {
        what: "two listeners on one port",
        file: "units.nix",
        from: "AUTH_ADMIN_PORT = toString svc.adminPort;",
        to: "AUTH_ADMIN_PORT = toString svc.port;",
        fixture: "minimal",
        host: "{ }",
        caught: Caught::ByProperty(
            "port 8888 is used by stackr-auth-api (PORT) and stackr-auth-api (AUTH_ADMIN_PORT)",
        ),
    },
];

/// A copy of modules/ with `mutation` applied.
fn mutated(mutation: &Mutation) -> tempfile::TempDir {
    mutated_modules(mutation.file, mutation.from, mutation.to)
}

fn verdict(modules: &Path, project: &Path, host: &str) -> Result<Vec<String>, String> {
    evaluate_system(modules, project, host).map(|system| violations(&system))
}

#[test]
fn every_injected_mistake_is_caught() {
    if !nix_instantiate_available() {
        eprintln!("nix-instantiate not installed: skipped");
        return;
    }
    for mutation in MUTATIONS {
        let project = generated_project(&fixture_config(mutation.fixture));
        // The unmutated library passes on the same project and host, so the mutation is the cause.
        let clean = verdict(&modules_dir(), project.path(), mutation.host);
        assert_eq!(
            clean,
            Ok(Vec::new()),
            "{}: the unmutated library must pass",
            mutation.what
        );

        let modules = mutated(mutation);
        let result = verdict(modules.path(), project.path(), mutation.host);
        match (&mutation.caught, &result) {
            (Caught::ByEvaluation(text), Err(error)) if error.contains(text) => {}
            (Caught::ByProperty(text), Ok(found)) if found.iter().any(|v| v.contains(text)) => {}
            _ => panic!(
                "{}: expected to be caught with `{}`, got {result:#?}",
                mutation.what,
                match mutation.caught {
                    Caught::ByEvaluation(text) | Caught::ByProperty(text) => text,
                }
            ),
        }
    }
}
