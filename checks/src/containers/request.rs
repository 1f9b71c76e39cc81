//! What every checks container shares: the local image, an owner label, and ports published on
//! loopback only (the containers hold per-run passwords, but nothing outside this machine has any
//! business reaching them).

use std::collections::HashMap;
use std::time::Duration;

use testcontainers::bollard::models::PortBinding;
use testcontainers::core::{ContainerPort, WaitFor};
use testcontainers::{ContainerRequest, GenericImage, ImageExt};

use crate::image::base_image;

/// Label holding the id of the test process that owns a container (see [`super::remove_leftovers`]).
pub const OWNER_LABEL: &str = "dev.stackr.checks.owner-pid";

/// A container request for `internal_port` of the checks image, ready when `ready` is seen.
pub(crate) fn checks_container(
    internal_port: u16,
    ready: WaitFor,
    role: &str,
) -> ContainerRequest<GenericImage> {
    // The image first: building it is what starts dockerd when no engine runs.
    let image = base_image();
    super::remove_leftovers();
    let port = ContainerPort::Tcp(internal_port);
    GenericImage::new(image.repository.clone(), image.tag.clone())
        .with_exposed_port(port)
        .with_wait_for(ready)
        .with_label(OWNER_LABEL, std::process::id().to_string())
        .with_label("dev.stackr.checks.role", role)
        .with_startup_timeout(Duration::from_secs(60))
        .with_host_config_modifier(move |host| {
            let binding = PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(String::new()),
            };
            host.publish_all_ports = Some(false);
            host.port_bindings = Some(HashMap::from([(
                format!("{internal_port}/tcp"),
                Some(vec![binding]),
            )]));
        })
}
