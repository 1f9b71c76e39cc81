//! A configuration error that says where (file, JSON path, line and column, the offending line of
//! the config), what, and what to do.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use super::locate::{line_column, value_span};

/// One step of a JSON path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// A path into the config document, displayed as `services[1].name`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonPath(pub Vec<PathSegment>);

impl JsonPath {
    pub fn root() -> Self {
        Self(Vec::new())
    }
    pub fn key(mut self, key: &str) -> Self {
        self.0.push(PathSegment::Key(key.to_owned()));
        self
    }
    pub fn index(mut self, index: usize) -> Self {
        self.0.push(PathSegment::Index(index));
        self
    }
    /// `services[i]`, the most common prefix.
    pub fn service(index: usize) -> Self {
        Self::root().key("services").index(index)
    }
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document root)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Key(key) if i == 0 => write!(f, "{key}")?,
                PathSegment::Key(key) => write!(f, ".{key}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// The config text an error points into, and the bytes it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    /// Byte range of the offending token (empty at the end of the text).
    pub span: Range<usize>,
    /// What the label under the span says, when not the error's JSON path.
    pub label: Option<String>,
}

impl Snippet {
    /// Whether the lines a report would quote (the span's, and one on each side) include one
    /// longer than [`LONGEST_QUOTED_LINE`]: a minified config or a pasted blob, which would
    /// flood the terminal.
    fn shows_a_long_line(&self) -> bool {
        let text = self.text.as_str();
        let start = self.span.start.min(text.len());
        let end = self.span.end.clamp(start, text.len());
        // From the start of the line before the span's to the end of the line after it.
        let mut from = text[..start].rfind('\n').unwrap_or(0);
        from = text[..from].rfind('\n').map_or(0, |i| i + 1);
        let mut to = text[end..].find('\n').map_or(text.len(), |i| end + i);
        to = text[(to + 1).min(text.len())..]
            .find('\n')
            .map_or(text.len(), |i| to + 1 + i);
        text[from..to]
            .lines()
            .any(|line| line.chars().count() > LONGEST_QUOTED_LINE)
    }
}

/// Longest value a message quotes (between backticks) whole; a longer one (a pasted blob) is cut.
const LONGEST_QUOTED_VALUE: usize = 80;

/// `message` with each backtick-quoted value longer than [`LONGEST_QUOTED_VALUE`] characters cut
/// to its start, followed by how long it was.
fn clip_quoted(message: &str) -> String {
    let parts: Vec<&str> = message.split('`').collect();
    let mut out = String::with_capacity(message.len().min(1024));
    for (index, part) in parts.iter().enumerate() {
        if index % 2 == 0 {
            out.push_str(part);
            continue;
        }
        let closed = index + 1 < parts.len();
        out.push('`');
        if let (true, Some((start, length))) = (closed, clipped(part)) {
            out.push_str(&format!("{start}…` ({length} characters)"));
        } else {
            out.push_str(part);
            if closed {
                out.push('`');
            }
        }
    }
    out
}

/// The start of `text` and its length in characters, when it is longer than
/// [`LONGEST_QUOTED_VALUE`].
fn clipped(text: &str) -> Option<(String, usize)> {
    let length = text.chars().count();
    (length > LONGEST_QUOTED_VALUE).then(|| {
        (
            text.chars().take(LONGEST_QUOTED_VALUE / 2).collect(),
            length,
        )
    })
}

/// Longest config line a report quotes; with a longer one it says only where the error is.
const LONGEST_QUOTED_LINE: usize = 300;

/// Everything wrong with a config is reported as one of these; the CLI exits with code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub path: JsonPath,
    /// Where in the config text, when known (not for a file that cannot be read or is empty).
    /// Boxed: the error travels up every validation function's `Result`.
    pub snippet: Option<Box<Snippet>>,
    pub message: String,
    /// What the user should do about it.
    pub help: String,
}

impl ConfigError {
    /// An error about the value at `path` in the config `text`. A value the config does not spell
    /// out (a default) is pointed at through the nearest enclosing value that it does.
    pub fn at_path(
        file: impl Into<PathBuf>,
        text: &str,
        path: JsonPath,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        let mut enclosing = path.clone();
        let span = loop {
            if let Some(span) = value_span(text, &enclosing) {
                break Some(span);
            }
            if enclosing.0.pop().is_none() {
                break None;
            }
        };
        Self {
            file: file.into(),
            snippet: span.map(|span| {
                Box::new(Snippet {
                    text: text.to_owned(),
                    span,
                    label: None,
                })
            }),
            path,
            message: clip_quoted(&message.into()),
            help: help.into(),
        }
    }

    /// 1-based line and column of the offending value, when known.
    pub fn position(&self) -> Option<(usize, usize)> {
        self.snippet
            .as_ref()
            .map(|s| line_column(&s.text, s.span.start))
    }

    /// The error as a diagnostic: its message, then the config's offending line with the JSON
    /// path as its label (under `file:line:column`), then what to do. `color` for a terminal;
    /// lines are wrapped at a fixed width so the text is the same wherever it is printed.
    pub fn report(&self, color: bool) -> String {
        self.printable().render(color)
    }

    /// This error with what it quotes of the config, and the file's name, printable: no control
    /// character reaches the terminal from them (see [`super::printable`]).
    fn printable(&self) -> Self {
        use super::printable::{escaped, masked};
        // Clipped here too, not only in `at_path`: serde's messages and the keys of the path
        // quote the config whole, and an unknown key or value may be a pasted blob.
        let escaped_path = self.path.0.iter().map(|segment| match segment {
            PathSegment::Key(key) => PathSegment::Key(match clipped(key) {
                Some((start, length)) => {
                    format!("{}… ({length} characters)", escaped(&start))
                }
                None => escaped(key).into_owned(),
            }),
            PathSegment::Index(index) => PathSegment::Index(*index),
        });
        Self {
            file: PathBuf::from(escaped(&self.file.to_string_lossy()).into_owned()),
            path: JsonPath(escaped_path.collect()),
            snippet: self.snippet.as_ref().map(|snippet| {
                Box::new(Snippet {
                    text: masked(&snippet.text).into_owned(),
                    span: snippet.span.clone(),
                    label: snippet.label.as_deref().map(|l| escaped(l).into_owned()),
                })
            }),
            message: escaped(&clip_quoted(&self.message)).into_owned(),
            help: escaped(&self.help).into_owned(),
        }
    }

    fn render(&self, color: bool) -> String {
        use miette::{GraphicalReportHandler, GraphicalTheme};
        if self
            .snippet
            .as_deref()
            .is_some_and(Snippet::shows_a_long_line)
        {
            return format!("error: {self}\n");
        }
        let mut theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        theme.characters.error = "error:".to_owned();
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(REPORT_WIDTH)
            .with_links(false)
            .with_urls(false);
        let mut out = String::new();
        match handler.render_report(&mut out, &diagnostic::Diagnostic::new(self)) {
            Ok(()) => out,
            // Only a span outside the text fails to render: say it without the snippet.
            Err(_) => format!("error: {self}\n"),
        }
    }

    /// [`Self::report`] as printed on this process's stderr (see [`stderr_in_color`]).
    pub fn report_for_stderr(&self) -> String {
        self.report(stderr_in_color())
    }
}

/// Whether reports on this process's stderr are in color: on a terminal, unless `NO_COLOR` is set.
pub fn stderr_in_color() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Columns a report is wrapped at.
const REPORT_WIDTH: usize = 100;

/// One line: `file:line:column: at `path`: message`, then the help on the next line.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position() {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": at `{}`: {}", self.path, self.message)?;
        if !self.help.is_empty() {
            write!(f, "\n  help: {}", self.help)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The miette view of a [`ConfigError`].
mod diagnostic {
    use std::fmt;

    use miette::{LabeledSpan, NamedSource, SourceCode};

    pub struct Diagnostic<'a> {
        error: &'a super::ConfigError,
        /// The config text under the file's name, which miette prints above the source lines.
        source: Option<NamedSource<String>>,
    }

    impl<'a> Diagnostic<'a> {
        pub fn new(error: &'a super::ConfigError) -> Self {
            let source = error.snippet.as_ref().map(|snippet| {
                NamedSource::new(error.file.display().to_string(), snippet.text.clone())
            });
            Self { error, source }
        }
    }

    impl fmt::Debug for Diagnostic<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(self.error, f)
        }
    }

    /// The headline: the message, after the file's name when no snippet names it.
    impl fmt::Display for Diagnostic<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.source.is_none() {
                write!(f, "{}: ", self.error.file.display())?;
            }
            f.write_str(&self.error.message)
        }
    }

    impl std::error::Error for Diagnostic<'_> {}

    impl miette::Diagnostic for Diagnostic<'_> {
        fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
            let help = &self.error.help;
            (!help.is_empty()).then(|| Box::new(help) as Box<dyn fmt::Display>)
        }

        fn source_code(&self) -> Option<&dyn SourceCode> {
            self.source.as_ref().map(|s| s as &dyn SourceCode)
        }

        fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
            let snippet = self.error.snippet.as_ref()?;
            let label = match &snippet.label {
                Some(label) => label.clone(),
                None if self.error.path.is_root() => "here".to_owned(),
                None => self.error.path.to_string(),
            };
            let span = (snippet.span.start, snippet.span.len());
            Some(Box::new(std::iter::once(
                LabeledSpan::new_primary_with_span(Some(label), span),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_of(text: &str, path: JsonPath) -> String {
        ConfigError::at_path("stackr.config.json", text, path, "bad value", "fix it").report(false)
    }

    #[test]
    fn a_long_line_is_not_quoted_but_located() {
        let blob = "a".repeat(100_000);
        let text = format!("{{\n  \"name\": \"{blob}\",\n  \"stateDir\": \".stackr\"\n}}\n");
        let report = report_of(&text, JsonPath::root().key("name"));
        assert!(report.len() < 300, "{} bytes", report.len());
        assert!(
            report.contains("stackr.config.json:2:11: at `name`: bad value"),
            "{report}"
        );
        assert!(report.contains("help: fix it"), "{report}");
        // A long line beside the offending one is not quoted either.
        let report = report_of(&text, JsonPath::root().key("stateDir"));
        assert!(report.len() < 300, "{} bytes", report.len());
        assert!(report.contains(":3:15:"), "{report}");
    }

    #[test]
    fn a_minified_config_is_located_without_its_line() {
        let services = (0..40)
            .map(|i| format!("{{\"name\":\"service-{i}\",\"kind\":\"base\"}}"))
            .collect::<Vec<_>>()
            .join(",");
        let text = format!("{{\"name\":\"shop\",\"services\":[{services}]}}");
        let report = report_of(&text, JsonPath::service(39).key("kind"));
        assert!(report.len() < 300, "{report}");
        assert!(report.contains("stackr.config.json:1:"), "{report}");
    }

    #[test]
    fn a_long_quoted_value_in_a_message_is_cut() {
        let blob = "x".repeat(100_000);
        let error = ConfigError::at_path(
            "stackr.config.json",
            "{}",
            JsonPath::root().key("stateDir"),
            format!("stateDir `{blob}` contains whitespace; `a b` is short"),
            "fix it",
        );
        assert!(error.message.len() < 200, "{}", error.message);
        assert!(
            error.message.contains("(100000 characters)"),
            "{}",
            error.message
        );
        assert!(
            error.message.ends_with("; `a b` is short"),
            "{}",
            error.message
        );
        assert_eq!(clip_quoted("an `unclosed quote"), "an `unclosed quote");
    }

    #[test]
    fn ordinary_lines_are_quoted() {
        let text = "{\n  \"name\": \"Shop\"\n}\n";
        let report = report_of(text, JsonPath::root().key("name"));
        assert!(report.contains("\"name\": \"Shop\""), "{report}");
    }
}
