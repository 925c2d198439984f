//! `forge drift`'s report: every object of an environment that changed outside forge, by
//! unit, with each attribute that moved, as text, JSON or Markdown. Built from the units'
//! plans (their drift, narrowed to what the plan would set back); sensitive values are
//! never written, only that they changed. An earlier JSON report (`--since`) removes what it already listed, so a
//! scheduled job can raise only drift that is new.

use std::collections::BTreeSet;
use std::fmt::Write;

use forge_engine::plan::{Action, Drift, EnvPlan, UnitOutcome, UnitPlan};
use forge_provider::Value;
use serde_json::{Value as J, json};

use crate::plan_json::visible_json;

/// The report's JSON `format_version`; a `--since` file of another major version is refused.
pub const FORMAT_VERSION: &str = "1.0";

/// What `forge drift` found in an environment.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftReport {
    pub environment: String,
    /// The units read (their state and live objects), whether they drifted or not.
    pub units_checked: usize,
    /// The managed objects read from AWS across those units.
    pub objects_checked: usize,
    /// The units with drift, in the environment's order, each with its objects.
    pub units: Vec<UnitDrift>,
    /// Units that could not be read, with the reason (the report is then incomplete).
    pub failed: Vec<(String, String)>,
    /// With `--unmanaged`: the objects with the environment's marks no state records.
    pub unmanaged: Option<Vec<crate::unmanaged::Unmanaged>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UnitDrift {
    pub unit: String,
    pub objects: Vec<ObjectDrift>,
}

/// One object that changed outside forge.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectDrift {
    pub address: String,
    pub kind: DriftKind,
    /// The attributes that moved (empty for a deleted object).
    pub attributes: Vec<AttributeDrift>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftKind {
    /// The object exists with other values than state records.
    Changed,
    /// The object state records is gone.
    Deleted,
}

/// One attribute that moved. Paths are Terraform's (`tags.Team`, `ingress`); a list or
/// set is compared whole. A sensitive attribute carries no value, only that it changed.
#[derive(Clone, Debug, PartialEq)]
pub struct AttributeDrift {
    pub path: String,
    pub before: J,
    pub after: J,
    pub sensitive: bool,
}

impl DriftReport {
    /// The report of an environment's (normal) plan.
    pub fn from_plan(environment: &str, plan: &EnvPlan) -> DriftReport {
        let mut report = DriftReport {
            environment: environment.to_string(),
            units_checked: 0,
            objects_checked: 0,
            units: Vec::new(),
            failed: Vec::new(),
            unmanaged: None,
        };
        for (name, outcome) in &plan.units {
            match outcome {
                UnitOutcome::Done(p) => {
                    report.units_checked += 1;
                    // Every managed object state recorded: read back (a change or a
                    // no-op with a prior value) or found gone (a drift with no after).
                    let read: BTreeSet<String> = p
                        .changes
                        .iter()
                        .filter(|c| {
                            c.before.is_some() && c.addr.mode == forge_config::Mode::Managed
                        })
                        .map(|c| c.addr.to_string())
                        .chain(p.drift.iter().map(|d| d.addr.to_string()))
                        .collect();
                    report.objects_checked += read.len();
                    let objects: Vec<ObjectDrift> =
                        p.drift.iter().filter_map(|d| object_drift(d, p)).collect();
                    if !objects.is_empty() {
                        report.units.push(UnitDrift {
                            unit: name.clone(),
                            objects,
                        });
                    }
                }
                UnitOutcome::Failed(errors) => report.failed.push((
                    name.clone(),
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )),
                UnitOutcome::Skipped { because } => report
                    .failed
                    .push((name.clone(), format!("skipped: {because}"))),
            }
        }
        report
    }

    /// True when some object drifted, or (with `--unmanaged`) some object has the
    /// environment's marks and no state records it.
    pub fn has_drift(&self) -> bool {
        !self.units.is_empty() || self.unmanaged.as_ref().is_some_and(|u| !u.is_empty())
    }

    fn object_count(&self) -> usize {
        self.units.iter().map(|u| u.objects.len()).sum()
    }

    /// Leaves out every drift `earlier` (a JSON report of this environment) already listed:
    /// the same unit, address, kind, and for a change the same attributes with the same
    /// values after (a drift that moved on is new again). A sensitive attribute counts as
    /// the same when it was listed as changed before.
    pub fn since(mut self, earlier: &J) -> Result<DriftReport, String> {
        let version = earlier
            .get("format_version")
            .and_then(J::as_str)
            .ok_or("it has no format_version: is it a report of `forge drift --format json`?")?;
        if version.split('.').next() != FORMAT_VERSION.split('.').next() {
            return Err(format!(
                "its format_version is {version}; this forge writes and reads {FORMAT_VERSION}"
            ));
        }
        let known: BTreeSet<String> = earlier
            .get("units")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
            .flat_map(|u| {
                let unit = u.get("unit").and_then(J::as_str).unwrap_or("").to_string();
                u.get("objects")
                    .and_then(J::as_array)
                    .into_iter()
                    .flatten()
                    .map(move |o| identity(&unit, o))
            })
            .collect();
        for unit in &mut self.units {
            let name = unit.unit.clone();
            unit.objects
                .retain(|o| !known.contains(&identity(&name, &object_json(o))));
        }
        self.units.retain(|u| !u.objects.is_empty());
        let known_unmanaged: BTreeSet<(String, String)> = earlier
            .get("unmanaged")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| {
                Some((
                    o.get("type")?.as_str()?.to_string(),
                    o.get("id")?.as_str()?.to_string(),
                ))
            })
            .collect();
        if let Some(list) = &mut self.unmanaged {
            list.retain(|o| !known_unmanaged.contains(&(o.type_name.clone(), o.id.clone())));
        }
        Ok(self)
    }

    pub fn to_json(&self) -> J {
        json!({
            "format_version": FORMAT_VERSION,
            "environment": self.environment,
            "units_checked": self.units_checked,
            "objects_checked": self.objects_checked,
            "drifted_objects": self.object_count(),
            "units": self.units.iter().map(|u| json!({
                "unit": u.unit,
                "objects": u.objects.iter().map(object_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "failed_units": self.failed.iter().map(|(unit, error)| json!({
                "unit": unit,
                "error": error,
            })).collect::<Vec<_>>(),
            "unmanaged": self.unmanaged.as_ref().map(|list| {
                list.iter().map(crate::unmanaged::Unmanaged::to_json).collect::<Vec<_>>()
            }),
        })
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for u in &self.units {
            let _ = writeln!(out, "unit {}:", u.unit);
            for o in &u.objects {
                match o.kind {
                    DriftKind::Deleted => {
                        let _ = writeln!(out, "  - {} was deleted outside forge", o.address);
                    }
                    DriftKind::Changed => {
                        let _ = writeln!(out, "  ~ {} changed outside forge", o.address);
                        let width = o.attributes.iter().map(|a| a.path.len()).max().unwrap_or(0);
                        for a in &o.attributes {
                            let _ = writeln!(
                                out,
                                "      {:<width$}  {} -> {}",
                                a.path,
                                shown(&a.before, a.sensitive),
                                shown(&a.after, a.sensitive)
                            );
                        }
                    }
                }
            }
            out.push('\n');
        }
        out.push_str(&self.summary());
        out.push('\n');
        for (unit, error) in &self.failed {
            let _ = writeln!(out, "unit {unit} could not be checked: {error}");
        }
        if let Some(list) = &self.unmanaged {
            out.push('\n');
            out.push_str(&crate::unmanaged::to_text(list));
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!("## Drift in `{}`\n\n{}\n", self.environment, self.summary());
        if self.has_drift() {
            out.push_str("\n| unit | object | drift | attribute | state | now |\n|---|---|---|---|---|---|\n");
            for u in &self.units {
                for o in &u.objects {
                    match o.kind {
                        DriftKind::Deleted => {
                            let _ = writeln!(
                                out,
                                "| {} | `{}` | deleted | | | |",
                                cell(&u.unit),
                                o.address
                            );
                        }
                        DriftKind::Changed => {
                            for a in &o.attributes {
                                let _ = writeln!(
                                    out,
                                    "| {} | `{}` | changed | `{}` | {} | {} |",
                                    cell(&u.unit),
                                    o.address,
                                    a.path,
                                    cell(&shown(&a.before, a.sensitive)),
                                    cell(&shown(&a.after, a.sensitive))
                                );
                            }
                        }
                    }
                }
            }
        }
        if !self.failed.is_empty() {
            out.push_str("\nUnits that could not be checked:\n\n");
            for (unit, error) in &self.failed {
                let _ = writeln!(out, "- {}: {}", cell(unit), cell(error));
            }
        }
        if let Some(list) = &self.unmanaged {
            out.push_str(&crate::unmanaged::to_markdown(list));
        }
        out
    }

    fn summary(&self) -> String {
        let objects = self.object_count();
        if objects == 0 {
            format!(
                "No drift: the {} objects of {} units match their state.",
                self.objects_checked, self.units_checked
            )
        } else {
            format!(
                "{objects} of {} objects drifted, in {} of {} units.",
                self.objects_checked,
                self.units.len(),
                self.units_checked
            )
        }
    }
}

/// The object's drift as the report lists it: a deleted object, or the attributes that
/// moved and that the configuration governs (the plan would set them back). An attribute
/// the plan leaves alone is not drift worth raising: a computed one another resource of
/// the unit set (a queue's `policy`, set by `aws_sqs_queue_policy`), or one under
/// `ignore_changes`. `None` when nothing of the object is left to report.
fn object_drift(d: &Drift, plan: &UnitPlan) -> Option<ObjectDrift> {
    let address = d.addr.to_string();
    let Some(after) = &d.after else {
        return Some(ObjectDrift {
            address,
            kind: DriftKind::Deleted,
            attributes: Vec::new(),
        });
    };
    let change = plan
        .changes
        .iter()
        .find(|c| c.addr == d.addr && c.action != Action::NoOp)?;
    let acted_on = |k: &str| match (
        change
            .before
            .as_ref()
            .and_then(|v| v.unmarked().as_map())
            .and_then(|m| m.get(k)),
        change
            .after
            .as_ref()
            .and_then(|v| v.unmarked().as_map())
            .and_then(|m| m.get(k)),
    ) {
        (Some(b), Some(a)) => !(b.same_as(a) && a.is_wholly_known()),
        (None, None) => false,
        _ => true,
    };
    let mut attributes = Vec::new();
    changed_paths("", &d.before, after, false, &mut attributes);
    attributes.retain(|a| acted_on(a.path.split('.').next().unwrap_or("")));
    if attributes.is_empty() {
        return None;
    }
    Some(ObjectDrift {
        address,
        kind: DriftKind::Changed,
        attributes,
    })
}

/// The attributes where `before` and `after` differ: into objects and maps key by key,
/// anything else (lists, sets, scalars) whole.
fn changed_paths(
    path: &str,
    before: &Value,
    after: &Value,
    sensitive: bool,
    out: &mut Vec<AttributeDrift>,
) {
    let sensitive =
        sensitive || matches!(before, Value::Sensitive(_)) || matches!(after, Value::Sensitive(_));
    let (b, a) = (before.unmarked(), after.unmarked());
    if b.same_as(a) {
        return;
    }
    if let (Value::Object(bm) | Value::Map(bm), Value::Object(am) | Value::Map(am)) = (b, a) {
        let keys: BTreeSet<&String> = bm.keys().chain(am.keys()).collect();
        for k in keys {
            let child = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            changed_paths(
                &child,
                bm.get(k).unwrap_or(&Value::Null),
                am.get(k).unwrap_or(&Value::Null),
                sensitive,
                out,
            );
        }
        return;
    }
    let hidden = sensitive || before.contains_sensitive() || after.contains_sensitive();
    out.push(AttributeDrift {
        path: path.to_string(),
        before: if hidden { J::Null } else { visible_json(b) },
        after: if hidden { J::Null } else { visible_json(a) },
        sensitive: hidden,
    });
}

fn object_json(o: &ObjectDrift) -> J {
    json!({
        "address": o.address,
        "drift": match o.kind { DriftKind::Changed => "changed", DriftKind::Deleted => "deleted" },
        "attributes": o.attributes.iter().map(|a| {
            let mut m = serde_json::Map::new();
            m.insert("path".into(), json!(a.path));
            if a.sensitive {
                m.insert("sensitive".into(), J::Bool(true));
            } else {
                m.insert("before".into(), a.before.clone());
                m.insert("after".into(), a.after.clone());
            }
            J::Object(m)
        }).collect::<Vec<_>>(),
    })
}

/// What makes an object's drift the same drift in two reports.
fn identity(unit: &str, object: &J) -> String {
    let attributes: Vec<String> = object
        .get("attributes")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
        .map(|a| {
            format!(
                "{}={}",
                a.get("path").and_then(J::as_str).unwrap_or(""),
                if a.get("sensitive").and_then(J::as_bool) == Some(true) {
                    "(sensitive)".to_string()
                } else {
                    a.get("after").cloned().unwrap_or(J::Null).to_string()
                }
            )
        })
        .collect();
    format!(
        "{unit}\u{0}{}\u{0}{}\u{0}{}",
        object.get("address").and_then(J::as_str).unwrap_or(""),
        object.get("drift").and_then(J::as_str).unwrap_or(""),
        attributes.join("\u{0}")
    )
}

fn shown(v: &J, sensitive: bool) -> String {
    if sensitive {
        "(sensitive value)".to_string()
    } else if v.is_null() {
        "null".to_string()
    } else {
        v.to_string()
    }
}

/// A Markdown table cell: pipes escaped, one line.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_engine::addr::InstanceAddr;
    use forge_engine::plan::{PlanMode, ResourceChange};
    use std::collections::BTreeMap;

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    /// A normal plan that sets every drifted object back to what state recorded.
    fn plan_with(drift: Vec<Drift>) -> EnvPlan {
        let changes = drift
            .iter()
            .map(|d| ResourceChange {
                addr: d.addr.clone(),
                action: if d.after.is_some() {
                    Action::Update
                } else {
                    Action::Create
                },
                before: d.after.clone(),
                after: Some(d.before.clone()),
                requires_replace: Vec::new(),
                reason: None,
                moved_from: None,
                importing: None,
            })
            .collect();
        let unit = UnitPlan {
            unit: "queues".into(),
            mode: PlanMode::Normal,
            changes,
            drift,
            output_changes: Vec::new(),
            outputs: BTreeMap::new(),
            lineage: None,
            serial: 1,
            data_reads: Vec::new(),
            data_refreshed: false,
            variables: BTreeMap::new(),
            checks: Vec::new(),
            warnings: Vec::new(),
        };
        EnvPlan {
            mode: PlanMode::Normal,
            units: vec![("queues".into(), UnitOutcome::Done(unit))],
        }
    }

    fn addr(text: &str) -> InstanceAddr {
        InstanceAddr::parse(text).expect("an address")
    }

    #[test]
    fn changed_attributes_are_listed_by_path_and_secrets_only_as_changed() {
        let before = object(&[
            ("visibility", Value::Number(30.0)),
            (
                "tags",
                Value::Map(BTreeMap::from([("Team".into(), Value::string("a"))])),
            ),
            (
                "secret",
                Value::Sensitive(Box::new(Value::string("hunter2"))),
            ),
            ("same", Value::string("x")),
        ]);
        let after = object(&[
            ("visibility", Value::Number(45.0)),
            (
                "tags",
                Value::Map(BTreeMap::from([("Team".into(), Value::string("b"))])),
            ),
            (
                "secret",
                Value::Sensitive(Box::new(Value::string("swordfish"))),
            ),
            ("same", Value::string("x")),
        ]);
        let report = DriftReport::from_plan(
            "prod",
            &plan_with(vec![
                Drift {
                    addr: addr("aws_sqs_queue.a"),
                    before,
                    after: Some(after),
                },
                Drift {
                    addr: addr("aws_sqs_queue.gone"),
                    before: object(&[]),
                    after: None,
                },
            ]),
        );
        assert!(report.has_drift());
        let paths: Vec<&str> = report.units[0].objects[0]
            .attributes
            .iter()
            .map(|a| a.path.as_str())
            .collect();
        assert_eq!(paths, ["secret", "tags.Team", "visibility"]);
        for text in [
            report.to_text(),
            report.to_markdown(),
            report.to_json().to_string(),
        ] {
            assert!(
                !text.contains("hunter2") && !text.contains("swordfish"),
                "{text}"
            );
            assert!(text.contains("aws_sqs_queue.gone"), "{text}");
        }
        assert!(
            report.to_text().contains("visibility  30 -> 45"),
            "{}",
            report.to_text()
        );
        assert!(
            report
                .to_text()
                .contains("2 of 2 objects drifted, in 1 of 1 units."),
            "{}",
            report.to_text()
        );
    }

    #[test]
    fn since_an_earlier_report_keeps_only_new_drift() {
        let drifted = |n: f64| Drift {
            addr: addr("aws_sqs_queue.a"),
            before: object(&[("visibility", Value::Number(30.0))]),
            after: Some(object(&[("visibility", Value::Number(n))])),
        };
        let first = DriftReport::from_plan("prod", &plan_with(vec![drifted(45.0)]));
        let earlier = first.to_json();
        let again = DriftReport::from_plan("prod", &plan_with(vec![drifted(45.0)]))
            .since(&earlier)
            .expect("a report");
        assert!(!again.has_drift(), "{again:?}");
        let moved_on = DriftReport::from_plan("prod", &plan_with(vec![drifted(60.0)]))
            .since(&earlier)
            .expect("a report");
        assert!(moved_on.has_drift());
        let refused = DriftReport::from_plan("prod", &plan_with(vec![drifted(45.0)]))
            .since(&json!({"format_version": "2.0"}));
        assert!(refused.is_err());
    }

    #[test]
    fn attributes_the_plan_leaves_alone_are_not_drift() {
        // The queue's policy was set by another resource of the unit: it moved, but the
        // plan keeps it, so it is not reported; the visibility the plan sets back is.
        let recorded = object(&[
            ("policy", Value::string("")),
            ("visibility", Value::Number(30.0)),
        ]);
        let live = object(&[
            ("policy", Value::string("{}")),
            ("visibility", Value::Number(45.0)),
        ]);
        let mut plan = plan_with(vec![Drift {
            addr: addr("aws_sqs_queue.a"),
            before: recorded,
            after: Some(live.clone()),
        }]);
        if let UnitOutcome::Done(p) = &mut plan.units[0].1 {
            p.changes[0].after = Some(object(&[
                ("policy", Value::string("{}")),
                ("visibility", Value::Number(30.0)),
            ]));
        }
        let report = DriftReport::from_plan("prod", &plan);
        let paths: Vec<&str> = report.units[0].objects[0]
            .attributes
            .iter()
            .map(|a| a.path.as_str())
            .collect();
        assert_eq!(paths, ["visibility"]);
        // When the plan changes nothing of the object, there is nothing to raise.
        if let UnitOutcome::Done(p) = &mut plan.units[0].1 {
            p.changes[0].action = Action::NoOp;
            p.changes[0].after = Some(live);
        }
        assert!(!DriftReport::from_plan("prod", &plan).has_drift());
    }
}
