//! forge's engine: the graph of units and the graph inside each unit, the bounded
//! parallel walk, plan (refresh, drift, diff), apply and destroy, the state model
//! (Terraform's format 4) with its local backend. What a plan looks like to people and to
//! tools (plan text, plan JSON) is forge-render's, on the types of [`plan`].
//!
//! It never prints and never exits: runs return results, progress goes out as
//! [`Event`]s, and the CLI decides what to show. Providers and state backends are
//! injected, so tests run the whole engine on `forge_provider::fake` (the cargo feature
//! `test-support`, which also carries the crash hook in [`fault_injection`]).

//!
//! The public surface is what the CLI, forge-render and the tests use: the re-exports
//! below and the modules declared `pub`; inside those, what nobody outside uses is
//! `pub(crate)`. Every other module is private, so `unreachable_pub` (an error under
//! CI's `clippy -D warnings`) flags any `pub` item there that the surface does not reach.

#![warn(unreachable_pub)]

pub mod addr;
pub mod checks;
mod critical_path;
pub mod cross_unit;
mod data_reads;
mod encrypted_backend;
pub mod encryption;
mod engine;
mod events;
pub mod fault_injection;
mod intents;
mod journal;
pub mod local_backend;
mod lock_holder;
pub mod module_graph;
pub mod plan;
pub mod plan_promise;
mod private_file;
mod provider_config;
mod refactor;
mod run;
pub mod saved_plan;
pub mod schema_util;
pub mod state;
mod store;
pub mod targeting;
pub mod unit_graph;
mod unit_policy;
mod unit_turn;
pub mod validate;
pub mod value_text;
mod walk;

pub use addr::{InstanceAddr, InstanceKey};
pub use critical_path::CriticalPath;
pub use engine::{ApplyTarget, Engine, EnvApply, Options, UnitApplied};
pub use events::{Event, EventSink, OpKind, OpStatus, no_events};
pub use plan::{
    Action, ChangeReason, Drift, EngineError, EnvPlan, ErrorKind, OutputChange, PlanMode,
    ResourceChange, UnitOutcome, UnitPlan,
};
pub use run::{InstanceBinding, instance_keys};
pub use state::State;
pub use unit_turn::{HookRun, HookRunner};
