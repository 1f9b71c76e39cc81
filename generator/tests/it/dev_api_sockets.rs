//! `stackr dev` listens on every API's ports itself, from before the build until the stack stops,
//! and hands them to the APIs at each start: no other local program can take one while its API is
//! building, starting or restarting, and be sent the users' cookies (auth's, the services'
//! credential too) that the browsers and the other services send there.

use crate::common::fake_cargo::FakeCargo;
use crate::common::{init_project_on_free_ports, read_config, stderr, stdout};

#[test]
fn the_api_and_admin_ports_are_the_stacks_while_it_builds() {
    let (_parent, root) = init_project_on_free_ports(&[]);
    let config = read_config(&root);
    let mut ports = Vec::new();
    for service in config["services"].as_array().unwrap() {
        for key in ["port", "adminPort"] {
            if let Some(port) = service[key].as_u64() {
                ports.push((
                    format!("{}'s {key}", service["name"].as_str().unwrap()),
                    port as u16,
                ));
            }
        }
    }
    assert_eq!(ports.len(), 3, "auth's two ports and core's: {ports:?}");
    let cargo = FakeCargo::trying(&ports.iter().map(|(_, p)| *p).collect::<Vec<_>>());
    let dev = cargo.dev(&root, &[]);
    assert!(
        cargo.asked().is_some(),
        "cargo never ran:\n{}\n{}",
        stdout(&dev),
        stderr(&dev)
    );
    for (what, port) in ports {
        assert!(
            cargo.held(port),
            "{what} {port} during the build: {}",
            cargo.tried(port)
        );
    }
}
