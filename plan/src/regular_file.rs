//! Reading a project's files without following them into something that is not a file. A
//! repository can carry a link to `/dev/zero` (read for ever) or a named pipe (opening it waits
//! for a writer): both are refused before the file is opened.
//!
//! Every project file stackr reads (its config, the files it manages) goes through the
//! `*_unlinked` functions, which refuse any link: what stackr reads there it prints (a diff on
//! stdout, an error quoting a line, both in CI logs) or copies into what it writes, and a link
//! could lead to any file on the machine (`/proc/self/environ`, a key).

use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
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
    // Checked before opening, so a device or a named pipe is never opened.
    check(path, &std::fs::symlink_metadata(path)?, limit)?;
    // The path can change between that check and the open: the open follows no link (ELOOP on
    // one) and does not wait on a pipe, and what it opened is checked again.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ELOOP) => link_refusal(path),
            _ => err,
        })?;
    let metadata = file.metadata()?;
    check(path, &metadata, limit)?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
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

/// Whether the file at `path`, whose `metadata` was just read, is a regular file of at most
/// `limit` bytes; a link is refused naming where it points.
fn check(path: &Path, metadata: &std::fs::Metadata, limit: u64) -> io::Result<()> {
    if metadata.file_type().is_symlink() {
        return Err(link_refusal(path));
    }
    if let Some(refusal) = refusal(metadata) {
        return Err(refusal);
    }
    if metadata.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("too large (over {limit} bytes)"),
        ));
    }
    Ok(())
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

    /// A file swapped for a link between the check and the open (anyone who can write in the
    /// project can do that while stackr runs) is still not read through the link.
    #[test]
    fn a_link_swapped_in_after_the_check_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "what the link points at").unwrap();
        let path = dir.path().join("AGENTS.md");
        std::fs::write(&path, "the file").unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let (dir, secret, path, done) = (
                dir.path().to_owned(),
                secret.clone(),
                path.clone(),
                done.clone(),
            );
            std::thread::spawn(move || {
                let (file, link) = (dir.join("file"), dir.join("link"));
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    std::fs::write(&file, "the file").unwrap();
                    std::fs::rename(&file, &path).unwrap();
                    std::os::unix::fs::symlink(&secret, &link).unwrap();
                    std::fs::rename(&link, &path).unwrap();
                }
            })
        };
        let mut leaked = 0;
        for _ in 0..20_000 {
            if let Ok(content) = read_unlinked(&path) {
                if content != b"the file" {
                    leaked += 1;
                }
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().unwrap();
        assert_eq!(leaked, 0, "reads that followed a link swapped in");
    }
}
