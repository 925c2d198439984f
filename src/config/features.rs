//! Terragrunt's feature flags: `feature "name" { default = ... }` blocks, read as
//! `feature.name.value` in the unit's files, with the value given on the command line
//! (`--feature name=value`) or in `TG_FEATURE` (`name=value,other=value`) winning over
//! the default. A given value is read as the default's type (a bool, a number, or a
//! string).

use std::collections::BTreeMap;

use forge_lang::{Body, Diagnostic, Diagnostics, Scope};
use forge_provider::Value;

/// The `feature` object of a unit: `{ name = { value = ... } }`, from the blocks of the
/// files given (root first, the unit's own last: a later block of a name wins).
pub(crate) fn feature_object<'a>(
    bodies: impl IntoIterator<Item = &'a Body>,
    scope: &Scope<'_>,
    given: &BTreeMap<String, String>,
) -> Result<Value, Diagnostics> {
    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    let mut diags = Diagnostics::new();
    for body in bodies {
        for block in body.blocks_of("feature") {
            let Some(name) = block.labels.first() else {
                diags.push(
                    Diagnostic::error(
                        "a feature block needs a name: feature \"canary\" { default = false }",
                    )
                    .at(block.location.clone()),
                );
                continue;
            };
            let Some(attr) = block.body.attribute("default") else {
                diags.push(
                    Diagnostic::error(format!("feature `{name}` needs a `default`"))
                        .at(block.location.clone()),
                );
                continue;
            };
            let default = match forge_lang::eval(&attr.expr, scope) {
                Ok(v) => v,
                Err(d) => {
                    diags.extend(d);
                    continue;
                }
            };
            let value = match given.get(name) {
                Some(text) => match as_type_of(&default, text) {
                    Some(v) => v,
                    None => {
                        diags.push(
                            Diagnostic::error(format!(
                                "feature `{name}`: the value {text:?} given on the command line is not a {} like its default",
                                default.kind_name()
                            ))
                            .at(attr.expr.location()),
                        );
                        continue;
                    }
                },
                None => default,
            };
            values.insert(name.clone(), Value::object([("value", value)]));
        }
    }
    if diags.is_empty() {
        Ok(Value::Object(values))
    } else {
        Err(diags)
    }
}

/// `--feature` values and `TG_FEATURE`'s (`a=1,b=true`); the flags win.
pub fn given_values(
    flags: &[String],
    env: Option<&str>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let from_env = env
        .into_iter()
        .flat_map(|e| e.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty());
    for pair in from_env.chain(flags.iter().map(String::as_str)) {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!(
                "feature {pair:?} is not a name and a value: write --feature name=value"
            ));
        };
        out.insert(name.trim().to_string(), value.trim().to_string());
    }
    Ok(out)
}

fn as_type_of(default: &Value, text: &str) -> Option<Value> {
    match default.unmarked() {
        Value::Bool(_) => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        Value::Number(_) => text.parse::<f64>().ok().map(Value::Number),
        _ => Some(Value::string(text)),
    }
}
