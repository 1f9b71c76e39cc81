//! The process's logs, as every runtime process of a stack writes them (auth's too):
//! [`stackr_contract::telemetry`].

pub use stackr_contract::telemetry::init;
