//! The graph inside one unit: variables, locals, provider configurations, resources,
//! data sources and outputs, with edges from references and `depends_on`.

use std::collections::BTreeMap;
use std::sync::Arc;

use forge_config::{Module, ModuleCall, ProviderBlock, ResourceBlock, Unit};
use forge_lang::{Body, RefStep, Reference};

use crate::plan::{EngineError, ErrorKind};
use crate::unit_graph::find_cycle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Var(usize),
    Local(usize),
    Provider(usize),
    Resource(usize),
    Data(usize),
    Output(usize),
    /// The expansion of a `module` block: its count/for_each (and depends_on), for the
    /// module `modules[i]`. Every node of that module waits for it.
    ModuleCall(usize),
}

/// One module of the configuration tree: the root (index 0) or a child reached through a
/// chain of `module` blocks. A child with count/for_each has several instances at run time;
/// they share its nodes.
pub struct ModuleEntry {
    /// The call names from the root (`["a", "b"]` for `module.a.module.b`).
    pub path: Vec<String>,
    pub module: Arc<Module>,
    /// The calling module and the block that calls this one (`None` for the root).
    pub parent: Option<(usize, ModuleCall)>,
}

impl ModuleEntry {
    /// `module.a.module.b.` (empty for the root): the prefix of the module's node names.
    pub(crate) fn prefix(&self) -> String {
        self.path.iter().map(|n| format!("module.{n}.")).collect()
    }
}

pub struct ModuleGraph {
    /// Node names (`var.x`, `local.y`, `provider.aws.west`, `aws_sqs_queue.q`,
    /// `data.aws_region.r`, `output.url`, `module.a`; in a child module prefixed with its
    /// path, `module.a.aws_sqs_queue.q`) and kinds. One flattened graph for the unit:
    /// references through a child's variables and outputs are edges like any other.
    pub nodes: Vec<(String, NodeKind)>,
    pub deps: Vec<Vec<usize>>,
    /// The module each node belongs to (an index into `modules`); kinds index its blocks.
    pub node_module: Vec<usize>,
    pub modules: Vec<ModuleEntry>,
    /// The provider configurations in effect: the unit's generated ones, then the module's
    /// (a module block with the same name and alias as a generated one is dropped, as
    /// Terragrunt's `generate` with `if_exists = "overwrite"` replaces the file). Only the
    /// root module configures providers; child modules inherit them.
    pub providers: Vec<ProviderBlock>,
}

/// `aws` for `aws_sqs_queue`: Terraform's implied provider of a resource type.
pub fn provider_name_of(type_name: &str) -> &str {
    type_name.split('_').next().unwrap_or(type_name)
}

/// `aws` or `aws.west`.
pub fn provider_key(name: &str, alias: Option<&str>) -> String {
    match alias {
        Some(a) => format!("{name}.{a}"),
        None => name.to_string(),
    }
}

/// Every reference a body makes, nested blocks included.
pub(crate) fn body_references(body: &Body) -> Vec<Reference> {
    let mut out: Vec<Reference> = body
        .attributes
        .iter()
        .flat_map(|a| a.expr.references())
        .collect();
    for b in &body.blocks {
        out.extend(body_references(&b.body));
    }
    out
}

impl ModuleGraph {
    pub fn build(unit: &Unit) -> Result<ModuleGraph, EngineError> {
        let providers = merged_providers(unit);
        let mut modules = vec![ModuleEntry {
            path: Vec::new(),
            module: Arc::new(unit.module.clone()),
            parent: None,
        }];
        let mut i = 0;
        while i < modules.len() {
            let calls = modules[i].module.module_calls.clone();
            for call in calls {
                let mut path = modules[i].path.clone();
                path.push(call.name.clone());
                modules.push(ModuleEntry {
                    path,
                    module: call.module.clone(),
                    parent: Some((i, call)),
                });
            }
            i += 1;
        }
        let mut nodes: Vec<(String, NodeKind)> = Vec::new();
        let mut node_module = Vec::new();
        for (m, entry) in modules.iter().enumerate() {
            let module = &entry.module;
            let p = entry.prefix();
            let before = nodes.len();
            if m > 0 {
                nodes.push((p.trim_end_matches('.').to_string(), NodeKind::ModuleCall(m)));
            }
            nodes.extend(
                module
                    .variables
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{p}var.{}", v.name), NodeKind::Var(i))),
            );
            nodes.extend(
                module
                    .locals
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (format!("{p}local.{}", l.name), NodeKind::Local(i))),
            );
            if m == 0 {
                nodes.extend(providers.iter().enumerate().map(|(i, p)| {
                    (
                        format!("provider.{}", provider_key(&p.name, p.alias.as_deref())),
                        NodeKind::Provider(i),
                    )
                }));
            }
            nodes.extend(
                module
                    .resources
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("{p}{}", r.address()), NodeKind::Resource(i))),
            );
            nodes.extend(
                module
                    .data
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("{p}{}", r.address()), NodeKind::Data(i))),
            );
            nodes.extend(
                module
                    .outputs
                    .iter()
                    .enumerate()
                    .map(|(i, o)| (format!("{p}output.{}", o.name), NodeKind::Output(i))),
            );
            node_module.extend(std::iter::repeat_n(m, nodes.len() - before));
        }
        let index: BTreeMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.as_str(), i))
            .collect();
        let lookup = |prefix: &str, refs: &[Reference], out: &mut Vec<usize>| {
            for r in refs {
                for t in reference_targets(r) {
                    match t {
                        Target::Node(name) => {
                            out.extend(index.get(format!("{prefix}{name}").as_str()).copied())
                        }
                        Target::Module(call) => {
                            // The whole module: everything in it, as Terraform's
                            // depends_on = [module.x] waits for all of it.
                            let inner = format!("{prefix}module.{call}");
                            let inner_dot = format!("{inner}.");
                            out.extend(
                                index
                                    .range(inner.as_str()..)
                                    .take_while(|(n, _)| n.starts_with(inner.as_str()))
                                    .filter(|(n, _)| **n == inner || n.starts_with(&inner_dot))
                                    .map(|(_, &i)| i),
                            );
                        }
                    }
                }
            }
        };

        let mut deps = vec![Vec::new(); nodes.len()];
        for (i, (_, kind)) in nodes.iter().enumerate() {
            let m = node_module[i];
            let entry = &modules[m];
            let prefix = entry.prefix();
            let mut ds: Vec<usize> = Vec::new();
            lookup(
                &prefix,
                &node_references(&entry.module, &providers, *kind),
                &mut ds,
            );
            if let Some((parent, call)) = &entry.parent {
                let parent_prefix = modules[*parent].prefix();
                match kind {
                    NodeKind::ModuleCall(_) => {
                        let refs: Vec<Reference> = call
                            .count
                            .iter()
                            .chain(&call.for_each)
                            .flat_map(|e| e.references())
                            .chain(call.depends_on.iter().cloned())
                            .collect();
                        lookup(&parent_prefix, &refs, &mut ds);
                        // A nested call expands after its parent module's instances exist.
                        if modules[*parent].parent.is_some() {
                            ds.extend(index.get(parent_prefix.trim_end_matches('.')).copied());
                        }
                    }
                    _ => {
                        ds.extend(index.get(prefix.trim_end_matches('.')).copied());
                        if let NodeKind::Var(v) = kind {
                            let name = &entry.module.variables[*v].name;
                            let refs: Vec<Reference> = call
                                .arguments
                                .iter()
                                .filter(|a| &a.name == name)
                                .flat_map(|a| a.expr.references())
                                .collect();
                            lookup(&parent_prefix, &refs, &mut ds);
                        }
                    }
                }
            }
            if let NodeKind::Resource(r) | NodeKind::Data(r) = kind {
                let module = &entry.module;
                let block = if matches!(kind, NodeKind::Resource(_)) {
                    &module.resources[*r]
                } else {
                    &module.data[*r]
                };
                let local = provider_key(
                    provider_name_of(&block.type_name),
                    block.provider_alias.as_deref(),
                );
                let key = root_provider_key(&modules, m, &local).unwrap_or(local);
                if let Some(&p) = index.get(format!("provider.{key}").as_str()) {
                    ds.push(p);
                }
            }
            ds.sort_unstable();
            ds.dedup();
            ds.retain(|&d| d != i);
            deps[i] = ds;
        }
        // An import block's id (and for_each) is evaluated in the root module when its
        // target is planned.
        for im in &modules[0].module.imports {
            let target = crate::refactor::import_config_resource(im);
            if let Some(&t) = target.as_deref().and_then(|t| index.get(t)) {
                let mut ds = Vec::new();
                let mut refs = im.id.references();
                refs.extend(im.for_each.iter().flat_map(|f| f.collection.references()));
                lookup("", &refs, &mut ds);
                deps[t].extend(ds.into_iter().filter(|&d| d != t));
                deps[t].sort_unstable();
                deps[t].dedup();
            }
        }
        if let Some(cycle) = find_cycle(&deps) {
            let path: Vec<&str> = cycle.iter().map(|&i| nodes[i].0.as_str()).collect();
            return Err(EngineError::new(
                ErrorKind::Configuration,
                format!(
                    "unit {}: the module's blocks refer to each other in a cycle: {}",
                    unit.name,
                    path.join(" -> ")
                ),
            )
            .hint("break the cycle: one of these blocks must not refer to the next"));
        }
        Ok(ModuleGraph {
            nodes,
            deps,
            node_module,
            modules,
            providers,
        })
    }

    /// The resources and data sources a node depends on, directly or through other nodes
    /// (variables, locals, module inputs and outputs, other resources), as Terraform
    /// records `dependencies` in state: transitively, by configuration address. Provider
    /// configurations are not followed.
    pub fn resource_dependencies(&self, node: usize) -> Vec<String> {
        let mut out = std::collections::BTreeSet::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut stack: Vec<usize> = self.deps[node].clone();
        while let Some(d) = stack.pop() {
            if !seen.insert(d) {
                continue;
            }
            match self.nodes[d].1 {
                NodeKind::Resource(_) | NodeKind::Data(_) => {
                    out.insert(self.nodes[d].0.clone());
                    stack.extend(self.deps[d].iter().copied());
                }
                NodeKind::Provider(_) => {}
                _ => stack.extend(self.deps[d].iter().copied()),
            }
        }
        out.into_iter().collect()
    }

    /// The node of a resource or data block by configuration address
    /// (`module.a.aws_sqs_queue.q`).
    pub(crate) fn node_named(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|(n, _)| n == name)
    }

    /// The resource or data block of a configuration address, with its module's index.
    pub fn block(&self, config_address: &str) -> Option<(usize, &ResourceBlock)> {
        let n = self.node_named(config_address)?;
        let m = self.node_module[n];
        let module = &self.modules[m].module;
        match self.nodes[n].1 {
            NodeKind::Resource(r) => Some((m, &module.resources[r])),
            NodeKind::Data(r) => Some((m, &module.data[r])),
            _ => None,
        }
    }

    /// The root provider configuration (`aws`, `aws.west`) a block of module `m` uses.
    pub(crate) fn provider_of(
        &self,
        m: usize,
        block: &ResourceBlock,
    ) -> Result<(String, Option<String>), EngineError> {
        let name = provider_name_of(&block.type_name);
        let local = provider_key(name, block.provider_alias.as_deref());
        let key = root_provider_key(&self.modules, m, &local).ok_or_else(|| {
            EngineError::new(
                ErrorKind::Configuration,
                format!(
                    "{}{}: no provider configuration \"{local}\" is passed to this module",
                    self.modules[m].prefix(),
                    block.address()
                ),
            )
            .cause(format!("resource block at {}", block.location))
            .hint(format!(
                "pass it in the module block: providers = {{ {local} = {local} }}"
            ))
        })?;
        let alias = key.split_once('.').map(|(_, a)| a.to_string());
        Ok((name.to_string(), alias))
    }
}

/// A child module's provider key (`aws`, `aws.west`) as the root's: through each call's
/// `providers` map, a default configuration inherited when not mapped. `None` for an alias
/// no call passes.
fn root_provider_key(modules: &[ModuleEntry], mut m: usize, key: &str) -> Option<String> {
    let mut key = key.to_string();
    while let Some((parent, call)) = &modules[m].parent {
        key = match call.providers.iter().find(|(child, _)| *child == key) {
            Some((_, to)) => to.clone(),
            None if !key.contains('.') => key,
            None => return None,
        };
        m = *parent;
    }
    Some(key)
}

fn merged_providers(unit: &Unit) -> Vec<ProviderBlock> {
    let mut out: Vec<ProviderBlock> = unit.generated_providers.clone();
    for p in &unit.module.providers {
        if !out.iter().any(|g| g.name == p.name && g.alias == p.alias) {
            out.push(p.clone());
        }
    }
    out
}

fn node_references(module: &Module, providers: &[ProviderBlock], kind: NodeKind) -> Vec<Reference> {
    match kind {
        // Since Terraform 1.9 a validation may refer to other variables, locals and data.
        NodeKind::Var(i) => module.variables[i]
            .validations
            .iter()
            .flat_map(|v| {
                v.condition
                    .references()
                    .into_iter()
                    .chain(v.error_message.references())
            })
            .collect(),
        NodeKind::Local(i) => module.locals[i].expr.references(),
        NodeKind::Provider(i) => body_references(&providers[i].body),
        NodeKind::Resource(i) => module.resources[i].references(),
        NodeKind::Data(i) => module.data[i].references(),
        NodeKind::Output(i) => {
            let o = &module.outputs[i];
            let mut refs = o.expr.references();
            refs.extend(o.depends_on.iter().cloned());
            refs.extend(o.preconditions.iter().flat_map(|c| {
                c.condition
                    .references()
                    .into_iter()
                    .chain(c.error_message.references())
            }));
            refs
        }
        // The call's references are the caller's, resolved there (see `build`).
        NodeKind::ModuleCall(_) => Vec::new(),
    }
}

enum Target {
    /// A node by name, relative to the referring module.
    Node(String),
    /// `module.<call>` as a whole.
    Module(String),
}

/// The nodes a reference points at, by name relative to the referring module.
fn reference_targets(r: &Reference) -> Vec<Target> {
    let attr = |i: usize| match r.steps.get(i) {
        Some(RefStep::Attr(a)) => Some(a.as_str()),
        _ => None,
    };
    let node = |name: Option<String>| name.map(Target::Node).into_iter().collect();
    match r.root.as_str() {
        "var" => node(attr(0).map(|a| format!("var.{a}"))),
        "local" => node(attr(0).map(|a| format!("local.{a}"))),
        "data" => node(attr(0).zip(attr(1)).map(|(t, n)| format!("data.{t}.{n}"))),
        "module" => {
            let Some(call) = attr(0) else {
                return Vec::new();
            };
            // module.x.out or module.x[key].out: the output; module.x alone: all of it.
            let output = r.steps.iter().skip(1).find_map(|s| match s {
                RefStep::Attr(a) => Some(a.clone()),
                RefStep::Index(_) => None,
            });
            match output {
                Some(o) => vec![
                    Target::Node(format!("module.{call}.output.{o}")),
                    Target::Node(format!("module.{call}")),
                ],
                None => vec![Target::Module(call.to_string())],
            }
        }
        "count" | "each" | "path" | "terraform" | "self" => Vec::new(),
        root => node(attr(0).map(|a| format!("{root}.{a}"))),
    }
}
