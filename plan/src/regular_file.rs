//! Reading a project's files without following them into something that is not a file. A
//! repository can carry a link to `/dev/zero` (read for ever) or a named pipe (opening it waits
//! for a writer): both are refused before the file is opened.
//!
//! Every project file stackr reads (its config, the files it manages) goes through the
//! `*_unlinked` functions, which refuse any link: what stackr reads there it prints (a diff on
//! stdout, an error quoting a line, both in CI logs) or copies into what it writes, and a link
//! could lead to any file on the machine (`/proc/self/environ`, a key).

use std::io;
use std::path::Path;

/// The bytes of the regular file at `path`. Anything else is an `InvalidInput` error saying so:
/// a symbolic link names where it points ([`link_refusal`]), and what it points at is never
/// opened. A missing file is `NotFound`, as from [`std::fs::read`].
pub fn read_unlinked(path: &Path) -> io::Result<Vec<u8>> {
    read_at_most_unlinked(path, u64::MAX)
}

/// [`read_unlinked`], refusing (`InvalidData`) a file of more than `limit` bytes without reading
/// it.
pub fn read_at_most_unlinked(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let metadata = std::fs::symlink_metadata(path)?;
    if metadata.file_type().is_symlink() {
        return Err(link_refusal(path));
    }
    read_checked(path, metadata, limit)
}

/// [`read_unlinked`], as UTF-8 text.
pub fn read_to_string_unlinked(path: &Path) -> io::Result<String> {
    String::from_utf8(read_unlinked(path)?)
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

/// Why the symbolic link at `path` is not read: it names where the link points (that much is in
/// the repository), never what is there.
pub fn link_refusal(path: &Path) -> io::Error {
    let target = match std::fs::read_link(path) {
        Ok(target) => format!(" to {}", target.display()),
        Err(_) => String::new(),
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a regular file (it is a symbolic link{target}, which stackr does not follow)"),
    )
}

/// The file at `path`, whose `metadata` was just read, when it is a regular file of at most
/// `limit` bytes.
fn read_checked(path: &Path, metadata: std::fs::Metadata, limit: u64) -> io::Result<Vec<u8>> {
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
    fn a_device_is_refused_without_being_read() {
        let err = read_unlinked(Path::new("/dev/zero")).unwrap_err();
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
        assert_eq!(
            read_unlinked(&path).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        std::fs::write(&path, "text").unwrap();
        assert_eq!(read_unlinked(&path).unwrap(), b"text");
        assert_eq!(read_to_string_unlinked(&path).unwrap(), "text");
    }

    #[test]
    fn an_unlinked_read_names_a_link_and_does_not_follow_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret");
        std::fs::write(&target, "what the link points at").unwrap();
        let link = dir.path().join("AGENTS.md");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = read_to_string_unlinked(&link).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let said = err.to_string();
        assert!(
            said.contains(&format!("a symbolic link to {}", target.display()))
                && !said.contains("points at"),
            "{said}"
        );
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("absent"), &dangling).unwrap();
        assert_eq!(
            read_unlinked(&dangling).unwrap_err().kind(),
            io::ErrorKind::InvalidInput,
            "a link to nothing is still a link, not a missing file"
        );
    }
}
