//! How the runtime's HTTP servers (auth's API and admin page, every base service's API) take
//! requests. axum's own `serve` sets no time limit: a client sending its headers or its body a
//! byte at a time, or none at all, held a socket and up to hundreds of kilobytes of buffered
//! request for as long as it liked, and enough such clients took the service down. Here:
//!
//! - a request's headers must be in within [`HEADER_TIME_LIMIT`] (for a kept-alive connection,
//!   of the previous answer: an idle one is closed then);
//! - its body within [`BODY_TIME_LIMIT`] of the request's start (reading it after that fails, and
//!   the handler's extractor answers with an error);
//! - a client must take some of its answer within [`WRITE_STALL_LIMIT`] of the server's
//!   writing being held up, or the connection ends;
//! - a connection buffers at most [`MAX_HEADER_BUFFER`] bytes of request not parsed yet;
//! - at most [`MAX_CONNECTIONS`] connections are served at once; more wait in the kernel's
//!   queue (a unit's `LimitNOFILE` is 65,536);
//! - the request bodies being read hold at most [`MAX_BUFFERED_BODY_BYTES`] between them beyond
//!   each one's first [`BODY_BYTES_ALWAYS_TAKEN`]: past it a body's next bytes fail its reading
//!   (the handler's extractor answers an error), where clients sending large bodies and not
//!   finishing them on thousands of connections held gigabytes. The bytes every body may take
//!   leave the requests of the usual size served while large ones hold the rest. A frame counts
//!   for at least [`MIN_FRAME_BYTES`] and is handed on as a copy, so that bodies sent a byte at a
//!   time hold what is counted.
//!
//! Handlers get the peer as axum's `ConnectInfo<L::Addr>`. On `shutdown` the listener closes,
//! idle connections end and requests under way finish, as with axum's graceful shutdown.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

pub mod no_store;
mod nul_in_url;
mod write_stall;

pub use nul_in_url::url_holds_nul;
use write_stall::WriteStallLimited;

/// How long a client has to send a request's headers.
pub const HEADER_TIME_LIMIT: Duration = Duration::from_secs(10);
/// How long a client has to send a request's body, from the request's start.
pub const BODY_TIME_LIMIT: Duration = Duration::from_secs(30);
/// How long a connection's writing may wait for a client that takes none of its answer.
pub const WRITE_STALL_LIMIT: Duration = Duration::from_secs(30);
/// The most bytes of a request not parsed yet that a connection buffers (hyper's default is
/// about 400 KiB; headers are far smaller).
pub const MAX_HEADER_BUFFER: usize = 64 * 1024;
/// The most connections served at once.
pub const MAX_CONNECTIONS: usize = 4096;
/// The most bytes of request bodies read and not yet released, over all requests at once, beyond
/// each body's first [`BODY_BYTES_ALWAYS_TAKEN`]: 64 bodies at the default extractor limit (2 MB).
pub const MAX_BUFFERED_BODY_BYTES: usize = 128 << 20;
/// The first bytes of any body, taken whatever the others hold: a JSON body of the usual size is
/// never refused because large ones use up [`MAX_BUFFERED_BODY_BYTES`] (all connections at once
/// hold at most [`MAX_CONNECTIONS`] times this much more: 256 MiB).
pub const BODY_BYTES_ALWAYS_TAKEN: usize = 64 * 1024;
/// The least a frame of body counts for, whatever its length: holding a frame costs more than its
/// bytes (its allocation, its place in the list of frames of the one reading the body, together
/// under 100 bytes), and a client sending one-byte chunks would otherwise hold tens of times what
/// is counted.
pub const MIN_FRAME_BYTES: usize = 256;

/// Serves `app` on `listener` until `shutdown` completes, over HTTP/1.1 (what the load balancer
/// in front of a fleet's APIs speaks to them, and what the services' own clients speak).
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    L: Listener,
    L::Addr: Clone + Send + Sync + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIME_LIMIT)
        .max_buf_size(MAX_HEADER_BUFFER);
    let builder = Arc::new(builder);
    // A permit per connection served: all of them back means every connection has ended.
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // A permit per byte of request body read, held until the body is dropped.
    let body_bytes = Arc::new(Semaphore::new(MAX_BUFFERED_BODY_BYTES));
    let (stop, stopping) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.expect("never closed"),
            () = &mut shutdown => break,
        };
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let body_bytes = body_bytes.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let (mut parts, body) = request.into_parts();
            parts.extensions.insert(ConnectInfo(peer.clone()));
            let body = Body::new(WithDeadline {
                body,
                deadline: tokio::time::Instant::now() + BODY_TIME_LIMIT,
                timer: None,
                budget: body_bytes.clone(),
                held: None,
                free: BODY_BYTES_ALWAYS_TAKEN,
            });
            app.clone().oneshot(hyper::Request::from_parts(parts, body))
        });
        let builder = builder.clone();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let connection = builder
                .serve_connection(
                    TokioIo::new(WriteStallLimited::new(io, WRITE_STALL_LIMIT)),
                    service,
                )
                .with_upgrades();
            tokio::pin!(connection);
            // A client that goes away or breaks the protocol is no error of the server's.
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    // Requests under way finish; an idle connection ends at once.
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop.send(());
    let _ = connections.acquire_many(MAX_CONNECTIONS as u32).await;
    Ok(())
}

/// Completes on SIGTERM (systemd, process-compose) or SIGINT (Ctrl-C): the `shutdown` the
/// processes serve until.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            // No SIGTERM handler: only Ctrl-C stops the server, never a failed registration.
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

/// A request body that fails once its deadline has passed, or once the bodies being read hold
/// [`MAX_BUFFERED_BODY_BYTES`].
struct WithDeadline {
    body: Incoming,
    deadline: tokio::time::Instant,
    /// Set the first time the body is waited for: most requests (a GET) are never read, or
    /// arrive whole, and need no timer.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The server's bytes of body, and this body's share of them, given back when it is dropped
    /// (once a handler's extractor has read it whole, or the request has ended).
    budget: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
    /// What is left of this body's [`BODY_BYTES_ALWAYS_TAKEN`].
    free: usize,
}

impl WithDeadline {
    /// Counts `frame`'s bytes (at least [`MIN_FRAME_BYTES`]) past the body's free ones against
    /// the budget: an error when the budget has no room left. Its data is handed on as a copy:
    /// hyper's frame is a slice of the connection's read buffer, and kept until the body is whole
    /// it would keep all of that buffer's allocation (8 KiB and more, for a byte sent alone).
    fn hold(
        &mut self,
        frame: Frame<hyper::body::Bytes>,
    ) -> Result<Frame<hyper::body::Bytes>, Box<dyn std::error::Error + Send + Sync>> {
        let Some(data) = frame.data_ref() else {
            return Ok(frame);
        };
        if data.is_empty() {
            return Ok(frame);
        }
        let cost = data.len().max(MIN_FRAME_BYTES);
        let frame = Frame::data(hyper::body::Bytes::copy_from_slice(data));
        let free = cost.min(self.free);
        self.free -= free;
        let bytes = u32::try_from(cost - free).map_err(|_| Box::new(Busy))?;
        if bytes == 0 {
            return Ok(frame);
        }
        let permit = self
            .budget
            .clone()
            .try_acquire_many_owned(bytes)
            .map_err(|_| Box::new(Busy))?;
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        Ok(frame)
    }
}

/// The error reading a body while the server holds [`MAX_BUFFERED_BODY_BYTES`] of them.
#[derive(Debug)]
struct Busy;

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server is reading too many request bodies at once; send this one again later"
        )
    }
}

impl std::error::Error for Busy {}

/// The error reading a body that took longer than [`BODY_TIME_LIMIT`].
#[derive(Debug)]
struct TooSlow;

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {}s",
            BODY_TIME_LIMIT.as_secs()
        )
    }
}

impl std::error::Error for TooSlow {}

impl hyper::body::Body for WithDeadline {
    type Data = hyper::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into).and_then(|f| self.hold(f))));
        }
        let deadline = self.deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(TooSlow)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
