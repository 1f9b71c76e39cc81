//! The auth service as seen from a base service: its answers ([`User`], [`Session`]) and the
//! HTTP client that asks for them ([`AuthClient`]).

mod client;
mod error;
mod model;

pub use client::{AuthClient, ProvisionOutcome};
pub use error::AuthError;
pub(crate) use model::service_account_flag;
pub use model::{OwnerStatus, Session, User, VerifiedSession};
