//! forge's presentation of plans: the plan text people read, in Terraform's notation with
//! optional ANSI colour ([`text`]), and the plan JSON tools read, in the shape of
//! `terraform show -json` ([`plan_json`], with the parts taken from the configuration in
//! [`plan_json_config`]). It reads the engine's plan types and never changes them; the
//! engine never depends on it.

#![warn(unreachable_pub)]

pub mod drift_report;
pub mod json_ui;
pub mod plan_json;
pub mod plan_json_config;
pub mod run_report;
pub mod state_json;
pub mod text;
pub mod unmanaged;
pub mod version;
