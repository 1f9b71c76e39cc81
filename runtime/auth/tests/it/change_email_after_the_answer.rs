//! The work `change-email` does after its answer is bounded in how much runs at once.

use crate::change_email::{confirmation_link, path_of};
use crate::common;

use common::*;
use serde_json::json;
use stackr_testkit::CapturedLogs;

/// Each change-email request left a task behind its answer, holding a database connection while
/// it ran: with the database slow (here, the mail budgets locked), a flood of requests piled up
/// tasks without end and took every connection answers need. At most the bound run at once; one
/// more is refused with the rate limiter's answer, the same whether the new address has an
/// account or not, and once the work is done requests are taken again.
#[tokio::test]
async fn the_work_after_change_email_answers_is_bounded() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Cal", "cal@example.com", "password-123")
        .await;
    server
        .client()
        .sign_up("Dee", "dee@example.com", "password-123")
        .await;
    let bound = server.state.after_the_answer.bound();

    let mut holder = server.state.db().await.unwrap();
    let lock = holder.transaction().await.unwrap();
    lock.batch_execute(r#"lock table "mail_budget" in exclusive mode"#)
        .await
        .unwrap();
    for n in 0..bound {
        let r = ask(&mut owner, &format!("new{n}@example.com")).await;
        assert_eq!((r.status, r.json()), (200, json!({"status": true})), "{n}");
    }
    let without_account = ask(&mut owner, "new-more@example.com").await;
    let with_account = ask(&mut owner, "dee@example.com").await;
    for r in [&without_account, &with_account] {
        assert_eq!(
            (r.status, r.json()),
            (
                429,
                json!({"message": "Too many requests. Please try again later."})
            )
        );
        assert_eq!(r.headers["x-retry-after"], "1");
    }
    lock.rollback().await.unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = ask(&mut owner, "new-later@example.com").await;
        if r.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still refused once the work could finish: {}",
            r.text
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// An instance refusing change-email work says so at warn, where an operator looks: at debug
/// only, a bound too small for its users went unseen. Once, not a line per refusal: a flood of
/// requests past the bound would flood the log too.
#[tokio::test]
async fn refusals_at_the_bound_are_logged_once_at_warn() {
    let server = TestServer::start().await;
    let mut owner = server.client();
    owner
        .sign_up("Cal", "cal@example.com", "password-123")
        .await;
    let logs = CapturedLogs::start();
    let lock = BoundFilled::by(&server, &mut owner).await;
    for n in 0..10 {
        let r = ask(&mut owner, &format!("more{n}@example.com")).await;
        assert_eq!(r.status, 429, "{n}: {}", r.text);
    }
    lock.release().await;
    let alarming = logs.alarming();
    assert_eq!(alarming.len(), 1, "{alarming:#?}");
    assert!(alarming[0].contains("change-email"), "{alarming:#?}");
}

/// The confirmation link is opened in a browser: refused at the bound, it goes back to its
/// callback with the error in the query, as BetterAuth's links do on their other errors, instead
/// of showing the browser a JSON body. Opened without a callback, it answers the JSON 429.
#[tokio::test]
async fn a_confirmation_link_refused_at_the_bound_goes_back_to_its_callback() {
    let server = TestServer::start().await;
    let (mut val, confirmation) = confirmation_link(&server, "free@example.com").await;
    let lock = BoundFilled::by(&server, &mut val).await;
    let opened = server.client().get(&path_of(&confirmation)).await;
    let without_callback = server
        .client()
        .get(&path_of(&confirmation).replace("&callbackURL=%2Fsettings", ""))
        .await;
    lock.release().await;
    assert_eq!(opened.status, 302, "{}", opened.text);
    assert_eq!(
        opened.headers["location"],
        "/settings?error=TOO_MANY_REQUESTS"
    );
    assert_eq!(
        (without_callback.status, without_callback.json()),
        (
            429,
            json!({"message": "Too many requests. Please try again later."})
        )
    );
}

/// The mail budgets locked, and as many of `owner`'s change-email requests waiting on them as
/// the work after answers may run at once.
struct BoundFilled {
    holder: stackr_auth::db::Client,
}

impl BoundFilled {
    async fn by(server: &TestServer, owner: &mut Client) -> BoundFilled {
        let holder = server.state.db().await.unwrap();
        holder
            .batch_execute(r#"begin; lock table "mail_budget" in exclusive mode"#)
            .await
            .unwrap();
        for n in 0..server.state.after_the_answer.bound() {
            let r = ask(owner, &format!("new{n}@example.com")).await;
            assert_eq!(r.status, 200, "{n}: {}", r.text);
        }
        BoundFilled { holder }
    }

    async fn release(self) {
        self.holder.batch_execute("rollback").await.unwrap();
    }
}

/// `owner`'s change-email to `new_email`, answered within 10 s.
async fn ask(owner: &mut Client, new_email: &str) -> Response {
    let answer = owner.post("/api/auth/change-email", json!({"newEmail": new_email}));
    tokio::time::timeout(std::time::Duration::from_secs(10), answer)
        .await
        .expect("change-email answered")
}
