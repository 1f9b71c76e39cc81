//! A generated file the user gave permission bits of their own (read-only, 0444, so an editor
//! warns before changing it; or executable) keeps them when stackr replaces it: the new content
//! was staged as a file of its own and renamed over the old one, which left it 0644 whatever the
//! old one's mode was.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{edit_config, init_project};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_replaced_generated_file_keeps_its_permission_bits() {
    let (_parent, root) = init_project(&[]);
    let files = [("process-compose.yaml", 0o444), ("nix/stackr.nix", 0o750)];
    let mut before = Vec::new();
    for (file, bits) in files {
        let path = root.join(file);
        before.push(std::fs::read(&path).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bits)).unwrap();
    }
    // Another port for core changes both files.
    edit_config(&root, |config| config["services"][1]["port"] = 8090.into());
    for ((file, bits), old) in files.into_iter().zip(before) {
        let path = root.join(file);
        assert_ne!(
            std::fs::read(&path).unwrap(),
            old,
            "{file} was not replaced"
        );
        assert_eq!(mode(&path), bits, "{file}: {:o}", mode(&path));
    }
}
