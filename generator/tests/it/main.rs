//! The generator's integration tests, in one binary: each module is one suite, and
//! scripts/test.sh runs each in its own process.

mod add_service;
mod build_script_watch;
mod common;
mod config_errors;
mod config_schema;
mod deploy_secrets;
mod dev_commands;
mod dev_db_init_interrupted;
mod dev_killed_as_root;
mod dev_oauth_providers;
mod dev_only_build;
mod dev_preflight;
mod flake_eval;
mod fleet_eval;
mod fleet_vm_test;
mod fresh_project_builds;
mod fresh_project_crates;
mod generate_check;
mod init;
mod nix_eval;
mod nix_parse;
mod nixos_eval;
mod nixos_mutations;
mod nixos_postgres_server;
mod output_growth;
mod process_compose_schema;
mod prompts;
mod readme_quick_tour;
mod scaffold_calls_and_jobs;
mod scaffold_no_auth;
mod scaffold_rustfmt;
mod set_role;
mod snapshots;
mod template_engines;
mod vendored_runtime;
