//! Additional user fields (`AUTH_USER_FIELDS`) end to end on a real PostgreSQL: the columns auth
//! adds, what sign-up, update-user, get-session and admin create-user do with them, and values
//! of the wrong type refused before they reach the database.

use crate::common;

use common::*;
use serde_json::{json, Value};

/// `required` is true unless said otherwise (BetterAuth's default).
const FIELDS: &str = r#"[
  {"name": "plan", "type": "string", "input": false, "defaultValue": "free"},
  {"name": "company", "type": "string"},
  {"name": "seats", "type": "number", "required": false},
  {"name": "trialEnds", "type": "date", "required": false},
  {"name": "newsletter", "type": "boolean", "defaultValue": true}
]"#;

async fn server() -> TestServer {
    TestServer::start_with(Options {
        user_fields: FIELDS,
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await
}

fn sign_up_body(email: &str, extra: Value) -> Value {
    let mut body = json!({"name": "Ann", "email": email, "password": "password-123"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn fields_get_typed_columns_and_defaults_and_are_answered_in_order() {
    let server = server().await;
    let columns = server.psql(
        r#"select column_name || ' ' || data_type from information_schema.columns
           where table_name = 'user' and column_name in ('plan', 'company', 'seats', 'trialEnds', 'newsletter')
           order by column_name"#,
    );
    assert_eq!(
        columns.lines().collect::<Vec<_>>(),
        [
            "company text",
            "newsletter boolean",
            "plan text",
            "seats double precision",
            "trialEnds timestamp with time zone"
        ]
    );
    let mut ann = server.client();
    let r = ann
        .post(
            "/api/auth/sign-up/email",
            sign_up_body(
                "ann@example.com",
                json!({"company": "Acme", "plan": "enterprise"}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys: Vec<String> = r.json()["user"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let at = keys.iter().position(|k| k == "plan").unwrap();
    assert_eq!(
        keys[at..],
        ["plan", "company", "seats", "trialEnds", "newsletter", "id"],
        "declared order, before id"
    );
    let user = ann.session().await["user"].clone();
    assert_eq!(
        [
            &user["plan"],
            &user["company"],
            &user["seats"],
            &user["trialEnds"],
            &user["newsletter"]
        ],
        [
            &json!("free"),
            &json!("Acme"),
            &Value::Null,
            &Value::Null,
            &json!(true)
        ],
        "a server-only field takes its default whatever the client sent"
    );

    let r = ann
        .post(
            "/api/auth/update-user",
            json!({"seats": 2.5, "trialEnds": "2027-03-01T10:00:00+02:00", "newsletter": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = ann.session().await["user"].clone();
    assert_eq!(
        [&user["seats"], &user["trialEnds"], &user["newsletter"]],
        [
            &json!(2.5),
            &json!("2027-03-01T08:00:00.000Z"),
            &json!(false)
        ]
    );
    assert_eq!(
        server
            .psql(r#"select "plan" from "user" where "email" = 'ann@example.com'"#)
            .trim(),
        "free"
    );
}

#[tokio::test]
async fn refused_input_creates_and_changes_nothing() {
    let server = server().await;
    let mut c = server.client();
    for (extra, status, code) in [
        (json!({}), 400, "MISSING_FIELD"),
        (json!({"company": 7}), 400, "VALIDATION_ERROR"),
        (
            json!({"company": "Acme", "seats": "3"}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"company": "Acme", "trialEnds": "next week"}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"company": "Acme", "newsletter": "yes"}),
            400,
            "VALIDATION_ERROR",
        ),
    ] {
        let r = c
            .post(
                "/api/auth/sign-up/email",
                sign_up_body("bob@example.com", extra.clone()),
            )
            .await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{extra}: {}",
            r.text
        );
    }
    assert_eq!(server.psql(r#"select count(*) from "user""#).trim(), "0");

    let r = c
        .post(
            "/api/auth/sign-up/email",
            sign_up_body("bob@example.com", json!({"company": "Acme", "seats": 4})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c
        .post("/api/auth/update-user", json!({"plan": "pro"}))
        .await;
    assert_eq!(
        (r.status, r.code().as_str(), r.json()["message"].clone()),
        (
            400,
            "FIELD_NOT_ALLOWED",
            json!("plan is not allowed to be set")
        )
    );
    for body in [json!({"seats": "many"}), json!({"company": null})] {
        let r = c.post("/api/auth/update-user", body.clone()).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "VALIDATION_ERROR"),
            "{body}"
        );
    }
    let r = c.post("/api/auth/update-user", json!({"plan": ""})).await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (400, json!("No fields to update"))
    );
    assert_eq!(
        server
            .psql(r#"select "plan" || ' ' || "seats" from "user""#)
            .trim(),
        "free 4"
    );
}

#[tokio::test]
async fn users_created_by_an_admin_get_the_defaults() {
    let server = TestServer::start_with(Options {
        user_fields: r#"[{"name": "plan", "type": "string", "input": false, "defaultValue": "free"}]"#,
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await;
    let mut admin = server.admin("Root", "root@example.com").await;
    let r = admin
        .post(
            "/api/auth/admin/create-user",
            json!({"email": "new@example.com", "password": "password-123", "name": "Nu"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["user"]["plan"], "free");
    assert_eq!(
        server
            .psql(r#"select "plan" from "user" where "email" = 'new@example.com'"#)
            .trim(),
        "free"
    );
}

/// A string field declared in `AUTH_USER_FIELDS` is capped like `name`: nobody can park megabytes
/// in a profile every base service fetches with every get-session. At the cap it is stored;
/// over it, sign-up creates nobody and update-user changes nothing.
#[tokio::test]
async fn string_fields_are_capped_like_the_built_in_ones() {
    let server = server().await;
    let cap = 1024;
    let r = server
        .client()
        .post(
            "/api/auth/sign-up/email",
            sign_up_body("big@example.com", json!({"company": "A".repeat(cap + 1)})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "VALIDATION_ERROR".into()),
        "{}",
        r.text
    );
    assert!(r.text.contains("body.company"), "{}", r.text);
    assert_eq!(
        server.psql(r#"select count(*) from "user" where "email" = 'big@example.com'"#),
        "0"
    );
    let mut ann = server.client();
    let r = ann
        .post(
            "/api/auth/sign-up/email",
            sign_up_body("ann@example.com", json!({"company": "A".repeat(cap)})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = ann
        .post(
            "/api/auth/update-user",
            json!({"company": "B".repeat(cap + 1)}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "VALIDATION_ERROR".into()),
        "{}",
        r.text
    );
    assert_eq!(ann.session().await["user"]["company"], "A".repeat(cap));
}

/// With email verification required, signing up with an address that has an account answers as
/// a new account would, so the answer does not tell which addresses have one: the fields too,
/// rendered as stored (a number written `3.0`, or too large for an integer, comes back as the
/// stored double does; a date in another offset as the stored UTC instant).
#[tokio::test]
async fn a_sign_up_with_a_taken_address_answers_its_fields_as_a_new_one_would() {
    let server = TestServer::start_with(Options {
        user_fields: FIELDS,
        require_email_verification: true,
        session_cache_ms: Some(0),
        ..Default::default()
    })
    .await;
    let fields: Value = serde_json::from_str(
        r#"{"company": "Acme", "seats": 3.0, "trialEnds": "2027-01-01T10:00:00.5+02:00"}"#,
    )
    .unwrap();
    let big: Value =
        serde_json::from_str(r#"{"company": "Acme", "seats": 12345678901234567890}"#).unwrap();
    for (n, extra) in [fields, big].into_iter().enumerate() {
        let sign_up = |email: String| {
            let body = sign_up_body(&email, extra.clone());
            let client = server.client();
            async move {
                let mut client = client;
                client.post("/api/auth/sign-up/email", body).await
            }
        };
        let taken = format!("taken{n}@example.com");
        assert_eq!(sign_up(taken.clone()).await.status, 200);
        let fresh = sign_up(format!("fresh{n}@example.com")).await;
        let again = sign_up(taken).await;
        let user = |r: &Response| {
            let mut user = r.json()["user"].clone();
            for volatile in ["id", "email", "createdAt", "updatedAt"] {
                user.as_object_mut().unwrap().remove(volatile);
            }
            user.to_string()
        };
        assert_eq!(user(&fresh), user(&again), "{extra}");
    }
}

/// PostgreSQL's text cannot hold a NUL character: a body carrying one in any field that reaches
/// the database is a validation error, never a 500 (which would also log an error per request).
/// Passwords, which are only hashed, may hold one.
#[tokio::test]
async fn a_nul_character_in_a_text_field_is_a_validation_error() {
    let server = server().await;
    let mut ann = server.client();
    let r = ann
        .post(
            "/api/auth/sign-up/email",
            sign_up_body(
                "ann@example.com",
                json!({"password": "pass\u{0}word-123", "company": "Acme"}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "a password may hold a NUL: {}", r.text);
    for (path, body) in [
        (
            "/api/auth/sign-in/email",
            json!({"email": "a\u{0}@x.com", "password": "p"}),
        ),
        ("/api/auth/update-user", json!({"name": "a\u{0}b"})),
        ("/api/auth/update-user", json!({"company": "a\u{0}b"})),
        (
            "/api/auth/sign-up/email",
            sign_up_body("bo\u{0}b@example.com", json!({"company": "Acme"})),
        ),
        (
            "/api/auth/sign-up/email",
            sign_up_body("bob@example.com", json!({"company": "Ac\u{0}me"})),
        ),
        (
            "/api/auth/request-password-reset",
            json!({"email": "ann\u{0}@example.com"}),
        ),
    ] {
        let r = ann.post(path, body.clone()).await;
        assert!(
            (400..500).contains(&r.status),
            "{path} {body}: {} {}",
            r.status,
            r.text
        );
    }
    assert_eq!(ann.session().await["user"]["company"], "Acme");
}
