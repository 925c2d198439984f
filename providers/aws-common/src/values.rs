//! Value helpers every AWS resource type needs the same way: the `tags` / `tags_all` pair
//! (with the provider's default tags), required string arguments, and which changed
//! attributes force a replacement. One definition here, so the services cannot drift
//! apart on how tags or replacements behave.

use std::collections::BTreeMap;

use forge_provider::{ProviderError, ProviderResult, Schema, Value};

use crate::{AwsContext, map_value, string_map};

/// The resource's own `tags` argument as a plain map (empty when unset).
pub fn config_tags(v: &Value) -> BTreeMap<String, String> {
    v.get("tags").map(string_map).unwrap_or_default()
}

/// The `tags` / `tags_all` pair after a read: `tags` holds the live tags except those that
/// come only from the provider's default tags (unless the state had them as its own); with
/// none of the resource's own, `{}`, never null: the provider's read records `{}` (its
/// create leaves null and its next refresh reports null -> {} as a change made outside of
/// Terraform), so `{}` is where its state settles and forge writes that from the start.
pub fn tags_state(
    ctx: &AwsContext,
    prior_tags: &Value,
    live: &BTreeMap<String, String>,
) -> (Value, Value) {
    let own: BTreeMap<String, String> = live
        .iter()
        .filter(|(k, v)| ctx.default_tags.get(*k) != Some(*v) || prior_tags.get(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (map_value(&own), map_value(live))
}

/// Sets the planned `tags_all` to the merge of default tags and the resource's tags
/// (unknown while the tags are).
pub fn plan_tags_all(ctx: &AwsContext, planned: &mut Value) {
    let tags = planned.get("tags").cloned().unwrap_or(Value::Null);
    let all = if tags.is_wholly_known() {
        map_value(&ctx.tags_all(&string_map(&tags)))
    } else {
        Value::Unknown
    };
    set_attr(planned, "tags_all", all);
}

/// [`keep_empty_values`] for the top-level arguments and, item by item, inside nested
/// blocks (`rule { bucket_key_enabled }` of S3 encryption records `false` when unset).
pub fn keep_empty_values_in_blocks(
    schema: &Schema,
    prior: Option<&Value>,
    config: &Value,
    planned: &mut Value,
) {
    keep_empty_values(schema, prior, config, planned);
    let Some(prior) = prior else {
        return;
    };
    for (name, block) in &schema.blocks {
        let recorded = prior.get(name).and_then(Value::as_seq).unwrap_or(&[]);
        let configured = config.get(name).and_then(Value::as_seq).unwrap_or(&[]);
        let Value::Object(fields) = &mut *planned else {
            return;
        };
        let Some(Value::List(items) | Value::Tuple(items) | Value::Set(items)) =
            fields.get_mut(name)
        else {
            continue;
        };
        for (i, item) in items.iter_mut().enumerate() {
            if let (Some(p), Some(c)) = (recorded.get(i), configured.get(i)) {
                keep_empty_values_in_blocks(&block.schema, Some(p), c, item);
            }
        }
    }
}

/// Sets one attribute of an object value (anything else is left alone).
pub fn set_attr(v: &mut Value, name: &str, new: Value) {
    if let Value::Object(m) = v {
        m.insert(name.to_string(), new);
    }
}

/// A string argument the operation cannot do without, or an error that says which.
pub fn required_str<'a>(v: &'a Value, name: &str, resource: &str) -> ProviderResult<&'a str> {
    v.str_attr(name).ok_or_else(|| {
        ProviderError::new(format!("{resource}: `{name}` is required"))
            .hint(format!("set `{name}` in the resource block"))
    })
}

/// An optional string from the SDK as a value (null when absent).
pub fn opt_string(s: Option<&str>) -> Value {
    s.map(Value::string).unwrap_or(Value::Null)
}

/// What the provider records as `name_prefix` for an object named `name`: the part
/// before a generated 26-hex-digit suffix (followed by `suffix`, such as `.fifo`), or ""
/// when the name was not generated. The provider derives it from the name on every read,
/// so a state Terraform wrote has "" for a named object, never null.
pub fn name_prefix_from_name(name: &str, suffix: &str) -> String {
    const GENERATED_LEN: usize = 26;
    let Some(stem) = name.strip_suffix(suffix) else {
        return String::new();
    };
    if stem.len() <= GENERATED_LEN || !stem.is_char_boundary(stem.len() - GENERATED_LEN) {
        return String::new();
    }
    let (prefix, generated) = stem.split_at(stem.len() - GENERATED_LEN);
    if generated.chars().all(|c| c.is_ascii_hexdigit()) {
        prefix.to_string()
    } else {
        String::new()
    }
}

/// The provider's rule (its plugin SDK) for an optional argument that is not computed:
/// left out of the configuration, it is the same as its empty value ("", false, 0), which
/// is what the provider writes to state for it. So a prior empty value is kept rather
/// than planned away to null (which would show a change, or a replacement).
pub fn keep_empty_values(
    schema: &Schema,
    prior: Option<&Value>,
    config: &Value,
    planned: &mut Value,
) {
    let Some(prior) = prior else {
        return;
    };
    for (name, attr) in &schema.attributes {
        if attr.computed || attr.required || attr.default.is_some() {
            continue;
        }
        if config.get(name).is_some_and(|v| !v.is_null()) {
            continue;
        }
        if let Some(before) = prior.get(name).filter(|v| is_empty_value(v)) {
            set_attr(planned, name, before.clone());
        }
    }
}

/// "", false, 0 or an empty collection: what the provider writes for an unset argument.
pub fn is_empty_value(v: &Value) -> bool {
    match v.unmarked() {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => *n == 0.0,
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs.is_empty(),
        // A map read back from a state file is an object to the value model.
        Value::Map(m) | Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// The provider's `timeouts` block, which its state records as `"timeouts": null` when it
/// is not configured. forge keeps that attribute so its state has the provider's shape,
/// but has its own waits and refuses a configured value ([`check_no_timeouts`]).
pub fn timeouts_attribute() -> forge_provider::Attribute {
    forge_provider::Attribute::optional(forge_provider::AttrType::Any)
}

/// Refuses a configured `timeouts`: forge would not act on it.
pub fn check_no_timeouts(resource: &str, config: &Value) -> ProviderResult<()> {
    match config.get("timeouts") {
        Some(v) if !v.is_null() => Err(ProviderError::new(format!(
            "{resource}: `timeouts` is not supported: forge waits for each operation by its own rules"
        ))
        .hint("remove the `timeouts` block")),
        _ => Ok(()),
    }
}

/// The force-new attributes whose planned value differs from the prior one (or is not
/// known yet): the reasons a plan replaces rather than updates. Empty on create.
pub fn replace_paths(schema: &Schema, prior: Option<&Value>, planned: &Value) -> Vec<String> {
    let Some(prior) = prior else {
        return Vec::new();
    };
    schema
        .attributes
        .iter()
        .filter(|(_, attr)| attr.force_new)
        .filter(|(name, _)| {
            let before = prior.get(name).unwrap_or(&Value::Null);
            let after = planned.get(name).unwrap_or(&Value::Null);
            after.is_unknown() || !before.same_as(after)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_provider::{AttrType, Attribute};

    #[test]
    fn name_prefix_comes_from_a_generated_suffix_only() {
        assert_eq!(name_prefix_from_name("jobs", ""), "");
        assert_eq!(
            name_prefix_from_name("terraform-20261206205555335900000002", ""),
            "terraform-"
        );
        assert_eq!(
            name_prefix_from_name("jobs-20261206205555335900000002.fifo", ".fifo"),
            "jobs-"
        );
        assert_eq!(name_prefix_from_name("20261206205555335900000002", ""), "");
        assert_eq!(
            name_prefix_from_name("jobs-2026120620555533590000000z", ""),
            ""
        );
    }

    #[test]
    fn an_empty_prior_value_of_an_unset_argument_is_kept() {
        let schema = Schema::default()
            .attr("description", Attribute::optional(AttrType::String))
            .attr("arn", Attribute::computed(AttrType::String));
        let prior = Value::object([
            ("description", Value::string("")),
            ("arn", Value::string("a")),
        ]);
        let config = Value::object([("description", Value::Null)]);
        let mut planned =
            Value::object([("description", Value::Null), ("arn", Value::string("a"))]);
        keep_empty_values(&schema, Some(&prior), &config, &mut planned);
        assert!(planned.same_as(&prior));
        // A real value is still planned away when the argument is removed.
        let prior = Value::object([
            ("description", Value::string("x")),
            ("arn", Value::string("a")),
        ]);
        let mut planned =
            Value::object([("description", Value::Null), ("arn", Value::string("a"))]);
        keep_empty_values(&schema, Some(&prior), &config, &mut planned);
        assert_eq!(planned.get("description"), Some(&Value::Null));
    }

    #[test]
    fn replace_paths_names_changed_and_unknown_force_new_attributes_only() {
        let schema = Schema::default()
            .attr("name", Attribute::required(AttrType::String).force_new())
            .attr("arn", Attribute::computed(AttrType::String).force_new())
            .attr("size", Attribute::optional(AttrType::Number));
        let prior = Value::object([
            ("name", Value::string("a")),
            ("arn", Value::string("x")),
            ("size", Value::Number(1.0)),
        ]);
        let same = prior.clone();
        assert!(replace_paths(&schema, Some(&prior), &same).is_empty());
        assert!(
            replace_paths(&schema, None, &same).is_empty(),
            "a create replaces nothing"
        );
        let changed = Value::object([
            ("name", Value::string("b")),
            ("arn", Value::Unknown),
            ("size", Value::Number(2.0)),
        ]);
        assert_eq!(
            replace_paths(&schema, Some(&prior), &changed),
            vec!["arn".to_string(), "name".to_string()]
        );
    }

    #[test]
    fn empty_values_of_unset_arguments_stay_in_blocks_too() {
        let schema = Schema::default()
            .attr("owner", Attribute::optional(AttrType::String).force_new())
            .attr("flag", Attribute::optional(AttrType::Bool))
            .attr("name", Attribute::optional(AttrType::String));
        let prior = Value::object([
            ("owner", Value::string("")),
            ("flag", Value::Bool(true)),
            ("name", Value::string("")),
        ]);
        let config = Value::object([
            ("owner", Value::Null),
            ("flag", Value::Null),
            ("name", Value::string("n")),
        ]);
        let mut planned = config.clone();
        keep_empty_values_in_blocks(&schema, Some(&prior), &config, &mut planned);
        assert_eq!(planned.get("owner"), Some(&Value::string("")));
        assert_eq!(
            planned.get("flag"),
            Some(&Value::Null),
            "true is a value, not unset"
        );
        assert_eq!(planned.get("name"), Some(&Value::string("n")));
        assert!(replace_paths(&schema, Some(&prior), &planned).is_empty());
    }

    #[test]
    fn required_str_says_which_argument_is_missing() {
        let err = required_str(&Value::object([("a", Value::Null)]), "a", "aws_thing.x")
            .expect_err("missing");
        assert!(
            err.to_string().contains("aws_thing.x: `a` is required"),
            "{err}"
        );
        assert_eq!(
            required_str(&Value::object([("a", Value::string("v"))]), "a", "r").ok(),
            Some("v")
        );
    }

    async fn context_with_defaults() -> AwsContext {
        let tags = Value::Map(
            [
                ("env".to_string(), Value::string("prod")),
                ("team".to_string(), Value::string("core")),
            ]
            .into(),
        );
        let config = Value::object([
            ("region", Value::string("us-east-1")),
            ("skip_credentials_validation", Value::Bool(true)),
            (
                "default_tags",
                Value::List(vec![Value::object([("tags", tags)])]),
            ),
        ]);
        AwsContext::from_provider_config(&config)
            .await
            .expect("value")
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn tags_read_back_leave_default_tags_out_unless_configured() {
        let ctx = context_with_defaults().await;
        let live = map(&[("env", "prod"), ("team", "core"), ("app", "api")]);
        let prior = Value::Map([("app".to_string(), Value::string("api"))].into());
        let (tags, all) = tags_state(&ctx, &prior, &live);
        assert_eq!(string_map(&tags), map(&[("app", "api")]));
        assert_eq!(string_map(&all), live);
        // A key the configuration sets itself stays, even with the default's value.
        let prior = Value::Map([("team".to_string(), Value::string("core"))].into());
        let (tags, _) = tags_state(&ctx, &prior, &map(&[("env", "prod"), ("team", "core")]));
        assert_eq!(string_map(&tags), map(&[("team", "core")]));
        // Nothing of its own and none before: {}, as the provider's read records it.
        let (tags, _) = tags_state(
            &ctx,
            &Value::Null,
            &map(&[("env", "prod"), ("team", "core")]),
        );
        assert_eq!(tags, Value::Map(BTreeMap::new()));
        // A default overridden outside forge is the resource's own tag now: drift.
        let (tags, _) = tags_state(
            &ctx,
            &Value::Null,
            &map(&[("env", "dev"), ("team", "core")]),
        );
        assert_eq!(string_map(&tags), map(&[("env", "dev")]));
    }

    #[tokio::test]
    async fn planned_tags_all_merges_defaults_under_own_tags() {
        let ctx = context_with_defaults().await;
        let mut planned = Value::object([(
            "tags",
            Value::Map([("team".to_string(), Value::string("web"))].into()),
        )]);
        plan_tags_all(&ctx, &mut planned);
        assert_eq!(
            string_map(planned.get("tags_all").expect("value")),
            map(&[("env", "prod"), ("team", "web")])
        );
        let mut unknown = Value::object([("tags", Value::Unknown)]);
        plan_tags_all(&ctx, &mut unknown);
        assert_eq!(unknown.get("tags_all"), Some(&Value::Unknown));
    }
}
