//! The harness itself: the locally built image yields a working PostgreSQL and Redis per service,
//! with the authentication rules the checks rely on, and stopping or dropping a container does
//! exactly that to that one container.

use std::process::Command;

use stackr_checks::{PostgresContainer, RedisContainer};
use tokio_postgres::NoTls;

fn container_exists(id: &str) -> bool {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("id={id}"),
        ])
        .output()
        .unwrap();
    !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

async fn can_login(cfg: &tokio_postgres::Config) -> Result<String, tokio_postgres::Error> {
    let (client, conn) = cfg.connect(NoTls).await?;
    tokio::spawn(conn);
    let row = client.query_one("SELECT current_user::text", &[]).await?;
    Ok(row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_container_admits_only_the_service_role_to_its_own_database() {
    let pg = PostgresContainer::start("my-svc").await.unwrap();
    let db = pg.create_service_database().await.unwrap();
    assert_eq!(db.role, "my_svc");
    assert_eq!(
        db.url_without_password(),
        format!("postgres://my_svc@127.0.0.1:{}/my_svc", pg.host_port())
    );

    assert_eq!(can_login(&db.config()).await.unwrap(), "my_svc");

    let mut wrong_password = db.config();
    wrong_password.password("not-the-password");
    assert!(
        can_login(&wrong_password).await.is_err(),
        "a wrong password must be refused"
    );

    let mut other_database = db.config();
    other_database.dbname("postgres");
    let err = can_login(&other_database).await.unwrap_err();
    assert!(
        format!("{err:?}").contains("pg_hba"),
        "only the same-named database is allowed: {err:?}"
    );

    // The superuser is trusted on loopback inside the container only; from the host it needs the
    // password, so a guess is refused.
    let mut superuser_guess = db.config();
    superuser_guess
        .user("postgres")
        .password("postgres")
        .dbname("postgres");
    assert!(
        can_login(&superuser_guess).await.is_err(),
        "the superuser must not be trusted from outside"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_container_requires_its_password() {
    let redis = RedisContainer::start("core").await.unwrap();
    let mut conn = redis.connect().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query_async(&mut conn)
        .await
        .unwrap();
    let v: String = redis::cmd("GET")
        .arg("k")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, "v");

    let mut anon = stackr_kit::redis_conn::multiplexed(&redis.url_without_password())
        .await
        .unwrap();
    let err = redis::cmd("GET")
        .arg("k")
        .query_async::<String>(&mut anon)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("NOAUTH"),
        "unauthenticated commands must be refused: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_one_container_leaves_the_others_and_dropping_removes_it() {
    let a = PostgresContainer::start("alpha").await.unwrap();
    let b = PostgresContainer::start("beta").await.unwrap();
    let a_db = a.create_service_database().await.unwrap();
    let b_db = b.create_service_database().await.unwrap();

    a.stop().await.unwrap();
    assert!(
        can_login(&a_db.config()).await.is_err(),
        "a stopped PostgreSQL must not answer"
    );
    assert_eq!(can_login(&b_db.config()).await.unwrap(), "beta");

    let (a_id, b_id) = (a.container_id().to_owned(), b.container_id().to_owned());
    assert!(container_exists(&a_id) && container_exists(&b_id));
    drop(a);
    drop(b);
    assert!(
        !container_exists(&a_id),
        "dropping the handle must remove the container"
    );
    assert!(!container_exists(&b_id));
}
