//! The contract with the generator: the repo's own generated `process-compose.yaml` (the demo
//! stack, written by `stackr generate`) loads in the embedded supervisor without errors or
//! warnings, with its dependencies in a valid start order and its tools found on this machine.

use std::path::Path;

use stackr_supervisor::{check_tools, load_file, Condition};

#[test]
fn the_generated_demo_file_loads_without_warnings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let file = root.join("process-compose.yaml");
    assert!(
        file.exists(),
        "the demo's generated {} is missing",
        file.display()
    );
    let stack = load_file(&file, root).unwrap_or_else(|e| panic!("{e}"));
    assert!(stack.warnings.is_empty(), "warnings: {:#?}", stack.warnings);
    assert!(
        stack.processes.len() >= 5,
        "a real stack: {} processes",
        stack.processes.len()
    );
    // Start order: every dependency comes before its dependent.
    for (i, p) in stack.processes.iter().enumerate() {
        for d in &p.depends_on {
            assert!(d.process < i, "{} starts before its dependency", p.name);
        }
    }
    // Every PostgreSQL the generator emits is waited for by health, never just by start.
    for p in &stack.processes {
        for d in &p.depends_on {
            let dep = &stack.processes[d.process];
            if dep.name.ends_with("-postgres") {
                assert_eq!(
                    d.condition,
                    Condition::Healthy,
                    "{} -> {}",
                    p.name,
                    dep.name
                );
                assert!(
                    dep.readiness.is_some(),
                    "{} has a readiness probe",
                    dep.name
                );
            }
        }
    }
    check_tools(&stack).unwrap_or_else(|e| panic!("{e}"));
}
