//! What a plan says: per unit, the action for every resource instance, the drift found
//! while refreshing, and the output changes.

use std::collections::BTreeMap;
use std::fmt;

use forge_lang::Diagnostics;
use forge_provider::Value;
use serde::{Deserialize, Serialize};

use crate::addr::InstanceAddr;

/// What kind of run a plan is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanMode {
    /// Make the world match the configuration.
    Normal,
    /// Accept changes made outside forge into state; touch nothing.
    RefreshOnly,
    /// Delete everything the state records.
    Destroy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    NoOp,
    Create,
    /// A data source read deferred to apply because its configuration is not known yet.
    Read,
    Update,
    DeleteThenCreate,
    CreateThenDelete,
    Delete,
    /// Out of state, left in place: a `removed` block with `lifecycle { destroy = false }`.
    Forget,
}

impl Action {
    pub fn is_replace(self) -> bool {
        matches!(self, Action::DeleteThenCreate | Action::CreateThenDelete)
    }

    /// Terraform's `actions` list in plan JSON.
    pub fn json_actions(self) -> Vec<&'static str> {
        match self {
            Action::NoOp => vec!["no-op"],
            Action::Create => vec!["create"],
            Action::Read => vec!["read"],
            Action::Update => vec!["update"],
            Action::DeleteThenCreate => vec!["delete", "create"],
            Action::CreateThenDelete => vec!["create", "delete"],
            Action::Delete => vec!["delete"],
            Action::Forget => vec!["forget"],
        }
    }
}

/// Why an instance gets its action, as Terraform's `ResourceInstanceChangeActionReason`
/// names it (plan JSON's `action_reason`). The engine decides the reason; the plan text
/// (forge-render) puts it into words, with the instance key the address carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeReason {
    /// Replaced: an argument that cannot change in place changed.
    ReplaceBecauseCannotUpdate,
    /// Replaced: `-replace` named it.
    ReplaceByRequest,
    /// Deleted: no block of the configuration declares the resource any more.
    DeleteBecauseNoResourceConfig,
    /// Deleted: the block is still there but its count/for_each no longer gives an
    /// instance of this kind of key (a key where there is no repetition, or the reverse).
    DeleteBecauseWrongRepetition,
    /// Deleted: the index is beyond the block's `count`.
    DeleteBecauseCountIndex,
    /// Deleted: the key is not in the block's `for_each`.
    DeleteBecauseEachKey,
    /// Deleted: its module instance is no longer in the configuration.
    DeleteBecauseNoModule,
    /// Read during apply: its configuration depends on values known only then.
    ReadBecauseConfigUnknown,
    /// Read during apply: it depends on a managed resource with a change planned.
    ReadBecauseDependencyPending,
    /// Read again during apply to verify a check block (a check block's data source).
    ReadBecauseCheckNested,
}

impl ChangeReason {
    /// Terraform's name for the reason (plan JSON's `action_reason`).
    pub fn terraform_name(self) -> &'static str {
        match self {
            ChangeReason::ReplaceBecauseCannotUpdate => "replace_because_cannot_update",
            ChangeReason::ReplaceByRequest => "replace_by_request",
            ChangeReason::DeleteBecauseNoResourceConfig => "delete_because_no_resource_config",
            ChangeReason::DeleteBecauseWrongRepetition => "delete_because_wrong_repetition",
            ChangeReason::DeleteBecauseCountIndex => "delete_because_count_index",
            ChangeReason::DeleteBecauseEachKey => "delete_because_each_key",
            ChangeReason::DeleteBecauseNoModule => "delete_because_no_module",
            ChangeReason::ReadBecauseConfigUnknown => "read_because_config_unknown",
            ChangeReason::ReadBecauseDependencyPending => "read_because_dependency_pending",
            ChangeReason::ReadBecauseCheckNested => "read_because_check_nested",
        }
    }
}

/// The planned change of one resource instance.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceChange {
    pub addr: InstanceAddr,
    pub action: Action,
    /// The refreshed object (`None` when creating).
    pub before: Option<Value>,
    /// The planned object, with unknowns (`None` when deleting).
    pub after: Option<Value>,
    /// Attributes that force the replacement.
    pub requires_replace: Vec<String>,
    /// Why, when it is not obvious (Terraform's `action_reason`).
    pub reason: Option<ChangeReason>,
    /// The address state had before a `moved` block re-addressed the object.
    pub moved_from: Option<InstanceAddr>,
    /// The id an `import` block reads the object by (it is not in state yet).
    pub importing: Option<String>,
}

impl ResourceChange {
    /// True when the plan shows it: an action, a move or an import.
    pub fn is_visible(&self) -> bool {
        self.action != Action::NoOp || self.moved_from.is_some() || self.importing.is_some()
    }
}

/// An object changed outside forge: what state said and what was read.
#[derive(Clone, Debug, PartialEq)]
pub struct Drift {
    pub addr: InstanceAddr,
    pub before: Value,
    /// `None` when the object is gone.
    pub after: Option<Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub sensitive: bool,
}

/// The plan of one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitPlan {
    pub unit: String,
    pub mode: PlanMode,
    /// Every instance considered, no-ops included (rendering skips them).
    pub changes: Vec<ResourceChange>,
    pub drift: Vec<Drift>,
    pub output_changes: Vec<OutputChange>,
    /// The outputs as they will be (unknown where only apply can tell), for dependents.
    pub outputs: BTreeMap<String, Value>,
    /// The state this plan was made against: `None` when there was no state.
    pub lineage: Option<String>,
    pub serial: u64,
    /// The data sources read during the run, with what was read (plan JSON's prior state).
    pub data_reads: Vec<(InstanceAddr, Value)>,
    /// A data source read what the state does not record (new, or changed since): an
    /// apply writes the state even when nothing else changes, as Terraform's does.
    pub data_refreshed: bool,
    /// The root module's variables as the run set them (given or defaulted, converted,
    /// sensitive ones marked): plan JSON's `variables`.
    pub variables: BTreeMap<String, Value>,
    /// The results of the conditions and check blocks (plan JSON's `checks`).
    pub checks: Vec<crate::checks::CheckResult>,
    /// Failed or not-yet-known check assertions and failed check data sources.
    pub warnings: Vec<crate::checks::Warning>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Objects an `import` block brings into state.
    pub import: usize,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl UnitPlan {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for ch in &self.changes {
            if ch.importing.is_some() {
                c.import += 1;
            }
            match ch.action {
                Action::Create => c.add += 1,
                Action::Update => c.change += 1,
                Action::Delete => c.destroy += 1,
                Action::DeleteThenCreate | Action::CreateThenDelete => {
                    c.add += 1;
                    c.destroy += 1;
                }
                Action::NoOp | Action::Read | Action::Forget => {}
            }
        }
        c
    }

    /// True when applying would change anything: resources, outputs or (refresh-only) state.
    pub fn has_changes(&self) -> bool {
        let resources = self.changes.iter().any(|c| {
            !matches!(c.action, Action::NoOp | Action::Read)
                || c.moved_from.is_some()
                || c.importing.is_some()
        });
        let outputs = self.output_changes.iter().any(|o| o.action != Action::NoOp);
        // Refresh-only records every drift; a normal apply must at least forget objects
        // that are gone.
        let drift = match self.mode {
            PlanMode::RefreshOnly => !self.drift.is_empty(),
            PlanMode::Normal => self.drift.iter().any(|d| d.after.is_none()),
            PlanMode::Destroy => false,
        };
        resources || outputs || drift
    }

    /// True when applying writes the state: a change, or data sources that read
    /// something new (which is not a change: a plan with only that says "No changes").
    pub fn writes_state(&self) -> bool {
        self.has_changes() || (self.data_refreshed && self.mode != PlanMode::Destroy)
    }
}

/// What kind of thing went wrong: who can fix it, and what to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The configuration is wrong (files, inputs, environment variables): fix it and run
    /// again.
    Configuration,
    /// A provider (the cloud's API) failed or refused an operation.
    Provider,
    /// Where state (or a saved plan) is kept: reading, writing, locking.
    Backend,
    /// The run was interrupted before this could start; the state records what was done.
    Interrupted,
    /// What the command asked for does not fit what exists: an unknown unit or address, a
    /// stale saved plan, an object that is already in state.
    Request,
    /// forge itself failed (a panic caught at the unit): a bug to report. The unit's lock
    /// was released and its journal keeps what finished.
    Internal,
}

/// An error that stops a unit (or one resource in it). Display gives the message, its
/// causes and the hint, in the order the CLI prints them.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineError {
    pub kind: ErrorKind,
    pub message: String,
    pub causes: Vec<String>,
    pub hint: Option<String>,
    /// Configuration problems, each with its file:line:col.
    pub diagnostics: Option<Diagnostics>,
}

impl EngineError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        EngineError {
            kind,
            message: message.into(),
            causes: Vec::new(),
            hint: None,
            diagnostics: None,
        }
    }
    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn config(message: impl Into<String>, diagnostics: Diagnostics) -> Self {
        EngineError {
            diagnostics: Some(diagnostics),
            ..EngineError::new(ErrorKind::Configuration, message)
        }
    }
    /// A provider's error about one resource instance.
    pub fn provider(addr: &str, doing: &str, e: &forge_provider::ProviderError) -> Self {
        let mut err = EngineError::new(ErrorKind::Provider, format!("{addr}: {doing} failed"));
        err.causes.push(match &e.code {
            Some(code) => format!("{code}: {}", e.message),
            None => e.message.clone(),
        });
        err.hint = e.hint.clone();
        err
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        for c in &self.causes {
            for line in c.lines() {
                writeln!(f, "  cause: {line}")?;
            }
        }
        if let Some(d) = &self.diagnostics {
            write!(f, "{d}")?;
        }
        if let Some(h) = &self.hint {
            writeln!(f, "hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for EngineError {}

/// How one unit's part of a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum UnitOutcome<T> {
    Done(T),
    Failed(Vec<EngineError>),
    /// Not run because this dependency failed or was skipped.
    Skipped {
        because: String,
    },
}

impl<T> UnitOutcome<T> {
    pub fn done(&self) -> Option<&T> {
        match self {
            UnitOutcome::Done(t) => Some(t),
            _ => None,
        }
    }
}

/// The plan of an environment: one outcome per unit, in walk order.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvPlan {
    pub mode: PlanMode,
    pub units: Vec<(String, UnitOutcome<UnitPlan>)>,
}

impl EnvPlan {
    pub fn failed(&self) -> bool {
        self.units
            .iter()
            .any(|(_, o)| !matches!(o, UnitOutcome::Done(_)))
    }
    pub fn has_changes(&self) -> bool {
        self.units
            .iter()
            .any(|(_, o)| o.done().is_some_and(UnitPlan::has_changes))
    }

    /// True when applying writes any unit's state ([`UnitPlan::writes_state`]).
    pub fn writes_state(&self) -> bool {
        self.units
            .iter()
            .any(|(_, o)| o.done().is_some_and(UnitPlan::writes_state))
    }
    pub fn unit(&self, name: &str) -> Option<&UnitPlan> {
        self.units
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, o)| o.done())
    }
}
