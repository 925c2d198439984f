//! A guard on the crate's structure: no two of its modules use each other, directly or
//! through others. A cycle means one concept is spread over several modules (or two
//! concepts are tangled), which is what issue #13 removed; this test keeps it so.
//!
//! It reads the crate's own source: a module is a top-level `<name>.rs` beside `lib.rs`
//! together with its folder `<name>/` (submodules belong to their parent's concept); a
//! module uses another when its code names `crate::<other>` (in a `use`, a path or a
//! `crate::{a, b}` group). Comments are skipped. forge-config includes this same file
//! (`#[path]`), so both crates are held to one rule.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name to the other modules of the crate it uses.
type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_two_modules_use_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let graph = crate_graph(root);
    assert!(
        graph.len() > 3,
        "found only {} modules under {}; the scan is broken",
        graph.len(),
        root.display()
    );
    let cycles = cycles(&graph);
    assert!(
        cycles.is_empty(),
        "modules of {} use each other (move what both need into a module of its own that \
         uses neither, or merge them if they are one concept):\n{}",
        root.display(),
        cycles
            .iter()
            .map(|c| format!("  {}", c.join(" -> ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_scan_sees_paths_groups_and_skips_comments() {
    let used = used_modules(
        "use crate::a::X;\nuse crate::{b::Y, c};\n// crate::d in a comment\nlet z = crate::e::f();\n",
    );
    let expected: BTreeSet<String> = ["a", "b", "c", "e"].map(String::from).into();
    assert_eq!(used, expected);
}

#[test]
fn a_cycle_through_three_modules_is_found() {
    let mut graph = Graph::new();
    let edge = |g: &mut Graph, from: &str, to: &str| {
        g.entry(from.into()).or_default().insert(to.into());
        g.entry(to.into()).or_default();
    };
    edge(&mut graph, "eval", "types");
    edge(&mut graph, "types", "console");
    edge(&mut graph, "console", "eval");
    edge(&mut graph, "json", "syntax");
    let found = cycles(&graph);
    assert_eq!(found, vec![vec!["console", "eval", "types", "console"]]);
    graph.get_mut("console").map(|uses| uses.remove("eval"));
    assert!(cycles(&graph).is_empty());
}

/// Each top-level module of the crate at `root` and the modules it uses.
fn crate_graph(root: &Path) -> Graph {
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let entries =
        std::fs::read_dir(root).unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(stem) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs") && stem != "lib" {
            sources.entry(stem).or_default().push_str(&read(&path));
        } else if path.is_dir() && root.join(format!("{stem}.rs")).is_file() {
            let text = sources.entry(stem).or_default();
            for file in rust_files(&path) {
                text.push_str(&read(&file));
            }
        }
    }
    let names: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(name, text)| {
            let uses = used_modules(text)
                .into_iter()
                .filter(|m| m != name && names.contains(m))
                .collect();
            (name.clone(), uses)
        })
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The first segment after every `crate::` in the code (comments removed), with each
/// name of a `crate::{...}` group.
fn used_modules(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for item in inner.split(',') {
                out.insert(identifier(item.trim_start()));
            }
        } else {
            out.insert(identifier(rest));
        }
    }
    out.remove("");
    out
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every elementary cycle's first occurrence, as a path that returns to its start; each
/// reported once, starting from its smallest name.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        walk(graph, start, &mut path, &mut found);
    }
    found.into_iter().collect()
}

/// Depth-first from the last module of `path`, visiting only modules named after the
/// start, so each cycle is found once from its smallest member.
fn walk(graph: &Graph, start: &str, path: &mut Vec<String>, found: &mut BTreeSet<Vec<String>>) {
    let Some(last) = path.last().cloned() else {
        return;
    };
    for next in graph.get(&last).into_iter().flatten() {
        if next == start {
            let mut cycle = path.clone();
            cycle.push(start.to_string());
            found.insert(cycle);
        } else if next.as_str() > start && !path.contains(next) {
            path.push(next.clone());
            walk(graph, start, path, found);
            path.pop();
        }
    }
}
