//! The commit point of a staged commit: the list, in its staging folder, of the files it places.
//! After the line [`HEADER`], one line per file: `<index>\t<state>\t<path>`, where the staged
//! content is `new-<index>` and `<state>` is what the file held at staging time
//! ([`FileState`]), so finishing a killed commit never overwrites a file changed since.
//!
//! The next writing command reads the list back, and a staging folder is not always stackr's
//! own: a repository can carry one (`git add -f`). So nothing in it is trusted: every target must
//! be a plain path inside the project, and a list that is not exactly what stackr writes is
//! refused as a whole rather than read as far as it makes sense.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::Path;

use super::file_state::FileState;

/// The list's file name in a staging folder.
pub const FILE: &str = "targets";
/// The list's first line. Lists of stackr 0.1.0 had none, nor the states: whether their files
/// changed since cannot be told.
pub const HEADER: &str = "stackr-targets 2";
/// Far above any list stackr writes (a line of under a hundred bytes per file); a larger one is
/// not read, so a planted list cannot exhaust memory.
pub const MAX_BYTES: usize = 16 << 20;

/// One file a commit places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub index: usize,
    /// What the file held when the commit staged its new content.
    pub before: FileState,
    /// Relative to the project root; [`check_path`] holds for it.
    pub path: String,
}

impl Target {
    /// The staged content's file name in the staging folder.
    pub fn staged_name(&self) -> String {
        format!("new-{}", self.index)
    }
}

/// The list's text.
pub fn render(targets: &[Target]) -> String {
    let mut text = format!("{HEADER}\n");
    for target in targets {
        let state = target.before.render();
        text.push_str(&format!("{}\t{state}\t{}\n", target.index, target.path));
    }
    text
}

/// The list in `staging`; `None` when there is none (the commit was stopped before its commit
/// point). The error says what is wrong with the list, for the caller to name the folder.
pub fn read(staging: &Path) -> Result<Option<Vec<Target>>, String> {
    let list = staging.join(FILE);
    // Not followed: a link could point at a device or a pipe that never ends.
    let metadata = match fs::symlink_metadata(&list) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("`{FILE}` cannot be read: {err}")),
    };
    if !metadata.is_file() {
        return Err(format!("`{FILE}` is not a regular file"));
    }
    let mut bytes = Vec::new();
    fs::File::open(&list)
        .and_then(|file| file.take(MAX_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(|err| format!("`{FILE}` cannot be read: {err}"))?;
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "`{FILE}` is larger than any list stackr writes ({MAX_BYTES} bytes)"
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("`{FILE}` is not UTF-8 text"))?;
    parse(&text).map(Some)
}

/// The entries of a list's text, each checked; the error names the first bad line.
pub fn parse(text: &str) -> Result<Vec<Target>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(format!("`{FILE}` is cut short (no final line break)"));
    }
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(format!(
            "`{FILE}` does not begin with `{HEADER}`: an older stackr (or something else) wrote it, without what each file held, so whether one was changed since cannot be told"
        ));
    }
    let mut targets = Vec::new();
    let (mut indexes, mut paths) = (BTreeSet::new(), BTreeSet::new());
    for (number, line) in lines.enumerate() {
        let bad = |what: String| format!("line {} of `{FILE}` ({line:?}) {what}", number + 2);
        let mut fields = line.splitn(3, '\t');
        let (Some(index), Some(before), Some(path)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("is not `<number><tab><state><tab><path>`".to_owned()));
        };
        let index = parse_index(index).ok_or_else(|| bad("does not start with a number".into()))?;
        let before = FileState::parse(before)
            .ok_or_else(|| bad("has no state `absent`, `sha256:<hex>` or `other`".into()))?;
        check_path(path).map_err(|why| bad(format!("names a file {why}")))?;
        if !indexes.insert(index) || !paths.insert(path) {
            return Err(bad("repeats an earlier entry".to_owned()));
        }
        targets.push(Target {
            index,
            before,
            path: path.to_owned(),
        });
    }
    Ok(targets)
}

/// A decimal number as stackr writes it (no sign, no leading zero), so the staged file's name is
/// `new-<number>` and nothing else.
fn parse_index(text: &str) -> Option<usize> {
    let index: usize = text.parse().ok()?;
    (index.to_string() == text).then_some(index)
}

/// Whether `path` is a plain relative path inside the project: only normal components, none of
/// them `.`, `..` or empty, and no `.git` (its hooks run code). The error ends a sentence that
/// begins with the path.
pub fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("with an empty path".to_owned());
    }
    if path.chars().any(char::is_control) {
        return Err("with a control character in its path".to_owned());
    }
    if path.starts_with('/') {
        return Err("by an absolute path, outside the project".to_owned());
    }
    for component in path.split('/') {
        match component {
            "" | "." => return Err(format!("by a path that is not plain ({path:?})")),
            ".." => return Err(format!("outside the project ({path:?} goes up with `..`)")),
            _ if component.eq_ignore_ascii_case(".git") => {
                return Err(format!("inside git's own folder ({path:?})"))
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(index: usize, before: FileState, path: &str) -> Target {
        Target {
            index,
            before,
            path: path.to_owned(),
        }
    }

    #[test]
    fn a_list_reads_back_as_written() {
        let targets = vec![
            target(0, FileState::Absent, "AGENTS.md"),
            target(1, FileState::File([7; 32]), "services/core/Cargo.toml"),
            target(2, FileState::Other, "linked"),
        ];
        assert_eq!(parse(&render(&targets)).unwrap(), targets);
        assert_eq!(parse(&render(&[])).unwrap(), Vec::new());
    }

    #[test]
    fn only_plain_paths_inside_the_project_are_targets() {
        for path in [
            "a",
            "services/core/src/main.rs",
            ".github/x",
            "..a/b",
            "a../b",
        ] {
            assert_eq!(check_path(path), Ok(()), "{path}");
        }
        for path in [
            "",
            "/tmp/abs",
            "../../../tmp/esc",
            "a/../../b",
            "a/..",
            "./a",
            "a/./b",
            "a//b",
            "a/",
            ".git/hooks/pre-commit",
            "services/core/.GIT/config",
            "a\nb",
            "a\0b",
        ] {
            assert!(check_path(path).is_err(), "{path:?} was accepted");
        }
    }

    #[test]
    fn a_list_that_is_not_exactly_what_stackr_writes_is_refused() {
        for entries in [
            "0\tabsent\tREADME.md",                 // cut short
            "absent\tREADME.md\n",                  // no number
            "0\tREADME.md\n",                       // no state
            "0\tsha256:00\tREADME.md\n",            // not a state
            "x\tabsent\tREADME.md\n",               // not a number
            "+0\tabsent\tREADME.md\n",              // not as stackr writes numbers
            "00\tabsent\tREADME.md\n",              // nor this
            "0/../../x\tabsent\tREADME.md\n",       // a number that would name another file
            "0\tabsent\t../README.md\n",            // outside
            "0\tabsent\ta\n1\tabsent\ta\n",         // one file twice
            "0\tabsent\ta\n0\tabsent\tb\n",         // one staged file twice
            "99999999999999999999999\tabsent\ta\n", // beyond usize
        ] {
            let text = format!("{HEADER}\n{entries}");
            assert!(parse(&text).is_err(), "{text:?} was accepted");
        }
        // The list of stackr 0.1.0: no header, no states.
        let old = parse("0\tREADME.md\n").unwrap_err();
        assert!(old.contains("older stackr"), "{old}");
        assert!(parse("").is_err());
    }

    #[test]
    fn a_list_that_is_too_large_or_not_a_file_is_refused_without_reading_it_all() {
        let staging = tempfile::tempdir().unwrap();
        assert_eq!(read(staging.path()), Ok(None), "no list: nothing to finish");
        let list = staging.path().join(FILE);
        fs::write(&list, vec![b'a'; MAX_BYTES + 1]).unwrap();
        assert!(read(staging.path()).unwrap_err().contains("larger"));
        fs::remove_file(&list).unwrap();
        fs::write(&list, b"0\t\xff\n").unwrap();
        assert!(read(staging.path()).unwrap_err().contains("UTF-8"));
        fs::remove_file(&list).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &list).unwrap();
        assert!(read(staging.path()).unwrap_err().contains("regular file"));
    }
}
