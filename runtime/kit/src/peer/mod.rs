//! Calling another base service of the stack as the user who called this one.
//!
//! A base service that needs another's data asks that service's API, never its database. The
//! call carries the incoming request's `cookie` header unchanged ([`ForwardedCookie`]), so the
//! other service's guard asks auth about the same session and sees the same user, with that
//! user's roles: no service vouches for a user on another's behalf. A service that authenticates
//! no one (`authMiddleware: none`, listed in `ANONYMOUS_SERVICES`) is called without the cookie:
//! it is not handed a session, and its own calls carry none ([`PeerClient::without_cookie`]),
//! though browsers send it the cookie: a service that acts as the user towards others
//! authenticates that user itself, with a guard. A path with a `.` or `..` segment is refused
//! before any call ([`PeerError::InvalidPath`]): built from a client's input, it would reach
//! another route of the service than the one the handler wrote.
//!
//! ```no_run
//! use axum::extract::State;
//! use axum::Json;
//! use serde_json::Value;
//! use stackr_kit::peer::{ForwardedCookie, PeerClient, PeerError};
//!
//! async fn my_billing(cookie: ForwardedCookie, State(peers): State<PeerClient>) -> Result<Json<Value>, PeerError> {
//!     Ok(Json(peers.get("billing", "/me", &cookie).await?))
//! }
//! ```
//!
//! Where the others are comes from `SERVICE_URLS` (`name=url,…`, every base service's API; the
//! generator sets it). Only safe methods are offered: a peer's guard refuses a cookie-carrying
//! state change that does not come from a trusted browser page, and a service is not one.

mod client;
mod cookie;
mod error;
mod path;
mod urls;

pub use client::{PeerClient, CONNECT_TIMEOUT, MAX_ANSWER_BYTES, REQUEST_TIMEOUT};
pub use cookie::ForwardedCookie;
pub use error::PeerError;
pub use urls::PeerUrls;
