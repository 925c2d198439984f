//! `forge console [UNIT]`: Terraform's console on one unit's scope, reading its state.
//! Each line of stdin is an expression; each result is printed as `terraform console`
//! prints it (sensitive values hidden). The scope holds `var` (the values a plan of the
//! unit sets: inputs, dependencies' outputs, variable files, `-var`), `local` (each local
//! that can be evaluated from the rest), the resources and data sources state records
//! (root module), `path` and `terraform.workspace`. The plan behind `var` reads nothing
//! from AWS (as -refresh=false) and changes nothing.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use clap::Args;
use forge_config::tfvars::VariableArg;
use forge_config::{Mode, Unit};
use forge_engine::state::State;
use forge_engine::{InstanceKey, PlanMode, UnitOutcome};
use forge_lang::{Scope, eval, parse_expr_str, render_console};
use forge_provider::Value;
use forge_render::text::Style;

use super::common::{
    Failure, Outcome, RunArgs, build_engine, load_env, resolve_target, single_unit,
};

#[derive(Args)]
pub struct ConsoleArgs {
    /// The unit's folder.
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Set a root-module variable (repeatable), as plan's -var.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variable values from a file (repeatable), as plan's -var-file.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// -var and -var-file in command-line order (filled in after parsing).
    #[arg(skip)]
    pub variables: Vec<VariableArg>,
}

pub async fn run(args: ConsoleArgs, style: Style) -> Outcome {
    let mut run = RunArgs::for_dir(args.dir.clone());
    run.refresh = false;
    run.variables = args.variables.clone();
    let dir = resolve_target(&run.dir)?;
    let env = load_env(&dir)?;
    let unit = single_unit(&env, &dir)?;
    let mut built = build_engine(&run, false, style)?;
    built.engine.events = forge_engine::no_events();
    let plan = built.engine.plan(&env, PlanMode::Normal).await?;
    let variables = match plan.units.iter().find(|(n, _)| *n == unit.name) {
        Some((_, UnitOutcome::Done(p))) => p.variables.clone(),
        _ => {
            super::common::print_unit_failures(&plan.units);
            return Err(Failure::Reported);
        }
    };
    let store = built.engine.read_state(unit).await?;
    let scope = scope(unit, &store.state, variables);
    let mut failed = false;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let result = parse_expr_str(Path::new("<console-input>"), line.clone())
            .and_then(|expr| eval(&expr, &scope));
        match result {
            Ok(v) => println!("{}", render_console(&v)),
            Err(d) => {
                failed = true;
                eprint!("{d}");
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// The unit's scope: variables, state's objects, then every local that evaluates.
fn scope<'a>(unit: &Unit, state: &State, variables: BTreeMap<String, Value>) -> Scope<'a> {
    let module_dir = unit.module.dir.clone();
    let mut scope = Scope::new(&module_dir)
        .with_root("var", Value::Object(variables))
        .with_root(
            "path",
            Value::Object(BTreeMap::from([
                (
                    "module".into(),
                    Value::String(module_dir.display().to_string()),
                ),
                (
                    "root".into(),
                    Value::String(module_dir.display().to_string()),
                ),
                (
                    "cwd".into(),
                    Value::String(
                        std::env::current_dir()
                            .map(|d| d.display().to_string())
                            .unwrap_or_default(),
                    ),
                ),
            ])),
        )
        .with_root(
            "terraform",
            Value::Object(BTreeMap::from([(
                "workspace".into(),
                Value::String("default".into()),
            )])),
        );
    for (root, value) in state_roots(state) {
        scope.roots.insert(root, value);
    }
    // Locals refer to each other in any order: evaluate those that can be, until none
    // more can (one that never evaluates is simply absent, and naming it says so).
    let mut locals: BTreeMap<String, Value> = BTreeMap::new();
    let mut pending: Vec<_> = unit.module.locals.iter().collect();
    loop {
        scope
            .roots
            .insert("local".into(), Value::Object(locals.clone()));
        let before = pending.len();
        pending.retain(|l| match eval(&l.expr, &scope) {
            Ok(v) => {
                locals.insert(l.name.clone(), v);
                false
            }
            Err(_) => true,
        });
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    scope.roots.insert("local".into(), Value::Object(locals));
    scope
}

/// A resource type's instances in state by resource name, each with its key.
type InstancesByName = BTreeMap<String, Vec<(Option<InstanceKey>, Value)>>;

/// One root per resource type (and `data`), from the root module's instances in state:
/// an instance object, a list of them (`count`) or a map of them (`for_each`).
fn state_roots(state: &State) -> BTreeMap<String, Value> {
    let schemas = super::show::Schemas::for_console();
    let mut by_type: BTreeMap<(Mode, String), InstancesByName> = BTreeMap::new();
    for (addr, inst) in state.instances.iter().filter(|(a, _)| a.module.is_empty()) {
        let attrs = schemas.plain(addr, &inst.attributes);
        by_type
            .entry((addr.mode, addr.type_name.clone()))
            .or_default()
            .entry(addr.name.clone())
            .or_default()
            .push((addr.key.clone(), attrs));
    }
    let mut roots: BTreeMap<String, Value> = BTreeMap::new();
    let mut data: BTreeMap<String, Value> = BTreeMap::new();
    for ((mode, type_name), names) in by_type {
        let objects: BTreeMap<String, Value> = names
            .into_iter()
            .map(|(name, instances)| (name, instances_value(instances)))
            .collect();
        match mode {
            Mode::Managed => {
                roots.insert(type_name, Value::Object(objects));
            }
            Mode::Data => {
                data.insert(type_name, Value::Object(objects));
            }
        }
    }
    roots.insert("data".into(), Value::Object(data));
    roots
}

fn instances_value(mut instances: Vec<(Option<InstanceKey>, Value)>) -> Value {
    match instances.first() {
        Some((None, _)) => instances.swap_remove(0).1,
        Some((Some(InstanceKey::Int(_)), _)) => {
            instances.sort_by_key(|(k, _)| match k {
                Some(InstanceKey::Int(i)) => *i,
                _ => 0,
            });
            Value::Tuple(instances.into_iter().map(|(_, v)| v).collect())
        }
        Some((Some(InstanceKey::Str(_)), _)) => Value::Object(
            instances
                .into_iter()
                .filter_map(|(k, v)| match k {
                    Some(InstanceKey::Str(s)) => Some((s, v)),
                    _ => None,
                })
                .collect(),
        ),
        None => Value::Null,
    }
}
