//! A provider's client secret goes in the dev secrets folder, `.stackr/secrets/`, before the
//! stack first runs (the README's Google sign-in steps): the first `stackr dev` takes the folder
//! holding it as its own state folder instead of refusing it as a folder of other files.

use std::os::unix::fs::PermissionsExt;

use crate::common::fake_cargo::FakeCargo;
use crate::common::{init_project_on_free_ports, stderr, stdout};

#[test]
fn a_secret_put_in_place_before_the_first_run_is_taken() {
    let (_parent, root) = init_project_on_free_ports(&[]);
    let secrets = root.join(".stackr/secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).unwrap();
    let secret = secrets.join("oauth-google-client-secret");
    std::fs::write(&secret, "g-s3cret").unwrap();
    let cargo = FakeCargo::trying(&[]);
    let dev = cargo.dev(&root, &[]);
    assert!(
        cargo.asked().is_some(),
        "the stack never got to its build:\n{}\n{}",
        stdout(&dev),
        stderr(&dev)
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "g-s3cret");
}
