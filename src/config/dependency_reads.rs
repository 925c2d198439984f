//! Which outputs of its dependencies a unit reads, found in its configuration without
//! evaluating it: the `dependency.<name>.outputs.<key>` traversals of its inputs (the only
//! part of a unit evaluated with dependencies' outputs; locals refuse them, and
//! remote_state and generate are evaluated before any output exists). The engine lets a
//! unit start once exactly those outputs are final, instead of once the whole dependency
//! is applied; so anything this module cannot see through makes the dependency whole.

use std::collections::{BTreeMap, BTreeSet};

use forge_lang::{RefStep, Reference};
use forge_provider::Value;

use crate::unit::Unit;

/// What a unit reads of one dependency block's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputReads {
    /// Only these output names, each through a static `dependency.<name>.outputs.<key>`.
    Keys(BTreeSet<String>),
    /// The outputs as a whole, a computed key, or a use of `dependency` itself: anything
    /// in the dependency may matter.
    Whole,
}

impl OutputReads {
    fn add(&mut self, other: OutputReads) {
        match (&mut *self, other) {
            (OutputReads::Keys(mine), OutputReads::Keys(theirs)) => mine.extend(theirs),
            _ => *self = OutputReads::Whole,
        }
    }
}

/// One read: the input it feeds (`None` when the inputs are not an object literal, so no
/// read can be tied to one input), the dependency block, and what of its outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputRead {
    pub input: Option<String>,
    pub dependency: String,
    pub reads: OutputReads,
}

/// Every dependency block's reads, by block name. A block the inputs never read is
/// absent: it orders the units and passes nothing.
pub fn dependency_reads(unit: &Unit) -> BTreeMap<String, OutputReads> {
    let mut out: BTreeMap<String, OutputReads> = BTreeMap::new();
    for read in input_reads(unit) {
        match out.get_mut(&read.dependency) {
            Some(r) => r.add(read.reads),
            None => {
                out.insert(read.dependency, read.reads);
            }
        }
    }
    out
}

/// Each read of a dependency's outputs, tied to the input it feeds where the layer's
/// inputs are an object literal.
pub fn input_reads(unit: &Unit) -> Vec<InputRead> {
    let names: Vec<&str> = unit.dependencies.iter().map(|d| d.name.as_str()).collect();
    let mut out = Vec::new();
    for layer in unit.inputs.layers() {
        match layer.expr.as_object() {
            Some(items) => {
                for (key, expr) in items {
                    for r in expr.references() {
                        out.extend(read_of(&r, &names, Some(&key)));
                    }
                }
            }
            None => {
                for r in layer.expr.references() {
                    out.extend(read_of(&r, &names, None));
                }
            }
        }
    }
    out
}

/// What one reference reads: nothing when it is not `dependency`, one dependency's reads
/// when it names one, every dependency as a whole when it uses `dependency` itself.
fn read_of(r: &Reference, names: &[&str], input: Option<&str>) -> Vec<InputRead> {
    if r.root != "dependency" {
        return Vec::new();
    }
    let whole = |dependency: &str| InputRead {
        input: input.map(str::to_string),
        dependency: dependency.to_string(),
        reads: OutputReads::Whole,
    };
    let Some(dependency) = r.first_attr() else {
        return names.iter().map(|n| whole(n)).collect();
    };
    let key = match (r.steps.get(1), r.steps.get(2)) {
        (Some(RefStep::Attr(outputs)), Some(RefStep::Attr(key))) if outputs == "outputs" => {
            Some(key.clone())
        }
        (Some(RefStep::Attr(outputs)), Some(RefStep::Index(Some(Value::String(key)))))
            if outputs == "outputs" =>
        {
            Some(key.clone())
        }
        _ => None,
    };
    vec![match key {
        Some(key) => InputRead {
            input: input.map(str::to_string),
            dependency: dependency.to_string(),
            reads: OutputReads::Keys(BTreeSet::from([key])),
        },
        None => whole(dependency),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Environment, LoadContext};

    fn reads_of(unit_file: &str) -> (BTreeMap<String, OutputReads>, Vec<InputRead>) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in [
            ("a/terragrunt.hcl", "inputs = {}\n"),
            ("a/main.tf", "output \"x\" {\n  value = 1\n}\n"),
            ("b/terragrunt.hcl", "inputs = {}\n"),
            ("b/main.tf", ""),
            ("c/terragrunt.hcl", unit_file),
            ("c/main.tf", ""),
        ] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        let env = Environment::load(dir.path(), &LoadContext::default()).expect("loads");
        let unit = env.unit("c").expect("unit c");
        (dependency_reads(unit), input_reads(unit))
    }

    const DEPS: &str = "dependency \"a\" {\n  config_path = \"../a\"\n}\n\ndependency \"b\" {\n  config_path = \"../b\"\n}\n\n";

    #[test]
    fn static_output_keys_are_seen_through() {
        let (reads, inputs) = reads_of(&format!(
            "{DEPS}inputs = {{\n  one = dependency.a.outputs.x\n  two = \"${{dependency.a.outputs[\"y\"]}}-${{dependency.b.outputs.z.id}}\"\n}}\n"
        ));
        let keys = |ks: &[&str]| OutputReads::Keys(ks.iter().map(|k| k.to_string()).collect());
        assert_eq!(reads["a"], keys(&["x", "y"]));
        assert_eq!(reads["b"], keys(&["z"]));
        let one: Vec<_> = inputs
            .iter()
            .filter(|r| r.input.as_deref() == Some("one"))
            .collect();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].dependency, "a");
    }

    #[test]
    fn what_cannot_be_seen_through_reads_the_whole_dependency() {
        let (reads, _) = reads_of(&format!(
            "{DEPS}inputs = {{\n  all = dependency.a.outputs\n  k = \"x\"\n  dyn = dependency.b.outputs[local.k]\n}}\nlocals {{\n  k = \"x\"\n}}\n"
        ));
        assert_eq!(reads["a"], OutputReads::Whole);
        assert_eq!(reads["b"], OutputReads::Whole);
        let (reads, _) = reads_of(&format!("{DEPS}inputs = {{\n  all = dependency\n}}\n"));
        assert_eq!(reads["a"], OutputReads::Whole);
        assert_eq!(reads["b"], OutputReads::Whole);
        // A block never read passes nothing: absent.
        let (reads, _) = reads_of(&format!(
            "{DEPS}inputs = {{\n  one = dependency.a.outputs.x\n}}\n"
        ));
        assert!(!reads.contains_key("b"));
    }
}
