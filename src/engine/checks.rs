//! Terraform's custom conditions: resource and data `precondition`/`postcondition`, output
//! `precondition` (errors) and `check` blocks (warnings). Here: evaluating one condition,
//! the results plan JSON lists under `checks`, and the warnings as Terraform words and lays
//! them out (checked against terraform 1.11 by tests/cli/plan_json_oracle.rs). `run.rs`
//! decides when each condition is evaluated.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use forge_config::Condition;
use forge_lang::{Diagnostic, Diagnostics, Location, RefStep, Scope, eval};
use forge_provider::Value;

use crate::addr::{InstanceKey, ModuleStep, module_path_string};

/// What kind of object a check result is about (`kind` in plan JSON).
#[derive(Clone, Debug, PartialEq)]
pub enum CheckKind {
    Check,
    /// A resource or data source with conditions: its mode ("managed"/"data") and type.
    Resource {
        mode: &'static str,
        type_name: String,
    },
    Output,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckStatus {
    Pass,
    Unknown,
    Fail,
}

impl CheckStatus {
    pub fn json(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Unknown => "unknown",
            CheckStatus::Fail => "fail",
        }
    }
}

/// One instance of a checkable object.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckInstance {
    pub module: Vec<ModuleStep>,
    pub key: Option<InstanceKey>,
    /// `terraform_data.a[0]`, `check.c`, `module.m[1].output.o`.
    pub display: String,
    pub status: CheckStatus,
    /// The failed conditions' messages.
    pub problems: Vec<String>,
}

/// A checkable object of the configuration (a check block, a resource with conditions, an
/// output with preconditions) and its instances' results.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    pub kind: CheckKind,
    pub name: String,
    /// The module of the configuration, without instance keys (`module.a`), empty for the root.
    pub module: String,
    /// `check.c`, `terraform_data.a`, `module.a.output.o`.
    pub display: String,
    pub instances: Vec<CheckInstance>,
}

impl CheckResult {
    /// Fail when an instance failed, unknown when one is not known yet, else pass.
    pub fn status(&self) -> CheckStatus {
        self.instances
            .iter()
            .map(|i| i.status)
            .max()
            .unwrap_or(CheckStatus::Pass)
    }
}

/// A warning laid out as Terraform prints it: summary, the source snippet (with the
/// values the condition read), then the detail.
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    pub summary: String,
    /// `  on main.tf line 9, in check "c":` and the lines under it, each ending in `\n`.
    pub snippet: String,
    pub detail: String,
}

impl Warning {
    pub fn render(&self, bold: impl Fn(&str) -> String) -> String {
        let mut out = format!("\n{}\n\n", bold(&format!("Warning: {}", self.summary)));
        if !self.snippet.is_empty() {
            out.push_str(&self.snippet);
            out.push('\n');
        }
        for line in wrap(&self.detail, 77) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

/// Terraform wraps a diagnostic's detail to the terminal width less one (78 columns when
/// the output is not a terminal); line breaks written in the message are kept.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ') {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            } else if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push(line);
    }
    out
}

/// How one condition came out.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Pass,
    /// Not known until apply.
    Unknown,
    /// False: the evaluated `error_message`.
    Fail(String),
}

/// Evaluates a condition in `scope`. An error evaluating it, or a result that is not a
/// bool, is an error as in Terraform.
pub(crate) fn evaluate(cond: &Condition, scope: &Scope<'_>) -> Result<Outcome, Diagnostics> {
    let v = eval(&cond.condition, scope)?;
    if !v.is_wholly_known() {
        return Ok(Outcome::Unknown);
    }
    let b = match v.unmarked() {
        Value::Bool(b) => *b,
        Value::String(s) if s == "true" || s == "false" => s == "true",
        Value::Null => {
            return Err(Diagnostic::error(
                "invalid condition result: the condition is null; it must be true or false",
            )
            .at(cond.condition.location())
            .into());
        }
        other => {
            return Err(Diagnostic::error(format!(
                "invalid condition result: a condition must be true or false, not {}",
                other.kind_name()
            ))
            .at(cond.condition.location())
            .into());
        }
    };
    if b {
        return Ok(Outcome::Pass);
    }
    let message = match eval(&cond.error_message, scope) {
        Ok(m) if m.contains_sensitive() => "The error message included a sensitive value, so it will not be displayed.".to_string(),
        Ok(m) => match m.unmarked() {
            Value::String(s) => s.clone(),
            Value::Unknown => "The error message could not be evaluated: it depends on values known only after apply.".to_string(),
            other => crate::value_text::inline(other),
        },
        Err(d) => format!("The error message could not be evaluated: {}", d.iter().map(|x| x.summary.clone()).collect::<Vec<_>>().join("; ")),
    };
    Ok(Outcome::Fail(message))
}

/// The `├──`/`│` lines Terraform adds under the source line: each value the condition
/// read, sorted by its reference. A sensitive value and a value still unknown (forge's
/// unknowns have no type, and Terraform leaves out those it cannot describe) are left out.
pub(crate) fn condition_values(cond: &Condition, scope: &Scope<'_>) -> Vec<(String, String)> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for r in cond.condition.references() {
        let mut text = r.root.clone();
        let mut value = scope.roots.get(&r.root).cloned();
        let mut steps = 0;
        for step in &r.steps {
            match step {
                RefStep::Attr(a) => {
                    let _ = write!(text, ".{a}");
                    value = value.and_then(|v| v.get(a).cloned());
                }
                RefStep::Index(Some(k)) => {
                    let (label, next) = match k.unmarked() {
                        Value::Number(n) => (
                            format!("[{n}]"),
                            value
                                .and_then(|v| v.as_seq().and_then(|s| s.get(*n as usize)).cloned()),
                        ),
                        Value::String(s) => (
                            format!("[{}]", serde_json::Value::String(s.clone())),
                            value.and_then(|v| v.get(s).cloned()),
                        ),
                        _ => break,
                    };
                    text.push_str(&label);
                    value = next;
                }
                // A computed index ends the part a diagnostic can name.
                RefStep::Index(None) => break,
            }
            steps += 1;
        }
        let Some(v) = value else { continue };
        // Only the value itself counts: a collection holding secrets or unknowns is still
        // described by its length, never by its elements.
        if steps == 0 || v.is_sensitive() || v.is_unknown() {
            continue;
        }
        out.entry(text)
            .or_insert_with(|| format!("is {}", compact(&v)));
    }
    out.into_iter().collect()
}

/// Terraform's short description of a value in a diagnostic (never an element's value).
fn compact(v: &Value) -> String {
    let elements = |n: usize, what: &str| match n {
        0 => format!("empty {what}"),
        1 => format!("{what} with 1 element"),
        n => format!("{what} with {n} elements"),
    };
    match v.unmarked() {
        Value::Null => "null".into(),
        Value::Unknown => "(not yet known)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => crate::value_text::inline(&Value::Number(*n)),
        Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
        Value::Tuple(xs) => elements(xs.len(), "tuple"),
        Value::List(xs) => elements(xs.len(), &format!("list of {}", element_type(xs))),
        Value::Set(xs) => elements(xs.len(), &format!("set of {}", element_type(xs))),
        Value::Map(m) => elements(
            m.len(),
            &format!(
                "map of {}",
                element_type(&m.values().cloned().collect::<Vec<_>>())
            ),
        ),
        Value::Object(m) => match m.len() {
            0 => "object with no attributes".into(),
            1 => format!(
                "object with 1 attribute {}",
                serde_json::Value::String(m.keys().next().cloned().unwrap_or_default())
            ),
            n => format!("object with {n} attributes"),
        },
        Value::Sensitive(_) => "(sensitive value)".into(),
    }
}

fn element_type(xs: &[Value]) -> &'static str {
    match xs.first().map(Value::unmarked) {
        Some(Value::String(_)) => "string",
        Some(Value::Number(_)) => "number",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Object(_)) => "object",
        Some(Value::Map(_)) => "map",
        Some(Value::List(_)) | Some(Value::Tuple(_)) => "list",
        _ => "dynamic",
    }
}

/// `  on main.tf line 9, in check "c":` and the numbered source line, the file named
/// relative to the root module's folder (Terraform's working folder); `with` names the
/// object first (`  with data.x.y,`), as Terraform does for a data source's failure.
pub fn snippet(
    root: &Path,
    at: &Location,
    context: &str,
    with: Option<&str>,
    values: &[(String, String)],
) -> String {
    let mut out = String::new();
    if let Some(w) = with {
        let _ = writeln!(out, "  with {w},");
    }
    let file = forge_config::relative_path(root, at.file.as_path());
    let _ = writeln!(out, "  on {file} line {}, in {context}:", at.line);
    let _ = writeln!(out, "{:>4}: {}", at.line, at.line_text.trim_end());
    if !values.is_empty() {
        out.push_str("    ├────────────────\n");
        for (t, s) in values {
            let _ = writeln!(out, "    │ {t} {s}");
        }
    }
    out
}

/// Where a failed precondition/postcondition points, with the values it read.
pub(crate) fn failure_diagnostic(cond: &Condition, values: &[(String, String)]) -> Diagnostics {
    let mut d = Diagnostic::error("the condition is false").at(cond.condition.location());
    if !values.is_empty() {
        d = d.detail(
            values
                .iter()
                .map(|(t, s)| format!("{t} {s}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    d.into()
}

/// Where check results are gathered during a run, by the object's display address.
#[derive(Default)]
pub(crate) struct Collector {
    results: std::sync::Mutex<BTreeMap<String, CheckResult>>,
    warnings: std::sync::Mutex<Vec<Warning>>,
}

impl Collector {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &self,
        kind: CheckKind,
        name: &str,
        module: &[ModuleStep],
        display: &str,
        key: Option<InstanceKey>,
        instance_display: String,
        status: CheckStatus,
        problems: Vec<String>,
    ) {
        let config_module: Vec<String> =
            module.iter().map(|(n, _)| format!("module.{n}")).collect();
        let config_module = config_module.join(".");
        let object_display = if config_module.is_empty() {
            display.to_string()
        } else {
            format!("{config_module}.{display}")
        };
        let mut results = self.results.lock().unwrap_or_else(|p| p.into_inner());
        let entry = results
            .entry(object_display.clone())
            .or_insert_with(|| CheckResult {
                kind,
                name: name.to_string(),
                module: config_module,
                display: object_display,
                instances: Vec::new(),
            });
        match entry
            .instances
            .iter_mut()
            .find(|i| i.display == instance_display)
        {
            // Pre- and postconditions of one instance make one result.
            Some(i) => {
                i.status = i.status.max(status);
                i.problems.extend(problems);
            }
            None => entry.instances.push(CheckInstance {
                module: module.to_vec(),
                key,
                display: instance_display,
                status,
                problems,
            }),
        }
    }

    pub(crate) fn warn(&self, w: Warning) {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(w);
    }

    /// The results sorted as Terraform lists them (by address), and the warnings.
    pub(crate) fn take(&self) -> (Vec<CheckResult>, Vec<Warning>) {
        let mut results: Vec<CheckResult> =
            std::mem::take(&mut *self.results.lock().unwrap_or_else(|p| p.into_inner()))
                .into_values()
                .collect();
        for r in &mut results {
            r.instances
                .sort_by(|a, b| (&a.module, &a.key).cmp(&(&b.module, &b.key)));
        }
        let warnings =
            std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|p| p.into_inner()));
        (results, warnings)
    }
}

/// `module.a[0].` before an address in a module instance, nothing in the root.
pub(crate) fn instance_prefix(module: &[ModuleStep]) -> String {
    if module.is_empty() {
        String::new()
    } else {
        format!("{}.", module_path_string(module))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_as_terraform_does() {
        let text = "The condition could not be evaluated at this time, a result will be known when this plan is applied.";
        assert_eq!(
            wrap(text, 77),
            vec![
                "The condition could not be evaluated at this time, a result will be known",
                "when this plan is applied."
            ]
        );
        assert_eq!(wrap("a\nb", 77), vec!["a", "b"]);
    }

    #[test]
    fn compact_descriptions() {
        assert_eq!(compact(&Value::string("alpha")), "\"alpha\"");
        assert_eq!(compact(&Value::Number(3.0)), "3");
        assert_eq!(compact(&Value::Null), "null");
        assert_eq!(
            compact(&Value::Tuple(vec![Value::Null, Value::Null])),
            "tuple with 2 elements"
        );
        assert_eq!(
            compact(&Value::object([("a", Value::Null)])),
            "object with 1 attribute \"a\""
        );
    }
}
