//! Every generated file grows at most linearly with the number of services: a file that spelled
//! out something per pair of services would make `generate` (and `generate --check`, run before
//! every `stackr dev`) quadratic.

use crate::common::stack_of;

use std::collections::BTreeMap;

fn sizes(count: usize) -> BTreeMap<String, usize> {
    stackr::generate_in_memory(&stack_of::config_with(count))
        .unwrap()
        .into_iter()
        .map(|file| (file.path, file.content.len()))
        .collect()
}

#[test]
fn no_generated_file_grows_faster_than_the_services() {
    let (small, large) = (20, 80);
    let (at_small, at_large) = (sizes(small), sizes(large));
    for (path, bytes) in &at_large {
        let before = at_small[path];
        // Linear growth is at most 4x here (80 / 20), less with a fixed part; quadratic is 16x.
        let ratio = *bytes as f64 / before as f64;
        assert!(
            ratio <= (large / small) as f64 * 1.1,
            "{path} grew {ratio:.1}x ({before} -> {bytes} bytes) for {}x the services",
            large / small
        );
    }
}
