//! forge's configuration model, read from the layout users already have:
//!
//! - [`unit`](mod@unit): an environment folder (`stacks/production`) holds units, one folder each
//!   with a `terragrunt.hcl` (or `forge.hcl`), which includes the root file found with
//!   `find_in_parent_folders`, reads `env.hcl`, declares `dependency` blocks, `inputs`,
//!   `remote_state`, `generate` and `terraform { source }`.
//! - [`module`]: the Terraform module a unit points at: `variable`, `locals`, `resource`,
//!   `data`, `output` and `provider` blocks from its `*.tf` files and, in Terraform's JSON
//!   syntax, its `*.tf.json` files (nested blocks of resources known through the schema
//!   lookup the program passes in its [`LoadContext`]).
//!
//! - [`validate`]: the static checks of `forge validate` (undeclared names with "did you
//!   mean" hints, `each`/`count` out of place, inputs against variables, dependency
//!   outputs that do not exist). Schema checks live in forge-engine.
//!
//! Terragrunt's functions (`find_in_parent_folders`, `path_relative_to_include`,
//! `read_terragrunt_config`, `get_env`, `run_cmd`, `get_aws_account_id`, ...) are evaluated
//! in the unit's context, as Terragrunt does for an included root file. Locals may not read
//! dependencies. The AWS functions ask the lookup the program passes in the
//! [`LoadContext`] ([`LoadContext::with_aws_identity`]): this crate has no AWS SDK;
//! `run_cmd` reports each command to the context's log ([`LoadContext::with_command_log`]).
//! Nothing is installed process-wide: what a load returns depends on its arguments.
//!
//! Tests: `tests/broken/*.txtar` (broken configurations and their diagnostics),
//! `tests/eval/*.txtar` (configurations and their evaluated model) and `tests/stacks.rs`
//! (stacks/production). `UPDATE_SNAPSHOTS=1 cargo test -p forge-config` rewrites the
//! `.expected` snapshots; review the diff before committing.
//!
//! Everything that can be evaluated without other units' outputs is evaluated here
//! (locals of unit files, `remote_state`, generated provider blocks); a unit's `inputs`
//! wait for its dependencies' outputs ([`unit::Unit::eval_inputs`]). No network I/O of its
//! own (the context's AWS lookup is the program's; `run_cmd` runs what the user wrote).
//!
//! IMPLEMENTATION OWNER: the config helper. The types are the contract forge-engine is
//! written against; extend them, do not break them.

pub mod dependency_reads;
pub mod encryption;
pub mod error_rules;
pub mod extra_arguments;
pub mod features;
pub mod module;
pub mod requirements;
pub mod tfvars;
pub mod unit;
pub mod validate;
mod validate_eval;
pub mod version_constraint;

mod attribute_values;
mod context;
mod host;
mod host_aws;
mod locals;
mod mode;
mod module_json;
mod module_scope;
mod refactor;
mod run_cmd;
mod unit_blocks;
pub mod unit_hooks;
pub mod unit_settings;

#[cfg(test)]
#[path = "../lang/module_cycles.rs"]
mod module_cycles;

pub use context::{LoadContext, ModuleSources};
pub use encryption::EncryptionSettings;
pub use host::relative_path;
pub use host_aws::{AwsIdentity, AwsIdentityLookup, CallerIdentity};
pub use module::{
    BlockAddress, CheckBlock, Condition, IgnoreChanges, Import, Lifecycle, Local, Mode, Module,
    ModuleCall, Moved, Output, ProviderBlock, Removed, ResourceBlock, Validation, Variable,
};
pub use module_json::SchemaLookup;
pub use module_scope::module_scope;
pub use run_cmd::{CommandLog, CommandRun};
pub use unit::{Dependency, Environment, RemoteState, Unit};
pub use validate::{validate_environment, validate_module};
