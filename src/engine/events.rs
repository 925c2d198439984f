//! What the engine reports while it works. The engine never prints: the CLI receives
//! these and renders progress lines.

use std::sync::Arc;
use std::time::Duration;

use crate::plan::UnitPlan;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Reading,
    /// Reading an object an `import` block brings in, while applying.
    Importing,
    /// The same while planning (Terraform's "Preparing import...").
    PreparingImport,
    Creating,
    Modifying,
    Destroying,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OpStatus {
    Started,
    /// Still running after this long (every 10 s).
    Still(Duration),
    /// Finished after this long; the object's id when it has one.
    Done(Duration, Option<String>),
    Failed(Duration),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The units of each wave, in the order they will run.
    Schedule { waves: Vec<Vec<String>> },
    /// A unit's plan, made under its lock just before it is applied (`plan_and_apply`):
    /// the CLI shows it before the unit's progress lines.
    UnitPlanned { plan: Box<UnitPlan> },
    /// A unit of an environment-wide plan (`Engine::plan`) is planned (`plan`) or failed
    /// (`errors` errors, returned with the plan): the CLI streams each unit's section.
    UnitPlanDone {
        unit: String,
        plan: Option<Box<UnitPlan>>,
        errors: usize,
        /// How long the unit took to plan (its inputs, lock, refresh and diff).
        elapsed: Duration,
    },
    /// `operation` is `applying`, `destroying` or `refreshing`.
    UnitStarted {
        unit: String,
        operation: &'static str,
    },
    UnitFinished {
        unit: String,
        elapsed: Duration,
        ok: bool,
    },
    /// A provider call on one resource instance during apply.
    Op {
        unit: String,
        address: String,
        kind: OpKind,
        status: OpStatus,
    },
    /// Something the user should know (a backend created its bucket, a lock was waited for).
    Notice {
        unit: Option<String>,
        message: String,
    },
}

pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// A sink that drops everything.
pub fn no_events() -> EventSink {
    Arc::new(|_| {})
}
