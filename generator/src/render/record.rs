//! `stackr.generated`: the record of what stackr wrote, one SHA-256 per file it owns whole (the
//! generated files and the vendored runtime crates). A generated file says nothing of the stackr
//! that wrote it, so without the record `stackr upgrade` cannot tell a file an older stackr wrote
//! from one edited by hand; with it, a file that still hashes to its entry is stackr's own output.
//!
//! The record is rendered from the files it lists, in the changeset that writes them, so it is
//! generated like them and `generate --check` reports it stale. Files stackr writes once or only
//! edits (the scaffold, the `Cargo.toml` files) are the user's and not listed: their hash would
//! change with every edit the user is free to make.
//!
//! After two comment lines, one line per file: `sha256:<hex> <path>`, sorted by path.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;

use anyhow::{Context, Result};
use stackr_plan::regular_file;

use super::{agents, RenderedFile, GENERATED_HEADER};
use crate::write::FileState;
use crate::UsageError;

pub const PATH: &str = "stackr.generated";

/// Far above any record stackr writes (under a hundred bytes per file, a few hundred files); a
/// larger file is not read, so a planted one cannot exhaust memory.
const MAX_BYTES: u64 = 1 << 20;

const ABOUT: &str = "The SHA-256 of each file stackr wrote (of AGENTS.md, without its user section's notes), so that `stackr upgrade` can tell stackr's own older output from edits. Commit this file.";

const DAMAGED_HELP: &str = "restore it (`git checkout stackr.generated`) and run the command again, or delete it: without the record, every file that differs from what this stackr writes counts as edited";

/// `files` (as stackr writes them) followed by their record.
pub fn with_record(mut files: Vec<RenderedFile>) -> Vec<RenderedFile> {
    let record = render(&files);
    files.push(record);
    files
}

/// The record of `files`.
fn render(files: &[RenderedFile]) -> RenderedFile {
    let entries: BTreeMap<&str, FileState> = files
        .iter()
        .filter(|file| file.path != PATH)
        .map(|file| {
            (
                file.path.as_str(),
                recorded(&file.path, file.content.as_bytes()),
            )
        })
        .collect();
    let mut text = format!("# {GENERATED_HEADER}\n# {ABOUT}\n");
    for (path, state) in entries {
        text.push_str(&format!("{} {path}\n", state.render()));
    }
    RenderedFile::new(PATH, text)
}

/// What the record holds of `path` holding `content`: its hash, AGENTS.md's without the notes
/// (they are the user's, and writing there is no edit of stackr's output).
fn recorded(path: &str, content: &[u8]) -> FileState {
    match std::str::from_utf8(content) {
        Ok(text) if path == agents::PATH => {
            FileState::of_content(agents::without_user_section(text).as_bytes())
        }
        _ => FileState::of_content(content),
    }
}

/// A record read back from a project.
#[derive(Debug)]
pub struct Record {
    entries: BTreeMap<String, FileState>,
}

impl Record {
    /// Whether the file at `root/path` holds what the record says stackr wrote there. A path the
    /// record does not list, a link, a folder or a file that cannot be read never does.
    pub fn wrote(&self, root: &Path, path: &str) -> bool {
        let Some(recorded_state) = self.entries.get(path) else {
            return false;
        };
        let full = root.join(path);
        let now = if path == agents::PATH {
            match regular_file::read_unlinked(&full) {
                Ok(content) => recorded(path, &content),
                Err(_) => return false,
            }
        } else {
            match FileState::on_disk(&full) {
                Ok(state) => state,
                Err(_) => return false,
            }
        };
        now == *recorded_state
    }

    /// Whether the record lists `path`: a file stackr owns whole.
    pub fn lists(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// The entries of a record's text; the error is the first bad line's number and what is
    /// wrong with it.
    fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut entries = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let entry =
                line.split_once(' ')
                    .and_then(|(hash, path)| match FileState::parse(hash) {
                        Some(state @ FileState::File(_)) if !path.is_empty() => Some((path, state)),
                        _ => None,
                    });
            let Some((path, state)) = entry else {
                let shown: String = line.chars().take(100).collect();
                return Err((
                    number,
                    format!("expected `sha256:<64 hex digits> <path>`, found {shown:?}"),
                ));
            };
            if entries.insert(path.to_owned(), state).is_some() {
                return Err((number, format!("`{path}` is listed twice")));
            }
        }
        Ok(Self { entries })
    }
}

/// The project's record; `None` when it has none (made by a stackr older than the record). A
/// record that is not a regular file, is too large or is malformed is a usage error naming it.
pub fn read(root: &Path) -> Result<Option<Record>> {
    let damaged = |what: String| UsageError::new(format!("{PATH}{what}"), DAMAGED_HELP);
    // Not through a link: the error for a malformed line quotes it.
    let bytes = match regular_file::read_at_most_unlinked(&root.join(PATH), MAX_BYTES) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) if matches!(err.kind(), ErrorKind::InvalidInput | ErrorKind::InvalidData) => {
            return Err(damaged(format!(": {err}, so it is no record stackr wrote")).into())
        }
        Err(err) => return Err(err).with_context(|| format!("reading {PATH}")),
    };
    let text = String::from_utf8(bytes).map_err(|_| damaged(" is not UTF-8 text".to_owned()))?;
    let record = Record::parse(&text).map_err(|(line, why)| damaged(format!(":{line}: {why}")))?;
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn files() -> Vec<RenderedFile> {
        vec![
            RenderedFile::new("nix/b.nix", "b\n"),
            RenderedFile::new("a.yaml", "a\n"),
        ]
    }

    /// Writes `files` and their record into `root`, and reads the record back.
    fn read_back(files: &[RenderedFile], root: &Path) -> Record {
        for file in with_record(files.to_vec()) {
            let path = root.join(&file.path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, &file.content).unwrap();
        }
        read(root).unwrap().unwrap()
    }

    #[test]
    fn the_record_lists_every_file_by_path_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let record = read_back(&files(), dir.path());
        let text = fs::read_to_string(dir.path().join(PATH)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("# Generated by `stackr generate`"));
        assert!(lines[2].ends_with(" a.yaml") && lines[3].ends_with(" nix/b.nix"));
        assert_eq!(lines.len(), 4, "the record does not list itself: {text}");
        assert!(record.wrote(dir.path(), "a.yaml") && record.wrote(dir.path(), "nix/b.nix"));
        fs::write(dir.path().join("a.yaml"), "edited\n").unwrap();
        assert!(!record.wrote(dir.path(), "a.yaml"));
        assert!(!record.wrote(dir.path(), PATH), "not listed");
        assert!(!record.wrote(dir.path(), "absent"));

        // A FIFO where AGENTS.md was: not opened (that would wait for a writer), not stackr's.
        let record = read_back(&[RenderedFile::new(agents::PATH, "# gen\n")], dir.path());
        let agents_md = dir.path().join(agents::PATH);
        fs::remove_file(&agents_md).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(&agents_md)
            .status()
            .unwrap();
        assert!(made.success());
        assert!(!record.wrote(dir.path(), agents::PATH));
    }

    #[test]
    fn agents_md_is_recorded_without_its_notes() {
        let agents = |notes: &str| {
            format!(
                "# gen\n{}{notes}{}\nfooter\n",
                agents::USER_BEGIN,
                agents::USER_END
            )
        };
        let with_notes = recorded(agents::PATH, agents("\nmine\n").as_bytes());
        assert_eq!(with_notes, recorded(agents::PATH, agents("").as_bytes()));
        assert_ne!(
            with_notes,
            recorded(agents::PATH, agents("").replace("gen", "edited").as_bytes())
        );
        assert_ne!(
            recorded("other.md", agents("\nmine\n").as_bytes()),
            recorded("other.md", agents("").as_bytes()),
            "only AGENTS.md has a user section"
        );
    }

    #[test]
    fn a_malformed_line_is_named() {
        let hash = FileState::of_content(b"x").render();
        for (text, line, said) in [
            ("# c\nnonsense\n", 2, "expected"),
            (&format!("# c\n{hash}\n")[..], 2, "expected"),
            (&format!("{hash} \n"), 1, "expected"),
            ("absent a.yaml\n", 1, "expected"),
            (&format!("{hash} a\n{hash} a\n"), 2, "twice"),
        ] {
            let (number, why) = Record::parse(text).unwrap_err();
            assert_eq!(number, line, "{text:?}");
            assert!(why.contains(said), "{text:?}: {why}");
        }
        let record = Record::parse(&format!("# c\n\n{hash} a b.txt\n")).unwrap();
        assert!(record.entries.contains_key("a b.txt"));
    }
}
