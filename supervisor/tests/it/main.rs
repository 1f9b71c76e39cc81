//! The supervisor's integration tests, in one binary: each module is one suite, and
//! scripts/test.sh runs each in its own process.

mod behaviour;
mod common;
mod demo_stack;
mod generated_file;
mod real_stack;
