//! The static half of `forge validate`: names that are not declared, meta-references
//! used where they mean nothing, inputs that do not fit the module. No network, no state.

use std::collections::{BTreeMap, BTreeSet};

use forge_lang::diagnostic::did_you_mean;
use forge_lang::{Diagnostic, Diagnostics, Location, Reference, Severity};
use forge_provider::Value;

use crate::module::body_references;
use crate::module::{Mode, Module, ResourceBlock};
use crate::unit::{Environment, Unit};
use crate::unit::{InputLayer, eval_layer};

/// Roots a module expression may use besides variables, locals and resources.
const BUILTIN_ROOTS: &[&str] = &[
    "var",
    "local",
    "data",
    "module",
    "path",
    "terraform",
    "each",
    "count",
    "self",
];

/// Checks every unit of an environment: its module, its inputs against the module's
/// variables, and its `dependency.<name>.outputs.<x>` references.
pub fn validate_environment(env: &Environment) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for unit in &env.units {
        let mut unit_diags = validate_module(&unit.module);
        unit_diags.extend(validate_generated_providers(unit));
        unit_diags.extend(validate_unit_inputs(unit, env));
        // Evaluated only when the names check out: an undeclared name would be reported
        // twice, once by name and once by the evaluation that trips on it.
        if !unit_diags.has_errors() {
            unit_diags.extend(crate::validate_eval::evaluate_unit(unit));
        }
        diags.extend(unit_diags);
        for warning in &unit.settings.warnings {
            diags.push(warning.clone());
        }
    }
    if let Some(d) = dependency_cycle(env) {
        diags.push(d);
    }
    diags
}

/// Units that depend on each other in a circle can never be applied.
fn dependency_cycle(env: &Environment) -> Option<Diagnostic> {
    let index_of = |dir: &std::path::Path| env.units.iter().position(|u| u.dir == dir);
    let edges: Vec<Vec<usize>> = env
        .units
        .iter()
        .map(|u| {
            u.dependencies
                .iter()
                .map(|d| d.config_path.as_path())
                .chain(u.extra_dependencies.iter().map(|p| p.as_path()))
                .filter_map(index_of)
                .collect()
        })
        .collect();
    // Depth-first search; a node met again while still on the path closes a cycle.
    let mut state = vec![0u8; edges.len()]; // 0 new, 1 on the path, 2 done
    let mut path = Vec::new();
    fn visit(
        n: usize,
        edges: &[Vec<usize>],
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[n] = 1;
        path.push(n);
        for &m in &edges[n] {
            if state[m] == 1 {
                let start = path.iter().position(|&p| p == m).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(m);
                return Some(cycle);
            }
            if state[m] == 0
                && let Some(c) = visit(m, edges, state, path)
            {
                return Some(c);
            }
        }
        path.pop();
        state[n] = 2;
        None
    }
    let cycle = (0..edges.len()).find_map(|n| {
        if state[n] == 0 {
            visit(n, &edges, &mut state, &mut path)
        } else {
            None
        }
    })?;
    let names: Vec<&str> = cycle.iter().map(|&i| env.units[i].name.as_str()).collect();
    let first = &env.units[cycle[0]];
    let next_dir = &env.units[cycle[1]].dir;
    let at = first
        .dependencies
        .iter()
        .find(|d| &d.config_path == next_dir)
        .map(|d| d.location.clone());
    Some(
        Diagnostic::error(format!("the units depend on each other in a cycle: {}", names.join(" -> ")))
            .at_opt(at.or_else(|| Some(first_line(first))))
            .hint("remove one of these dependencies; pass the value another way (a variable, or a data source)"),
    )
}

/// The first line of a unit's file, for problems about the unit as a whole.
fn first_line(unit: &Unit) -> Location {
    let text = std::fs::read_to_string(&unit.config_file).unwrap_or_default();
    forge_lang::SourceFile::new(unit.config_file.clone(), text).location(0..0)
}

/// What a piece of module code may refer to.
struct Context<'m> {
    module: &'m Module,
    /// `each.*` is meaningful (a for_each resource's body).
    each: bool,
    /// `count.*` is meaningful (a count resource's body).
    count: bool,
    /// `self` is meaningful (a postcondition).
    this: bool,
}

/// Checks one module's references, and those of the child modules it calls (each folder
/// once, however many calls use it).
pub fn validate_module(module: &Module) -> Diagnostics {
    let mut seen = BTreeSet::new();
    validate_module_tree(module, &mut seen)
}

fn validate_module_tree(module: &Module, seen: &mut BTreeSet<std::path::PathBuf>) -> Diagnostics {
    let mut diags = validate_one_module(module);
    for call in &module.module_calls {
        let outer = plain_context(module);
        for e in call.count.iter().chain(&call.for_each) {
            check_refs(&outer, &e.references(), &mut diags);
        }
        let inner = Context {
            each: call.for_each.is_some(),
            count: call.count.is_some(),
            ..plain_context(module)
        };
        for a in &call.arguments {
            check_refs(&inner, &a.expr.references(), &mut diags);
        }
        check_refs(&outer, &call.depends_on, &mut diags);
        if seen.insert(call.module.dir.clone()) {
            diags.extend(validate_module_tree(&call.module, seen));
        }
    }
    diags
}

fn validate_one_module(module: &Module) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let plain = Context {
        module,
        each: false,
        count: false,
        this: false,
    };
    for local in &module.locals {
        check_refs(&plain, &local.expr.references(), &mut diags);
    }
    for output in &module.outputs {
        check_refs(&plain, &output.expr.references(), &mut diags);
        check_refs(&plain, &output.depends_on, &mut diags);
    }
    for provider in &module.providers {
        check_refs(&plain, &body_references(&provider.body), &mut diags);
    }
    for variable in &module.variables {
        // Since Terraform 1.9 a condition may use other variables, locals and data
        // sources, as long as it checks the variable it belongs to.
        for v in &variable.validations {
            let refs = v.condition.references();
            check_refs(&plain, &refs, &mut diags);
            check_refs(&plain, &v.error_message.references(), &mut diags);
            if !refs
                .iter()
                .any(|r| r.root == "var" && r.first_attr() == Some(variable.name.as_str()))
            {
                diags.push(
                    Diagnostic::error(format!(
                        "the validation condition of variable `{}` does not refer to it",
                        variable.name
                    ))
                    .at(v.condition.location())
                    .hint(format!(
                        "a validation checks its own variable: use var.{} in the condition",
                        variable.name
                    )),
                );
            }
        }
    }
    for rb in module.resources.iter().chain(&module.data) {
        // count and for_each themselves cannot use each/count.
        let outer = plain_context(module);
        if let Some(c) = &rb.count {
            check_refs(&outer, &c.references(), &mut diags);
        }
        if let Some(f) = &rb.for_each {
            check_refs(&outer, &f.references(), &mut diags);
        }
        let inner = Context {
            each: rb.for_each.is_some(),
            count: rb.count.is_some(),
            ..plain_context(module)
        };
        check_refs(&inner, &body_references(&rb.body), &mut diags);
        check_refs(&inner, &rb.depends_on, &mut diags);
        check_self_reference(rb, &mut diags);
        for (conds, this) in [
            (&rb.lifecycle.preconditions, false),
            (&rb.lifecycle.postconditions, true),
        ] {
            let ctx = Context {
                module,
                each: inner.each,
                count: inner.count,
                this,
            };
            for c in conds {
                check_refs(&ctx, &c.condition.references(), &mut diags);
                check_refs(&ctx, &c.error_message.references(), &mut diags);
            }
        }
    }
    for output in &module.outputs {
        for c in &output.preconditions {
            check_refs(&plain, &c.condition.references(), &mut diags);
            check_refs(&plain, &c.error_message.references(), &mut diags);
        }
    }
    // A check block's data sources are visible to its own asserts only.
    for check in &module.checks {
        for rb in &check.data {
            check_refs(&plain, &body_references(&rb.body), &mut diags);
            check_refs(&plain, &rb.depends_on, &mut diags);
        }
        let scoped = |r: &Reference| {
            r.root == "data" && check.data.iter().any(|d| {
                r.first_attr() == Some(d.type_name.as_str())
                    && matches!(r.steps.get(1), Some(forge_lang::RefStep::Attr(n)) if *n == d.name)
            })
        };
        for a in &check.asserts {
            let refs: Vec<Reference> = a
                .condition
                .references()
                .into_iter()
                .chain(a.error_message.references())
                .filter(|r| !scoped(r))
                .collect();
            check_refs(&plain, &refs, &mut diags);
        }
    }
    diags
}

/// Generated provider blocks are evaluated in the module's scope, so they may use its
/// variables and locals only.
fn validate_generated_providers(unit: &Unit) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let ctx = plain_context(&unit.module);
    for provider in &unit.generated_providers {
        let mut found = Diagnostics::new();
        check_refs(&ctx, &body_references(&provider.body), &mut found);
        let origin = format!(
            "in the provider block that a generate block of {} writes",
            unit.config_file.display()
        );
        for mut d in found.0 {
            d.detail = Some(match d.detail.take() {
                Some(first) => format!("{first}\n{origin}"),
                None => origin.clone(),
            });
            diags.push(d);
        }
        let same = unit
            .module
            .providers
            .iter()
            .find(|p| p.name == provider.name && p.alias == provider.alias);
        if let Some(own) = same {
            let name = provider
                .alias
                .as_ref()
                .map_or(provider.name.clone(), |a| format!("{}.{a}", provider.name));
            diags.push(
                error_at(format!("provider `{name}` is configured twice: by the module and by a generate block"), &own.location)
                    .detail(format!("the generated one is at {}", provider.location))
                    .hint("remove the module's provider block (the root generates it for every unit), or give one of them an alias"),
            );
        }
    }
    diags
}

fn plain_context(module: &Module) -> Context<'_> {
    Context {
        module,
        each: false,
        count: false,
        this: false,
    }
}

fn check_refs(ctx: &Context<'_>, refs: &[Reference], diags: &mut Diagnostics) {
    for r in refs {
        if let Some(d) = check_ref(ctx, r) {
            diags.push(d);
        }
    }
}

fn error_at(summary: String, at: &Location) -> Diagnostic {
    Diagnostic::error(summary).at(at.clone())
}

fn with_suggestion<'a>(
    d: Diagnostic,
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    match did_you_mean(wrong, candidates) {
        Some(s) => d.hint(format!("did you mean `{s}`?")),
        None => d,
    }
}

fn check_ref(ctx: &Context<'_>, r: &Reference) -> Option<Diagnostic> {
    let module = ctx.module;
    let first = r.first_attr();
    match r.root.as_str() {
        "var" => {
            let name = first?;
            if module.variable(name).is_some() {
                return None;
            }
            let names: Vec<&str> = module.variables.iter().map(|v| v.name.as_str()).collect();
            let d = error_at(format!("no variable named `{name}`"), &r.location)
                .detail(format!("the module declares: {}", if names.is_empty() { "no variables".to_string() } else { names.join(", ") }));
            Some(with_suggestion(d, name, names.iter().copied()).hint_or(format!("declare it: variable \"{name}\" {{ type = string }}")))
        }
        "local" => {
            let name = first?;
            if module.locals.iter().any(|l| l.name == name) {
                return None;
            }
            let d = error_at(format!("no local value named `{name}`"), &r.location);
            Some(with_suggestion(d, name, module.locals.iter().map(|l| l.name.as_str())).hint_or(format!("declare it in a locals {{ }} block: {name} = ...")))
        }
        "each" => {
            if !ctx.each {
                return Some(error_at("`each` is only available in a resource or data block with for_each".to_string(), &r.location)
                    .hint("add for_each to the block, or refer to a variable or local instead"));
            }
            match first {
                Some("key") | Some("value") | None => None,
                Some(other) => Some(error_at(format!("`each` has no attribute `{other}`"), &r.location).hint("use each.key or each.value")),
            }
        }
        "count" => {
            if !ctx.count {
                return Some(error_at("`count` is only available in a resource or data block with count".to_string(), &r.location)
                    .hint("add count to the block, or refer to a variable or local instead"));
            }
            match first {
                Some("index") | None => None,
                Some(other) => Some(error_at(format!("`count` has no attribute `{other}`"), &r.location).hint("use count.index")),
            }
        }
        "path" => match first {
            Some("module") | Some("root") | Some("cwd") | None => None,
            Some(other) => Some(error_at(format!("`path` has no attribute `{other}`"), &r.location).hint("use path.module, path.root or path.cwd")),
        },
        "terraform" => None,
        "self" if ctx.this => None,
        "self" => Some(error_at("`self` is only available in a postcondition, and in provisioner and connection blocks, which forge does not run".to_string(), &r.location)),
        "module" => {
            let name = first?;
            let Some(call) = module.module_call(name) else {
                let d = error_at(format!("no module named `{name}`"), &r.location);
                return Some(with_suggestion(d, name, module.module_calls.iter().map(|c| c.name.as_str()))
                    .hint_or(format!("declare it: module \"{name}\" {{ source = \"./{name}\" }}")));
            };
            // module.x.out or module.x[key].out: the output must exist in the child.
            let output = r.steps.iter().skip(1).find_map(|s| match s {
                forge_lang::RefStep::Attr(a) => Some(a.as_str()),
                _ => None,
            })?;
            if call.module.outputs.iter().any(|o| o.name == output) {
                return None;
            }
            let d = error_at(format!("module `{name}` has no output `{output}`"), &r.location);
            Some(with_suggestion(d, output, call.module.outputs.iter().map(|o| o.name.as_str()))
                .hint_or(format!("declare it in {}: output \"{output}\" {{ value = ... }}", call.module.dir.display())))
        }
        "data" => {
            let type_name = first?;
            let Some(forge_lang::RefStep::Attr(name)) = r.steps.get(1) else { return None };
            let scoped = module.checks.iter().find(|c| c.data.iter().any(|d| d.type_name == type_name && d.name == *name));
            if let Some(check) = scoped.filter(|_| !module.data.iter().any(|d| d.type_name == type_name && d.name == *name)) {
                return Some(
                    error_at(format!("data.{type_name}.{name} is declared inside check \"{}\": only that block's asserts can refer to it", check.name), &r.location)
                        .hint("declare the data source at the top level of the module to use it elsewhere"),
                );
            }
            resource_exists(module, Mode::Data, type_name, name, &r.location)
        }
        type_name => {
            let name = first?;
            resource_exists(module, Mode::Managed, type_name, name, &r.location)
        }
    }
}

/// `aws_s3_bucket.files` / `data.aws_region.current` must be declared.
fn resource_exists(
    module: &Module,
    mode: Mode,
    type_name: &str,
    name: &str,
    at: &Location,
) -> Option<Diagnostic> {
    let blocks = if mode == Mode::Managed {
        &module.resources
    } else {
        &module.data
    };
    if blocks
        .iter()
        .any(|b| b.type_name == type_name && b.name == name)
    {
        return None;
    }
    let prefix = if mode == Mode::Data { "data." } else { "" };
    let wrong = format!("{prefix}{type_name}.{name}");
    let addresses: Vec<String> = blocks.iter().map(|b| b.address()).collect();
    let declared_type = blocks.iter().any(|b| b.type_name == type_name);
    let summary = if mode == Mode::Managed && !declared_type {
        format!(
            "unknown name `{type_name}`: no variable, local, data source or resource of that type is declared"
        )
    } else if mode == Mode::Managed {
        format!("no resource `{wrong}` is declared in this module")
    } else {
        format!("no data source `{wrong}` is declared in this module")
    };
    let mut d = error_at(summary, at);
    let mut candidates: Vec<String> = addresses.clone();
    if mode == Mode::Managed && !declared_type {
        candidates.extend(BUILTIN_ROOTS.iter().map(|s| s.to_string()));
        if let Some(s) = did_you_mean(type_name, candidates.iter().map(String::as_str)) {
            return Some(d.hint(format!("did you mean `{s}`?")));
        }
    }
    d = with_suggestion(d, &wrong, candidates.iter().map(String::as_str));
    if d.hint.is_none() && !addresses.is_empty() {
        d = d.detail(format!("declared: {}", addresses.join(", ")));
    }
    Some(d)
}

/// A resource that refers to itself by address can never be planned.
fn check_self_reference(rb: &ResourceBlock, diags: &mut Diagnostics) {
    let is_self = |r: &&Reference| match rb.mode {
        Mode::Managed => r.root == rb.type_name && r.first_attr() == Some(rb.name.as_str()),
        Mode::Data => {
            r.root == "data"
                && r.first_attr() == Some(rb.type_name.as_str())
                && matches!(r.steps.get(1), Some(forge_lang::RefStep::Attr(n)) if *n == rb.name)
        }
    };
    if let Some(r) = body_references(&rb.body).iter().find(is_self) {
        diags.push(
            error_at(format!("{} refers to itself", rb.address()), &r.location)
                .hint("a block cannot use its own attributes; use a local or a variable"),
        );
    }
}

trait HintOr {
    fn hint_or(self, hint: String) -> Self;
}

impl HintOr for Diagnostic {
    /// Sets the hint only when no "did you mean" was found.
    fn hint_or(self, hint: String) -> Self {
        if self.hint.is_some() {
            self
        } else {
            self.hint(hint)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Units
// ---------------------------------------------------------------------------------------

fn validate_unit_inputs(unit: &Unit, env: &Environment) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let dependency_names: Vec<&str> = unit.dependencies.iter().map(|d| d.name.as_str()).collect();
    for layer in unit.inputs.layers() {
        for r in layer.expr.references() {
            if let Some(d) = check_input_ref(unit, env, &dependency_names, &r) {
                diags.push(d);
            }
        }
    }
    if diags.has_errors() {
        return diags;
    }
    // With every output unknown the keys are known, and values that do not depend on
    // dependencies are too.
    let unknown_deps = Value::Object(
        unit.dependencies
            .iter()
            .map(|d| (d.name.clone(), Value::object([("outputs", Value::Unknown)])))
            .collect(),
    );
    let mut inputs: BTreeMap<String, (Value, &InputLayer)> = BTreeMap::new();
    for layer in unit.inputs.layers() {
        match eval_layer(layer, &unknown_deps) {
            Ok(values) => inputs.extend(values.into_iter().map(|(k, v)| (k, (v, layer)))),
            Err(d) => diags.extend(d),
        }
    }
    if diags.has_errors() {
        return diags;
    }
    for (key, (value, layer)) in &inputs {
        match unit.module.variable(key) {
            Some(var) => {
                if let Err(e) = var.ty.convert(value.clone()) {
                    // The conversion message quotes the value; a secret must not be shown.
                    let why = if value.contains_sensitive() || var.sensitive {
                        "the value is sensitive and not shown".to_string()
                    } else {
                        e
                    };
                    diags.push(
                        error_at(
                            format!(
                                "input `{key}` does not match the type of variable `{key}`: {why}"
                            ),
                            &key_location(layer, key),
                        )
                        .detail(format!(
                            "unit {}; the variable is declared at {}",
                            unit.name, var.location
                        )),
                    );
                }
            }
            None => {
                let names: Vec<&str> = unit
                    .module
                    .variables
                    .iter()
                    .map(|v| v.name.as_str())
                    .collect();
                let mut d = Diagnostic::error(format!(
                    "input `{key}` is not a variable of the module of unit {}",
                    unit.name
                ))
                .at(key_location(layer, key))
                .detail("Terraform ignores it, so it has no effect");
                d.severity = Severity::Warning;
                diags.push(with_suggestion(d, key, names.iter().copied()));
            }
        }
    }
    // TF_VAR_* and variable files can give what inputs do not (and their errors show here).
    let external = match crate::tfvars::variable_values(
        unit,
        BTreeMap::new(),
        &|k| std::env::var(k).ok(),
        &[],
    ) {
        Ok(values) => values,
        Err(d) => {
            diags.extend(d);
            BTreeMap::new()
        }
    };
    for var in &unit.module.variables {
        if var.default.is_none()
            && !inputs.contains_key(&var.name)
            && !external.contains_key(&var.name)
        {
            let at = unit.inputs.layers().last().map(|l| l.location.clone());
            let names: Vec<&str> = inputs.keys().map(String::as_str).collect();
            let d = Diagnostic::error(format!(
                "unit {} gives no value for the required variable `{}`",
                unit.name, var.name
            ))
            .at_opt(at)
            .detail(format!(
                "the variable has no default; it is declared at {}",
                var.location
            ));
            let d = with_suggestion(d, &var.name, names.iter().copied()).hint_or(format!(
                "add `{} = ...` to the unit's inputs, or give the variable a default",
                var.name
            ));
            diags.push(d);
        }
    }
    diags
}

/// `dependency.<name>.outputs.<x>` must name a declared dependency and, when the
/// dependency is a unit of this environment, one of its module's outputs.
fn check_input_ref(
    unit: &Unit,
    env: &Environment,
    dependency_names: &[&str],
    r: &Reference,
) -> Option<Diagnostic> {
    if r.root != "dependency" {
        return None;
    }
    let name = r.first_attr()?;
    let Some(dep) = unit.dependencies.iter().find(|d| d.name == name) else {
        let d = error_at(
            format!("unit {} has no dependency named `{name}`", unit.name),
            &r.location,
        );
        let d = with_suggestion(d, name, dependency_names.iter().copied());
        return Some(d.hint_or(format!(
            "declare it: dependency \"{name}\" {{ config_path = \"../<unit>\" }}"
        )));
    };
    let Some(forge_lang::RefStep::Attr(kind)) = r.steps.get(1) else {
        return None;
    };
    if kind != "outputs" {
        return None;
    }
    let Some(forge_lang::RefStep::Attr(output)) = r.steps.get(2) else {
        return None;
    };
    let target = env.units.iter().find(|u| u.dir == dep.config_path)?;
    if target.module.outputs.iter().any(|o| &o.name == output) {
        return None;
    }
    let outputs: BTreeSet<&str> = target
        .module
        .outputs
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    let d = error_at(
        format!("unit {} declares no output `{output}`", target.name),
        &r.location,
    )
    .detail(format!(
        "its outputs: {}",
        outputs.iter().copied().collect::<Vec<_>>().join(", ")
    ));
    Some(
        with_suggestion(d, output, outputs.iter().copied()).hint_or(format!(
            "add output \"{output}\" to the module of {}",
            target.name
        )),
    )
}

/// Where `key = ...` stands inside an inputs object, or the `inputs` attribute itself.
fn key_location(layer: &InputLayer, key: &str) -> Location {
    let text = &layer.file.text;
    let mut offset = 0;
    let start_line = layer.location.line;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i + 1 >= start_line {
            let trimmed = line.trim_start();
            let after = trimmed
                .strip_prefix(key)
                .or_else(|| trimmed.strip_prefix(&format!("\"{key}\"")));
            if let Some(rest) = after
                && (rest.trim_start().starts_with('=') || rest.trim_start().starts_with(':'))
            {
                let col = offset + (line.len() - trimmed.len());
                return layer.file.location(col..col + key.len());
            }
        }
        offset += line.len();
    }
    layer.location.clone()
}
