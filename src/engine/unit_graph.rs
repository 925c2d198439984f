//! The graph of an environment's units, from `dependency` blocks and
//! `dependencies { paths }`: the order of the walk, its waves, DOT and Mermaid output.

use std::collections::BTreeMap;
use std::path::PathBuf;

use forge_config::Environment;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::plan::{EngineError, ErrorKind};

pub struct UnitGraph {
    /// Unit names in the environment's order; indexes are node ids.
    pub names: Vec<String>,
    /// `deps[i]`: the units `i` waits for.
    pub deps: Vec<Vec<usize>>,
    /// Which dependencies carry outputs (`dependency` blocks): (unit, block name) -> dep.
    pub graph: DiGraph<String, ()>,
}

impl UnitGraph {
    pub fn build(env: &Environment) -> Result<UnitGraph, EngineError> {
        let by_dir: BTreeMap<PathBuf, usize> = env
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.dir.clone(), i))
            .collect();
        let names: Vec<String> = env.units.iter().map(|u| u.name.clone()).collect();
        let mut deps = vec![Vec::new(); env.units.len()];
        for (i, unit) in env.units.iter().enumerate() {
            let paths = unit
                .dependencies
                .iter()
                .map(|d| &d.config_path)
                .chain(unit.extra_dependencies.iter());
            for path in paths {
                match by_dir.get(path) {
                    Some(&j) if !deps[i].contains(&j) => deps[i].push(j),
                    Some(_) => {}
                    // A unit outside the environment (running one unit of several): it is
                    // not run, only its state's outputs are read.
                    None => {}
                }
            }
        }
        let mut graph = DiGraph::new();
        let nodes: Vec<NodeIndex> = names.iter().map(|n| graph.add_node(n.clone())).collect();
        for (i, ds) in deps.iter().enumerate() {
            for &j in ds {
                graph.add_edge(nodes[j], nodes[i], ());
            }
        }
        let g = UnitGraph { names, deps, graph };
        if let Some(cycle) = find_cycle(&g.deps) {
            let path: Vec<&str> = cycle.iter().map(|&i| g.names[i].as_str()).collect();
            return Err(EngineError::new(ErrorKind::Configuration, format!("the units depend on each other in a cycle: {}", path.join(" -> ")))
                .hint("remove one of these dependency blocks (or dependencies.paths entries) so the units can be ordered"));
        }
        Ok(g)
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Each unit's wave: 1 for units without dependencies, else one more than its
    /// deepest dependency. Units of a wave can run together.
    pub fn waves(&self) -> Vec<usize> {
        let mut wave = vec![0; self.names.len()];
        fn level(i: usize, deps: &[Vec<usize>], wave: &mut [usize]) -> usize {
            if wave[i] == 0 {
                wave[i] = usize::MAX; // guards against cycles, which build() refuses anyway
                let l = deps[i]
                    .iter()
                    .map(|&d| level(d, deps, wave))
                    .filter(|&l| l != usize::MAX)
                    .max()
                    .unwrap_or(0)
                    + 1;
                wave[i] = l;
            }
            wave[i]
        }
        for i in 0..self.names.len() {
            level(i, &self.deps, &mut wave);
        }
        wave
    }

    /// The units `selected` transitively depends on (not including them).
    pub(crate) fn ancestors(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![false; self.names.len()];
        let mut stack = self.deps[i].clone();
        while let Some(d) = stack.pop() {
            if !seen[d] {
                seen[d] = true;
                stack.extend(self.deps[d].iter().copied());
            }
        }
        (0..self.names.len()).filter(|&j| seen[j]).collect()
    }

    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph units {\n  rankdir = LR;\n");
        for n in &self.names {
            out.push_str(&format!("  \"{n}\";\n"));
        }
        for (i, ds) in self.deps.iter().enumerate() {
            for &d in ds {
                out.push_str(&format!(
                    "  \"{}\" -> \"{}\";\n",
                    self.names[i], self.names[d]
                ));
            }
        }
        out.push_str("}\n");
        out
    }

    pub fn to_mermaid(&self) -> String {
        let id = |i: usize| format!("u{i}");
        let mut out = String::from("graph LR\n");
        for (i, n) in self.names.iter().enumerate() {
            out.push_str(&format!("  {}[\"{n}\"]\n", id(i)));
        }
        for (i, ds) in self.deps.iter().enumerate() {
            for &d in ds {
                out.push_str(&format!("  {} --> {}\n", id(i), id(d)));
            }
        }
        out
    }
}

/// A cycle as a path that starts and ends at the same node, if there is one.
pub(crate) fn find_cycle(deps: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        i: usize,
        deps: &[Vec<usize>],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[i] = Mark::Active;
        path.push(i);
        for &d in &deps[i] {
            match marks[d] {
                Mark::Active => {
                    let start = path.iter().position(|&p| p == d).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(d);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(d, deps, marks, path) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[i] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; deps.len()];
    for i in 0..deps.len() {
        if marks[i] == Mark::New
            && let Some(c) = visit(i, deps, &mut marks, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cycle_path() {
        assert_eq!(find_cycle(&[vec![1], vec![0]]), Some(vec![0, 1, 0]));
        assert_eq!(find_cycle(&[vec![], vec![0], vec![1, 0]]), None);
    }
}
