//! Plans as people read them, in Terraform's notation: `+` create, `~` update, `-/+`
//! replace, `-` destroy, `(known after apply)`, `(sensitive value)`, `# forces
//! replacement`, and "Plan: N to add, N to change, N to destroy.". Sensitive values are
//! never written out, whatever is asked.

mod structured;

use std::fmt::Write;

use forge_provider::{Schema, Value};

use structured::{Act, Opts, Tree, json_document, string_diff};

use forge_engine::addr::InstanceKey;
use forge_engine::plan::{
    Action, ChangeReason, Drift, EnvPlan, OutputChange, PlanMode, ResourceChange, UnitOutcome,
    UnitPlan,
};
/// A value on one line (the CLI prints outputs and imports with it).
pub use forge_engine::value_text::inline;
use forge_engine::value_text::key_text;

#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    pub color: bool,
    /// Warnings as one line each with their place (`-compact-warnings`), not in full.
    pub compact_warnings: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
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

/// One unit's plan: drift, then changes, then the counts line, then output changes, then
/// the check blocks' warnings.
pub fn render_unit(plan: &UnitPlan, style: Style) -> String {
    let mut out = render_unit_changes(plan, style);
    out.push_str(&render_warnings(plan, style));
    out
}

/// The check blocks' warnings, as Terraform prints them under a plan or an apply.
pub fn render_warnings(plan: &UnitPlan, style: Style) -> String {
    if style.compact_warnings {
        return compact_warnings(&plan.warnings, style);
    }
    plan.warnings
        .iter()
        .map(|w| w.render(|t| style.bold(t)))
        .collect()
}

/// Terraform's warning under a plan made with `-target` (or OpenTofu's `-exclude`): the
/// plan is not the whole configuration's.
pub fn targeting_warning(flag: &str, style: Style) -> String {
    format!(
        "\n{}\n\nYou are creating a plan with the {flag} option, which means that the result of this\nplan may not represent all of the changes requested by the current configuration.\n\nThe {flag} option is not for routine use, and is provided only for exceptional\nsituations such as recovering from errors or mistakes.\n",
        style.bold("Warning: Resource targeting is in effect")
    )
}

/// Terraform's `-compact-warnings` form: a `Warnings:` list of summaries, each with the
/// file and line it is about, and how to see them in full.
fn compact_warnings(warnings: &[forge_engine::checks::Warning], style: Style) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    let mut out = format!("\n{}\n\n", style.bold("Warnings:"));
    for w in warnings {
        let _ = writeln!(out, "- {}", w.summary);
        // The snippet starts `  on main.tf line 9, in check "c":`; the short form keeps
        // the file and line.
        if let Some(place) = w.snippet.lines().next().map(str::trim)
            && let Some(rest) = place.strip_prefix("on ")
        {
            let place = rest.split(", in ").next().unwrap_or(rest);
            let _ = writeln!(out, "  on {}", place.trim_end_matches(':'));
        }
    }
    out.push_str("\nTo see the full warning notes, run forge without -compact-warnings.\n");
    out
}

/// A unit's plan without the check warnings: an apply shows those of its own evaluation
/// after its operations instead, as Terraform does.
pub fn render_unit_changes(plan: &UnitPlan, style: Style) -> String {
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
            // Nothing follows in a refresh-only plan: one line ends it.
            out.push_str("This is a refresh-only plan: applying it records these changes in state and changes nothing in AWS.\n");
        } else {
            out.push_str(
                "Unless the configuration is changed accordingly, forge will undo them.\n\n",
            );
        }
    }
    let visible: Vec<&ResourceChange> = plan.changes.iter().filter(|c| c.is_visible()).collect();
    if plan.mode == PlanMode::RefreshOnly {
        if plan.drift.is_empty() {
            out.push_str("No changes. The state matches the objects in AWS.\n");
        }
    } else if visible.is_empty() && !plan.output_changes.iter().any(|o| o.action != Action::NoOp) {
        if plan.mode == PlanMode::Destroy {
            // Terraform's words, so that scripts waiting for them keep working.
            out.push_str("No changes. No objects need to be destroyed.\n\nEither you have not created any objects yet or the existing objects were already deleted outside of forge.\n");
        } else {
            out.push_str("No changes. The infrastructure matches the configuration.\n");
        }
    } else {
        if !visible.is_empty() {
            out.push_str("forge will perform the following actions:\n");
        }
        for c in &visible {
            out.push('\n');
            out.push_str(&render_change(c, style));
        }
        let n = plan.counts();
        let import = if n.import > 0 {
            format!("{} to import, ", n.import)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "\n{} {import}{} to add, {} to change, {} to destroy.",
            style.bold("Plan:"),
            n.add,
            n.change,
            n.destroy
        );
    }
    let outputs: Vec<&OutputChange> = plan
        .output_changes
        .iter()
        .filter(|o| o.action != Action::NoOp)
        .collect();
    if !outputs.is_empty() {
        out.push_str("\nChanges to Outputs:\n");
        for o in outputs {
            out.push_str(&render_output_change(o, style));
        }
    }
    out.push_str(&forget_warning(plan, style));
    out
}

/// Terraform's warning under a plan that forgets objects (`removed` with destroy = false).
fn forget_warning(plan: &UnitPlan, style: Style) -> String {
    let forgotten: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Forget)
        .map(|c| c.addr.to_string())
        .collect();
    if forgotten.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n{}\n\n",
        style.bold("Warning: Some objects will no longer be managed by forge")
    );
    out.push_str("If you apply this plan, forge will discard its tracking information for the\nfollowing objects, but it will not delete them:\n");
    for a in forgotten {
        let _ = writeln!(out, " - {a}");
    }
    out.push_str("\nAfter applying this plan, forge will no longer manage these objects. You will\nneed to import them into forge to manage them again.\n");
    out
}

fn header(c: &ResourceChange) -> (String, &'static str) {
    let addr = c.addr.to_string();
    match c.action {
        Action::Create => (format!("# {addr} will be created"), "  +"),
        Action::Update => (format!("# {addr} will be updated in-place"), "  ~"),
        // Terraform's words when -replace asked for it.
        Action::DeleteThenCreate | Action::CreateThenDelete => {
            let sign = if c.action == Action::DeleteThenCreate {
                "-/+"
            } else {
                "+/-"
            };
            if c.reason == Some(ChangeReason::ReplaceByRequest) {
                (format!("# {addr} will be replaced, as requested"), sign)
            } else {
                (format!("# {addr} must be replaced"), sign)
            }
        }
        Action::Delete => (format!("# {addr} will be destroyed"), "  -"),
        Action::Read => (format!("# {addr} will be read during apply"), " <="),
        Action::Forget => (
            format!("# {addr} will no longer be managed by forge, but will not be destroyed"),
            " .",
        ),
        Action::NoOp => match (&c.moved_from, &c.importing) {
            (Some(from), _) => (format!("# {from} has moved to {addr}"), "   "),
            (None, Some(_)) => (format!("# {addr} will be imported"), "   "),
            (None, None) => (format!("# {addr} is unchanged"), "   "),
        },
    }
}

pub fn render_change(c: &ResourceChange, style: Style) -> String {
    let (title, sign) = header(c);
    // Terraform indents the lines of a forgotten object one space less.
    let indent = if c.action == Action::Forget {
        " "
    } else {
        "  "
    };
    let mut out = format!("{indent}{}\n", style.bold(&title));
    if c.action == Action::Forget {
        let _ = writeln!(
            out,
            "{indent}# (destroy = false is set in the configuration)"
        );
    } else if let Some(note) = reason_note(c) {
        let _ = writeln!(out, "  # {note}");
    }
    if let (Some(from), false) = (&c.moved_from, c.action == Action::NoOp) {
        let _ = writeln!(out, "  # (moved from {from})");
    }
    if let (Some(id), false) = (&c.importing, c.action == Action::NoOp) {
        let _ = writeln!(
            out,
            "  # (imported from {})",
            serde_json::Value::String(id.clone())
        );
    }
    let kind = if c.addr.mode == forge_config::Mode::Data {
        "data"
    } else {
        "resource"
    };
    let _ = writeln!(
        out,
        "{} {kind} \"{}\" \"{}\" {{",
        style.sign(sign),
        c.addr.type_name,
        c.addr.name
    );
    let empty = Value::Object(Default::default());
    let before = c.before.as_ref().unwrap_or(&empty);
    let after = c.after.as_ref().unwrap_or(&empty);
    let body = match c.action {
        Action::Create | Action::Read => attrs_one_side(after, "+", style),
        Action::Delete => attrs_one_side(before, "-", style),
        Action::Forget => attrs_diff(before, before, &[], style),
        _ => attrs_diff(before, after, &c.requires_replace, style),
    };
    out.push_str(&body);
    out.push_str("    }\n");
    out
}

/// The change's reason in Terraform's words ("index [2] is out of range for count"),
/// `None` when the plan text gives none (a replacement says why in its header).
pub fn reason_text(c: &ResourceChange) -> Option<String> {
    let key = || {
        c.addr
            .key
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    let words = match c.reason? {
        ChangeReason::ReplaceBecauseCannotUpdate | ChangeReason::ReplaceByRequest => return None,
        ChangeReason::DeleteBecauseNoResourceConfig => {
            "it is no longer in the configuration".to_string()
        }
        ChangeReason::DeleteBecauseNoModule => {
            "its module instance is no longer in the configuration".to_string()
        }
        ChangeReason::DeleteBecauseCountIndex => {
            format!("index {} is out of range for count", key())
        }
        ChangeReason::DeleteBecauseEachKey => format!("key {} is not in for_each map", key()),
        ChangeReason::DeleteBecauseWrongRepetition => match &c.addr.key {
            None => "resource uses count or for_each".to_string(),
            Some(InstanceKey::Int(_)) => "resource does not use count".to_string(),
            Some(InstanceKey::Str(_)) => "resource does not use for_each".to_string(),
        },
        ChangeReason::ReadBecauseConfigUnknown => {
            "its configuration depends on values known only after apply".to_string()
        }
        ChangeReason::ReadBecauseDependencyPending => {
            "depends on a resource or a module with changes pending".to_string()
        }
        ChangeReason::ReadBecauseCheckNested => {
            "config will be reloaded to verify a check block".to_string()
        }
    };
    Some(words)
}

/// The note under a change's title: `(because ...)`, or Terraform's whole sentence for a
/// check block's data source.
fn reason_note(c: &ResourceChange) -> Option<String> {
    let words = reason_text(c)?;
    Some(match c.reason {
        Some(ChangeReason::ReadBecauseCheckNested) => format!("({words})"),
        _ => format!("(because {words})"),
    })
}

/// In a normal plan a drifted object is shown because the plan changes it; of its drifted
/// attributes only those the plan acts on are news (Terraform's "relevant attributes"). A
/// computed attribute that another resource of the module moved (a queue's `policy`, set by
/// `aws_sqs_queue_policy`) would otherwise read as a change made outside forge. When no
/// drifted attribute is acted on, everything that drifted is shown rather than nothing.
fn relevant_drift(d: &Drift, plan: &UnitPlan) -> Drift {
    let (Some(live), PlanMode::Normal) = (&d.after, plan.mode) else {
        return d.clone();
    };
    let Some(change) = plan
        .changes
        .iter()
        .find(|c| c.addr == d.addr && c.action != Action::NoOp)
    else {
        return d.clone();
    };
    let (Some(live_map), Some(recorded), Some(cb), Some(ca)) = (
        live.as_map(),
        d.before.as_map(),
        change.before.as_ref().and_then(Value::as_map),
        change.after.as_ref().and_then(Value::as_map),
    ) else {
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
    let after = if matches!(live, Value::Map(_)) {
        Value::Map(shown)
    } else {
        Value::Object(shown)
    };
    Drift {
        addr: d.addr.clone(),
        before: d.before.clone(),
        after: Some(after),
    }
}

fn render_drift(d: &Drift, style: Style) -> String {
    let addr = d.addr.to_string();
    match &d.after {
        None => {
            format!("  {}\n", style.bold(&format!("# {addr} has been deleted")))
                + &format!(
                    "{} resource \"{}\" \"{}\" {{\n{}    }}\n",
                    style.sign("  -"),
                    d.addr.type_name,
                    d.addr.name,
                    attrs_one_side(&d.before, "-", style)
                )
        }
        Some(after) => {
            format!("  {}\n", style.bold(&format!("# {addr} has changed")))
                + &format!(
                    "{} resource \"{}\" \"{}\" {{\n{}    }}\n",
                    style.sign("  ~"),
                    d.addr.type_name,
                    d.addr.name,
                    attrs_diff(&d.before, after, &[], style)
                )
        }
    }
}

fn render_output_change(o: &OutputChange, style: Style) -> String {
    let show = |v: &Option<Value>| match v {
        Some(v) if o.sensitive => {
            if v.is_unknown() {
                "(known after apply)".to_string()
            } else {
                "(sensitive value)".to_string()
            }
        }
        Some(v) => inline(v),
        None => "null".into(),
    };
    if !o.sensitive {
        let null = Value::Null;
        let (b, a) = (
            o.before.as_ref().unwrap_or(&null),
            o.after.as_ref().unwrap_or(&null),
        );
        let (b, a) = match o.action {
            Action::Create => (&null, a),
            Action::Delete => (b, &null),
            _ => (b, a),
        };
        if let Some(text) = json_change(b, a, false, 4) {
            let sign = if b.is_null() {
                "  +"
            } else if a.is_null() {
                "  -"
            } else {
                "  ~"
            };
            return format!("{} {} = {text}\n", style.sign(sign), o.name);
        }
    }
    match o.action {
        Action::Create => format!("{} {} = {}\n", style.sign("  +"), o.name, show(&o.after)),
        Action::Delete => format!(
            "{} {} = {} -> null\n",
            style.sign("  -"),
            o.name,
            show(&o.before)
        ),
        _ => format!(
            "{} {} = {} -> {}\n",
            style.sign("  ~"),
            o.name,
            show(&o.before),
            show(&o.after)
        ),
    }
}

/// Every non-null attribute with one sign (create, destroy, read).
fn attrs_one_side(v: &Value, sign: &str, style: Style) -> String {
    let mut out = String::new();
    let Some(m) = v.as_map() else { return out };
    let width = m
        .iter()
        .filter(|(_, x)| !x.is_null())
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(0);
    for (k, x) in m {
        if x.is_null()
            || matches!(x.unmarked(), Value::List(xs) | Value::Tuple(xs) if xs.is_empty())
                && !x.is_sensitive()
        {
            continue;
        }
        let tail = if sign == "-" { " -> null" } else { "" };
        let text = match x {
            // A JSON document reads as `jsonencode(...)`, its `-> null` placed as Terraform's.
            Value::String(s) if json_document(s).is_some() => {
                let (b, a, act) = if sign == "-" {
                    (Some(s.as_str()), None, Act::Delete)
                } else {
                    (None, Some(s.as_str()), Act::Create)
                };
                string_diff(b, a, act, 8, Opts::plan(), false)
            }
            _ => {
                let (b, a) = if sign == "-" {
                    (x, &Value::Null)
                } else {
                    (&Value::Null, x)
                };
                match laid_out_change(b, a, false) {
                    Some((_, text)) => text,
                    None => format!("{}{tail}", multiline(x, 6)),
                }
            }
        };
        let _ = writeln!(out, "      {} {k:<width$} = {text}", style.sign(sign));
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
    // Attributes null on both sides are not listed, so they do not widen the column.
    let width = keys
        .iter()
        .filter(|k| {
            !(b.get(**k).is_none_or(Value::is_null) && a.get(**k).is_none_or(Value::is_null))
        })
        .map(|k| k.len())
        .max()
        .unwrap_or(0);
    let mut hidden = 0;
    for k in keys {
        let x = b.get(k).unwrap_or(&Value::Null);
        let y = a.get(k).unwrap_or(&Value::Null);
        let force = if forces.iter().any(|f| f == k) {
            " # forces replacement"
        } else {
            ""
        };
        if x.same_as(y) && y.is_wholly_known() {
            if (k == "id" || k == "name") && !x.is_null() {
                let _ = writeln!(out, "        {k:<width$} = {}", inline(x));
            } else if !x.is_null() {
                hidden += 1;
            }
            continue;
        }
        if let Some((sign, text)) = laid_out_change(x, y, !force.is_empty()) {
            let _ = writeln!(out, "      {} {k:<width$} = {text}", style.sign(sign));
            continue;
        }
        // A map holding a sensitive value: its changed keys, each hidden whole.
        if let (Value::Map(bm), Value::Map(am)) = (x, y) {
            let _ = writeln!(out, "      {} {k:<width$} = {{{force}", style.sign("~"));
            out.push_str(&map_diff(bm, am, style));
            out.push_str("        }\n");
            continue;
        }
        if let Some(text) = json_change(x, y, !force.is_empty(), 8) {
            let sign = if x.is_null() {
                "+"
            } else if y.is_null() {
                "-"
            } else {
                "~"
            };
            let _ = writeln!(out, "      {} {k:<width$} = {text}", style.sign(sign));
            continue;
        }
        let line = if x.is_null() {
            format!(
                "      {} {k:<width$} = {}{force}",
                style.sign("+"),
                multiline(y, 6)
            )
        } else if y.is_null() {
            format!(
                "      {} {k:<width$} = {} -> null{force}",
                style.sign("-"),
                multiline(x, 6)
            )
        } else {
            format!(
                "      {} {k:<width$} = {} -> {}{force}",
                style.sign("~"),
                multiline(x, 6),
                multiline(y, 6)
            )
        };
        out.push_str(&line);
        out.push('\n');
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "        # ({hidden} unchanged attribute{} hidden)",
            if hidden == 1 { "" } else { "s" }
        );
    }
    out
}

/// The changed keys of a map attribute (tags): `+`, `-`, `~` per key.
fn map_diff(
    before: &std::collections::BTreeMap<String, Value>,
    after: &std::collections::BTreeMap<String, Value>,
    style: Style,
) -> String {
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
            (b, a)
                if json_change(
                    b.unwrap_or(&Value::Null),
                    a.unwrap_or(&Value::Null),
                    false,
                    12,
                )
                .is_some() =>
            {
                let (b, a) = (b.unwrap_or(&Value::Null), a.unwrap_or(&Value::Null));
                let sign = if b.is_null() {
                    "+"
                } else if a.is_null() {
                    "-"
                } else {
                    "~"
                };
                let text = json_change(b, a, false, 12).unwrap_or_default();
                let _ = writeln!(out, "          {} {key:<width$} = {text}", style.sign(sign));
            }
            (Some(b), Some(a)) => {
                let _ = writeln!(
                    out,
                    "          {} {key:<width$} = {} -> {}",
                    style.sign("~"),
                    inline(b),
                    inline(a)
                );
            }
            (None, Some(a)) => {
                let _ = writeln!(
                    out,
                    "          {} {key:<width$} = {}",
                    style.sign("+"),
                    inline(a)
                );
            }
            (Some(b), None) => {
                let _ = writeln!(
                    out,
                    "          {} {key:<width$} = {} -> null",
                    style.sign("-"),
                    inline(b)
                );
            }
            (None, None) => {}
        }
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "            # ({hidden} unchanged element{} hidden)",
            if hidden == 1 { "" } else { "s" }
        );
    }
    out
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
                let _ = writeln!(
                    s,
                    "{pad}{:<width$} = {}",
                    key_text(k),
                    multiline(x, indent + 2)
                );
            }
            s.push_str(&close);
            s.push('}');
            s
        }
        // Nested members carry no signs here, so neither does a JSON document among them.
        Value::String(s) if json_document(s).is_some() => {
            string_diff(None, Some(s), Act::NoOp, indent + 2, Opts::state(), false)
        }
        other => inline(other),
    }
}

/// A top-level attribute's change laid out as Terraform lays it out when a side is a
/// collection or a string with line breaks: members one a line, each with its own sign
/// (`+` in what is created, `-` in what is destroyed, `~` where changed), unchanged
/// members counted, text as a `<<-EOT` heredoc diffed line by line. The sign of the
/// attribute's line comes with it. `None` for other values, and for any value holding a
/// sensitive part, which keeps the one-line notation that hides it whole.
fn laid_out_change(before: &Value, after: &Value, replace: bool) -> Option<(&'static str, String)> {
    let spread = |v: &Value| match v {
        Value::Tuple(_) | Value::List(_) | Value::Set(_) | Value::Object(_) | Value::Map(_) => true,
        Value::String(s) => s.contains('\n') && json_document(s).is_none(),
        _ => false,
    };
    if !(spread(before) || spread(after))
        || before.contains_sensitive()
        || after.contains_sensitive()
    {
        return None;
    }
    let sign = if before.is_null() {
        "+"
    } else if after.is_null() {
        "-"
    } else {
        "~"
    };
    let force = if replace { " # forces replacement" } else { "" };
    let plan = Opts::plan();
    match (before, after) {
        (Value::String(b), Value::String(a)) => {
            return Some((
                sign,
                string_diff(Some(b), Some(a), Act::Update, 8, plan, replace),
            ));
        }
        (Value::Null, Value::String(a)) => {
            return Some((
                sign,
                string_diff(None, Some(a), Act::Create, 8, plan, replace),
            ));
        }
        (Value::String(b), Value::Null) => {
            return Some((
                sign,
                string_diff(Some(b), None, Act::Delete, 8, plan, replace),
            ));
        }
        _ => {}
    }
    let tree = |v: &Value| {
        if v.is_null() {
            None
        } else {
            Some(Tree::from_value(v))
        }
    };
    let (b, a) = (tree(before), tree(after));
    let d = structured::diff(b.as_ref(), a.as_ref());
    let mut text = structured::render(&d, 8, plan);
    if !force.is_empty() {
        // Terraform notes the replacement on the line that opens the collection.
        match text.find('\n') {
            Some(at) if text.starts_with(['[', '{']) => text.insert_str(at, force),
            _ => text.push_str(force),
        }
    }
    Some((sign, text))
}

/// A change involving a JSON document string, as Terraform shows it (`jsonencode(...)`
/// with the diff inside), for a line whose text starts at column `k`; `None` when neither
/// side is a JSON document (or a side is sensitive), for the caller's usual notation.
fn json_change(before: &Value, after: &Value, replace: bool, k: usize) -> Option<String> {
    let doc = |v: &Value| matches!(v, Value::String(s) if json_document(s).is_some());
    if !doc(before) && !doc(after) {
        return None;
    }
    let plan = Opts::plan();
    let force = if replace { " # forces replacement" } else { "" };
    match (before, after) {
        (Value::Null, Value::String(a)) => {
            Some(string_diff(None, Some(a), Act::Create, k, plan, replace))
        }
        (Value::String(b), Value::Null) => {
            Some(string_diff(Some(b), None, Act::Delete, k, plan, replace))
        }
        (Value::String(b), Value::String(a)) => {
            Some(string_diff(Some(b), Some(a), Act::Update, k, plan, replace))
        }
        (Value::String(b), Value::Unknown) => {
            let gone = string_diff(
                Some(b),
                None,
                Act::Delete,
                k,
                Opts {
                    no_null_suffix: true,
                    ..plan
                },
                false,
            );
            Some(format!("{gone} -> (known after apply){force}"))
        }
        _ => None,
    }
}

/// One instance as `terraform state show` prints it: its non-null attributes, aligned,
/// each value laid out over lines (JSON documents as `jsonencode(...)`, maps with quoted
/// keys), then its nested blocks when `schema` says which attributes are blocks.
/// Sensitive values read `(sensitive value)`. `attrs` must already be out of the state's
/// wire form (`schema_util::from_state`).
pub fn state_resource(
    addr: &forge_engine::InstanceAddr,
    attrs: &Value,
    schema: Option<&Schema>,
) -> String {
    let kind = if addr.mode == forge_config::Mode::Data {
        "data"
    } else {
        "resource"
    };
    let mut out = format!(
        "# {addr}:\n{kind} \"{}\" \"{}\" {{\n",
        addr.type_name, addr.name
    );
    state_body(&mut out, attrs, schema, 4);
    out.push_str("}\n");
    out
}

fn state_body(out: &mut String, attrs: &Value, schema: Option<&Schema>, k: usize) {
    let Some(m) = attrs.as_map() else { return };
    let is_block = |name: &str| schema.is_some_and(|s| s.blocks.contains_key(name));
    let shown: Vec<(&String, &Value)> = m
        .iter()
        .filter(|(n, v)| !v.is_null() && !is_block(n))
        .collect();
    let width = shown
        .iter()
        .map(|(n, _)| structured::key_width(n))
        .max()
        .unwrap_or(0);
    for (name, v) in shown {
        let key = structured::key(name);
        let pad = " ".repeat(width - structured::key_width(name));
        let _ = writeln!(
            out,
            "{}{key}{pad} = {}",
            " ".repeat(k),
            structured::state_value(v, k)
        );
    }
    let Some(schema) = schema else { return };
    for (name, block) in &schema.blocks {
        let items = match m.get(name).map(Value::unmarked) {
            Some(Value::List(xs) | Value::Set(xs) | Value::Tuple(xs)) => xs.clone(),
            Some(o @ Value::Object(_)) => vec![o.clone()],
            _ => Vec::new(),
        };
        for item in items {
            let _ = write!(out, "\n{}{name} {{\n", " ".repeat(k));
            if item.is_sensitive() {
                let _ = writeln!(
                    out,
                    "{}# At least one attribute in this block is (or was) sensitive,",
                    " ".repeat(k + 4)
                );
                let _ = writeln!(
                    out,
                    "{}# so its contents will not be displayed.",
                    " ".repeat(k + 4)
                );
            } else {
                state_body(out, &item, Some(&block.schema), k + 4);
            }
            let _ = writeln!(out, "{}}}", " ".repeat(k));
        }
    }
}

/// The table at the end of an environment plan: one row per unit.
pub fn summary_table(plan: &EnvPlan) -> String {
    let width = plan
        .units
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:<width$}  {:>4}  {:>6}  {:>7}  status\n",
        "unit", "add", "change", "destroy"
    );
    for (name, o) in &plan.units {
        match o {
            UnitOutcome::Done(p) => {
                let c = p.counts();
                let status = if p.has_changes() {
                    "changes"
                } else {
                    "no changes"
                };
                let _ = writeln!(
                    out,
                    "{name:<width$}  {:>4}  {:>6}  {:>7}  {status}",
                    c.add, c.change, c.destroy
                );
            }
            UnitOutcome::Failed(_) => {
                let _ = writeln!(
                    out,
                    "{name:<width$}  {:>4}  {:>6}  {:>7}  failed",
                    "-", "-", "-"
                );
            }
            UnitOutcome::Skipped { because } => {
                let _ = writeln!(
                    out,
                    "{name:<width$}  {:>4}  {:>6}  {:>7}  skipped ({because} failed)",
                    "-", "-", "-"
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_engine::addr::InstanceAddr;

    #[test]
    fn update_shows_changed_map_keys_and_hides_the_rest() {
        let tags = |v: &str| {
            Value::Map(
                [
                    ("team".to_string(), Value::string("core")),
                    ("env".to_string(), Value::string(v)),
                ]
                .into_iter()
                .collect(),
            )
        };
        let before = Value::object([
            ("id", Value::string("i-1")),
            ("tags", tags("dev")),
            ("size", Value::Number(1.0)),
        ]);
        let after = Value::object([
            ("id", Value::string("i-1")),
            ("tags", tags("prod")),
            ("size", Value::Number(1.0)),
        ]);
        let change = ResourceChange {
            addr: InstanceAddr::managed("aws_instance", "app", None),
            action: Action::Update,
            before: Some(before),
            after: Some(after),
            requires_replace: Vec::new(),
            reason: None,
            moved_from: None,
            importing: None,
        };
        let text = render_change(&change, Style::default());
        assert!(
            text.contains("# aws_instance.app will be updated in-place"),
            "{text}"
        );
        assert!(text.contains("~ \"env\"  = \"dev\" -> \"prod\""), "{text}");
        assert!(text.contains("# (1 unchanged element hidden)"), "{text}");
        assert!(text.contains("# (1 unchanged attribute hidden)"), "{text}");
        assert!(text.contains("id   = \"i-1\""), "{text}");
    }

    #[test]
    fn drift_of_a_changed_object_shows_only_the_attributes_the_plan_acts_on() {
        let queue = |timeout: f64, policy: Value| {
            Value::object([
                ("id", Value::string("q")),
                ("visibility_timeout_seconds", Value::Number(timeout)),
                ("policy", policy),
            ])
        };
        let addr = InstanceAddr::managed("aws_sqs_queue", "q", None);
        let live = queue(45.0, Value::string("{}"));
        let plan = |planned: Value| UnitPlan {
            unit: "sqs".into(),
            mode: PlanMode::Normal,
            changes: vec![ResourceChange {
                addr: addr.clone(),
                action: Action::Update,
                before: Some(live.clone()),
                after: Some(planned),
                requires_replace: Vec::new(),
                reason: None,
                moved_from: None,
                importing: None,
            }],
            drift: vec![Drift {
                addr: addr.clone(),
                before: queue(60.0, Value::Null),
                after: Some(live.clone()),
            }],
            output_changes: Vec::new(),
            outputs: Default::default(),
            lineage: None,
            serial: 0,
            data_reads: Vec::new(),
            data_refreshed: false,
            variables: Default::default(),
            checks: Vec::new(),
            warnings: Vec::new(),
        };
        // The plan puts the timeout back and keeps the policy: only the timeout is news.
        let text = render_unit(&plan(queue(60.0, Value::string("{}"))), Style::default());
        let drift = &text[..text.find("forge will perform").expect("actions")];
        assert!(
            drift.contains("~ visibility_timeout_seconds = 60 -> 45"),
            "{text}"
        );
        assert!(!drift.contains("policy"), "{text}");
        // When the plan acts on none of the drifted attributes, all of them are shown.
        let text = render_unit(
            &plan(Value::object([
                ("id", Value::Unknown),
                ("visibility_timeout_seconds", Value::Number(45.0)),
                ("policy", Value::string("{}")),
            ])),
            Style::default(),
        );
        let drift = &text[..text.find("forge will perform").expect("actions")];
        assert!(
            drift.contains("+ policy") && drift.contains("60 -> 45"),
            "{text}"
        );
    }

    fn data_change(
        action: Action,
        before: Option<Value>,
        after: Option<Value>,
        replace: &[&str],
    ) -> String {
        let change = ResourceChange {
            addr: InstanceAddr::managed("terraform_data", "s", None),
            action,
            before,
            after,
            requires_replace: replace.iter().map(|s| s.to_string()).collect(),
            reason: None,
            moved_from: None,
            importing: None,
        };
        render_change(&change, Style::default())
    }

    fn doc(j: serde_json::Value) -> Value {
        Value::string(j.to_string())
    }

    // The expected texts below are `terraform plan -no-color` output (Terraform 1.11.4,
    // terraform_data with jsonencode inputs), copied verbatim.
    #[test]
    fn json_update_is_a_diff_inside_jsonencode_with_unchanged_keys_counted() {
        let old = doc(
            serde_json::json!({"a": 1, "b": "two", "c": [1, 2, 3], "d": {"e": true, "f": null}, "g": [], "h": {}}),
        );
        let new = doc(
            serde_json::json!({"a": 2, "b": "two", "c": [1, 3, 4], "d": {"e": true}, "g": [1], "h": {"x": "y"}}),
        );
        let id = Value::string("5267ef6c-d91c-3f0d-da4d-ca27231efae8");
        let before = Value::object([("id", id.clone()), ("input", old.clone()), ("output", old)]);
        let after = Value::object([("id", id), ("input", new), ("output", Value::Unknown)]);
        let text = data_change(Action::Update, Some(before), Some(after), &[]);
        let expected = r#"  # terraform_data.s will be updated in-place
  ~ resource "terraform_data" "s" {
        id     = "5267ef6c-d91c-3f0d-da4d-ca27231efae8"
      ~ input  = jsonencode(
          ~ {
              ~ a = 1 -> 2
              ~ c = [
                    1,
                  ~ 2 -> 3,
                  ~ 3 -> 4,
                ]
              ~ d = {
                  - f = null
                    # (1 unchanged attribute hidden)
                }
              ~ g = [
                  + 1,
                ]
              ~ h = {
                  + x = "y"
                }
                # (1 unchanged attribute hidden)
            }
        )
      ~ output = jsonencode(
            {
              - a = 1
              - b = "two"
              - c = [
                  - 1,
                  - 2,
                  - 3,
                ]
              - d = {
                  - e = true
                  - f = null
                }
              - g = []
              - h = {}
            }
        ) -> (known after apply)
    }
"#;
        assert_eq!(text, expected, "\n--- got\n{text}");
    }

    #[test]
    fn json_policy_change_marks_only_the_changed_statement_keys() {
        let statement = |effect: &str,
                         action: serde_json::Value,
                         condition: Option<serde_json::Value>| {
            let mut s = serde_json::json!({"Effect": effect, "Action": action, "Resource": "*", "Principal": {"AWS": "*"}});
            if let Some(c) = condition {
                s["Condition"] = c;
            }
            doc(serde_json::json!({"Version": "2012-10-17", "Statement": [s]}))
        };
        let old = statement("Allow", serde_json::json!("sqs:SendMessage"), None);
        let new = statement(
            "Deny",
            serde_json::json!(["sqs:SendMessage", "sqs:ReceiveMessage"]),
            Some(serde_json::json!({"StringEquals": {"aws:SourceAccount": "123"}})),
        );
        let before = Value::object([("id", Value::string("q")), ("policy", old)]);
        let after = Value::object([("id", Value::string("q")), ("policy", new)]);
        let text = data_change(Action::Update, Some(before), Some(after), &[]);
        let expected = r#"  # terraform_data.s will be updated in-place
  ~ resource "terraform_data" "s" {
        id     = "q"
      ~ policy = jsonencode(
          ~ {
              ~ Statement = [
                  ~ {
                      ~ Action    = "sqs:SendMessage" -> [
                          + "sqs:SendMessage",
                          + "sqs:ReceiveMessage",
                        ]
                      + Condition = {
                          + StringEquals = {
                              + "aws:SourceAccount" = "123"
                            }
                        }
                      ~ Effect    = "Allow" -> "Deny"
                        # (2 unchanged attributes hidden)
                    },
                ]
                # (1 unchanged attribute hidden)
            }
        )
    }
"#;
        assert_eq!(text, expected, "\n--- got\n{text}");
    }

    #[test]
    fn json_create_destroy_and_invalid_json() {
        let create = data_change(
            Action::Create,
            None,
            Some(Value::object([
                ("id", Value::Unknown),
                ("input", doc(serde_json::json!([1, 2]))),
                ("n", Value::string("not json {")),
                ("q", Value::string("\"hello\"")),
                ("e", Value::string("{}")),
            ])),
            &[],
        );
        let expected = r#"  # terraform_data.s will be created
  + resource "terraform_data" "s" {
      + e     = jsonencode({})
      + id    = (known after apply)
      + input = jsonencode(
            [
              + 1,
              + 2,
            ]
        )
      + n     = "not json {"
      + q     = "\"hello\""
    }
"#;
        assert_eq!(create, expected, "\n--- got\n{create}");
        // Destroy: `-> null` after the closing parenthesis, none after a one-line document.
        let destroy = data_change(
            Action::Delete,
            Some(Value::object([
                ("e", Value::string("{}")),
                ("input", doc(serde_json::json!([1]))),
            ])),
            None,
            &[],
        );
        let expected = r#"  # terraform_data.s will be destroyed
  - resource "terraform_data" "s" {
      - e     = jsonencode({})
      - input = jsonencode(
            [
              - 1,
            ]
        ) -> null
    }
"#;
        assert_eq!(destroy, expected, "\n--- got\n{destroy}");
        // A string that becomes JSON, and JSON whose spacing alone changes.
        let before = Value::object([
            ("n", Value::string("not json {")),
            ("w", Value::string(r#"{"a":1,"b":[1,2]}"#)),
        ]);
        let after = Value::object([
            ("n", doc(serde_json::json!({"a": 1}))),
            ("w", Value::string(r#"{"a": 1, "b": [1, 2]}"#)),
        ]);
        let update = data_change(Action::Update, Some(before), Some(after), &[]);
        let expected = r#"  # terraform_data.s will be updated in-place
  ~ resource "terraform_data" "s" {
      ~ n = "not json {" -> jsonencode(
            {
              + a = 1
            }
        )
      ~ w = jsonencode( # whitespace changes
            {
                a = 1
                b = [
                    1,
                    2,
                ]
            }
        )
    }
"#;
        assert_eq!(update, expected, "\n--- got\n{update}");
    }

    #[test]
    fn json_replace_puts_forces_replacement_after_the_document_and_shows_list_context() {
        let old = doc(
            serde_json::json!({"a": 1, "b": [1, 2, 3, 4, 5, 6], "id": "x", "name": "n", "tags": {"k": "v"}, "other": "o"}),
        );
        let new = doc(
            serde_json::json!({"a": 2, "b": [1, 2, 3, 4, 9, 6], "id": "x", "name": "n", "tags": {"k": "v"}, "other": "o"}),
        );
        let before = Value::object([("id", Value::string("6315")), ("triggers_replace", old)]);
        let after = Value::object([("id", Value::Unknown), ("triggers_replace", new)]);
        let text = data_change(
            Action::DeleteThenCreate,
            Some(before),
            Some(after),
            &["triggers_replace"],
        );
        let expected = r#"  # terraform_data.s must be replaced
-/+ resource "terraform_data" "s" {
      ~ id               = "6315" -> (known after apply)
      ~ triggers_replace = jsonencode(
          ~ {
              ~ a     = 1 -> 2
              ~ b     = [
                    # (3 unchanged elements hidden)
                    4,
                  ~ 5 -> 9,
                    6,
                ]
                id    = "x"
                name  = "n"
                tags  = {
                    k = "v"
                }
                # (1 unchanged attribute hidden)
            } # forces replacement
        )
    }
"#;
        assert_eq!(text, expected, "\n--- got\n{text}");
    }

    #[test]
    fn sensitive_json_stays_hidden() {
        let secret = doc(serde_json::json!({"password": "hunter2"})).sensitive();
        let before = Value::object([
            ("policy", doc(serde_json::json!({"a": 1}))),
            ("secret", secret.clone()),
        ]);
        let after = Value::object([
            ("policy", doc(serde_json::json!({"a": 1})).sensitive()),
            (
                "secret",
                doc(serde_json::json!({"password": "hunter3"})).sensitive(),
            ),
        ]);
        for text in [
            data_change(Action::Update, Some(before), Some(after), &[]),
            data_change(
                Action::Create,
                None,
                Some(Value::object([("secret", secret.clone())])),
                &[],
            ),
            data_change(
                Action::Delete,
                Some(Value::object([("secret", secret)])),
                None,
                &[],
            ),
        ] {
            assert!(
                !text.contains("hunter") && !text.contains("password"),
                "{text}"
            );
            assert!(text.contains("(sensitive value)"), "{text}");
            assert!(!text.contains("jsonencode"), "{text}");
        }
    }

    // The expected texts below are `terraform plan -no-color` output (Terraform 1.11.4,
    // terraform_data with object, list and multi-line string inputs), copied verbatim.
    fn obj(members: &[(&str, Value)]) -> Value {
        Value::object(members.iter().cloned())
    }

    fn strs(xs: &[&str]) -> Value {
        Value::Tuple(xs.iter().map(|x| Value::string(*x)).collect())
    }

    #[test]
    fn created_and_destroyed_collections_sign_every_member_and_text_is_a_heredoc() {
        let input = |extra: bool| {
            let mut m = vec![
                ("m", obj(&[("k", Value::string("v"))])),
                (
                    "o",
                    obj(&[
                        ("x", Value::Number(1.0)),
                        (
                            "y",
                            Value::Tuple(vec![Value::Number(1.0), Value::Number(2.0)]),
                        ),
                    ]),
                ),
                ("ud", Value::string("a\nb\n")),
            ];
            if extra {
                m.push(("one", Value::string("x")));
            }
            obj(&m)
        };
        let create = data_change(
            Action::Create,
            None,
            Some(obj(&[
                ("id", Value::Unknown),
                ("input", input(true)),
                ("output", Value::Unknown),
            ])),
            &[],
        );
        let expected = r#"  # terraform_data.s will be created
  + resource "terraform_data" "s" {
      + id     = (known after apply)
      + input  = {
          + m   = {
              + k = "v"
            }
          + o   = {
              + x = 1
              + y = [
                  + 1,
                  + 2,
                ]
            }
          + one = "x"
          + ud  = <<-EOT
                a
                b
            EOT
        }
      + output = (known after apply)
    }
"#;
        assert_eq!(create, expected, "\n--- got\n{create}");
        let id = Value::string("2438eb21-16e9-2233-a541-9e7adb246057");
        let destroy = data_change(
            Action::Delete,
            Some(obj(&[
                ("id", id),
                ("input", input(false)),
                ("output", input(false)),
            ])),
            None,
            &[],
        );
        let expected = r#"  # terraform_data.s will be destroyed
  - resource "terraform_data" "s" {
      - id     = "2438eb21-16e9-2233-a541-9e7adb246057" -> null
      - input  = {
          - m  = {
              - k = "v"
            }
          - o  = {
              - x = 1
              - y = [
                  - 1,
                  - 2,
                ]
            }
          - ud = <<-EOT
                a
                b
            EOT
        } -> null
      - output = {
          - m  = {
              - k = "v"
            }
          - o  = {
              - x = 1
              - y = [
                  - 1,
                  - 2,
                ]
            }
          - ud = <<-EOT
                a
                b
            EOT
        } -> null
    }
"#;
        assert_eq!(destroy, expected, "\n--- got\n{destroy}");
    }

    #[test]
    fn updated_object_diffs_its_members_and_heredocs_line_by_line() {
        let old = obj(&[
            ("gone", obj(&[("z", Value::Number(1.0))])),
            ("l", strs(&["p", "q"])),
            (
                "m",
                obj(&[("a", Value::string("x")), ("b", Value::string("y"))]),
            ),
            (
                "o",
                obj(&[("k", Value::Number(1.0)), ("s", Value::string("t"))]),
            ),
            ("ud", Value::string("line one\nline two\nline three\n")),
        ]);
        let new = obj(&[
            ("l", strs(&["p", "r"])),
            (
                "m",
                obj(&[("a", Value::string("x")), ("b", Value::string("z"))]),
            ),
            (
                "new",
                obj(&[("w", strs(&["a"])), ("z", Value::Number(1.0))]),
            ),
            (
                "o",
                obj(&[("k", Value::Number(1.0)), ("s", Value::string("u"))]),
            ),
            (
                "ud",
                Value::string("line one\nline 2\nline three\nline four\n"),
            ),
        ]);
        let id = Value::string("1b3d2bd6-71f7-9f8c-fba6-66cbfb28121f");
        let text = data_change(
            Action::Update,
            Some(obj(&[
                ("id", id.clone()),
                ("input", old.clone()),
                ("output", old),
            ])),
            Some(obj(&[
                ("id", id),
                ("input", new),
                ("output", Value::Unknown),
            ])),
            &[],
        );
        let expected = r#"  # terraform_data.s will be updated in-place
  ~ resource "terraform_data" "s" {
        id     = "1b3d2bd6-71f7-9f8c-fba6-66cbfb28121f"
      ~ input  = {
          - gone = {
              - z = 1
            }
          ~ l    = [
                "p",
              ~ "q" -> "r",
            ]
          ~ m    = {
              ~ b = "y" -> "z"
                # (1 unchanged attribute hidden)
            }
          + new  = {
              + w = [
                  + "a",
                ]
              + z = 1
            }
          ~ o    = {
              ~ s = "t" -> "u"
                # (1 unchanged attribute hidden)
            }
          ~ ud   = <<-EOT
                line one
              - line two
              + line 2
                line three
              + line four
            EOT
        }
      ~ output = {
          - gone = {
              - z = 1
            }
          - l    = [
              - "p",
              - "q",
            ]
          - m    = {
              - a = "x"
              - b = "y"
            }
          - o    = {
              - k = 1
              - s = "t"
            }
          - ud   = <<-EOT
                line one
                line two
                line three
            EOT
        } -> (known after apply)
    }
"#;
        assert_eq!(text, expected, "\n--- got\n{text}");
        let id = Value::string("e2455ce3-11fa-7915-0e22-ae5473b54df7");
        let before = obj(&[
            ("id", id.clone()),
            ("input", Value::string("multi\nline\nhere")),
            ("output", Value::string("multi\nline\nhere")),
        ]);
        let after = obj(&[
            ("id", id),
            ("input", Value::string("multi\nLINE\nhere\n")),
            ("output", Value::Unknown),
        ]);
        let text = data_change(Action::Update, Some(before), Some(after), &[]);
        let expected = r#"  # terraform_data.s will be updated in-place
  ~ resource "terraform_data" "s" {
        id     = "e2455ce3-11fa-7915-0e22-ae5473b54df7"
      ~ input  = <<-EOT
            multi
          - line
          + LINE
            here
        EOT
      ~ output = <<-EOT
            multi
            line
            here
        EOT -> (known after apply)
    }
"#;
        assert_eq!(text, expected, "\n--- got\n{text}");
        let id = Value::string("af80fd9b-1f16-ba68-d640-ac97cdcb4cac");
        let before = obj(&[
            ("id", id.clone()),
            ("input", Value::Tuple(Vec::new())),
            ("output", Value::Tuple(Vec::new())),
        ]);
        let after = obj(&[
            ("id", id),
            ("input", strs(&["a"])),
            ("output", Value::Unknown),
        ]);
        let text = data_change(Action::Update, Some(before), Some(after), &[]);
        let expected = r#"  # terraform_data.s will be updated in-place
  ~ resource "terraform_data" "s" {
        id     = "af80fd9b-1f16-ba68-d640-ac97cdcb4cac"
      ~ input  = [
          + "a",
        ]
      ~ output = [] -> (known after apply)
    }
"#;
        assert_eq!(text, expected, "\n--- got\n{text}");
    }

    #[test]
    fn sensitive_members_keep_a_collection_hidden_whole() {
        let secret = obj(&[
            ("password", Value::string("hunter2").sensitive()),
            ("user", Value::string("a\nb")),
        ]);
        for text in [
            data_change(
                Action::Create,
                None,
                Some(obj(&[("input", secret.clone())])),
                &[],
            ),
            data_change(
                Action::Delete,
                Some(obj(&[("input", secret.clone())])),
                None,
                &[],
            ),
            data_change(
                Action::Update,
                Some(obj(&[("input", obj(&[]))])),
                Some(obj(&[("input", secret.clone())])),
                &[],
            ),
        ] {
            assert!(!text.contains("hunter"), "{text}");
            assert!(text.contains("(sensitive value)"), "{text}");
        }
    }

    #[test]
    fn state_resource_lays_values_out_as_terraform_state_show() {
        let attrs = Value::object([
            ("id", Value::string("i-1")),
            (
                "input",
                Value::object([
                    ("plain", Value::string("x")),
                    (
                        "policy",
                        doc(
                            serde_json::json!({"Statement": [{"Effect": "Allow"}], "Version": "2012-10-17"}),
                        ),
                    ),
                ]),
            ),
            (
                "list",
                Value::Tuple(vec![
                    Value::string("a"),
                    Value::Number(1.0),
                    Value::Null,
                    Value::string("multi\nline"),
                ]),
            ),
            (
                "tags",
                Value::Map(
                    [("Name".to_string(), Value::string("web"))]
                        .into_iter()
                        .collect(),
                ),
            ),
            ("secret", Value::string("hunter2").sensitive()),
            ("gone", Value::Null),
        ]);
        let text = state_resource(
            &InstanceAddr::managed("terraform_data", "p", None),
            &attrs,
            None,
        );
        let expected = r#"# terraform_data.p:
resource "terraform_data" "p" {
    id     = "i-1"
    input  = {
        plain  = "x"
        policy = jsonencode(
            {
                Statement = [
                    {
                        Effect = "Allow"
                    },
                ]
                Version   = "2012-10-17"
            }
        )
    }
    list   = [
        "a",
        1,
        null,
        <<-EOT
            multi
            line
        EOT,
    ]
    secret = (sensitive value)
    tags   = {
        "Name" = "web"
    }
}
"#;
        assert_eq!(text, expected, "\n--- got\n{text}");
    }
}
