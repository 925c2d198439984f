//! forge's expression language: Terraform's HCL, parsed with source spans and evaluated
//! to [`forge_provider::Value`] with unknown and sensitive marks.
//!
//! - [`syntax`]: files parsed (with hcl-edit) into bodies, blocks, attributes and
//!   expressions that remember where they came from; the references an expression makes.
//! - [`json`]: HCL's JSON syntax (`*.tf.json`) read into the same bodies, by translating
//!   it to native syntax with a position map back to the JSON.
//! - [`eval`]: evaluation in a [`eval::Scope`] of named roots (`var`, `local`, `each`,
//!   `aws_sqs_queue`, `dependency`, ...), with the function library in [`functions`].
//! - [`types`]: `variable` type constraints and Terraform's conversion rules.
//! - [`diagnostic`]: errors that name `file:line:col` and say what to do.
//! - [`console`]: values printed exactly as `terraform console` prints them.
//!
//! Semantics are checked against real Terraform: `tests/terraform_corpus.rs` evaluates
//! every expression of `tests/corpus/expressions.txt` and compares forge's rendering with
//! the answers `terraform console` gave (recorded by `examples/record_corpus.rs`, and
//! re-checked against the live binary). `tests/corpus/KNOWN_DIFFERENCES.md` lists what
//! cannot match (f64 numbers, typed nulls).

pub mod console;
pub mod diagnostic;
pub mod eval;
pub mod functions;
pub mod json;
pub mod syntax;
pub mod types;

mod constant;
mod number;
mod template;
mod type_expr;

#[cfg(test)]
mod module_cycles;

pub use console::render_console;
pub use diagnostic::{Diagnostic, Diagnostics, Location, Severity};
pub use eval::{FunctionHost, Scope, TraversalStep, eval};
pub use json::{BlockSpec, BodySpec, JsonFile, ValueMode, parse_json_file, parse_json_str};
pub use syntax::{
    Attribute, Block, Body, Expr, RefStep, Reference, SourceFile, parse_expr_str, parse_file,
    parse_str,
};
pub use types::TypeConstraint;
