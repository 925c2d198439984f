//! The environment-level runs: plan, apply and destroy walk the unit graph (in reverse
//! for destroy), each unit under its state lock, a failed unit stopping only its dependents.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use forge_config::{Environment, Unit};
use forge_provider::{
    BackendError, BackendFactory, LockInfo, ProviderFactory, StateBackend, Value,
};
use futures_util::FutureExt;
use tokio::sync::Semaphore;

use crate::addr::InstanceAddr;
use crate::critical_path::{CriticalPath, critical_path_through};
use crate::cross_unit::{Board, CrossUnit};
use crate::data_reads::DataReads;
use crate::encryption::UnitEncryption;
use crate::events::{Event, EventSink, no_events};
use crate::journal::Journal;
use crate::local_backend::LocalBackend;
use crate::plan::{Action, EngineError, EnvPlan, ErrorKind, PlanMode, UnitOutcome, UnitPlan};
use crate::plan_promise::{Promised, promises};
use crate::run::{ApplyOptions, RunContext, UnitRun, warm_providers};
use crate::store::{StateStore, backend_error};
use crate::targeting::Targeting;
use crate::unit_graph::UnitGraph;
use crate::walk::{Early, NodeOutcome, reversed, walk, walk_early};
use forge_config::tfvars::VariableArg;

#[derive(Clone, Debug)]
pub struct Options {
    pub parallelism: usize,
    /// Read every recorded object before planning (`-refresh=false` turns it off).
    pub refresh: bool,
    /// How long to keep retrying a held lock.
    pub lock_timeout: Duration,
    /// Only these units (names or folder names); empty means all.
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// How often a long operation reports it is still running.
    pub progress_every: Duration,
    /// Take each unit's state lock (`-lock=false` turns it off, as in Terraform: for when
    /// the backend's locking is broken, at the user's risk).
    pub lock: bool,
    /// `-target`, `-exclude` and `-replace`.
    pub targeting: Targeting,
    /// `-var` and `-var-file`, in command-line order.
    pub variables: Vec<VariableArg>,
    /// With `include`: also every unit that depends on an included one, directly or not.
    pub include_dependents: bool,
    /// The Terraform command this run stands for (`plan`, `apply`, `destroy`, `import`),
    /// which Terragrunt's `exclude` actions name; `None`: `destroy` in a destroy, else
    /// `plan`.
    pub command: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            parallelism: 10,
            refresh: true,
            lock_timeout: Duration::ZERO,
            include: Vec::new(),
            exclude: Vec::new(),
            progress_every: Duration::from_secs(10),
            lock: true,
            targeting: Targeting::default(),
            variables: Vec::new(),
            include_dependents: false,
            command: None,
        }
    }
}

pub struct Engine {
    pub factories: Vec<Arc<dyn ProviderFactory>>,
    pub backends: Vec<Arc<dyn BackendFactory>>,
    pub options: Options,
    pub events: EventSink,
    /// Set it (from a Ctrl-C handler) to stop starting operations; see [`RunContext`].
    pub interrupted: Arc<std::sync::atomic::AtomicBool>,
    /// Data-source reads shared by every run of this engine (see [`DataReads`]).
    pub data_reads: Arc<DataReads>,
    /// The key services state encryption may use (`aws_kms`): the binary hands in AWS KMS;
    /// without one, a configuration naming `aws_kms` is an error saying so.
    pub key_services: Vec<Arc<dyn forge_provider::KeyServiceFactory>>,
    /// Each unit's state encryption, built once per run (its key derivation is slow by
    /// design, and a KMS key a request), by unit folder.
    encryptions: Arc<Mutex<BTreeMap<std::path::PathBuf, Arc<UnitEncryption>>>>,
    /// Runs the units' Terragrunt hooks (the binary's); `None` runs none, and a unit
    /// with a hook to run fails saying so.
    pub hooks: Option<Arc<dyn crate::unit_turn::HookRunner>>,
}

/// What to apply in one unit: the plan's actions and the state it was made against.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyTarget {
    pub unit: String,
    pub lineage: Option<String>,
    pub serial: u64,
    pub actions: BTreeMap<InstanceAddr, Action>,
    /// Whether applying writes the state ([`UnitPlan::writes_state`]); when not, the
    /// unit is left alone.
    pub writes_state: bool,
    /// A reviewed plan's promises (`apply FILE`): the unit is re-planned under its lock
    /// and applied only when the new plan keeps them. `None` for a plan made in this run.
    pub promises: Option<Promised>,
}

impl ApplyTarget {
    pub fn from_plan(p: &UnitPlan) -> ApplyTarget {
        ApplyTarget {
            unit: p.unit.clone(),
            lineage: p.lineage.clone(),
            serial: p.serial,
            actions: p
                .changes
                .iter()
                .map(|c| (c.addr.clone(), c.action))
                .collect(),
            writes_state: p.writes_state(),
            promises: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct UnitApplied {
    /// What was done (the changes performed, drift accepted, outputs written).
    pub result: Option<UnitPlan>,
    pub elapsed: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnvApply {
    pub units: Vec<(String, UnitOutcome<UnitApplied>)>,
    pub elapsed: Duration,
    /// The longest chain of dependent provider operations of this apply.
    pub critical_path: CriticalPath,
    /// The plans `plan_and_apply` made, one per selected unit (`None` for `apply`, whose
    /// caller has the plan).
    pub plan: Option<EnvPlan>,
    /// What the units that failed (or were interrupted) did before they stopped: the
    /// provider calls that succeeded, counted as the plan counts them.
    pub done_in_failed_units: crate::plan::Counts,
}

impl EnvApply {
    pub fn failed(&self) -> bool {
        self.units
            .iter()
            .any(|(_, o)| !matches!(o, UnitOutcome::Done(_)))
    }
}

/// The plan of a destroy whose unit's state records no object and that has no pending
/// create intent: there is nothing to delete, so nothing of the unit is evaluated (its inputs may need outputs of
/// dependencies this or an earlier destroy already removed). Outputs a destroy cut short
/// left in state are shown going away. `None` for any other run.
fn nothing_to_destroy(unit: &Unit, mode: PlanMode, store: &StateStore) -> Option<UnitPlan> {
    if mode != PlanMode::Destroy || !store.state.instances.is_empty() {
        return None;
    }
    // A create an earlier run started and never recorded may have made an object: the
    // destroy looks for it (`run/orphans.rs`).
    if store
        .journal
        .as_ref()
        .is_some_and(|j| crate::intents::IntentBook::any_beside(j.path()))
    {
        return None;
    }
    let output_changes = store
        .state
        .outputs
        .iter()
        .map(|(name, output)| crate::plan::OutputChange {
            name: name.clone(),
            action: crate::plan::Action::Delete,
            before: Some(output.value.clone()),
            after: None,
            sensitive: output.sensitive,
        })
        .collect();
    Some(UnitPlan {
        unit: unit.name.clone(),
        mode,
        changes: Vec::new(),
        drift: Vec::new(),
        output_changes,
        outputs: BTreeMap::new(),
        lineage: store.exists().then(|| store.state.lineage.clone()),
        serial: store.state.serial,
        data_reads: Vec::new(),
        data_refreshed: false,
        variables: BTreeMap::new(),
        checks: Vec::new(),
        warnings: Vec::new(),
    })
}

/// Readies the state of a unit with nothing to destroy for its write, if it needs one:
/// outputs a destroy cut short left behind are removed, and a journal taken from an
/// earlier run must reach the backend.
fn needs_write_when_nothing_to_destroy(store: &mut StateStore) -> bool {
    let leftover_outputs = !store.state.outputs.is_empty();
    store.state.outputs.clear();
    leftover_outputs || store.recovered
}

/// Why a lock's holder is known to be gone: a forge process of this same machine that no
/// longer runs. `None` for a lock Terraform took, or one whose holder runs or cannot be
/// seen from here (see `lock_holder`).
fn gone_holder(holder: &LockInfo) -> Option<String> {
    let process = holder.process.as_ref()?;
    match crate::lock_holder::holder_state(process) {
        crate::lock_holder::HolderState::Gone(why) => {
            Some(format!("PID {} on {}: {why}", process.pid, process.host))
        }
        _ => None,
    }
}

/// The changes the failed units of a run made before they stopped, from the run's log of
/// provider calls (a replacement counts as one destroy and one create).
fn done_in_failed_units(
    units: &[(String, UnitOutcome<UnitApplied>)],
    ctx: &RunContext,
) -> crate::plan::Counts {
    let failed: Vec<&str> = units
        .iter()
        .filter(|(_, o)| matches!(o, UnitOutcome::Failed(_)))
        .map(|(name, _)| name.as_str())
        .collect();
    let mut counts = crate::plan::Counts::default();
    for op in ctx.op_log.ops() {
        if !op.succeeded || !failed.contains(&op.unit.as_str()) {
            continue;
        }
        match op.kind {
            crate::OpKind::Creating => counts.add += 1,
            crate::OpKind::Modifying => counts.change += 1,
            crate::OpKind::Destroying => counts.destroy += 1,
            crate::OpKind::Importing => counts.import += 1,
            crate::OpKind::Reading | crate::OpKind::PreparingImport => {}
        }
    }
    counts
}

/// A run-wide description of who holds a lock.
fn lock_info(operation: &str, path: String) -> LockInfo {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    LockInfo {
        id: uuid::Uuid::new_v4().to_string(),
        operation: operation.to_string(),
        info: String::new(),
        who: format!("{user}@{host}"),
        version: env!("CARGO_PKG_VERSION").to_string(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        path,
        process: crate::lock_holder::this_process().map(Box::new),
        lease: Some(forge_provider::LockLease {
            term: crate::fault_injection::lease_term(),
            expires: None,
        }),
    }
}

impl Engine {
    pub fn new(
        factories: Vec<Arc<dyn ProviderFactory>>,
        backends: Vec<Arc<dyn BackendFactory>>,
    ) -> Engine {
        Engine {
            factories,
            backends,
            options: Options::default(),
            events: no_events(),
            interrupted: Default::default(),
            data_reads: Default::default(),
            key_services: Vec::new(),
            encryptions: Default::default(),
            hooks: None,
        }
    }

    /// The same engine with these key services for state encryption (`aws_kms`).
    pub fn with_key_services(
        mut self,
        services: Vec<Arc<dyn forge_provider::KeyServiceFactory>>,
    ) -> Engine {
        self.key_services = services;
        self
    }

    fn emit(&self, e: Event) {
        (self.events)(e);
    }

    fn context(&self) -> RunContext {
        RunContext {
            factories: self.factories.clone(),
            permits: Arc::new(Semaphore::new(self.options.parallelism.max(1))),
            parallelism: self.options.parallelism.max(1),
            events: self.events.clone(),
            progress_every: self.options.progress_every,
            interrupted: self.interrupted.clone(),
            op_log: Default::default(),
            data_reads: self.data_reads.clone(),
            targeting: Arc::new(self.options.targeting.clone()),
        }
    }

    /// The unit's state and plan encryption (Terragrunt's `remote_state { encryption }`
    /// or OpenTofu's `terraform { encryption }`), `None` when it configures none.
    pub fn encryption(&self, unit: &Unit) -> Result<Option<Arc<UnitEncryption>>, EngineError> {
        let from_remote_state = unit
            .remote_state
            .as_ref()
            .and_then(|r| r.encryption.as_ref());
        let settings = match (from_remote_state, unit.module.encryption.as_ref()) {
            (None, None) => return Ok(None),
            (Some(a), Some(b)) => {
                return Err(EngineError::new(
                    ErrorKind::Configuration,
                    format!("unit {}: encryption is configured twice, at {} and {}", unit.name, a.location, b.location),
                )
                .hint("keep one: Terragrunt writes remote_state's encryption into the module's terraform block, where OpenTofu refuses a second one"));
            }
            (Some(s), None) | (None, Some(s)) => s,
        };
        let mut cache = self.encryptions.lock().map_err(|_| {
            EngineError::new(ErrorKind::Internal, "the encryption cache is poisoned")
        })?;
        if let Some(e) = cache.get(&unit.dir) {
            return Ok(Some(e.clone()));
        }
        // A KMS key provider acts as the unit does, as its state backend does.
        let mut services = crate::encryption::KeyServices {
            factories: &self.key_services,
            role: unit.settings.role(),
            notices: Vec::new(),
            check_only: false,
        };
        let built = UnitEncryption::from_settings(settings, &mut services).map_err(|e| {
            EngineError::new(ErrorKind::Configuration, format!("unit {}: {e}", unit.name))
                .cause(format!("encryption at {}", settings.location))
        })?;
        for message in services.notices {
            self.emit(Event::Notice {
                unit: Some(unit.name.clone()),
                message,
            });
        }
        let built = Arc::new(built);
        cache.insert(unit.dir.clone(), built.clone());
        Ok(Some(built))
    }

    /// The plan encryption of the unit named `name` in `env` (saved plans).
    pub fn plan_cipher(
        &self,
        env: &Environment,
        name: &str,
    ) -> Result<Option<Arc<crate::encryption::TargetCipher>>, EngineError> {
        let unit = env.unit(name).ok_or_else(|| {
            EngineError::new(
                ErrorKind::Configuration,
                format!("unit {name} is not in {}", env.dir.display()),
            )
        })?;
        Ok(self.encryption(unit)?.and_then(|e| e.plan.clone()))
    }

    /// The unit's journal, encrypted as its state is.
    fn journal(&self, unit: &Unit) -> Result<Journal, EngineError> {
        let cipher = self.encryption(unit)?.and_then(|e| e.state.clone());
        Ok(Journal::for_unit(&unit.dir).encrypted_with(cipher))
    }

    /// The backend that holds a unit's state: its `remote_state`, or the local file; seen
    /// through the unit's state encryption when it has one.
    pub async fn backend(&self, unit: &Unit) -> Result<Arc<dyn StateBackend>, EngineError> {
        let cipher = self.encryption(unit)?.and_then(|e| e.state.clone());
        let backend = self.plain_backend(unit).await?;
        Ok(match cipher {
            Some(c) => Arc::new(crate::encrypted_backend::EncryptedBackend::new(backend, c)),
            None => backend,
        })
    }

    async fn plain_backend(&self, unit: &Unit) -> Result<Arc<dyn StateBackend>, EngineError> {
        let Some(rs) = &unit.remote_state else {
            return Ok(Arc::new(LocalBackend::for_unit(&unit.dir)));
        };
        if rs.backend == "local" {
            let path = rs
                .config
                .str_attr("path")
                .map(|p| unit.dir.join(p))
                .unwrap_or_else(|| unit.dir.join(".forge").join("terraform.tfstate"));
            return Ok(Arc::new(LocalBackend::at(path)));
        }
        let factory = self
            .backends
            .iter()
            .find(|b| b.backend_type() == rs.backend)
            .ok_or_else(|| {
                let known: Vec<&str> = self
                    .backends
                    .iter()
                    .map(|b| b.backend_type())
                    .chain(["local"])
                    .collect();
                EngineError::new(
                    ErrorKind::Configuration,
                    format!(
                        "unit {}: remote_state backend \"{}\" is not supported",
                        unit.name, rs.backend
                    ),
                )
                .cause(format!("remote_state at {}", rs.location))
                .hint(format!("forge supports: {}", known.join(", ")))
            })?;
        // As under Terragrunt, the unit's iam_role is also who reads and writes its state.
        let role = unit.settings.role();
        let backend = factory.open_as(&rs.config, role).await.map_err(|e| {
            EngineError::new(
                ErrorKind::Backend,
                format!(
                    "unit {}: cannot open the {} state backend",
                    unit.name, rs.backend
                ),
            )
            .cause(e.to_string())
        })?;
        self.report_backend_notices(Some(&unit.name));
        Ok(backend)
    }

    /// The backends' notices gathered so far. A backend may gather some after `open` has
    /// returned (the s3 backend's bucket and table checks finish while the lock and the
    /// read run, and by the time the read returns): each is drained after opening, after
    /// the state is read, and at the end of a run, so that none is lost and each shows once.
    fn report_backend_notices(&self, unit: Option<&str>) {
        for factory in &self.backends {
            for message in factory.take_notices() {
                self.emit(Event::Notice {
                    unit: unit.map(str::to_string),
                    message,
                });
            }
        }
    }

    /// Takes a unit's lock, retrying with backoff up to the lock timeout.
    pub async fn lock(
        &self,
        unit: &Unit,
        backend: &dyn StateBackend,
        operation: &str,
    ) -> Result<LockInfo, EngineError> {
        let info = lock_info(operation, backend.describe());
        let start = Instant::now();
        let mut wait = Duration::from_millis(200);
        let mut announced = false;
        // The holders released as gone: each at most once, so that a backend that keeps
        // refusing cannot keep this loop going.
        let mut released: Vec<String> = Vec::new();
        // The lapsed leases taken over (or tried): each at most once, for the same reason.
        let mut taken_over: Vec<String> = Vec::new();
        loop {
            match backend.lock(&info).await {
                Ok(()) => {
                    tracing::debug!(unit = %unit.name, lock_id = %info.id, state = %backend.describe(), "state lock taken");
                    return Ok(info);
                }
                // Retried until the whole timeout has passed (the last wait cut to what is
                // left), then asked once more, as Terraform's -lock-timeout does.
                Err(BackendError::Locked(holder))
                    if !released.contains(&holder.id)
                        && let Some(gone) = gone_holder(&holder) =>
                {
                    released.push(holder.id.clone());
                    // Only the exact lock read: a lock taken meanwhile by a live run has
                    // another ID, and the backend refuses to release it.
                    match backend.unlock(&holder.id, false).await {
                        Ok(()) => self.emit(Event::Notice {
                            unit: Some(unit.name.clone()),
                            message: format!(
                                "released the state lock of a forge run that is gone ({gone}): held by {} since {} for {} (lock ID {}); the unit's journal in this folder, if any, keeps what it recorded",
                                holder.who, holder.created, holder.operation, holder.id
                            ),
                        }),
                        // Someone else took or released it in between: try again.
                        Err(BackendError::Locked(_)) => {}
                        Err(e) => return Err(backend_error("release the lock of a gone run on", backend, &e)),
                    }
                }
                Err(BackendError::Locked(holder))
                    if !taken_over.contains(&holder.id)
                        && let Some(lapsed) = crate::lock_holder::lapsed_for(
                            &holder,
                            self.options.lock_timeout,
                            std::time::SystemTime::now(),
                        ) =>
                {
                    taken_over.push(holder.id.clone());
                    // Only the exact lock item read, with the lease seen lapsed: a renewal
                    // or another taker in between makes the backend refuse.
                    match backend.take_over(&holder, &info).await {
                        Ok(()) => {
                            self.emit(Event::Notice {
                                unit: Some(unit.name.clone()),
                                message: format!(
                                    "took over the state lock held by {} since {} for {} (lock ID {}): its lease lapsed {}s ago, longer than --lock-timeout {}s, so that run stopped renewing it; its journal, on the machine it ran, keeps what it recorded",
                                    holder.who,
                                    holder.created,
                                    holder.operation,
                                    holder.id,
                                    lapsed.as_secs(),
                                    self.options.lock_timeout.as_secs()
                                ),
                            });
                            tracing::debug!(unit = %unit.name, lock_id = %info.id, old_lock_id = %holder.id, "state lock taken over");
                            return Ok(info);
                        }
                        // Renewed, released or taken in between: ask again.
                        Err(BackendError::Locked(_)) => {}
                        Err(e) => {
                            return Err(backend_error("take over the lapsed lock of", backend, &e));
                        }
                    }
                }
                Err(BackendError::Locked(holder))
                    if start.elapsed() < self.options.lock_timeout =>
                {
                    if !announced {
                        announced = true;
                        self.emit(Event::Notice {
                            unit: Some(unit.name.clone()),
                            message: format!(
                                "waiting for the state lock held by {} ({})",
                                holder.who, holder.operation
                            ),
                        });
                    }
                    let left = self.options.lock_timeout.saturating_sub(start.elapsed());
                    tokio::time::sleep(wait.min(left)).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                Err(BackendError::Locked(holder)) => {
                    let lease =
                        crate::lock_holder::lease_text(&holder, std::time::SystemTime::now())
                            .map(|l| format!("; {l}"))
                            .unwrap_or_default();
                    return Err(EngineError::new(ErrorKind::Backend, format!("unit {}: the state is locked", unit.name))
                        .cause(format!("held by {} since {} for {}{lease}", holder.who, holder.created, holder.operation))
                        .cause(format!("lock ID {} on {}", holder.id, if holder.path.is_empty() { backend.describe() } else { holder.path.clone() }))
                        .hint(format!(
                            "wait for that run to finish (--lock-timeout 5m waits for it), or if it crashed: forge force-unlock {} {}",
                            holder.id,
                            unit.dir.display()
                        )));
                }
                Err(e) => return Err(backend_error("lock", backend, &e)),
            }
        }
    }

    /// Runs `body` with the unit's state loaded under its lock; always unlocks.
    async fn with_locked_state<T, F, Fut>(
        &self,
        unit: &Unit,
        operation: &str,
        body: F,
    ) -> Result<T, Vec<EngineError>>
    where
        F: FnOnce(StateStore) -> Fut,
        Fut: std::future::Future<Output = Result<T, Vec<EngineError>>>,
    {
        let Held {
            backend,
            info,
            store,
        } = self.lock_and_load(unit, operation).await?;
        // A panic anywhere in the unit's work is a bug, but it must not leave the lock held
        // or lose what was done: it becomes this unit's error, the lock is released below,
        // and the journal already holds every finished operation for the next run.
        let result = match AssertUnwindSafe(body(store)).catch_unwind().await {
            Ok(result) => result,
            Err(payload) => Err(vec![panicked(unit, payload.as_ref())]),
        };
        let unlocked = unlock_held(unit, backend.as_ref(), &info).await;
        match (result, unlocked) {
            (Ok(v), Ok(())) => Ok(v),
            (Ok(_), Err(e)) => Err(vec![e]),
            (Err(es), _) => Err(es),
        }
    }

    /// Opens the unit's backend, takes its lock and reads its state; unlocks again when
    /// the read fails.
    async fn lock_and_load(&self, unit: &Unit, operation: &str) -> Result<Held, Vec<EngineError>> {
        let backend = self.backend(unit).await.map_err(|e| vec![e])?;
        let info = if self.options.lock {
            Some(
                self.lock(unit, backend.as_ref(), operation)
                    .await
                    .map_err(|e| vec![e])?,
            )
        } else {
            None
        };
        let loaded = async {
            let mut store =
                StateStore::load(backend.clone(), Some(self.journal(unit)?), true).await?;
            self.report_store_notice(unit, &mut store);
            // A state taken from an earlier run's journal reaches the backend now, whatever
            // this run does; a plan only shows it.
            if store.recovered && operation != "OperationTypePlan" {
                store.persist().await?;
            }
            Ok(store)
        };
        let loaded = loaded.await;
        self.report_backend_notices(Some(&unit.name));
        match loaded {
            Ok(store) => Ok(Held {
                backend,
                info,
                store,
            }),
            Err(e) => {
                let mut es = vec![e];
                es.extend(unlock_held(unit, backend.as_ref(), &info).await.err());
                Err(es)
            }
        }
    }

    /// Reads a unit's state without locking (outputs, state list/show); an earlier run's
    /// journal that is ahead of it is shown, not written.
    pub async fn read_state(&self, unit: &Unit) -> Result<StateStore, EngineError> {
        let loaded =
            StateStore::load(self.backend(unit).await?, Some(self.journal(unit)?), false).await;
        self.report_backend_notices(Some(&unit.name));
        let mut store = loaded?;
        self.report_store_notice(unit, &mut store);
        Ok(store)
    }

    fn report_store_notice(&self, unit: &Unit, store: &mut StateStore) {
        if let Some(message) = store.notice.take() {
            self.emit(Event::Notice {
                unit: Some(unit.name.clone()),
                message,
            });
        }
    }

    /// Which units take part: --include-unit / --exclude-unit by name or folder name.
    fn selected(&self, env: &Environment, mode: PlanMode) -> Result<Vec<bool>, EngineError> {
        // Terragrunt's filters take globs (`app-*`, `network/**`) against the unit's path in
        // the environment; a plain name also matches the folder's name or path.
        let is_glob = |pat: &str| pat.contains(['*', '?', '[', '{']);
        for pat in self.options.include.iter().chain(&self.options.exclude) {
            if is_glob(pat)
                && let Err(why) = forge_lang::functions::glob_matches(pat, "")
            {
                return Err(EngineError::new(
                    ErrorKind::Request,
                    format!("the unit pattern {pat:?} is not a valid glob: {why}"),
                ));
            }
        }
        let matches = |u: &Unit, pat: &str| {
            let pat = pat.trim_end_matches('/');
            if is_glob(pat) {
                return forge_lang::functions::glob_matches(pat, &u.name).unwrap_or(false);
            }
            u.name == pat
                || u.dir.file_name().is_some_and(|f| f == pat)
                || u.dir == Path::new(pat)
                || u.dir.ends_with(pat)
        };
        let names: Vec<&str> = env.units.iter().map(|u| u.name.as_str()).collect();
        self.options.targeting.check_units(&names)?;
        for name in self.options.variables.iter().filter_map(VariableArg::name) {
            let declared = env
                .units
                .iter()
                .any(|u| u.module.variables.iter().any(|v| v.name == name));
            if !declared {
                return Err(EngineError::new(
                    ErrorKind::Request,
                    format!("-var {name}=...: no unit of this run declares a variable {name:?}"),
                )
                .hint("check the name against the variable blocks of the units' modules"));
            }
        }
        for pat in self.options.include.iter().chain(&self.options.exclude) {
            if !env.units.iter().any(|u| matches(u, pat)) {
                let names: Vec<&str> = env.units.iter().map(|u| u.name.as_str()).collect();
                return Err(EngineError::new(
                    ErrorKind::Request,
                    format!(
                        "no unit named {pat:?} (or matching it) in environment {}",
                        env.name
                    ),
                )
                .hint(format!("the units are: {}", names.join(", "))));
            }
        }
        let mut included: Vec<bool> = env
            .units
            .iter()
            .map(|u| {
                self.options.include.is_empty()
                    || self.options.include.iter().any(|p| matches(u, p))
            })
            .collect();
        if self.options.include_dependents {
            if self.options.include.is_empty() {
                return Err(EngineError::new(
                    ErrorKind::Request,
                    "--include-dependents adds the units that depend on the included ones, and no unit is included",
                )
                .hint("name the units with --include-unit"));
            }
            let graph = UnitGraph::build(env)?;
            let named = included.clone();
            for (i, inc) in included.iter_mut().enumerate() {
                *inc = *inc || graph.ancestors(i).into_iter().any(|a| named[a]);
            }
        }
        let left_out = self.left_out(env, mode)?;
        Ok(env
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                included[i]
                    && !self.options.exclude.iter().any(|p| matches(u, p))
                    && left_out[i].is_none()
                    && self.options.targeting.selects_unit(&u.name)
            })
            .collect())
    }

    /// Why each unit sits this run out because of its own or a dependent's settings.
    fn left_out(
        &self,
        env: &Environment,
        mode: PlanMode,
    ) -> Result<Vec<Option<String>>, EngineError> {
        let command = self.options.command.unwrap_or(match mode {
            PlanMode::Destroy => "destroy",
            _ => "plan",
        });
        let graph = if crate::unit_policy::needs_graph(env) {
            Some(UnitGraph::build(env)?)
        } else {
            None
        };
        Ok(crate::unit_policy::left_out(
            env,
            graph.as_ref(),
            command,
            mode,
        ))
    }

    /// A notice for each unit the run leaves out because of its own settings, and for
    /// each Terragrunt setting of a unit that forge does not act on.
    fn announce_left_out(&self, env: &Environment, mode: PlanMode) {
        let Ok(reasons) = self.left_out(env, mode) else {
            // The graph's error is the run's, reported by `selected`.
            return;
        };
        for unit in &env.units {
            for warning in &unit.settings.warnings {
                self.emit(Event::Notice {
                    unit: Some(unit.name.clone()),
                    message: crate::provider_config::notice_text(warning),
                });
            }
        }
        for (unit, why) in env.units.iter().zip(reasons) {
            if let Some(why) = why {
                self.emit(Event::Notice {
                    unit: Some(unit.name.clone()),
                    message: why,
                });
            }
        }
    }

    /// The object `dependency.<name>.outputs` for each dependency block of a unit: planned
    /// outputs when the dependency was planned in this run, else its state's outputs.
    ///
    /// With `early` (an apply walk with cross-unit edges), a dependency still applying
    /// gives the outputs it has published when they hold every output this unit reads of
    /// it: the unit was started on them (`cross_unit`).
    async fn dependency_outputs(
        &self,
        env: &Environment,
        unit: &Unit,
        planned: &Mutex<BTreeMap<String, BTreeMap<String, Value>>>,
        allow_mocks: bool,
        early: Option<(&CrossUnit, &Board)>,
    ) -> Result<BTreeMap<String, Value>, EngineError> {
        let mut out = BTreeMap::new();
        let me = env.units.iter().position(|u| u.dir == unit.dir);
        for dep in &unit.dependencies {
            if dep.skip_outputs {
                continue;
            }
            let found = env.units.iter().position(|u| u.dir == dep.config_path);
            let outputs = match found.map(|j| (j, &env.units[j])) {
                Some((j, dep_unit)) => {
                    let from_plan = planned
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&dep_unit.name)
                        .cloned();
                    let published = || {
                        let (cross, board) = early?;
                        board.outputs_for(cross, me?, j)
                    };
                    match from_plan.or_else(published) {
                        Some(o) => o,
                        None => {
                            // A dependency has finished before its dependents run, so its
                            // state no longer changes in this run: its other dependents
                            // take what this read found instead of reading it again.
                            let o = self
                                .applied_outputs(unit, dep, dep_unit, allow_mocks)
                                .await?;
                            planned
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(dep_unit.name.clone(), o.clone());
                            o
                        }
                    }
                }
                None => self.external_outputs(unit, dep, allow_mocks).await?,
            };
            out.insert(dep.name.clone(), Value::Object(outputs));
        }
        Ok(out)
    }

    /// A dependency's outputs from its state; its `mock_outputs` when it has no state yet.
    async fn applied_outputs(
        &self,
        unit: &Unit,
        dep: &forge_config::Dependency,
        dep_unit: &Unit,
        allow_mocks: bool,
    ) -> Result<BTreeMap<String, Value>, EngineError> {
        let store = self.read_state(dep_unit).await?;
        // Terragrunt treats a state without outputs (never applied, or destroyed) as "no
        // outputs": mocks may stand in.
        if store.exists() && !store.state.outputs.is_empty() {
            return Ok(store.state.output_values());
        }
        // Mocks stand in while planning only, as Terragrunt's usual
        // mock_outputs_allowed_terraform_commands = ["validate", "plan"]: never applied.
        if let Some(mock) = dep
            .mock_outputs
            .as_ref()
            .and_then(Value::as_map)
            .filter(|_| allow_mocks)
        {
            return Ok(mock.clone());
        }
        Err(EngineError::new(ErrorKind::Request, format!(
            "unit {}: dependency \"{}\" ({}) has no outputs (it was never applied, or was destroyed)",
            unit.name, dep.name, dep_unit.name
        ))
        .cause(format!("dependency block at {}", dep.location))
        .hint(format!("include {} in this run (its planned outputs are used), or apply it first", dep_unit.name)))
    }

    /// Outputs of a dependency outside the environment being run: from its state.
    async fn external_outputs(
        &self,
        unit: &Unit,
        dep: &forge_config::Dependency,
        allow_mocks: bool,
    ) -> Result<BTreeMap<String, Value>, EngineError> {
        let env = Environment::load(&dep.config_path, unit.load_context()).map_err(|d| {
            EngineError::config(
                format!(
                    "unit {}: dependency \"{}\" ({}) cannot be loaded",
                    unit.name,
                    dep.name,
                    dep.config_path.display()
                ),
                d,
            )
        })?;
        let mut out = BTreeMap::new();
        for u in &env.units {
            if u.dir == dep.config_path {
                out = self.applied_outputs(unit, dep, u, allow_mocks).await?;
            }
        }
        Ok(out)
    }

    async fn inputs(
        &self,
        env: &Environment,
        unit: &Unit,
        planned: &Mutex<BTreeMap<String, BTreeMap<String, Value>>>,
        allow_mocks: bool,
        early: Option<(&CrossUnit, &Board)>,
    ) -> Result<BTreeMap<String, Value>, EngineError> {
        let deps = self
            .dependency_outputs(env, unit, planned, allow_mocks, early)
            .await?;
        let inputs = unit.eval_inputs(&deps).map_err(|d| {
            EngineError::config(
                format!("unit {}: the inputs cannot be evaluated", unit.name),
                d,
            )
        })?;
        // TF_VAR_* and variable files override inputs, as under Terragrunt (forge_config::tfvars);
        // the unit's extra_arguments for this command come before the command line's.
        let mut variables: Vec<VariableArg> = unit
            .settings
            .extra_variables(self.options.command.unwrap_or("plan"))
            .into_iter()
            .map(|v| match v {
                forge_config::extra_arguments::ExtraVariable::Value { name, text } => {
                    VariableArg::Value { name, text }
                }
                forge_config::extra_arguments::ExtraVariable::File(path) => VariableArg::File(path),
            })
            .collect();
        variables.extend(self.options.variables.iter().cloned());
        forge_config::tfvars::variable_values(
            unit,
            inputs,
            &|name| std::env::var(name).ok(),
            &variables,
        )
        .map_err(|d| {
            EngineError::config(
                format!("unit {}: the variable values cannot be read", unit.name),
                d,
            )
        })
    }

    /// Plans every selected unit of the environment.
    pub async fn plan(&self, env: &Environment, mode: PlanMode) -> Result<EnvPlan, EngineError> {
        let graph = UnitGraph::build(env)?;
        let selected = self.selected(env, mode)?;
        self.announce_left_out(env, mode);
        for (unit, warning) in
            crate::provider_config::preflight(env, &selected, &self.factories).await?
        {
            self.emit(Event::Notice {
                unit: Some(unit),
                message: crate::provider_config::notice_text(&warning),
            });
        }
        let ctx = self.context();
        let planned: Mutex<BTreeMap<String, BTreeMap<String, Value>>> = Mutex::new(BTreeMap::new());
        let order = if mode == PlanMode::Destroy {
            reversed(&graph.deps)
        } else {
            graph.deps.clone()
        };
        let outcomes = walk(&order, ctx.parallelism, |i| {
            let unit = &env.units[i];
            let selected = selected[i];
            let ctx = &ctx;
            let planned = &planned;
            async move {
                if !selected {
                    return Ok(None);
                }
                let none = Mutex::new(BTreeMap::new());
                let source = if mode == PlanMode::Destroy {
                    &none
                } else {
                    planned
                };
                let started = Instant::now();
                let planned_unit = |_attempt| async move {
                    let inputs = match self.inputs(env, unit, source, true, None).await {
                        // A destroy may have nothing to do, and then no need of them.
                        Err(e) if mode != PlanMode::Destroy => return Err(vec![e]),
                        inputs => inputs,
                    };
                    self.with_locked_state(unit, "OperationTypePlan", |store| async {
                        if let Some(plan) = nothing_to_destroy(unit, mode, &store) {
                            return Ok(Some(plan));
                        }
                        let run = UnitRun {
                            unit,
                            inputs: inputs.map_err(|e| vec![e])?,
                            mode,
                            refresh: self.options.refresh,
                            ctx,
                        };
                        crate::run::plan(&run, store).await.0.map(Some)
                    })
                    .await
                };
                // The hooks of `plan` run here; an apply's or destroy's run around its
                // apply phase (`apply_except`), so this planning phase runs none.
                let hooks_for = self.options.command.filter(|c| *c == "plan");
                let result = self.unit_turn(unit, hooks_for, planned_unit, || None).await;
                let result = match result {
                    // An error an ignore rule took: the unit has no plan, its notice says why.
                    Ok(None) => return Ok(None),
                    Ok(Some(plan)) => Ok(plan),
                    Err(es) => Err(es),
                };
                // As soon as it is known, so the CLI can stream each unit's plan.
                self.emit(Event::UnitPlanDone {
                    unit: unit.name.clone(),
                    plan: result.as_ref().ok().map(|p| Box::new(p.clone())),
                    errors: result.as_ref().err().map_or(0, Vec::len),
                    elapsed: started.elapsed(),
                });
                let plan = result?;
                planned
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(unit.name.clone(), plan.outputs.clone());
                Ok::<_, Vec<EngineError>>(Some(plan))
            }
        })
        .await;
        let units = outcomes
            .into_iter()
            .enumerate()
            .filter(|(i, _)| selected[*i])
            .filter_map(|(i, o)| match unit_outcome(o, &graph.names) {
                UnitOutcome::Done(None) => None,
                UnitOutcome::Done(Some(p)) => Some((graph.names[i].clone(), UnitOutcome::Done(p))),
                UnitOutcome::Failed(e) => Some((graph.names[i].clone(), UnitOutcome::Failed(e))),
                UnitOutcome::Skipped { because } => {
                    Some((graph.names[i].clone(), UnitOutcome::Skipped { because }))
                }
            })
            .collect();
        self.report_backend_notices(None);
        Ok(EnvPlan { mode, units })
    }

    /// The waves in which the selected units run.
    pub fn schedule(
        &self,
        env: &Environment,
        mode: PlanMode,
    ) -> Result<Vec<Vec<String>>, EngineError> {
        let graph = UnitGraph::build(env)?;
        let selected = self.selected(env, mode)?;
        let order = if mode == PlanMode::Destroy {
            reversed(&graph.deps)
        } else {
            graph.deps.clone()
        };
        let g = UnitGraph {
            names: graph.names.clone(),
            deps: order,
            graph: graph.graph,
        };
        let waves = g.waves();
        let max = waves.iter().copied().max().unwrap_or(0);
        Ok((1..=max)
            .map(|w| {
                (0..g.names.len())
                    .filter(|&i| waves[i] == w && selected[i])
                    .map(|i| g.names[i].clone())
                    .collect::<Vec<_>>()
            })
            .filter(|w| !w.is_empty())
            .collect())
    }

    /// Applies the targets (from a plan just made, or a saved plan) in dependency order
    /// (reverse for destroy). Each unit is re-planned under its lock with its
    /// dependencies' applied outputs; a plan made against another state is refused.
    pub async fn apply(
        &self,
        env: &Environment,
        mode: PlanMode,
        targets: &[ApplyTarget],
    ) -> Result<EnvApply, EngineError> {
        let applied = self.apply_except(env, mode, targets, &[]).await;
        self.report_backend_notices(None);
        applied
    }

    /// Applies a plan just made: units whose plan failed count as failed, so their
    /// dependents are skipped while the other units are applied.
    pub async fn apply_plan(
        &self,
        env: &Environment,
        plan: &EnvPlan,
    ) -> Result<EnvApply, EngineError> {
        let targets: Vec<ApplyTarget> = plan
            .units
            .iter()
            .filter_map(|(_, o)| o.done())
            .map(ApplyTarget::from_plan)
            .collect();
        let failed: Vec<String> = plan
            .units
            .iter()
            .filter(|(_, o)| o.done().is_none())
            .map(|(n, _)| n.clone())
            .collect();
        let applied = self.apply_except(env, plan.mode, &targets, &failed).await;
        self.report_backend_notices(None);
        applied
    }

    async fn apply_except(
        &self,
        env: &Environment,
        mode: PlanMode,
        targets: &[ApplyTarget],
        failed_plans: &[String],
    ) -> Result<EnvApply, EngineError> {
        let start = Instant::now();
        let graph = UnitGraph::build(env)?;
        let ctx = self.context();
        self.emit(Event::Schedule {
            waves: self.schedule(env, mode)?,
        });
        let order = if mode == PlanMode::Destroy {
            reversed(&graph.deps)
        } else {
            graph.deps.clone()
        };
        let no_plans = Mutex::new(BTreeMap::new());
        let outcomes = walk(&order, ctx.parallelism, |i| {
            let unit = &env.units[i];
            let target = targets.iter().find(|t| t.unit == unit.name);
            let ctx = &ctx;
            let no_plans = &no_plans;
            async move {
                if failed_plans.contains(&unit.name) {
                    return Err(vec![EngineError::new(ErrorKind::Request, format!("unit {}: not applied because it has no plan (its plan failed or was skipped)", unit.name))]);
                }
                let Some(target) = target else { return Ok(None) };
                ctx.check_interrupted().map_err(|e| vec![e])?;
                let ignored = || Some(UnitApplied { result: None, elapsed: Duration::ZERO });
                self.unit_turn(unit, self.options.command, |_attempt| async move {
                if !target.writes_state {
                    return Ok(Some(UnitApplied { result: None, elapsed: Duration::ZERO }));
                }
                let started = Instant::now();
                let operation = progress_word(mode);
                self.emit(Event::UnitStarted { unit: unit.name.clone(), operation });
                let result = async {
                    // A destroy deletes what state records: a dependency whose state lost its
                    // outputs (a refresh-only apply after its objects were deleted by hand)
                    // must not block it, so its mock outputs stand in, as in the destroy plan.
                    let allow_mocks = mode == PlanMode::Destroy;
                    let inputs = match self.inputs(env, unit, no_plans, allow_mocks, None).await {
                        // A destroy may have nothing to do, and then no need of them.
                        Err(e) if mode != PlanMode::Destroy => return Err(vec![e]),
                        inputs => inputs,
                    };
                    self.with_locked_state(unit, "OperationTypeApply", |mut store| async {
                        check_stale(unit, target, &store).map_err(|e| vec![e])?;
                        if let Some(plan) = nothing_to_destroy(unit, mode, &store) {
                            if needs_write_when_nothing_to_destroy(&mut store) {
                                store.persist().await.map_err(|e| vec![e])?;
                            }
                            return Ok(plan);
                        }
                        let run = UnitRun {
                            unit,
                            inputs: inputs.map_err(|e| vec![e])?,
                            mode,
                            refresh: self.options.refresh,
                            ctx,
                        };
                        // A reviewed plan: re-planned first, under this lock and with this
                        // state, and applied only if nothing would differ from what was
                        // reviewed; otherwise nothing of the unit is changed.
                        let store = match &target.promises {
                            None => store,
                            Some(promised) => {
                                let (now, store) = crate::run::plan(&run, store).await;
                                let broken = crate::plan_promise::broken(
                                    &promised.changes,
                                    &promises(&now?, &promised.digest),
                                );
                                if !broken.is_empty() {
                                    return Err(vec![stale_plan(unit, &broken)]);
                                }
                                store
                            }
                        };
                        let options = ApplyOptions {
                            planned_actions: Some(target.actions.clone()),
                            defer_outputs_write: false,
                            // The confirmed apply keeps whole-unit barriers: its units
                            // were all planned before, with every output unknown.
                            publish: None,
                        };
                        crate::run::apply(&run, options, store).await.0
                    })
                    .await
                }
                .await;
                let elapsed = started.elapsed();
                self.emit(Event::UnitFinished { unit: unit.name.clone(), elapsed, ok: result.is_ok() });
                result.map(|p| Some(UnitApplied { result: Some(p), elapsed }))
                }, ignored).await
            }
        })
        .await;
        let units: Vec<(String, UnitOutcome<UnitApplied>)> = outcomes
            .into_iter()
            .enumerate()
            .filter(|(i, _)| {
                targets.iter().any(|t| t.unit == graph.names[*i])
                    || failed_plans.contains(&graph.names[*i])
            })
            .map(|(i, o)| {
                (
                    graph.names[i].clone(),
                    unit_outcome(o, &graph.names).map(|a| {
                        a.unwrap_or(UnitApplied {
                            result: None,
                            elapsed: Duration::ZERO,
                        })
                    }),
                )
            })
            .collect();
        let critical_path = run_critical_path(env, &graph, false, &ctx);
        let done_in_failed_units = done_in_failed_units(&units, &ctx);
        Ok(EnvApply {
            units,
            elapsed: start.elapsed(),
            critical_path,
            plan: None,
            done_in_failed_units,
        })
    }

    /// Plans and applies in one walk (`forge apply --auto-approve`, `forge destroy
    /// --auto-approve`): each selected unit, in dependency order (reverse for destroy),
    /// takes its lock once and reads its state once, is planned with its dependencies'
    /// real outputs ([`Event::UnitPlanned`] shows that plan), and applies exactly that
    /// plan. A unit whose plan or apply fails stops only its dependents.
    ///
    /// Off the chain of dependent units: every selected unit's lock is taken and its
    /// state read as the run starts (in wave order, `parallelism` at a time), since the
    /// state of a locked unit cannot change until its turn; and a finished unit is
    /// unlocked while its dependents already run, since they take its outputs from this
    /// run, not from a lock. Locks of units that never get their turn (a dependency
    /// failed, an interrupt) are released at the end.
    pub async fn plan_and_apply(
        &self,
        env: &Environment,
        mode: PlanMode,
    ) -> Result<EnvApply, EngineError> {
        use futures_util::stream::{self, StreamExt};
        use tokio::sync::{mpsc, oneshot};

        let start = Instant::now();
        let graph = UnitGraph::build(env)?;
        let selected = self.selected(env, mode)?;
        self.announce_left_out(env, mode);
        for (unit, warning) in
            crate::provider_config::preflight(env, &selected, &self.factories).await?
        {
            self.emit(Event::Notice {
                unit: Some(unit),
                message: crate::provider_config::notice_text(&warning),
            });
        }
        let ctx = self.context();
        self.emit(Event::Schedule {
            waves: self.schedule(env, mode)?,
        });
        let order = if mode == PlanMode::Destroy {
            reversed(&graph.deps)
        } else {
            graph.deps.clone()
        };
        // Terraform records a destroy's lock as an apply too.
        let operation = "OperationTypeApply";

        // Each unit's lock and state, taken ahead of its turn: the first units to run first.
        let waves = UnitGraph {
            names: graph.names.clone(),
            deps: order.clone(),
            graph: graph.graph.clone(),
        }
        .waves();
        let mut ahead: Vec<usize> = (0..env.units.len()).filter(|&i| selected[i]).collect();
        // Within a wave, the units that start the longest chains first, as the walk runs them.
        let heights = crate::walk::chain_heights_of(&order);
        ahead.sort_by_key(|&i| (waves[i], std::cmp::Reverse(heights[i]), i));
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..env.units.len())
            .map(|_| oneshot::channel::<Result<Held, Vec<EngineError>>>())
            .unzip();
        let slots: Vec<Mutex<Option<oneshot::Receiver<_>>>> =
            receivers.into_iter().map(|r| Mutex::new(Some(r))).collect();
        let mut senders: Vec<Option<oneshot::Sender<_>>> = senders.into_iter().map(Some).collect();
        let mut jobs_by_wave: BTreeMap<usize, Vec<(usize, oneshot::Sender<_>)>> = BTreeMap::new();
        for &i in &ahead {
            if let Some(tx) = senders[i].take() {
                jobs_by_wave.entry(waves[i]).or_default().push((i, tx));
            }
        }
        drop(senders);
        // Wave by wave: the first wave's locks and reads do not queue behind the later
        // waves' (which are needed only once the first wave has applied).
        let take_ahead = async {
            for (_, jobs) in jobs_by_wave {
                stream::iter(jobs)
                    .for_each_concurrent(ctx.parallelism, |(i, tx)| async move {
                        let held = self.lock_and_load(&env.units[i], operation).await;
                        if let Err(Ok(held)) = tx.send(held) {
                            // Nobody waits for it any more (cannot happen before the walk ends): release.
                            let _ =
                                unlock_held(&env.units[i], held.backend.as_ref(), &held.info).await;
                        }
                    })
                    .await;
            }
        };

        // Finished units make their last state write (the outputs, and the operations
        // whose write the journal let them leave) and are unlocked here while the walk goes
        // on: their dependents take the outputs from this run, so neither write nor unlock
        // holds them up. A crash in between loses nothing the journal does not keep.
        type Finished = (
            usize,
            Arc<dyn StateBackend>,
            Option<LockInfo>,
            Option<StateStore>,
        );
        let (unlock_tx, mut unlock_rx) = mpsc::unbounded_channel::<Finished>();
        let unlock_errors: Mutex<BTreeMap<usize, EngineError>> = Mutex::new(BTreeMap::new());
        let unlocking = {
            let unlock_errors = &unlock_errors;
            let incoming = stream::poll_fn(move |cx| unlock_rx.poll_recv(cx));
            incoming.for_each_concurrent(
                None,
                move |(i, backend, info, outputs_write)| async move {
                    if let Err(e) =
                        write_and_unlock(&env.units[i], backend, info, outputs_write).await
                    {
                        unlock_errors
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(i, e);
                    }
                },
            )
        };

        let known_outputs: Mutex<BTreeMap<String, BTreeMap<String, Value>>> =
            Mutex::new(BTreeMap::new());
        let plans: Mutex<BTreeMap<usize, UnitPlan>> = Mutex::new(BTreeMap::new());
        // One resource graph across units (`cross_unit`): in a normal apply, a unit that
        // reads only some outputs of a dependency starts once those are published. A
        // destroy (reverse order) and a refresh-only run wait for whole units.
        let cross = CrossUnit::build(env, &graph);
        let early_starts = mode == PlanMode::Normal;
        let (hard, soft) = if early_starts {
            cross.edges(true)
        } else {
            (order.clone(), vec![Vec::new(); order.len()])
        };
        let (release_tx, releases) = mpsc::unbounded_channel();
        let board = Arc::new(Board::new(&cross, release_tx));
        let walking = async {
            let unlock_tx = unlock_tx;
            let outcomes = walk_early(&hard, Early { soft, releases }, ctx.parallelism, |i| {
                let unit = &env.units[i];
                let ctx = &ctx;
                let known_outputs = &known_outputs;
                let early = early_starts.then_some((&cross, &*board));
                let publish = if early_starts {
                    board.publisher(i)
                } else {
                    None
                };
                let plans = &plans;
                let slot = &slots[i];
                let unlock_tx = &unlock_tx;
                let selected = selected[i];
                async move {
                    if !selected {
                        return Ok(None);
                    }
                    ctx.check_interrupted().map_err(|e| vec![e])?;
                    let ignored = || {
                        Some(UnitApplied {
                            result: None,
                            elapsed: Duration::ZERO,
                        })
                    };
                    self.unit_turn(
                        unit,
                        self.options.command,
                        |_attempt| {
                            let publish = publish.clone();
                            async move {
                                // As in the apply phase of `apply`: a destroy may use mock outputs of a
                                // dependency whose state lost its outputs; a normal apply never does.
                                let allow_mocks = mode == PlanMode::Destroy;
                                let inputs = match self
                                    .inputs(env, unit, known_outputs, allow_mocks, early)
                                    .await
                                {
                                    // A destroy may have nothing to do, and then no need of them: the
                                    // error waits for the state to say.
                                    Err(e) if mode != PlanMode::Destroy => return Err(vec![e]),
                                    inputs => inputs,
                                };
                                // The lock and state taken ahead; a retry (the errors block) takes them
                                // again, the failed attempt having released them.
                                let receiver =
                                    slot.lock().unwrap_or_else(|p| p.into_inner()).take();
                                let held = async {
                                    match receiver {
                                        Some(receiver) => receiver.await.unwrap_or_else(|_| {
                                            Err(vec![EngineError::new(
                                                ErrorKind::Backend,
                                                format!(
                                                    "unit {}: its lock was not taken",
                                                    unit.name
                                                ),
                                            )])
                                        }),
                                        None => self.lock_and_load(unit, operation).await,
                                    }
                                };
                                // The providers' configuration (an STS call for AWS) needs no state:
                                // made while the lock and the state arrive, it is off the chain.
                                let warming = async {
                                    if let Ok(inputs) = &inputs {
                                        let warming = UnitRun {
                                            unit,
                                            inputs: inputs.clone(),
                                            mode,
                                            refresh: false,
                                            ctx,
                                        };
                                        warm_providers(&warming).await;
                                    }
                                };
                                let ((), held) = futures_util::future::join(warming, held).await;
                                let held = held?;
                                let Held {
                                    backend,
                                    info,
                                    mut store,
                                } = held;
                                if let Some(plan) = nothing_to_destroy(unit, mode, &store) {
                                    self.emit(Event::UnitPlanned {
                                        plan: Box::new(plan.clone()),
                                    });
                                    let write = needs_write_when_nothing_to_destroy(&mut store)
                                        .then_some(store);
                                    let _ = unlock_tx.send((i, backend, info, write));
                                    let result = plan.has_changes().then(|| plan.clone());
                                    plans
                                        .lock()
                                        .unwrap_or_else(|p| p.into_inner())
                                        .insert(i, plan);
                                    return Ok(Some(UnitApplied {
                                        result,
                                        elapsed: Duration::ZERO,
                                    }));
                                }
                                let inputs = match inputs {
                                    Ok(inputs) => inputs,
                                    Err(e) => {
                                        let mut es = vec![e];
                                        es.extend(
                                            write_and_unlock(unit, backend, info, None).await.err(),
                                        );
                                        return Err(es);
                                    }
                                };
                                let mut outputs_write = None;
                                // A panic is caught as in `with_locked_state`: the unit fails, the
                                // lock is released just below, the journal keeps what finished.
                                let run = UnitRun {
                                    unit,
                                    inputs,
                                    mode,
                                    refresh: self.options.refresh,
                                    ctx,
                                };
                                let result = match AssertUnwindSafe(self.plan_then_apply(
                                    run,
                                    store,
                                    &mut outputs_write,
                                    publish,
                                ))
                                .catch_unwind()
                                .await
                                {
                                    Ok(result) => result,
                                    Err(payload) => {
                                        Err((None, vec![panicked(unit, payload.as_ref())]))
                                    }
                                };
                                let (plan, applied) = match result {
                                    Ok(r) => {
                                        let _ = unlock_tx.send((i, backend, info, outputs_write));
                                        r
                                    }
                                    Err((plan, mut es)) => {
                                        // Released before the turn goes on, so a retry can take the lock.
                                        es.extend(
                                            write_and_unlock(unit, backend, info, outputs_write)
                                                .await
                                                .err(),
                                        );
                                        // The plan was shown: the summary table counts it even though its apply failed.
                                        if let Some(p) = plan {
                                            plans
                                                .lock()
                                                .unwrap_or_else(|p| p.into_inner())
                                                .insert(i, p);
                                        }
                                        return Err(es);
                                    }
                                };
                                if mode != PlanMode::Destroy {
                                    // The dependents plan with these outputs: what state now records. A
                                    // refresh-only run leaves the outputs of objects that are gone
                                    // unknown (state drops them); its dependents plan with them unknown,
                                    // as `forge plan -refresh-only` does, and apply nothing from them.
                                    let outputs = applied
                                        .as_ref()
                                        .and_then(|a| a.result.as_ref())
                                        .map_or(&plan.outputs, |r| &r.outputs);
                                    if mode == PlanMode::RefreshOnly
                                        || outputs.values().all(Value::is_wholly_known)
                                    {
                                        known_outputs
                                            .lock()
                                            .unwrap_or_else(|p| p.into_inner())
                                            .insert(unit.name.clone(), outputs.clone());
                                    }
                                }
                                plans
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .insert(i, plan);
                                Ok(Some(applied.unwrap_or(UnitApplied {
                                    result: None,
                                    elapsed: Duration::ZERO,
                                })))
                            }
                        },
                        ignored,
                    )
                    .await
                }
            })
            .await;
            drop(unlock_tx);
            outcomes
        };
        let ((), outcomes, ()) = futures_util::future::join3(take_ahead, walking, unlocking).await;

        // Locks taken for units that never had their turn.
        let mut unlock_errors = unlock_errors
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        for (i, slot) in slots.into_iter().enumerate() {
            let receiver = slot.into_inner().unwrap_or_else(|p| p.into_inner());
            if let Some(Ok(Ok(held))) = match receiver {
                Some(r) => Some(r.await),
                None => None,
            } && let Err(e) = unlock_held(&env.units[i], held.backend.as_ref(), &held.info).await
            {
                unlock_errors.insert(i, e);
            }
        }

        let mut plans = plans.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut units = Vec::new();
        let mut plan_units = Vec::new();
        for (i, o) in outcomes.into_iter().enumerate() {
            if !selected[i] {
                continue;
            }
            let name = graph.names[i].clone();
            let mut outcome = unit_outcome(o, &graph.names).map(|a| {
                a.unwrap_or(UnitApplied {
                    result: None,
                    elapsed: Duration::ZERO,
                })
            });
            if let Some(e) = unlock_errors.remove(&i) {
                outcome = match outcome {
                    UnitOutcome::Failed(mut es) => {
                        es.push(e);
                        UnitOutcome::Failed(es)
                    }
                    _ => UnitOutcome::Failed(vec![e]),
                };
            }
            plan_units.push((
                name.clone(),
                match (plans.remove(&i), &outcome) {
                    (Some(p), _) => UnitOutcome::Done(p),
                    (None, UnitOutcome::Skipped { because }) => UnitOutcome::Skipped {
                        because: because.clone(),
                    },
                    (None, UnitOutcome::Failed(es)) => UnitOutcome::Failed(es.clone()),
                    (None, UnitOutcome::Done(_)) => UnitOutcome::Failed(Vec::new()),
                },
            ));
            units.push((name, outcome));
        }
        let critical_path = run_critical_path(env, &graph, early_starts, &ctx);
        self.report_backend_notices(None);
        let done_in_failed_units = done_in_failed_units(&units, &ctx);
        Ok(EnvApply {
            units,
            elapsed: start.elapsed(),
            critical_path,
            done_in_failed_units,
            plan: Some(EnvPlan {
                mode,
                units: plan_units,
            }),
        })
    }

    /// One unit's turn in [`Engine::plan_and_apply`]: plan against the state held, show
    /// the plan, apply exactly it (nothing when it changes nothing). After a successful
    /// apply, `outputs_write` holds the state whose last write (the outputs) is left to
    /// the caller. `publish` is told each output as the apply finishes it (`cross_unit`).
    async fn plan_then_apply(
        &self,
        run: UnitRun<'_>,
        store: StateStore,
        outputs_write: &mut Option<StateStore>,
        publish: Option<crate::run::Publish>,
    ) -> Result<(UnitPlan, Option<UnitApplied>), (Option<UnitPlan>, Vec<EngineError>)> {
        let started = Instant::now();
        let (unit, mode, ctx) = (run.unit, run.mode, run.ctx);
        let (plan, store) = crate::run::plan(&run, store).await;
        let plan = plan.map_err(|es| (None, es))?;
        self.emit(Event::UnitPlanned {
            plan: Box::new(plan.clone()),
        });
        if !plan.writes_state() {
            return Ok((plan, None));
        }
        if let Err(e) = ctx.check_interrupted() {
            return Err((Some(plan), vec![e]));
        }
        let operation = progress_word(mode);
        self.emit(Event::UnitStarted {
            unit: unit.name.clone(),
            operation,
        });
        let options = ApplyOptions {
            planned_actions: Some(ApplyTarget::from_plan(&plan).actions),
            defer_outputs_write: true,
            publish,
        };
        let (result, store) = crate::run::apply(&run, options, store).await;
        let elapsed = started.elapsed();
        self.emit(Event::UnitFinished {
            unit: unit.name.clone(),
            elapsed,
            ok: result.is_ok(),
        });
        match result {
            Ok(applied) => {
                // Dependents take outputs from this run only when all are known (see the
                // walk); otherwise they read this state, which must record them first.
                let from_run = mode == PlanMode::Destroy
                    || applied.outputs.values().all(Value::is_wholly_known);
                if from_run {
                    *outputs_write = Some(store);
                } else {
                    let mut store = store;
                    store
                        .persist()
                        .await
                        .map_err(|e| (Some(plan.clone()), vec![e]))?;
                }
                Ok((
                    plan,
                    Some(UnitApplied {
                        result: Some(applied),
                        elapsed,
                    }),
                ))
            }
            Err(es) => {
                // A failed or interrupted apply still writes what it did before the lock
                // goes (the unlock makes the write): the journal is for crashes.
                if store.has_unwritten_changes() {
                    *outputs_write = Some(store);
                }
                Err((Some(plan), es))
            }
        }
    }

    /// Releases a lock whatever its holder (`forge force-unlock ID UNIT`).
    pub async fn force_unlock(
        &self,
        unit: &Unit,
        id: &str,
    ) -> Result<Option<LockInfo>, EngineError> {
        let backend = self.backend(unit).await?;
        let holder = backend
            .lock_holder()
            .await
            .map_err(|e| backend_error("read the lock of", backend.as_ref(), &e))?;
        match &holder {
            None => return Ok(None),
            Some(h) if h.id != id => {
                return Err(EngineError::new(
                    ErrorKind::Backend,
                    format!(
                        "unit {}: the lock is held under ID {}, not {id}",
                        unit.name, h.id
                    ),
                )
                .cause(format!(
                    "held by {} since {} for {}",
                    h.who, h.created, h.operation
                ))
                .hint(format!(
                    "check that run is gone, then: forge force-unlock {} {}",
                    h.id,
                    unit.dir.display()
                )));
            }
            Some(_) => {}
        }
        backend
            .unlock(id, true)
            .await
            .map_err(|e| backend_error("unlock", backend.as_ref(), &e))?;
        Ok(holder)
    }

    /// Writes a state edited outside a run (state rm/mv/push), under the unit's lock.
    pub async fn edit_state<F>(&self, unit: &Unit, edit: F) -> Result<(), EngineError>
    where
        F: FnOnce(&mut crate::state::State) -> Result<(), EngineError>,
    {
        let r = self
            .with_locked_state(unit, "OperationTypeInvalid", |mut store| async move {
                edit(&mut store.state).map_err(|e| vec![e])?;
                store.persist().await.map_err(|e| vec![e])
            })
            .await;
        r.map_err(|mut es| es.remove(0))
    }

    /// Imports an existing object into a unit's state under `addr`.
    pub async fn import(
        &self,
        env: &Environment,
        unit: &Unit,
        addr: &InstanceAddr,
        id: &str,
    ) -> Result<Value, EngineError> {
        let planned = Mutex::new(BTreeMap::new());
        let ctx = self.context();
        let attempt = |_attempt| async {
            let inputs = self
                .inputs(env, unit, &planned, false, None)
                .await
                .map_err(|e| vec![e])?;
            self.with_locked_state(unit, "OperationTypeImport", |store| async {
                let run = UnitRun {
                    unit,
                    inputs,
                    mode: PlanMode::Normal,
                    refresh: false,
                    ctx: &ctx,
                };
                crate::run::import_instance(&run, store, addr, id)
                    .await
                    .map_err(|e| vec![e])
            })
            .await
        };
        let r = self
            .unit_turn(unit, Some("import"), attempt, || Value::Null)
            .await;
        r.map_err(|mut es| es.remove(0))
    }
}

/// What the progress line says a unit is doing in this mode.
fn progress_word(mode: PlanMode) -> &'static str {
    match mode {
        PlanMode::Normal => "applying",
        PlanMode::Destroy => "destroying",
        PlanMode::RefreshOnly => "refreshing",
    }
}

/// The longest chain of dependent operations this run made, across the unit graph: with
/// `early`, through the outputs each unit actually waited for (`CrossUnit`).
fn run_critical_path(
    env: &Environment,
    graph: &UnitGraph,
    early: bool,
    ctx: &RunContext,
) -> CriticalPath {
    let links = CrossUnit::build(env, graph).critical_links(env, &graph.names, early);
    let mut cp = critical_path_through(&ctx.op_log.ops(), &links);
    cp.before = cp
        .chain
        .first()
        .map(|o| o.start.saturating_duration_since(ctx.op_log.created))
        .unwrap_or_default();
    cp
}

/// A finished unit's last state write (the outputs, and the operations whose write the
/// journal let it leave), then its unlock.
async fn write_and_unlock(
    unit: &Unit,
    backend: Arc<dyn StateBackend>,
    info: Option<LockInfo>,
    outputs_write: Option<StateStore>,
) -> Result<(), EngineError> {
    let written = match outputs_write {
        Some(mut store) => {
            let what = match &store.journal {
                Some(j) => format!(
                    "unit {}: its last changes are not in the stored state; {} keeps them and the next run writes them",
                    unit.name,
                    j.path().display()
                ),
                None => format!(
                    "unit {}: its outputs were not recorded; the next apply records them",
                    unit.name
                ),
            };
            store.persist().await.map_err(|e| e.cause(what))
        }
        None => Ok(()),
    };
    let unlocked = unlock_held(unit, backend.as_ref(), &info).await;
    written.and(unlocked)
}

/// A unit's lock and the state read under it.
struct Held {
    backend: Arc<dyn StateBackend>,
    /// `None` when the run takes no locks (`-lock=false`).
    info: Option<LockInfo>,
    store: StateStore,
}

async fn unlock_held(
    unit: &Unit,
    backend: &dyn StateBackend,
    info: &Option<LockInfo>,
) -> Result<(), EngineError> {
    let Some(info) = info else {
        tracing::debug!(unit = %unit.name, "no state lock to release (-lock=false)");
        return Ok(());
    };
    tracing::debug!(unit = %unit.name, lock_id = %info.id, "releasing the state lock");
    backend.unlock(&info.id, false).await.map_err(|e| {
        backend_error("unlock", backend, &e).hint(format!(
            "release it with: forge force-unlock {} {}",
            info.id,
            unit.dir.display()
        ))
    })
}

/// Terraform's wording for a saved plan that no longer holds, with what differs.
fn stale_plan(unit: &Unit, broken: &[String]) -> EngineError {
    let mut e = EngineError::new(
        ErrorKind::Request,
        format!(
            "Saved plan is stale: unit {} would now be applied differently from the plan that was reviewed; nothing of it was changed",
            unit.name
        ),
    );
    for why in broken {
        e = e.cause(why.clone());
    }
    e.hint("the configuration, its inputs or the infrastructure changed since the plan was made: run forge plan again, review it and apply the new plan")
}

fn check_stale(unit: &Unit, target: &ApplyTarget, store: &StateStore) -> Result<(), EngineError> {
    let now_lineage = store.exists().then(|| store.state.lineage.clone());
    if now_lineage == target.lineage
        && (target.lineage.is_none() || store.state.serial == target.serial)
    {
        return Ok(());
    }
    Err(EngineError::new(
        ErrorKind::Request,
        format!("unit {}: the saved plan is stale", unit.name),
    )
    .cause(format!(
        "it was made against state serial {} (lineage {}); the state is now serial {} (lineage {})",
        target.serial,
        target.lineage.as_deref().unwrap_or("none"),
        store.state.serial,
        now_lineage.as_deref().unwrap_or("none")
    ))
    .hint("run forge plan again and apply the new plan"))
}

fn unit_outcome<T>(o: NodeOutcome<T, Vec<EngineError>>, names: &[String]) -> UnitOutcome<T> {
    match o {
        NodeOutcome::Done(t) => UnitOutcome::Done(t),
        NodeOutcome::Failed(es) => UnitOutcome::Failed(es),
        NodeOutcome::Skipped(i) => UnitOutcome::Skipped {
            because: names.get(i).cloned().unwrap_or_default(),
        },
    }
}

impl<T> UnitOutcome<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> UnitOutcome<U> {
        match self {
            UnitOutcome::Done(t) => UnitOutcome::Done(f(t)),
            UnitOutcome::Failed(e) => UnitOutcome::Failed(e),
            UnitOutcome::Skipped { because } => UnitOutcome::Skipped { because },
        }
    }
}

/// The error a panic in a unit's work becomes.
fn panicked(unit: &Unit, payload: &(dyn std::any::Any + Send)) -> EngineError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    EngineError::new(
        ErrorKind::Internal,
        format!(
            "forge stopped unit {} on an internal error (a bug): {what}",
            unit.name
        ),
    )
    .hint(
        "the unit's lock was released and its journal keeps every operation that finished, so \
         the next run carries on from there; please report this with the command you ran and \
         the output of FORGE_LOG=debug",
    )
}
