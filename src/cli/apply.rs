//! `forge apply`: plan, show, ask, apply in dependency order; or apply a saved plan file.

use clap::Args;
use forge_engine::saved_plan::{SavedPlan, is_plan_file};
use forge_engine::{EnvApply, PlanMode, UnitOutcome};
use forge_render::text::Style;

use super::common::{
    Built, Failure, Outcome, RunArgs, build_engine, build_engine_with, confirm, load_env,
    print_unit_failures, resolve_target, seconds,
};
use super::plan::{mode_of, render_env_plan};
use forge_config::Environment;
use forge_engine::{EngineError, ErrorKind};

#[derive(Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Do not ask for confirmation.
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
    /// Only record changes made outside forge in state.
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    /// Replace this resource instance even if nothing requires it (repeatable;
    /// `unit:address` in an environment of several units).
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// Print Terraform's machine-readable UI instead of text, one JSON object a line
    /// (each unit's plan, apply_start/progress/complete/errored, change_summary,
    /// outputs, diagnostic; a `unit` field names the unit). Needs -auto-approve or a
    /// saved plan, as in Terraform.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ApplyArgs, style: Style) -> Outcome {
    if args.json {
        super::json_stream::emit_version();
        let result = if is_plan_file(&args.run.dir) {
            apply_saved(&args, style).await
        } else {
            json_walk(
                &args.run,
                &args.replace,
                mode_of(args.refresh_only, false),
                args.auto_approve,
                style,
            )
            .await
        };
        return super::json_stream::reported(result);
    }
    if is_plan_file(&args.run.dir) {
        return apply_saved(&args, style).await;
    }
    plan_confirm_apply(
        &args.run,
        &args.replace,
        mode_of(args.refresh_only, false),
        args.auto_approve,
        style,
    )
    .await
}

async fn apply_saved(args: &ApplyArgs, style: Style) -> Outcome {
    // The plan decided these; giving them again could only disagree with it (Terraform
    // refuses them with a plan file too).
    let planning_flags = [
        ("-target", !args.run.targets.is_empty()),
        ("-exclude", !args.run.excludes.is_empty()),
        ("-replace", !args.replace.is_empty()),
        ("-var", !args.run.vars.is_empty()),
        ("-var-file", !args.run.var_files.is_empty()),
        ("-refresh-only", args.refresh_only),
        ("--changed-since", args.run.changed_since.is_some()),
    ];
    if let Some((flag, _)) = planning_flags.iter().find(|(_, given)| *given) {
        return Err(Failure::Engine(
            EngineError::new(
                ErrorKind::Request,
                format!("{flag} cannot be used when applying a saved plan"),
            )
            .hint("give it to forge plan -out instead; the saved plan applies what it planned"),
        ));
    }
    let saved = SavedPlan::read(&args.run.dir)?;
    // Before anything runs: a plan whose promises cannot be checked here is refused.
    let targets = saved.targets()?;
    let env = load_env(&saved.dir)?;
    let mut built = build_engine(&args.run, true, style)?;
    built.engine.options.targeting = saved.targeting()?;
    built.engine.options.command = Some(command_name(saved.mode));
    if args.json {
        built.engine.events = super::json_stream::sink(false, style);
    }
    let timings = super::run_report::observe(&mut built.engine, &args.run);
    let result = built.engine.apply(&env, saved.mode, &targets).await?;
    super::run_report::write_apply(&args.run, &result, timings.as_ref())?;
    if args.json {
        return json_result(&result, saved.mode);
    }
    report(&result, saved.mode, style)
}

/// apply -json and destroy -json: one plan-and-apply walk streamed as Terraform's UI.
pub async fn json_walk(
    run: &super::common::RunArgs,
    replace: &[String],
    mode: PlanMode,
    auto_approve: bool,
    style: Style,
) -> Outcome {
    if !auto_approve {
        return Err(Failure::Engine(
            EngineError::new(
                ErrorKind::Request,
                "-json needs -auto-approve: a JSON stream cannot ask for confirmation",
            )
            .hint("add -auto-approve, or apply a plan saved with forge plan -out FILE"),
        ));
    }
    let Some((mut built, env)) = prepare_walk(run, replace, mode, style)? else {
        return Ok(0);
    };
    built.engine.events = super::json_stream::sink(built.engine.options.refresh, style);
    let timings = super::run_report::observe(&mut built.engine, run);
    let result = built.engine.plan_and_apply(&env, mode).await?;
    super::run_report::write_apply(run, &result, timings.as_ref())?;
    json_result(&result, mode)
}

/// What every apply and destroy walk starts with: the environment loaded and the engine
/// built to change it, for this command, with only the units `--changed-since` selects.
/// `None` when that option leaves no unit to run.
fn prepare_walk(
    run: &super::common::RunArgs,
    replace: &[String],
    mode: PlanMode,
    style: Style,
) -> Result<Option<(Built, Environment)>, Failure> {
    let dir = resolve_target(&run.dir)?;
    let env = load_env(&dir)?;
    let mut built = build_engine_with(run, replace, true, style)?;
    built.engine.options.command = Some(command_name(mode));
    if !super::common::select_changed_units(&mut built.engine, &env, run)? {
        return Ok(None);
    }
    Ok(Some((built, env)))
}

fn json_result(result: &EnvApply, mode: PlanMode) -> Outcome {
    if super::json_stream::emit_apply_result(result, mode) {
        return Err(Failure::Reported);
    }
    Ok(0)
}

/// The interactive flow shared with destroy.
pub async fn plan_confirm_apply(
    run: &super::common::RunArgs,
    replace: &[String],
    mode: PlanMode,
    auto_approve: bool,
    style: Style,
) -> Outcome {
    if !auto_approve && !run.input {
        return Err(Failure::Engine(
            EngineError::new(
                ErrorKind::Request,
                "this run needs a 'yes' to go on, and -input=false forbids asking for it",
            )
            .hint("add -auto-approve, or apply a plan saved with forge plan -out FILE"),
        ));
    }
    let Some((mut built, env)) = prepare_walk(run, replace, mode, style)? else {
        println!(
            "No unit changed since {}: nothing to do.",
            run.changed_since.as_deref().unwrap_or_default()
        );
        return Ok(0);
    };
    print!(
        "{}",
        super::common::targeting_warning(&built.engine.options.targeting, style)
    );
    if auto_approve {
        // Nothing to confirm, so no environment-wide plan first: each unit shows its own
        // plan (Event::UnitPlanned) just before it is applied, in one walk.
        let timings = super::run_report::observe(&mut built.engine, run);
        let result = built.engine.plan_and_apply(&env, mode).await?;
        super::run_report::write_apply(run, &result, timings.as_ref())?;
        return report_walk(&result, mode, style);
    }
    let timings = super::run_report::observe(&mut built.engine, run);
    let plan = built.engine.plan(&env, mode).await?;
    print!("{}", render_env_plan(&plan, style, false));
    let partial = plan.failed();
    if partial {
        print_unit_failures(&plan.units);
    }
    if !plan.has_changes() && (partial || !plan.writes_state()) {
        if partial {
            eprintln!("hint: nothing was applied; fix the errors above and run again");
            return Err(Failure::Reported);
        }
        println!("\nNo changes to apply.");
        return Ok(0);
    }
    // Only data sources read something new: nothing to confirm, but the state records it
    // (Terraform applies such a plan without asking, too).
    if plan.has_changes() && !auto_approve {
        let question = match (mode, partial) {
            (_, true) => {
                "Some units failed to plan: they and the units that depend on them will be skipped. Apply the others?"
            }
            (PlanMode::Destroy, false) => {
                "Do you really want to destroy all resources of these units?"
            }
            (PlanMode::RefreshOnly, false) => {
                "Would you like to update the state to reflect these detected changes?"
            }
            (PlanMode::Normal, false) => "Do you want to perform these actions?",
        };
        if !confirm(question) {
            println!("\nApply cancelled.");
            return Ok(1);
        }
    }
    println!();
    let result = built.engine.apply_plan(&env, &plan).await?;
    super::run_report::write_apply(run, &result, timings.as_ref())?;
    report(&result, mode, style)
}

/// The end of a plan-and-apply walk: the plans' table, then what `report` prints (or
/// "No changes to apply." when no unit had anything to do).
fn report_walk(result: &EnvApply, mode: PlanMode, style: Style) -> Outcome {
    if let Some(plan) = &result.plan {
        if plan.units.len() > 1 {
            print!("\n{}", forge_render::text::summary_table(plan));
        }
        if !plan.has_changes() && !result.failed() {
            println!("\nNo changes to apply.");
            return Ok(0);
        }
    }
    report(result, mode, style)
}

fn report(result: &EnvApply, mode: PlanMode, style: Style) -> Outcome {
    let (mut import, mut add, mut change, mut destroy) = (0, 0, 0, 0);
    // Terraform names imports first, and only when there were any.
    let imported = |n: usize| {
        if n > 0 {
            format!("{n} imported, ")
        } else {
            String::new()
        }
    };
    println!();
    for (name, o) in &result.units {
        match o {
            UnitOutcome::Done(a) => {
                let Some(p) = &a.result else {
                    println!("{name}: no changes");
                    continue;
                };
                let c = p.counts();
                import += c.import;
                add += c.add;
                change += c.change;
                destroy += c.destroy;
                let drift = if mode == PlanMode::RefreshOnly {
                    format!(", {} drifted object(s) recorded", p.drift.len())
                } else {
                    String::new()
                };
                println!(
                    "{name}: {}{} added, {} changed, {} destroyed{drift} in {}",
                    imported(c.import),
                    c.add,
                    c.change,
                    c.destroy,
                    seconds(a.elapsed)
                );
                let outputs: Vec<_> = p.outputs.iter().collect();
                for (k, v) in outputs {
                    // Only a refresh-only apply leaves outputs unknown (their object is gone);
                    // state does not record them, so "known after apply" would be untrue.
                    if !v.is_wholly_known() {
                        println!(
                            "  output {k}: not recorded (it depends on an object that is gone; the next apply sets it)"
                        );
                        continue;
                    }
                    println!("  output {k} = {}", forge_render::text::inline(v));
                }
            }
            UnitOutcome::Failed(_) => println!("{name}: failed"),
            UnitOutcome::Skipped { because } => println!("{name}: skipped ({because} failed)"),
        }
    }
    // The check blocks' warnings of the apply, as Terraform prints them after its operations.
    for (_, o) in &result.units {
        if let UnitOutcome::Done(forge_engine::UnitApplied {
            result: Some(p), ..
        }) = o
        {
            print!("{}", forge_render::text::render_warnings(p, style));
        }
    }
    if print_unit_failures(&result.units) {
        let done = &result.done_in_failed_units;
        let (import, add, change, destroy) = (
            import + done.import,
            add + done.add,
            change + done.change,
            destroy + done.destroy,
        );
        eprintln!(
            "\nApply failed after {}: {}{add} added, {change} changed, {destroy} destroyed before the failure.",
            seconds(result.elapsed),
            imported(import)
        );
        // Errors with their own hint (a stale plan, a held lock) say what to do already.
        let unhinted = result.units.iter().any(
            |(_, o)| matches!(o, UnitOutcome::Failed(es) if es.iter().any(|e| e.hint.is_none())),
        );
        if unhinted {
            eprintln!(
                "hint: the state records everything that was done; fix the cause and run the same command again to continue"
            );
        }
        return Err(Failure::Reported);
    }
    if super::API_STATS.load(std::sync::atomic::Ordering::Relaxed) {
        let cp = &result.critical_path;
        eprintln!("critical path: {}", cp.describe());
        if !cp.total.is_zero() {
            // A plan-and-apply walk has no separate apply phase: it is the whole run.
            let what = if result.plan.is_some() {
                "plan and apply walk"
            } else {
                "apply phase"
            };
            eprintln!(
                "{what}: {:.2} s, {:.2} x the critical path",
                result.elapsed.as_secs_f64(),
                result.elapsed.as_secs_f64() / cp.total.as_secs_f64()
            );
            let waits = cp.waits();
            let waited: std::time::Duration = waits.iter().sum();
            eprintln!(
                "on the chain: {:.3} s between its operations (ms: {}); {:.3} s before the first, {:.3} s after the last",
                waited.as_secs_f64(),
                waits
                    .iter()
                    .map(|w| format!("{:.1}", w.as_secs_f64() * 1000.0))
                    .collect::<Vec<_>>()
                    .join(", "),
                cp.before.as_secs_f64(),
                result
                    .elapsed
                    .saturating_sub(cp.before + cp.span())
                    .as_secs_f64()
            );
        }
    }
    let what = if mode == PlanMode::Destroy {
        "Destroy"
    } else {
        "Apply"
    };
    println!(
        "\n{what} complete! Resources: {}{add} added, {change} changed, {destroy} destroyed. Total time {}.",
        imported(import),
        seconds(result.elapsed)
    );
    Ok(0)
}

/// The Terraform command an apply stands for, as Terragrunt's `exclude` actions name it.
fn command_name(mode: PlanMode) -> &'static str {
    match mode {
        PlanMode::Destroy => "destroy",
        _ => "apply",
    }
}
