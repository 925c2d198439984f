//! Terraform's machine-readable UI: the stream `terraform plan -json` and `apply -json`
//! print, one JSON object a line (`@level`, `@message`, `@module: "terraform.ui"`,
//! `@timestamp`, `type` and the type's own fields). forge runs many units at once, so
//! every line about a unit carries its name in an extra `unit` field; Terraform's readers
//! ignore fields they do not know.
//!
//! The shapes follow Terraform 1.11's `internal/command/views/json` (UI version 1.2),
//! checked line by line against the real `terraform` in `tests/cli/json_stream.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use forge_config::Mode;
use forge_engine::plan::{Action, ChangeReason, Counts, ResourceChange, UnitPlan};
use forge_engine::{InstanceAddr, InstanceKey, OpKind, OpStatus};
use forge_lang::{Diagnostic, Severity};
use forge_provider::Value;
use serde_json::{Map, Value as J, json};

/// The version of Terraform's UI stream these lines follow.
pub const UI_VERSION: &str = "1.2";

/// What an operation is: Terraform's `operation` of a change summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Plan,
    Apply,
    Destroy,
}

/// The first line of a stream: Terraform's `version` message, with forge's version added.
pub fn version(forge_version: &str, terraform_version: &str) -> J {
    message(
        "info",
        format!("forge {forge_version} (Terraform {terraform_version} formats)"),
        "version",
        None,
        [
            ("terraform", json!(terraform_version)),
            ("ui", json!(UI_VERSION)),
            ("forge", json!(forge_version)),
        ],
    )
}

/// A `log` line: something to know that has no message type of its own.
pub fn log(text: &str) -> J {
    message("info", text.to_string(), "log", None, [])
}

/// A resource instance as Terraform's UI names it (`resource` of every hook and change).
pub fn resource_addr(addr: &InstanceAddr) -> J {
    let key = match &addr.key {
        None => J::Null,
        Some(InstanceKey::Int(i)) => json!(i),
        Some(InstanceKey::Str(s)) => json!(s),
    };
    let resource = match &addr.key {
        Some(k) => format!("{}{k}", addr.local_resource()),
        None => addr.local_resource(),
    };
    // Terraform names the provider a type implies by its prefix (`aws_sqs_queue` -> aws).
    let implied = addr
        .type_name
        .split_once('_')
        .map_or(addr.type_name.as_str(), |(p, _)| p);
    json!({
        "addr": addr.to_string(),
        "module": addr.module_address().unwrap_or_default(),
        "resource": resource,
        "implied_provider": implied,
        "resource_type": addr.type_name,
        "resource_name": addr.name,
        "resource_key": key,
    })
}

/// The `planned_change` lines of a unit's plan: every change the plan shows (an action,
/// a move or an import), in the plan's order.
pub fn planned_changes(plan: &UnitPlan) -> Vec<J> {
    plan.changes
        .iter()
        .filter(|c| c.is_visible())
        .map(|c| planned_change(&plan.unit, c))
        .collect()
}

fn planned_change(unit: &str, c: &ResourceChange) -> J {
    let action = match c.action {
        Action::NoOp if c.moved_from.is_some() => "move",
        Action::NoOp if c.importing.is_some() => "import",
        other => change_action(other),
    };
    let mut change = Map::new();
    change.insert("resource".into(), resource_addr(&c.addr));
    if let Some(prev) = &c.moved_from {
        change.insert("previous_resource".into(), resource_addr(prev));
    }
    change.insert("action".into(), json!(action));
    if let Some(reason) = c.reason {
        change.insert("reason".into(), json!(change_reason(reason)));
    }
    if let Some(id) = &c.importing {
        change.insert("importing".into(), json!({ "id": id }));
    }
    message(
        "info",
        format!("{}: Plan to {action}", c.addr),
        "planned_change",
        Some(unit),
        [("change", J::Object(change))],
    )
}

/// The `resource_drift` lines: objects changed or deleted outside forge.
pub fn drift(plan: &UnitPlan) -> Vec<J> {
    plan.drift
        .iter()
        .map(|d| {
            let action = if d.after.is_some() {
                "update"
            } else {
                "delete"
            };
            message(
                "info",
                format!("{}: Drift detected ({action})", d.addr),
                "resource_drift",
                Some(&plan.unit),
                [(
                    "change",
                    json!({ "resource": resource_addr(&d.addr), "action": action }),
                )],
            )
        })
        .collect()
}

/// The `refresh_start` and `refresh_complete` pair of each managed object the plan read
/// from AWS (it had one in state, or an `import` block brought it in: Terraform 1.11
/// reports an imported object's read as a refresh too, with no line of its own for the
/// import), as Terraform prints them while refreshing.
pub fn refreshes(plan: &UnitPlan) -> Vec<J> {
    let mut out = Vec::new();
    for c in &plan.changes {
        let Some(before) = &c.before else { continue };
        if c.addr.mode != Mode::Managed {
            continue;
        }
        let id = object_id(before);
        let mut hook = Map::new();
        hook.insert("resource".into(), resource_addr(&c.addr));
        let suffix = match &id {
            Some(id) => {
                hook.insert("id_key".into(), json!("id"));
                hook.insert("id_value".into(), json!(id));
                format!(" [id={id}]")
            }
            None => String::new(),
        };
        out.push(message(
            "info",
            format!("{}: Refreshing state...{suffix}", c.addr),
            "refresh_start",
            Some(&plan.unit),
            [("hook", J::Object(hook.clone()))],
        ));
        out.push(message(
            "info",
            format!("{}: Refresh complete{suffix}", c.addr),
            "refresh_complete",
            Some(&plan.unit),
            [("hook", J::Object(hook))],
        ));
    }
    out
}

/// The ids of a plan's existing objects by address, for the `apply_start` lines of
/// updates and deletes (Terraform names the object being changed).
pub fn prior_ids(plan: &UnitPlan) -> BTreeMap<String, String> {
    plan.changes
        .iter()
        .filter_map(|c| Some((c.addr.to_string(), object_id(c.before.as_ref()?)?)))
        .collect()
}

/// A `change_summary` line: Terraform's closing sentence and its counts.
pub fn change_summary(unit: &str, counts: Counts, operation: Operation) -> J {
    let imported = |word: &str| {
        if counts.import > 0 {
            format!("{} {word}, ", counts.import)
        } else {
            String::new()
        }
    };
    let (text, op) = match operation {
        Operation::Plan => (
            format!(
                "Plan: {}{} to add, {} to change, {} to destroy.",
                imported("to import"),
                counts.add,
                counts.change,
                counts.destroy
            ),
            "plan",
        ),
        Operation::Apply => (
            format!(
                "Apply complete! Resources: {}{} added, {} changed, {} destroyed.",
                imported("imported"),
                counts.add,
                counts.change,
                counts.destroy
            ),
            "apply",
        ),
        Operation::Destroy => (
            format!("Destroy complete! Resources: {} destroyed.", counts.destroy),
            "destroy",
        ),
    };
    message(
        "info",
        text,
        "change_summary",
        Some(unit),
        [(
            "changes",
            json!({
                "add": counts.add,
                "change": counts.change,
                "import": counts.import,
                "remove": counts.destroy,
                "operation": op,
            }),
        )],
    )
}

/// The `outputs` line of a plan: each output's planned action; `None` without outputs.
pub fn planned_outputs(plan: &UnitPlan) -> Option<J> {
    if plan.output_changes.is_empty() {
        return None;
    }
    let outputs: Map<String, J> = plan
        .output_changes
        .iter()
        .map(|o| {
            (
                o.name.clone(),
                json!({ "sensitive": o.sensitive, "action": change_action(o.action) }),
            )
        })
        .collect();
    Some(outputs_message(&plan.unit, outputs))
}

/// The `outputs` line after an apply: each output's type and value; a sensitive one's
/// value is left out, as Terraform leaves it out. Terraform prints it after every apply,
/// `Outputs: 0` when there are none.
pub fn applied_outputs(unit: &str, outputs: &BTreeMap<String, Value>) -> J {
    let outputs: Map<String, J> = outputs
        .iter()
        .filter(|(_, v)| v.is_wholly_known())
        .map(|(name, v)| {
            let sensitive = v.contains_sensitive();
            let mut o = Map::new();
            o.insert("sensitive".into(), json!(sensitive));
            o.insert("type".into(), forge_engine::state::cty_type(v));
            if !sensitive {
                o.insert("value".into(), v.to_json());
            }
            (name.clone(), J::Object(o))
        })
        .collect();
    outputs_message(unit, outputs)
}

fn outputs_message(unit: &str, outputs: Map<String, J>) -> J {
    message(
        "info",
        format!("Outputs: {}", outputs.len()),
        "outputs",
        Some(unit),
        [("outputs", J::Object(outputs))],
    )
}

/// The lines of one provider operation's progress: `apply_start`, `apply_progress`,
/// `apply_complete`, `apply_errored` (a data source read is a `read`). `prior_id` is the
/// id of the object an update or delete acts on. Nothing for the operations Terraform
/// does not report this way (refreshes, imports: see [`refreshes`]).
pub fn operation(
    unit: &str,
    address: &str,
    kind: OpKind,
    status: &OpStatus,
    prior_id: Option<&str>,
) -> Option<J> {
    let addr = InstanceAddr::parse(address)?;
    let (action, doing, done, errored) = match kind {
        OpKind::Creating => ("create", "Creating", "Creation complete", "Creation"),
        OpKind::Modifying => (
            "update",
            "Modifying",
            "Modifications complete",
            "Modifications",
        ),
        OpKind::Destroying => (
            "delete",
            "Destroying",
            "Destruction complete",
            "Destruction",
        ),
        OpKind::Reading if addr.mode == Mode::Data => ("read", "Reading", "Read complete", "Read"),
        OpKind::Reading | OpKind::Importing | OpKind::PreparingImport => return None,
    };
    let mut hook = Map::new();
    hook.insert("resource".into(), resource_addr(&addr));
    hook.insert("action".into(), json!(action));
    let with_id = |hook: &mut Map<String, J>, id: Option<&str>| match id {
        Some(id) => {
            hook.insert("id_key".into(), json!("id"));
            hook.insert("id_value".into(), json!(id));
            format!(" [id={id}]")
        }
        None => String::new(),
    };
    let (level, text, kind) = match status {
        OpStatus::Started => {
            // Terraform names the object an update or delete starts on.
            let id = if action == "create" || action == "read" {
                None
            } else {
                prior_id
            };
            let suffix = with_id(&mut hook, id);
            ("info", format!("{addr}: {doing}...{suffix}"), "apply_start")
        }
        OpStatus::Still(elapsed) => {
            hook.insert("elapsed_seconds".into(), json!(elapsed.as_secs()));
            (
                "info",
                format!(
                    "{addr}: Still {}... [{}s elapsed]",
                    doing.to_lowercase(),
                    elapsed.as_secs()
                ),
                "apply_progress",
            )
        }
        OpStatus::Done(elapsed, id) => {
            // A destroyed object has no id left to name.
            let id = if action == "delete" {
                None
            } else {
                id.as_deref()
            };
            let suffix = with_id(&mut hook, id);
            hook.insert("elapsed_seconds".into(), json!(elapsed.as_secs()));
            (
                "info",
                format!("{addr}: {done} after {}{suffix}", go_seconds(*elapsed)),
                "apply_complete",
            )
        }
        OpStatus::Failed(elapsed) => {
            hook.insert("elapsed_seconds".into(), json!(elapsed.as_secs()));
            (
                "error",
                format!("{addr}: {errored} errored after {}", go_seconds(*elapsed)),
                "apply_errored",
            )
        }
    };
    Some(message(
        level,
        text,
        kind,
        Some(unit),
        [("hook", J::Object(hook))],
    ))
}

/// A `diagnostic` line for an error or warning forge reports without a source location
/// (a provider's refusal, a lock held, a backend error). `detail` holds the causes and
/// the hint.
pub fn diagnostic_message(
    unit: Option<&str>,
    severity: Severity,
    summary: &str,
    detail: &str,
) -> J {
    let level = severity_name(severity);
    let prefix = if level == "error" { "Error" } else { "Warning" };
    message(
        level,
        format!("{prefix}: {summary}"),
        "diagnostic",
        unit,
        [(
            "diagnostic",
            json!({ "severity": level, "summary": summary, "detail": detail }),
        )],
    )
}

/// A `diagnostic` line for a configuration diagnostic, with its source range.
pub fn diagnostic_line(unit: Option<&str>, d: &Diagnostic, byte_of: &ByteOffset) -> J {
    let level = severity_name(d.severity);
    let prefix = if level == "error" { "Error" } else { "Warning" };
    message(
        level,
        format!("{prefix}: {}", d.summary),
        "diagnostic",
        unit,
        [("diagnostic", diagnostic(d, byte_of))],
    )
}

/// Finds the byte offset of a 1-based line and column in a file (the caller reads it).
pub type ByteOffset = dyn Fn(&std::path::Path, usize, usize) -> Option<usize>;

/// Terraform's JSON diagnostic (`validate -json`'s `diagnostics` items, a `diagnostic`
/// line's body): severity, summary, detail and, with a location, the range and snippet.
pub fn diagnostic(d: &Diagnostic, byte_of: &ByteOffset) -> J {
    let mut detail = d.detail.clone().unwrap_or_default();
    if let Some(hint) = &d.hint {
        if !detail.is_empty() {
            detail.push_str("\n\n");
        }
        detail.push_str(hint);
    }
    let mut out = Map::new();
    out.insert("severity".into(), json!(severity_name(d.severity)));
    out.insert("summary".into(), json!(d.summary));
    out.insert("detail".into(), json!(detail));
    if let Some(loc) = &d.location {
        let start_byte = byte_of(&loc.file, loc.line, loc.col).unwrap_or(0);
        let end_col = loc.col + loc.width.max(1);
        let end_byte = byte_of(&loc.file, loc.line, end_col).unwrap_or(start_byte);
        out.insert(
            "range".into(),
            json!({
                "filename": loc.file.display().to_string(),
                "start": { "line": loc.line, "column": loc.col, "byte": start_byte },
                "end": { "line": loc.line, "column": end_col, "byte": end_byte },
            }),
        );
        out.insert(
            "snippet".into(),
            json!({
                "context": J::Null,
                "code": loc.line_text,
                "start_line": loc.line,
                "highlight_start_offset": loc.col.saturating_sub(1),
                "highlight_end_offset": end_col.saturating_sub(1),
                "values": [],
            }),
        );
    }
    J::Object(out)
}

/// One line of the stream as text (no newline).
pub fn line(message: &J) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Terraform's action word in the UI stream (plan JSON spells them differently).
fn change_action(a: Action) -> &'static str {
    match a {
        Action::NoOp => "noop",
        Action::Create => "create",
        Action::Read => "read",
        Action::Update => "update",
        Action::DeleteThenCreate | Action::CreateThenDelete => "replace",
        Action::Delete => "delete",
        Action::Forget => "remove",
    }
}

/// Terraform's reason word in the UI stream: shorter than plan JSON's for replacements.
fn change_reason(r: ChangeReason) -> &'static str {
    match r {
        ChangeReason::ReplaceBecauseCannotUpdate => "cannot_update",
        ChangeReason::ReplaceByRequest => "requested",
        other => other.terraform_name(),
    }
}

fn object_id(object: &Value) -> Option<String> {
    match object.unmarked() {
        Value::Object(m) => match m.get("id").map(Value::unmarked) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Go's rounding of a duration to whole seconds, as Terraform prints `after 2s`.
fn go_seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64().round() as u64)
}

/// A message with the common fields, its keys in Terraform's (sorted) order.
fn message<const N: usize>(
    level: &str,
    text: String,
    kind: &str,
    unit: Option<&str>,
    fields: [(&str, J); N],
) -> J {
    let mut sorted: BTreeMap<String, J> = BTreeMap::new();
    sorted.insert("@level".into(), json!(level));
    sorted.insert("@message".into(), json!(text));
    sorted.insert("@module".into(), json!("terraform.ui"));
    sorted.insert("@timestamp".into(), json!(timestamp()));
    sorted.insert("type".into(), json!(kind));
    if let Some(unit) = unit {
        sorted.insert("unit".into(), json!(unit));
    }
    for (k, v) in fields {
        sorted.insert(k.into(), v);
    }
    J::Object(sorted.into_iter().collect())
}

/// Now, as Terraform's log lines spell it (RFC 3339, microseconds).
fn timestamp() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_is_named_as_terraform_names_it() {
        let addr = InstanceAddr::parse(r#"module.a[0].aws_sqs_queue.q["k"]"#).expect("addr");
        let j = resource_addr(&addr);
        assert_eq!(j["addr"], r#"module.a[0].aws_sqs_queue.q["k"]"#);
        assert_eq!(j["module"], "module.a[0]");
        assert_eq!(j["resource"], r#"aws_sqs_queue.q["k"]"#);
        assert_eq!(j["implied_provider"], "aws");
        assert_eq!(j["resource_key"], "k");
    }

    #[test]
    fn an_update_names_the_object_it_starts_on_and_a_delete_ends_without_id() {
        let start = operation(
            "u",
            "terraform_data.a",
            OpKind::Modifying,
            &OpStatus::Started,
            Some("i-1"),
        )
        .expect("line");
        assert_eq!(start["@message"], "terraform_data.a: Modifying... [id=i-1]");
        assert_eq!(start["unit"], "u");
        let done = operation(
            "u",
            "terraform_data.a",
            OpKind::Destroying,
            &OpStatus::Done(Duration::from_millis(1400), Some("i-1".into())),
            None,
        )
        .expect("line");
        assert_eq!(
            done["@message"],
            "terraform_data.a: Destruction complete after 1s"
        );
        assert!(done["hook"].get("id_value").is_none());
    }
}
