//! Small readers and builders over the objects the engine hands a resource type: every
//! schema attribute present, null when unset.

use forge_provider::{ProviderError, Value};

/// An attribute's value, null when absent.
pub(crate) fn attr(v: &Value, name: &str) -> Value {
    v.get(name).cloned().unwrap_or(Value::Null)
}

/// A known bool.
pub(crate) fn boolean(v: &Value, name: &str) -> Option<bool> {
    v.get(name).and_then(Value::as_bool)
}

/// A known string (sensitive marks looked through).
pub(crate) fn text<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// The configured value, or `default` when the configuration leaves it out.
pub(crate) fn or_default(config: &Value, name: &str, default: Value) -> Value {
    match attr(config, name) {
        Value::Null => default,
        v => v,
    }
}

/// A prior state's computed attribute, or unknown when creating.
pub(crate) fn kept(prior: Option<&Value>, name: &str) -> Value {
    prior.map_or(Value::Unknown, |p| attr(p, name))
}

/// `v` with `name` set to `value` (an object; anything else is returned as it is).
pub(crate) fn with(mut v: Value, name: &str, value: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert(name.to_string(), value);
    }
    v
}

/// Every attribute of `names` replaced by unknown: what a replacement recomputes.
pub(crate) fn unknown_all(mut v: Value, names: &[&str]) -> Value {
    for name in names {
        v = with(v, name, Value::Unknown);
    }
    v
}

/// A whole number as the state's number.
pub(crate) fn number(n: i64) -> Value {
    Value::Number(n as f64)
}

/// `None` when the attribute is unknown or null; an error when it is set but not a whole
/// number (a fraction where the provider takes an Int64).
pub(crate) fn whole(v: &Value, name: &str) -> Result<Option<i64>, ProviderError> {
    match v.get(name).map(Value::unmarked) {
        None | Some(Value::Null) | Some(Value::Unknown) => Ok(None),
        Some(Value::Number(n)) if n.fract() == 0.0 => Ok(Some(*n as i64)),
        Some(other) => Err(ProviderError::new(format!(
            "{name} must be a whole number, not {}",
            other.to_json()
        ))),
    }
}
