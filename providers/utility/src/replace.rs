//! When a change of an argument replaces the object, as the providers' plan modifiers
//! decide it. `keepers` (random) and `triggers` (null) replace only when a value that is
//! not null changed: the older SDK these providers were written on dropped null map values
//! from state, so a null value must not replace what such a state recorded. time's
//! `triggers` replace on any change.

use forge_provider::{PlannedState, Value};

use crate::values::{attr, kept, unknown_all, with};

/// A plain force-new argument: replaced when the planned value is unknown or differs
/// from the prior state's.
pub(crate) fn differs(prior: &Value, planned: &Value) -> bool {
    !planned.is_wholly_known() || !prior.same_as(planned)
}

/// random's `keepers` and null's `triggers` (the providers' "requires replace if values
/// not null"): `prior` is the state's map, `config` the configured one.
pub(crate) fn keepers_replace(prior: &Value, config: &Value) -> bool {
    if prior.same_as(config) {
        return false;
    }
    // A map that is not known yet may turn out to hold anything.
    if !config.is_wholly_known() {
        return true;
    }
    let config_items = config.as_map();
    let Some(prior_items) = prior.as_map().filter(|_| !prior.is_null()) else {
        // Nothing recorded: only a value that is not null replaces.
        return config_items.is_some_and(|m| m.values().any(|v| !v.is_null()));
    };
    let empty = std::collections::BTreeMap::new();
    let config_items = config_items.unwrap_or(&empty);
    let changed_value = config_items
        .iter()
        .any(|(key, value)| match prior_items.get(key) {
            None => !value.is_null(),
            Some(recorded) => !recorded.same_as(value),
        });
    let dropped_key = prior_items
        .keys()
        .any(|key| !config_items.contains_key(key));
    changed_value || dropped_key
}

/// The plan of a random resource from its configured arguments (`planned`): each
/// `computed` attribute kept from the prior state (unknown when creating); replaced, with
/// those attributes unknown again, when a `force_new` argument differs or `keepers` asks.
pub(crate) fn plan_keeping(
    prior: Option<&Value>,
    config: &Value,
    mut planned: Value,
    force_new: &[&str],
    computed: &[&str],
) -> PlannedState {
    for name in computed {
        planned = with(planned, name, kept(prior, name));
    }
    let Some(prior) = prior else {
        return PlannedState {
            planned,
            requires_replace: Vec::new(),
        };
    };
    let mut requires_replace: Vec<String> = force_new
        .iter()
        .filter(|n| differs(&attr(prior, n), &attr(&planned, n)))
        .map(|n| n.to_string())
        .collect();
    if keepers_replace(&attr(prior, "keepers"), &attr(config, "keepers")) {
        requires_replace.push("keepers".to_string());
    }
    if !requires_replace.is_empty() {
        planned = unknown_all(planned, computed);
    }
    PlannedState {
        planned,
        requires_replace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn keepers_replace_on_a_changed_added_or_removed_value_but_not_on_nulls() {
        let a = map(&[("k", Value::string("1"))]);
        assert!(!keepers_replace(&a, &map(&[("k", Value::string("1"))])));
        assert!(keepers_replace(&a, &map(&[("k", Value::string("2"))])));
        assert!(keepers_replace(
            &a,
            &map(&[("k", Value::string("1")), ("j", Value::string("x"))])
        ));
        assert!(keepers_replace(&a, &Value::Null), "a removed key replaces");
        // A key whose value is null, absent from state: the old SDK never stored it.
        assert!(!keepers_replace(
            &a,
            &map(&[("k", Value::string("1")), ("n", Value::Null)])
        ));
        // Nothing recorded: only values that are not null replace.
        assert!(!keepers_replace(&Value::Null, &map(&[("n", Value::Null)])));
        assert!(keepers_replace(
            &Value::Null,
            &map(&[("n", Value::string("x"))])
        ));
        assert!(!keepers_replace(&map(&[]), &Value::Null));
        assert!(keepers_replace(&a, &map(&[("k", Value::Unknown)])));
    }

    #[test]
    fn a_plain_force_new_argument_replaces_on_any_difference_or_unknown() {
        assert!(!differs(&Value::Number(1.0), &Value::Number(1.0)));
        assert!(differs(&Value::Number(1.0), &Value::Number(2.0)));
        assert!(differs(&Value::Number(1.0), &Value::Unknown));
        assert!(differs(&Value::Null, &Value::Map(Default::default())));
    }
}
