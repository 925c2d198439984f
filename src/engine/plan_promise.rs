//! What a reviewed plan promises, so that `forge apply FILE` performs exactly that: for
//! each change the plan shows, its action and a digest of every known value of the object
//! before and after (a SHA-256 per leaf, by path: never the value itself, so a saved plan
//! holds no secret). Applying re-plans the unit under its lock first; the new plan keeps
//! the promise when it has the same changes and every value known at review is the same
//! now. A value unknown at review (an output of a unit applied first) may be anything.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::plan::{Action, UnitPlan};
use forge_provider::Value;

/// The promise about one change: its action and the digests of its known values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangePromise {
    pub action: Action,
    /// Path (`tags.Name`, `ingress[0].port`) to the digest of the value there.
    #[serde(default)]
    pub before: BTreeMap<String, String>,
    #[serde(default)]
    pub after: BTreeMap<String, String>,
}

/// The promises of a unit's plan, by instance address: every change the plan shows.
pub fn promises(plan: &UnitPlan) -> BTreeMap<String, ChangePromise> {
    plan.changes
        .iter()
        .filter(|c| c.is_visible())
        .map(|c| {
            (
                c.addr.to_string(),
                ChangePromise {
                    action: c.action,
                    before: c.before.as_ref().map(digests).unwrap_or_default(),
                    after: c.after.as_ref().map(digests).unwrap_or_default(),
                },
            )
        })
        .collect()
}

/// How a new plan breaks the promises of a reviewed one, one sentence each (empty when
/// it keeps them). Knowing more at apply time may turn a planned replacement into an
/// update, never the reverse.
pub fn broken(
    reviewed: &BTreeMap<String, ChangePromise>,
    now: &BTreeMap<String, ChangePromise>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (addr, promised) in reviewed {
        let Some(planned) = now.get(addr) else {
            out.push(format!(
                "{addr}: the plan said {:?}, and now nothing is to be done",
                promised.action
            ));
            continue;
        };
        let was = promised.action;
        let compatible = was == planned.action
            || (was.is_replace()
                && (planned.action.is_replace() || planned.action == Action::Update));
        if !compatible {
            out.push(format!(
                "{addr}: the plan said {was:?}, and now it needs {:?}",
                planned.action
            ));
            continue;
        }
        for (side, promised, planned) in [
            (
                "the object as it was read",
                &promised.before,
                &planned.before,
            ),
            ("the planned value", &promised.after, &planned.after),
        ] {
            let changed: Vec<&str> = promised
                .iter()
                .filter(|(path, digest)| planned.get(*path) != Some(*digest))
                .map(|(path, _)| path.as_str())
                .collect();
            if !changed.is_empty() {
                out.push(format!("{addr}: {side} differs at {}", changed.join(", ")));
            }
        }
    }
    for (addr, planned) in now {
        if !reviewed.contains_key(addr) {
            out.push(format!(
                "{addr}: not in the plan, and now it needs {:?}",
                planned.action
            ));
        }
    }
    out
}

/// Every known leaf of a value by its path, as a digest.
fn digests(v: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(v, String::new(), &mut out);
    out
}

fn walk(v: &Value, path: String, out: &mut BTreeMap<String, String>) {
    let v = v.unmarked();
    match v {
        Value::Unknown => {}
        Value::Object(m) | Value::Map(m) => {
            out.insert(
                format!("{path}#keys"),
                digest_text(&m.keys().cloned().collect::<Vec<_>>().join("\u{0}")),
            );
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(x, p, out);
            }
        }
        Value::Tuple(xs) | Value::List(xs) => {
            out.insert(format!("{path}#len"), digest_text(&xs.len().to_string()));
            for (i, x) in xs.iter().enumerate() {
                walk(x, format!("{path}[{i}]"), out);
            }
        }
        // A set has no order: one digest of its elements' sorted digests, when all known.
        Value::Set(xs) => {
            if v.is_wholly_known() {
                let mut each: Vec<String> = xs.iter().map(|x| digest_text(&canonical(x))).collect();
                each.sort();
                out.insert(path, digest_text(&each.join(",")));
            }
        }
        leaf => {
            out.insert(path, digest_text(&canonical(leaf)));
        }
    }
}

/// A value's canonical text (marks dropped), for digests only.
fn canonical(v: &Value) -> String {
    match v.unmarked() {
        Value::Null => "null".into(),
        Value::Unknown => "?".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => forge_provider::value::number_to_json(*n).to_string(),
        Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
        Value::Tuple(xs) | Value::List(xs) => {
            format!(
                "[{}]",
                xs.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        Value::Set(xs) => {
            let mut each: Vec<String> = xs.iter().map(canonical).collect();
            each.sort();
            format!("set[{}]", each.join(","))
        }
        Value::Object(m) | Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{}:{}", serde_json::Value::String(k.clone()), canonical(x)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Sensitive(inner) => canonical(inner),
    }
}

fn digest_text(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn promise(action: Action, after: Value) -> BTreeMap<String, ChangePromise> {
        BTreeMap::from([(
            "terraform_data.a".to_string(),
            ChangePromise {
                action,
                before: BTreeMap::new(),
                after: digests(&after),
            },
        )])
    }

    #[test]
    fn the_same_plan_keeps_its_promise_and_a_changed_value_breaks_it() {
        let reviewed = promise(
            Action::Create,
            Value::object([("input", Value::Number(45.0))]),
        );
        assert!(broken(&reviewed, &reviewed).is_empty());
        let now = promise(
            Action::Create,
            Value::object([("input", Value::Number(99.0))]),
        );
        let why = broken(&reviewed, &now);
        assert_eq!(
            why,
            ["terraform_data.a: the planned value differs at input"]
        );
    }

    #[test]
    fn a_value_unknown_at_review_may_be_anything_but_a_known_one_may_not_change() {
        let reviewed = promise(
            Action::Create,
            Value::object([("input", Value::Unknown), ("name", Value::string("n"))]),
        );
        let now = promise(
            Action::Create,
            Value::object([
                ("input", Value::string("from upstream")),
                ("name", Value::string("n")),
            ]),
        );
        assert!(broken(&reviewed, &now).is_empty());
        let renamed = promise(
            Action::Create,
            Value::object([("input", Value::string("x")), ("name", Value::string("m"))]),
        );
        assert_eq!(broken(&reviewed, &renamed).len(), 1);
    }

    #[test]
    fn another_action_or_another_change_breaks_the_promise() {
        let reviewed = promise(Action::Update, Value::Object(BTreeMap::new()));
        let replace = promise(Action::DeleteThenCreate, Value::Object(BTreeMap::new()));
        assert_eq!(
            broken(&reviewed, &replace).len(),
            1,
            "an update may not become a replacement"
        );
        // The reverse is allowed: more is known now.
        assert!(broken(&replace, &reviewed).is_empty());
        let extra = BTreeMap::from([(
            "terraform_data.b".to_string(),
            ChangePromise {
                action: Action::Create,
                before: BTreeMap::new(),
                after: BTreeMap::new(),
            },
        )]);
        let mut more = reviewed.clone();
        more.extend(extra);
        assert_eq!(
            broken(&reviewed, &more),
            ["terraform_data.b: not in the plan, and now it needs Create"]
        );
    }

    #[test]
    fn digests_hold_no_value_and_sets_ignore_order() {
        let secret = Value::object([("password", Value::string("hunter2").sensitive())]);
        let text = format!("{:?}", digests(&secret));
        assert!(!text.contains("hunter2"), "{text}");
        let a = digests(&Value::Set(vec![Value::string("x"), Value::string("y")]));
        let b = digests(&Value::Set(vec![Value::string("y"), Value::string("x")]));
        assert_eq!(a, b);
    }
}
