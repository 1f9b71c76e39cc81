//! What `stackr dev` can be asked: the clap arguments the CLI flattens, and the resolved options
//! the library runs with.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::handed_sockets::HandedSocket;

/// Command-line arguments of `stackr dev` (flatten into the CLI's subcommand).
#[derive(Debug, Clone, clap::Args)]
pub struct DevArgs {
    /// The process-compose file to run.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        default_value = "process-compose.yaml"
    )]
    pub file: PathBuf,

    /// Plain output: prefixed log lines and one line per status change, no live status.
    /// Automatic when stdout is not a terminal (CI, pipes).
    #[arg(long = "no-tui", alias = "plain")]
    pub no_tui: bool,

    /// Delete the state folder first (dev databases, Redis data, dev secrets; in a stackr
    /// project not `deploy/`, the deployment's secrets), after asking; only a folder `stackr dev`
    /// has kept its state in, and only while no port of the stack is taken.
    #[arg(long)]
    pub reset: bool,

    /// Do not ask before --reset deletes the state folder.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// The state folder of a process-compose file outside a stackr project [default: .stackr
    /// next to the file]. A project's is the `stateDir` of its config.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Use stackr's embedded supervisor even when process-compose is on PATH.
    #[arg(long)]
    pub embedded: bool,

    /// Start only these services (comma-separated) and what they need: auth and their own
    /// PostgreSQL and Redis. The API ports of the others stay held, so their calls reach no
    /// other program. For a process-compose file outside a stackr project, process names.
    #[arg(long, value_name = "SERVICES", value_delimiter = ',')]
    pub only: Vec<String>,
}

/// Resolved options of one `stackr dev` run.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// The process-compose file.
    pub file: PathBuf,
    /// Directory that relative paths of the file (working dirs, `.stackr/…` in commands) are
    /// relative to; processes without `working_dir` run here. Default: the file's directory.
    pub project_dir: PathBuf,
    /// The state folder; default `<project_dir>/.stackr`.
    pub state_dir: PathBuf,
    /// Plain output instead of the live status.
    pub plain: bool,
    /// Coloured prefixes (default: stdout is a terminal and `NO_COLOR` is unset).
    pub colour: bool,
    pub reset: bool,
    pub yes: bool,
    /// Entries of the state folder `reset` keeps (a stackr project's deployment secrets).
    pub reset_keeps: Vec<String>,
    /// Entries of the state folder a user may make before the stack first runs (a stackr
    /// project's dev secrets folder, where a sign-in provider's secret goes): they do not make
    /// it a folder of other files.
    pub made_before_first_run: Vec<String>,
    /// Never hand the file to an external process-compose.
    pub embedded: bool,
    /// Check for PostgreSQL/Redis binaries before starting (on by default).
    pub check_tools: bool,
    /// Ports the stack's processes listen on, each with what it is for; all must be free before
    /// anything starts (the file alone does not say which ports its processes take).
    pub ports: Vec<(u16, String)>,
    /// When not empty, only these processes and those they depend on are started.
    pub only: Vec<String>,
    /// Ports held while the stack runs (each with what it is for) so that no other program takes
    /// them: those of services left out by `only` that the started ones still call.
    pub held_ports: Vec<(u16, String)>,
    /// Ports the stack's servers listen on at 127.0.0.1 alone, each with what it is for (a stackr
    /// project's PostgreSQL and Redis): the other loopback address of each, `[::1]`, is kept
    /// while the stack runs, so that a client addressing `localhost` there (many try `::1` first)
    /// reaches no other program, which a password would be sent to.
    pub loopback_ports: Vec<(u16, String)>,
    /// Listening sockets the embedded supervisor binds before anything starts and hands to their
    /// process at each start (socket activation), so that the port stays the stack's while the
    /// process restarts. Those of processes that do not run are left alone.
    pub sockets: Vec<HandedSocket>,
    /// Added to every process's environment (a stackr project's subset run tells its `build`
    /// process what to build).
    pub env: Vec<(String, String)>,
    /// Printed under "all N processes ready" (the embedded supervisor; process-compose shows
    /// its own view).
    pub ready_banner: Vec<String>,
}

impl DevOptions {
    /// Options for running `file`, with everything else at its default.
    pub fn for_file(file: impl Into<PathBuf>) -> Self {
        let file = file.into();
        let project_dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let project_dir = project_dir.canonicalize().unwrap_or(project_dir);
        let tty = std::io::stdout().is_terminal();
        DevOptions {
            state_dir: project_dir.join(stackr_contract::DEFAULT_STATE_DIR),
            project_dir,
            file,
            plain: !tty,
            colour: tty && std::env::var_os("NO_COLOR").is_none(),
            reset: false,
            yes: false,
            reset_keeps: Vec::new(),
            made_before_first_run: Vec::new(),
            embedded: false,
            check_tools: true,
            ports: Vec::new(),
            only: Vec::new(),
            held_ports: Vec::new(),
            loopback_ports: Vec::new(),
            sockets: Vec::new(),
            env: Vec::new(),
            ready_banner: Vec::new(),
        }
    }
}

impl DevArgs {
    /// Resolves the arguments; a relative `--file` is taken relative to `cwd`.
    pub fn into_options(self, cwd: &Path) -> DevOptions {
        let mut o = DevOptions::for_file(cwd.join(&self.file));
        o.plain |= self.no_tui;
        o.reset = self.reset;
        o.yes = self.yes;
        o.embedded = self.embedded;
        o.only = self.only;
        if let Some(dir) = self.state_dir {
            o.state_dir = cwd.join(dir);
        }
        o
    }
}
