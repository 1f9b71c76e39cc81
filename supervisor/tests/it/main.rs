//! The supervisor's integration tests, in one binary: each module is one suite, and
//! scripts/test.sh runs each in its own process.

mod behaviour;
mod common;
mod demo_stack;
mod generated_file;
mod handed_sockets;
mod linked_state_folder;
mod real_stack;

/// The harness re-executes this binary as the supervisor under test (see `common::child_entry`);
/// in a normal run this returns at once.
#[test]
fn supervisor_child_entry() {
    common::child_entry();
}
