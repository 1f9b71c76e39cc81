//! How every runtime process (auth, a service's API and worker) logs: through `tracing`, filtered
//! by `RUST_LOG` (default `info`), to stderr (process-compose and journald capture it), one JSON
//! object per line with `LOG_FORMAT=json` (for log shippers), in colour only for a human at a
//! terminal who has not set `NO_COLOR`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    let _ = if std::env::var(crate::env::LOG_FORMAT).as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
