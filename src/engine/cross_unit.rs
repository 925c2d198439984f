//! One resource graph across units: what each unit waits for of the units it depends on.
//! A unit whose inputs read a dependency only through `dependency.<name>.outputs.<key>`
//! (forge-config's `dependency_reads`) waits for those outputs alone, as Terraform waits
//! across module boundaries inside one configuration: an output is final once its node
//! has run in the dependency's apply, after the resources it refers to are applied and
//! recorded. Anything forge cannot see through waits for the whole unit, as before.
//!
//! [`CrossUnit`] is the static part (also drawn by `forge graph --resources`); [`Board`]
//! is the run's part: the outputs published so far and the early starts they allow.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use forge_config::Environment;
use forge_config::dependency_reads::{OutputReads, dependency_reads};
use forge_provider::Value;

use crate::critical_path::{UnitLink, resource_references};
use crate::module_graph::{ModuleGraph, NodeKind};
use crate::run::Publish;
use crate::unit_graph::UnitGraph;

/// What a unit waits for of one unit it depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wait {
    /// The whole unit: `dependencies { paths }`, a dependency block whose outputs are
    /// not read, skipped (`skip_outputs`) or read in a way forge cannot see through, or a
    /// dependency whose end matters beyond its outputs (its hooks, its `errors` rules).
    Unit,
    /// Only these outputs.
    Outputs(BTreeSet<String>),
}

/// One edge of the unit graph with what it waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The unit depended on (an index of the environment's units).
    pub upstream: usize,
    pub wait: Wait,
}

/// Every unit's links, in the unit graph's order (`links[i]`: what unit `i` waits for).
#[derive(Clone, Debug)]
pub struct CrossUnit {
    pub links: Vec<Vec<Link>>,
}

impl CrossUnit {
    pub fn build(env: &Environment, graph: &UnitGraph) -> CrossUnit {
        let links = env
            .units
            .iter()
            .enumerate()
            .map(|(i, unit)| {
                let reads = dependency_reads(unit);
                graph.deps[i]
                    .iter()
                    .map(|&j| {
                        let upstream = &env.units[j];
                        let by_paths = unit.extra_dependencies.contains(&upstream.dir);
                        let blocks: Vec<_> = unit
                            .dependencies
                            .iter()
                            .filter(|d| d.config_path == upstream.dir)
                            .collect();
                        // Hooks run after the apply and retries apply again: the outputs
                        // are final only when the unit's turn ends.
                        let ends_beyond_outputs = !upstream.settings.hooks.is_empty()
                            || !upstream.settings.errors.is_empty();
                        let mut keys = BTreeSet::new();
                        let mut whole = by_paths || ends_beyond_outputs || blocks.is_empty();
                        for block in blocks {
                            match reads.get(&block.name) {
                                Some(OutputReads::Keys(k)) if !block.skip_outputs => {
                                    keys.extend(k.iter().cloned())
                                }
                                _ => whole = true,
                            }
                        }
                        Link {
                            upstream: j,
                            wait: if whole {
                                Wait::Unit
                            } else {
                                Wait::Outputs(keys)
                            },
                        }
                    })
                    .collect()
            })
            .collect();
        CrossUnit { links }
    }

    /// The walk's edges: (whole-unit, released-early). With `early` false every edge
    /// waits for the whole unit (destroy, refresh-only, plans and the confirmed apply).
    pub(crate) fn edges(&self, early: bool) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
        let mut hard = vec![Vec::new(); self.links.len()];
        let mut soft = vec![Vec::new(); self.links.len()];
        for (i, links) in self.links.iter().enumerate() {
            for l in links {
                match &l.wait {
                    Wait::Outputs(_) if early => soft[i].push(l.upstream),
                    _ => hard[i].push(l.upstream),
                }
            }
        }
        (hard, soft)
    }

    /// The links as the critical path counts them (`critical_path::UnitLink`): a unit
    /// waited for only some outputs waits for the operations on the resources those
    /// outputs refer to (through locals and variables); with `early` false, or when the
    /// upstream's graph cannot be built, for every operation.
    pub(crate) fn critical_links(
        &self,
        env: &Environment,
        names: &[String],
        early: bool,
    ) -> BTreeMap<String, Vec<UnitLink>> {
        let mut graphs: BTreeMap<usize, Option<ModuleGraph>> = BTreeMap::new();
        let mut out = BTreeMap::new();
        for (i, links) in self.links.iter().enumerate() {
            let unit_links = links
                .iter()
                .map(|l| {
                    let resources = match &l.wait {
                        Wait::Outputs(keys) if early => graphs
                            .entry(l.upstream)
                            .or_insert_with(|| ModuleGraph::build(&env.units[l.upstream]).ok())
                            .as_ref()
                            .map(|g| output_resources(g, keys)),
                        _ => None,
                    };
                    UnitLink {
                        upstream: names[l.upstream].clone(),
                        resources,
                    }
                })
                .collect();
            out.insert(names[i].clone(), unit_links);
        }
        out
    }

    /// The outputs unit `i` reads of `upstream` when it waits for nothing else of it.
    pub(crate) fn reads(&self, i: usize, upstream: usize) -> Option<&BTreeSet<String>> {
        self.links.get(i)?.iter().find_map(|l| match &l.wait {
            Wait::Outputs(keys) if l.upstream == upstream => Some(keys),
            _ => None,
        })
    }
}

/// The resources and data sources the root outputs `keys` refer to.
fn output_resources(graph: &ModuleGraph, keys: &BTreeSet<String>) -> BTreeSet<String> {
    graph
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, (name, kind))| {
            matches!(kind, NodeKind::Output(_))
                && name
                    .strip_prefix("output.")
                    .is_some_and(|k| keys.contains(k))
        })
        .flat_map(|(n, _)| resource_references(graph, n))
        .collect()
}

/// The outputs units have published during one apply walk, and the early starts sent to
/// the walk (`walk::Early`'s releases) once a dependent's outputs are all there.
pub(crate) struct Board {
    /// `wants[j]`: the units released by `j`'s outputs, with the keys each needs.
    wants: Vec<Vec<(usize, BTreeSet<String>)>>,
    published: Mutex<Vec<BTreeMap<String, Value>>>,
    sent: Mutex<BTreeSet<(usize, usize)>>,
    releases: tokio::sync::mpsc::UnboundedSender<(usize, usize)>,
}

impl Board {
    pub(crate) fn new(
        cross: &CrossUnit,
        releases: tokio::sync::mpsc::UnboundedSender<(usize, usize)>,
    ) -> Board {
        let n = cross.links.len();
        let mut wants = vec![Vec::new(); n];
        for (i, links) in cross.links.iter().enumerate() {
            for l in links {
                if let Wait::Outputs(keys) = &l.wait {
                    wants[l.upstream].push((i, keys.clone()));
                }
            }
        }
        Board {
            wants,
            published: Mutex::new(vec![BTreeMap::new(); n]),
            sent: Mutex::default(),
            releases,
        }
    }

    /// What unit `j`'s apply calls for each output it finishes, when any unit waits for
    /// some of its outputs only.
    pub(crate) fn publisher(self: &Arc<Self>, j: usize) -> Option<Publish> {
        if self.wants.get(j).is_none_or(Vec::is_empty) {
            return None;
        }
        let board = self.clone();
        Some(Arc::new(move |key: &str, value: &Value| {
            board.publish(j, key, value)
        }))
    }

    fn publish(&self, j: usize, key: &str, value: &Value) {
        let mut published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        published[j].insert(key.to_string(), value.clone());
        for (i, keys) in &self.wants[j] {
            if keys.iter().all(|k| published[j].contains_key(k))
                && self
                    .sent
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((j, *i))
            {
                // The walk outlives every unit's run: a send cannot fail while it matters.
                let _ = self.releases.send((j, *i));
            }
        }
    }

    /// `j`'s outputs as published so far, for unit `i`, when they hold every output `i`
    /// reads of `j` (which are then final); `None` otherwise (the caller takes them from
    /// the finished run or the state, as before).
    pub(crate) fn outputs_for(
        &self,
        cross: &CrossUnit,
        i: usize,
        j: usize,
    ) -> Option<BTreeMap<String, Value>> {
        let keys = cross.reads(i, j)?;
        let published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = published.get(j)?;
        keys.iter()
            .all(|k| outputs.contains_key(k))
            .then(|| outputs.clone())
    }
}
