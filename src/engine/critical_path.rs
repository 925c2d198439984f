//! The longest chain of dependent provider operations of a run: what an apply could take
//! at best if forge added nothing (no evaluation, state writes or locks) and ran every
//! independent operation at once. `forge apply --api-stats` prints it next to the wall
//! time; the benchmark (`scripts/bench`) holds the ratio to a target.
//!
//! Each provider call (`Runner::call`) is logged with its timing and the resources its
//! resource refers to; the DAG's edges are then:
//! - inside a unit, an operation on a resource comes after the operations on the
//!   resources and data sources it refers to (through locals too), and after earlier
//!   operations on the same instance (a replacement's delete, then its create);
//! - a delete comes after the deletes of what refers to it (the reverse order);
//! - across units, an operation comes after every operation of the units it waits for
//!   whole (transitively), as the unit walk waits for them; of a unit it waits for only
//!   some outputs of (`cross_unit`), after the operations on the resources those outputs
//!   refer to; and, since a unit starts only after its own dependencies let it, after
//!   whatever that unit waited for in turn.
//!
//! An edge is kept only when the earlier operation ended before the later one started,
//! which it always did in a real run; this also makes the graph acyclic by construction.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::events::OpKind;
use crate::module_graph::{ModuleGraph, NodeKind};

/// One provider operation (a read, create, update or delete of one instance).
#[derive(Clone, Debug, PartialEq)]
pub struct OpTiming {
    pub unit: String,
    /// The instance (`aws_sqs_queue.q["a"]`).
    pub address: String,
    /// Its resource or data source (`aws_sqs_queue.q`), the unit of dependency edges.
    pub resource: String,
    pub kind: OpKind,
    pub start: Instant,
    pub elapsed: Duration,
    /// The resources and data sources of the same unit that `resource` refers to.
    pub refers_to: Vec<String>,
    /// The provider call succeeded: the change was made.
    pub succeeded: bool,
}

impl OpTiming {
    fn end(&self) -> Instant {
        self.start + self.elapsed
    }
}

/// Where a run's operations are logged (shared by the units of one run).
#[derive(Debug)]
pub(crate) struct OpLog {
    ops: Mutex<Vec<OpTiming>>,
    /// When the run began (the log is made with the run's context).
    pub created: Instant,
}

impl Default for OpLog {
    fn default() -> Self {
        OpLog {
            ops: Mutex::default(),
            created: Instant::now(),
        }
    }
}

impl OpLog {
    pub(crate) fn push(&self, op: OpTiming) {
        self.ops.lock().unwrap_or_else(|p| p.into_inner()).push(op);
    }

    pub(crate) fn ops(&self) -> Vec<OpTiming> {
        self.ops.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The longest chain: its operations in order and their summed duration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CriticalPath {
    pub total: Duration,
    pub chain: Vec<OpTiming>,
    /// How many operations the run made in all.
    pub operations: usize,
    /// From the run's start to the chain's first operation (start-up: backend, locks,
    /// state reads, the first plan).
    pub before: Duration,
}

impl CriticalPath {
    /// For each link of the chain, how long the operation started after the one before it
    /// ended: the time forge itself added on the chain (evaluation, recording, scheduling).
    pub fn waits(&self) -> Vec<Duration> {
        self.chain
            .windows(2)
            .map(|w| w[1].start.saturating_duration_since(w[0].end()))
            .collect()
    }

    /// From the chain's first operation's start to its last one's end.
    pub fn span(&self) -> Duration {
        match (self.chain.first(), self.chain.last()) {
            (Some(a), Some(b)) => b.end().saturating_duration_since(a.start),
            _ => Duration::ZERO,
        }
    }

    /// `1.21 s over 3 of 40 operations: a | x (create 0.50 s) -> ...`
    pub fn describe(&self) -> String {
        let steps: Vec<String> = self
            .chain
            .iter()
            .map(|o| {
                let kind = match o.kind {
                    OpKind::Reading => "read",
                    OpKind::Importing | OpKind::PreparingImport => "import",
                    OpKind::Creating => "create",
                    OpKind::Modifying => "update",
                    OpKind::Destroying => "delete",
                };
                format!(
                    "{} | {} ({kind} {:.2} s)",
                    o.unit,
                    o.address,
                    o.elapsed.as_secs_f64()
                )
            })
            .collect();
        format!(
            "{:.2} s over {} of {} operations{}{}",
            self.total.as_secs_f64(),
            self.chain.len(),
            self.operations,
            if steps.is_empty() { "" } else { ": " },
            steps.join(" -> ")
        )
    }
}

/// The resources and data sources a module node refers to, looking through locals,
/// variables' validations and provider configurations (which are not operations).
pub(crate) fn resource_references(graph: &ModuleGraph, node: usize) -> Vec<String> {
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = graph.deps.get(node).cloned().unwrap_or_default();
    while let Some(d) = stack.pop() {
        if !seen.insert(d) {
            continue;
        }
        match graph.nodes[d].1 {
            NodeKind::Resource(_) | NodeKind::Data(_) => {
                out.insert(graph.nodes[d].0.clone());
            }
            _ => stack.extend(graph.deps[d].iter().copied()),
        }
    }
    out.into_iter().collect()
}

/// What a unit's operations wait for of a unit it depends on directly.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct UnitLink {
    pub upstream: String,
    /// `None`: every operation of it; else only the operations on these resources.
    pub resources: Option<BTreeSet<String>>,
}

/// The longest path through the operations' DAG (see the module docs); `unit_deps` maps
/// each unit to the units it depends on directly, each waited for whole.
#[cfg(test)]
pub(crate) fn critical_path(
    ops: &[OpTiming],
    unit_deps: &BTreeMap<String, Vec<String>>,
) -> CriticalPath {
    let links = unit_deps
        .iter()
        .map(|(u, ds)| {
            let links = ds
                .iter()
                .map(|d| UnitLink {
                    upstream: d.clone(),
                    resources: None,
                })
                .collect();
            (u.clone(), links)
        })
        .collect();
    critical_path_through(ops, &links)
}

/// The longest path through the operations' DAG, with each unit's links to the units it
/// depends on directly.
pub(crate) fn critical_path_through(
    ops: &[OpTiming],
    unit_links: &BTreeMap<String, Vec<UnitLink>>,
) -> CriticalPath {
    let upstream = transitive(unit_links);
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| (ops[i].start, i));
    // best[i]: the longest chain ending with operation i; prev[i]: its predecessor.
    let mut best: Vec<Duration> = vec![Duration::ZERO; ops.len()];
    let mut prev: Vec<Option<usize>> = vec![None; ops.len()];
    for (pos, &b) in order.iter().enumerate() {
        let mut longest = Duration::ZERO;
        for &a in &order[..pos] {
            if ops[a].end() <= ops[b].start
                && depends(&ops[b], &ops[a], &upstream)
                && best[a] > longest
            {
                longest = best[a];
                prev[b] = Some(a);
            }
        }
        best[b] = longest + ops[b].elapsed;
    }
    let Some(last) = (0..ops.len()).max_by_key(|&i| (best[i], std::cmp::Reverse(i))) else {
        return CriticalPath::default();
    };
    let mut chain = vec![ops[last].clone()];
    let mut at = last;
    while let Some(p) = prev[at] {
        chain.push(ops[p].clone());
        at = p;
    }
    chain.reverse();
    CriticalPath {
        total: best[last],
        chain,
        operations: ops.len(),
        before: Duration::ZERO,
    }
}

/// Whether `later` must wait for `earlier`.
fn depends(
    later: &OpTiming,
    earlier: &OpTiming,
    upstream: &BTreeMap<String, BTreeMap<String, Option<BTreeSet<String>>>>,
) -> bool {
    if later.unit != earlier.unit {
        let waits_for = |u: &str, d: &str| match upstream.get(u).and_then(|s| s.get(d)) {
            Some(None) => true,
            Some(Some(resources)) => resources.contains(&earlier.resource),
            None => false,
        };
        // Destroys walk the units in reverse.
        return if later.kind == OpKind::Destroying && earlier.kind == OpKind::Destroying {
            waits_for(&earlier.unit, &later.unit)
        } else {
            waits_for(&later.unit, &earlier.unit)
        };
    }
    if later.address == earlier.address {
        return true;
    }
    if later.kind == OpKind::Destroying && earlier.kind == OpKind::Destroying {
        return earlier.refers_to.contains(&later.resource);
    }
    later.refers_to.contains(&earlier.resource)
}

/// For each unit, what it waits for of every unit it depends on, directly or not: a
/// unit waits for what its direct links say and for everything those units waited for;
/// waiting for a whole unit includes any part of it.
fn transitive(
    links: &BTreeMap<String, Vec<UnitLink>>,
) -> BTreeMap<String, BTreeMap<String, Option<BTreeSet<String>>>> {
    fn merge(
        into: &mut BTreeMap<String, Option<BTreeSet<String>>>,
        unit: &str,
        what: &Option<BTreeSet<String>>,
    ) {
        match (into.get_mut(unit), what) {
            (None, _) => {
                into.insert(unit.to_string(), what.clone());
            }
            (Some(Some(have)), Some(more)) => have.extend(more.iter().cloned()),
            (Some(have), None) => *have = None,
            (Some(None), Some(_)) => {}
        }
    }
    fn visit(
        unit: &str,
        links: &BTreeMap<String, Vec<UnitLink>>,
        done: &mut BTreeMap<String, BTreeMap<String, Option<BTreeSet<String>>>>,
        active: &mut BTreeSet<String>,
    ) -> BTreeMap<String, Option<BTreeSet<String>>> {
        if let Some(d) = done.get(unit) {
            return d.clone();
        }
        // A cycle (refused when the unit graph is built) ends here.
        if !active.insert(unit.to_string()) {
            return BTreeMap::new();
        }
        let mut out = BTreeMap::new();
        for link in links.get(unit).into_iter().flatten() {
            merge(&mut out, &link.upstream, &link.resources);
            for (u, what) in visit(&link.upstream, links, done, active) {
                merge(&mut out, &u, &what);
            }
        }
        active.remove(unit);
        done.insert(unit.to_string(), out.clone());
        out
    }
    let mut done = BTreeMap::new();
    for unit in links.keys() {
        visit(unit, links, &mut done, &mut BTreeSet::new());
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_the_gaps_between_links_and_span_covers_them() {
        let t0 = Instant::now();
        let ops = vec![
            op(t0, "u", "a", OpKind::Creating, 0, 10, &[]),
            op(t0, "u", "b", OpKind::Creating, 13, 10, &["a"]),
            op(t0, "u", "c", OpKind::Creating, 30, 5, &["b"]),
        ];
        let cp = critical_path(&ops, &BTreeMap::from([("u".to_string(), vec![])]));
        assert_eq!(
            cp.waits(),
            vec![Duration::from_millis(3), Duration::from_millis(7)]
        );
        assert_eq!(cp.span(), Duration::from_millis(35));
        assert_eq!(cp.total, Duration::from_millis(25));
    }

    fn op(
        t0: Instant,
        unit: &str,
        resource: &str,
        kind: OpKind,
        start_ms: u64,
        ms: u64,
        refers_to: &[&str],
    ) -> OpTiming {
        OpTiming {
            unit: unit.into(),
            address: resource.into(),
            resource: resource.into(),
            kind,
            start: t0 + Duration::from_millis(start_ms),
            elapsed: Duration::from_millis(ms),
            refers_to: refers_to.iter().map(|s| s.to_string()).collect(),
            succeeded: true,
        }
    }

    fn names(p: &CriticalPath) -> Vec<String> {
        p.chain
            .iter()
            .map(|o| format!("{}/{}", o.unit, o.address))
            .collect()
    }

    #[test]
    fn longest_weighted_chain_across_resources_and_units() {
        let t0 = Instant::now();
        let c = OpKind::Creating;
        // unit net: vpc (100) -> subnet (50); sg (300) independent of both.
        // unit app depends on net: role (20) -> instance (200, refers to role).
        // Chains: vpc+subnet = 150, sg = 300; app's ops wait for all of net: 300 + 20 + 200 = 520.
        let ops = vec![
            op(t0, "net", "aws_vpc.v", c, 0, 100, &[]),
            op(t0, "net", "aws_subnet.s", c, 100, 50, &["aws_vpc.v"]),
            op(t0, "net", "aws_security_group.g", c, 0, 300, &[]),
            op(t0, "app", "aws_iam_role.r", c, 310, 20, &[]),
            op(
                t0,
                "app",
                "aws_instance.i",
                c,
                330,
                200,
                &["aws_iam_role.r"],
            ),
            // A unit that depends on nothing, running alongside: not on the path.
            op(t0, "logs", "aws_sqs_queue.q", c, 0, 400, &[]),
        ];
        let unit_deps = BTreeMap::from([
            ("net".to_string(), vec![]),
            ("app".to_string(), vec!["net".to_string()]),
            ("logs".to_string(), vec![]),
        ]);
        let p = critical_path(&ops, &unit_deps);
        assert_eq!(p.total, Duration::from_millis(520));
        assert_eq!(
            names(&p),
            [
                "net/aws_security_group.g",
                "app/aws_iam_role.r",
                "app/aws_instance.i"
            ]
        );
        assert_eq!(p.operations, 6);
        assert!(
            p.describe().starts_with(
                "0.52 s over 3 of 6 operations: net | aws_security_group.g (create 0.30 s) -> "
            ),
            "{}",
            p.describe()
        );
    }

    #[test]
    fn dependency_through_an_intermediate_unit_without_operations() {
        let t0 = Instant::now();
        let c = OpKind::Creating;
        // c depends on b depends on a; b made no operation, c still waits for a.
        let ops = vec![
            op(t0, "a", "x.one", c, 0, 100, &[]),
            op(t0, "c", "x.two", c, 150, 100, &[]),
        ];
        let unit_deps = BTreeMap::from([
            ("a".to_string(), vec![]),
            ("b".to_string(), vec!["a".to_string()]),
            ("c".to_string(), vec!["b".to_string()]),
        ]);
        let p = critical_path(&ops, &unit_deps);
        assert_eq!(p.total, Duration::from_millis(200));
        assert_eq!(names(&p), ["a/x.one", "c/x.two"]);
    }

    #[test]
    fn deletes_follow_reverse_references_and_replacements_are_sequential() {
        let t0 = Instant::now();
        let d = OpKind::Destroying;
        // The instance refers to the role: the instance's delete (200) goes first, then the role's (30).
        // A replaced queue: delete (40) then create (60) of the same address: 100.
        let ops = vec![
            op(t0, "app", "aws_instance.i", d, 0, 200, &["aws_iam_role.r"]),
            op(t0, "app", "aws_iam_role.r", d, 200, 30, &[]),
            op(t0, "app", "aws_sqs_queue.q", d, 0, 40, &[]),
            op(t0, "app", "aws_sqs_queue.q", OpKind::Creating, 40, 60, &[]),
        ];
        let p = critical_path(&ops, &BTreeMap::from([("app".to_string(), vec![])]));
        assert_eq!(p.total, Duration::from_millis(230));
        assert_eq!(names(&p), ["app/aws_instance.i", "app/aws_iam_role.r"]);
    }

    #[test]
    fn an_operation_that_overlapped_is_not_a_predecessor() {
        let t0 = Instant::now();
        // Config says b refers to a, but b started before a ended (it cannot have waited):
        // the edge is dropped rather than trusted.
        let ops = vec![
            op(t0, "u", "x.a", OpKind::Creating, 0, 100, &[]),
            op(t0, "u", "x.b", OpKind::Creating, 50, 100, &["x.a"]),
        ];
        let p = critical_path(&ops, &BTreeMap::new());
        assert_eq!(p.total, Duration::from_millis(100));
        assert_eq!(p.chain.len(), 1);
    }

    #[test]
    fn no_operations_no_path() {
        let p = critical_path(&[], &BTreeMap::new());
        assert_eq!(p, CriticalPath::default());
        assert_eq!(p.describe(), "0.00 s over 0 of 0 operations");
    }

    /// A unit that waited only for some outputs of another waits, in the chain, only for
    /// the operations on the resources those outputs refer to (and for everything that
    /// unit waited for in turn); the same ops under a whole-unit link chain through all.
    #[test]
    fn partial_links_chain_through_the_resources_read() {
        let t0 = Instant::now();
        let c = OpKind::Creating;
        // net: vpc (100), sg (300). app reads an output of the vpc: role (20) -> instance
        // (200). The ops started late, after sg ended, so timing alone joins them all.
        let ops = vec![
            op(t0, "net", "aws_vpc.v", c, 0, 100, &[]),
            op(t0, "net", "aws_security_group.g", c, 0, 300, &[]),
            op(t0, "app", "aws_iam_role.r", c, 310, 20, &[]),
            op(
                t0,
                "app",
                "aws_instance.i",
                c,
                330,
                200,
                &["aws_iam_role.r"],
            ),
            op(t0, "top", "aws_sqs_queue.q", c, 600, 10, &[]),
        ];
        let link = |u: &str, resources: Option<&[&str]>| UnitLink {
            upstream: u.to_string(),
            resources: resources.map(|r| r.iter().map(|s| s.to_string()).collect()),
        };
        let partial = BTreeMap::from([
            ("net".to_string(), vec![]),
            ("app".to_string(), vec![link("net", Some(&["aws_vpc.v"]))]),
            ("top".to_string(), vec![link("app", None)]),
        ]);
        let p = critical_path_through(&ops, &partial);
        assert_eq!(p.total, Duration::from_millis(330));
        assert_eq!(
            names(&p),
            vec![
                "net/aws_vpc.v",
                "app/aws_iam_role.r",
                "app/aws_instance.i",
                "top/aws_sqs_queue.q"
            ]
        );
        // top waits for app whole, and so for what app waited for: the vpc, not the sg.
        let upstream = transitive(&partial);
        assert_eq!(
            upstream["top"]["net"],
            Some(BTreeSet::from(["aws_vpc.v".to_string()]))
        );
        assert_eq!(upstream["top"]["app"], None);

        let whole = BTreeMap::from([
            ("net".to_string(), vec![]),
            ("app".to_string(), vec![link("net", None)]),
            ("top".to_string(), vec![link("app", None)]),
        ]);
        assert_eq!(
            critical_path_through(&ops, &whole).total,
            Duration::from_millis(530)
        );
    }
}
