//! Log lines of the processes: `name | line`, the name padded to the widest one and coloured by a
//! stable hash of the name, so the same process has the same colour on every run.

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// ANSI colours that read well on dark and light terminals (no blue-on-black, no white).
const PALETTE: &[&str] = &["36", "33", "32", "35", "94", "91", "96", "93", "92", "95"];

/// Colour code for a process name (FNV-1a hash, so it is stable across runs and machines).
pub fn colour_of(name: &str) -> &'static str {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    PALETTE[(h as usize) % PALETTE.len()]
}

/// How prefixes are rendered.
#[derive(Debug, Clone)]
pub struct Prefixer {
    pub width: usize,
    pub colour: bool,
}

impl Prefixer {
    pub fn new<'a>(names: impl Iterator<Item = &'a str>, colour: bool) -> Self {
        let width = names.map(|n| n.chars().count()).max().unwrap_or(0).max(6);
        Prefixer { width, colour }
    }

    /// `name   | ` with the name padded and, when enabled, coloured.
    pub fn prefix(&self, name: &str) -> String {
        let padded = format!("{name:<w$}", w = self.width);
        if self.colour {
            format!("\x1b[{}m{padded} |\x1b[0m ", colour_of(name))
        } else {
            format!("{padded} | ")
        }
    }

    /// A whole log line; stderr lines are marked so they stand out in plain CI logs too.
    pub fn line(&self, name: &str, stderr: bool, text: &str) -> String {
        let _ = stderr; // both streams are shown the same way, as process-compose does
        format!("{}{}", self.prefix(name), text)
    }
}

/// Reads `reader` line by line until EOF and hands each line (without its line ending, invalid
/// UTF-8 replaced) to `sink`. Lines longer than 64 KiB are cut, so a binary blob cannot eat memory.
pub async fn pump_lines<R, F>(reader: R, mut sink: F)
where
    R: AsyncRead + Unpin,
    F: FnMut(&str),
{
    const MAX_LINE: usize = 64 * 1024;
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                while matches!(buf.last(), Some(b'\n' | b'\r')) {
                    buf.pop();
                }
                buf.truncate(MAX_LINE);
                sink(&String::from_utf8_lossy(&buf));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_padded_and_coloured_stably() {
        let p = Prefixer::new(["db", "api-server"].into_iter(), false);
        assert_eq!(p.prefix("db"), "db         | ");
        let c = Prefixer::new(["db"].into_iter(), true);
        assert_eq!(
            c.prefix("db"),
            format!("\x1b[{}mdb     |\x1b[0m ", colour_of("db"))
        );
        assert_eq!(colour_of("postgres"), colour_of("postgres"));
    }

    #[tokio::test]
    async fn pump_splits_lines_and_strips_endings() {
        let input: &[u8] = b"one\r\ntwo\n\xffthree";
        let mut got = Vec::new();
        pump_lines(input, |l| got.push(l.to_owned())).await;
        assert_eq!(got, ["one", "two", "\u{fffd}three"]);
    }
}
