//! stackr-plan's integration tests, in one binary: each module is one suite, and scripts/test.sh
//! runs each in its own process.

mod dev_pool_sizes;
mod dev_sockets;
mod env_contract;
mod user_fields;
