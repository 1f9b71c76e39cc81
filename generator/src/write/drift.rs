//! `--check`: compares rendered files with what is on disk, writing nothing.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::config::printable::{escaped, masked};

/// A generated file whose disk content differs from what `stackr generate` would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    Missing(String),
    Modified(String),
    /// A symbolic link where stackr writes a regular file, and where it points. What it points at
    /// is never read, not even to compare it: it could be any file on the machine (a repository
    /// can carry links), and a diff of it would print it.
    Link {
        path: String,
        target: PathBuf,
    },
    /// A file under `folder`, a symbolic link where stackr writes a folder: what is there is not
    /// read either.
    UnderLink {
        path: String,
        folder: String,
    },
}

impl Drift {
    /// The file, relative to the project root.
    pub fn path(&self) -> &str {
        match self {
            Drift::Missing(path)
            | Drift::Modified(path)
            | Drift::Link { path, .. }
            | Drift::UnderLink { path, .. } => path,
        }
    }
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::Missing(path) => write!(f, "missing:  {path}"),
            Drift::Modified(path) => write!(f, "modified: {path}"),
            // A link's target is any bytes the repository carries: shown without control
            // characters, which a terminal or CI log would obey.
            Drift::Link { path, target } => write!(
                f,
                "modified: {path} (a symbolic link to {}, not followed: stackr writes a regular file there)",
                escaped(&target.to_string_lossy())
            ),
            Drift::UnderLink { path, folder } => write!(
                f,
                "modified: {path} (under {folder}, a symbolic link, not followed: stackr writes a folder there)"
            ),
        }
    }
}

/// The files (path, wanted content) whose disk content differs.
pub fn drift<'a>(root: &Path, files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Vec<Drift> {
    files
        .into_iter()
        .filter_map(|(path, content)| {
            if let Some(folder) = super::linked_folder(root, path) {
                return Some(Drift::UnderLink {
                    path: path.to_owned(),
                    folder,
                });
            }
            let full = root.join(path);
            // Only a link has a target to read; anything else is compared.
            if let Ok(target) = std::fs::read_link(&full) {
                return Some(Drift::Link {
                    path: path.to_owned(),
                    target,
                });
            }
            match holds_exactly(&full, content) {
                Err(_) => Some(Drift::Missing(path.to_owned())),
                Ok(false) => Some(Drift::Modified(path.to_owned())),
                Ok(true) => None,
            }
        })
        .collect()
}

/// How long the search for the shortest diff of one file may take. Its time grows with the
/// product of the file's length and the number of lines that differ: minutes for a large
/// generated file rewritten by hand (`--check` runs in CI). Past
/// it, the rest of the file is diffed as removed and added whole: longer, but still exact.
const DIFF_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(1);

/// A unified diff from the file at `root/path` (`a/path`) to `wanted` (`b/path`), for text files;
/// `None` when either side is not UTF-8 or the file cannot be read. A link is not read: the diff
/// goes to stdout (CI logs), and would show whatever file on the machine the link points at.
/// What the file holds is any bytes the repository carries: its control characters are masked
/// (a terminal or CI log would obey them), and a hunk holding one no longer applies as a patch.
pub fn unified_diff(root: &Path, path: &str, wanted: &[u8]) -> Option<String> {
    let on_disk = stackr_plan::regular_file::read_to_string_unlinked(&root.join(path)).ok()?;
    let wanted = std::str::from_utf8(wanted).ok()?;
    // Masked before the diff, so that a lone carriage return is no line break there either.
    let diff = similar::TextDiff::configure()
        .timeout(DIFF_TIME_LIMIT)
        .diff_lines(masked(&on_disk).as_ref(), masked(wanted).as_ref())
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    Some(diff)
}

/// Whether the file at `path` holds exactly `expected`. A file of another size is not read; one
/// of the right size is compared block by block, so no copy of it is made (`--check` runs before
/// every `stackr dev` and in CI, on files of up to megabytes). Anything but a regular file is never
/// what stackr writes and is not opened: a named pipe could wait for ever, and a link could lead
/// to a device or to any file on the machine (so a link holding the right content is still
/// replaced by the file itself).
pub(crate) fn holds_exactly(path: &Path, expected: &[u8]) -> std::io::Result<bool> {
    let metadata = std::fs::symlink_metadata(path)?;
    if !metadata.is_file() || metadata.len() != expected.len() as u64 {
        return Ok(false);
    }
    let mut file = File::open(path)?;
    let mut block = vec![0; 64 * 1024];
    let mut rest = expected;
    loop {
        let read = file.read(&mut block)?;
        if read == 0 {
            return Ok(rest.is_empty());
        }
        match rest.strip_prefix(&block[..read]) {
            Some(after) => rest = after,
            None => return Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{drift, holds_exactly, unified_diff, Drift};

    #[test]
    fn compares_every_block_of_a_large_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let expected: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &expected).unwrap();
        assert!(holds_exactly(&path, &expected).unwrap());

        let mut changed = expected.clone();
        changed[150_000] ^= 1;
        assert!(
            !holds_exactly(&path, &changed).unwrap(),
            "same size, one byte off"
        );
        assert!(
            !holds_exactly(&path, &expected[..199_999]).unwrap(),
            "shorter"
        );
        assert!(holds_exactly(&dir.path().join("absent"), &expected).is_err());
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert!(!holds_exactly(&fifo, b"").unwrap(), "not opened: no wait");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(!holds_exactly(&link, &[0; 16]).unwrap());
        let same = dir.path().join("same");
        std::os::unix::fs::symlink(&path, &same).unwrap();
        assert!(
            !holds_exactly(&same, &expected).unwrap(),
            "a link to the right content is not the file"
        );
    }

    #[test]
    fn a_link_is_drift_naming_its_target_and_is_never_diffed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "what the link points at\n").unwrap();
        let root = dir.path().join("project");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&target, root.join("same")).unwrap();
        std::os::unix::fs::symlink(&target, root.join("other")).unwrap();
        std::os::unix::fs::symlink(root.join("absent"), root.join("dangling")).unwrap();
        let wanted = b"what the link points at\n".as_slice();
        let found = drift(
            &root,
            [
                ("same", wanted),
                ("other", b"stackr's\n".as_slice()),
                ("dangling", wanted),
            ],
        );
        let link = |path: &str, target: &std::path::Path| Drift::Link {
            path: path.to_owned(),
            target: target.to_owned(),
        };
        assert_eq!(
            found,
            [
                link("same", &target),
                link("other", &target),
                link("dangling", &root.join("absent")),
            ]
        );
        assert_eq!(
            found[1].to_string(),
            format!(
                "modified: other (a symbolic link to {}, not followed: stackr writes a regular file there)",
                target.display()
            )
        );
        assert_eq!(unified_diff(&root, "other", b"stackr's\n"), None);
    }

    /// A repository can carry any bytes in a file stackr generates and in a link's target, and
    /// `--check` prints both (a diff on stdout, the drift on stderr) to a terminal or a CI log:
    /// an escape sequence there would set the terminal's clipboard or title, or rewrite the lines
    /// shown above it.
    #[test]
    fn what_the_disk_holds_is_printed_without_its_control_characters() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let hostile = "\u{1b}]52;c;Y3VybCBldmlsIHwgc2g=\u{7}\r\u{9b}2K\u{202e}";
        std::fs::write(root.join("generated"), format!("kept\n{hostile}\n")).unwrap();
        let diff = unified_diff(root, "generated", b"kept\nstackr's\n").unwrap();
        assert!(
            !diff
                .chars()
                .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
            "{diff:?}"
        );
        assert!(
            diff.contains("-?]52;c;Y3VybCBldmlsIHwgc2g=??¿2K\u{fffd}\n+stackr's\n"),
            "{diff:?}"
        );

        std::os::unix::fs::symlink(format!("x{hostile}"), root.join("link")).unwrap();
        let found = drift(root, [("link", b"stackr's\n".as_slice())]);
        let shown = found[0].to_string();
        assert!(
            !shown.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{shown:?}"
        );
    }
}
