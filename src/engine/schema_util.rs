//! Shaping evaluated configuration to a provider's schema: every attribute present,
//! nested blocks as lists, values converted to the attribute's type; and the checks
//! `validate` and `plan` share (unknown arguments with did-you-mean, missing required ones).

use std::collections::BTreeMap;

use forge_lang::diagnostic::did_you_mean;
use forge_lang::{Body, Diagnostic, Diagnostics, Location};
use forge_provider::{AttrType, Schema, Value};

/// Checks a block body against a schema without evaluating it: arguments and nested
/// blocks the schema does not know, required arguments that are missing.
pub(crate) fn check_body(schema: &Schema, body: &Body, what: &str, at: &Location) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for attr in &body.attributes {
        if !schema.attributes.contains_key(&attr.name) {
            let mut d = Diagnostic::error(format!("{what} has no argument named `{}`", attr.name))
                .at(attr.location.clone());
            let names = schema
                .attributes
                .iter()
                .filter(|(_, a)| a.required || a.optional)
                .map(|(n, _)| n.as_str());
            if let Some(s) = did_you_mean(&attr.name, names) {
                d = d.hint(format!("did you mean `{s}`?"));
            } else if schema.blocks.contains_key(&attr.name) {
                d = d.hint(format!(
                    "`{}` is a block: write `{} {{ ... }}`",
                    attr.name, attr.name
                ));
            }
            diags.push(d);
        } else if let Some(problem) = schema.attributes.get(&attr.name).and_then(|a| {
            let value = attr.expr.constant_value()?;
            type_problem(&a.ty, &value)
        }) {
            diags.push(
                Diagnostic::error(format!(
                    "{what}: the value of `{}` does not fit its type: {problem}",
                    attr.name
                ))
                .at(attr.expr.location())
                .hint(format!(
                    "`{}` takes {}",
                    attr.name,
                    type_words(&schema.attributes[&attr.name].ty)
                )),
            );
        } else if schema
            .attributes
            .get(&attr.name)
            .is_some_and(|a| !a.required && !a.optional)
        {
            diags.push(
                Diagnostic::error(format!(
                    "{what}: `{}` is computed by the provider and cannot be set",
                    attr.name
                ))
                .at(attr.location.clone())
                .hint(format!(
                    "remove `{}`; read it as an attribute of the resource instead",
                    attr.name
                )),
            );
        }
    }
    for block in &body.blocks {
        if block.ident == "dynamic" {
            continue;
        }
        match schema.blocks.get(&block.ident) {
            Some(bt) => diags.extend(check_body(
                &bt.schema,
                &block.body,
                &format!("block `{}` of {what}", block.ident),
                &block.location,
            )),
            None => {
                let mut d =
                    Diagnostic::error(format!("{what} has no block named `{}`", block.ident))
                        .at(block.location.clone());
                if let Some(s) =
                    did_you_mean(&block.ident, schema.blocks.keys().map(String::as_str))
                {
                    d = d.hint(format!("did you mean `{s}`?"));
                } else if schema.attributes.contains_key(&block.ident) {
                    d = d.hint(format!(
                        "`{}` is an argument: write `{} = ...`",
                        block.ident, block.ident
                    ));
                }
                diags.push(d);
            }
        }
    }
    for (name, a) in &schema.attributes {
        if a.required && body.attribute(name).is_none() {
            diags.push(
                Diagnostic::error(format!("{what} is missing the required argument `{name}`"))
                    .at(at.clone())
                    .hint(format!("add `{name} = ...` to the block")),
            );
        }
    }
    for (name, b) in &schema.blocks {
        let n = body.blocks_of(name).count()
            + body
                .blocks_of("dynamic")
                .filter(|d| d.labels.first() == Some(name))
                .count();
        if b.min_items > 0 && n == 0 {
            diags.push(
                Diagnostic::error(format!(
                    "{what} needs at least {} `{name}` block(s)",
                    b.min_items
                ))
                .at(at.clone()),
            );
        }
    }
    diags
}

/// Why a known value cannot become a value of `ty` under Terraform's conversions, if it
/// cannot: a collection where a single value is wanted (or the reverse), text that is not
/// a number or a bool where one is wanted. Unknown, null and sensitive parts are judged
/// later, by the plan.
pub fn type_problem(ty: &AttrType, value: &Value) -> Option<String> {
    let value = match value {
        Value::Sensitive(_) | Value::Unknown | Value::Null => return None,
        v => v,
    };
    match (ty, value) {
        (AttrType::Any, _) => None,
        (AttrType::String, Value::String(_) | Value::Number(_) | Value::Bool(_)) => None,
        (AttrType::Number, Value::Number(_)) => None,
        (AttrType::Number, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .is_err()
            .then(|| format!("{s:?} is not a number")),
        (AttrType::Bool, Value::Bool(_)) => None,
        (AttrType::Bool, Value::String(s)) => {
            (s != "true" && s != "false").then(|| format!("{s:?} is not true or false"))
        }
        (
            AttrType::List(t) | AttrType::Set(t),
            Value::Tuple(xs) | Value::List(xs) | Value::Set(xs),
        ) => xs.iter().find_map(|x| type_problem(t, x)),
        (AttrType::Map(t), Value::Object(m) | Value::Map(m)) => {
            m.values().find_map(|x| type_problem(t, x))
        }
        (ty, v) => Some(format!(
            "{} is required, not a {}",
            type_words(ty),
            v.kind_name()
        )),
    }
}

/// A type as a sentence says it: "a string", "a list of strings".
fn type_words(ty: &AttrType) -> String {
    match ty {
        AttrType::String => "a string".into(),
        AttrType::Number => "a number".into(),
        AttrType::Bool => "a bool".into(),
        AttrType::List(t) => format!("a list of {}", plural(t)),
        AttrType::Set(t) => format!("a set of {}", plural(t)),
        AttrType::Map(t) => format!("a map of {}", plural(t)),
        AttrType::Any => "any value".into(),
    }
}

fn plural(ty: &AttrType) -> String {
    match ty {
        AttrType::String => "strings".into(),
        AttrType::Number => "numbers".into(),
        AttrType::Bool => "bools".into(),
        AttrType::Any => "values".into(),
        other => format!("values of {}", type_words(other)),
    }
}

/// The configuration object a provider receives: every schema attribute (null when
/// unset), every block as a list of shaped objects, values converted to their types.
pub fn shape(schema: &Schema, config: &Value) -> Value {
    let mut out = BTreeMap::new();
    for (name, a) in &schema.attributes {
        let v = config.get(name).cloned().unwrap_or(Value::Null);
        out.insert(name.clone(), convert(&a.ty, v));
    }
    for (name, b) in &schema.blocks {
        let items: Vec<Value> = match config.get(name).map(Value::unmarked) {
            Some(Value::Tuple(xs) | Value::List(xs) | Value::Set(xs)) => {
                xs.iter().map(|x| shape(&b.schema, x)).collect()
            }
            Some(obj @ Value::Object(_)) => vec![shape(&b.schema, obj)],
            _ => Vec::new(),
        };
        out.insert(name.clone(), Value::List(items));
    }
    Value::Object(out)
}

/// Converts a value to an attribute type where Terraform would (tuple to list, object to
/// map, number to string); anything it cannot convert is passed on for the provider to judge.
pub fn convert(ty: &AttrType, v: Value) -> Value {
    match v {
        Value::Sensitive(inner) => convert(ty, *inner).sensitive(),
        Value::Null | Value::Unknown => v,
        v => match (ty, v) {
            (AttrType::String, Value::Number(n)) => {
                Value::String(forge_provider::value::number_to_json(n).to_string())
            }
            (AttrType::String, Value::Bool(b)) => Value::String(b.to_string()),
            (AttrType::Number, Value::String(s)) => match s.trim().parse::<f64>() {
                Ok(n) => Value::Number(n),
                Err(_) => Value::String(s),
            },
            (AttrType::Bool, Value::String(s)) if s == "true" || s == "false" => {
                Value::Bool(s == "true")
            }
            (AttrType::List(t), Value::Tuple(xs) | Value::List(xs) | Value::Set(xs)) => {
                Value::List(xs.into_iter().map(|x| convert(t, x)).collect())
            }
            (AttrType::Set(t), Value::Tuple(xs) | Value::List(xs) | Value::Set(xs)) => {
                let mut out: Vec<Value> = Vec::new();
                for x in xs.into_iter().map(|x| convert(t, x)) {
                    if !out.iter().any(|y| y.same_as(&x)) {
                        out.push(x);
                    }
                }
                Value::Set(out)
            }
            (AttrType::Map(t), Value::Object(m) | Value::Map(m)) => {
                Value::Map(m.into_iter().map(|(k, x)| (k, convert(t, x))).collect())
            }
            (_, v) => v,
        },
    }
}

/// An object read back from state or AWS with its top-level attributes converted to their
/// schema types, so that it is shown as the plan shows them (a map's keys quoted and
/// counted as elements, not as an object's attributes). Attributes are neither added nor
/// dropped.
pub(crate) fn typed(schema: &Schema, v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let out = m
        .iter()
        .map(|(k, x)| {
            (
                k.clone(),
                schema
                    .attributes
                    .get(k)
                    .map_or_else(|| x.clone(), |a| convert(&a.ty, x.clone())),
            )
        })
        .collect();
    Value::Object(out)
}

/// Marks the schema's sensitive attributes (top level and in blocks) sensitive.
pub(crate) fn mark_sensitive(schema: &Schema, v: Value) -> Value {
    match v {
        Value::Object(mut m) => {
            for (name, a) in &schema.attributes {
                if a.sensitive
                    && let Some(x) = m.remove(name)
                {
                    let x = if x.is_null() { x } else { x.sensitive() };
                    m.insert(name.clone(), x);
                }
            }
            for (name, b) in &schema.blocks {
                if let Some(x) = m.remove(name) {
                    let x = match x {
                        Value::List(xs) => Value::List(
                            xs.into_iter()
                                .map(|i| mark_sensitive(&b.schema, i))
                                .collect(),
                        ),
                        Value::Tuple(xs) => Value::Tuple(
                            xs.into_iter()
                                .map(|i| mark_sensitive(&b.schema, i))
                                .collect(),
                        ),
                        Value::Set(xs) => Value::Set(
                            xs.into_iter()
                                .map(|i| mark_sensitive(&b.schema, i))
                                .collect(),
                        ),
                        other => other,
                    };
                    m.insert(name.clone(), x);
                }
            }
            Value::Object(m)
        }
        other => other,
    }
}

/// The top-level attributes of dynamic type, which state records with their type.
fn dynamic_attributes(schema: &Schema) -> impl Iterator<Item = &String> {
    schema
        .attributes
        .iter()
        .filter(|(_, a)| a.ty == AttrType::Any)
        .map(|(name, _)| name)
}

/// A dynamically typed attribute (`AttrType::Any`, Terraform's DynamicPseudoType) is
/// written to state with its type, `{"value": ..., "type": ...}`, as Terraform writes it:
/// the value alone would not say whether `["a"]` is a list or a tuple. This wraps each such
/// top-level attribute (a sensitive mark moves to the wrapper, so the state's
/// `sensitive_attributes` path names the attribute).
///
/// Every top-level attribute the schema calls sensitive is marked, null ones too: the
/// provider's state lists each of them in `sensitive_attributes` whatever its value, and
/// Terraform reads a different list as a change made outside of Terraform.
pub(crate) fn to_state(schema: &Schema, v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = m.clone();
    for (name, a) in &schema.attributes {
        if a.sensitive
            && let Some(x) = out.get_mut(name)
            && !x.is_sensitive()
            && !x.is_unknown()
        {
            *x = x.clone().sensitive();
        }
    }
    for name in dynamic_attributes(schema) {
        if let Some(x) = out.get_mut(name)
            && !x.is_null()
            && !x.is_unknown()
        {
            let wrapped = Value::object([
                ("value", x.unmarked().clone()),
                ("type", Value::from_json(&crate::state::cty_type(x))),
            ]);
            *x = if x.is_sensitive() {
                wrapped.sensitive()
            } else {
                wrapped
            };
        }
    }
    Value::Object(out)
}

/// The reverse of [`to_state`]: attributes recorded as `{"value", "type"}` become their
/// value. A state written before this wrapping (a bare value) is taken as it is.
pub fn from_state(schema: &Schema, v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = m.clone();
    for name in dynamic_attributes(schema) {
        if let Some(x) = out.get_mut(name)
            && let Some(w) = x.as_map()
            && w.len() == 2
            && let (Some(inner), Some(_)) = (w.get("value"), w.get("type"))
        {
            let inner = inner.clone();
            *x = if x.is_sensitive() {
                inner.sensitive()
            } else {
                inner
            };
        }
    }
    Value::Object(out)
}

/// An object with every schema attribute unknown except those the configuration knows:
/// what a deferred data source or a not-yet-created object looks like to its dependents.
pub(crate) fn unknown_object(schema: &Schema, config: Option<&Value>) -> Value {
    let mut out = BTreeMap::new();
    for name in schema.attributes.keys() {
        let known = config
            .and_then(|c| c.get(name))
            .filter(|v| !v.is_null())
            .cloned();
        out.insert(name.clone(), known.unwrap_or(Value::Unknown));
    }
    for name in schema.blocks.keys() {
        out.insert(
            name.clone(),
            config
                .and_then(|c| c.get(name))
                .cloned()
                .unwrap_or(Value::Unknown),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_provider::fake::thing_schema;

    #[test]
    fn shape_fills_nulls_lists_blocks_and_converts() {
        let config = Value::object([
            ("name", Value::string("a")),
            ("size", Value::string("3")),
            ("tags", Value::object([("k", Value::string("v"))])),
            (
                "rule",
                Value::Tuple(vec![Value::object([("port", Value::Number(80.0))])]),
            ),
        ]);
        let v = shape(&thing_schema(), &config);
        assert_eq!(v.get("size"), Some(&Value::Number(3.0)));
        assert_eq!(v.get("value"), Some(&Value::Null));
        assert!(matches!(v.get("tags"), Some(Value::Map(_))));
        assert!(matches!(v.get("rule"), Some(Value::List(xs)) if xs.len() == 1));
        let marked = mark_sensitive(
            &thing_schema(),
            Value::object([("secret", Value::string("s"))]),
        );
        assert!(marked.get("secret").is_some_and(Value::is_sensitive));
    }

    #[test]
    fn typed_makes_state_maps_maps_and_adds_nothing() {
        let recorded = Value::object([
            ("tags", Value::object([("k", Value::string("v"))])),
            ("unknown_attr", Value::object([("a", Value::Null)])),
            ("secret", Value::string("s").sensitive()),
        ]);
        let v = typed(&thing_schema(), &recorded);
        assert!(matches!(v.get("tags"), Some(Value::Map(_))), "{v:?}");
        assert!(
            matches!(v.get("unknown_attr"), Some(Value::Object(_))),
            "{v:?}"
        );
        assert!(v.get("secret").is_some_and(Value::is_sensitive));
        assert_eq!(v.get("name"), None);
    }

    #[test]
    fn dynamic_attributes_carry_their_type_in_state() {
        let schema = Schema::new()
            .attr("any", forge_provider::Attribute::optional(AttrType::Any))
            .attr("s", forge_provider::Attribute::optional(AttrType::String));
        let v = Value::object([
            ("any", Value::Tuple(vec![Value::string("a")]).sensitive()),
            ("s", Value::string("x")),
        ]);
        let stored = to_state(&schema, &v);
        assert_eq!(
            stored.to_json(),
            serde_json::json!({"any": {"value": ["a"], "type": ["tuple", ["string"]]}, "s": "x"})
        );
        assert!(stored.get("any").is_some_and(Value::is_sensitive));
        let back = from_state(&schema, &stored);
        assert_eq!(back, v);
        let bare = Value::object([("any", Value::Null), ("s", Value::string("x"))]);
        assert_eq!(from_state(&schema, &to_state(&schema, &bare)), bare);
    }
}
