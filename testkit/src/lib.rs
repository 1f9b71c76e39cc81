//! Real, throwaway PostgreSQL and Redis servers for tests.
//!
//! Every test that needs a database or a Redis starts its own server on a free loopback port with
//! its data in a temporary directory, and the server is stopped when the handle is dropped. This
//! keeps tests independent of whatever the developer's machine runs on 5432/6379.
//!
//! Also servers that come up late ([`silent_after`], [`forwarding_after`]), a proxy that is slow
//! to read large commands ([`StallingProxy`]), one that plays a database host that crashes and
//! boots again ([`HostCrashProxy`]), a stand-in for systemd's notification
//! socket ([`NotifySocket`]), to check readiness, and a recording stand-in for the VM a
//! generated NixOS test script drives ([`machine_calls`]).

mod captured_logs;
mod cargo_env;
mod host_crash;
mod late_server;
mod nixos;
mod notify;
mod stalling_proxy;
mod vm_test_script;

pub use captured_logs::CapturedLogs;
pub use cargo_env::without_cargo_package_env;
pub use host_crash::HostCrashProxy;
pub use late_server::{forwarding_after, silent_after};
pub use nixos::{
    evaluate_fleet, evaluate_fleet_vm_test, evaluate_fleet_with_host, evaluate_nixos_system,
    evaluate_vm_test, nixpkgs_lib, repo_root,
};
pub use notify::NotifySocket;
/// The servers live in the kit (feature `testing`), where scaffolded services' own tests find
/// them; this repository's tests take them from here.
pub use stackr_kit::testing::{find_tool, free_port, TempPostgres, TempRedis};
pub use stalling_proxy::StallingProxy;
pub use vm_test_script::{machine_calls, MachineCall};
