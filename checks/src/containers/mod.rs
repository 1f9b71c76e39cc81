//! PostgreSQL and Redis containers from the checks image, one of each per service.

mod leftovers;
mod postgres;
mod redis;
mod request;

pub use leftovers::remove_leftovers;
pub use postgres::{PostgresContainer, ServiceDatabase};
pub use redis::RedisContainer;
pub use request::OWNER_LABEL;
