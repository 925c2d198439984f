//! Terraform's configuration-driven refactoring: `moved` blocks re-address the state
//! before anything is planned, `removed` blocks decide whether an object that left the
//! configuration is destroyed or only forgotten, and `import` blocks name existing objects
//! that a plan reads through the provider's import and an apply records.
//!
//! Addresses in these blocks are relative to the module that declares them; a block in a
//! child module applies to every instance of that module.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use forge_config::{Import, Mode, Moved, Removed};
use forge_lang::{Diagnostic, Diagnostics, Expr, Location, Scope};
use forge_provider::Value;

use crate::addr::{InstanceAddr, InstanceKey, ModuleStep, parse_module_prefix};
use crate::module_graph::{ModuleGraph, NodeKind};
use crate::plan::{EngineError, ErrorKind};
use crate::state::InstanceState;
use crate::unit_graph::find_cycle;

/// A `moved` endpoint: a module path and, for a resource, its type, name and key.
#[derive(Clone, Debug, PartialEq)]
struct Endpoint {
    module: Vec<ModuleStep>,
    resource: Option<(String, String, Option<InstanceKey>)>,
}

impl Endpoint {
    fn parse(text: &str) -> Option<Endpoint> {
        let (module, rest) = parse_module_prefix(text)?;
        if rest.is_empty() {
            return (!module.is_empty()).then_some(Endpoint {
                module,
                resource: None,
            });
        }
        let a =
            InstanceAddr::parse(rest).filter(|a| a.module.is_empty() && a.mode == Mode::Managed)?;
        Some(Endpoint {
            module,
            resource: Some((a.type_name, a.name, a.key)),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// `a.x` -> `a.y`: every instance, keys kept.
    Resource,
    /// `a.x[0]` -> `a.x["k"]` (one side may have no key: the unkeyed instance).
    Instance,
    /// `module.a` -> `module.b`: every instance of the call, keys kept.
    ModuleCall,
    /// `module.a[0]` -> `module.a["k"]`.
    ModuleInstance,
}

/// One `moved` block, resolved.
struct Statement {
    /// The declaring module's call names (empty for the root).
    within: Vec<String>,
    kind: Kind,
    from: Endpoint,
    to: Endpoint,
    block: Moved,
}

impl Statement {
    /// Where `module`/`type.name[key]` (relative to the declaring module instance) goes,
    /// if this statement moves it.
    fn step(
        &self,
        module: &[ModuleStep],
        ty: &str,
        name: &str,
        key: &Option<InstanceKey>,
    ) -> Option<(Vec<ModuleStep>, String, String, Option<InstanceKey>)> {
        let same = |r: &Option<(String, String, Option<InstanceKey>)>| {
            r.as_ref().is_some_and(|(t, n, _)| t == ty && n == name)
        };
        match self.kind {
            Kind::Resource
                if module == self.from.module.as_slice() && same(&self.from.resource) =>
            {
                let (t, n, _) = self.to.resource.clone()?;
                Some((self.to.module.clone(), t, n, key.clone()))
            }
            Kind::Instance
                if module == self.from.module.as_slice()
                    && same(&self.from.resource)
                    && self
                        .from
                        .resource
                        .as_ref()
                        .is_some_and(|(_, _, k)| k == key) =>
            {
                let (t, n, k) = self.to.resource.clone()?;
                Some((self.to.module.clone(), t, n, k))
            }
            Kind::ModuleCall => {
                let (last, parent) = self.from.module.split_last()?;
                let here = module.get(parent.len())?;
                if !module.starts_with(parent) || here.0 != last.0 {
                    return None;
                }
                let (to_last, to_parent) = self.to.module.split_last()?;
                let mut m = to_parent.to_vec();
                m.push((to_last.0.clone(), here.1.clone()));
                m.extend(module[parent.len() + 1..].iter().cloned());
                Some((m, ty.to_string(), name.to_string(), key.clone()))
            }
            Kind::ModuleInstance if module.starts_with(&self.from.module) => {
                let mut m = self.to.module.clone();
                m.extend(module[self.from.module.len()..].iter().cloned());
                Some((m, ty.to_string(), name.to_string(), key.clone()))
            }
            _ => None,
        }
    }

    /// The statement applied to an absolute address, if it moves it.
    fn apply(&self, addr: &InstanceAddr) -> Option<InstanceAddr> {
        let n = self.within.len();
        if addr.mode != Mode::Managed
            || addr.module.len() < n
            || addr.module[..n].iter().map(|s| &s.0).ne(self.within.iter())
        {
            return None;
        }
        let (m, t, name, key) =
            self.step(&addr.module[n..], &addr.type_name, &addr.name, &addr.key)?;
        let mut module = addr.module[..n].to_vec();
        module.extend(m);
        Some(InstanceAddr {
            module,
            mode: Mode::Managed,
            type_name: t,
            name,
            key,
        })
    }

    fn describe(&self) -> String {
        format!(
            "{}: {} -> {}",
            self.block.location, self.block.from.text, self.block.to.text
        )
    }
}

fn config_prefix(within: &[String]) -> String {
    within.iter().map(|n| format!("module.{n}.")).collect()
}

/// The declared location of a resource block or module call at `config_path`
/// (`module.a.aws_sqs_queue.q`, `module.a.module.b`), if the configuration has one.
fn declared_at(graph: &ModuleGraph, config_path: &str) -> Option<Location> {
    let n = graph.node_named(config_path)?;
    let m = graph.node_module[n];
    match graph.nodes[n].1 {
        NodeKind::Resource(r) => Some(graph.modules[m].module.resources[r].location.clone()),
        NodeKind::ModuleCall(c) => graph.modules[c]
            .parent
            .as_ref()
            .map(|(_, call)| call.location.clone()),
        _ => None,
    }
}

/// An endpoint's configuration path without instance keys.
fn config_path(within: &[String], e: &Endpoint) -> String {
    let mut out = config_prefix(within);
    for (name, _) in &e.module {
        out.push_str(&format!("module.{name}."));
    }
    match &e.resource {
        Some((t, n, _)) => out.push_str(&format!("{t}.{n}")),
        None => {
            out.pop();
        }
    }
    out
}

/// How a resource block repeats, for Terraform's implied moves.
#[derive(Clone, Debug)]
enum Repetition {
    /// `count`, at this location (the implied move names it, as Terraform's does).
    Count(Location),
    ForEach,
    /// Neither: one instance without a key.
    Single(Location),
}

/// The unit's refactoring blocks, checked against its configuration.
#[derive(Default)]
pub(crate) struct Refactoring {
    statements: Vec<Statement>,
    /// Managed resource blocks by configuration path (`module.a.aws_sqs_queue.q`) that no
    /// moved block names: where Terraform moves `x` <-> `x[0]` without being told.
    implied: BTreeMap<String, Repetition>,
    removed: Vec<(Vec<String>, Removed)>,
    /// Import targets (absolute) and their blocks.
    pub imports: BTreeMap<InstanceAddr, Import>,
    /// Import blocks with for_each, by the configuration path of the resource they import
    /// into (`module.a.aws_sqs_queue.q`).
    for_each_imports: BTreeMap<String, Vec<Import>>,
    /// Their instances, expanded once the resource is about to be planned (the for_each
    /// may refer to anything the resource may): target -> block and `each`.
    expanded: Mutex<BTreeMap<String, Result<ImportInstances, ()>>>,
}

type ImportInstances = BTreeMap<InstanceAddr, ImportInstance>;

/// One object an import block brings in: the block, and `each` for one with for_each.
#[derive(Clone, Debug)]
pub(crate) struct ImportInstance {
    pub block: Import,
    /// `{ key = ..., value = ... }`.
    pub each: Option<Value>,
}

impl ImportInstance {
    /// The id, evaluated in the root module's scope (with `each` for a for_each block).
    pub(crate) fn id(&self, root: &Scope<'_>) -> Result<Value, Diagnostics> {
        match &self.each {
            None => forge_lang::eval(&self.block.id, root),
            Some(each) => forge_lang::eval(
                &self.block.id,
                &root.clone().with_root("each", each.clone()),
            ),
        }
    }
}

/// Why an instance of a resource block still declared is destroyed: its key left
/// count/for_each, or the block's repetition changed.
pub(crate) fn orphan_key_reason(
    rb: &forge_config::ResourceBlock,
    key: &Option<InstanceKey>,
) -> crate::plan::ChangeReason {
    use crate::plan::ChangeReason;
    match (key, rb.count.is_some(), rb.for_each.is_some()) {
        (Some(InstanceKey::Int(_)), true, _) => ChangeReason::DeleteBecauseCountIndex,
        (Some(InstanceKey::Str(_)), _, true) => ChangeReason::DeleteBecauseEachKey,
        (None, _, _)
        | (Some(InstanceKey::Int(_)), false, _)
        | (Some(InstanceKey::Str(_)), _, false) => ChangeReason::DeleteBecauseWrongRepetition,
    }
}

/// The resource block an import block names (`module.a.aws_sqs_queue.q`), without keys.
pub(crate) fn import_config_resource(im: &Import) -> Option<String> {
    match &im.for_each {
        None => InstanceAddr::parse(&im.to.text).map(|a| a.config_resource()),
        Some(fe) => {
            let mut out: String = fe
                .modules
                .iter()
                .map(|(n, _)| format!("module.{n}."))
                .collect();
            out.push_str(&format!("{}.{}", fe.resource.0, fe.resource.1));
            Some(out)
        }
    }
}

/// The elements of an import block's for_each as `each` objects: a map's or object's
/// keys, a set's elements (key and value alike), a list's indexes (as Terraform 1.7).
fn for_each_elements(v: &Value) -> Result<Vec<(Value, Value)>, String> {
    if !v.is_wholly_known() {
        return Err("the for_each value depends on values known only after apply; import needs it when planning (use variables, locals or data sources)".into());
    }
    if v.contains_sensitive() {
        return Err("the for_each value is sensitive (or holds sensitive values), and its keys would be shown in addresses; use a non-sensitive collection".into());
    }
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Object(m) | Value::Map(m) => Ok(m
            .iter()
            .map(|(k, x)| (Value::string(k), x.clone()))
            .collect()),
        Value::Set(xs) => Ok(xs.iter().map(|x| (x.clone(), x.clone())).collect()),
        Value::List(xs) | Value::Tuple(xs) => Ok(xs
            .iter()
            .enumerate()
            .map(|(i, x)| (Value::Number(i as f64), x.clone()))
            .collect()),
        other => Err(format!(
            "for_each needs a map, a set or a list, found a {}",
            other.kind_name()
        )),
    }
}

/// An instance key from an evaluated `to` key: a whole number or a string.
fn instance_key(v: &Value) -> Result<InstanceKey, String> {
    match v.unmarked() {
        Value::String(s) => Ok(InstanceKey::Str(s.clone())),
        Value::Number(n) if n.fract() == 0.0 && *n >= 0.0 => Ok(InstanceKey::Int(*n as i64)),
        other if !other.is_wholly_known() => Err("the key is not known when planning".into()),
        other => Err(format!(
            "an instance key must be a string or a whole number, found a {}",
            other.kind_name()
        )),
    }
}

/// What `Refactoring::apply_moves` did: new address -> old address.
pub(crate) type Moves = BTreeMap<InstanceAddr, InstanceAddr>;

impl Refactoring {
    /// Reads every module's `moved`, `removed` and `import` blocks; refuses those that
    /// contradict the configuration or each other (checks that need no state).
    pub(crate) fn new(graph: &ModuleGraph, unit: &str) -> Result<Refactoring, EngineError> {
        let mut diags = Vec::new();
        let mut statements = Vec::new();
        let mut removed = Vec::new();
        let mut imports = BTreeMap::new();
        let mut implied = BTreeMap::new();
        let mut for_each_imports: BTreeMap<String, Vec<Import>> = BTreeMap::new();
        for entry in &graph.modules {
            for rb in entry
                .module
                .resources
                .iter()
                .filter(|r| r.mode == Mode::Managed)
            {
                let repetition = match (&rb.count, &rb.for_each) {
                    (Some(c), _) => Repetition::Count(c.location()),
                    (None, Some(_)) => Repetition::ForEach,
                    (None, None) => Repetition::Single(rb.location.clone()),
                };
                implied.insert(
                    format!("{}{}", config_prefix(&entry.path), rb.address()),
                    repetition,
                );
            }
            for mv in &entry.module.moved {
                let (Some(from), Some(to)) =
                    (Endpoint::parse(&mv.from.text), Endpoint::parse(&mv.to.text))
                else {
                    diags.push(
                        forge_lang::Diagnostic::error(format!(
                            "moved block: cannot read the addresses {} and {}",
                            mv.from.text, mv.to.text
                        ))
                        .at(mv.location.clone()),
                    );
                    continue;
                };
                let kind = match (&from.resource, &to.resource) {
                    (Some((_, _, fk)), Some((_, _, tk))) => {
                        if fk.is_some() || tk.is_some() {
                            Kind::Instance
                        } else {
                            Kind::Resource
                        }
                    }
                    (None, None) => {
                        let keyed = |e: &Endpoint| e.module.last().is_some_and(|s| s.1.is_some());
                        if keyed(&from) || keyed(&to) {
                            Kind::ModuleInstance
                        } else {
                            Kind::ModuleCall
                        }
                    }
                    // forge-config refuses a resource moved to a module.
                    _ => continue,
                };
                let st = Statement {
                    within: entry.path.clone(),
                    kind,
                    from,
                    to,
                    block: mv.clone(),
                };
                // Moving a whole resource or call away from something still declared would
                // leave the declaration to plan a new object; Terraform refuses it.
                if matches!(kind, Kind::Resource | Kind::ModuleCall) {
                    let path = config_path(&st.within, &st.from);
                    if let Some(at) = declared_at(graph, &path) {
                        let what = if kind == Kind::Resource {
                            "resource"
                        } else {
                            "module call"
                        };
                        diags.push(
                            forge_lang::Diagnostic::error(format!("moved block: {} is still declared at {at}", mv.from.text))
                                .at(mv.location.clone())
                                .hint(format!("rename the {what} so it is declared as {} instead, or remove this moved block", mv.to.text)),
                        );
                        continue;
                    }
                }
                if let Some(first) = statements
                    .iter()
                    .find(|s: &&Statement| s.within == st.within && s.from == st.from)
                {
                    diags.push(
                        forge_lang::Diagnostic::error(format!(
                            "two moved blocks move {}",
                            mv.from.text
                        ))
                        .at(mv.location.clone())
                        .detail(format!("the other is at {}", first.block.location))
                        .hint("an object moves to one place: keep one of the blocks"),
                    );
                    continue;
                }
                statements.push(st);
            }
            for rm in &entry.module.removed {
                let path = format!("{}{}", config_prefix(&entry.path), rm.from.text);
                if let Some(at) = declared_at(graph, &path) {
                    diags.push(
                        forge_lang::Diagnostic::error(format!(
                            "removed block: {} is still declared in the configuration",
                            rm.from.text
                        ))
                        .at(at)
                        .detail(format!("the removed block is at {}", rm.location))
                        .hint("delete the resource (or module) block, or the removed block"),
                    );
                    continue;
                }
                removed.push((entry.path.clone(), rm.clone()));
            }
            for im in &entry.module.imports {
                let Some(path) = import_config_resource(im) else {
                    continue;
                };
                if graph
                    .block(&path)
                    .is_none_or(|(_, b)| b.mode != Mode::Managed)
                {
                    let (ty, name) = path
                        .rsplit('.')
                        .collect::<Vec<_>>()
                        .get(..2)
                        .map(|p| (p[1].to_string(), p[0].to_string()))
                        .unwrap_or_default();
                    diags.push(
                        forge_lang::Diagnostic::error(format!("import block: the configuration has no resource block for {}", im.to.text))
                            .at(im.to.location.clone())
                            .hint(format!("add `resource \"{ty}\" \"{name}\" {{ ... }}` with the object's arguments (forge does not generate configuration)")),
                    );
                    continue;
                }
                if im.for_each.is_some() {
                    for_each_imports.entry(path).or_default().push(im.clone());
                    continue;
                }
                let Some(to) = InstanceAddr::parse(&im.to.text) else {
                    continue;
                };
                if let Some(first) = imports.get(&to) {
                    let first: &Import = first;
                    diags.push(
                        forge_lang::Diagnostic::error(format!(
                            "two import blocks import into {}",
                            im.to.text
                        ))
                        .at(im.location.clone())
                        .detail(format!("the other is at {}", first.location))
                        .hint("an address holds one object: keep one of the blocks"),
                    );
                    continue;
                }
                imports.insert(to, im.clone());
            }
        }
        // Chains are followed; a chain that comes back to its start has no end.
        let deps: Vec<Vec<usize>> = statements
            .iter()
            .map(|s| {
                statements
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.within == s.within && t.from == s.to)
                    .map(|(j, _)| j)
                    .collect()
            })
            .collect();
        if diags.is_empty()
            && let Some(cycle) = find_cycle(&deps)
        {
            let chain: Vec<String> = cycle.iter().map(|&i| statements[i].describe()).collect();
            return Err(EngineError::new(ErrorKind::Configuration, format!("unit {unit}: moved blocks form a cycle, so there is no final address to move objects to"))
                .cause(chain.join("\n"))
                .hint("a chain of moved blocks must end at an address that no moved block moves from"));
        }
        if !diags.is_empty() {
            return Err(EngineError::config(
                format!(
                    "unit {unit}: the moved, removed or import blocks do not fit the configuration"
                ),
                forge_lang::Diagnostics(diags),
            ));
        }
        // A resource a moved block names (as `from` or `to`, any instance) gets no implied
        // move: the author may want another key than 0 to stay, as Terraform allows.
        for s in &statements {
            for e in [&s.from, &s.to] {
                if e.resource.is_some() {
                    implied.remove(&config_path(&s.within, e));
                }
            }
        }
        implied.retain(|_, r| !matches!(r, Repetition::ForEach));
        Ok(Refactoring {
            statements,
            implied,
            removed,
            imports,
            for_each_imports,
            expanded: Mutex::default(),
        })
    }

    /// Expands the import blocks with for_each that import into `resource` (a configuration
    /// path), evaluating them in the root module's scope; once per resource. `Err(None)`
    /// when an earlier call already reported the error.
    pub(crate) fn expand_imports(
        &self,
        resource: &str,
        root: &Scope<'_>,
    ) -> Result<(), Option<EngineError>> {
        let Some(blocks) = self.for_each_imports.get(resource) else {
            return Ok(());
        };
        let mut expanded = self.expanded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(done) = expanded.get(resource) {
            return done.as_ref().map(|_| ()).map_err(|_| None);
        }
        let result = self.expand(blocks, root);
        expanded.insert(resource.to_string(), result.clone().map_err(|_| ()));
        result.map(|_| ()).map_err(Some)
    }

    fn expand(
        &self,
        blocks: &[Import],
        root: &Scope<'_>,
    ) -> Result<BTreeMap<InstanceAddr, ImportInstance>, EngineError> {
        let mut out: BTreeMap<InstanceAddr, ImportInstance> = BTreeMap::new();
        let mut diags = Diagnostics::new();
        for block in blocks {
            let Some(fe) = &block.for_each else { continue };
            let what = format!("the import block at {}", block.location);
            let v = forge_lang::eval(&fe.collection, root).map_err(|d| {
                EngineError::config(format!("{what}: its for_each cannot be evaluated"), d)
            })?;
            let elements = for_each_elements(&v).map_err(|m| {
                EngineError::config(
                    format!("{what}: invalid for_each"),
                    Diagnostic::error(m).at(fe.collection.location()).into(),
                )
            })?;
            for (key, value) in elements {
                let each = Value::object([("key", key), ("value", value)]);
                let scope = root.clone().with_root("each", each.clone());
                let key_of = |e: &Option<Expr>| -> Result<Option<InstanceKey>, Box<Diagnostic>> {
                    let Some(e) = e else { return Ok(None) };
                    let v = forge_lang::eval(e, &scope).map_err(|d| {
                        Box::new(d.0.into_iter().next().unwrap_or_else(|| {
                            Diagnostic::error("the key cannot be evaluated").at(e.location())
                        }))
                    })?;
                    instance_key(&v)
                        .map(Some)
                        .map_err(|m| Box::new(Diagnostic::error(m).at(e.location())))
                };
                let mut module = Vec::new();
                let mut failed = false;
                for (name, k) in &fe.modules {
                    match key_of(k) {
                        Ok(k) => module.push((name.clone(), k)),
                        Err(d) => {
                            diags.push(*d);
                            failed = true;
                        }
                    }
                }
                let key = match key_of(&fe.resource.2) {
                    Ok(k) => k,
                    Err(d) => {
                        diags.push(*d);
                        continue;
                    }
                };
                if failed {
                    continue;
                }
                let addr = InstanceAddr {
                    module,
                    mode: Mode::Managed,
                    type_name: fe.resource.0.clone(),
                    name: fe.resource.1.clone(),
                    key,
                };
                let other = out
                    .get(&addr)
                    .map(|o| &o.block.location)
                    .or_else(|| self.imports.get(&addr).map(|o| &o.location));
                if let Some(other) = other {
                    // Terraform keeps one of the two silently; which object is meant is unclear.
                    diags.push(
                        Diagnostic::error(format!("two imports into {addr}"))
                            .at(block.to.location.clone())
                            .hint(format!("the for_each gives two elements the same address (the other import is from the block at {other}); make `to`'s keys unique")),
                    );
                    continue;
                }
                out.insert(
                    addr,
                    ImportInstance {
                        block: block.clone(),
                        each: Some(each),
                    },
                );
            }
        }
        if !diags.is_empty() {
            return Err(EngineError::config(
                "import blocks with for_each: the addresses cannot be made",
                diags,
            ));
        }
        Ok(out)
    }

    /// The import block (and `each`) that brings in the object at `addr`, if any.
    pub(crate) fn import_for(&self, addr: &InstanceAddr) -> Option<ImportInstance> {
        if let Some(block) = self.imports.get(addr) {
            return Some(ImportInstance {
                block: block.clone(),
                each: None,
            });
        }
        let expanded = self.expanded.lock().unwrap_or_else(PoisonError::into_inner);
        expanded
            .get(&addr.config_resource())
            .and_then(|r| r.as_ref().ok())
            .and_then(|m| m.get(addr))
            .cloned()
    }

    /// Every import target known so far (for_each ones once expanded), with where its
    /// `to` is written.
    pub(crate) fn import_targets(&self) -> Vec<(InstanceAddr, Location)> {
        let mut out: Vec<(InstanceAddr, Location)> = self
            .imports
            .iter()
            .map(|(a, b)| (a.clone(), b.to.location.clone()))
            .collect();
        let expanded = self.expanded.lock().unwrap_or_else(PoisonError::into_inner);
        for m in expanded.values().flatten() {
            out.extend(
                m.iter()
                    .map(|(a, i)| (a.clone(), i.block.to.location.clone())),
            );
        }
        out
    }

    /// Terraform's implied move of an instance as the state has it: `x` to `x[0]` when
    /// the block now has `count`, `x[0]` to `x` when it has neither count nor for_each.
    /// Module calls get none (Terraform 1.11 plans to destroy and create their contents).
    fn implied_move(&self, addr: &InstanceAddr) -> Option<(InstanceAddr, &Location)> {
        if addr.mode != Mode::Managed {
            return None;
        }
        let (key, at) = match (self.implied.get(&addr.config_resource())?, &addr.key) {
            (Repetition::Count(at), None) => (Some(InstanceKey::Int(0)), at),
            (Repetition::Single(at), Some(InstanceKey::Int(0))) => (None, at),
            _ => return None,
        };
        Some((
            InstanceAddr {
                key,
                ..addr.clone()
            },
            at,
        ))
    }

    /// Re-addresses `instances` as the moved blocks say, following chains; returns what
    /// moved (new address -> old). Refuses to move onto an address state already holds
    /// (or two objects onto one address): Terraform would leave the object and plan to
    /// destroy it, which is rarely what the author of a moved block wants.
    pub(crate) fn apply_moves(
        &self,
        instances: &mut BTreeMap<InstanceAddr, InstanceState>,
    ) -> Result<Moves, EngineError> {
        if self.statements.is_empty() && self.implied.is_empty() {
            return Ok(Moves::new());
        }
        // What made each move: a moved block, or the count (or its absence) that implies it.
        let mut planned: Vec<(InstanceAddr, InstanceAddr, String)> = Vec::new();
        for addr in instances.keys() {
            let mut at = addr.clone();
            let mut used = Vec::new();
            while let Some((i, next)) = self
                .statements
                .iter()
                .enumerate()
                .filter(|(i, _)| !used.contains(i))
                .find_map(|(i, s)| s.apply(&at).map(|n| (i, n)))
            {
                used.push(i);
                at = next;
            }
            if let Some(&last) = used.last() {
                planned.push((
                    addr.clone(),
                    at,
                    format!("moved block at {}", self.statements[last].block.location),
                ));
            } else if let Some((to, by)) = self.implied_move(addr) {
                // Implied moves look at the state as it was, as Terraform's do: an object a
                // moved block brought here is not moved again.
                let why = if to.key.is_some() {
                    format!(
                        "the resource now has count (at {by}), so its object moves to key 0 as Terraform moves it"
                    )
                } else {
                    format!(
                        "the resource at {by} has no count nor for_each any more, so its object at key 0 moves to the address without a key as Terraform moves it"
                    )
                };
                planned.push((addr.clone(), to, why));
            }
        }
        let leaving: BTreeSet<&InstanceAddr> = planned.iter().map(|(old, _, _)| old).collect();
        let mut arriving: BTreeMap<&InstanceAddr, &InstanceAddr> = BTreeMap::new();
        for (old, new, by) in &planned {
            let taken = (instances.contains_key(new) && !leaving.contains(new))
                .then(|| "state already has an object there".to_string());
            let taken = taken.or_else(|| {
                arriving
                    .get(new)
                    .map(|other| format!("{other} moves there too"))
            });
            if let Some(why) = taken {
                return Err(EngineError::new(ErrorKind::Configuration, format!("cannot move {old} to {new}: {why}"))
                    .cause(by.clone())
                    .hint(format!("remove the object in the way from state (forge state rm <unit> {new}), or move it elsewhere with a moved block")));
            }
            arriving.insert(new, old);
        }
        let mut moves = Moves::new();
        let mut taken: Vec<(InstanceAddr, InstanceState)> = Vec::new();
        for (old, new, _) in &planned {
            if let Some(inst) = instances.remove(old) {
                taken.push((new.clone(), inst));
                moves.insert(new.clone(), old.clone());
            }
        }
        instances.extend(taken);
        Ok(moves)
    }

    /// The instances moved blocks move from one by one (`a.x[0]`), in every instance of
    /// their declaring module (`modules`: the module instance paths of the run). The
    /// configuration must not declare them.
    pub(crate) fn instance_sources(
        &self,
        modules: &[Vec<ModuleStep>],
    ) -> Vec<(InstanceAddr, &Moved)> {
        let mut out = Vec::new();
        for s in self.statements.iter().filter(|s| s.kind == Kind::Instance) {
            let Some((t, n, k)) = &s.from.resource else {
                continue;
            };
            for m in modules
                .iter()
                .filter(|m| m.len() == s.within.len() && m.iter().map(|x| &x.0).eq(s.within.iter()))
            {
                let mut module = m.clone();
                module.extend(s.from.module.iter().cloned());
                out.push((
                    InstanceAddr {
                        module,
                        mode: Mode::Managed,
                        type_name: t.clone(),
                        name: n.clone(),
                        key: k.clone(),
                    },
                    &s.block,
                ));
            }
        }
        out
    }

    /// The `removed` block covering an instance that left the configuration, if any.
    pub(crate) fn removed_for(&self, addr: &InstanceAddr) -> Option<&Removed> {
        let path = addr.config_resource();
        self.removed.iter().find_map(|(within, rm)| {
            let target = format!("{}{}", config_prefix(within), rm.from.text);
            (path == target || path.starts_with(&format!("{target}."))).then_some(rm)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(kind: Kind, within: &[&str], from: &str, to: &str) -> Statement {
        let loc = forge_lang::SourceFile::new(
            std::path::PathBuf::from("main.tf"),
            String::from("moved {}"),
        )
        .location(0..1);
        let ba = |t: &str| forge_config::BlockAddress {
            text: t.into(),
            location: loc.clone(),
        };
        Statement {
            within: within.iter().map(|s| s.to_string()).collect(),
            kind,
            from: Endpoint::parse(from).expect("from"),
            to: Endpoint::parse(to).expect("to"),
            block: Moved {
                from: ba(from),
                to: ba(to),
                location: loc.clone(),
            },
        }
    }

    fn a(text: &str) -> InstanceAddr {
        InstanceAddr::parse(text).expect(text)
    }

    #[test]
    fn statements_move_resources_instances_and_modules() {
        let r = st(Kind::Resource, &[], "aws_sqs_queue.a", "aws_sqs_queue.b");
        assert_eq!(
            r.apply(&a("aws_sqs_queue.a[\"k\"]")),
            Some(a("aws_sqs_queue.b[\"k\"]"))
        );
        assert_eq!(r.apply(&a("module.m.aws_sqs_queue.a")), None);
        let i = st(
            Kind::Instance,
            &[],
            "aws_sqs_queue.a[0]",
            "aws_sqs_queue.a[\"x\"]",
        );
        assert_eq!(
            i.apply(&a("aws_sqs_queue.a[0]")),
            Some(a("aws_sqs_queue.a[\"x\"]"))
        );
        assert_eq!(i.apply(&a("aws_sqs_queue.a[1]")), None);
        let m = st(Kind::ModuleCall, &[], "module.old", "module.new");
        assert_eq!(
            m.apply(&a("module.old[2].module.c.aws_sqs_queue.q")),
            Some(a("module.new[2].module.c.aws_sqs_queue.q"))
        );
        let mi = st(Kind::ModuleInstance, &[], "module.q", "module.q[\"eu\"]");
        assert_eq!(
            mi.apply(&a("module.q.aws_sqs_queue.q")),
            Some(a("module.q[\"eu\"].aws_sqs_queue.q"))
        );
        assert_eq!(mi.apply(&a("module.q[0].aws_sqs_queue.q")), None);
        // Declared in module "child": applies in each of its instances.
        let c = st(
            Kind::Resource,
            &["child"],
            "aws_sqs_queue.a",
            "aws_sqs_queue.b",
        );
        assert_eq!(
            c.apply(&a("module.child[1].aws_sqs_queue.a")),
            Some(a("module.child[1].aws_sqs_queue.b"))
        );
        assert_eq!(c.apply(&a("aws_sqs_queue.a")), None);
    }
}
