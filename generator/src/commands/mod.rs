//! The subcommands. Each returns the process exit code; errors are mapped to codes in `cli`.

pub mod add_service;
mod deployment_ca_record;
pub mod dev;
mod dev_root_access;
mod dev_target_dir;
pub mod generate;
mod host_certificate_check;
pub mod init;
pub mod prompt;
pub mod secrets;
pub mod set_role;
pub mod upgrade;
