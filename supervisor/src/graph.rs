//! Dependency order of the processes: a topological sort that names the cycle when there is one.

use std::collections::BTreeMap;

/// Orders `names` so that every process comes after the processes it depends on; ties keep the
/// input order (the file's order), so the output is deterministic. `deps[i]` lists the indices
/// `names[i]` depends on. Errors with the processes of a cycle, e.g. `a -> b -> a`.
pub fn start_order(names: &[String], deps: &[Vec<usize>]) -> Result<Vec<usize>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    fn visit(
        i: usize,
        deps: &[Vec<usize>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match marks[i] {
            Mark::Done => return Ok(()),
            Mark::Visiting => {
                let from = stack.iter().position(|&s| s == i).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(i);
                return Err(cycle);
            }
            Mark::New => {}
        }
        marks[i] = Mark::Visiting;
        stack.push(i);
        for &d in &deps[i] {
            visit(d, deps, marks, stack, order)?;
        }
        stack.pop();
        marks[i] = Mark::Done;
        order.push(i);
        Ok(())
    }

    let mut marks = vec![Mark::New; names.len()];
    let mut order = Vec::with_capacity(names.len());
    for i in 0..names.len() {
        let mut stack = Vec::new();
        visit(i, deps, &mut marks, &mut stack, &mut order).map_err(|cycle| {
            let path: Vec<&str> = cycle.iter().map(|&c| names[c].as_str()).collect();
            format!("depends_on forms a cycle: {}", path.join(" -> "))
        })?;
    }
    Ok(order)
}

/// Index of each name, for resolving `depends_on` keys.
pub fn index_by_name(names: &[String]) -> BTreeMap<&str, usize> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn dependencies_come_first() {
        // api -> db, api -> cache, migrate -> db, api -> migrate
        let n = names(&["api", "cache", "db", "migrate"]);
        let deps = vec![vec![2, 1, 3], vec![], vec![], vec![2]];
        let order = start_order(&n, &deps).unwrap();
        let pos = |x: usize| order.iter().position(|&o| o == x).unwrap();
        assert!(pos(2) < pos(3));
        assert!(pos(3) < pos(0));
        assert!(pos(1) < pos(0));
        assert_eq!(order.len(), 4);
    }

    #[test]
    fn cycles_are_named() {
        let n = names(&["a", "b", "c"]);
        let deps = vec![vec![1], vec![2], vec![0]];
        let err = start_order(&n, &deps).unwrap_err();
        assert_eq!(err, "depends_on forms a cycle: a -> b -> c -> a");
    }
}
