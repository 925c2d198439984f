//! `plan -json`, `apply -json` and `destroy -json`: Terraform's machine-readable UI on
//! stdout, one JSON object a line, as the engine reports each unit (forge-render's
//! `json_ui` builds the lines; this module only decides when to print them).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use forge_engine::{EngineError, EnvApply, EnvPlan, Event, EventSink, PlanMode, UnitOutcome};
use forge_lang::Severity;
use forge_render::json_ui::{self, Operation};
use serde_json::Value as J;

/// Prints lines to stdout, each whole (one write under stdout's lock).
pub fn emit(message: &J) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", json_ui::line(message));
    let _ = out.flush();
}

/// The stream's first line.
pub fn emit_version() {
    emit(&json_ui::version(
        env!("CARGO_PKG_VERSION"),
        forge_engine::state::TERRAFORM_VERSION,
    ));
}

/// The engine's events as UI lines: each unit's plan when it is ready (its refreshes,
/// drift, planned changes, plan summary and outputs), then its operations as they go.
/// Events the stream has no line for go to stderr as forge's progress text.
pub fn sink(refresh: bool, style: forge_render::text::Style) -> EventSink {
    // The id of each object an update or delete will act on, by unit and address, from
    // the unit's plan (Terraform names it in `apply_start`).
    let prior_ids: Mutex<BTreeMap<String, BTreeMap<String, String>>> = Mutex::default();
    Arc::new(move |e| match &e {
        Event::UnitPlanDone {
            plan: Some(plan), ..
        }
        | Event::UnitPlanned { plan } => {
            if refresh {
                json_ui::refreshes(plan).iter().for_each(emit);
            }
            unit_plan_lines(plan);
            prior_ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(plan.unit.clone(), json_ui::prior_ids(plan));
        }
        Event::UnitPlanDone { plan: None, .. } => {}
        Event::Op {
            unit,
            address,
            kind,
            status,
        } => {
            let ids = prior_ids.lock().unwrap_or_else(|p| p.into_inner());
            let prior = ids
                .get(unit)
                .and_then(|m| m.get(address))
                .map(String::as_str);
            if let Some(line) = json_ui::operation(unit, address, *kind, status, prior) {
                emit(&line);
            }
        }
        other => eprint!("{}", super::common::event_line(other, style)),
    })
}

/// A unit's plan as lines: drift, planned changes, the plan's summary, its outputs.
fn unit_plan_lines(plan: &forge_engine::plan::UnitPlan) {
    json_ui::drift(plan).iter().for_each(emit);
    json_ui::planned_changes(plan).iter().for_each(emit);
    emit(&json_ui::change_summary(
        &plan.unit,
        plan.counts(),
        Operation::Plan,
    ));
    if let Some(outputs) = json_ui::planned_outputs(plan) {
        emit(&outputs);
    }
}

/// The end of a plan: a diagnostic line for each error of a failed or skipped unit.
/// True when there was one.
pub fn emit_plan_failures(plan: &EnvPlan) -> bool {
    emit_failures(&plan.units)
}

/// The end of an apply: each applied unit's summary and outputs, then the failures.
/// True when a unit failed or was skipped.
pub fn emit_apply_result(result: &EnvApply, mode: PlanMode) -> bool {
    let operation = if mode == PlanMode::Destroy {
        Operation::Destroy
    } else {
        Operation::Apply
    };
    for (name, o) in &result.units {
        let UnitOutcome::Done(applied) = o else {
            continue;
        };
        // A unit with nothing to change applied nothing: its outputs are its plan's.
        let (counts, outputs) = match &applied.result {
            Some(p) => (p.counts(), Some(&p.outputs)),
            None => (Default::default(), planned_outputs(result, name)),
        };
        emit(&json_ui::change_summary(name, counts, operation));
        // Terraform prints the outputs after every apply, `Outputs: 0` when there are none.
        if operation != Operation::Destroy
            && let Some(outputs) = outputs
        {
            emit(&json_ui::applied_outputs(name, outputs));
        }
    }
    emit_failures(&result.units)
}

/// The outputs the plan behind an apply gave a unit (`None` when the apply had no plan
/// of its own, as a saved plan's apply).
fn planned_outputs<'a>(
    result: &'a EnvApply,
    unit: &str,
) -> Option<&'a BTreeMap<String, forge_provider::Value>> {
    let plan = result.plan.as_ref()?;
    match plan.units.iter().find(|(n, _)| n == unit) {
        Some((_, UnitOutcome::Done(p))) => Some(&p.outputs),
        _ => None,
    }
}

/// Any error before the walk (configuration, arguments) as one diagnostic line.
pub fn emit_error(e: &EngineError) {
    error_lines(None, e).iter().for_each(emit);
}

fn emit_failures<T>(units: &[(String, UnitOutcome<T>)]) -> bool {
    let mut any = false;
    for (name, o) in units {
        match o {
            UnitOutcome::Failed(errors) => {
                any = true;
                for e in errors {
                    error_lines(Some(name), e).iter().for_each(emit);
                }
            }
            UnitOutcome::Skipped { because } => {
                any = true;
                emit(&json_ui::diagnostic_message(
                    Some(name),
                    Severity::Error,
                    &format!("unit {name} was skipped because {because} failed"),
                    "",
                ));
            }
            UnitOutcome::Done(_) => {}
        }
    }
    any
}

/// An engine error as diagnostic lines: its configuration diagnostics with their ranges,
/// or one line with the causes and hint as the detail.
fn error_lines(unit: Option<&str>, e: &EngineError) -> Vec<J> {
    if let Some(diags) = &e.diagnostics
        && !diags.is_empty()
    {
        return diags
            .0
            .iter()
            .map(|d| json_ui::diagnostic_line(unit, d, &byte_offset))
            .collect();
    }
    let mut detail = e.causes.join("\n");
    if let Some(hint) = &e.hint {
        if !detail.is_empty() {
            detail.push_str("\n\n");
        }
        detail.push_str(hint);
    }
    vec![json_ui::diagnostic_message(
        unit,
        Severity::Error,
        &e.message,
        &detail,
    )]
}

/// The byte offset of a 1-based line and column (in characters) of a file, read now.
pub fn byte_offset(file: &std::path::Path, line: usize, col: usize) -> Option<usize> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let within: usize = l
                .chars()
                .take(col.saturating_sub(1))
                .map(char::len_utf8)
                .sum();
            return Some(offset + within);
        }
        offset += l.len();
    }
    None
}

/// A JSON command's result: a failure not yet reported becomes diagnostic lines on
/// stdout (Terraform's -json prints its errors in the stream too).
pub fn reported(result: super::common::Outcome) -> super::common::Outcome {
    use super::common::Failure;
    match result {
        Err(Failure::Engine(e)) => {
            emit_error(&e);
            Err(Failure::Reported)
        }
        Err(Failure::Diagnostics(d)) => {
            for diag in &d.0 {
                emit(&json_ui::diagnostic_line(None, diag, &byte_offset));
            }
            Err(Failure::Reported)
        }
        other => other,
    }
}
