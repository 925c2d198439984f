//! `--report-file FILE` (and `--report-format`): after a plan, apply or destroy, each
//! unit's result, counts and time written as Terragrunt's run report (forge-render's
//! `run_report` lays it out). The times come from the engine's events.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Local, SecondsFormat};
use forge_engine::plan::Counts;
use forge_engine::{Engine, EngineError, EnvApply, EnvPlan, ErrorKind, Event, UnitOutcome};
use forge_render::run_report::{ReportFormat, ReportRow, RunResult, render};

use super::common::{Failure, RunArgs};

/// `--report-format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormatArg {
    Json,
    Csv,
    Markdown,
}

/// When a unit started and ended (either may be missing: a unit that never ran).
type StartEnd = (Option<DateTime<Local>>, Option<DateTime<Local>>);

/// When each unit started and ended, as the engine reported them.
#[derive(Default)]
pub struct Timings {
    units: Mutex<BTreeMap<String, StartEnd>>,
}

/// Wraps the engine's event sink (the last one set) to record the units' times; `None`
/// without `--report-file`.
pub fn observe(engine: &mut Engine, args: &RunArgs) -> Option<Arc<Timings>> {
    args.report_file.as_ref()?;
    let timings = Arc::new(Timings::default());
    let inner = engine.events.clone();
    let seen = timings.clone();
    engine.events = Arc::new(move |e| {
        let now = Local::now();
        {
            let mut units = seen.units.lock().unwrap_or_else(|p| p.into_inner());
            match &e {
                Event::UnitPlanDone { unit, elapsed, .. } => {
                    let entry = units.entry(unit.clone()).or_default();
                    let started = chrono::Duration::from_std(*elapsed)
                        .ok()
                        .and_then(|d| now.checked_sub_signed(d));
                    entry.0 = entry.0.or(started);
                    entry.1 = Some(now);
                }
                Event::UnitStarted { unit, .. } => {
                    let entry = units.entry(unit.clone()).or_default();
                    entry.0 = entry.0.or(Some(now));
                }
                Event::UnitFinished { unit, .. } => {
                    units.entry(unit.clone()).or_default().1 = Some(now);
                }
                _ => {}
            }
        }
        inner(e)
    });
    Some(timings)
}

/// Writes the report of a plan.
pub fn write_plan(
    args: &RunArgs,
    plan: &EnvPlan,
    timings: Option<&Arc<Timings>>,
) -> Result<(), Failure> {
    let rows = rows(&plan.units, timings, |p| Some(p.counts()));
    write(args, &rows)
}

/// Writes the report of an apply or destroy.
pub fn write_apply(
    args: &RunArgs,
    result: &EnvApply,
    timings: Option<&Arc<Timings>>,
) -> Result<(), Failure> {
    let rows = rows(&result.units, timings, |a| {
        a.result.as_ref().map(|p| p.counts())
    });
    write(args, &rows)
}

fn rows<T>(
    units: &[(String, UnitOutcome<T>)],
    timings: Option<&Arc<Timings>>,
    counts: impl Fn(&T) -> Option<Counts>,
) -> Vec<ReportRow> {
    let times = timings
        .map(|t| t.units.lock().unwrap_or_else(|p| p.into_inner()).clone())
        .unwrap_or_default();
    let now = Local::now();
    units
        .iter()
        .map(|(name, outcome)| {
            let (started, ended) = times.get(name).copied().unwrap_or_default();
            let (started, ended) = (started.unwrap_or(now), ended.or(started).unwrap_or(now));
            let (result, reason, cause, counts) = match outcome {
                UnitOutcome::Done(x) => (
                    RunResult::Succeeded,
                    None,
                    None,
                    counts(x).unwrap_or_default(),
                ),
                UnitOutcome::Failed(errors) => (
                    RunResult::Failed,
                    Some("run error".to_string()),
                    errors.first().map(error_cause),
                    Counts::default(),
                ),
                UnitOutcome::Skipped { because } => (
                    RunResult::EarlyExit,
                    Some("dependency failed".to_string()),
                    Some(because.clone()),
                    Counts::default(),
                ),
            };
            ReportRow {
                name: name.clone(),
                started: started.to_rfc3339_opts(SecondsFormat::Micros, true),
                ended: ended.to_rfc3339_opts(SecondsFormat::Micros, true),
                result,
                reason,
                cause,
                counts,
                seconds: (ended - started).num_milliseconds().max(0) as f64 / 1000.0,
            }
        })
        .collect()
}

/// An error in one line: its message and what it says first in detail (the first
/// configuration diagnostic, or the first cause).
fn error_cause(e: &EngineError) -> String {
    let detail = e
        .diagnostics
        .as_ref()
        .and_then(|d| d.0.first())
        .map(|d| match &d.location {
            Some(at) => format!("{at}: {}", d.summary),
            None => d.summary.clone(),
        })
        .or_else(|| e.causes.first().cloned());
    match detail {
        Some(d) => format!("{}: {d}", e.message),
        None => e.message.clone(),
    }
}

fn write(args: &RunArgs, rows: &[ReportRow]) -> Result<(), Failure> {
    let Some(path) = &args.report_file else {
        return Ok(());
    };
    let format = match args.report_format {
        Some(ReportFormatArg::Json) => ReportFormat::Json,
        Some(ReportFormatArg::Csv) => ReportFormat::Csv,
        Some(ReportFormatArg::Markdown) => ReportFormat::Markdown,
        None => ReportFormat::of_file(&path.to_string_lossy()),
    };
    write_file(path, &render(rows, format))
}

fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| {
        Failure::Engine(
            EngineError::new(
                ErrorKind::Request,
                format!(
                    "--report-file {}: cannot write the run report",
                    path.display()
                ),
            )
            .cause(e.to_string())
            .hint("name a file in a folder that exists and can be written"),
        )
    })
}
