//! The evaluating half of `forge validate`: every expression of every module evaluated as a
//! plan would, with what only a plan knows left unknown. The unit's inputs are evaluated
//! with its dependencies' outputs unknown; resources, data sources, `each`, `count.index`
//! and `self` are unknown. What this finds without AWS: unknown functions and wrong
//! argument counts, functions that fail on known arguments (`jsondecode` of a bad
//! literal), variable validations that fail for the value the unit gives, `count` and
//! `for_each` values Terraform refuses, and `depends_on` entries that name an attribute.

use std::collections::BTreeMap;
use std::path::Path;

use forge_lang::eval::eval_body;
use forge_lang::{Diagnostic, Diagnostics, Expr, RefStep, Reference, Scope, eval};
use forge_provider::Value;

use crate::module::{Module, ResourceBlock};
use crate::module_scope;
use crate::unit::Unit;

/// Child modules nest at most this deep here (a module cycle is reported elsewhere; this
/// keeps one from recursing without end).
const MAX_MODULE_DEPTH: usize = 32;

/// Evaluates every expression of the unit's module tree; the errors that a plan would
/// give whatever AWS holds.
pub fn evaluate_unit(unit: &Unit) -> Diagnostics {
    let mut diags = Diagnostics::new();
    // Dependencies' outputs are unknown until they are applied; inputs that fail to
    // evaluate are reported by the inputs check.
    let unknown_outputs: BTreeMap<String, Value> = unit
        .dependencies
        .iter()
        .map(|d| (d.name.clone(), Value::Unknown))
        .collect();
    let Ok(inputs) = unit.eval_inputs(&unknown_outputs) else {
        return diags;
    };
    let root = ModuleEval {
        unit,
        root_dir: &unit.module.dir,
    };
    root.module(&unit.module, &inputs, true, 0, &mut diags);
    diags
}

struct ModuleEval<'a> {
    unit: &'a Unit,
    root_dir: &'a Path,
}

impl ModuleEval<'_> {
    fn module(
        &self,
        module: &Module,
        given: &BTreeMap<String, Value>,
        is_root: bool,
        depth: usize,
        diags: &mut Diagnostics,
    ) {
        if depth > MAX_MODULE_DEPTH {
            return;
        }
        let mut scope = self.scope(module);
        // Variables: the value given (or the default), converted to the variable's type.
        // A value that does not fit is reported by the inputs check for the root module;
        // for a child module here, at the variable.
        let mut vars = BTreeMap::new();
        for var in &module.variables {
            let raw = match given.get(&var.name) {
                Some(v) if !v.is_null() || var.nullable => v.clone(),
                _ => var.default.clone().unwrap_or(Value::Unknown),
            };
            let raw = if var.sensitive && !raw.is_null() {
                raw.sensitive()
            } else {
                raw
            };
            let value = match var.ty.convert(raw) {
                Ok(v) => v,
                Err(m) => {
                    if !is_root {
                        diags.push(
                            Diagnostic::error(format!(
                                "invalid value for variable `{}`: {m}",
                                var.name
                            ))
                            .at(var.location.clone()),
                        );
                    }
                    Value::Unknown
                }
            };
            vars.insert(var.name.clone(), value);
        }
        scope
            .roots
            .insert("var".into(), Value::Object(vars.clone()));

        // Locals in the order their references allow (a cycle is reported elsewhere).
        let mut locals: BTreeMap<String, Value> = BTreeMap::new();
        let mut pending: Vec<&crate::module::Local> = module.locals.iter().collect();
        loop {
            let before = pending.len();
            pending.retain(|local| {
                let ready = local
                    .expr
                    .references()
                    .iter()
                    .filter(|r| r.root == "local")
                    .filter_map(Reference::first_attr)
                    .all(|name| {
                        locals.contains_key(name) || !module.locals.iter().any(|l| l.name == name)
                    });
                if !ready {
                    return true;
                }
                scope
                    .roots
                    .insert("local".into(), Value::Object(locals.clone()));
                let value = self.value(&local.expr, &scope, diags);
                locals.insert(local.name.clone(), value);
                false
            });
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        scope.roots.insert("local".into(), Value::Object(locals));

        // Validations, with the value the unit gives (when it is known).
        for var in &module.variables {
            let Some(value) = vars.get(&var.name) else {
                continue;
            };
            if !value.is_wholly_known() {
                continue;
            }
            for validation in &var.validations {
                let ok = self.value(&validation.condition, &scope, diags);
                if ok.unmarked().as_bool() == Some(false) {
                    let message = eval(&validation.error_message, &scope)
                        .ok()
                        .filter(|m| !m.contains_sensitive())
                        .and_then(|m| m.as_str().map(str::to_string))
                        .unwrap_or_else(|| "the validation condition is false".into());
                    let given_by = if is_root {
                        format!("the inputs of {}", self.unit.config_file.display())
                    } else {
                        "the module block's arguments".to_string()
                    };
                    diags.push(
                        Diagnostic::error(format!(
                            "invalid value for variable `{}`: {message}",
                            var.name
                        ))
                        .at(validation.condition.location())
                        .hint(format!("the value comes from {given_by}")),
                    );
                }
            }
        }

        for output in &module.outputs {
            self.value(&output.expr, &scope, diags);
        }
        for provider in &module.providers {
            if let Err(d) = eval_body(&provider.body, &scope) {
                diags.extend(d);
            }
        }
        for rb in module
            .resources
            .iter()
            .chain(&module.data)
            .chain(module.checks.iter().flat_map(|c| &c.data))
        {
            self.resource(rb, &scope, diags);
        }
        for call in &module.module_calls {
            if let Some(count) = &call.count {
                check_count(count, &scope, diags);
            }
            if let Some(for_each) = &call.for_each {
                check_for_each(for_each, &scope, diags);
            }
            for r in &call.depends_on {
                check_depends_on(r, diags);
            }
            let args: BTreeMap<String, Value> = call
                .arguments
                .iter()
                .map(|a| (a.name.clone(), self.value(&a.expr, &scope, diags)))
                .collect();
            self.module(&call.module, &args, false, depth + 1, diags);
        }
    }

    fn resource(&self, rb: &ResourceBlock, scope: &Scope<'_>, diags: &mut Diagnostics) {
        if let Some(count) = &rb.count {
            check_count(count, scope, diags);
        }
        if let Some(for_each) = &rb.for_each {
            check_for_each(for_each, scope, diags);
        }
        for r in &rb.depends_on {
            check_depends_on(r, diags);
        }
        if let Err(d) = eval_body(&rb.body, scope) {
            diags.extend(d);
        }
    }

    /// The value of an expression, its errors reported (unknown when it fails).
    fn value(&self, expr: &Expr, scope: &Scope<'_>, diags: &mut Diagnostics) -> Value {
        match eval(expr, scope) {
            Ok(v) => v,
            Err(d) => {
                diags.extend(d);
                Value::Unknown
            }
        }
    }

    /// The scope a plan starts a module with, everything a plan learns from AWS unknown.
    fn scope(&self, module: &Module) -> Scope<'static> {
        let mut scope = module_scope(self.root_dir, &module.dir, &self.unit.dir);
        for root in ["data", "module", "each", "count", "self"] {
            scope.roots.insert(root.into(), Value::Unknown);
        }
        for rb in &module.resources {
            scope.roots.insert(rb.type_name.clone(), Value::Unknown);
        }
        scope
    }
}

/// `count` must be a whole number, zero or more (Terraform's rule), when it is known.
fn check_count(expr: &Expr, scope: &Scope<'_>, diags: &mut Diagnostics) {
    let value = match eval(expr, scope) {
        Ok(v) => v,
        Err(d) => {
            diags.extend(d);
            return;
        }
    };
    let (value, sensitive) = (value.unmarked().clone(), value.contains_sensitive());
    let problem = match &value {
        Value::Unknown => None,
        Value::Null => Some("count must not be null".to_string()),
        Value::Number(n) if n.fract() != 0.0 => Some("count must be a whole number".to_string()),
        Value::Number(n) if *n < 0.0 => Some(if sensitive {
            "count must be zero or more (the value is sensitive)".to_string()
        } else {
            format!("count must be zero or more, not {n}")
        }),
        Value::Number(_) => None,
        other => Some(format!("count must be a number, not {}", other.kind_name())),
    };
    if let Some(problem) = problem {
        diags.push(
            Diagnostic::error(format!("invalid count argument: {problem}"))
                .at(expr.location())
                .hint("count is how many instances to make: 0, 1, 2, ..."),
        );
    }
}

/// `for_each` takes a map or a set of strings (Terraform's rule), and no sensitive value.
fn check_for_each(expr: &Expr, scope: &Scope<'_>, diags: &mut Diagnostics) {
    let value = match eval(expr, scope) {
        Ok(v) => v,
        Err(d) => {
            diags.extend(d);
            return;
        }
    };
    if value.is_sensitive() {
        diags.push(
            Diagnostic::error(
                "invalid for_each argument: a sensitive value cannot be used, since its keys would appear in resource addresses",
            )
            .at(expr.location())
            .hint("use nonsensitive(...) on a value whose keys are not secret, or iterate over non-secret keys"),
        );
        return;
    }
    let problem = match value.unmarked() {
        Value::Unknown | Value::Map(_) | Value::Object(_) => None,
        Value::Null => Some("for_each must not be null".to_string()),
        Value::Set(items) => items
            .iter()
            .any(|i| !matches!(i.unmarked(), Value::String(_) | Value::Unknown))
            .then(|| "for_each takes a set of strings; this set holds other values".to_string()),
        Value::List(_) | Value::Tuple(_) => {
            Some("for_each takes a map, or a set of strings, and this is a list".to_string())
        }
        other => Some(format!(
            "for_each takes a map, or a set of strings, not {}",
            other.kind_name()
        )),
    };
    if let Some(problem) = problem {
        diags.push(
            Diagnostic::error(format!("invalid for_each argument: {problem}"))
                .at(expr.location())
                .hint("convert a list of strings with toset(...), or build a map with a for expression: { for x in list : x.name => x }"),
        );
    }
}

/// A `depends_on` entry names a whole object: a resource or data source (an instance
/// index allowed), a module call, a variable or a local; never one of its attributes.
fn check_depends_on(r: &Reference, diags: &mut Diagnostics) {
    // Steps that name the object itself, after its root.
    let object_steps = if r.root == "data" { 2 } else { 1 };
    let mut steps = r.steps.iter();
    for _ in 0..object_steps {
        if !matches!(steps.next(), Some(RefStep::Attr(_))) {
            return;
        }
    }
    // An index picks one instance of a resource, data source or module call.
    let mut rest: Vec<&RefStep> = steps.collect();
    if matches!(r.root.as_str(), "var" | "local") {
        // A variable or local is a whole object already.
    } else if matches!(rest.first(), Some(RefStep::Index(_))) {
        rest.remove(0);
    }
    if let Some(RefStep::Attr(attr)) = rest.first() {
        diags.push(
            Diagnostic::error(format!(
                "invalid depends_on reference: `{attr}` is an attribute; depends_on names a whole object"
            ))
            .at(r.location.clone())
            .hint("name the resource, data source or module itself (drop the attribute): depends_on waits for all of it"),
        );
    }
}
