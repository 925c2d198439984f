//! Plans as people read them, in Terraform's notation: `+` create, `~` update, `-/+`
//! replace, `-` destroy, `(known after apply)`, `(sensitive value)`, `# forces
//! replacement`, and "Plan: N to add, N to change, N to destroy.". Sensitive values are
//! never written out, whatever is asked.

use std::fmt::Write;

use forge_provider::Value;

use crate::plan::{Action, Drift, EnvPlan, OutputChange, PlanMode, ResourceChange, UnitOutcome, UnitPlan};

#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
    fn sign(&self, sign: &str) -> String {
        match sign.trim() {
            "+" => self.paint("32", sign),
            "-" => self.paint("31", sign),
            "~" => self.paint("33", sign),
            "-/+" | "+/-" => self.paint("35", sign),
            "<=" => self.paint("36", sign),
            _ => sign.to_string(),
        }
    }
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// One unit's plan: drift, then changes, then the counts line, then output changes.
pub fn render_unit(plan: &UnitPlan, style: Style) -> String {
    let mut out = String::new();
    if !plan.drift.is_empty() {
        out.push_str(&style.bold("Note: Objects have changed outside of forge"));
        out.push_str("\n\nforge detected the following changes made outside of forge since the last apply:\n");
        for d in &plan.drift {
            out.push('\n');
            out.push_str(&render_drift(&relevant_drift(d, plan), style));
        }
        out.push('\n');
        if plan.mode == PlanMode::RefreshOnly {
            out.push_str("This is a refresh-only plan: applying it records these changes in state and changes nothing in AWS.\n\n");
        } else {
            out.push_str("Unless the configuration is changed accordingly, forge will undo them.\n\n");
        }
    }
    let visible: Vec<&ResourceChange> = plan.changes.iter().filter(|c| c.action != Action::NoOp).collect();
    if plan.mode == PlanMode::RefreshOnly {
        if plan.drift.is_empty() {
            out.push_str("No changes. The state matches the objects in AWS.\n");
        }
    } else if visible.is_empty() && !plan.output_changes.iter().any(|o| o.action != Action::NoOp) {
        out.push_str("No changes. The infrastructure matches the configuration.\n");
    } else {
        if !visible.is_empty() {
            out.push_str("forge will perform the following actions:\n");
        }
        for c in &visible {
            out.push('\n');
            out.push_str(&render_change(c, style));
        }
        let n = plan.counts();
        let _ = writeln!(out, "\n{} {} to add, {} to change, {} to destroy.", style.bold("Plan:"), n.add, n.change, n.destroy);
    }
    let outputs: Vec<&OutputChange> = plan.output_changes.iter().filter(|o| o.action != Action::NoOp).collect();
    if !outputs.is_empty() {
        out.push_str("\nChanges to Outputs:\n");
        for o in outputs {
            out.push_str(&render_output_change(o, style));
        }
    }
    out
}

fn header(c: &ResourceChange) -> (String, &'static str) {
    let addr = c.addr.to_string();
    match c.action {
        Action::Create => (format!("# {addr} will be created"), "  +"),
        Action::Update => (format!("# {addr} will be updated in-place"), "  ~"),
        Action::DeleteThenCreate => (format!("# {addr} must be replaced"), "-/+"),
        Action::CreateThenDelete => (format!("# {addr} must be replaced"), "+/-"),
        Action::Delete => (format!("# {addr} will be destroyed"), "  -"),
        Action::Read => (format!("# {addr} will be read during apply"), " <="),
        Action::NoOp => (format!("# {addr} is unchanged"), "   "),
    }
}

pub fn render_change(c: &ResourceChange, style: Style) -> String {
    let (title, sign) = header(c);
    let mut out = format!("  {}\n", style.bold(&title));
    if let Some(reason) = &c.reason {
        let _ = writeln!(out, "  # (because {reason})");
    }
    let kind = if c.addr.mode == forge_config::Mode::Data { "data" } else { "resource" };
    let _ = writeln!(out, "{} {kind} \"{}\" \"{}\" {{", style.sign(sign), c.addr.type_name, c.addr.name);
    let empty = Value::Object(Default::default());
    let before = c.before.as_ref().unwrap_or(&empty);
    let after = c.after.as_ref().unwrap_or(&empty);
    let body = match c.action {
        Action::Create | Action::Read => attrs_one_side(after, "+", style),
        Action::Delete => attrs_one_side(before, "-", style),
        _ => attrs_diff(before, after, &c.requires_replace, style),
    };
    out.push_str(&body);
    out.push_str("    }\n");
    out
}

/// In a normal plan a drifted object is shown because the plan changes it; of its drifted
/// attributes only those the plan acts on are news (Terraform's "relevant attributes"). A
/// computed attribute that another resource of the module moved (a queue's `policy`, set by
/// `aws_sqs_queue_policy`) would otherwise read as a change made outside forge. When no
/// drifted attribute is acted on, everything that drifted is shown rather than nothing.
fn relevant_drift(d: &Drift, plan: &UnitPlan) -> Drift {
    let (Some(live), PlanMode::Normal) = (&d.after, plan.mode) else { return d.clone() };
    let Some(change) = plan.changes.iter().find(|c| c.addr == d.addr && c.action != Action::NoOp) else { return d.clone() };
    let (Some(live_map), Some(recorded), Some(cb), Some(ca)) = (live.as_map(), d.before.as_map(), change.before.as_ref().and_then(Value::as_map), change.after.as_ref().and_then(Value::as_map)) else {
        return d.clone();
    };
    let acted_on = |k: &String| match (cb.get(k), ca.get(k)) {
        (Some(b), Some(a)) => !(b.same_as(a) && a.is_wholly_known()),
        (None, None) => false,
        _ => true,
    };
    let mut shown = live_map.clone();
    let mut any = false;
    for (k, v) in live_map {
        let was = recorded.get(k).unwrap_or(&Value::Null);
        if v.same_as(was) {
            continue;
        }
        if acted_on(k) {
            any = true;
        } else {
            shown.insert(k.clone(), was.clone());
        }
    }
    if !any {
        return d.clone();
    }
    let after = if matches!(live, Value::Map(_)) { Value::Map(shown) } else { Value::Object(shown) };
    Drift { addr: d.addr.clone(), before: d.before.clone(), after: Some(after) }
}

fn render_drift(d: &Drift, style: Style) -> String {
    let addr = d.addr.to_string();
    match &d.after {
        None => format!("  {}\n", style.bold(&format!("# {addr} has been deleted"))) + &format!("{} resource \"{}\" \"{}\" {{\n{}    }}\n", style.sign("  -"), d.addr.type_name, d.addr.name, attrs_one_side(&d.before, "-", style)),
        Some(after) => format!("  {}\n", style.bold(&format!("# {addr} has changed"))) + &format!("{} resource \"{}\" \"{}\" {{\n{}    }}\n", style.sign("  ~"), d.addr.type_name, d.addr.name, attrs_diff(&d.before, after, &[], style)),
    }
}

fn render_output_change(o: &OutputChange, style: Style) -> String {
    let show = |v: &Option<Value>| match v {
        Some(v) if o.sensitive => if v.is_unknown() { "(known after apply)".to_string() } else { "(sensitive value)".to_string() },
        Some(v) => inline(v),
        None => "null".into(),
    };
    match o.action {
        Action::Create => format!("{} {} = {}\n", style.sign("  +"), o.name, show(&o.after)),
        Action::Delete => format!("{} {} = {} -> null\n", style.sign("  -"), o.name, show(&o.before)),
        _ => format!("{} {} = {} -> {}\n", style.sign("  ~"), o.name, show(&o.before), show(&o.after)),
    }
}

/// Every non-null attribute with one sign (create, destroy, read).
fn attrs_one_side(v: &Value, sign: &str, style: Style) -> String {
    let mut out = String::new();
    let Some(m) = v.as_map() else { return out };
    let width = m.iter().filter(|(_, x)| !x.is_null()).map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, x) in m {
        if x.is_null() || matches!(x.unmarked(), Value::List(xs) | Value::Tuple(xs) if xs.is_empty()) && !x.is_sensitive() {
            continue;
        }
        let text = multiline(x, 6);
        let tail = if sign == "-" { " -> null" } else { "" };
        let _ = writeln!(out, "      {} {k:<width$} = {text}{tail}", style.sign(sign));
    }
    out
}

/// Changed attributes with their old and new values; unchanged ones are counted, `id`
/// and `name` are shown for orientation as Terraform does.
fn attrs_diff(before: &Value, after: &Value, forces: &[String], style: Style) -> String {
    let mut out = String::new();
    let empty = Default::default();
    let b = before.as_map().unwrap_or(&empty);
    let a = after.as_map().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let width = keys.iter().map(|k| k.len()).max().unwrap_or(0);
    let mut hidden = 0;
    for k in keys {
        let x = b.get(k).unwrap_or(&Value::Null);
        let y = a.get(k).unwrap_or(&Value::Null);
        let force = if forces.iter().any(|f| f == k) { " # forces replacement" } else { "" };
        if x.same_as(y) && y.is_wholly_known() {
            if (k == "id" || k == "name") && !x.is_null() {
                let _ = writeln!(out, "        {k:<width$} = {}", inline(x));
            } else if !x.is_null() {
                hidden += 1;
            }
            continue;
        }
        if let (Value::Object(bm) | Value::Map(bm), Value::Object(am) | Value::Map(am)) = (x, y) {
            let _ = writeln!(out, "      {} {k:<width$} = {{{force}", style.sign("~"));
            out.push_str(&map_diff(bm, am, style));
            out.push_str("        }\n");
            continue;
        }
        let line = if x.is_null() {
            format!("      {} {k:<width$} = {}{force}", style.sign("+"), multiline(y, 6))
        } else if y.is_null() {
            format!("      {} {k:<width$} = {} -> null{force}", style.sign("-"), multiline(x, 6))
        } else {
            format!("      {} {k:<width$} = {} -> {}{force}", style.sign("~"), multiline(x, 6), multiline(y, 6))
        };
        out.push_str(&line);
        out.push('\n');
    }
    if hidden > 0 {
        let _ = writeln!(out, "        # ({hidden} unchanged attribute{} hidden)", if hidden == 1 { "" } else { "s" });
    }
    out
}

/// The changed keys of a map attribute (tags): `+`, `-`, `~` per key.
fn map_diff(before: &std::collections::BTreeMap<String, Value>, after: &std::collections::BTreeMap<String, Value>, style: Style) -> String {
    let mut out = String::new();
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let width = keys.iter().map(|k| key_text(k).len()).max().unwrap_or(0);
    let mut hidden = 0;
    for k in keys {
        let key = key_text(k);
        match (before.get(k), after.get(k)) {
            (Some(b), Some(a)) if b.same_as(a) && a.is_wholly_known() => hidden += 1,
            (Some(b), Some(a)) => {
                let _ = writeln!(out, "          {} {key:<width$} = {} -> {}", style.sign("~"), inline(b), inline(a));
            }
            (None, Some(a)) => {
                let _ = writeln!(out, "          {} {key:<width$} = {}", style.sign("+"), inline(a));
            }
            (Some(b), None) => {
                let _ = writeln!(out, "          {} {key:<width$} = {} -> null", style.sign("-"), inline(b));
            }
            (None, None) => {}
        }
    }
    if hidden > 0 {
        let _ = writeln!(out, "            # ({hidden} unchanged element{} hidden)", if hidden == 1 { "" } else { "s" });
    }
    out
}

/// A value on one line.
pub fn inline(v: &Value) -> String {
    match v {
        Value::Sensitive(_) => "(sensitive value)".into(),
        Value::Unknown => "(known after apply)".into(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => forge_provider::value::number_to_json(*n).to_string(),
        Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) => format!("[{}]", xs.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Value::Object(m) | Value::Map(m) => {
            format!("{{{}}}", m.iter().map(|(k, x)| format!("{} = {}", key_text(k), inline(x))).collect::<Vec<_>>().join(", "))
        }
    }
}

/// A value over several lines when it is a non-empty collection.
fn multiline(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent + 4);
    let close = " ".repeat(indent + 2);
    match v {
        Value::Tuple(xs) | Value::List(xs) | Value::Set(xs) if !xs.is_empty() => {
            let mut s = String::from("[\n");
            for x in xs {
                let _ = writeln!(s, "{pad}{},", multiline(x, indent + 2));
            }
            s.push_str(&close);
            s.push(']');
            s
        }
        Value::Object(m) | Value::Map(m) if !m.is_empty() => {
            let width = m.keys().map(|k| key_text(k).len()).max().unwrap_or(0);
            let mut s = String::from("{\n");
            for (k, x) in m {
                let _ = writeln!(s, "{pad}{:<width$} = {}", key_text(k), multiline(x, indent + 2));
            }
            s.push_str(&close);
            s.push('}');
            s
        }
        other => inline(other),
    }
}

fn key_text(k: &str) -> String {
    let plain = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') && !k.starts_with(|c: char| c.is_ascii_digit());
    if plain { k.to_string() } else { serde_json::Value::String(k.to_string()).to_string() }
}

/// The table at the end of an environment plan: one row per unit.
pub fn summary_table(plan: &EnvPlan) -> String {
    let width = plan.units.iter().map(|(n, _)| n.len()).max().unwrap_or(4).max(4);
    let mut out = format!("{:<width$}  {:>4}  {:>6}  {:>7}  status\n", "unit", "add", "change", "destroy");
    for (name, o) in &plan.units {
        match o {
            UnitOutcome::Done(p) => {
                let c = p.counts();
                let status = if p.has_changes() { "changes" } else { "no changes" };
                let _ = writeln!(out, "{name:<width$}  {:>4}  {:>6}  {:>7}  {status}", c.add, c.change, c.destroy);
            }
            UnitOutcome::Failed(_) => {
                let _ = writeln!(out, "{name:<width$}  {:>4}  {:>6}  {:>7}  failed", "-", "-", "-");
            }
            UnitOutcome::Skipped { because } => {
                let _ = writeln!(out, "{name:<width$}  {:>4}  {:>6}  {:>7}  skipped ({because} failed)", "-", "-", "-");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::InstanceAddr;

    #[test]
    fn update_shows_changed_map_keys_and_hides_the_rest() {
        let tags = |v: &str| Value::Map([("team".to_string(), Value::string("core")), ("env".to_string(), Value::string(v))].into_iter().collect());
        let before = Value::object([("id", Value::string("i-1")), ("tags", tags("dev")), ("size", Value::Number(1.0))]);
        let after = Value::object([("id", Value::string("i-1")), ("tags", tags("prod")), ("size", Value::Number(1.0))]);
        let change = ResourceChange {
            addr: InstanceAddr::managed("aws_instance", "app", None),
            action: Action::Update,
            before: Some(before),
            after: Some(after),
            requires_replace: Vec::new(),
            reason: None,
        };
        let text = render_change(&change, Style::default());
        assert!(text.contains("# aws_instance.app will be updated in-place"), "{text}");
        assert!(text.contains("~ env  = \"dev\" -> \"prod\""), "{text}");
        assert!(text.contains("# (1 unchanged element hidden)"), "{text}");
        assert!(text.contains("# (1 unchanged attribute hidden)"), "{text}");
        assert!(text.contains("id   = \"i-1\""), "{text}");
    }

    #[test]
    fn drift_of_a_changed_object_shows_only_the_attributes_the_plan_acts_on() {
        let queue = |timeout: f64, policy: Value| Value::object([("id", Value::string("q")), ("visibility_timeout_seconds", Value::Number(timeout)), ("policy", policy)]);
        let addr = InstanceAddr::managed("aws_sqs_queue", "q", None);
        let live = queue(45.0, Value::string("{}"));
        let plan = |planned: Value| UnitPlan {
            unit: "sqs".into(),
            mode: PlanMode::Normal,
            changes: vec![ResourceChange { addr: addr.clone(), action: Action::Update, before: Some(live.clone()), after: Some(planned), requires_replace: Vec::new(), reason: None }],
            drift: vec![Drift { addr: addr.clone(), before: queue(60.0, Value::Null), after: Some(live.clone()) }],
            output_changes: Vec::new(),
            outputs: Default::default(),
            lineage: None,
            serial: 0,
        };
        // The plan puts the timeout back and keeps the policy: only the timeout is news.
        let text = render_unit(&plan(queue(60.0, Value::string("{}"))), Style::default());
        let drift = &text[..text.find("forge will perform").expect("actions")];
        assert!(drift.contains("~ visibility_timeout_seconds = 60 -> 45"), "{text}");
        assert!(!drift.contains("policy"), "{text}");
        // When the plan acts on none of the drifted attributes, all of them are shown.
        let text = render_unit(&plan(Value::object([("id", Value::Unknown), ("visibility_timeout_seconds", Value::Number(45.0)), ("policy", Value::string("{}"))])), Style::default());
        let drift = &text[..text.find("forge will perform").expect("actions")];
        assert!(drift.contains("+ policy") && drift.contains("60 -> 45"), "{text}");
    }
}
