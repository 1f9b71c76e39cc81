//! A service's PostgreSQL on the same host is reached through its Unix socket: the URL's host is
//! the socket's folder, percent-encoded (`postgres://core@%2Frun%2F…:5441/core`, as libpq reads
//! it), and the role still logs in with the password from `DATABASE_PASSWORD_FILE`.

use stackr_kit::config::ServiceEnv;
use stackr_testkit::TempPostgres;

fn socket_url(pg: &TempPostgres, role: &str) -> String {
    let folder = pg.socket_dir().display().to_string().replace('/', "%2F");
    format!("postgres://{role}@{folder}:{}/{role}", pg.port())
}

fn service_env(url: &str, password_file: &std::path::Path) -> ServiceEnv {
    ServiceEnv::from_lookup(&|name: &str| match name {
        "STACKR_SERVICE" => Some("core".to_owned()),
        "DATABASE_URL" => Some(url.to_owned()),
        "DATABASE_PASSWORD_FILE" => Some(password_file.display().to_string()),
        "REDIS_URL" => Some("redis://:unused@127.0.0.1:1".to_owned()),
        _ => None,
    })
    .expect("a socket folder is a PostgreSQL host")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_logs_in_through_the_socket_with_its_password() {
    let pg = TempPostgres::start();
    pg.create_service_database("core", "right-password");
    let secrets = tempfile::tempdir().unwrap();
    let right = secrets.path().join("right");
    std::fs::write(&right, "right-password\n").unwrap();
    let url = socket_url(&pg, "core");

    let env = service_env(&url, &right);
    assert!(
        !env.database_url.to_string().contains("right-password"),
        "{}",
        env.database_url
    );
    let pool = stackr_kit::db::connect(&env.database_url, None, "test", 1)
        .await
        .expect("connects through the socket");
    let row = pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT current_user::text, inet_client_addr() IS NULL", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "core");
    assert!(row.get::<_, bool>(1), "the connection came over TCP");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_asks_the_service_for_its_password() {
    let pg = TempPostgres::start();
    pg.create_service_database("core", "right-password");
    let secrets = tempfile::tempdir().unwrap();
    let wrong = secrets.path().join("wrong");
    std::fs::write(&wrong, "wrong-password\n").unwrap();

    let env = service_env(&socket_url(&pg, "core"), &wrong);
    let logs = stackr_testkit::CapturedLogs::start();
    let refused = stackr_kit::db::connect(&env.database_url, None, "test", 1)
        .await
        .expect_err("a wrong password gets in");
    assert!(
        refused
            .to_string()
            .contains("password authentication failed"),
        "{refused:#}"
    );
    // While it waits, the journal says why each attempt failed, not tokio-postgres's bare
    // "db error": an operator who rotated the password watches these lines.
    let waiting: Vec<String> = logs
        .lines()
        .into_iter()
        .filter(|l| l.contains("waiting for PostgreSQL"))
        .collect();
    assert!(!waiting.is_empty(), "{:#?}", logs.lines());
    assert!(
        waiting
            .iter()
            .all(|l| l.contains("password authentication failed")),
        "{waiting:#?}"
    );
}
