//! count and for_each: the instance keys a block's repetition gives, and the `count`/`each` value each instance's expressions see.

use super::*;

pub(super) fn key_string(key: &Option<InstanceKey>) -> String {
    match key {
        Some(InstanceKey::Str(s)) => s.clone(),
        Some(InstanceKey::Int(i)) => i.to_string(),
        None => String::new(),
    }
}

/// The instance keys of a block or module call, with the `count`/`each` value each sees;
/// one unkeyed instance without count and for_each.
pub fn expansion_keys(
    count: Option<&forge_lang::Expr>,
    for_each: Option<&forge_lang::Expr>,
    scope: &Scope<'_>,
    what: &str,
) -> Result<Vec<Binding>, EngineError> {
    if let Some(count) = count {
        let v = eval(count, scope)
            .map_err(|d| diag_error(format!("{what}: count cannot be evaluated"), d))?;
        if v.is_unknown() {
            return Err(diag_error(
                format!("{what}: count depends on values known only after apply"),
                Diagnostic::error("invalid count argument").at(count.location()).hint("apply the resources the count depends on first (forge apply --include-unit ...), or compute count from variables").into(),
            ));
        }
        let n = v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
            diag_error(
                format!("{what}: count must be a whole number of 0 or more"),
                Diagnostic::error(format!("count is a {}", v.kind_name()))
                    .at(count.location())
                    .into(),
            )
        })?;
        Ok((0..n)
            .map(|i| {
                (
                    Some(InstanceKey::Int(i)),
                    Some(("count", Value::object([("index", Value::Number(i as f64))]))),
                )
            })
            .collect())
    } else if let Some(fe) = for_each {
        let v = eval(fe, scope)
            .map_err(|d| diag_error(format!("{what}: for_each cannot be evaluated"), d))?;
        for_each_keys(&v).map_err(|m| {
            diag_error(
                format!("{what}: invalid for_each"),
                Diagnostic::error(m).at(fe.location()).into(),
            )
        })
    } else {
        Ok(vec![(None, None)])
    }
}

/// An instance's key and the `count`/`each` root its expressions see.
pub type Binding = (Option<InstanceKey>, Option<(&'static str, Value)>);

pub(super) fn for_each_keys(v: &Value) -> Result<Vec<Binding>, String> {
    if !v.is_wholly_known() {
        // Only the keys must be known; values may be unknown.
        if let Some(m) = v.as_map()
            && !v.is_unknown()
        {
            return Ok(m.iter().map(|(k, x)| each(k, x.clone())).collect());
        }
        return Err("the for_each keys depend on values known only after apply; use keys known when planning (e.g. from variables)".into());
    }
    match v.unmarked() {
        Value::Object(m) | Value::Map(m) => Ok(m.iter().map(|(k, x)| each(k, x.clone())).collect()),
        Value::Set(xs) | Value::List(xs) | Value::Tuple(xs) => {
            let mut out = Vec::new();
            for x in xs {
                let s = x.as_str().ok_or_else(|| {
                    format!(
                        "for_each over a set needs strings, found a {}",
                        x.kind_name()
                    )
                })?;
                if !out
                    .iter()
                    .any(|(k, _): &Binding| k == &Some(InstanceKey::Str(s.to_string())))
                {
                    out.push(each(s, x.clone()));
                }
            }
            Ok(out)
        }
        Value::Null => Err("for_each is null; use an empty map or set".into()),
        other => Err(format!(
            "for_each needs a map or a set of strings, found a {}",
            other.kind_name()
        )),
    }
}

pub(super) fn each(key: &str, value: Value) -> Binding {
    (
        Some(InstanceKey::Str(key.to_string())),
        Some((
            "each",
            Value::object([("key", Value::string(key)), ("value", value)]),
        )),
    )
}

/// Runs `f` on the scope an instance's expressions see: the module instance's scope with
/// the instance's `count`/`each` added, as a child scope of its own. The module instance's
/// scope is shared by every instance (and evaluated in concurrently), so the binding is
/// never put into it.
pub(super) fn in_instance_scope<R>(
    scope: &Scope<'static>,
    binding: &EachBinding,
    f: impl FnOnce(&Scope<'static>) -> R,
) -> R {
    match binding {
        None => f(scope),
        Some((root, value)) => f(&scope.clone().with_root(*root, value.clone())),
    }
}
