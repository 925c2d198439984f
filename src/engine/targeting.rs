//! Terraform's `-target` and OpenTofu's `-exclude` (which resources a run plans) and
//! Terraform's `-replace` (which instances it replaces although nothing asks for it).
//!
//! An address is a module (`module.a`, `module.a[0].module.b`), a resource
//! (`aws_sqs_queue.q`, `module.a.data.x.y`) or a resource instance (`aws_sqs_queue.q["k"]`).
//! In an environment of several units it is written `unit:address`, since the same address
//! may exist in many units; in a run of one unit the prefix may be left out.
//!
//! As in Terraform, a target keeps what it names and everything that it depends on, and
//! nothing else: other resources are neither read nor changed, and objects state has that
//! the configuration lost are destroyed only when a target names them. A destroy with a
//! target removes what it names and the objects whose recorded dependencies lead to it.
//! An exclusion, as in OpenTofu, leaves out what it names and everything depending on it.

use std::collections::BTreeSet;

use forge_config::Mode;

use crate::addr::{InstanceAddr, InstanceKey, ModuleStep, parse_module_prefix};
use crate::plan::{EngineError, ErrorKind};

/// One `-target`/`-exclude` address: a module instance path, optionally a resource in it,
/// optionally one instance of that resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// The unit it belongs to (`unit:` prefix); `None` for the only unit of a run.
    pub unit: Option<String>,
    pub module: Vec<ModuleStep>,
    /// `(mode, type, name, key)` when it names a resource (or one of its instances).
    pub resource: Option<ResourcePart>,
    /// As the user wrote it, for messages.
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePart {
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
    pub key: Option<InstanceKey>,
}

impl Address {
    /// Parses `[unit:]address`; the error says what forms are accepted.
    pub(crate) fn parse(text: &str) -> Result<Address, EngineError> {
        let bad = || {
            EngineError::new(
                ErrorKind::Request,
                format!("{text:?} is not a resource or module address"),
            )
            .hint("write type.name, type.name[0], type.name[\"key\"], data.type.name or module.name (module.name[0]. before a resource in a child module), after unit: in an environment of several units")
        };
        // A unit name never holds `.`, `[` or `"`; an instance key may hold `:`.
        let (unit, rest) = match text.split_once(':') {
            Some((u, r)) if !u.is_empty() && !u.contains(['.', '[', '"']) => {
                (Some(u.to_string()), r)
            }
            _ => (None, text),
        };
        let (module, rest) = parse_module_prefix(rest).ok_or_else(bad)?;
        let resource = if rest.is_empty() {
            if module.is_empty() {
                return Err(bad());
            }
            None
        } else {
            let local = InstanceAddr::parse(rest).ok_or_else(bad)?;
            if !local.module.is_empty() {
                return Err(bad());
            }
            Some(ResourcePart {
                mode: local.mode,
                type_name: local.type_name,
                name: local.name,
                key: local.key,
            })
        };
        Ok(Address {
            unit,
            module,
            resource,
            text: text.to_string(),
        })
    }

    /// True when the module path `path` is this address's module or inside it: a step
    /// without a key stands for every instance of that call.
    fn module_covers(&self, path: &[ModuleStep]) -> bool {
        path.len() >= self.module.len()
            && self
                .module
                .iter()
                .zip(path)
                .all(|((n, k), (pn, pk))| n == pn && (k.is_none() || k == pk))
    }

    /// True when this address names the instance (or its resource, or a module holding it).
    pub(crate) fn covers(&self, addr: &InstanceAddr) -> bool {
        match &self.resource {
            None => self.module_covers(&addr.module),
            Some(r) => {
                addr.module.len() == self.module.len()
                    && self.module_covers(&addr.module)
                    && r.mode == addr.mode
                    && r.type_name == addr.type_name
                    && r.name == addr.name
                    && (r.key.is_none() || r.key == addr.key)
            }
        }
    }

    /// True when this address names every instance of the configuration block `config`
    /// (its address without module keys, as graph nodes are named) or a module holding
    /// it. An address with an instance or module key names only some of them.
    pub(crate) fn covers_whole_block(&self, config: &str) -> bool {
        if self.module.iter().any(|(_, k)| k.is_some())
            || self.resource.as_ref().is_some_and(|r| r.key.is_some())
        {
            return false;
        }
        self.names_block(config)
    }

    /// True when this address names some instance of the configuration block `config`.
    pub(crate) fn names_block(&self, config: &str) -> bool {
        let mut prefix = String::new();
        for (name, _) in &self.module {
            prefix.push_str(&format!("module.{name}."));
        }
        match &self.resource {
            None => config.starts_with(&prefix),
            Some(r) => {
                let local = match r.mode {
                    Mode::Managed => format!("{}.{}", r.type_name, r.name),
                    Mode::Data => format!("data.{}.{}", r.type_name, r.name),
                };
                config == format!("{prefix}{local}")
            }
        }
    }
}

/// The `-target`, `-exclude` and `-replace` of a run, for every unit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Targeting {
    pub targets: Vec<Address>,
    pub excludes: Vec<Address>,
    /// Instances to replace; only exact instance addresses.
    pub replace: Vec<Address>,
}

/// What a run of one unit plans.
#[derive(Clone, Debug, Default)]
pub(crate) struct UnitTargeting {
    pub targets: Vec<Address>,
    pub excludes: Vec<Address>,
    pub replace: Vec<Address>,
}

impl Targeting {
    /// Parses the flags' values; `-target` and `-exclude` together are refused, as OpenTofu
    /// refuses them, and `-replace` must name one instance of a managed resource.
    pub fn new(
        targets: &[String],
        excludes: &[String],
        replace: &[String],
    ) -> Result<Targeting, EngineError> {
        if !targets.is_empty() && !excludes.is_empty() {
            return Err(EngineError::new(
                ErrorKind::Request,
                "-target and -exclude cannot be used together",
            )
            .hint("select with -target only, or leave out with -exclude only"));
        }
        let parse = |list: &[String]| -> Result<Vec<Address>, EngineError> {
            list.iter().map(|t| Address::parse(t)).collect()
        };
        let replace: Vec<Address> = parse(replace)?;
        for r in &replace {
            if r.resource.as_ref().is_none_or(|p| p.mode != Mode::Managed) {
                return Err(EngineError::new(
                    ErrorKind::Request,
                    format!("-replace={}: not a managed resource instance", r.text),
                )
                .hint("-replace takes one resource instance: type.name, type.name[0] or type.name[\"key\"]"));
            }
        }
        Ok(Targeting {
            targets: parse(targets)?,
            excludes: parse(excludes)?,
            replace,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty() && self.replace.is_empty()
    }

    /// Checks the `unit:` prefixes against the environment's units: an unknown unit is an
    /// error, and so is a missing prefix when the run has several units.
    pub(crate) fn check_units(&self, units: &[&str]) -> Result<(), EngineError> {
        for (flag, a) in self.all() {
            match &a.unit {
                Some(u) if !units.contains(&u.as_str()) => {
                    return Err(EngineError::new(
                        ErrorKind::Request,
                        format!("-{flag}={}: there is no unit {u:?} in this run", a.text),
                    )
                    .hint(format!("the units are: {}", units.join(", "))));
                }
                None if units.len() > 1 => {
                    return Err(EngineError::new(
                        ErrorKind::Request,
                        format!(
                            "-{flag}={}: this run has {} units; say which one the address is in",
                            a.text,
                            units.len()
                        ),
                    )
                    .hint(format!(
                        "write -{flag}=UNIT:{}, UNIT one of: {}",
                        a.text,
                        units.join(", ")
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn all(&self) -> impl Iterator<Item = (&'static str, &Address)> {
        self.targets
            .iter()
            .map(|a| ("target", a))
            .chain(self.excludes.iter().map(|a| ("exclude", a)))
            .chain(self.replace.iter().map(|a| ("replace", a)))
    }

    /// False when targets are given and none is in this unit: the run leaves the unit out.
    pub(crate) fn selects_unit(&self, unit: &str) -> bool {
        self.targets.is_empty()
            || self
                .targets
                .iter()
                .any(|t| t.unit.as_deref().is_none_or(|u| u == unit))
    }

    /// The addresses that concern one unit.
    pub(crate) fn for_unit(&self, unit: &str) -> UnitTargeting {
        let mine = |list: &[Address]| -> Vec<Address> {
            list.iter()
                .filter(|a| a.unit.as_deref().is_none_or(|u| u == unit))
                .cloned()
                .collect()
        };
        UnitTargeting {
            targets: mine(&self.targets),
            excludes: mine(&self.excludes),
            replace: mine(&self.replace),
        }
    }
}

impl UnitTargeting {
    /// True when the run plans every resource (no target, no exclusion).
    pub(crate) fn is_whole(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }

    /// Whether a managed or data instance is in the run: a target names it (or the run has
    /// no targets) and no exclusion does.
    pub(crate) fn includes(&self, addr: &InstanceAddr) -> bool {
        (self.targets.is_empty() || self.targets.iter().any(|t| t.covers(addr)))
            && !self.excludes.iter().any(|e| e.covers(addr))
    }

    pub(crate) fn replaces(&self, addr: &InstanceAddr) -> bool {
        self.replace.iter().any(|r| r.covers(addr))
    }

    /// Which nodes of a unit's graph run, given each node's configuration address (for
    /// resources and data sources; `None` for other nodes) and its dependencies, and
    /// which of them run for every instance (`whole`), not only the instances named.
    pub(crate) fn nodes(&self, names: &[Option<&str>], deps: &[Vec<usize>]) -> NodeSelection {
        let n = names.len();
        if self.is_whole() {
            return NodeSelection {
                runs: vec![true; n],
                whole: vec![true; n],
            };
        }
        let mut runs = vec![false; n];
        let mut whole = vec![false; n];
        if !self.targets.is_empty() {
            // The targets, then everything they depend on (every instance of those).
            let mut stack = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let Some(name) = name else { continue };
                if self.targets.iter().any(|t| t.names_block(name)) {
                    runs[i] = true;
                    whole[i] = self.targets.iter().any(|t| t.covers_whole_block(name));
                    stack.extend(deps[i].iter().copied());
                }
            }
            while let Some(i) = stack.pop() {
                if !whole[i] {
                    runs[i] = true;
                    whole[i] = true;
                    stack.extend(deps[i].iter().copied());
                }
            }
            // What is not a resource (outputs, locals) runs when all it needs runs.
            loop {
                let mut grew = false;
                for i in 0..n {
                    if names[i].is_none()
                        && !runs[i]
                        && !deps[i].is_empty()
                        && deps[i].iter().all(|&d| runs[d] && whole[d])
                    {
                        runs[i] = true;
                        whole[i] = true;
                        grew = true;
                    }
                }
                if !grew {
                    break;
                }
            }
            // Variables, locals and providers with no dependencies cost nothing to run.
            for i in 0..n {
                if names[i].is_none() && deps[i].is_empty() {
                    runs[i] = true;
                    whole[i] = true;
                }
            }
        } else {
            // Everything but the exclusions and what depends on them.
            runs = vec![true; n];
            whole = vec![true; n];
            let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
            for (i, ds) in deps.iter().enumerate() {
                for &d in ds {
                    dependents[d].push(i);
                }
            }
            let mut stack = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let Some(name) = name else { continue };
                if self.excludes.iter().any(|e| e.names_block(name)) {
                    // Only some instances left out: the node runs for the others.
                    if self.excludes.iter().any(|e| e.covers_whole_block(name)) {
                        runs[i] = false;
                    }
                    whole[i] = false;
                    stack.extend(dependents[i].iter().copied());
                }
            }
            let mut seen = BTreeSet::new();
            while let Some(i) = stack.pop() {
                if seen.insert(i) {
                    runs[i] = false;
                    whole[i] = false;
                    stack.extend(dependents[i].iter().copied());
                }
            }
        }
        NodeSelection { runs, whole }
    }
}

/// Per node of a unit's graph: whether it runs, and whether for all its instances.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NodeSelection {
    pub runs: Vec<bool>,
    pub whole: Vec<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> InstanceAddr {
        InstanceAddr::parse(text).expect("address")
    }

    #[test]
    fn addresses_parse_with_and_without_a_unit() {
        let a = Address::parse(r#"app:module.q["a:b"].aws_sqs_queue.q[1]"#).expect("parse");
        assert_eq!(a.unit.as_deref(), Some("app"));
        assert_eq!(
            a.module,
            vec![("q".to_string(), Some(InstanceKey::Str("a:b".into())))]
        );
        assert_eq!(
            a.resource.as_ref().map(|r| r.key.clone()),
            Some(Some(InstanceKey::Int(1)))
        );
        // A colon inside a key is not a unit prefix.
        let b = Address::parse(r#"aws_sqs_queue.q["x:y"]"#).expect("parse");
        assert_eq!(b.unit, None);
        let m = Address::parse("module.a").expect("module");
        assert!(m.resource.is_none());
        for bad in [
            "",
            "app:",
            "nodot",
            "module.",
            "aws_sqs_queue.q[",
            "a.b.c.d",
        ] {
            let e = Address::parse(bad).expect_err(bad);
            assert!(
                e.message.contains("is not a resource or module address"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn an_address_covers_its_instances_and_modules() {
        let q = Address::parse("aws_sqs_queue.q").expect("parse");
        assert!(q.covers(&addr("aws_sqs_queue.q[3]")));
        assert!(!q.covers(&addr("aws_sqs_queue.other")));
        assert!(!q.covers(&addr("module.m.aws_sqs_queue.q")));
        let k = Address::parse("aws_sqs_queue.q[1]").expect("parse");
        assert!(k.covers(&addr("aws_sqs_queue.q[1]")));
        assert!(!k.covers(&addr("aws_sqs_queue.q[2]")));
        assert!(!k.covers_whole_block("aws_sqs_queue.q"));
        let m = Address::parse("module.m[0]").expect("parse");
        assert!(m.covers(&addr("module.m[0].module.n.aws_sqs_queue.q")));
        assert!(!m.covers(&addr("module.m[1].aws_sqs_queue.q")));
        assert!(m.names_block("module.m.aws_sqs_queue.q"));
        assert!(!m.names_block("module.mm.aws_sqs_queue.q"));
        assert!(!m.covers_whole_block("module.m.aws_sqs_queue.q"));
        let d = Address::parse("data.aws_ami.a").expect("parse");
        assert!(d.names_block("data.aws_ami.a") && !d.names_block("aws_ami.a"));
    }

    #[test]
    fn targets_keep_their_dependencies_and_exclusions_drop_their_dependents() {
        // 0 var, 1 a, 2 b (needs a), 3 c (needs b), 4 output (needs c), 5 d (alone)
        let names = [
            None,
            Some("t.a"),
            Some("t.b"),
            Some("t.c"),
            None,
            Some("t.d"),
        ];
        let deps = vec![vec![], vec![0], vec![1], vec![2], vec![3], vec![]];
        let target = Targeting::new(&["t.b".into()], &[], &[]).expect("targeting");
        let s = target.for_unit("u").nodes(&names, &deps);
        assert_eq!(s.runs, vec![true, true, true, false, false, false]);
        let one = Targeting::new(&["t.c[1]".into()], &[], &[]).expect("targeting");
        let s = one.for_unit("u").nodes(&names, &deps);
        assert_eq!(s.runs, vec![true, true, true, true, false, false]);
        assert_eq!(s.whole, vec![true, true, true, false, false, false]);
        let exclude = Targeting::new(&[], &["t.b".into()], &[]).expect("targeting");
        let s = exclude.for_unit("u").nodes(&names, &deps);
        assert_eq!(s.runs, vec![true, true, false, false, false, true]);
    }

    #[test]
    fn flags_are_checked_against_the_units() {
        let both = Targeting::new(&["a.b".into()], &["a.c".into()], &[]);
        assert!(
            both.expect_err("both")
                .message
                .contains("cannot be used together")
        );
        let data = Targeting::new(&[], &[], &["data.a.b".into()]);
        assert!(
            data.expect_err("data")
                .message
                .contains("not a managed resource")
        );
        let t = Targeting::new(&["a.b".into()], &[], &[]).expect("targeting");
        assert!(t.check_units(&["one"]).is_ok());
        let e = t.check_units(&["one", "two"]).expect_err("ambiguous");
        assert!(e.message.contains("say which one"), "{e}");
        let p = Targeting::new(&["three:a.b".into()], &[], &[]).expect("targeting");
        assert!(
            p.check_units(&["one", "two"])
                .expect_err("unknown")
                .message
                .contains("no unit \"three\"")
        );
        assert!(p.selects_unit("three") && !p.selects_unit("one"));
    }
}
