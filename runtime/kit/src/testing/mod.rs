//! Test helpers for a service's own tests (feature `testing`, a dev-dependency feature of every
//! scaffolded service): throwaway real PostgreSQL and Redis servers, a service's binaries run
//! against them as `stackr dev` runs them, and the stack's auth to sign test users up. Real
//! servers, never mocks: `postgres`, `initdb` and `redis-server` must be installed (Debian's
//! `postgresql` and `redis-server`, or `nix develop`).

mod auth;
mod ports;
mod postgres;
mod redis;
mod service;
mod tools;

pub use auth::TestAuth;
pub use ports::free_port;
pub use postgres::TempPostgres;
pub use redis::TempRedis;
pub use service::{Beside, ServiceUnderTest, TestUser};
pub use tools::find_tool;
