//! Plans in Terraform's machine-readable shape (`terraform show -json`): format_version,
//! resource_changes, resource_drift, output_changes, planned_values, prior_state; the
//! caller adds `variables` and `configuration` from the configuration (`plan_json_config`).
//! Sensitive values are replaced by null and flagged in `before_sensitive` /
//! `after_sensitive`; unknowns are flagged in `after_unknown`, and left out of `after` as Terraform leaves them out. One unit gives
//! Terraform's document (checked against `terraform show -json` by tests/cli/plan_json_oracle.rs;
//! README.md lists what differs); an environment adds a `unit` field to each change and
//! planned/prior resource, and prefixes output names with the unit.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as J, json};

use forge_config::Mode;
use forge_provider::Value;

use forge_engine::addr::{InstanceAddr, InstanceKey, ModuleStep, module_path_string};
use forge_engine::checks::{CheckKind, CheckResult};
use forge_engine::plan::{Action, ChangeReason, EnvPlan, ResourceChange, UnitOutcome, UnitPlan};
use forge_engine::state::{TERRAFORM_VERSION, provider_source};

/// The value with sensitive and unknown parts as null.
pub fn visible_json(v: &Value) -> J {
    match v {
        Value::Sensitive(_) | Value::Unknown => J::Null,
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => {
            J::Array(xs.iter().map(visible_json).collect())
        }
        Value::Object(m) | Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), visible_json(x)))
                .collect(),
        ),
        other => other.to_json(),
    }
}

/// The value as Terraform writes a planned value: unknown attributes of objects left out,
/// unknown elements of sequences null (their position is what `after_unknown` refers to);
/// sensitive parts null. `None` when the whole value is unknown.
pub fn known_json(v: &Value) -> Option<J> {
    match v {
        Value::Unknown => None,
        // Hidden, but an unknown stays unknown: its place is flagged in after_unknown.
        Value::Sensitive(inner) => known_json(inner).map(|_| J::Null),
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => Some(J::Array(
            xs.iter()
                .map(|x| known_json(x).unwrap_or(J::Null))
                .collect(),
        )),
        Value::Object(m) | Value::Map(m) => Some(J::Object(
            m.iter()
                .filter_map(|(k, x)| known_json(x).map(|j| (k.clone(), j)))
                .collect(),
        )),
        other => Some(other.to_json()),
    }
}

fn mask(v: &Value, hit: &dyn Fn(&Value) -> bool) -> J {
    if hit(v) {
        return J::Bool(true);
    }
    match v {
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => {
            J::Array(xs.iter().map(|x| mask(x, hit)).collect())
        }
        Value::Object(m) | Value::Map(m) => {
            let inner: Map<String, J> = m
                .iter()
                .map(|(k, x)| (k.clone(), mask(x, hit)))
                .filter(|(_, j)| j != &J::Bool(false))
                .collect();
            J::Object(inner)
        }
        _ => J::Bool(false),
    }
}

pub fn sensitive_mask(v: &Value) -> J {
    mask(v, &|x| x.is_sensitive())
}

pub fn unknown_mask(v: &Value) -> J {
    // Marks do not hide unknownness: a sensitive value known only after apply is unknown.
    mask(&v.deep_unmarked(), &|x| matches!(x, Value::Unknown))
}

fn side(v: &Option<Value>, f: fn(&Value) -> J, absent: J) -> J {
    v.as_ref().map(f).unwrap_or(absent)
}

pub(crate) fn put_key(o: &mut Map<String, J>, key: &Option<InstanceKey>) {
    match key {
        Some(InstanceKey::Int(i)) => o.insert("index".into(), json!(i)),
        Some(InstanceKey::Str(s)) => o.insert("index".into(), json!(s)),
        None => None,
    };
}

pub(crate) fn provider_name(type_name: &str) -> String {
    provider_source(type_name.split('_').next().unwrap_or(""))
}

/// One resource instance as `planned_values` / `prior_state` list it.
/// The fields that name a resource instance in both `planned_values` and
/// `resource_changes`: mode, type, name, index and provider.
fn put_identity(o: &mut Map<String, J>, c: &ResourceChange) {
    o.insert(
        "mode".into(),
        json!(if c.addr.mode == Mode::Data {
            "data"
        } else {
            "managed"
        }),
    );
    o.insert("type".into(), json!(c.addr.type_name));
    o.insert("name".into(), json!(c.addr.name));
    put_key(o, &c.addr.key);
    o.insert(
        "provider_name".into(),
        json!(provider_name(&c.addr.type_name)),
    );
}

fn resource_value(c: &ResourceChange, value: &Value, unit: Option<&str>) -> J {
    let mut o = Map::new();
    o.insert("address".into(), json!(c.addr.to_string()));
    if let Some(u) = unit {
        o.insert("unit".into(), json!(u));
    }
    put_identity(&mut o, c);
    o.insert("schema_version".into(), json!(0));
    o.insert("values".into(), known_json(value).unwrap_or(J::Null));
    o.insert("sensitive_values".into(), sensitive_mask(value));
    J::Object(o)
}

/// An output as `planned_values` / `prior_state` list it: a sensitive output's value is
/// left out (Terraform writes it), an unknown one has neither value nor type.
pub(crate) fn output_value(v: &Value, sensitive: bool) -> J {
    let mut o = Map::new();
    o.insert("sensitive".into(), json!(sensitive));
    if v.is_wholly_known() {
        o.insert("type".into(), forge_engine::state::cty_type(v));
        if !sensitive {
            o.insert("value".into(), visible_json(v));
        }
    }
    J::Object(o)
}

fn change_json(c: &ResourceChange, unit: Option<&str>) -> J {
    let mut o = Map::new();
    o.insert("address".into(), json!(c.addr.to_string()));
    if let Some(from) = &c.moved_from {
        o.insert("previous_address".into(), json!(from.to_string()));
    }
    if let Some(m) = c.addr.module_address() {
        o.insert("module_address".into(), json!(m));
    }
    if let Some(u) = unit {
        o.insert("unit".into(), json!(u));
    }
    put_identity(&mut o, c);
    let mut ch = Map::new();
    ch.insert("actions".into(), json!(c.action.json_actions()));
    ch.insert("before".into(), side(&c.before, visible_json, J::Null));
    match &c.after {
        None => {
            ch.insert("after".into(), J::Null);
        }
        Some(after) => {
            if let Some(j) = known_json(after) {
                ch.insert("after".into(), j);
            }
        }
    }
    // As Terraform: a wholly known value has no unknown parts to list, even in sequences.
    let after_unknown = match &c.after {
        Some(after) if !after.is_wholly_known() => unknown_mask(after),
        _ => json!({}),
    };
    ch.insert("after_unknown".into(), after_unknown);
    ch.insert(
        "before_sensitive".into(),
        side(&c.before, sensitive_mask, J::Bool(false)),
    );
    ch.insert(
        "after_sensitive".into(),
        side(&c.after, sensitive_mask, J::Bool(false)),
    );
    if !c.requires_replace.is_empty() {
        ch.insert(
            "replace_paths".into(),
            J::Array(c.requires_replace.iter().map(|p| json!([p])).collect()),
        );
    }
    if let Some(id) = &c.importing {
        ch.insert("importing".into(), json!({"id": id}));
    }
    o.insert("change".into(), J::Object(ch));
    if c.action.is_replace() {
        let reason = c.reason.unwrap_or(ChangeReason::ReplaceBecauseCannotUpdate);
        o.insert("action_reason".into(), json!(reason.terraform_name()));
    }
    // Terraform's reasons for deleting in a normal plan (a destroy plan gives none).
    if matches!(c.action, Action::Delete | Action::Forget)
        && let Some(reason) = c.reason
    {
        o.insert("action_reason".into(), json!(reason.terraform_name()));
    }
    if c.action == Action::Read {
        let reason = match c.reason {
            Some(
                reason @ (ChangeReason::ReadBecauseCheckNested
                | ChangeReason::ReadBecauseDependencyPending),
            ) => reason,
            _ => ChangeReason::ReadBecauseConfigUnknown,
        };
        o.insert("action_reason".into(), json!(reason.terraform_name()));
    }
    J::Object(o)
}

/// The parts of the document one unit contributes to.
#[derive(Default)]
struct Parts {
    changes: Vec<J>,
    drift: Vec<J>,
    outputs: Map<String, J>,
    planned_resources: Vec<J>,
    planned_outputs: Map<String, J>,
    prior_resources: Vec<J>,
    prior_outputs: Map<String, J>,
    variables: Option<J>,
    configuration: Option<J>,
    checks: Vec<J>,
}

/// `dependencies`: each configuration resource's `depends_on` as state records it (the
/// prior state lists them); empty when the caller has no configuration to hand.
fn unit_parts(
    p: &UnitPlan,
    unit: Option<&str>,
    dependencies: &BTreeMap<String, Vec<String>>,
    parts: &mut Parts,
) {
    let Parts {
        changes,
        drift,
        outputs,
        ..
    } = parts;
    changes.extend(p.changes.iter().map(|c| change_json(c, unit)));
    parts
        .checks
        .extend(p.checks.iter().map(|c| check_json(c, unit)));
    for c in &p.changes {
        if let Some(after) = &c.after {
            parts.planned_resources.push(resource_value(c, after, unit));
        }
        if let Some(before) = &c.before {
            let mut r = resource_value(c, before, unit);
            if let (Some(deps), Some(o)) = (
                dependencies
                    .get(&c.addr.config_resource())
                    .filter(|d| !d.is_empty()),
                r.as_object_mut(),
            ) && c.addr.mode == Mode::Managed
            {
                o.insert("depends_on".into(), json!(deps));
            }
            parts.prior_resources.push(r);
        }
    }
    // The data sources read while planning: in the prior state (Terraform's is the
    // refreshed state, which holds them), with their sensitive parts hidden.
    for (addr, value) in &p.data_reads {
        let as_change = ResourceChange {
            addr: addr.clone(),
            action: Action::NoOp,
            before: Some(value.clone()),
            after: None,
            requires_replace: Vec::new(),
            reason: None,
            moved_from: None,
            importing: None,
        };
        parts
            .prior_resources
            .push(resource_value(&as_change, value, unit));
    }
    for d in &p.drift {
        let as_change = ResourceChange {
            addr: d.addr.clone(),
            action: if d.after.is_some() {
                Action::Update
            } else {
                Action::Delete
            },
            before: Some(d.before.clone()),
            after: d.after.clone(),
            requires_replace: Vec::new(),
            reason: None,
            moved_from: None,
            importing: None,
        };
        drift.push(change_json(&as_change, unit));
    }
    for o in &p.output_changes {
        let name = match unit {
            Some(u) => format!("{u}.{}", o.name),
            None => o.name.clone(),
        };
        let hide = |j: J| if o.sensitive { J::Null } else { j };
        let mut out = Map::new();
        out.insert("actions".into(), json!(o.action.json_actions()));
        out.insert(
            "before".into(),
            hide(side(&o.before, visible_json, J::Null)),
        );
        // As Terraform: `after` is left out when it is wholly unknown; `after_unknown` is
        // false for a known value and the unknown-mask otherwise.
        let (after, after_unknown) = match &o.after {
            None => (Some(J::Null), J::Bool(false)),
            Some(v) if v.is_wholly_known() => (Some(visible_json(v)), J::Bool(false)),
            Some(v) => (known_json(v), unknown_mask(v)),
        };
        if let Some(after) = after {
            out.insert("after".into(), hide(after));
        }
        out.insert("after_unknown".into(), after_unknown);
        out.insert("before_sensitive".into(), json!(o.sensitive));
        out.insert("after_sensitive".into(), json!(o.sensitive));
        outputs.insert(name.clone(), J::Object(out));
        if let Some(after) = &o.after {
            parts
                .planned_outputs
                .insert(name.clone(), output_value(after, o.sensitive));
        }
        // Terraform's prior state is the refreshed one, whose outputs were evaluated again:
        // a new value known at plan time replaces the recorded one; others stay as recorded.
        let prior = match (&o.before, &o.after) {
            (_, Some(a)) if a.is_wholly_known() && o.action != Action::Delete => Some(a),
            (before, _) => before.as_ref(),
        };
        if let Some(prior) = prior {
            parts
                .prior_outputs
                .insert(name, output_value(prior, o.sensitive));
        }
    }
}

/// One checkable object's results as Terraform's `checks` lists them (keys in its order).
fn check_json(c: &CheckResult, unit: Option<&str>) -> J {
    let mut address = Map::new();
    let kind = match &c.kind {
        CheckKind::Check => "check",
        CheckKind::Resource { .. } => "resource",
        CheckKind::Output => "output_value",
    };
    address.insert("kind".into(), json!(kind));
    if let CheckKind::Resource { mode, .. } = &c.kind {
        address.insert("mode".into(), json!(mode));
    }
    if !c.module.is_empty() {
        address.insert("module".into(), json!(c.module));
    }
    address.insert("name".into(), json!(c.name));
    address.insert("to_display".into(), json!(c.display));
    if let CheckKind::Resource { type_name, .. } = &c.kind {
        address.insert("type".into(), json!(type_name));
    }
    let instances: Vec<J> = c
        .instances
        .iter()
        .map(|i| {
            let mut a = Map::new();
            match &i.key {
                Some(InstanceKey::Int(n)) => {
                    a.insert("instance_key".into(), json!(n));
                }
                Some(InstanceKey::Str(k)) => {
                    a.insert("instance_key".into(), json!(k));
                }
                None => {}
            }
            if !i.module.is_empty() {
                a.insert("module".into(), json!(module_path_string(&i.module)));
            }
            a.insert("to_display".into(), json!(i.display));
            let mut o = Map::new();
            o.insert("address".into(), J::Object(a));
            o.insert("status".into(), json!(i.status.json()));
            if !i.problems.is_empty() {
                o.insert(
                    "problems".into(),
                    J::Array(i.problems.iter().map(|m| json!({"message": m})).collect()),
                );
            }
            J::Object(o)
        })
        .collect();
    let mut o = Map::new();
    o.insert("address".into(), J::Object(address));
    if let Some(u) = unit {
        o.insert("unit".into(), json!(u));
    }
    o.insert("status".into(), json!(c.status().json()));
    o.insert("instances".into(), J::Array(instances));
    J::Object(o)
}

/// What a unit's configuration adds to its document: `variables` and `configuration`
/// (`plan_json_config`), computed by the caller, which has the configuration and the
/// inputs the run was given.
#[derive(Clone, Debug, Default)]
pub struct UnitConfigJson {
    pub variables: Option<J>,
    pub configuration: Option<J>,
    /// Each resource's dependencies by configuration address
    /// (`plan_json_config::resource_dependencies`), for the prior state's `depends_on`.
    pub dependencies: BTreeMap<String, Vec<String>>,
}

/// Terraform's `applyable`: any change, a data source read planned for apply included (a
/// check block's data source is read again on every apply).
fn applyable(p: &UnitPlan) -> bool {
    p.has_changes() || p.changes.iter().any(|c| c.action == Action::Read)
}

/// One unit's plan as Terraform's JSON document.
pub fn unit_plan_json(p: &UnitPlan) -> J {
    unit_plan_json_with_config(p, &UnitConfigJson::default())
}

pub fn unit_plan_json_with_config(p: &UnitPlan, config: &UnitConfigJson) -> J {
    let mut parts = Parts::default();
    unit_parts(p, None, &config.dependencies, &mut parts);
    parts.variables = config.variables.clone();
    parts.configuration = config.configuration.clone();
    document(parts, !applyable(p), None)
}

/// An environment's plan: every unit's changes in one document, failures listed.
pub fn env_plan_json(plan: &EnvPlan) -> J {
    env_plan_json_with_config(plan, &BTreeMap::new())
}

/// The same with each unit's configuration (by unit name). With several units, variable
/// names are prefixed with the unit (`unit.name`, as outputs are) and `configuration` is
/// `{"units": {"<unit>": {"provider_config": ..., "root_module": ...}}}`.
pub fn env_plan_json_with_config(plan: &EnvPlan, config: &BTreeMap<String, UnitConfigJson>) -> J {
    let none = UnitConfigJson::default();
    if let [(name, UnitOutcome::Done(p))] = plan.units.as_slice() {
        return unit_plan_json_with_config(p, config.get(name).unwrap_or(&none));
    }
    let mut parts = Parts::default();
    let mut errors = Vec::new();
    let mut variables = Map::new();
    let mut configurations = Map::new();
    for (name, o) in &plan.units {
        if let (UnitOutcome::Done(_), Some(c)) = (o, config.get(name)) {
            for (var, v) in c
                .variables
                .as_ref()
                .and_then(J::as_object)
                .into_iter()
                .flatten()
            {
                variables.insert(format!("{name}.{var}"), v.clone());
            }
            if let Some(conf) = &c.configuration {
                configurations.insert(name.clone(), conf.clone());
            }
        }
        match o {
            UnitOutcome::Done(p) => unit_parts(p, Some(name), config.get(name).map(|c| &c.dependencies).unwrap_or(&none.dependencies), &mut parts),
            UnitOutcome::Failed(es) => errors.push(json!({"unit": name, "errors": es.iter().map(|e| e.to_string()).collect::<Vec<_>>()})),
            UnitOutcome::Skipped { because } => errors.push(json!({"unit": name, "skipped_because": because})),
        }
    }
    if !variables.is_empty() {
        parts.variables = Some(J::Object(variables));
    }
    if !configurations.is_empty() {
        parts.configuration = Some(json!({"units": configurations}));
    }
    document(
        parts,
        !plan
            .units
            .iter()
            .any(|(_, o)| o.done().is_some_and(applyable)),
        Some(errors),
    )
}

/// `{"outputs": ..., "root_module": {"resources": ..., "child_modules": ...}}`, empty parts
/// left out as Terraform does. A child module instance's resources go in its own entry
/// (`{"address": "module.a[0]", "resources": ...}`), nested under its caller's.
pub(crate) fn values(resources: Vec<J>, outputs: Map<String, J>) -> J {
    let mut groups: BTreeMap<Vec<ModuleStep>, Vec<J>> = BTreeMap::new();
    for r in resources {
        let module = r
            .get("address")
            .and_then(J::as_str)
            .and_then(InstanceAddr::parse)
            .map(|a| a.module)
            .unwrap_or_default();
        groups.entry(module).or_default().push(r);
    }
    let root = module_values(&[], &mut groups);
    let mut v = Map::new();
    if !outputs.is_empty() {
        v.insert("outputs".into(), J::Object(outputs));
    }
    v.insert("root_module".into(), J::Object(root));
    J::Object(v)
}

fn module_values(
    path: &[ModuleStep],
    groups: &mut BTreeMap<Vec<ModuleStep>, Vec<J>>,
) -> Map<String, J> {
    let mut o = Map::new();
    if !path.is_empty() {
        o.insert("address".into(), json!(module_path_string(path)));
    }
    if let Some(rs) = groups.remove(path) {
        o.insert("resources".into(), J::Array(rs));
    }
    // The module instances called directly from this one, including those that hold
    // resources only further down.
    let children: BTreeSet<Vec<ModuleStep>> = groups
        .keys()
        .filter(|k| k.len() > path.len() && k.starts_with(path))
        .map(|k| k[..=path.len()].to_vec())
        .collect();
    let children: Vec<J> = children
        .into_iter()
        .map(|c| J::Object(module_values(&c, groups)))
        .collect();
    if !children.is_empty() {
        o.insert("child_modules".into(), J::Array(children));
    }
    o
}

fn document(parts: Parts, no_changes: bool, errors: Option<Vec<J>>) -> J {
    let Parts {
        changes,
        drift,
        outputs,
        planned_resources,
        planned_outputs,
        prior_resources,
        prior_outputs,
        variables,
        configuration,
        mut checks,
    } = parts;
    let mut doc = Map::new();
    doc.insert("format_version".into(), json!("1.2"));
    doc.insert("terraform_version".into(), json!(TERRAFORM_VERSION));
    // Keys in Terraform's order: variables first, configuration after the prior state.
    if let Some(v) = variables {
        doc.insert("variables".into(), v);
    }
    doc.insert(
        "planned_values".into(),
        values(planned_resources, planned_outputs),
    );
    // Terraform leaves out empty lists and maps, and the prior state when there was none.
    if !drift.is_empty() {
        doc.insert("resource_drift".into(), J::Array(drift));
    }
    if !changes.is_empty() {
        doc.insert("resource_changes".into(), J::Array(changes));
    }
    if !outputs.is_empty() {
        doc.insert("output_changes".into(), J::Object(outputs));
    }
    if !prior_resources.is_empty() || !prior_outputs.is_empty() {
        doc.insert(
            "prior_state".into(),
            json!({"format_version": "1.0", "terraform_version": TERRAFORM_VERSION, "values": values(prior_resources, prior_outputs)}),
        );
    }
    if let Some(c) = configuration {
        doc.insert("configuration".into(), c);
    }
    // Terraform lists every checkable object by its address, and leaves the key out
    // when there is none.
    if !checks.is_empty() {
        let display = |c: &J| {
            (
                c["unit"].as_str().unwrap_or("").to_string(),
                c["address"]["to_display"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        };
        checks.sort_by_key(display);
        doc.insert("checks".into(), J::Array(checks));
    }
    doc.insert(
        "timestamp".into(),
        json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    );
    doc.insert("applyable".into(), json!(!no_changes));
    doc.insert("complete".into(), json!(true));
    doc.insert(
        "errored".into(),
        json!(errors.as_ref().is_some_and(|e| !e.is_empty())),
    );
    if let Some(errors) = errors
        && !errors.is_empty()
    {
        doc.insert("unit_errors".into(), J::Array(errors));
    }
    J::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_hide_sensitive_and_flag_unknown() {
        let v = Value::object([
            ("pw", Value::string("hunter2").sensitive()),
            ("arn", Value::Unknown),
            ("name", Value::string("n")),
        ]);
        let text = visible_json(&v).to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(sensitive_mask(&v), json!({"pw": true}));
        assert_eq!(unknown_mask(&v), json!({"arn": true}));
    }
}
