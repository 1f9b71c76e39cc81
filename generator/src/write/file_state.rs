//! What a file held when a commit staged its replacement, so that finishing a killed commit can
//! tell whether the user changed the file since (and then leave it alone). The same hash is what
//! `stackr.generated` records of each file stackr wrote (`render::record`).

use std::fs;
use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

/// A path's state, compared without keeping a copy of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Absent,
    /// A regular file with this SHA-256.
    File([u8; 32]),
    /// Anything else (a link, a folder, a device): not read, so never known to be unchanged.
    Other,
}

impl FileState {
    /// What is at `path` now. A link is not followed: it could point at a device that never ends
    /// (a repository can carry links), and placing a file replaces the link, not what it points at.
    pub fn on_disk(path: &Path) -> io::Result<Self> {
        let metadata = match fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Self::Absent),
            Err(err) => return Err(err),
        };
        if !metadata.is_file() {
            return Ok(Self::Other);
        }
        let mut hasher = Sha256::new();
        io::copy(&mut fs::File::open(path)?, &mut hasher)?;
        Ok(Self::File(hasher.finalize().into()))
    }

    /// The state of a regular file holding `content`.
    pub fn of_content(content: &[u8]) -> Self {
        Self::File(Sha256::digest(content).into())
    }

    /// Whether `self`, recorded at staging time, shows that `now` is the same file: a state that
    /// was not read (`Other`) never does.
    pub fn unchanged_in(self, now: Self) -> bool {
        self != Self::Other && self == now
    }

    /// The text form in a list of targets: `absent`, `sha256:<hex>` or `other`.
    pub fn render(self) -> String {
        match self {
            Self::Absent => "absent".to_owned(),
            Self::File(hash) => {
                let hex: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
                format!("sha256:{hex}")
            }
            Self::Other => "other".to_owned(),
        }
    }

    /// The state [`Self::render`] wrote as `text`; `None` for any other text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "absent" => return Some(Self::Absent),
            "other" => return Some(Self::Other),
            _ => {}
        }
        let hex = text.strip_prefix("sha256:")?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut hash = [0; 32];
        for (byte, pair) in hash.iter_mut().zip(hex.as_bytes().chunks(2)) {
            // Two lowercase hex digits, checked above.
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(Self::File(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_reads_back_as_written_and_nothing_else_reads() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "content").unwrap();
        let hashed = FileState::on_disk(&file).unwrap();
        assert_eq!(hashed, FileState::of_content(b"content"));
        assert_eq!(
            hashed.render(),
            // sha256sum of "content"
            "sha256:ed7002b439e9ac845f22357d822bac1444730fbdb6016d3ec9432297b9ec9f73"
        );
        for state in [hashed, FileState::Absent, FileState::Other] {
            assert_eq!(FileState::parse(&state.render()), Some(state));
        }
        let upper = hashed.render().to_uppercase().replace("SHA256", "sha256");
        for text in ["", "sha256:", "sha256:00", "ABSENT", &upper, "sha256:+d70"] {
            assert_eq!(FileState::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn links_and_folders_are_not_read_and_never_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert_eq!(FileState::on_disk(&link).unwrap(), FileState::Other);
        assert_eq!(FileState::on_disk(dir.path()).unwrap(), FileState::Other);
        assert!(!FileState::Other.unchanged_in(FileState::Other));
        let absent = FileState::on_disk(&dir.path().join("absent")).unwrap();
        assert!(absent.unchanged_in(FileState::Absent));
    }
}
