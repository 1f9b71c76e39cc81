//! Reading a project's files without following them into something that is not a file. A
//! repository can carry a link to `/dev/zero` (read for ever) or a named pipe (opening it waits
//! for a writer): both are refused before the file is opened.

use std::io;
use std::path::Path;

/// The bytes of the regular file at `path` (a link to one is followed). Anything else is an
/// `InvalidInput` error saying so; a missing file is `NotFound`, as from [`std::fs::read`].
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    read_at_most(path, u64::MAX)
}

/// [`read`], refusing (`InvalidData`) a file of more than `limit` bytes without reading it.
pub fn read_at_most(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let metadata = std::fs::metadata(path)?;
    if let Some(refusal) = refusal(&metadata) {
        return Err(refusal);
    }
    if metadata.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("too large (over {limit} bytes)"),
        ));
    }
    std::fs::read(path)
}

/// Why something with this metadata is not read or replaced as a file; `None` for a regular file.
pub fn refusal(metadata: &std::fs::Metadata) -> Option<io::Error> {
    (!metadata.is_file()).then(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "not a regular file (it is {})",
                describe(&metadata.file_type())
            ),
        )
    })
}

/// [`read`], as UTF-8 text.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

fn describe(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device, or a link to one"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_to_a_device_is_refused_without_being_read() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("AGENTS.md");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = read(&link).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(
            err.to_string()
                .contains("not a regular file (it is a device"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_file_stays_not_found_and_a_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        assert_eq!(read(&path).unwrap_err().kind(), io::ErrorKind::NotFound);
        std::fs::write(&path, "text").unwrap();
        assert_eq!(read_to_string(&path).unwrap(), "text");
    }
}
