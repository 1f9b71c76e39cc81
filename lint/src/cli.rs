//! The `stackr lint` command line: arguments, output formats and exit codes.
//!
//! Exit codes: 0 clean, 1 findings, 2 usage or configuration error (clap itself exits 2 on
//! bad arguments; an unreadable project exits 2 here).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use crate::rules::RULES;
use stackr_plan::config::printable::{escaped, escaped_but_line_breaks};

/// Arguments of `stackr lint`, to flatten into the generator's subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// List the rules with the reason for each, then exit.
    #[arg(long)]
    pub list: bool,
    /// `text`: one `file:line:col: rule: message` per finding; `json`: one object for CI tools.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Project root (the directory holding stackr.config.json). Default: the current directory.
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_CONFIG_ERROR: u8 = 2;

/// Runs `stackr lint` on the process's stdout and stderr.
pub fn run(args: Args) -> Result<ExitCode> {
    run_on(
        &args,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
        stackr_plan::config::stderr_in_color(),
    )
}

/// [`run`] with explicit output streams (findings and JSON on `out`; warnings, errors and the
/// summary on `err`, so `out` stays machine-readable), which are no terminal: no colors.
pub fn run_with(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    run_on(args, out, err, false)
}

/// `color`: whether a config error's report on `err` is in color.
fn run_on(args: &Args, out: &mut dyn Write, err: &mut dyn Write, color: bool) -> Result<ExitCode> {
    if args.list {
        list_rules(args.format, out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let root = match &args.path {
        Some(path) => path.clone(),
        None => std::env::current_dir()?,
    };
    let report = match crate::lint_project_report(&root) {
        Ok(report) => report,
        Err(error) => {
            match error.downcast_ref::<stackr_plan::config::ConfigError>() {
                Some(config) => write!(err, "{}", config.report(color))?,
                None => writeln!(
                    err,
                    "stackr lint: error: {}",
                    escaped_but_line_breaks(&format!("{error:#}"))
                )?,
            }
            return Ok(ExitCode::from(EXIT_CONFIG_ERROR));
        }
    };
    match args.format {
        OutputFormat::Text => {
            // File names and the text quoted are the repository's: any byte, escape sequences
            // included, which a terminal or CI log would obey.
            for finding in &report.findings {
                writeln!(out, "{}", escaped(&finding.to_string()))?;
            }
            for warning in &report.warnings {
                writeln!(err, "{}", escaped(&warning.to_string()))?;
            }
            let count = report.findings.len();
            if count > 0 {
                let plural = if count == 1 { "" } else { "s" };
                writeln!(err, "stackr lint: {count} finding{plural} (see `stackr lint --list` for why each rule exists)")?;
            } else {
                writeln!(err, "stackr lint: no findings ({} rules)", RULES.len())?;
            }
        }
        OutputFormat::Json => {
            let json = serde_json::to_string_pretty(&report)?;
            writeln!(out, "{}", without_raw_controls(&json))?;
        }
    }
    Ok(if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FINDINGS)
    })
}

#[derive(Serialize)]
struct RuleListing {
    name: &'static str,
    rationale: &'static str,
}

fn list_rules(format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    match format {
        OutputFormat::Text => {
            let width = RULES.iter().map(|r| r.name.len()).max().unwrap_or(0);
            for rule in RULES {
                writeln!(out, "{:width$}  {}", rule.name, rule.rationale)?;
            }
        }
        OutputFormat::Json => {
            let listing: Vec<RuleListing> = RULES
                .iter()
                .map(|r| RuleListing {
                    name: r.name,
                    rationale: r.rationale,
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &listing)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// `json` with DEL and the C1 controls written as `\u` escapes: JSON escapes only the C0 ones,
/// and a file name of the repository's may hold any (U+009B alone starts a terminal sequence).
/// They can stand only inside strings, where the escape reads back as the same character.
fn without_raw_controls(json: &str) -> String {
    json.chars()
        .map(|c| match c {
            '\u{7f}'..='\u{9f}' => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        })
        .collect()
}
