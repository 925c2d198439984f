//! Plans in Terraform's machine-readable shape (`terraform show -json`): format_version,
//! resource_changes, resource_drift, output_changes. Sensitive values are replaced by
//! null and flagged in `before_sensitive` / `after_sensitive`; unknowns are flagged in
//! `after_unknown`. One unit gives exactly Terraform's document; an environment adds a
//! `unit` field to each change and prefixes output names with the unit.

use serde_json::{json, Map, Value as J};

use forge_config::Mode;
use forge_provider::Value;

use crate::addr::InstanceKey;
use crate::plan::{Action, EnvPlan, ResourceChange, UnitOutcome, UnitPlan};
use crate::state::TERRAFORM_VERSION;

/// The value with sensitive and unknown parts as null.
pub fn visible_json(v: &Value) -> J {
    match v {
        Value::Sensitive(_) | Value::Unknown => J::Null,
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => J::Array(xs.iter().map(visible_json).collect()),
        Value::Object(m) | Value::Map(m) => J::Object(m.iter().map(|(k, x)| (k.clone(), visible_json(x))).collect()),
        other => other.to_json(),
    }
}

fn mask(v: &Value, hit: &dyn Fn(&Value) -> bool) -> J {
    if hit(v) {
        return J::Bool(true);
    }
    match v {
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => J::Array(xs.iter().map(|x| mask(x, hit)).collect()),
        Value::Object(m) | Value::Map(m) => {
            let inner: Map<String, J> = m.iter().map(|(k, x)| (k.clone(), mask(x, hit))).filter(|(_, j)| j != &J::Bool(false)).collect();
            J::Object(inner)
        }
        _ => J::Bool(false),
    }
}

pub fn sensitive_mask(v: &Value) -> J {
    mask(v, &|x| x.is_sensitive())
}

pub fn unknown_mask(v: &Value) -> J {
    mask(v, &|x| matches!(x, Value::Unknown))
}

fn side(v: &Option<Value>, f: fn(&Value) -> J, absent: J) -> J {
    v.as_ref().map(f).unwrap_or(absent)
}

fn change_json(c: &ResourceChange, unit: Option<&str>) -> J {
    let mut o = Map::new();
    o.insert("address".into(), json!(c.addr.to_string()));
    if let Some(u) = unit {
        o.insert("unit".into(), json!(u));
    }
    o.insert("mode".into(), json!(if c.addr.mode == Mode::Data { "data" } else { "managed" }));
    o.insert("type".into(), json!(c.addr.type_name));
    o.insert("name".into(), json!(c.addr.name));
    match &c.addr.key {
        Some(InstanceKey::Int(i)) => o.insert("index".into(), json!(i)),
        Some(InstanceKey::Str(s)) => o.insert("index".into(), json!(s)),
        None => None,
    };
    let provider = c.addr.type_name.split('_').next().unwrap_or("");
    o.insert("provider_name".into(), json!(format!("registry.terraform.io/hashicorp/{provider}")));
    let mut ch = Map::new();
    ch.insert("actions".into(), json!(c.action.json_actions()));
    ch.insert("before".into(), side(&c.before, visible_json, J::Null));
    ch.insert("after".into(), side(&c.after, visible_json, J::Null));
    ch.insert("after_unknown".into(), side(&c.after, unknown_mask, json!({})));
    ch.insert("before_sensitive".into(), side(&c.before, sensitive_mask, J::Bool(false)));
    ch.insert("after_sensitive".into(), side(&c.after, sensitive_mask, J::Bool(false)));
    if !c.requires_replace.is_empty() {
        ch.insert("replace_paths".into(), J::Array(c.requires_replace.iter().map(|p| json!([p])).collect()));
    }
    o.insert("change".into(), J::Object(ch));
    if c.action.is_replace() {
        o.insert("action_reason".into(), json!("replace_because_cannot_update"));
    }
    if c.action == Action::Read {
        o.insert("action_reason".into(), json!("read_because_config_unknown"));
    }
    J::Object(o)
}

fn unit_parts(p: &UnitPlan, unit: Option<&str>, changes: &mut Vec<J>, drift: &mut Vec<J>, outputs: &mut Map<String, J>) {
    changes.extend(p.changes.iter().map(|c| change_json(c, unit)));
    for d in &p.drift {
        let as_change = ResourceChange {
            addr: d.addr.clone(),
            action: if d.after.is_some() { Action::Update } else { Action::Delete },
            before: Some(d.before.clone()),
            after: d.after.clone(),
            requires_replace: Vec::new(),
            reason: None,
        };
        drift.push(change_json(&as_change, unit));
    }
    for o in &p.output_changes {
        let name = match unit {
            Some(u) => format!("{u}.{}", o.name),
            None => o.name.clone(),
        };
        let hide = |v: &Option<Value>| if o.sensitive { J::Null } else { side(v, visible_json, J::Null) };
        outputs.insert(
            name,
            json!({
                "actions": o.action.json_actions(),
                "before": hide(&o.before),
                "after": hide(&o.after),
                "after_unknown": o.after.as_ref().is_some_and(|v| !v.is_wholly_known()),
                "before_sensitive": o.sensitive,
                "after_sensitive": o.sensitive,
            }),
        );
    }
}

/// One unit's plan as Terraform's JSON document.
pub fn unit_plan_json(p: &UnitPlan) -> J {
    let (mut changes, mut drift, mut outputs) = (Vec::new(), Vec::new(), Map::new());
    unit_parts(p, None, &mut changes, &mut drift, &mut outputs);
    document(changes, drift, outputs, !p.has_changes(), None)
}

/// An environment's plan: every unit's changes in one document, failures listed.
pub fn env_plan_json(plan: &EnvPlan) -> J {
    if let [(_, UnitOutcome::Done(p))] = plan.units.as_slice() {
        return unit_plan_json(p);
    }
    let (mut changes, mut drift, mut outputs) = (Vec::new(), Vec::new(), Map::new());
    let mut errors = Vec::new();
    for (name, o) in &plan.units {
        match o {
            UnitOutcome::Done(p) => unit_parts(p, Some(name), &mut changes, &mut drift, &mut outputs),
            UnitOutcome::Failed(es) => errors.push(json!({"unit": name, "errors": es.iter().map(|e| e.to_string()).collect::<Vec<_>>()})),
            UnitOutcome::Skipped { because } => errors.push(json!({"unit": name, "skipped_because": because})),
        }
    }
    document(changes, drift, outputs, !plan.has_changes(), Some(errors))
}

fn document(changes: Vec<J>, drift: Vec<J>, outputs: Map<String, J>, no_changes: bool, errors: Option<Vec<J>>) -> J {
    let mut doc = json!({
        "format_version": "1.2",
        "terraform_version": TERRAFORM_VERSION,
        "resource_drift": drift,
        "resource_changes": changes,
        "output_changes": outputs,
        "applyable": !no_changes,
        "complete": true,
        "errored": errors.as_ref().is_some_and(|e| !e.is_empty()),
    });
    if let (Some(errors), Some(obj)) = (errors, doc.as_object_mut())
        && !errors.is_empty() {
            obj.insert("unit_errors".into(), J::Array(errors));
        }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_hide_sensitive_and_flag_unknown() {
        let v = Value::object([("pw", Value::string("hunter2").sensitive()), ("arn", Value::Unknown), ("name", Value::string("n"))]);
        let text = visible_json(&v).to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(sensitive_mask(&v), json!({"pw": true}));
        assert_eq!(unknown_mask(&v), json!({"arn": true}));
    }
}
