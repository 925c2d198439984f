//! `forge plan`: what apply would change, unit by unit, then a table for the environment.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use forge_config::Environment;
use forge_engine::saved_plan::{SavedPlan, ShownUnit};
use forge_engine::{Engine, EnvPlan, PlanMode, UnitOutcome};
use forge_render::plan_json::UnitConfigJson;
use forge_render::plan_json_config::{
    ProviderSchemas, configuration_json, resource_dependencies, variables_json,
};
use forge_render::text::{Style, render_unit, render_unit_changes, summary_table};

use super::common::{Failure, Outcome, RunArgs, build_engine_with, load_env, resolve_target};

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Only record changes made outside forge; plan no changes to AWS.
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    /// Plan deleting everything instead.
    #[arg(long)]
    pub destroy: bool,
    /// Exit 0 with no changes, 1 on error, 2 with changes.
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,
    /// Print Terraform's machine-readable UI instead of text: one JSON object a line
    /// (version, planned_change, resource_drift, change_summary, outputs, diagnostic), each
    /// naming its unit in a `unit` field, streamed as each unit is planned.
    #[arg(long, conflicts_with = "json_plan")]
    pub json: bool,
    /// Print Terraform's plan document instead (what `terraform show -json` prints for a
    /// saved plan; `forge show -json FILE` prints it for a plan saved with -out).
    #[arg(long = "json-plan")]
    pub json_plan: bool,
    /// Save the plan to apply exactly it later (`forge apply FILE`).
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace this resource instance even if nothing requires it (repeatable;
    /// `unit:address` in an environment of several units).
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
}

pub fn mode_of(refresh_only: bool, destroy: bool) -> PlanMode {
    if destroy {
        PlanMode::Destroy
    } else if refresh_only {
        PlanMode::RefreshOnly
    } else {
        PlanMode::Normal
    }
}

pub async fn run(args: PlanArgs, style: Style) -> Outcome {
    if !args.json {
        return plan(args, style).await;
    }
    super::json_stream::emit_version();
    super::json_stream::reported(plan(args, style).await)
}

async fn plan(args: PlanArgs, style: Style) -> Outcome {
    let dir = resolve_target(&args.run.dir)?;
    let env = load_env(&dir)?;
    let mut built = build_engine_with(&args.run, &args.replace, false, style)?;
    built.engine.options.command = Some("plan");
    if !super::common::select_changed_units(&mut built.engine, &env, &args.run)? {
        let message = format!(
            "No unit changed since {}: nothing to plan.",
            args.run.changed_since.as_deref().unwrap_or_default()
        );
        if args.json {
            super::json_stream::emit(&forge_render::json_ui::log(&message));
        } else {
            println!("{message}");
        }
        return Ok(0);
    }
    let mode = mode_of(args.refresh_only, args.destroy);
    let stream = if args.json {
        built.engine.events = super::json_stream::sink(built.engine.options.refresh, style);
        None
    } else if args.json_plan {
        // stdout holds the JSON document only; progress goes to stderr.
        built.engine.events =
            std::sync::Arc::new(move |e| eprint!("{}", super::common::event_line(&e, style)));
        None
    } else {
        let stream = super::plan_stream::PlanStream::new(built.engine.schedule(&env, mode)?, style);
        built.engine.events = stream.sink(built.engine.events.clone());
        Some(stream)
    };
    let timings = super::run_report::observe(&mut built.engine, &args.run);
    let plan = built.engine.plan(&env, mode).await?;
    super::run_report::write_plan(&args.run, &plan, timings.as_ref())?;
    if args.json {
        if super::json_stream::emit_plan_failures(&plan) {
            return Err(Failure::Reported);
        }
    } else if args.json_plan {
        let config = config_json(&built.engine, &env, &plan).await;
        println!(
            "{}",
            serde_json::to_string_pretty(&forge_render::plan_json::env_plan_json_with_config(
                &plan, &config
            ))
            .unwrap_or_default()
        );
    } else if let Some(stream) = &stream {
        print!("{}", stream.finish(&plan));
        print!(
            "{}",
            super::common::targeting_warning(&built.engine.options.targeting, style)
        );
    }
    if plan.failed() {
        if !args.json_plan {
            super::common::print_unit_failures(&plan.units);
        }
        return Err(Failure::Reported);
    }
    if let Some(out) = &args.out {
        let canonical = dir.canonicalize().unwrap_or(dir.clone());
        let mut saved = SavedPlan::from_plan(&canonical, &plan)?
            .with_targeting(&built.engine.options.targeting);
        saved.shown = shown_units(&built.engine, &env, &plan).await;
        // A unit whose plans are encrypted keeps its planned values only encrypted.
        saved.encrypt_shown(&|name: &str| built.engine.plan_cipher(&env, name))?;
        saved.write(out)?;
        if !args.json && !args.json_plan {
            println!(
                "\nSaved the plan to: {}\nTo perform exactly these actions, run: forge apply {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}

/// Each unit's section, then the environment table when there is more than one unit.
/// An apply leaves out the check blocks' warnings: it shows those of its own evaluation.
pub fn render_env_plan(plan: &EnvPlan, style: Style, warnings: bool) -> String {
    let mut out = String::new();
    for (name, o) in &plan.units {
        out.push_str(&style.bold(&format!("── unit {name} ")));
        out.push('\n');
        match o {
            UnitOutcome::Done(p) if warnings => out.push_str(&render_unit(p, style)),
            UnitOutcome::Done(p) => out.push_str(&render_unit_changes(p, style)),
            UnitOutcome::Failed(es) => {
                out.push_str(&format!("failed: {} error(s), shown below\n", es.len()))
            }
            UnitOutcome::Skipped { because } => {
                out.push_str(&format!("skipped: its dependency {because} failed\n"))
            }
        }
        out.push('\n');
    }
    if plan.units.len() > 1 {
        out.push_str(&summary_table(plan));
    }
    out
}

/// What `forge show FILE` prints of each unit: its plan text (no colour) and document.
async fn shown_units(
    engine: &Engine,
    env: &Environment,
    plan: &EnvPlan,
) -> BTreeMap<String, ShownUnit> {
    let config = config_json(engine, env, plan).await;
    let plain = Style {
        color: false,
        compact_warnings: false,
    };
    plan.units
        .iter()
        .filter_map(|(name, o)| {
            let UnitOutcome::Done(p) = o else { return None };
            let document = match config.get(name) {
                Some(c) => forge_render::plan_json::unit_plan_json_with_config(p, c),
                None => forge_render::plan_json::unit_plan_json(p),
            };
            let text = render_unit(p, plain);
            Some((name.clone(), ShownUnit { text, document }))
        })
        .collect()
}

/// Each planned unit's `variables` (the values its run set) and `configuration` for plan JSON.
async fn config_json(
    engine: &Engine,
    env: &Environment,
    plan: &EnvPlan,
) -> BTreeMap<String, UnitConfigJson> {
    let schemas = ProviderSchemas::load(&engine.factories).await;
    let mut out = BTreeMap::new();
    for (name, outcome) in &plan.units {
        let (UnitOutcome::Done(p), Some(unit)) = (outcome, env.unit(name)) else {
            continue;
        };
        let variables = variables_json(unit, &p.variables);
        let configuration = Some(configuration_json(unit, &|mode, ty| {
            schemas.schema(mode, ty)
        }));
        out.insert(
            name.clone(),
            UnitConfigJson {
                variables,
                configuration,
                dependencies: resource_dependencies(unit),
            },
        );
    }
    out
}
