//! Runs the Python test script of a generated NixOS VM test (`nix/vm-test.nix`) against a
//! recording stand-in for the VM, so tests check the commands the script would run in the VM
//! (every pair of services, every unit) rather than how the script spells them.

use std::io::Write;
use std::process::{Command, Stdio};

/// One call the script made on `machine`: the method (`succeed`, `fail`, `wait_for_unit`, …) and
/// its first argument (the shell command or unit name), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineCall {
    pub method: String,
    pub argument: String,
}

/// The stand-in: records every method call; every command "prints" `42`, the value the script
/// stores before the reboot and reads back after it, so its own assertions hold.
const RECORDER: &str = r#"
import json, sys
calls = []
class Machine:
    def __getattr__(self, method):
        def record(*args, **kwargs):
            calls.append([method, str(args[0]) if args else ""])
            return "42\n"
        return record
machine = Machine()
exec(compile(sys.stdin.read(), "testScript", "exec"), {"machine": machine})
for method, argument in calls:
    print(json.dumps([method, argument]))
"#;

/// Runs `script` (the text of `testScript`, Nix escapes already resolved) under `python3` and
/// returns its calls in order. Panics with Python's error when the script does not run.
pub fn machine_calls(script: &str) -> Vec<MachineCall> {
    let mut child = Command::new("python3")
        .args(["-c", RECORDER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (apt-get install -y python3)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dedent(script).as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the VM test script failed to run:\n{}\n--- script ---\n{script}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (method, argument): (String, String) =
                serde_json::from_str(line).expect("the recorder prints JSON pairs");
            MachineCall { method, argument }
        })
        .collect()
}

/// Nix strips the common indentation of an indented string; Python needs it stripped too.
fn dedent(script: &str) -> String {
    let indent = script
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    script
        .lines()
        .map(|line| line.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}
