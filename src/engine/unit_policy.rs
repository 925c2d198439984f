//! Which units a run leaves out because of their own Terragrunt settings: `skip = true`
//! leaves a unit out of every run, `prevent_destroy = true` out of a destroy, and an
//! `exclude` block whose `if` holds out of the commands its `actions` name (with
//! `exclude_dependencies`, the units it depends on too). The others go on; each unit
//! left out is named in a notice that says why and where it is set.

use forge_config::{Environment, Unit};

use crate::plan::PlanMode;
use crate::unit_graph::UnitGraph;

/// Why each unit of `env` (by index) sits out a run of `command` in `mode`, if it does.
/// `graph` is needed only when an exclusion reaches the unit's dependencies.
pub(crate) fn left_out(
    env: &Environment,
    graph: Option<&UnitGraph>,
    command: &str,
    mode: PlanMode,
) -> Vec<Option<String>> {
    let mut why: Vec<Option<String>> = env
        .units
        .iter()
        .map(|u| own_reason(u, command, mode))
        .collect();
    let Some(graph) = graph else {
        return why;
    };
    for (i, unit) in env.units.iter().enumerate() {
        let Some(ex) = &unit.settings.exclude else {
            continue;
        };
        if !(ex.exclude_dependencies && ex.covers(command)) {
            continue;
        }
        for dep in graph.ancestors(i) {
            if why[dep].is_none() {
                why[dep] = Some(format!(
                    "left out of this {command}: unit {} depends on it and excludes its dependencies (exclude_dependencies = true, {})",
                    unit.name, ex.location
                ));
            }
        }
    }
    why
}

/// Whether any unit's exclusion reaches its dependencies (then the unit graph is needed).
pub(crate) fn needs_graph(env: &Environment) -> bool {
    env.units.iter().any(|u| {
        u.settings
            .exclude
            .as_ref()
            .is_some_and(|e| e.exclude_dependencies)
    })
}

fn own_reason(unit: &Unit, command: &str, mode: PlanMode) -> Option<String> {
    if let Some(at) = &unit.settings.skip {
        return Some(format!("left out of this run: skip = true ({at})"));
    }
    if let Some(ex) = &unit.settings.exclude
        && ex.covers(command)
    {
        return Some(format!(
            "left out of this {command}: its exclude block names it ({})",
            ex.location
        ));
    }
    if mode == PlanMode::Destroy
        && let Some(at) = &unit.settings.prevent_destroy
    {
        return Some(format!(
            "kept, not destroyed: prevent_destroy = true ({at})"
        ));
    }
    None
}
