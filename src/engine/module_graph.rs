//! The graph inside one unit: variables, locals, provider configurations, resources,
//! data sources and outputs, with edges from references and `depends_on`.

use std::collections::BTreeMap;

use forge_config::{Module, ProviderBlock, Unit};
use forge_lang::{Body, RefStep, Reference};

use crate::plan::EngineError;
use crate::unit_graph::find_cycle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Var(usize),
    Local(usize),
    Provider(usize),
    Resource(usize),
    Data(usize),
    Output(usize),
}

pub struct ModuleGraph {
    /// Node names (`var.x`, `local.y`, `provider.aws.west`, `aws_sqs_queue.q`,
    /// `data.aws_region.r`, `output.url`) and kinds.
    pub nodes: Vec<(String, NodeKind)>,
    pub deps: Vec<Vec<usize>>,
    /// The provider configurations in effect: the unit's generated ones, then the module's
    /// (a module block with the same name and alias as a generated one is dropped, as
    /// Terragrunt's `generate` with `if_exists = "overwrite"` replaces the file).
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
pub fn body_references(body: &Body) -> Vec<Reference> {
    let mut out: Vec<Reference> = body.attributes.iter().flat_map(|a| a.expr.references()).collect();
    for b in &body.blocks {
        out.extend(body_references(&b.body));
    }
    out
}

impl ModuleGraph {
    pub fn build(unit: &Unit) -> Result<ModuleGraph, EngineError> {
        let module = &unit.module;
        let providers = merged_providers(unit);
        let mut nodes: Vec<(String, NodeKind)> = Vec::new();
        nodes.extend(module.variables.iter().enumerate().map(|(i, v)| (format!("var.{}", v.name), NodeKind::Var(i))));
        nodes.extend(module.locals.iter().enumerate().map(|(i, l)| (format!("local.{}", l.name), NodeKind::Local(i))));
        nodes.extend(providers.iter().enumerate().map(|(i, p)| (format!("provider.{}", provider_key(&p.name, p.alias.as_deref())), NodeKind::Provider(i))));
        nodes.extend(module.resources.iter().enumerate().map(|(i, r)| (r.address(), NodeKind::Resource(i))));
        nodes.extend(module.data.iter().enumerate().map(|(i, r)| (r.address(), NodeKind::Data(i))));
        nodes.extend(module.outputs.iter().enumerate().map(|(i, o)| (format!("output.{}", o.name), NodeKind::Output(i))));
        let index: BTreeMap<&str, usize> = nodes.iter().enumerate().map(|(i, (n, _))| (n.as_str(), i)).collect();

        let mut deps = vec![Vec::new(); nodes.len()];
        for (i, (_, kind)) in nodes.iter().enumerate() {
            let refs = node_references(module, &providers, *kind);
            let mut ds: Vec<usize> = refs.iter().filter_map(reference_target).filter_map(|t| index.get(t.as_str()).copied()).collect();
            if let NodeKind::Resource(r) | NodeKind::Data(r) = kind {
                let block = if matches!(kind, NodeKind::Resource(_)) { &module.resources[*r] } else { &module.data[*r] };
                let key = provider_key(provider_name_of(&block.type_name), block.provider_alias.as_deref());
                if let Some(&p) = index.get(format!("provider.{key}").as_str()) {
                    ds.push(p);
                }
            }
            ds.sort_unstable();
            ds.dedup();
            ds.retain(|&d| d != i);
            deps[i] = ds;
        }
        if let Some(cycle) = find_cycle(&deps) {
            let path: Vec<&str> = cycle.iter().map(|&i| nodes[i].0.as_str()).collect();
            return Err(EngineError::new(format!("unit {}: the module's blocks refer to each other in a cycle: {}", unit.name, path.join(" -> ")))
                .hint("break the cycle: one of these blocks must not refer to the next"));
        }
        Ok(ModuleGraph { nodes, deps, providers })
    }

    /// The resource and data nodes a node refers to directly (Terraform's `dependencies`).
    pub fn resource_dependencies(&self, node: usize) -> Vec<String> {
        self.deps[node]
            .iter()
            .filter(|&&d| matches!(self.nodes[d].1, NodeKind::Resource(_) | NodeKind::Data(_)))
            .map(|&d| self.nodes[d].0.clone())
            .collect()
    }
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
            .flat_map(|v| v.condition.references().into_iter().chain(v.error_message.references()))
            .collect(),
        NodeKind::Local(i) => module.locals[i].expr.references(),
        NodeKind::Provider(i) => body_references(&providers[i].body),
        NodeKind::Resource(i) => module.resources[i].references(),
        NodeKind::Data(i) => module.data[i].references(),
        NodeKind::Output(i) => {
            let o = &module.outputs[i];
            let mut refs = o.expr.references();
            refs.extend(o.depends_on.iter().cloned());
            refs
        }
    }
}

/// The node a reference points at, by name.
fn reference_target(r: &Reference) -> Option<String> {
    let attr = |i: usize| match r.steps.get(i) {
        Some(RefStep::Attr(a)) => Some(a.as_str()),
        _ => None,
    };
    match r.root.as_str() {
        "var" => attr(0).map(|a| format!("var.{a}")),
        "local" => attr(0).map(|a| format!("local.{a}")),
        "data" => Some(format!("data.{}.{}", attr(0)?, attr(1)?)),
        "count" | "each" | "path" | "terraform" | "self" | "module" => None,
        root => attr(0).map(|a| format!("{root}.{a}")),
    }
}
