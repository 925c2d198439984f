//! One unit's plan or apply: walk the module graph, evaluate each node in a shared scope,
//! refresh what state records, diff desired against live, and (when applying) perform the
//! operations, writing the state after every one.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use forge_config::{IgnoreChanges, Mode, ResourceBlock, Unit};
use forge_lang::eval::eval_body;
use forge_lang::{Diagnostic, Diagnostics, Scope, eval};
use forge_provider::{
    DataSourceType, Provider, ProviderError, ProviderFactory, ResourceType, Schema, Value,
};
use futures_util::future::join_all;
use tokio::sync::Semaphore;

use crate::addr::{InstanceAddr, InstanceKey, ModuleStep, module_path_string};
use crate::critical_path::{OpLog, OpTiming, resource_references};
use crate::data_reads::DataReads;
use crate::events::{Event, EventSink, OpKind, OpStatus};
use crate::module_graph::{ModuleGraph, NodeKind, provider_key, provider_name_of};
use crate::plan::{Action, Drift, EngineError, OutputChange, PlanMode, ResourceChange, UnitPlan};
use crate::refactor::{Moves, Refactoring};
use crate::schema_util::{check_body, from_state, mark_sensitive, shape, to_state, unknown_object};
use crate::state::{InstanceState, OutputState, provider_address};
use crate::store::StateStore;
use crate::walk::{NodeOutcome, reversed, walk};

/// Conditions (precondition/postcondition) and check blocks, on the runner's scopes.
mod conditions;

/// What every unit run shares: the provider factories, the bound on provider calls in
/// flight, and where events go.
pub struct RunContext {
    pub factories: Vec<Arc<dyn ProviderFactory>>,
    pub permits: Arc<Semaphore>,
    pub parallelism: usize,
    pub events: EventSink,
    /// How often a long operation reports that it is still running.
    pub progress_every: Duration,
    /// Set on interrupt: no new operation starts; those in flight finish and are recorded.
    pub interrupted: Arc<std::sync::atomic::AtomicBool>,
    /// Every provider operation's timing, for the run's critical path.
    pub op_log: Arc<OpLog>,
    /// Data-source reads shared by the units and phases of one process run.
    pub data_reads: Arc<DataReads>,
}

impl RunContext {
    pub fn check_interrupted(&self) -> Result<(), EngineError> {
        if self.interrupted.load(std::sync::atomic::Ordering::SeqCst) {
            Err(EngineError::new("interrupted: not started")
                .hint("the state records what was done; run the command again to continue"))
        } else {
            Ok(())
        }
    }
}

/// The inputs of one unit run.
pub struct UnitRun<'a> {
    pub unit: &'a Unit,
    pub inputs: BTreeMap<String, Value>,
    pub mode: PlanMode,
    pub apply: bool,
    pub refresh: bool,
    /// When applying a plan: the actions it planned; anything else is refused.
    pub planned_actions: Option<BTreeMap<InstanceAddr, Action>>,
    /// Leave the last write of a successful apply (the outputs, after every operation was
    /// written) to the caller, which makes it while the unit's dependents already run.
    pub defer_outputs_write: bool,
    pub ctx: &'a RunContext,
}

#[derive(Default)]
struct Collected {
    changes: Vec<ResourceChange>,
    drift: Vec<Drift>,
    outputs: BTreeMap<String, Value>,
    /// Managed instances the configuration wants, by resource.
    desired: BTreeSet<InstanceAddr>,
    /// Resources whose node finished (their absent keys are orphans).
    completed: BTreeSet<String>,
    /// What the moved blocks re-addressed: new address -> old.
    moves: Moves,
    /// Data sources read, with their values (the plan's prior state lists them).
    data_reads: Vec<(InstanceAddr, Value)>,
    /// The root module's variables that were given or defaulted (`UnitPlan::variables`).
    variables: BTreeMap<String, Value>,
}

/// A module instance's path (empty for the root).
type ModPath = Vec<ModuleStep>;

/// What `count.index` / `each` is for one instance: the root name and its value.
type EachBinding = Option<(&'static str, Value)>;

/// One instance of a module: its path and, under the call's count/for_each, the
/// `count`/`each` value its call's arguments see.
#[derive(Clone)]
struct ModInst {
    path: ModPath,
    binding: Option<(&'static str, Value)>,
}

struct Runner<'a> {
    run: &'a UnitRun<'a>,
    graph: ModuleGraph,
    /// The unit's moved, removed and import blocks.
    refactor: Refactoring,
    /// One scope per module instance: its variables, locals, resources, data sources and
    /// the outputs of the modules it calls (`module.<name>`).
    scopes: Mutex<BTreeMap<ModPath, Scope<'static>>>,
    /// The instances of each module of the graph (by index), once its call has expanded.
    expansions: Mutex<BTreeMap<usize, Vec<ModInst>>>,
    providers: tokio::sync::Mutex<BTreeMap<String, Arc<dyn Provider>>>,
    store: tokio::sync::Mutex<StateStore>,
    /// One state write at a time; see `write_through`.
    writer: tokio::sync::Mutex<()>,
    /// Changes made to the state so far, and how many of them the last write recorded.
    changes: std::sync::atomic::AtomicU64,
    written: std::sync::atomic::AtomicU64,
    /// The journal's last entry (see `journal_through`); its mutex makes the journal's
    /// writes one at a time. `journaled` is its `covers`, readable without waiting.
    journal_tail: tokio::sync::Mutex<JournalTail>,
    journaled: std::sync::atomic::AtomicU64,
    /// Wakes the background writer (`write_behind`) after a journaled change, and once the
    /// operations are over (`operations_done`).
    write_wanted: tokio::sync::Notify,
    operations_done: std::sync::atomic::AtomicBool,
    /// A background write failed: no further operation starts (the journal keeps what
    /// was done), and the run reports this error.
    write_failed: Mutex<Option<EngineError>>,
    collected: Mutex<Collected>,
    /// Condition and check block results, and the check blocks' warnings.
    checks: crate::checks::Collector,
}

/// What the journal holds: the state with changes `1..=covers` (serial `serial`). The
/// backend writes behind copy exactly these bytes, so the backend never holds a serial
/// the journal lacks.
#[derive(Clone, Default)]
struct JournalTail {
    covers: u64,
    serial: u64,
    bytes: Option<Arc<Vec<u8>>>,
}

/// Why a change could not be journaled: the state cannot be encoded (an error of the run),
/// or the file cannot be written (the run goes on without the journal).
enum JournalFailure {
    Encode(EngineError),
    Io(String),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn diag_error(what: String, d: Diagnostics) -> EngineError {
    EngineError::config(what, d)
}

/// Runs one unit; the state store is loaded (and, for apply, locked) by the caller.
pub async fn run_unit(run: &UnitRun<'_>, store: StateStore) -> Result<UnitPlan, Vec<EngineError>> {
    run_unit_keeping_state(run, store).await.0
}

/// Runs one unit and hands the state store back, so a plan and the apply that follows it
/// under the same lock read the state once.
pub async fn run_unit_keeping_state(
    run: &UnitRun<'_>,
    store: StateStore,
) -> (Result<UnitPlan, Vec<EngineError>>, StateStore) {
    let graph = match ModuleGraph::build(run.unit) {
        Ok(g) => g,
        Err(e) => return (Err(vec![e]), store),
    };
    let refactor = match Refactoring::new(&graph, &run.unit.name) {
        Ok(r) => r,
        Err(e) => return (Err(vec![e]), store),
    };
    let mut runner = Runner::new(run, graph, store);
    runner.refactor = refactor;
    let result = runner.execute().await;
    (result, runner.store.into_inner())
}

/// Configures a unit's providers and reads its data sources without its state, so that
/// the unit's run finds them ready (providers are cached by configuration, reads by
/// provider and arguments): the `plan_and_apply` walk does this while the unit's lock
/// and state are still on their way. Only nodes that need no state run here: variables,
/// locals, providers, module expansions and data sources, each only when everything it
/// refers to is one too. Errors are left for the real run to report.
pub async fn warm_providers(run: &UnitRun<'_>) {
    let Ok(graph) = ModuleGraph::build(run.unit) else {
        return;
    };
    let n = graph.nodes.len();
    let mut eligible: Vec<Option<bool>> = vec![None; n];
    fn check(i: usize, graph: &ModuleGraph, eligible: &mut [Option<bool>]) -> bool {
        if let Some(e) = eligible[i] {
            return e;
        }
        eligible[i] = Some(false); // a cycle (refused elsewhere) is not eligible
        let own = matches!(
            graph.nodes[i].1,
            NodeKind::Var(_)
                | NodeKind::Local(_)
                | NodeKind::Provider(_)
                | NodeKind::ModuleCall(_)
                | NodeKind::Data(_)
        );
        let e = own
            && graph.deps[i]
                .clone()
                .into_iter()
                .all(|d| check(d, graph, eligible));
        eligible[i] = Some(e);
        e
    }
    for i in 0..n {
        check(i, &graph, &mut eligible);
    }
    let wanted = |i: usize| matches!(graph.nodes[i].1, NodeKind::Provider(_) | NodeKind::Data(_));
    // Only what the providers and data sources need.
    let mut needed = vec![false; n];
    let mut stack: Vec<usize> = (0..n)
        .filter(|&i| wanted(i) && eligible[i] == Some(true))
        .collect();
    while let Some(i) = stack.pop() {
        if !needed[i] {
            needed[i] = true;
            stack.extend(graph.deps[i].iter().copied());
        }
    }
    // Never read nor written: the nodes run here do not touch state.
    let store = StateStore::detached();
    let deps = graph.deps.clone();
    let runner = Runner::new(run, graph, store);
    walk(&deps, run.ctx.parallelism, |i| {
        let runner = &runner;
        let needed = needed[i];
        async move { if needed { runner.node(i).await } else { Ok(()) } }
    })
    .await;
}

/// The scope a module instance's expressions start from.
///
/// The paths are Terraform's: `path.root` is `.` and `path.module` the module's folder
/// relative to the root module's (`.`, `modules/queue`, `../shared/q`), since values built
/// from them end up in state and must match what Terraform (run by Terragrunt in the root
/// module's folder) recorded; `path.cwd` is absolute. Relative paths given to functions
/// (`file`, `templatefile`, ...) are read from the root module's folder, as Terraform reads
/// them from its working folder.
fn module_scope(unit: &Unit, dir: &Path) -> Scope<'static> {
    let root = &unit.module.dir;
    Scope::new(root.clone())
        .with_root("var", Value::Object(BTreeMap::new()))
        .with_root("local", Value::Object(BTreeMap::new()))
        .with_root("data", Value::Object(BTreeMap::new()))
        .with_root(
            "path",
            Value::object([
                (
                    "module",
                    Value::string(forge_config::relative_path(root, dir)),
                ),
                ("root", Value::string(".")),
                ("cwd", Value::string(unit.dir.display().to_string())),
            ]),
        )
        .with_root(
            "terraform",
            Value::object([("workspace", Value::string("default"))]),
        )
}

impl<'a> Runner<'a> {
    fn new(run: &'a UnitRun<'a>, graph: ModuleGraph, store: StateStore) -> Runner<'a> {
        let root = module_scope(run.unit, &run.unit.module.dir);
        Runner {
            run,
            graph,
            refactor: Refactoring::default(),
            scopes: Mutex::new(BTreeMap::from([(Vec::new(), root)])),
            expansions: Mutex::new(BTreeMap::from([(
                0,
                vec![ModInst {
                    path: Vec::new(),
                    binding: None,
                }],
            )])),
            providers: tokio::sync::Mutex::new(BTreeMap::new()),
            store: tokio::sync::Mutex::new(store),
            writer: tokio::sync::Mutex::new(()),
            changes: Default::default(),
            written: Default::default(),
            journal_tail: Default::default(),
            journaled: Default::default(),
            write_wanted: tokio::sync::Notify::new(),
            operations_done: Default::default(),
            write_failed: Mutex::new(None),
            collected: Mutex::new(Collected::default()),
            checks: Default::default(),
        }
    }
}

impl Runner<'_> {
    /// Re-addresses the state as the moved blocks say, then plans (and applies). A plan
    /// leaves the store as it found it: the moves are the apply's to record.
    async fn execute(&self) -> Result<UnitPlan, Vec<EngineError>> {
        let original = {
            let mut store = self.store.lock().await;
            let original = (!self.run.apply).then(|| store.state.instances.clone());
            let moves = self
                .refactor
                .apply_moves(&mut store.state.instances)
                .map_err(|e| vec![e])?;
            let moved = !moves.is_empty();
            lock(&self.collected).moves = moves;
            if moved && self.run.apply {
                // The new addresses are durable before anything is done at them.
                self.recorded(store).await.map_err(|e| vec![e])?;
            }
            original
        };
        let result = self.plan_and_perform().await;
        if let Some(original) = original {
            self.store.lock().await.state.instances = original;
        }
        result
    }

    async fn plan_and_perform(&self) -> Result<UnitPlan, Vec<EngineError>> {
        let (lineage, serial, existed) = {
            let s = self.store.lock().await;
            (s.state.lineage.clone(), s.state.serial, s.exists())
        };
        let operations = async {
            let outcomes = walk(&self.graph.deps, self.run.ctx.parallelism, |i| self.node(i)).await;
            let orphans = self.orphans().await;
            self.operations_done
                .store(true, std::sync::atomic::Ordering::SeqCst);
            self.write_wanted.notify_one();
            (outcomes, orphans)
        };
        let ((outcomes, orphans), ()) =
            futures_util::future::join(operations, self.write_behind()).await;
        let mut errors: Vec<EngineError> = Vec::new();
        for o in outcomes {
            if let NodeOutcome::Failed(es) = o {
                errors.extend(es);
            }
        }
        if let Err(es) = orphans {
            errors.extend(es);
        }
        if errors.is_empty() {
            errors.extend(self.refactoring_leftovers());
        }
        if errors.is_empty() {
            // Check blocks see the whole module planned (or applied); they only warn.
            self.evaluate_checks().await;
        }
        errors.extend(lock(&self.write_failed).take());
        if errors.is_empty()
            && let Err(e) = self.finish_outputs().await
        {
            errors.push(e);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let collected = std::mem::take(&mut *lock(&self.collected));
        let mut changes = collected.changes;
        changes.sort_by(|a, b| a.addr.cmp(&b.addr));
        let mut drift = collected.drift;
        drift.sort_by(|a, b| a.addr.cmp(&b.addr));
        if self.run.mode == PlanMode::Normal {
            // As Terraform does, report only drift that matters to this plan: objects that
            // are gone, or that the plan changes. Computed attributes that other resources
            // move (a policy's attachment count) are not news.
            let changed: BTreeSet<&InstanceAddr> = changes
                .iter()
                .filter(|c| c.action != Action::NoOp)
                .map(|c| &c.addr)
                .collect();
            drift.retain(|d| d.after.is_none() || changed.contains(&d.addr));
        }
        let output_changes = self.output_changes(&collected.outputs).await;
        let outputs = if self.run.mode == PlanMode::Destroy {
            BTreeMap::new()
        } else {
            collected.outputs
        };
        let (checks, warnings) = self.checks.take();
        let mut data_reads = collected.data_reads;
        data_reads.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(UnitPlan {
            unit: self.run.unit.name.clone(),
            mode: self.run.mode,
            changes,
            drift,
            output_changes,
            outputs,
            lineage: existed.then_some(lineage),
            serial,
            data_reads,
            variables: collected.variables,
            checks,
            warnings,
        })
    }

    async fn node(&self, i: usize) -> Result<(), Vec<EngineError>> {
        let m = self.graph.node_module[i];
        let module = self.graph.modules[m].module.clone();
        let kind = self.graph.nodes[i].1;
        match kind {
            NodeKind::Provider(p) => return self.configure_provider(p).await.map_err(|e| vec![e]),
            NodeKind::ModuleCall(c) => return self.expand_module(c).map_err(|e| vec![e]),
            _ => {}
        }
        // A node of a child module runs once per instance of that module.
        let instances = lock(&self.expansions).get(&m).cloned().unwrap_or_default();
        let module = &module;
        let results = join_all(instances.iter().enumerate().map(|(n, inst)| async move {
            match kind {
                NodeKind::Var(v) => self.variable(m, inst, v).map_err(|e| vec![e]),
                NodeKind::Local(l) => {
                    let local = &module.locals[l];
                    let value = self
                        .with_scope(&inst.path, |scope| eval(&local.expr, scope))
                        .map_err(|d| {
                            vec![diag_error(
                                format!(
                                    "{}: local.{} cannot be evaluated",
                                    self.place(&inst.path),
                                    local.name
                                ),
                                d,
                            )]
                        })?;
                    self.with_scope(&inst.path, |scope| {
                        set_attr(&mut scope.roots, "local", &local.name, value)
                    });
                    Ok(())
                }
                NodeKind::Resource(r) => {
                    self.resource(&module.resources[r], i, m, inst, n == 0)
                        .await
                }
                NodeKind::Data(d) => self.data(&module.data[d], m, inst, n == 0).await,
                NodeKind::Output(o) => self.output(m, inst, o).map_err(|e| vec![e]),
                NodeKind::Provider(_) | NodeKind::ModuleCall(_) => Ok(()),
            }
        }))
        .await;
        let errors: Vec<EngineError> = results
            .into_iter()
            .filter_map(Result::err)
            .flatten()
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        if let NodeKind::Resource(_) = kind {
            // Every instance of the resource is planned: keys state has beyond them are orphans.
            lock(&self.collected)
                .completed
                .insert(self.graph.nodes[i].0.clone());
        }
        Ok(())
    }

    fn unit_name(&self) -> &str {
        &self.run.unit.name
    }

    /// `unit app` or `unit app: module.queue[0]`, for messages.
    fn place(&self, path: &ModPath) -> String {
        if path.is_empty() {
            format!("unit {}", self.unit_name())
        } else {
            format!("unit {}: {}", self.unit_name(), module_path_string(path))
        }
    }

    /// Runs `f` on a module instance's scope (under the lock, so evaluations do not
    /// interleave with writes).
    fn with_scope<R>(&self, path: &ModPath, f: impl FnOnce(&mut Scope<'static>) -> R) -> R {
        let mut scopes = lock(&self.scopes);
        let scope = scopes
            .entry(path.clone())
            .or_insert_with(|| module_scope(self.run.unit, &self.run.unit.module.dir));
        f(scope)
    }

    // ----- module calls -------------------------------------------------------------------

    /// Expands a `module` block in every instance of its caller: evaluates count/for_each,
    /// makes a scope per child instance, and a placeholder `module.<name>` in the caller
    /// that the child's outputs fill in.
    fn expand_module(&self, c: usize) -> Result<(), EngineError> {
        let entry = &self.graph.modules[c];
        let Some((parent, call)) = &entry.parent else {
            return Ok(());
        };
        let callers = lock(&self.expansions)
            .get(parent)
            .cloned()
            .unwrap_or_default();
        let mut children = Vec::new();
        for caller in callers {
            let what = format!("{}: module.{}", self.place(&caller.path), call.name);
            let keys = self.with_scope(&caller.path, |scope| {
                expansion_keys(call.count.as_ref(), call.for_each.as_ref(), scope, &what)
            })?;
            let empty = || Value::Object(BTreeMap::new());
            let placeholder = if call.count.is_some() {
                Value::Tuple(keys.iter().map(|_| empty()).collect())
            } else if call.for_each.is_some() {
                Value::Object(keys.iter().map(|(k, _)| (key_string(k), empty())).collect())
            } else {
                empty()
            };
            self.with_scope(&caller.path, |scope| {
                set_attr(&mut scope.roots, "module", &call.name, placeholder)
            });
            for (key, binding) in keys {
                let mut path = caller.path.clone();
                path.push((call.name.clone(), key));
                lock(&self.scopes)
                    .insert(path.clone(), module_scope(self.run.unit, &entry.module.dir));
                children.push(ModInst { path, binding });
            }
        }
        lock(&self.expansions).insert(c, children);
        Ok(())
    }

    // ----- variables, outputs ---------------------------------------------------------

    fn variable(&self, m: usize, inst: &ModInst, v: usize) -> Result<(), EngineError> {
        let entry = &self.graph.modules[m];
        let var = &entry.module.variables[v];
        let place = self.place(&inst.path);
        // The root's variables come from the unit's inputs; a child's from its module
        // block's arguments, evaluated in the caller's instance.
        let given = match &entry.parent {
            None => self.run.inputs.get(&var.name).cloned(),
            Some((_, call)) => {
                match call.arguments.iter().find(|a| a.name == var.name) {
                    None => None,
                    Some(arg) => {
                        let caller = inst.path[..inst.path.len() - 1].to_vec();
                        let value = self.with_scope(&caller, |scope| {
                            if let Some((root, v)) = &inst.binding {
                                scope.roots.insert((*root).to_string(), v.clone());
                            }
                            let r = eval(&arg.expr, scope);
                            if let Some((root, _)) = &inst.binding {
                                scope.roots.remove(*root);
                            }
                            r
                        });
                        Some(value.map_err(|d| diag_error(format!("{place}: the argument `{}` of module \"{}\" cannot be evaluated", var.name, call.name), d))?)
                    }
                }
            }
        };
        // Whether the value was given or defaulted (not a destroy's stand-in for a missing one).
        let mut set = true;
        let raw = match given {
            Some(x) if !x.is_null() || var.nullable => x,
            _ => match &var.default {
                Some(d) => d.clone(),
                None if self.run.mode == PlanMode::Destroy => {
                    set = false;
                    Value::Unknown
                }
                None => {
                    let hint = match &entry.parent {
                        None => format!(
                            "add `{} = ...` to the inputs of {}",
                            var.name,
                            self.run.unit.config_file.display()
                        ),
                        Some((_, call)) => format!(
                            "set `{} = ...` in the module block at {}",
                            var.name, call.location
                        ),
                    };
                    return Err(diag_error(
                        format!("{place}: no value for the required variable `{}`", var.name),
                        Diagnostic::error(format!(
                            "variable `{}` has no default and is not set",
                            var.name
                        ))
                        .at(var.location.clone())
                        .hint(hint)
                        .into(),
                    ));
                }
            },
        };
        // A sensitive variable's value is converted marked, so a type error cannot quote it.
        let raw = if var.sensitive && !raw.is_null() {
            raw.sensitive()
        } else {
            raw
        };
        let value = var.ty.convert(raw).map_err(|m| {
            diag_error(
                format!(
                    "{place}: the value of variable `{}` does not fit its type",
                    var.name
                ),
                Diagnostic::error(format!("invalid value for variable `{}`: {m}", var.name))
                    .at(var.location.clone())
                    .into(),
            )
        })?;
        let value = if var.sensitive && !value.is_null() {
            value.sensitive()
        } else {
            value
        };
        if value.is_wholly_known() {
            // The module's scope so far (its graph put what the validation refers to before
            // this variable), plus the value being checked.
            let mut check_scope = self.with_scope(&inst.path, |s| s.clone());
            set_attr(&mut check_scope.roots, "var", &var.name, value.clone());
            for validation in &var.validations {
                let ok = eval(&validation.condition, &check_scope).map_err(|d| {
                    diag_error(
                        format!(
                            "{place}: the validation of variable `{}` cannot be evaluated",
                            var.name
                        ),
                        d,
                    )
                })?;
                if ok.as_bool() == Some(false) {
                    let message = eval(&validation.error_message, &check_scope)
                        .ok()
                        .and_then(|m| m.as_str().map(str::to_string))
                        .unwrap_or_else(|| "the validation condition is false".into());
                    return Err(diag_error(
                        format!("{place}: invalid value for variable `{}`", var.name),
                        Diagnostic::error(message)
                            .at(validation.condition.location())
                            .into(),
                    ));
                }
            }
        }
        if set && entry.parent.is_none() {
            lock(&self.collected)
                .variables
                .insert(var.name.clone(), value.clone());
        }
        self.with_scope(&inst.path, |scope| {
            set_attr(&mut scope.roots, "var", &var.name, value)
        });
        Ok(())
    }

    fn output(&self, m: usize, inst: &ModInst, o: usize) -> Result<(), EngineError> {
        let entry = &self.graph.modules[m];
        // The root's outputs are the unit's, which a destroy removes; a child's still feed
        // the expressions of its caller.
        if entry.parent.is_none() && self.run.mode == PlanMode::Destroy {
            return Ok(());
        }
        let place = self.place(&inst.path);
        let out = &entry.module.outputs[o];
        self.output_preconditions(out, inst)?;
        let value = self
            .with_scope(&inst.path, |scope| eval(&out.expr, scope))
            .map_err(|d| {
                diag_error(
                    format!("{place}: output `{}` cannot be evaluated", out.name),
                    d,
                )
            })?;
        if !out.sensitive && value.contains_sensitive() {
            return Err(diag_error(
                format!("{place}: output `{}` refers to sensitive values", out.name),
                Diagnostic::error(
                    "an output that shows a sensitive value must be marked sensitive",
                )
                .at(out.location.clone())
                .hint("add `sensitive = true` to the output block")
                .into(),
            ));
        }
        let value = if out.sensitive {
            value.sensitive()
        } else {
            value
        };
        match inst.path.split_last() {
            None => {
                lock(&self.collected)
                    .outputs
                    .insert(out.name.clone(), value);
            }
            Some(((call, key), caller)) => {
                self.with_scope(&caller.to_vec(), |scope| {
                    set_module_output(&mut scope.roots, call, key.as_ref(), &out.name, value)
                });
            }
        }
        Ok(())
    }

    async fn output_changes(&self, outputs: &BTreeMap<String, Value>) -> Vec<OutputChange> {
        let store = self.store.lock().await;
        let before = &store.state.outputs;
        let mut changes = Vec::new();
        let after_all = match self.run.mode {
            PlanMode::Destroy => BTreeMap::new(),
            // A refresh-only run creates nothing, so an output still unknown depends on an
            // object that is gone: state will not record it (see finish_outputs). Showing it
            // as "known after apply" would be a change no apply ever makes, and the
            // refresh-only plan would never come back empty.
            PlanMode::RefreshOnly => outputs
                .iter()
                .filter(|(_, v)| v.is_wholly_known())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            PlanMode::Normal => outputs.clone(),
        };
        let names: BTreeSet<&String> = before.keys().chain(after_all.keys()).collect();
        for name in names {
            let b = before.get(name).map(|o| o.value.clone());
            let a = after_all.get(name).cloned();
            let action = match (&b, &a) {
                (None, Some(_)) => Action::Create,
                (Some(_), None) => Action::Delete,
                (Some(x), Some(y)) if x.same_as(y) && y.is_wholly_known() => Action::NoOp,
                _ => Action::Update,
            };
            let sensitive = b.as_ref().is_some_and(Value::contains_sensitive)
                || a.as_ref().is_some_and(Value::contains_sensitive);
            changes.push(OutputChange {
                name: name.clone(),
                action,
                before: b,
                after: a,
                sensitive,
            });
        }
        changes
    }

    /// After a successful apply: the state records the outputs (none after destroy).
    async fn finish_outputs(&self) -> Result<(), EngineError> {
        if !self.run.apply {
            return Ok(());
        }
        let outputs = lock(&self.collected).outputs.clone();
        let mut store = self.store.lock().await;
        store.state.outputs = match self.run.mode {
            PlanMode::Destroy => BTreeMap::new(),
            _ => outputs
                .into_iter()
                .filter(|(_, v)| v.is_wholly_known())
                .map(|(k, v)| {
                    let sensitive = v.contains_sensitive();
                    (
                        k,
                        OutputState {
                            value: v,
                            sensitive,
                        },
                    )
                })
                .collect(),
        };
        // Data sources are re-read every run: keep only those the configuration still has.
        let destroy = self.run.mode == PlanMode::Destroy;
        store.state.instances.retain(|a, _| {
            a.mode == Mode::Managed
                || (!destroy && self.graph.block(&a.config_resource()).is_some())
        });
        if self.run.defer_outputs_write {
            return Ok(());
        }
        // The unit's last write: the background writer has stopped, so it is made here.
        self.recorded(store).await?;
        self.write_through(self.changes.load(std::sync::atomic::Ordering::SeqCst))
            .await
    }

    // ----- providers ------------------------------------------------------------------

    async fn configure_provider(&self, p: usize) -> Result<(), EngineError> {
        let block = &self.graph.providers[p];
        let key = provider_key(&block.name, block.alias.as_deref());
        let config = self
            .with_scope(&Vec::new(), |scope| eval_body(&block.body, scope))
            .map_err(|d| {
                diag_error(
                    format!(
                        "unit {}: provider \"{key}\" cannot be evaluated",
                        self.unit_name()
                    ),
                    d,
                )
            })?;
        if !config.is_wholly_known() {
            return Err(EngineError::new(format!("unit {}: provider \"{key}\" depends on values known only after apply", self.unit_name()))
                .cause(format!("provider block at {}", block.location))
                .hint("configure providers from variables whose values are known when planning (not from dependency outputs that do not exist yet)"));
        }
        let provider = self.configure(&block.name, &key, &config).await?;
        self.providers.lock().await.insert(key, provider);
        Ok(())
    }

    async fn configure(
        &self,
        name: &str,
        key: &str,
        config: &Value,
    ) -> Result<Arc<dyn Provider>, EngineError> {
        let factory = self
            .run
            .ctx
            .factories
            .iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.run.ctx.factories.iter().map(|f| f.name()).collect();
                EngineError::new(format!(
                    "unit {}: no provider named \"{name}\"",
                    self.unit_name()
                ))
                .hint(format!("forge provides: {}", known.join(", ")))
            })?;
        let _permit = self
            .run
            .ctx
            .permits
            .acquire()
            .await
            .map_err(|_| EngineError::new("the run was cancelled"))?;
        factory.configure(config).await.map_err(|e| {
            EngineError::provider(
                &format!("unit {}: provider \"{key}\"", self.unit_name()),
                "configuration",
                &e,
            )
        })
    }

    /// The configured provider for a resource type; one without a block is configured
    /// empty, as Terraform does.
    async fn provider_for(
        &self,
        type_name: &str,
        alias: Option<&str>,
    ) -> Result<Arc<dyn Provider>, EngineError> {
        let name = provider_name_of(type_name);
        let key = provider_key(name, alias);
        let mut providers = self.providers.lock().await;
        if let Some(p) = providers.get(&key) {
            return Ok(p.clone());
        }
        if alias.is_some() {
            return Err(EngineError::new(format!(
                "unit {}: no provider \"{key}\" is configured",
                self.unit_name()
            ))
            .hint(format!(
                "add a provider \"{name}\" block with alias = \"{}\"",
                alias.unwrap_or_default()
            )));
        }
        let p = self
            .configure(name, &key, &Value::Object(BTreeMap::new()))
            .await?;
        providers.insert(key, p.clone());
        Ok(p)
    }

    // ----- resources --------------------------------------------------------------------

    /// Evaluates count/for_each and each instance's configuration, shaped by the schema.
    fn instances(
        &self,
        rb: &ResourceBlock,
        schema: &Schema,
        path: &ModPath,
    ) -> Result<Vec<(Option<InstanceKey>, EachBinding, Value)>, EngineError> {
        let addr = InstanceAddr {
            module: path.clone(),
            mode: rb.mode,
            type_name: rb.type_name.clone(),
            name: rb.name.clone(),
            key: None,
        }
        .resource();
        let what = format!("unit {}: {addr}", self.unit_name());
        let mut scopes = lock(&self.scopes);
        let Some(scope) = scopes.get_mut(path) else {
            return Ok(Vec::new());
        };
        let keys = expansion_keys(rb.count.as_ref(), rb.for_each.as_ref(), scope, &what)?;
        let mut out = Vec::with_capacity(keys.len());
        let mut diags = Diagnostics::new();
        for (key, binding) in keys {
            if let Some((root, v)) = &binding {
                scope.roots.insert((*root).to_string(), v.clone());
            }
            match eval_body(&rb.body, scope) {
                Ok(config) => {
                    let shaped = shape(schema, &config);
                    for (name, a) in &schema.attributes {
                        if a.required && shaped.get(name).is_none_or(Value::is_null) {
                            diags.push(
                                Diagnostic::error(format!(
                                    "{addr}: the required argument `{name}` is null"
                                ))
                                .at(rb.location.clone()),
                            );
                        }
                    }
                    out.push((key, binding.clone(), shaped));
                }
                Err(d) => diags.extend(d),
            }
            if let Some((root, _)) = binding {
                scope.roots.remove(root);
            }
        }
        if !diags.is_empty() {
            return Err(diag_error(
                format!("{what}: the configuration cannot be evaluated"),
                diags,
            ));
        }
        Ok(out)
    }

    /// One resource block in one module instance; `first` for the first instance of its
    /// module (schema problems are reported once, not per instance).
    async fn resource(
        &self,
        rb: &ResourceBlock,
        node: usize,
        m: usize,
        inst: &ModInst,
        first: bool,
    ) -> Result<(), Vec<EngineError>> {
        let (_, alias) = self.graph.provider_of(m, rb).map_err(|e| vec![e])?;
        let provider = self
            .provider_for(&rb.type_name, alias.as_deref())
            .await
            .map_err(|e| vec![e])?;
        let rt = provider
            .resource_type(&rb.type_name)
            .ok_or_else(|| vec![unknown_type(rb, provider.resource_type_names())])?;
        let config_addr = &self.graph.nodes[node].0;
        let checks = check_body(rt.schema(), &rb.body, config_addr, &rb.location);
        if checks.has_errors() {
            if !first {
                return Err(Vec::new());
            }
            return Err(vec![diag_error(
                format!(
                    "unit {}: {config_addr} does not match the schema of {}",
                    self.unit_name(),
                    rb.type_name
                ),
                checks,
            )]);
        }
        let instances = self
            .instances(rb, rt.schema(), &inst.path)
            .map_err(|e| vec![e])?;
        if self.run.mode == PlanMode::Normal {
            // Import blocks with for_each say which of these instances they bring in.
            self.with_scope(&Vec::new(), |root| {
                self.refactor.expand_imports(config_addr, root)
            })
            .map_err(|e| e.into_iter().collect::<Vec<_>>())?;
        }
        let deps = self.graph.resource_dependencies(node);
        let provider_addr = provider_address(provider_name_of(&rb.type_name), alias.as_deref());
        let futures = instances.into_iter().map(|(key, binding, config)| {
            let addr =
                InstanceAddr::managed(&rb.type_name, &rb.name, key).in_module(inst.path.clone());
            let rt = rt.clone();
            let deps = deps.clone();
            let provider_addr = provider_addr.clone();
            async move {
                let result = self
                    .instance(
                        rb,
                        rt.as_ref(),
                        &addr,
                        (config, binding),
                        &deps,
                        &provider_addr,
                    )
                    .await;
                (addr, result)
            }
        });
        let results = join_all(futures).await;
        let mut errors = Vec::new();
        let mut values = Vec::new();
        {
            let mut c = lock(&self.collected);
            for (addr, r) in results {
                c.desired.insert(addr.clone());
                match r {
                    Ok(v) => values.push((addr.key, v)),
                    Err(e) => errors.push(e),
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let value = collect_instances(rb, values);
        self.with_scope(&inst.path, |scope| {
            set_attr(&mut scope.roots, &rb.type_name, &rb.name, value)
        });
        Ok(())
    }

    /// Plans (and applies) one managed instance; returns its value for dependents.
    async fn instance(
        &self,
        rb: &ResourceBlock,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        (config, binding): (Value, EachBinding),
        deps: &[String],
        provider_addr: &str,
    ) -> Result<Value, EngineError> {
        let schema = rt.schema();
        let recorded = self
            .store
            .lock()
            .await
            .state
            .instances
            .get(addr)
            .map(|s| from_state(schema, &s.attributes));
        if self.run.mode == PlanMode::Destroy {
            return Ok(recorded.unwrap_or_else(|| unknown_object(schema, None)));
        }
        if self.run.mode == PlanMode::Normal {
            self.resource_conditions(rb, addr, &binding, None)?;
        }
        // An import block's object is read by its id when state does not have it yet;
        // once it does, the block has nothing left to do (as in Terraform).
        let import = self
            .refactor
            .import_for(addr)
            .filter(|_| recorded.is_none() && self.run.mode == PlanMode::Normal);
        let (prior, import_id) = match (import, &recorded, self.run.refresh) {
            (Some(block), _, _) => {
                let (value, id) = self.import_object(rt, addr, &block).await?;
                (Some(value), Some(id))
            }
            (None, Some(r), true) => (self.refresh(rt, addr, r).await?, None),
            (None, r, _) => (r.clone(), None),
        };
        if self.run.mode == PlanMode::RefreshOnly {
            return Ok(prior.unwrap_or_else(|| unknown_object(schema, None)));
        }
        let config = ignore_changes(&rb.lifecycle.ignore_changes, config, prior.as_ref());
        let addr_text = addr.to_string();
        let planned = rt
            .plan(prior.as_ref(), &config)
            .map_err(|e| EngineError::provider(&addr_text, "planning", &e))?;
        let (action, planned) = match &prior {
            None => (Action::Create, planned.planned),
            Some(_) if !planned.requires_replace.is_empty() => {
                let fresh = rt
                    .plan(None, &config)
                    .map_err(|e| EngineError::provider(&addr_text, "planning", &e))?;
                let action = if rb.lifecycle.create_before_destroy {
                    Action::CreateThenDelete
                } else {
                    Action::DeleteThenCreate
                };
                (action, fresh.planned)
            }
            Some(p) if !planned.planned.same_as(p) || !planned.planned.is_wholly_known() => {
                (Action::Update, planned.planned)
            }
            Some(_) => (Action::NoOp, planned.planned),
        };
        let planned = mark_sensitive(schema, planned);
        if action.is_replace() && rb.lifecycle.prevent_destroy {
            return Err(prevent_destroy_error(&addr_text, rb));
        }
        let change = ResourceChange {
            addr: addr.clone(),
            action,
            before: prior.clone(),
            after: Some(planned.clone()),
            requires_replace: if action.is_replace() {
                replace_reasons(rt, prior.as_ref(), &config)
            } else {
                Vec::new()
            },
            reason: None,
            moved_from: lock(&self.collected).moves.get(addr).cloned(),
            importing: import_id,
        };
        if !self.run.apply {
            // Against the planned object: what only apply knows leaves the result unknown.
            self.resource_conditions(rb, addr, &binding, Some(&planned))?;
            lock(&self.collected).changes.push(change);
            return Ok(planned);
        }
        self.check_planned(addr, action)?;
        let result = self
            .perform(
                rt,
                addr,
                action,
                prior.as_ref(),
                &planned,
                deps,
                provider_addr,
            )
            .await?;
        lock(&self.collected).changes.push(change);
        // After the operation is recorded: a failure stops what depends on it.
        self.resource_conditions(rb, addr, &binding, Some(&result))?;
        Ok(result)
    }

    /// Reads the live object; records drift; in a refresh-only apply, writes it to state.
    async fn refresh(
        &self,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        recorded: &Value,
    ) -> Result<Option<Value>, EngineError> {
        let live = self
            .call(addr, OpKind::Reading, false, rt.read(recorded))
            .await?;
        let live =
            live.map(|v| mark_sensitive(rt.schema(), v).mark_paths(&recorded.sensitive_paths()));
        let drifted = match &live {
            None => true,
            Some(v) => !v.same_as(recorded),
        };
        if drifted {
            let typed = |v: &Value| crate::schema_util::typed(rt.schema(), v);
            lock(&self.collected).drift.push(Drift {
                addr: addr.clone(),
                before: typed(recorded),
                after: live.as_ref().map(typed),
            });
            if self.run.apply && self.run.mode == PlanMode::RefreshOnly {
                let mut store = self.store.lock().await;
                match &live {
                    Some(v) => {
                        if let Some(inst) = store.state.instances.get_mut(addr) {
                            inst.attributes = to_state(rt.schema(), v);
                        }
                    }
                    None => {
                        store.state.instances.remove(addr);
                    }
                }
                self.recorded(store).await?;
            }
        }
        Ok(live)
    }

    fn check_planned(&self, addr: &InstanceAddr, action: Action) -> Result<(), EngineError> {
        let Some(planned) = &self.run.planned_actions else {
            return Ok(());
        };
        if action == Action::NoOp || action == Action::Read {
            return Ok(());
        }
        let was = planned.get(addr).copied().unwrap_or(Action::NoOp);
        // Knowing more at apply time may make a planned replacement an update, never the reverse.
        let compatible = was == action
            || (was.is_replace() && (action.is_replace() || action == Action::Update));
        if compatible {
            Ok(())
        } else {
            Err(EngineError::new(format!(
                "{addr}: the plan said {was:?} but applying now needs {action:?}"
            ))
            .cause("the configuration or the infrastructure changed since the plan was made")
            .hint("run forge plan again and apply the new plan"))
        }
    }

    /// Performs one planned operation and writes the state after each provider call.
    #[allow(clippy::too_many_arguments)]
    async fn perform(
        &self,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        action: Action,
        prior: Option<&Value>,
        planned: &Value,
        deps: &[String],
        provider_addr: &str,
    ) -> Result<Value, EngineError> {
        let schema = rt.schema();
        let value_of =
            |v: &Value| mark_sensitive(schema, v.clone()).mark_paths(&planned.sensitive_paths());
        let record = |v: &Value| InstanceState {
            provider: provider_addr.to_string(),
            attributes: to_state(schema, &value_of(v)),
            dependencies: deps.to_vec(),
            schema_version: schema.version,
        };
        match (action, prior) {
            (Action::NoOp, Some(p)) => {
                // Nothing to do in AWS, but the state takes what refresh read (drift that
                // ignore_changes keeps) and the current dependencies.
                let mut store = self.store.lock().await;
                if store.state.instances.get(addr).is_none_or(|s| {
                    s.dependencies != deps
                        || s.schema_version != schema.version
                        || !s.attributes.same_as(&to_state(schema, p))
                }) {
                    store.state.instances.insert(addr.clone(), record(p));
                    self.recorded(store).await?;
                }
                Ok(p.clone())
            }
            (Action::Create, _) => {
                let made = self
                    .call(addr, OpKind::Creating, true, rt.create(planned))
                    .await?;
                self.save(addr, Some(record(&made))).await?;
                Ok(value_of(&made))
            }
            (Action::Update, Some(p)) => {
                let made = self
                    .call(addr, OpKind::Modifying, true, rt.update(p, planned))
                    .await?;
                self.save(addr, Some(record(&made))).await?;
                Ok(value_of(&made))
            }
            (Action::DeleteThenCreate, Some(p)) => {
                self.call(addr, OpKind::Destroying, false, rt.delete(p))
                    .await?;
                self.save(addr, None).await?;
                let made = self
                    .call(addr, OpKind::Creating, true, rt.create(planned))
                    .await?;
                self.save(addr, Some(record(&made))).await?;
                Ok(value_of(&made))
            }
            (Action::CreateThenDelete, Some(p)) => {
                let made = self
                    .call(addr, OpKind::Creating, true, rt.create(planned))
                    .await?;
                self.save(addr, Some(record(&made))).await?;
                self.call(addr, OpKind::Destroying, false, rt.delete(p)).await.map_err(|e| {
                    e.hint(format!("the replacement of {addr} exists and is in state; the old object was not deleted: delete it by hand"))
                })?;
                Ok(value_of(&made))
            }
            (action, _) => Err(EngineError::new(format!(
                "{addr}: cannot {action:?} an object that state does not record"
            ))),
        }
    }

    /// Records one operation's result; returns once the journal (or, without one, a
    /// state write) has it.
    async fn save(
        &self,
        addr: &InstanceAddr,
        inst: Option<InstanceState>,
    ) -> Result<(), EngineError> {
        let mut store = self.store.lock().await;
        match inst {
            Some(i) => store.state.instances.insert(addr.clone(), i),
            None => store.state.instances.remove(addr),
        };
        self.recorded(store).await?;
        fault_injection::after_recorded_operation();
        Ok(())
    }

    /// Records the change just made under `store` and returns once it is durable: in the
    /// journal, with the backend write left to `write_behind`; or, when there is no
    /// journal, once a backend write includes it.
    async fn recorded(
        &self,
        mut store: tokio::sync::MutexGuard<'_, StateStore>,
    ) -> Result<(), EngineError> {
        store.state.serial += 1;
        let change = self
            .changes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        let journal = store.journal.clone();
        drop(store);
        if let Some(journal) = journal {
            match self.journal_through(journal, change).await {
                Ok(()) => {
                    self.write_wanted.notify_one();
                    return Ok(());
                }
                Err(JournalFailure::Encode(e)) => return Err(e),
                Err(JournalFailure::Io(message)) => {
                    // Without the journal, each change waits for the backend instead.
                    self.store.lock().await.journal = None;
                    (self.run.ctx.events)(Event::Notice {
                        unit: Some(self.unit_name().to_string()),
                        message,
                    });
                }
            }
        }
        self.write_through(change).await
    }

    /// Returns once the journal holds change number `change`. Journal writes go one at a
    /// time and each writes the whole state as it is, so changes recorded during a write
    /// share the next one (a group commit): many operations finishing together cost one
    /// fsync, not one each, and the store is locked only to encode.
    async fn journal_through(
        &self,
        journal: Arc<crate::journal::Journal>,
        change: u64,
    ) -> Result<(), JournalFailure> {
        use std::sync::atomic::Ordering::SeqCst;
        let mut tail = self.journal_tail.lock().await;
        if tail.covers >= change {
            return Ok(());
        }
        let (bytes, serial, covers) = {
            let store = self.store.lock().await;
            (
                store.encode_current().map_err(JournalFailure::Encode)?,
                store.state.serial,
                self.changes.load(SeqCst),
            )
        };
        let bytes = Arc::new(bytes);
        let to_write = bytes.clone();
        let writer = journal.clone();
        // The fsync blocks: off the async threads.
        match tokio::task::spawn_blocking(move || writer.write(&to_write)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(JournalFailure::Io(journal.write_failed(e))),
            Err(e) => return Err(JournalFailure::Io(journal.write_failed(e))),
        }
        *tail = JournalTail {
            covers,
            serial,
            bytes: Some(bytes),
        };
        self.journaled.store(covers, SeqCst);
        Ok(())
    }

    /// Returns once the state is written with change number `change` in it. Writes go one
    /// at a time and each writes everything recorded so far (with a journal: everything
    /// the journal holds), so the changes recorded during a write share the next one
    /// instead of queueing one write each; the store is locked only to encode, so
    /// operations go on while a write is in flight.
    async fn write_through(&self, change: u64) -> Result<(), EngineError> {
        use std::sync::atomic::Ordering::SeqCst;
        let _one_at_a_time = self.writer.lock().await;
        if self.written.load(SeqCst) >= change {
            return Ok(());
        }
        let (journal_active, backend, version) = {
            let store = self.store.lock().await;
            (
                store.journal.is_some(),
                store.backend.clone(),
                store.version.clone(),
            )
        };
        let tail = if journal_active {
            Some(self.journal_tail.lock().await.clone())
        } else {
            None
        };
        let (bytes, serial, covers) = match tail {
            Some(JournalTail {
                covers,
                serial,
                bytes: Some(bytes),
            }) if covers >= change => (bytes, serial, covers),
            _ => {
                let store = self.store.lock().await;
                (
                    Arc::new(store.encode_current()?),
                    store.state.serial,
                    self.changes.load(SeqCst),
                )
            }
        };
        let written = backend.write(&bytes, version.as_deref()).await;
        self.store.lock().await.finish_write(written, serial)?;
        self.written.store(covers, SeqCst);
        Ok(())
    }

    /// The backend writes behind the journal, for as long as operations run: whenever
    /// changes are recorded that no write holds yet, one write takes them all. A failed
    /// write stops further operations (`call`); the journal keeps what was done.
    async fn write_behind(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        loop {
            let journal_active = self.store.lock().await.journal.is_some();
            // With a journal, what it holds (the bytes a backend write copies).
            let wanted = if journal_active {
                self.journaled.load(SeqCst)
            } else {
                self.changes.load(SeqCst)
            };
            // Once the operations are over, a caller that makes the unit's last write
            // anyway (`defer_outputs_write`) takes what is left, when the journal holds it:
            // the unit's dependents need not wait for this write.
            if self.operations_done.load(SeqCst) && self.run.defer_outputs_write && journal_active {
                return;
            }
            if wanted > self.written.load(SeqCst) {
                if let Err(e) = self.write_through(wanted).await {
                    *lock(&self.write_failed) = Some(e.hint("the local record .forge/journal.tfstate in the unit's folder keeps every operation; the next run writes it"));
                    return;
                }
                continue;
            }
            if self.operations_done.load(SeqCst) {
                return;
            }
            // `notify_one` leaves a permit when nobody waits, so no wake-up is lost.
            self.write_wanted.notified().await;
        }
    }

    /// One provider call under the shared bound, with progress events when applying.
    async fn call<T>(
        &self,
        addr: &InstanceAddr,
        kind: OpKind,
        report: bool,
        fut: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, EngineError>
    where
        T: IdOf,
    {
        let _permit = self
            .run
            .ctx
            .permits
            .acquire()
            .await
            .map_err(|_| EngineError::new("the run was cancelled"))?;
        if !matches!(
            kind,
            OpKind::Reading | OpKind::Importing | OpKind::PreparingImport
        ) {
            self.run.ctx.check_interrupted().map_err(|e| EngineError {
                message: format!("{addr}: {}", e.message),
                ..e
            })?;
            if lock(&self.write_failed).is_some() {
                return Err(EngineError::new(format!(
                    "{addr}: not started: the state could not be written"
                ))
                .hint("see the state write error; run the command again to continue"));
            }
        }
        let report = report || (self.run.apply && kind == OpKind::Destroying);
        let address = addr.to_string();
        let emit = |status: OpStatus| {
            if report {
                (self.run.ctx.events)(Event::Op {
                    unit: self.unit_name().to_string(),
                    address: address.clone(),
                    kind,
                    status,
                });
            }
        };
        emit(OpStatus::Started);
        let start = Instant::now();
        tokio::pin!(fut);
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + self.run.ctx.progress_every,
            self.run.ctx.progress_every,
        );
        let result = loop {
            tokio::select! {
                r = &mut fut => break r,
                _ = ticker.tick() => emit(OpStatus::Still(start.elapsed())),
            }
        };
        self.log_op(addr, kind, start);
        match result {
            Ok(v) => {
                emit(OpStatus::Done(start.elapsed(), v.id_of()));
                Ok(v)
            }
            Err(e) => {
                emit(OpStatus::Failed(start.elapsed()));
                let doing = match kind {
                    OpKind::Reading => "reading",
                    OpKind::Importing | OpKind::PreparingImport => "importing",
                    OpKind::Creating => "creating",
                    OpKind::Modifying => "updating",
                    OpKind::Destroying => "deleting",
                };
                Err(EngineError::provider(&address, doing, &e))
            }
        }
    }

    /// Logs a finished provider operation with the resources its block refers to.
    fn log_op(&self, addr: &InstanceAddr, kind: OpKind, start: Instant) {
        let resource = addr.config_resource();
        let refers_to = self
            .graph
            .node_named(&resource)
            .map(|n| resource_references(&self.graph, n))
            .unwrap_or_default();
        self.run.ctx.op_log.push(OpTiming {
            unit: self.unit_name().to_string(),
            address: addr.to_string(),
            resource,
            kind,
            start,
            elapsed: start.elapsed(),
            refers_to,
        });
    }

    // ----- data sources ------------------------------------------------------------------

    async fn data(
        &self,
        rb: &ResourceBlock,
        m: usize,
        inst: &ModInst,
        first: bool,
    ) -> Result<(), Vec<EngineError>> {
        let (_, alias) = self.graph.provider_of(m, rb).map_err(|e| vec![e])?;
        let provider = self
            .provider_for(&rb.type_name, alias.as_deref())
            .await
            .map_err(|e| vec![e])?;
        let ds = provider.data_source(&rb.type_name).ok_or_else(|| {
            vec![EngineError::config(
                format!(
                    "unit {}: {} names an unknown data source",
                    self.unit_name(),
                    rb.address()
                ),
                Diagnostic::error(format!(
                    "the {} provider has no data source `{}`",
                    provider_name_of(&rb.type_name),
                    rb.type_name
                ))
                .at(rb.location.clone())
                .into(),
            )]
        })?;
        let checks = check_body(ds.schema(), &rb.body, &rb.address(), &rb.location);
        if checks.has_errors() {
            if !first {
                return Err(Vec::new());
            }
            return Err(vec![diag_error(
                format!(
                    "{}: {} does not match the schema of {}",
                    self.place(&inst.path),
                    rb.address(),
                    rb.type_name
                ),
                checks,
            )]);
        }
        let instances = self
            .instances(rb, ds.schema(), &inst.path)
            .map_err(|e| vec![e])?;
        let provider_addr = provider_address(provider_name_of(&rb.type_name), alias.as_deref());
        let futures = instances.into_iter().map(|(key, binding, config)| {
            let addr = InstanceAddr {
                module: inst.path.clone(),
                mode: Mode::Data,
                type_name: rb.type_name.clone(),
                name: rb.name.clone(),
                key,
            };
            let ds = ds.clone();
            let provider_addr = provider_addr.clone();
            // The configured provider's identity: the cache key of its data reads.
            let provider_id = Arc::as_ptr(&provider) as *const () as usize;
            async move {
                let conditions = self.run.mode != PlanMode::Destroy;
                if conditions && let Err(e) = self.resource_conditions(rb, &addr, &binding, None) {
                    return (addr.key.clone(), Err(e));
                }
                let r = self
                    .data_instance(ds.as_ref(), provider_id, &addr, config, &provider_addr)
                    .await;
                let r = match r {
                    Ok(v) if conditions => self
                        .resource_conditions(rb, &addr, &binding, Some(&v))
                        .map(|()| v),
                    other => other,
                };
                (addr.key.clone(), r)
            }
        });
        let mut values = Vec::new();
        let mut errors = Vec::new();
        for (key, r) in join_all(futures).await {
            match r {
                Ok(v) => values.push((key, v)),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let value = collect_instances(rb, values);
        self.with_scope(&inst.path, |scope| {
            let data = scope
                .roots
                .entry("data".to_string())
                .or_insert_with(|| Value::Object(BTreeMap::new()));
            if let Value::Object(m) = data {
                let by_type = m
                    .entry(rb.type_name.clone())
                    .or_insert_with(|| Value::Object(BTreeMap::new()));
                if let Value::Object(t) = by_type {
                    t.insert(rb.name.clone(), value);
                }
            }
        });
        Ok(())
    }

    async fn data_instance(
        &self,
        ds: &dyn DataSourceType,
        provider_id: usize,
        addr: &InstanceAddr,
        config: Value,
        provider_addr: &str,
    ) -> Result<Value, EngineError> {
        let schema = ds.schema();
        if self.run.mode == PlanMode::Destroy {
            let recorded = self
                .store
                .lock()
                .await
                .state
                .instances
                .get(addr)
                .map(|s| s.attributes.clone());
            return Ok(recorded.unwrap_or_else(|| unknown_object(schema, Some(&config))));
        }
        if !config.is_wholly_known() && !self.run.apply {
            let after = unknown_object(schema, Some(&config));
            lock(&self.collected).changes.push(ResourceChange {
                addr: addr.clone(),
                action: Action::Read,
                before: None,
                after: Some(after.clone()),
                requires_replace: Vec::new(),
                reason: Some("its configuration depends on values known only after apply".into()),
                moved_from: None,
                importing: None,
            });
            return Ok(after);
        }
        let _permit = self
            .run
            .ctx
            .permits
            .acquire()
            .await
            .map_err(|_| EngineError::new("the run was cancelled"))?;
        let start = Instant::now();
        let (value, fresh) = self
            .run
            .ctx
            .data_reads
            .read(provider_id, ds, &config)
            .await
            .map_err(|e| EngineError::provider(&addr.to_string(), "reading", &e))?;
        if fresh {
            self.log_op(addr, OpKind::Reading, start);
        }
        let value = mark_sensitive(schema, value).mark_paths(&config.sensitive_paths());
        lock(&self.collected)
            .data_reads
            .push((addr.clone(), value.clone()));
        if self.run.apply && value.is_wholly_known() {
            let mut store = self.store.lock().await;
            let same = store
                .state
                .instances
                .get(addr)
                .is_some_and(|s| s.attributes.same_as(&to_state(schema, &value)));
            if !same {
                store.state.instances.insert(
                    addr.clone(),
                    InstanceState {
                        provider: provider_addr.to_string(),
                        attributes: to_state(schema, &value),
                        dependencies: Vec::new(),
                        schema_version: schema.version,
                    },
                );
            }
        }
        Ok(value)
    }

    // ----- instances state has and configuration does not ---------------------------------

    async fn orphans(&self) -> Result<(), Vec<EngineError>> {
        let in_config = |a: &InstanceAddr| {
            self.graph
                .block(&a.config_resource())
                .is_some_and(|(_, b)| b.mode == Mode::Managed)
        };
        let (desired, completed) = {
            let c = lock(&self.collected);
            (c.desired.clone(), c.completed.clone())
        };
        let candidates: Vec<(InstanceAddr, InstanceState)> = {
            let store = self.store.lock().await;
            store
                .state
                .instances
                .iter()
                .filter(|(a, _)| a.mode == Mode::Managed)
                .filter(|(a, _)| match self.run.mode {
                    PlanMode::Destroy => true,
                    _ => {
                        !in_config(a)
                            || (completed.contains(&a.config_resource()) && !desired.contains(a))
                    }
                })
                .map(|(a, s)| (a.clone(), s.clone()))
                .collect()
        };
        if candidates.is_empty() {
            return Ok(());
        }
        // Plan each: refresh (not when destroying), check prevent_destroy.
        let mut to_delete: Vec<(InstanceAddr, InstanceState, Arc<dyn ResourceType>)> = Vec::new();
        let mut errors = Vec::new();
        for (addr, inst) in candidates {
            match self.plan_orphan(&addr, &inst).await {
                Ok(Some((live, rt))) => to_delete.push((
                    addr,
                    InstanceState {
                        attributes: live,
                        ..inst
                    },
                    rt,
                )),
                // Already gone outside forge: nothing to delete; the state forgets it.
                Ok(None) if self.run.apply && self.run.mode == PlanMode::Normal => {
                    if let Err(e) = self.save(&addr, None).await {
                        errors.push(e);
                    }
                }
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if self.run.mode == PlanMode::RefreshOnly {
            return Ok(());
        }
        if !self.run.apply {
            let live_modules: BTreeSet<ModPath> = lock(&self.expansions)
                .values()
                .flatten()
                .map(|i| i.path.clone())
                .collect();
            let mut c = lock(&self.collected);
            for (addr, inst, rt) in to_delete {
                let reason = match self.run.mode {
                    PlanMode::Destroy => None,
                    _ if !addr.module.is_empty() && !live_modules.contains(&addr.module) => {
                        Some("its module instance is no longer in the configuration".to_string())
                    }
                    _ if in_config(&addr) => self
                        .graph
                        .block(&addr.config_resource())
                        .map(|(_, b)| crate::refactor::orphan_key_reason(b, &addr.key)),
                    _ => Some("it is no longer in the configuration".to_string()),
                };
                let action = if self.forgets(&addr) {
                    Action::Forget
                } else {
                    Action::Delete
                };
                let moved_from = c.moves.get(&addr).cloned();
                // Typed as the plan shows values: state holds maps as objects.
                let before = crate::schema_util::typed(rt.schema(), &inst.attributes);
                c.changes.push(ResourceChange {
                    addr,
                    action,
                    before: Some(before),
                    after: None,
                    requires_replace: Vec::new(),
                    reason,
                    moved_from,
                    importing: None,
                });
            }
            return Ok(());
        }
        // Objects a removed block lets go of leave the state and stay where they are.
        let (forget, to_delete): (Vec<_>, Vec<_>) =
            to_delete.into_iter().partition(|(a, _, _)| self.forgets(a));
        for (addr, inst, _) in forget {
            self.check_planned(&addr, Action::Forget)
                .map_err(|e| vec![e])?;
            self.save(&addr, None).await.map_err(|e| vec![e])?;
            let moved_from = lock(&self.collected).moves.get(&addr).cloned();
            lock(&self.collected).changes.push(ResourceChange {
                addr,
                action: Action::Forget,
                before: Some(inst.attributes),
                after: None,
                requires_replace: Vec::new(),
                reason: None,
                moved_from,
                importing: None,
            });
        }
        for (addr, _, _) in &to_delete {
            if let Err(e) = self.check_planned(addr, Action::Delete) {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Delete in reverse dependency order: an object goes after everything that used it.
        let deps: Vec<Vec<usize>> = to_delete
            .iter()
            .map(|(_, inst, _)| {
                to_delete
                    .iter()
                    .enumerate()
                    .filter(|(_, (b, _, _))| inst.dependencies.contains(&b.config_resource()))
                    .map(|(j, _)| j)
                    .collect()
            })
            .collect();
        let order = reversed(&deps);
        let outcomes = walk(&order, self.run.ctx.parallelism, |i| {
            let (addr, inst, rt) = &to_delete[i];
            async move {
                self.call(addr, OpKind::Destroying, true, rt.delete(&inst.attributes))
                    .await?;
                self.save(addr, None).await?;
                let moved_from = lock(&self.collected).moves.get(addr).cloned();
                lock(&self.collected).changes.push(ResourceChange {
                    addr: addr.clone(),
                    action: Action::Delete,
                    before: Some(inst.attributes.clone()),
                    after: None,
                    requires_replace: Vec::new(),
                    reason: None,
                    moved_from,
                    importing: None,
                });
                Ok::<(), EngineError>(())
            }
        })
        .await;
        let errors: Vec<EngineError> = outcomes
            .into_iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                NodeOutcome::Failed(e) => Some(e),
                NodeOutcome::Skipped(_) => Some(EngineError::new(format!(
                    "{}: not deleted because an object that depends on it could not be deleted",
                    to_delete[i].0
                ))),
                NodeOutcome::Done(()) => None,
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// True when a `removed` block with `destroy = false` covers this orphan.
    fn forgets(&self, addr: &InstanceAddr) -> bool {
        self.run.mode == PlanMode::Normal
            && self.refactor.removed_for(addr).is_some_and(|r| !r.destroy)
    }

    /// Reads the object an import block names, by its id (evaluated in the root module).
    async fn import_object(
        &self,
        rt: &dyn ResourceType,
        addr: &InstanceAddr,
        import: &crate::refactor::ImportInstance,
    ) -> Result<(Value, String), EngineError> {
        let what = format!("unit {}: the import block for {addr}", self.unit_name());
        let block = &import.block;
        let id = self
            .with_scope(&Vec::new(), |scope| import.id(scope))
            .map_err(|d| diag_error(format!("{what}: its id cannot be evaluated"), d))?;
        let Some(id) = id
            .unmarked()
            .as_str()
            .map(str::to_string)
            .filter(|_| id.is_wholly_known())
        else {
            let why = if id.is_wholly_known() {
                format!("id is a {}, not a string", id.kind_name())
            } else {
                "id depends on values known only after apply".to_string()
            };
            return Err(diag_error(
                format!("{what}: invalid id"),
                Diagnostic::error(why).at(block.id.location()).hint("the id must be a string known when planning (a literal, a variable or a local)").into(),
            ));
        };
        // Terraform reports imports: "Preparing import..." while planning, "Importing... /
        // Import complete" while applying.
        let kind = if self.run.apply {
            OpKind::Importing
        } else {
            OpKind::PreparingImport
        };
        let found = self.call(addr, kind, true, rt.import(&id)).await?;
        let Some(value) = found else {
            return Err(EngineError::new(format!("{addr}: cannot import: no {} with id {id:?} exists", addr.type_name))
                .cause(format!("import block at {}", block.location))
                .hint("check the id: it is the one `terraform import` takes for this type (for aws_sqs_queue, the queue URL)"));
        };
        Ok((mark_sensitive(rt.schema(), value), id))
    }

    /// After the walk: moved blocks whose source the configuration still declares (an
    /// instance key checked once count/for_each are known), and import blocks whose
    /// target is not an instance the configuration declares.
    fn refactoring_leftovers(&self) -> Vec<EngineError> {
        let modules: Vec<ModPath> = lock(&self.expansions)
            .values()
            .flatten()
            .map(|i| i.path.clone())
            .collect();
        let c = lock(&self.collected);
        let mut errors = Vec::new();
        for (old, block) in self.refactor.instance_sources(&modules) {
            if c.desired.contains(&old) {
                errors.push(
                    EngineError::new(format!("unit {}: a moved block moves {old} away, but the configuration still declares it", self.unit_name()))
                        .cause(format!("moved block at {}", block.location))
                        .hint(format!("change count/for_each so the object is declared only as {}, or remove the moved block", block.to.text)),
                );
            }
        }
        if self.run.mode == PlanMode::Normal {
            for (to, at) in &self.refactor.import_targets() {
                if c.completed.contains(&to.config_resource())
                    && !c.desired.contains(to)
                    && lock(&self.expansions)
                        .values()
                        .flatten()
                        .any(|i| i.path == to.module)
                {
                    errors.push(EngineError::config(
                        format!("unit {}: the import block's target {to} is not an instance the configuration declares", self.unit_name()),
                        Diagnostic::error(format!("{to} is not in the resource's count/for_each")).at(at.clone()).hint("use a key the resource's count or for_each has").into(),
                    ));
                }
            }
        }
        errors
    }

    /// Refreshes an orphan; `None` when it is already gone (or refresh-only).
    async fn plan_orphan(
        &self,
        addr: &InstanceAddr,
        inst: &InstanceState,
    ) -> Result<Option<(Value, Arc<dyn ResourceType>)>, EngineError> {
        let block = self
            .graph
            .block(&addr.config_resource())
            .map(|(_, b)| b)
            .filter(|b| b.mode == Mode::Managed);
        if let Some(b) = block
            && b.lifecycle.prevent_destroy
        {
            return Err(prevent_destroy_error(&addr.to_string(), b));
        }
        let (name, alias) = parse_provider_address(&inst.provider)
            .unwrap_or_else(|| (provider_name_of(&addr.type_name).to_string(), None));
        let provider = self
            .provider_for(&format!("{name}_"), alias.as_deref())
            .await?;
        let rt = provider.resource_type(&addr.type_name).ok_or_else(|| {
            EngineError::new(format!("{addr}: the {name} provider has no resource type {}", addr.type_name))
                .hint(format!("remove it from state with `forge state rm {} {addr}` if the object is managed elsewhere", self.unit_name()))
        })?;
        let recorded = from_state(rt.schema(), &inst.attributes);
        if self.run.mode == PlanMode::Destroy || !self.run.refresh {
            return Ok(Some((recorded, rt)));
        }
        let live = self.refresh(rt.as_ref(), addr, &recorded).await?;
        if self.run.mode == PlanMode::RefreshOnly {
            return Ok(None);
        }
        Ok(live.map(|v| (v, rt)))
    }
}

/// Values whose id the progress line shows.
pub trait IdOf {
    fn id_of(&self) -> Option<String> {
        None
    }
}
impl IdOf for Value {
    fn id_of(&self) -> Option<String> {
        self.str_attr("id").map(str::to_string)
    }
}
impl IdOf for Option<Value> {
    fn id_of(&self) -> Option<String> {
        self.as_ref().and_then(IdOf::id_of)
    }
}
impl IdOf for () {}

fn set_attr(roots: &mut BTreeMap<String, Value>, root: &str, name: &str, value: Value) {
    let entry = roots
        .entry(root.to_string())
        .or_insert_with(|| Value::Object(BTreeMap::new()));
    if !matches!(entry, Value::Object(_)) {
        *entry = Value::Object(BTreeMap::new());
    }
    if let Value::Object(m) = entry {
        m.insert(name.to_string(), value);
    }
}

/// Records a child module instance's output in its caller's `module.<call>` value (the
/// placeholder `expand_module` made: an object, a tuple under count, an object by key
/// under for_each).
fn set_module_output(
    roots: &mut BTreeMap<String, Value>,
    call: &str,
    key: Option<&InstanceKey>,
    output: &str,
    value: Value,
) {
    let Some(Value::Object(calls)) = roots.get_mut("module") else {
        return;
    };
    let Some(slot) = calls.get_mut(call) else {
        return;
    };
    let target = match (key, slot) {
        (None, v) => Some(v),
        (Some(InstanceKey::Int(i)), Value::Tuple(xs)) => {
            usize::try_from(*i).ok().and_then(|i| xs.get_mut(i))
        }
        (Some(InstanceKey::Str(k)), Value::Object(m)) => m.get_mut(k),
        _ => None,
    };
    if let Some(Value::Object(o)) = target {
        o.insert(output.to_string(), value);
    }
}

fn key_string(key: &Option<InstanceKey>) -> String {
    match key {
        Some(InstanceKey::Str(s)) => s.clone(),
        Some(InstanceKey::Int(i)) => i.to_string(),
        None => String::new(),
    }
}

/// The instance keys of a block or module call, with the `count`/`each` value each sees;
/// one unkeyed instance without count and for_each.
fn expansion_keys(
    count: Option<&forge_lang::Expr>,
    for_each: Option<&forge_lang::Expr>,
    scope: &Scope<'_>,
    what: &str,
) -> Result<Vec<Binding>, EngineError> {
    if let Some(count) = count {
        let v = eval(count, scope)
            .map_err(|d| diag_error(format!("{what}: count cannot be evaluated"), d))?;
        if v.is_unknown() {
            return Err(diag_error(
                format!("{what}: count depends on values known only after apply"),
                Diagnostic::error("invalid count argument").at(count.location()).hint("apply the resources the count depends on first (forge apply --include-unit ...), or compute count from variables").into(),
            ));
        }
        let n = v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
            diag_error(
                format!("{what}: count must be a whole number of 0 or more"),
                Diagnostic::error(format!("count is a {}", v.kind_name()))
                    .at(count.location())
                    .into(),
            )
        })?;
        Ok((0..n)
            .map(|i| {
                (
                    Some(InstanceKey::Int(i)),
                    Some(("count", Value::object([("index", Value::Number(i as f64))]))),
                )
            })
            .collect())
    } else if let Some(fe) = for_each {
        let v = eval(fe, scope)
            .map_err(|d| diag_error(format!("{what}: for_each cannot be evaluated"), d))?;
        for_each_keys(&v).map_err(|m| {
            diag_error(
                format!("{what}: invalid for_each"),
                Diagnostic::error(m).at(fe.location()).into(),
            )
        })
    } else {
        Ok(vec![(None, None)])
    }
}

/// A resource's value in scope: one object, a tuple (count) or an object by key (for_each).
fn collect_instances(rb: &ResourceBlock, mut values: Vec<(Option<InstanceKey>, Value)>) -> Value {
    values.sort_by(|a, b| a.0.cmp(&b.0));
    if rb.count.is_some() {
        Value::Tuple(values.into_iter().map(|(_, v)| v).collect())
    } else if rb.for_each.is_some() {
        Value::Object(
            values
                .into_iter()
                .map(|(k, v)| (key_string(&k), v))
                .collect(),
        )
    } else {
        values
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .unwrap_or(Value::Null)
    }
}

type Binding = (Option<InstanceKey>, Option<(&'static str, Value)>);

fn for_each_keys(v: &Value) -> Result<Vec<Binding>, String> {
    if !v.is_wholly_known() {
        // Only the keys must be known; values may be unknown.
        if let Some(m) = v.as_map()
            && !v.is_unknown()
        {
            return Ok(m.iter().map(|(k, x)| each(k, x.clone())).collect());
        }
        return Err("the for_each keys depend on values known only after apply; use keys known when planning (e.g. from variables)".into());
    }
    match v.unmarked() {
        Value::Object(m) | Value::Map(m) => Ok(m.iter().map(|(k, x)| each(k, x.clone())).collect()),
        Value::Set(xs) | Value::List(xs) | Value::Tuple(xs) => {
            let mut out = Vec::new();
            for x in xs {
                let s = x.as_str().ok_or_else(|| {
                    format!(
                        "for_each over a set needs strings, found a {}",
                        x.kind_name()
                    )
                })?;
                if !out
                    .iter()
                    .any(|(k, _): &Binding| k == &Some(InstanceKey::Str(s.to_string())))
                {
                    out.push(each(s, x.clone()));
                }
            }
            Ok(out)
        }
        Value::Null => Err("for_each is null; use an empty map or set".into()),
        other => Err(format!(
            "for_each needs a map or a set of strings, found a {}",
            other.kind_name()
        )),
    }
}

fn each(key: &str, value: Value) -> Binding {
    (
        Some(InstanceKey::Str(key.to_string())),
        Some((
            "each",
            Value::object([("key", Value::string(key)), ("value", value)]),
        )),
    )
}

/// The configuration with ignored attributes replaced by their live values.
fn ignore_changes(ignore: &IgnoreChanges, config: Value, prior: Option<&Value>) -> Value {
    let Some(prior) = prior else { return config };
    match (ignore, config) {
        (IgnoreChanges::None, c) => c,
        (IgnoreChanges::All, Value::Object(mut m)) => {
            for (k, v) in m.iter_mut() {
                if let Some(p) = prior.get(k) {
                    *v = p.clone();
                }
            }
            Value::Object(m)
        }
        (IgnoreChanges::Attributes(names), Value::Object(mut m)) => {
            for name in names {
                if let Some(p) = prior.get(name) {
                    m.insert(name.clone(), p.clone());
                }
            }
            Value::Object(m)
        }
        (_, c) => c,
    }
}

fn replace_reasons(rt: &dyn ResourceType, prior: Option<&Value>, config: &Value) -> Vec<String> {
    rt.plan(prior, config)
        .map(|p| p.requires_replace)
        .unwrap_or_default()
}

fn prevent_destroy_error(addr: &str, rb: &ResourceBlock) -> EngineError {
    EngineError::new(format!("{addr} cannot be destroyed: its lifecycle has prevent_destroy = true"))
        .cause(format!("resource block at {}", rb.location))
        .hint("if destroying it is intended, set prevent_destroy = false first (or change the plan so it is not replaced)")
}

fn unknown_type(rb: &ResourceBlock, names: Vec<&'static str>) -> EngineError {
    let mut d = Diagnostic::error(format!(
        "the {} provider has no resource type `{}`",
        provider_name_of(&rb.type_name),
        rb.type_name
    ))
    .at(rb.location.clone());
    if let Some(s) = forge_lang::diagnostic::did_you_mean(&rb.type_name, names.iter().copied()) {
        d = d.hint(format!("did you mean `{s}`?"));
    }
    EngineError::config(
        format!("{} names an unknown resource type", rb.address()),
        d.into(),
    )
}

/// `provider["registry.terraform.io/hashicorp/aws"].west` -> ("aws", Some("west")).
pub fn parse_provider_address(text: &str) -> Option<(String, Option<String>)> {
    let start = text.find("[\"")? + 2;
    let end = text[start..].find("\"]")? + start;
    let name = text[start..end].rsplit('/').next()?.to_string();
    let rest = &text[end + 2..];
    let alias = rest.strip_prefix('.').map(str::to_string);
    Some((name, alias))
}

/// Imports an existing object by id into state under `addr`: configures the providers
/// (and what they refer to), reads the object and records it.
pub async fn import_instance(
    run: &UnitRun<'_>,
    store: StateStore,
    addr: &InstanceAddr,
    id: &str,
) -> Result<Value, EngineError> {
    if store.state.instances.contains_key(addr) {
        return Err(EngineError::new(format!(
            "{addr} is already in the state of unit {}",
            run.unit.name
        ))
        .hint(format!(
            "remove it first with: forge state rm {} {addr}",
            run.unit.dir.display()
        )));
    }
    let graph = ModuleGraph::build(run.unit)?;
    let found = graph
        .block(&addr.config_resource())
        .filter(|(_, b)| b.mode == Mode::Managed)
        .map(|(m, b)| (m, b.clone()));
    let Some((m, block)) = found else {
        return Err(EngineError::new(format!(
            "unit {} has no resource block {}",
            run.unit.name,
            addr.config_resource()
        ))
        .hint(format!(
            "add `resource \"{}\" \"{}\" {{ ... }}` to the module first, then import",
            addr.type_name, addr.name
        )));
    };
    let (_, alias) = graph.provider_of(m, &block)?;
    let block = &block;
    // Only the provider nodes and what they refer to.
    let mut needed = vec![false; graph.nodes.len()];
    let mut stack: Vec<usize> = (0..graph.nodes.len())
        .filter(|&i| matches!(graph.nodes[i].1, NodeKind::Provider(_)))
        .collect();
    while let Some(i) = stack.pop() {
        if !needed[i] {
            needed[i] = true;
            stack.extend(graph.deps[i].iter().copied());
        }
    }
    let deps: Vec<Vec<usize>> = graph.deps.clone();
    let runner = Runner::new(run, graph, store);
    let outcomes = walk(&deps, run.ctx.parallelism, |i| {
        let runner = &runner;
        let needed = needed[i];
        async move { if needed { runner.node(i).await } else { Ok(()) } }
    })
    .await;
    for o in outcomes {
        if let NodeOutcome::Failed(mut es) = o {
            return Err(es.remove(0));
        }
    }
    let provider = runner
        .provider_for(&block.type_name, alias.as_deref())
        .await?;
    let rt = provider
        .resource_type(&block.type_name)
        .ok_or_else(|| unknown_type(block, provider.resource_type_names()))?;
    let found = runner
        .call(addr, OpKind::Reading, false, rt.import(id))
        .await?;
    let Some(value) = found else {
        return Err(EngineError::new(format!(
            "{addr}: no {} with id {id:?} exists",
            block.type_name
        ))
        .hint("check the id: it is the one Terraform's import uses for this type"));
    };
    let value = mark_sensitive(rt.schema(), value);
    let inst = InstanceState {
        provider: provider_address(provider_name_of(&block.type_name), alias.as_deref()),
        attributes: to_state(rt.schema(), &value),
        dependencies: Vec::new(),
        schema_version: rt.schema().version,
    };
    runner.save(addr, Some(inst)).await?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_addresses_parse() {
        assert_eq!(
            parse_provider_address(&provider_address("aws", Some("west"))),
            Some(("aws".into(), Some("west".into())))
        );
        assert_eq!(
            parse_provider_address(&provider_address("fake", None)),
            Some(("fake".into(), None))
        );
    }
}

/// A test hook for crash safety (`tests/cli/crash_recovery.rs`): with
/// `FORGE_FAULT_ABORT_AFTER_OPS=N`, the process aborts right after the N-th recorded
/// operation, as a killed run would, leaving its lock and its journal behind.
mod fault_injection {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    static DONE: AtomicU64 = AtomicU64::new(0);

    pub fn after_recorded_operation() {
        let limit = LIMIT.get_or_init(|| {
            std::env::var("FORGE_FAULT_ABORT_AFTER_OPS")
                .ok()
                .and_then(|v| v.parse().ok())
        });
        if let Some(limit) = limit
            && DONE.fetch_add(1, Ordering::SeqCst) + 1 >= *limit
        {
            std::process::abort();
        }
    }
}
