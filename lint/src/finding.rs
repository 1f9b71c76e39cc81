//! What the linter reports: findings (rule violations, exit 1) and warnings (things it could not
//! check, printed but not failing the run).

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// One violation of one rule at one place. `file` is relative to the project root; `line` and
/// `column` are 1-based (column counted in characters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            rule,
            file,
            line,
            column,
            message,
        } = self;
        write!(f, "{}:{line}:{column}: {rule}: {message}", file.display())
    }
}

/// Something the linter could not check (a Rust file that does not parse, a SQL statement
/// sqlparser does not understand). Warnings never change the exit code on their own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Warning {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            file,
            line,
            column,
            message,
        } = self;
        write!(f, "{}:{line}:{column}: warning: {message}", file.display())
    }
}

/// Everything one run produced, sorted by file and position so output is deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LintReport {
    pub findings: Vec<Finding>,
    pub warnings: Vec<Warning>,
}

impl LintReport {
    pub(crate) fn finish(mut self) -> Self {
        self.findings.sort_by(|a, b| {
            (&a.file, a.line, a.column, a.rule).cmp(&(&b.file, b.line, b.column, b.rule))
        });
        self.findings.dedup();
        self.warnings.sort();
        self.warnings.dedup();
        self
    }
}
