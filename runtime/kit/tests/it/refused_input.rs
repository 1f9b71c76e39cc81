//! What a handler cannot read from a request (a body that is not the JSON it takes, a path or
//! query parameter of the wrong type) is refused in the kit's `{message, code}` form, as every
//! other refusal of the service is, with axum's status and its reason, so a client reads one shape
//! of error whatever went wrong.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use stackr_kit::extract::{Json, Path, Query};
use tower::ServiceExt;

#[derive(Deserialize)]
struct NewNote {
    text: String,
}

#[derive(Deserialize)]
struct Page {
    page: u32,
}

fn app() -> Router {
    Router::new()
        .route(
            "/notes",
            post(|Json(note): Json<NewNote>| async move { Json(json!({ "text": note.text })) }),
        )
        .route(
            "/notes/{id}",
            get(|Path(id): Path<i64>| async move { Json(json!({ "id": id })) }),
        )
        .route(
            "/pages",
            get(|Query(page): Query<Page>| async move { Json(json!({ "page": page.page })) }),
        )
}

async fn send(request: Request<Body>) -> (StatusCode, Value) {
    let answer = app().oneshot(request).await.unwrap();
    let status = answer.status();
    let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
        .await
        .unwrap();
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    (status, body)
}

fn post_json(body: &str) -> Request<Body> {
    Request::post("/notes")
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn what_a_handler_cannot_read_is_refused_as_json() {
    let cases = [
        (post_json("{\"text\":"), StatusCode::BAD_REQUEST),
        (
            post_json("{\"title\":\"x\"}"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Request::post("/notes").body(Body::from("text=x")).unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Request::get("/notes/abc").body(Body::empty()).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::get("/pages?page=-1").body(Body::empty()).unwrap(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (request, expected) in cases {
        let what = format!("{} {}", request.method(), request.uri());
        let (status, body) = send(request).await;
        assert_eq!(status, expected, "{what}: {body}");
        assert_eq!(body["code"], "VALIDATION_ERROR", "{what}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }
    let (status, body) = send(post_json("{\"text\":\"hello\"}")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "text": "hello" })));
    let (_, body) = send(Request::get("/notes/7").body(Body::empty()).unwrap()).await;
    assert_eq!(body, json!({ "id": 7 }));
}
