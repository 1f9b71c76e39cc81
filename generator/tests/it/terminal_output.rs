//! What a config or a repository holds reaches the terminal (or a CI log) only as text: an escape
//! sequence in a key, a broken config or a file name is printed escaped, so it cannot retitle the
//! terminal, hide or rewrite lines, or set the clipboard (OSC 52).

use crate::common::{init_project, project_with_config, stackr, stderr};

/// ESC, BEL and the one-character CSI (U+009B): each starts a sequence some terminal obeys.
const SEQUENCES: [char; 3] = ['\u{1b}', '\u{7}', '\u{9b}'];

fn assert_printable(err: &str) {
    assert!(!err.is_empty());
    let raw: Vec<char> = err
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(
        raw.is_empty(),
        "control characters {raw:?} printed raw in {err:?}"
    );
}

#[test]
fn a_config_value_is_printed_escaped() {
    let config = r#"{"name":"shop","services":[{"name":"auth","kind":"auth","environment":{"A\u001b]52;c;ZWNobyBwd25lZA==\u0007\u009b2J":"1"}}]}"#;
    let project = project_with_config(config);
    let output = stackr(project.path(), &["generate"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("is not allowed"), "{err}");
    assert_printable(&err);
}

#[test]
fn a_broken_configs_line_is_quoted_escaped() {
    for sequence in SEQUENCES {
        let config = format!("{{\"name\":\"shop\" {sequence}]0;title\u{7} }}\n");
        let project = project_with_config(&config);
        let output = stackr(project.path(), &["generate"]);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{err}");
        assert_printable(&err);
    }
}

/// A repository can carry a folder named like an interrupted write's, with any name after the
/// prefix; the refusal names the folder.
#[test]
fn a_file_name_in_an_error_is_printed_escaped() {
    let (_dir, root) = init_project(&[]);
    let planted = root.join(".stackr-staging-\u{1b}]0;title\u{7}\u{9b}2J");
    std::fs::create_dir(&planted).unwrap();
    std::fs::write(planted.join("targets"), "not a list\n").unwrap();
    let output = stackr(&root, &["generate"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains(".stackr-staging-"), "{err}");
    assert_printable(&err);
}

/// A link's target is named in the refusal to follow it; a repository sets it to any bytes.
#[test]
fn a_links_target_in_an_error_is_printed_escaped() {
    let (_dir, root) = init_project(&[]);
    let manifest = root.join("services/core/Cargo.toml");
    std::fs::remove_file(&manifest).unwrap();
    std::os::unix::fs::symlink("/tmp/\u{1b}]0;title\u{7}\u{9b}2J", &manifest).unwrap();
    let output = stackr(&root, &["generate"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("symbolic link to /tmp/"), "{err}");
    assert_printable(&err);
}
