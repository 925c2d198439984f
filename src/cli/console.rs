//! `forge console [UNIT]`: Terraform's console on one unit's scope, reading its state.
//! Each line of stdin is an expression; each result is printed as `terraform console`
//! prints it (sensitive values hidden). The scope holds `var` (the values a plan of the
//! unit sets: inputs, dependencies' outputs, variable files, `-var`), `local` (each local
//! that can be evaluated from the rest), the resources and data sources state records
//! (root module), `module.<name>` (each call's outputs, evaluated from its own variables,
//! locals and the objects state records under it, nested calls too), `path` and
//! `terraform.workspace`. The plan behind `var` reads nothing
//! from AWS (as -refresh=false) and changes nothing.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use clap::Args;
use forge_config::tfvars::VariableArg;
use forge_config::{Mode, Module, ModuleCall, Unit};
use forge_engine::addr::ModuleStep;
use forge_engine::state::State;
use forge_engine::{InstanceKey, PlanMode, UnitOutcome, instance_keys};
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

/// The unit's scope: the root module instance's, with the variables the plan set.
fn scope<'a>(unit: &Unit, state: &State, variables: BTreeMap<String, Value>) -> Scope<'a> {
    let paths = Paths {
        root: unit.module.dir.display().to_string(),
        cwd: std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
    };
    module_scope(&unit.module, &[], state, variables, &paths)
}

/// `path.root` and `path.cwd`: the same in every module instance.
struct Paths {
    root: String,
    cwd: String,
}

/// How deep `module` blocks may nest before the console stops descending (a module that
/// calls itself through a chain would otherwise never end).
const MAX_MODULE_DEPTH: usize = 32;

/// One module instance's scope: its variables, the objects state records under its path,
/// `module.<name>` for each call (its instances' outputs, evaluated the same way one level
/// down), then every local that evaluates. Locals and module calls may refer to each other
/// in any order, so both are evaluated until nothing more can be.
fn module_scope<'a>(
    module: &Module,
    path: &[ModuleStep],
    state: &State,
    variables: BTreeMap<String, Value>,
    paths: &Paths,
) -> Scope<'a> {
    let mut scope = Scope::new(&module.dir)
        .with_root("var", Value::Object(variables))
        .with_root(
            "path",
            Value::object([
                ("module", Value::string(module.dir.display().to_string())),
                ("root", Value::string(paths.root.clone())),
                ("cwd", Value::string(paths.cwd.clone())),
            ]),
        )
        .with_root(
            "terraform",
            Value::object([("workspace", Value::string("default"))]),
        );
    for (root, value) in state_roots(state, path) {
        scope.roots.insert(root, value);
    }
    let mut locals: BTreeMap<String, Value> = BTreeMap::new();
    let mut calls: BTreeMap<String, Value> = BTreeMap::new();
    let mut pending_locals: Vec<_> = module.locals.iter().collect();
    let mut pending_calls: Vec<_> = if path.len() < MAX_MODULE_DEPTH {
        module.module_calls.iter().collect()
    } else {
        Vec::new()
    };
    loop {
        scope
            .roots
            .insert("local".into(), Value::Object(locals.clone()));
        scope
            .roots
            .insert("module".into(), Value::Object(calls.clone()));
        let before = pending_locals.len() + pending_calls.len();
        pending_locals.retain(|l| match eval(&l.expr, &scope) {
            Ok(v) => {
                locals.insert(l.name.clone(), v);
                false
            }
            Err(_) => true,
        });
        pending_calls.retain(|call| match call_value(call, path, state, &scope, paths) {
            Some(v) => {
                calls.insert(call.name.clone(), v);
                false
            }
            None => true,
        });
        if pending_locals.len() + pending_calls.len() == before {
            break;
        }
    }
    scope.roots.insert("local".into(), Value::Object(locals));
    scope.roots.insert("module".into(), Value::Object(calls));
    scope
}

/// `module.<name>` as the caller sees it: the outputs of the call's one instance, a tuple
/// of them (`count`) or a map of them by key (`for_each`). `None` while the call's
/// count, for_each or an argument cannot be evaluated yet.
fn call_value(
    call: &ModuleCall,
    path: &[ModuleStep],
    state: &State,
    caller: &Scope<'_>,
    paths: &Paths,
) -> Option<Value> {
    let what = format!("module.{}", call.name);
    let keys = instance_keys(call.count.as_ref(), call.for_each.as_ref(), caller, &what).ok()?;
    let mut instances = Vec::new();
    for (key, binding) in keys {
        let outputs = {
            let bound;
            let scope = match binding {
                Some((root, value)) => {
                    bound = caller.clone().with_root(root, value);
                    &bound
                }
                None => caller,
            };
            let variables = call_variables(call, scope)?;
            let mut child_path = path.to_vec();
            child_path.push((call.name.clone(), key.clone()));
            let child = module_scope(&call.module, &child_path, state, variables, paths);
            module_outputs(&call.module, &child)
        };
        instances.push((key, outputs));
    }
    Some(if call.count.is_some() {
        Value::Tuple(instances.into_iter().map(|(_, v)| v).collect())
    } else if call.for_each.is_some() {
        Value::Object(
            instances
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Some(InstanceKey::Str(s)) => s,
                        Some(InstanceKey::Int(i)) => i.to_string(),
                        None => String::new(),
                    };
                    (key, v)
                })
                .collect(),
        )
    } else {
        instances.pop().map(|(_, v)| v).unwrap_or(Value::Null)
    })
}

/// The child's variables: each argument evaluated in the caller's scope, else the
/// variable's default, else null, converted to the variable's type and marked sensitive
/// where the variable is. `None` while an argument cannot be evaluated.
fn call_variables(call: &ModuleCall, caller: &Scope<'_>) -> Option<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for variable in &call.module.variables {
        let given = match call.arguments.iter().find(|a| a.name == variable.name) {
            Some(argument) => Some(eval(&argument.expr, caller).ok()?),
            None => None,
        };
        let value = match given {
            Some(Value::Null) | None => variable.default.clone().unwrap_or(Value::Null),
            Some(v) => v,
        };
        let value = variable.ty.convert(value.clone()).unwrap_or(value);
        let value = if variable.sensitive {
            value.sensitive()
        } else {
            value
        };
        out.insert(variable.name.clone(), value);
    }
    Some(out)
}

/// A module instance's outputs (a sensitive one stays marked, so the console hides it);
/// an output that cannot be evaluated from state is left out, as a local is.
fn module_outputs(module: &Module, scope: &Scope<'_>) -> Value {
    Value::Object(
        module
            .outputs
            .iter()
            .filter_map(|o| {
                let v = eval(&o.expr, scope).ok()?;
                Some((o.name.clone(), if o.sensitive { v.sensitive() } else { v }))
            })
            .collect(),
    )
}

/// A resource type's instances in state by resource name, each with its key.
type InstancesByName = BTreeMap<String, Vec<(Option<InstanceKey>, Value)>>;

/// One root per resource type (and `data`), from the instances state records in the
/// module instance at `path`: an instance object, a list of them (`count`) or a map of
/// them (`for_each`).
fn state_roots(state: &State, path: &[ModuleStep]) -> BTreeMap<String, Value> {
    let schemas = super::show::Schemas::for_console();
    let mut by_type: BTreeMap<(Mode, String), InstancesByName> = BTreeMap::new();
    for (addr, inst) in state.instances.iter().filter(|(a, _)| a.module == path) {
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
