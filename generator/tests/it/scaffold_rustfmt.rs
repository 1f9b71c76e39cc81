//! Scaffolded Rust is the user's code from then on: it must already be what `cargo fmt` would make
//! of it, so a user's first `cargo fmt` does not rewrite files they never touched.

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{fixture_plan, FIXTURES};
use stackr::render::scaffold;

#[test]
fn scaffolded_rust_is_rustfmt_clean() {
    let mut checked = 0;
    for fixture in FIXTURES {
        let plan = fixture_plan(fixture);
        for service in &plan.services {
            for file in scaffold::service_crate(&plan, service).unwrap() {
                if !file.path.ends_with(".rs") {
                    continue;
                }
                let mut rustfmt = Command::new("rustfmt")
                    .args(["--check", "--edition", "2021"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("rustfmt ships with the Rust toolchain");
                rustfmt
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(file.content.as_bytes())
                    .unwrap();
                let out = rustfmt.wait_with_output().unwrap();
                // rustfmt reading stdin exits 0 even when it would reformat: the diff it
                // prints is the verdict.
                assert!(
                    out.status.success() && out.stdout.is_empty(),
                    "{fixture}: {} is not rustfmt-clean:\n{}",
                    file.path,
                    String::from_utf8_lossy(&out.stdout)
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no scaffolded Rust file was checked");
}
