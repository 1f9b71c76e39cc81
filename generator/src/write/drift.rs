//! `--check`: compares rendered files with what is on disk, writing nothing.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// A generated file whose disk content differs from what `stackr generate` would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    Missing(String),
    Modified(String),
}

impl Drift {
    /// The file, relative to the project root.
    pub fn path(&self) -> &str {
        match self {
            Drift::Missing(path) | Drift::Modified(path) => path,
        }
    }
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::Missing(path) => write!(f, "missing:  {path}"),
            Drift::Modified(path) => write!(f, "modified: {path}"),
        }
    }
}

/// The files (path, wanted content) whose disk content differs.
pub fn drift<'a>(root: &Path, files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Vec<Drift> {
    files
        .into_iter()
        .filter_map(
            |(path, content)| match holds_exactly(&root.join(path), content) {
                Err(_) => Some(Drift::Missing(path.to_owned())),
                Ok(false) => Some(Drift::Modified(path.to_owned())),
                Ok(true) => None,
            },
        )
        .collect()
}

/// A unified diff from the file at `root/path` (`a/path`) to `wanted` (`b/path`), for text files;
/// `None` when either side is not UTF-8 or the file cannot be read.
pub fn unified_diff(root: &Path, path: &str, wanted: &[u8]) -> Option<String> {
    let on_disk = stackr_plan::regular_file::read_to_string(&root.join(path)).ok()?;
    let wanted = std::str::from_utf8(wanted).ok()?;
    let diff = similar::TextDiff::from_lines(on_disk.as_str(), wanted);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string(),
    )
}

/// Whether the file at `path` holds exactly `expected`. A file of another size is not read; one
/// of the right size is compared block by block, so no copy of it is made (`--check` runs before
/// every `stackr dev` and in CI, on files of up to megabytes). Anything but a regular file (a link
/// to a device, a named pipe) is never what stackr writes and is not opened: that could wait for
/// ever.
pub(super) fn holds_exactly(path: &Path, expected: &[u8]) -> std::io::Result<bool> {
    let metadata = std::fs::metadata(path)?;
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
    use super::holds_exactly;

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
    }
}
