//! A Terragrunt file's `locals` blocks, evaluated together: locals may refer to each other
//! in any order, never to a dependency's outputs (they are evaluated before any dependency
//! is read, as in Terragrunt).

use std::collections::BTreeMap;
use std::path::Path;

use forge_lang::{Attribute, Body, Diagnostic, Diagnostics, FunctionHost, Scope};
use forge_provider::Value;

/// Evaluates every `locals` block of a file; locals may refer to each other in any order.
pub(crate) fn eval_locals(
    body: &Body,
    base_dir: &Path,
    host: &dyn FunctionHost,
    extra_roots: &BTreeMap<String, Value>,
) -> Result<Value, Diagnostics> {
    let (value, diags) = eval_locals_partial(body, base_dir, host, extra_roots);
    if diags.is_empty() {
        Ok(value)
    } else {
        Err(diags)
    }
}

/// The locals that could be evaluated (failed ones are unknown, so that what uses them
/// does not repeat the error) and the problems found.
pub(crate) fn eval_locals_partial(
    body: &Body,
    base_dir: &Path,
    host: &dyn FunctionHost,
    extra_roots: &BTreeMap<String, Value>,
) -> (Value, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut declared: BTreeMap<&str, &Attribute> = BTreeMap::new();
    for attr in body
        .blocks_of("locals")
        .flat_map(|b| b.body.attributes.iter())
    {
        if let Some(first) = declared.get(attr.name.as_str()) {
            diags.push(
                Diagnostic::error(format!("local `{}` is declared twice", attr.name))
                    .at(attr.location.clone())
                    .detail(format!("first declared at {}", first.location)),
            );
            continue;
        }
        declared.insert(&attr.name, attr);
    }
    let mut done: BTreeMap<String, Value> = BTreeMap::new();
    let mut pending: Vec<&Attribute> = declared.values().copied().collect();
    loop {
        let before = pending.len();
        let mut waiting = Vec::new();
        for attr in pending {
            let waits = attr.expr.references().iter().any(|r| {
                r.root == "local"
                    && r.first_attr()
                        .is_some_and(|n| declared.contains_key(n) && !done.contains_key(n))
            });
            if waits {
                waiting.push(attr);
                continue;
            }
            if let Some(r) = attr
                .expr
                .references()
                .into_iter()
                .find(|r| r.root == "dependency")
            {
                diags.push(
                    Diagnostic::error(format!(
                        "local `{}` refers to a dependency's outputs",
                        attr.name
                    ))
                    .at(r.location)
                    .detail("locals are evaluated before any dependency is read, as in Terragrunt")
                    .hint("use dependency.<name>.outputs.<output> in inputs instead"),
                );
                done.insert(attr.name.clone(), Value::Unknown);
                continue;
            }
            let mut roots = extra_roots.clone();
            roots.insert("local".to_string(), Value::Object(done.clone()));
            let scope = Scope {
                roots,
                base_dir: base_dir.to_path_buf(),
                host: Some(host),
            };
            let value = match forge_lang::eval(&attr.expr, &scope) {
                Ok(v) => v,
                Err(d) => {
                    diags.extend(d);
                    // Unknown keeps later locals from repeating the same error.
                    Value::Unknown
                }
            };
            done.insert(attr.name.clone(), value);
        }
        pending = waiting;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for attr in pending {
        diags.push(
            Diagnostic::error(format!(
                "local `{}` refers to itself through other locals",
                attr.name
            ))
            .at(attr.location.clone())
            .hint("break the cycle: one of these locals must not depend on the others"),
        );
        done.insert(attr.name.clone(), Value::Unknown);
    }
    (Value::Object(done), diags)
}
