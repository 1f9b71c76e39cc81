//! Which paths a call to another service may take.

/// Whether `path` would reach another route than the one written: it holds a segment that URLs
/// resolve away (`.`, `..`, also written `%2e`, and split by `\`, which URLs read as `/`), or a
/// tab or line break, which URLs drop before reading the path (`.<tab>.` is `..`), as they drop
/// spaces and control characters at the end (`.. ` is `..`). A query or fragment is not part of
/// the path and is left alone.
pub(super) fn climbs(path: &str) -> bool {
    if path.contains(['\t', '\n', '\r']) {
        return true;
    }
    let path = path.trim_end_matches(|c: char| c == ' ' || c.is_ascii_control());
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split(['/', '\\']).any(|segment| {
        let dots = segment.to_ascii_lowercase().replace("%2e", ".");
        dots == "." || dots == ".."
    })
}

#[cfg(test)]
mod tests {
    use super::climbs;

    #[test]
    fn dot_segments_climb_wherever_they_are_and_however_written() {
        for path in [
            "..",
            "/a/..",
            "a/./b",
            "%2E%2e",
            "a\\..\\b",
            "a/.%2E",
            "x\ty",
            "a/.. ",
            "a/..\u{1f}",
        ] {
            assert!(climbs(path), "{path:?}");
        }
        for path in [
            "",
            "/",
            "/a/b",
            "/.well-known/x",
            "/a/...",
            "/a?b=../c",
            "/a#..",
            "/a/%2e%2e%2e",
        ] {
            assert!(!climbs(path), "{path:?}");
        }
    }
}
