//! Your code: this service's domain. The examples show the patterns: notes owned by the caller
//! (take the identity from the guard's extractor, keep data keyed by `user_id` in this service's
//! own database), a call to another service as the same user (`calls`) and a job for this
//! service's worker (`jobs`). Replace them with your own routes.

mod calls;
mod jobs;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use stackr_kit::deadpool_postgres::Pool;
use stackr_kit::extract::Json;
use stackr_kit::{Principal, ServiceState};

pub fn routes() -> Router<ServiceState> {
    Router::new()
        .route("/notes", get(list_notes).post(add_note))
        .merge(calls::routes())
        .merge(jobs::routes())
}

#[derive(Deserialize)]
struct NewNote {
    text: String,
}

/// The longest note taken: the request body alone may be 2 MB, and every note stays in the
/// database and in each listing.
const NOTE_LIMIT_BYTES: usize = 4096;
/// How many notes a listing answers, the newest first: it is built in memory whole, so however
/// many notes there are, one request costs at most this many.
const LIST_LIMIT: i64 = 100;
/// The most notes one user keeps: every note stays in the database, so without a bound a single
/// signed-in user could add notes until its disk is full, for every user of the service.
const NOTES_PER_USER: i64 = 1000;

async fn list_notes(who: Principal, State(db): State<Pool>) -> Result<Json<Value>, StatusCode> {
    let client = db
        .get()
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let rows = client
        .query(
            "SELECT id, text FROM note WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
            &[&who.user_id(), &LIST_LIMIT],
        )
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let notes: Vec<Value> = rows
        .iter()
        .map(|r| json!({ "id": r.get::<_, i64>(0), "text": r.get::<_, String>(1) }))
        .collect();
    Ok(Json(json!({ "notes": notes })))
}

async fn add_note(
    who: Principal,
    State(db): State<Pool>,
    Json(note): Json<NewNote>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    if note.text.len() > NOTE_LIMIT_BYTES {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    // PostgreSQL's text cannot hold a NUL character: refused here, not answered as a server
    // error (500, and an error in the log) as often as a caller likes.
    if note.text.contains('\0') {
        return Err(StatusCode::BAD_REQUEST);
    }
    let client = db
        .get()
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    // Counted by the insert itself, so concurrent requests may pass the bound by their number
    // (at most the database connections of each API process): still bounded.
    let row = client
        .query_opt(
            "INSERT INTO note (user_id, text) SELECT $1, $2 \
             WHERE (SELECT count(*) FROM note WHERE user_id = $1) < $3 RETURNING id",
            &[&who.user_id(), &note.text, &NOTES_PER_USER],
        )
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .ok_or(StatusCode::CONFLICT)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": row.get::<_, i64>(0) })),
    ))
}
