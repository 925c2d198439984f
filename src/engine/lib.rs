//! forge's engine: the graph of units and the graph inside each unit, the bounded
//! parallel walk, plan (refresh, drift, diff), apply and destroy, the state model
//! (Terraform's format 4) with its local backend. What a plan looks like to people and to
//! tools (plan text, plan JSON) is forge-render's, on the types of [`plan`].
//!
//! It never prints and never exits: runs return results, progress goes out as
//! [`events::Event`]s, and the CLI decides what to show. Providers and state backends are
//! injected, so tests run the whole engine on `forge_provider::fake` (the cargo feature
//! `test-support`, which also carries the crash hook in [`fault_injection`]).

#![warn(unreachable_pub)]

pub mod addr;
pub mod checks;
pub mod critical_path;
pub mod data_reads;
pub mod engine;
pub mod events;
pub mod fault_injection;
pub mod journal;
pub mod local_backend;
pub mod lock_holder;
pub mod module_graph;
pub mod plan;
pub mod plan_promise;
mod private_file;
pub mod provider_config;
pub mod refactor;
pub mod run;
pub mod saved_plan;
pub mod schema_util;
pub mod state;
pub mod store;
pub mod targeting;
pub mod unit_graph;
pub mod unit_policy;
pub mod validate;
pub mod value_text;
pub mod walk;

pub use addr::{InstanceAddr, InstanceKey};
pub use critical_path::CriticalPath;
pub use engine::{ApplyTarget, Engine, EnvApply, Options, UnitApplied};
pub use events::{Event, EventSink, OpKind, OpStatus};
pub use plan::{
    Action, ChangeReason, Drift, EngineError, EnvPlan, ErrorKind, OutputChange, PlanMode,
    ResourceChange, UnitOutcome, UnitPlan,
};
pub use state::State;
