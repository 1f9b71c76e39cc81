//! A command run inside a project's subfolder (`services/core`, where one edits the code) finds
//! no config there. Its error says where the project is and how to reach it, not only that this
//! folder is not one.

use crate::common::{init_project, stackr, stderr};

#[test]
fn commands_run_in_a_subfolder_point_at_the_project_above() {
    let (_parent, root) = init_project(&[]);
    let subfolder = root.join("services/core");
    for args in [
        &["dev"][..],
        &["generate"],
        &["generate", "--check"],
        &["add", "service", "billing"],
        &["lint"],
        &["set-role", "ada@example.com", "admin"],
    ] {
        let run = stackr(&subfolder, args);
        let err = stderr(&run);
        assert!(
            !run.status.success(),
            "stackr {args:?} succeeded in a subfolder"
        );
        assert!(
            err.contains("-C ../.."),
            "stackr {args:?} does not point at the project two folders up:\n{err}"
        );
    }
    // Outside any project, nothing is pointed at.
    let outside = tempfile::tempdir().unwrap();
    let err = stderr(&stackr(outside.path(), &["generate"]));
    assert!(!err.contains("-C "), "{err}");
}
