//! `stackr dev --only`: a stack cut down to the named processes and everything they depend on,
//! the way `process-compose up NAME…` starts a subset.

use crate::spec::{Dependency, Stack};

impl Stack {
    /// The processes named in `wanted` and, transitively, those they depend on, in the same
    /// start order; dependency indices are renumbered to the smaller stack. Errors name every
    /// process that is not in the stack (or an empty name: a stray comma) and list those that
    /// are.
    pub fn only(&self, wanted: &[String]) -> Result<Stack, String> {
        let known = || {
            let names: Vec<&str> = self.processes.iter().map(|p| p.name.as_str()).collect();
            names.join(", ")
        };
        if wanted.iter().any(String::is_empty) {
            let given = wanted.join(",");
            return Err(format!(
                "an empty process name in `{given}`; its processes are: {}",
                known()
            ));
        }
        let unknown: Vec<&str> = wanted
            .iter()
            .filter(|name| self.index_of(name).is_none())
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "no process named {} in this stack; its processes are: {}",
                unknown.join(", "),
                known()
            ));
        }
        let mut kept = vec![false; self.processes.len()];
        let mut pending: Vec<usize> = wanted.iter().filter_map(|n| self.index_of(n)).collect();
        while let Some(i) = pending.pop() {
            if !std::mem::replace(&mut kept[i], true) {
                pending.extend(self.processes[i].depends_on.iter().map(|d| d.process));
            }
        }
        // Old index -> new index, for the processes kept.
        let mut renumbered = vec![None; self.processes.len()];
        let mut processes = Vec::new();
        for (i, process) in self.processes.iter().enumerate() {
            if kept[i] {
                renumbered[i] = Some(processes.len());
                processes.push(process.clone());
            }
        }
        for process in &mut processes {
            for dependency in &mut process.depends_on {
                *dependency = Dependency {
                    // Every dependency of a kept process is kept.
                    process: renumbered[dependency.process].expect("dependency kept"),
                    condition: dependency.condition,
                };
            }
        }
        Ok(Stack {
            processes,
            shell: self.shell.clone(),
            warnings: self.warnings.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::parse::load_str;

    const FILE: &str = r#"
version: "0.5"
processes:
  db:
    command: "true"
  cache:
    command: "true"
  api:
    command: "true"
    depends_on:
      db:
        condition: process_completed_successfully
  other-db:
    command: "true"
  other-api:
    command: "true"
    depends_on:
      other-db:
        condition: process_completed_successfully
      api:
        condition: process_started
"#;

    fn names(stack: &crate::Stack) -> Vec<&str> {
        stack.processes.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn keeps_the_named_processes_and_what_they_depend_on() {
        let stack = load_str(
            FILE,
            Path::new("/tmp/process-compose.yaml"),
            Path::new("/tmp"),
        )
        .unwrap();
        let api = stack.only(&["api".into()]).unwrap();
        assert_eq!(names(&api), ["db", "api"]);
        assert_eq!(api.processes[1].depends_on[0].process, 0);

        let other = stack.only(&["other-api".into()]).unwrap();
        assert_eq!(names(&other), ["db", "api", "other-db", "other-api"]);
        for process in &other.processes {
            for dependency in &process.depends_on {
                let on = &other.processes[dependency.process].name;
                let original = stack.index_of(&process.name).unwrap();
                assert!(
                    stack.processes[original]
                        .depends_on
                        .iter()
                        .any(|d| &stack.processes[d.process].name == on),
                    "{} now depends on {on}, which it did not",
                    process.name
                );
            }
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_processes_there_are() {
        let stack = load_str(
            FILE,
            Path::new("/tmp/process-compose.yaml"),
            Path::new("/tmp"),
        )
        .unwrap();
        let err = stack.only(&["api".into(), "wallet".into()]).unwrap_err();
        assert_eq!(
            err,
            "no process named wallet in this stack; its processes are: db, api, cache, other-db, other-api"
        );
        let err = stack.only(&["api".into(), String::new()]).unwrap_err();
        assert_eq!(
            err,
            "an empty process name in `api,`; its processes are: db, api, cache, other-db, other-api"
        );
    }
}
