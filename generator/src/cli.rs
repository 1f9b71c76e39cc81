//! Command-line interface (clap) and the mapping from errors to exit codes: 0 success, 1 drift or
//! an operational failure, 2 a config or usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{add_service, dev, generate, init, secrets, set_role, upgrade};
use crate::config::printable::escaped_but_line_breaks;
use crate::config::{AuthMiddleware, ConfigError};
use crate::UsageError;

/// Exit code for config and usage errors.
pub const USAGE_EXIT: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "stackr",
    version,
    about = "Generate a reproducible, Nix-driven stack of isolated services from stackr.config.json",
    long_about = "stackr reads stackr.config.json (one auth service + any number of base services) and \
                  generates process-compose.yaml for local development, NixOS modules and flake wiring \
                  for deployment, and scaffolds one Rust crate per service. Each service gets its own \
                  PostgreSQL, Redis, API and BullMQ-compatible worker."
)]
pub struct Cli {
    /// Project root (for `init`: the folder the new project is created in).
    #[arg(short = 'C', long = "project-dir", global = true, default_value = ".")]
    pub project_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new project: config, flake, workspace, service crates and generated files.
    Init(InitArgs),
    /// Add something to the project.
    #[command(subcommand)]
    Add(AddCommand),
    /// Render every generated file from stackr.config.json.
    Generate(GenerateArgs),
    /// Run the dev stack (process-compose, or stackr's embedded supervisor).
    ///
    /// With process-compose on PATH, it is handed process-compose.yaml; otherwise stackr's
    /// embedded supervisor runs the same file (dependencies, readiness probes, restarts, ordered
    /// shutdown on Ctrl-C). State lives in the git-ignored state folder (`stateDir` in
    /// stackr.config.json, `.stackr` by default) and survives restarts. Refuses to start while
    /// generated files have drifted from the config, while another `stackr dev` runs the same
    /// project (a lock in the state folder), or while a port of the stack is taken (naming the
    /// process holding it).
    Dev(DevCommandArgs),
    /// Check the architecture's rules; `--list` explains each one.
    ///
    /// Identity tables only in auth, no cross-service imports, no foreign databases, identity only
    /// through the kit's guard. Findings are printed as file:line:col; exit 1 when there are any.
    Lint(stackr_lint::Args),
    /// Give a user of the dev stack a role, e.g. make the first admin: `stackr set-role EMAIL admin`.
    ///
    /// Runs the project's auth binary (`cargo run -p <auth>-service --bin <auth>-api -- set-role`)
    /// with the auth service's dev environment, against the PostgreSQL `stackr dev` runs. Roles
    /// are `user`, `admin` and those the config's `role-gated` services declare; give several as a
    /// comma list. On a NixOS host, run the deployed auth binary the same way (docs/runtime-contract.md).
    SetRole(SetRoleArgs),
    /// Create the secrets of a stack placed on several hosts (`placement`), once.
    ///
    /// Writes into the git-ignored `<stateDir>/deploy/`: a random value for every secret file
    /// (auth's secret, each service's database and Redis passwords and credential), the
    /// deployment's CA and a certificate per host for its name and address. Existing files are
    /// kept. colmena uploads each host's share (docs/deploy.md); nothing enters the Nix store.
    /// The CA's certificate goes to `deployment-ca.crt` in the project, to commit: a clone
    /// without the deployment folder is then refused instead of making a second deployment.
    ///
    /// A host certificate or key it would keep is checked first, and refused, before anything is
    /// written, when it is no PEM file, is issued for another name than the host's in `placement`
    /// (another host's, say), is not the certificate's key, is not signed by the deployment's CA
    /// (another deployment's, or from before `--rotate-ca`), or is outside its dates: remove the
    /// file named and run it again, and the host gets a new certificate and key. A host whose
    /// address changed in `placement` gets a new certificate for it.
    Secrets(SecretsArgs),
    /// Move the project to the runtime crates of this stackr (vendored in stackr-runtime/).
    ///
    /// A project builds from the runtime crates (`stackr-auth`, `stackr-kit`) stackr writes into
    /// its stackr-runtime/ folder: those of the stackr version `runtime.vendored` in
    /// stackr.config.json names. `generate` only ever writes its own version's crates and refuses
    /// a project on another version. Run `upgrade` with the newer stackr: it sets
    /// `runtime.vendored` to this stackr's version, rewrites stackr-runtime/ with its crates,
    /// points every service's Cargo.toml at them and regenerates every file, all or nothing. A
    /// project on another runtime source (`version`, `path`, `git`) is moved to the vendored one
    /// the same way. Files of the older runtime that this one no longer has are named for you to
    /// delete.
    ///
    /// Refuses while files stackr manages hold edits, which the upgrade would overwrite. A file
    /// that differs from what `stackr generate` writes for the current config is told from an
    /// edit by stackr.generated, the committed record of the SHA-256 of every file stackr wrote:
    /// a file that still holds what stackr wrote there is an older stackr's output and is
    /// rewritten; one that differs from both is named as edited (`stackr generate --check` shows
    /// the differences); an absent file holds no edit and is written. A project made before the record has none, so every such file is named:
    /// `git status` and `git diff` show whether they hold edits, and --force overwrites them.
    /// Then `cargo build` and commit.
    Upgrade(UpgradeArgs),
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Upgrade even when files stackr manages were edited, overwriting those edits.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// Replace the CA and every host certificate; the previous CA stays trusted until
    /// `--retire-previous-ca`, so hosts not yet redeployed keep connecting.
    #[arg(long, conflicts_with = "retire_previous_ca")]
    pub rotate_ca: bool,
    /// Stop trusting the CA the last `--rotate-ca` replaced (once every host runs the new
    /// certificates).
    #[arg(long)]
    pub retire_previous_ca: bool,
}

#[derive(Debug, Args)]
pub struct SetRoleArgs {
    /// Email the user signed up with.
    pub email: String,
    /// Role, or comma list of roles (e.g. `admin`, `finance`, `user,finance`).
    pub role: String,
}

#[derive(Debug, Args)]
pub struct DevCommandArgs {
    #[command(flatten)]
    pub supervisor: stackr_supervisor::DevArgs,
    /// Start even when generated files differ from stackr.config.json (by default `dev` refuses,
    /// as `stackr generate --check` would fail).
    #[arg(long)]
    pub no_check: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create; its name becomes the project name (lowercase, `[a-z][a-z0-9-]*`).
    pub name: String,
    /// Do not ask questions: auth + `core`, each guard as its flags or defaults say. (Questions
    /// are asked only on a terminal, about what no flag said: services, guards, roles.)
    #[arg(long)]
    pub defaults: bool,
    /// Base services to create, comma-separated (e.g. `core,wallet`).
    #[arg(long, value_delimiter = ',')]
    pub with_services: Option<Vec<String>>,
    /// No auth service: base services run without a guard (`authMiddleware: none`).
    #[arg(long)]
    pub no_auth: bool,
    /// Guard flavor of one base service, as SERVICE=FLAVOR (repeatable): standard, role-gated,
    /// flexible or none. Default as in `add service`: role-gated when it has --roles, else
    /// standard (none without auth).
    #[arg(long, value_name = "SERVICE=FLAVOR", value_parser = service_flavor)]
    pub auth_middleware: Vec<(String, MiddlewareArg)>,
    /// Roles one base service's role-gated guard lets through, as SERVICE=ROLE,ROLE (at least
    /// one role; repeatable; admin always passes).
    #[arg(long, value_name = "SERVICE=ROLES", value_parser = service_roles)]
    pub roles: Vec<(String, Vec<String>)>,
}

fn service_and_value(text: &str) -> Result<(String, &str), String> {
    match text.split_once('=') {
        Some((service, value)) if !service.trim().is_empty() => {
            Ok((service.trim().to_owned(), value))
        }
        _ => Err(format!(
            "`{text}` is not SERVICE=VALUE (e.g. `wallet=role-gated`)"
        )),
    }
}

fn service_flavor(text: &str) -> Result<(String, MiddlewareArg), String> {
    let (service, flavor) = service_and_value(text)?;
    let flavor =
        <MiddlewareArg as clap::ValueEnum>::from_str(flavor.trim(), false).map_err(|_| {
            format!("`{flavor}` is not a guard flavor: use standard, role-gated, flexible or none")
        })?;
    Ok((service, flavor))
}

/// One entry of a `--roles` list, spaces around it dropped.
fn role_name(text: &str) -> Result<String, String> {
    match text.trim() {
        "" => Err("an empty role: give the roles comma-separated, e.g. `finance,audit`".to_owned()),
        role => Ok(role.to_owned()),
    }
}

fn service_roles(text: &str) -> Result<(String, Vec<String>), String> {
    let (service, roles) = service_and_value(text)?;
    // No roles would leave the service as if the flag were not given: refused, not ignored.
    if init::split_list(roles).is_empty() {
        return Err(format!(
            "`{text}` names no roles: give them after `=`, comma-separated (e.g. `{service}=finance,audit`), or leave the flag out for a guard without roles"
        ));
    }
    let roles = roles.split(',').map(role_name).collect::<Result<_, _>>()?;
    Ok((service, roles))
}

#[derive(Debug, Subcommand)]
pub enum AddCommand {
    /// Add a base service: port, config entry, crate, workspace member, regenerated files.
    Service(AddServiceArgs),
}

#[derive(Debug, Args)]
pub struct AddServiceArgs {
    /// Service name (lowercase, `[a-z][a-z0-9-]*`, at most 21 characters: a deployed service runs as the system user `stackr-<name>-pg`).
    pub name: String,
    /// API port (default: the lowest free port from 8080).
    #[arg(long)]
    pub port: Option<u16>,
    /// Guard flavor (default: `standard`, `role-gated` with --roles, `none` without auth). On a
    /// terminal, without this flag or --roles, stackr asks for the flavor (and roles).
    #[arg(long, value_enum)]
    pub auth_middleware: Option<MiddlewareArg>,
    /// Roles allowed through a `role-gated` guard, comma-separated (admin always passes).
    #[arg(long, value_delimiter = ',', value_parser = role_name)]
    pub roles: Vec<String>,
    /// Do not give the service a worker.
    #[arg(long)]
    pub no_worker: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Write nothing; exit 1, list the files that differ from what would be generated and print a
    /// unified diff of each modified one on stdout (a patch `git apply` can apply).
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MiddlewareArg {
    Standard,
    RoleGated,
    Flexible,
    None,
}

impl From<MiddlewareArg> for AuthMiddleware {
    fn from(arg: MiddlewareArg) -> Self {
        match arg {
            MiddlewareArg::Standard => Self::Standard,
            MiddlewareArg::RoleGated => Self::RoleGated,
            MiddlewareArg::Flexible => Self::Flexible,
            MiddlewareArg::None => Self::None,
        }
    }
}

impl Cli {
    /// Whether this command runs the dev stack (and supervises it until it stops).
    pub fn runs_a_stack(&self) -> bool {
        matches!(self.command, Command::Dev(_))
    }
}

/// `command`, holding the project's write lock (which also finishes a killed command's writes).
fn writing(
    root: &std::path::Path,
    command: impl FnOnce() -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    let _lock = crate::write::lock_for_writing(root)?;
    command()
}

/// Runs a parsed command line and returns the exit code, printing errors to stderr.
pub fn run(cli: Cli) -> ExitCode {
    let root = cli.project_dir;
    let outcome = match cli.command {
        Command::Init(args) => init::run(
            &root,
            &init::InitOptions {
                path: args.name,
                defaults: args.defaults,
                with_services: args.with_services,
                no_auth: args.no_auth,
                middleware: args
                    .auth_middleware
                    .into_iter()
                    .map(|(service, flavor)| (service, flavor.into()))
                    .collect(),
                roles: args.roles,
            },
        ),
        Command::Add(AddCommand::Service(args)) => writing(&root, || {
            add_service::run(
                &root,
                &add_service::AddServiceOptions {
                    name: args.name,
                    port: args.port,
                    middleware: args.auth_middleware.map(Into::into),
                    roles: args.roles,
                    no_worker: args.no_worker,
                },
            )
        }),
        Command::Generate(args) if args.check => generate::run(&root, true),
        Command::Generate(_) => writing(&root, || generate::run(&root, false)),
        Command::Dev(args) => dev::run(&root, args.supervisor, args.no_check),
        Command::SetRole(args) => set_role::run(&root, &args.email, &args.role),
        Command::Secrets(args) => writing(&root, || {
            secrets::run(
                &root,
                match (args.rotate_ca, args.retire_previous_ca) {
                    (true, _) => secrets::CaAction::Rotate,
                    (_, true) => secrets::CaAction::RetirePrevious,
                    _ => secrets::CaAction::Keep,
                },
            )
        }),
        Command::Upgrade(args) => writing(&root, || upgrade::run(&root, args.force)),
        Command::Lint(mut args) => {
            // `-C DIR` names the project for every subcommand; lint's own PATH argument wins.
            args.path.get_or_insert(root);
            stackr_lint::run(args)
        }
    };
    outcome.unwrap_or_else(|err| {
        if let Some(config) = err.downcast_ref::<ConfigError>() {
            eprint!("{}", config.report_for_stderr());
            ExitCode::from(USAGE_EXIT)
        } else if let Some(usage) = err.downcast_ref::<UsageError>() {
            eprintln!("error: {}", escaped_but_line_breaks(&usage.to_string()));
            ExitCode::from(USAGE_EXIT)
        } else {
            // Errors name files and links of the project, which can hold any character.
            eprintln!("error: {}", escaped_but_line_breaks(&format!("{err:#}")));
            ExitCode::FAILURE
        }
    })
}
