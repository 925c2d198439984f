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
use crate::plan::{
    Action, ChangeReason, Drift, EngineError, ErrorKind, OutputChange, PlanMode, ResourceChange,
    UnitPlan,
};
use crate::refactor::{Moves, Refactoring};
use crate::schema_util::{check_body, from_state, mark_sensitive, shape, to_state, unknown_object};
use crate::state::{InstanceState, OutputState, provider_address};
use crate::store::StateStore;
use crate::targeting::{NodeSelection, Targeting, UnitTargeting};
use crate::walk::{NodeOutcome, reversed, walk};

mod adoption;
/// Conditions (precondition/postcondition) and check blocks, on the runner's scopes.
mod conditions;
mod data_sources;
mod dependents_first;
mod modules;
mod orphans;
mod providers;
mod recorder;
mod repetition;
/// count/for_each expansion, for commands that evaluate a configuration over state
/// without planning it (`forge console`'s module instances).
pub use repetition::{Binding as InstanceBinding, expansion_keys as instance_keys};
mod resources;
mod values;

pub(crate) use providers::parse_provider_address;
use providers::unknown_type;
use recorder::Recorder;
use repetition::*;
pub(crate) use resources::import_instance;
use resources::*;
use values::set_attr;

/// What every unit run shares: the provider factories, the bound on provider calls in
/// flight, and where events go.
pub(crate) struct RunContext {
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
    /// `-target`, `-exclude` and `-replace`, for every unit of the run.
    pub targeting: Arc<Targeting>,
}

impl RunContext {
    pub(crate) fn check_interrupted(&self) -> Result<(), EngineError> {
        if self.interrupted.load(std::sync::atomic::Ordering::SeqCst) {
            Err(
                EngineError::new(ErrorKind::Interrupted, "interrupted: not started")
                    .hint("the state records what was done; run the command again to continue"),
            )
        } else {
            Ok(())
        }
    }
}

/// What a unit run shares whether it plans or applies: the unit, its inputs, the plan
/// mode (Terraform's three: normal, destroy, refresh-only) and whether recorded objects
/// are read first. [`plan`] and [`apply`] are the two entry points.
pub(crate) struct UnitRun<'a> {
    pub unit: &'a Unit,
    pub inputs: BTreeMap<String, Value>,
    pub mode: PlanMode,
    pub refresh: bool,
    pub ctx: &'a RunContext,
}

impl UnitRun<'_> {
    /// A destroy plan (or its apply): every recorded object goes.
    fn destroying(&self) -> bool {
        self.mode == PlanMode::Destroy
    }

    /// A refresh-only plan (or its apply): state follows the objects, nothing changes.
    fn refresh_only(&self) -> bool {
        self.mode == PlanMode::RefreshOnly
    }

    /// A normal plan (or its apply): the configuration is made true.
    fn normal(&self) -> bool {
        self.mode == PlanMode::Normal
    }
}

/// How [`apply`] carries out a plan.
#[derive(Default)]
pub(crate) struct ApplyOptions {
    /// The actions the plan being applied planned; anything else is refused.
    pub planned_actions: Option<BTreeMap<InstanceAddr, Action>>,
    /// Leave the last write of a successful apply (the outputs, after every operation was
    /// written) to the caller, which makes it while the unit's dependents already run.
    pub defer_outputs_write: bool,
    /// Told each root output the moment its node has run with a wholly known value: the
    /// resources it refers to are applied and recorded, so the value is final and a
    /// dependent unit that reads only such outputs may start (`engine::early_outputs`).
    pub publish: Option<Publish>,
}

/// See [`ApplyOptions::publish`]: the output's name and value.
pub(crate) type Publish = Arc<dyn Fn(&str, &Value) + Send + Sync>;

/// Whether the runner computes a plan or carries one out.
enum Phase {
    Plan,
    Apply(ApplyOptions),
}

impl Phase {
    fn applying(&self) -> bool {
        matches!(self, Phase::Apply(_))
    }

    fn planning(&self) -> bool {
        matches!(self, Phase::Plan)
    }

    fn planned_actions(&self) -> Option<&BTreeMap<InstanceAddr, Action>> {
        match self {
            Phase::Apply(options) => options.planned_actions.as_ref(),
            Phase::Plan => None,
        }
    }

    fn defers_outputs_write(&self) -> bool {
        matches!(self, Phase::Apply(options) if options.defer_outputs_write)
    }

    fn publish(&self) -> Option<&Publish> {
        match self {
            Phase::Apply(options) => options.publish.as_ref(),
            Phase::Plan => None,
        }
    }
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
    /// A data source read a value the state does not record (`UnitPlan::data_refreshed`).
    data_refreshed: bool,
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
    phase: Phase,
    graph: ModuleGraph,
    /// The unit's moved, removed and import blocks.
    refactor: Refactoring,
    /// One scope per module instance: its variables, locals, resources, data sources and
    /// the outputs of the modules it calls (`module.<name>`).
    scopes: Mutex<BTreeMap<ModPath, Scope<'static>>>,
    /// The instances of each module of the graph (by index), once its call has expanded.
    expansions: Mutex<BTreeMap<usize, Vec<ModInst>>>,
    providers: tokio::sync::Mutex<BTreeMap<String, Arc<dyn Provider>>>,
    /// The unit's state, and how each change to it is made durable.
    recorder: Recorder,
    collected: Mutex<Collected>,
    /// Condition and check block results, and the check blocks' warnings.
    checks: crate::checks::Collector,
    /// The `-target`/`-exclude`/`-replace` addresses of this unit.
    targeting: UnitTargeting,
    /// Which graph nodes run under them (all without targets).
    selection: NodeSelection,
    /// Instances replaced delete-then-create whose delete ran before a dependency of theirs
    /// changed (dependents_first.rs), with what state recorded of them: their own node
    /// only creates them, and reports the replacement.
    early_deleted: tokio::sync::Mutex<BTreeMap<InstanceAddr, Value>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn diag_error(what: String, d: Diagnostics) -> EngineError {
    EngineError::config(what, d)
}

/// Plans one unit (in its run's plan mode) and hands the state store back, as it found
/// it, so the apply that follows under the same lock reads the state once. The state
/// store is loaded by the caller.
pub(crate) async fn plan(
    run: &UnitRun<'_>,
    store: StateStore,
) -> (Result<UnitPlan, Vec<EngineError>>, StateStore) {
    run_unit(run, Phase::Plan, store).await
}

/// Applies one unit's plan (made in the run's plan mode), recording every operation, and
/// hands the state store back. The state store is loaded and locked by the caller.
pub(crate) async fn apply(
    run: &UnitRun<'_>,
    options: ApplyOptions,
    store: StateStore,
) -> (Result<UnitPlan, Vec<EngineError>>, StateStore) {
    run_unit(run, Phase::Apply(options), store).await
}

async fn run_unit(
    run: &UnitRun<'_>,
    phase: Phase,
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
    let applying = phase.applying();
    let mut runner = Runner::new(run, phase, graph, store);
    runner.refactor = refactor;
    runner.targeting = run.ctx.targeting.for_unit(&run.unit.name);
    runner.selection = runner.select_nodes();
    let span =
        tracing::info_span!("unit", unit = %run.unit.name, mode = ?run.mode, apply = applying);
    let result = tracing::Instrument::instrument(runner.execute(), span.clone()).await;
    span.in_scope(|| match &result {
        Ok(plan) => tracing::info!(changes = plan.changes.len(), "unit run finished"),
        Err(errors) => tracing::info!(errors = errors.len(), "unit run failed"),
    });
    (result, runner.recorder.into_store())
}

/// Configures a unit's providers and reads its data sources without its state, so that
/// the unit's run finds them ready (providers are cached by configuration, reads by
/// provider and arguments): the `plan_and_apply` walk does this while the unit's lock
/// and state are still on their way. Only nodes that need no state run here: variables,
/// locals, providers, module expansions and data sources, each only when everything it
/// refers to is one too. Errors are left for the real run to report.
pub(crate) async fn warm_providers(run: &UnitRun<'_>) {
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
    let runner = Runner::new(run, Phase::Plan, graph, store);
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
    forge_config::module_scope(&unit.module.dir, dir, &unit.dir)
        .with_root("var", Value::Object(BTreeMap::new()))
        .with_root("local", Value::Object(BTreeMap::new()))
        .with_root("data", Value::Object(BTreeMap::new()))
}

impl<'a> Runner<'a> {
    fn new(
        run: &'a UnitRun<'a>,
        phase: Phase,
        graph: ModuleGraph,
        store: StateStore,
    ) -> Runner<'a> {
        let root = module_scope(run.unit, &run.unit.module.dir);
        let n = graph.nodes.len();
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
            recorder: Recorder::new(store, run, phase.defers_outputs_write()),
            phase,
            collected: Mutex::new(Collected::default()),
            checks: Default::default(),
            targeting: UnitTargeting::default(),
            selection: NodeSelection {
                runs: vec![true; n],
                whole: vec![true; n],
            },
            early_deleted: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// A notice for each `-target`/`-exclude`/`-replace` address of this unit that names
    /// nothing in its configuration or state: a misspelt address must not pass silently.
    async fn announce_unmatched(&self, changes: &[ResourceChange]) {
        let in_state: Vec<InstanceAddr> = self
            .recorder
            .state()
            .await
            .state
            .instances
            .keys()
            .cloned()
            .collect();
        let t = &self.targeting;
        let flagged = t
            .targets
            .iter()
            .map(|a| ("-target", a))
            .chain(t.excludes.iter().map(|a| ("-exclude", a)));
        let mut unmatched: Vec<String> = flagged
            .filter(|(_, a)| {
                !self.graph.nodes.iter().any(|(name, kind)| {
                    matches!(kind, NodeKind::Resource(_) | NodeKind::Data(_)) && a.names_block(name)
                }) && !in_state.iter().any(|s| a.covers(s))
            })
            .map(|(flag, a)| format!("{flag}={}", a.text))
            .collect();
        // A replacement is for an instance the plan has, with a prior object.
        unmatched.extend(
            t.replace
                .iter()
                .filter(|r| {
                    self.run.normal()
                        && !changes.iter().any(|c| {
                            r.covers(&c.addr) && c.reason == Some(ChangeReason::ReplaceByRequest)
                        })
                })
                .map(|r| format!("-replace={}", r.text)),
        );
        for what in unmatched {
            (self.run.ctx.events)(Event::Notice {
                unit: Some(self.unit_name().to_string()),
                message: format!(
                    "{what} matches no resource instance of this unit: nothing is done for it"
                ),
            });
        }
    }

    /// The nodes `-target`/`-exclude` leave in. A destroy walks every node (it only reads
    /// what state records); which objects it deletes is decided among the orphans.
    fn select_nodes(&self) -> NodeSelection {
        let names: Vec<Option<&str>> = self
            .graph
            .nodes
            .iter()
            .map(|(name, kind)| {
                matches!(kind, NodeKind::Resource(_) | NodeKind::Data(_)).then_some(name.as_str())
            })
            .collect();
        let whole = UnitTargeting::default();
        let targeting = if self.run.destroying() {
            &whole
        } else {
            &self.targeting
        };
        targeting.nodes(&names, &self.graph.deps)
    }
}

impl Runner<'_> {
    /// Re-addresses the state as the moved blocks say, then plans (and applies). A plan
    /// leaves the store as it found it: the moves are the apply's to record.
    async fn execute(&self) -> Result<UnitPlan, Vec<EngineError>> {
        let original = {
            let mut store = self.recorder.state().await;
            let original = (self.phase.planning()).then(|| store.state.instances.clone());
            let moves = self
                .refactor
                .apply_moves(&mut store.state.instances)
                .map_err(|e| vec![e])?;
            let moved = !moves.is_empty();
            lock(&self.collected).moves = moves;
            if moved && self.phase.applying() {
                // The new addresses are durable before anything is done at them.
                self.recorder.commit(store).await.map_err(|e| vec![e])?;
            }
            original
        };
        let result = self.plan_and_perform().await;
        if let Some(original) = original {
            self.recorder.state().await.state.instances = original;
        }
        result
    }

    async fn plan_and_perform(&self) -> Result<UnitPlan, Vec<EngineError>> {
        let (lineage, serial, existed) = {
            let s = self.recorder.state().await;
            (s.state.lineage.clone(), s.state.serial, s.exists())
        };
        let operations = async {
            let outcomes = walk(&self.graph.deps, self.run.ctx.parallelism, |i| self.node(i)).await;
            let orphans = self.orphans().await;
            if self.phase.applying()
                && let Err(e) = self.recorder.intents.finish().await
            {
                (self.run.ctx.events)(Event::Notice {
                    unit: Some(self.unit_name().to_string()),
                    message: format!(
                        "cannot update the record of intents beside the journal: {e}; the next run drops those already recorded"
                    ),
                });
            }
            self.recorder.operations_over();
            (outcomes, orphans)
        };
        let ((outcomes, orphans), ()) =
            futures_util::future::join(operations, self.recorder.write_behind()).await;
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
        errors.extend(self.recorder.take_failure());
        if errors.is_empty()
            && let Err(e) = self.finish_outputs().await
        {
            errors.push(e);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let collected = std::mem::take(&mut *lock(&self.collected));
        if self.phase.planning() {
            self.announce_unmatched(&collected.changes).await;
        }
        let mut changes = collected.changes;
        changes.sort_by(|a, b| a.addr.cmp(&b.addr));
        let mut drift = collected.drift;
        drift.sort_by(|a, b| a.addr.cmp(&b.addr));
        if self.run.normal() {
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
        let outputs = if self.run.destroying() {
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
            data_refreshed: collected.data_refreshed,
            variables: collected.variables,
            checks,
            warnings,
        })
    }

    async fn node(&self, i: usize) -> Result<(), Vec<EngineError>> {
        if !self.selection.runs[i] {
            // Left out by -target/-exclude: neither read nor planned, nor its orphans.
            return Ok(());
        }
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
                NodeKind::Data(d) => self.data(&module.data[d], i, m, inst, n == 0).await,
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
}

/// Values whose id the progress line shows.
pub(crate) trait IdOf {
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
