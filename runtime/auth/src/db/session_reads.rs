//! How get-session reads sessions: concurrent get-sessions are answered together. A few readers,
//! each on a pooled connection of its own, take every lookup waiting when they are free and read
//! them all with one statement (`token = any($1)`). A lookup that finds a reader free goes out at
//! once, alone; under load one execution answers many, so PostgreSQL parses, plans and wakes up
//! once per batch instead of once per request.
//!
//! This is not a cache: a lookup only joins a batch that has not been sent yet, so its answer is
//! read after it arrived, exactly as with a query of its own.
//!
//! A reader keeps its connection; one that PostgreSQL closed (a restart) is dropped, the pool
//! discards it, and the batch is read once more on a new one. A row auth cannot read fails the
//! lookup of its token alone; a token that no row can hold (a NUL in it) is not sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use deadpool_postgres::{Client, Pool};
use tokio::sync::{mpsc, oneshot};

use super::models::{Session, User, SESSION_COLUMN_COUNT, SESSION_TOKEN_COLUMN};
use crate::error::ApiError;

/// Readers at most: PostgreSQL runs one backend per connection, so a few keep every core busy;
/// more only split the batches.
const MAX_READERS: usize = 4;

/// Tokens read by one statement at most.
const MAX_BATCH: usize = 128;

/// What a lookup gets back: the session with its user, if the token has one, and when the
/// statement that read it was sent.
pub struct Found {
    pub session: Option<(Session, User)>,
    pub sent: Instant,
}

struct Lookup {
    token: String,
    reply: oneshot::Sender<Result<Found, ApiError>>,
}

type Queue = mpsc::UnboundedReceiver<Lookup>;

pub struct SessionReads {
    pool: Pool,
    /// The batch statement: one of `sessions::find_with_users_sql`.
    sql: Arc<str>,
    lookups: mpsc::UnboundedSender<Lookup>,
    readers: usize,
    /// The queue, until the first lookup starts the readers (they need a running runtime). The
    /// readers alone hold it afterwards: when they are gone, sending fails instead of waiting.
    queue: Mutex<Option<Queue>>,
}

impl SessionReads {
    /// Takes at most half the pool for readers (the other routes keep the rest); none when the
    /// pool has fewer than two connections, and then every lookup reads on its own connection.
    pub fn new(pool: Pool, sql: String) -> Self {
        let readers = (pool.status().max_size / 2).min(MAX_READERS);
        let (lookups, queue) = mpsc::unbounded_channel();
        SessionReads {
            pool,
            sql: sql.into(),
            lookups,
            readers,
            queue: Mutex::new(Some(queue)),
        }
    }

    /// The session of `token` with its user, read after this call began.
    pub async fn find(&self, token: &str) -> Result<Found, ApiError> {
        // PostgreSQL's text takes no NUL, so no session has one: such a token, sent along,
        // would fail the whole statement, and every lookup of its batch with it.
        if token.contains('\0') {
            return Ok(Found {
                session: None,
                sent: Instant::now(),
            });
        }
        if self.readers == 0 {
            let mut client = None;
            let sent = Instant::now();
            let rows = read(&self.pool, &mut client, &self.sql, &[token]).await?;
            return found(&rows, token, sent);
        }
        self.start_readers();
        let (reply, answer) = oneshot::channel();
        let lookup = Lookup {
            token: token.to_owned(),
            reply,
        };
        if self.lookups.send(lookup).is_err() {
            return Err(ApiError::internal("get-session's readers stopped"));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(ApiError::internal("get-session's reader stopped")))
    }

    fn start_readers(&self) {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(queue) = queue.take() else {
            return;
        };
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        for _ in 0..self.readers {
            let (pool, sql, queue) = (self.pool.clone(), self.sql.clone(), queue.clone());
            // A reader that panicked is replaced: only the lookups of its batch fail (their
            // replies dropped), not every later one once all readers are gone.
            tokio::spawn(async move {
                while let Err(ended) =
                    tokio::spawn(reader(pool.clone(), sql.clone(), queue.clone())).await
                {
                    if !ended.is_panic() {
                        return;
                    }
                    tracing::error!("a get-session reader panicked; started again");
                }
            });
        }
    }
}

/// What the lookup of `token` gets from the rows read: its session, none, or the error of a
/// row auth could not read (that lookup's alone).
fn found(rows: &Rows, token: &str, sent: Instant) -> Result<Found, ApiError> {
    match rows.get(token) {
        // Cloned: a token can be asked twice in one batch (one user's parallel requests).
        Some(Ok(session)) => Ok(Found {
            session: Some(session.clone()),
            sent,
        }),
        Some(Err(e)) => Err(e.clone()),
        None => Ok(Found {
            session: None,
            sent,
        }),
    }
}

/// The rows read, by token: the session with its user, or why the row could not be read.
type Rows = HashMap<String, Result<(Session, User), ApiError>>;

/// Takes every waiting lookup (up to `MAX_BATCH`), reads them in one statement, answers each;
/// ends when the `SessionReads` is dropped.
async fn reader(pool: Pool, sql: Arc<str>, queue: Arc<tokio::sync::Mutex<Queue>>) {
    let mut client = None;
    loop {
        let batch = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(lookup) => batch.push(lookup),
                    Err(_) => break,
                }
            }
            batch
        };
        let tokens: Vec<&str> = batch.iter().map(|l| l.token.as_str()).collect();
        let sent = Instant::now();
        match read(&pool, &mut client, &sql, &tokens).await {
            Ok(rows) => {
                for lookup in batch {
                    let _ = lookup.reply.send(found(&rows, &lookup.token, sent));
                }
            }
            Err(e) => {
                for lookup in batch {
                    let _ = lookup.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// The sessions of `tokens` with their users, by token, on `client` (taken from the pool when
/// there is none, replaced when PostgreSQL ended it: a restart, `pg_terminate_backend`). Each
/// connection the pool holds may have been ended at once (a restart ends them all), so the read
/// is made again on up to as many connections as the pool holds, and one more it makes.
async fn read(
    pool: &Pool,
    client: &mut Option<Client>,
    sql: &str,
    tokens: &[&str],
) -> Result<Rows, ApiError> {
    let mut attempts_left = pool.status().max_size + 1;
    loop {
        let connection = match client.take() {
            Some(c) if !c.is_closed() => c,
            _ => pool.get().await?,
        };
        let rows = match connection.prepare_cached(sql).await {
            Ok(statement) => connection.query(&statement, &[&tokens]).await,
            Err(e) => Err(e),
        };
        match rows {
            Ok(rows) => {
                *client = Some(connection);
                return Ok(rows
                    .iter()
                    .filter_map(|row| {
                        let token: String = row.try_get(SESSION_TOKEN_COLUMN).ok()?;
                        let read = Session::try_from_row(row, 0)
                            .and_then(|s| Ok((s, User::try_from_row(row, SESSION_COLUMN_COUNT)?)))
                            .map_err(|e| {
                                tracing::error!(error = %e, "a session or its user cannot be read");
                                ApiError::internal("the session's row cannot be read")
                            });
                        Some((token, read))
                    })
                    .collect());
            }
            // PostgreSQL ended the connection: again on another one.
            Err(e) if attempts_left > 0 && (connection.is_closed() || ended_by_the_server(&e)) => {
                attempts_left -= 1;
            }
            Err(e) => {
                *client = Some(connection);
                return Err(e.into());
            }
        }
    }
}

/// Whether `e` is PostgreSQL ending the connection: it closed, or the server said it is ending
/// it (SQLSTATE class 57P: an administrator's `pg_terminate_backend`, a shutdown, a crash), an
/// answer that may arrive before the client sees the connection closed.
fn ended_by_the_server(e: &tokio_postgres::Error) -> bool {
    e.is_closed() || e.code().is_some_and(|code| code.code().starts_with("57P"))
}
