//! `aws_s3_bucket_cors_configuration`: the bucket's CORS rules (1 to 100 `cors_rule`
//! blocks, a set: their order does not matter). As the provider (hashicorp/aws
//! 5.100.0): the id is the bucket name, or `bucket,expected_bucket_owner` when an owner
//! is given, and import takes either; each rule records its unset arguments as the
//! provider's plugin SDK does (`id` "", `max_age_seconds` 0, the header sets empty);
//! a bucket without CORS rules reads as gone, so rules removed outside forge are planned
//! for creation again.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, BlockType, CreateIntent, Finding, Found, FoundBy, PlannedState,
    ProviderError, ProviderResult, ResourceType, Schema, Value, plan_from_schema,
};

use crate::common::{
    block_items, bucket_of, client, found_or_absent, owner_or_empty, read_settled, replace_paths,
    require_block, set_attr, with_bucket_hint,
};

const TYPE: &str = "aws_s3_bucket_cors_configuration";
/// S3's code for a bucket without CORS rules.
const NOT_CONFIGURED: &str = "NoSuchCORSConfiguration";
/// The rule arguments that are sets of strings.
const STRING_SETS: [&str; 4] = [
    "allowed_headers",
    "allowed_methods",
    "allowed_origins",
    "expose_headers",
];
/// The methods S3 accepts in `allowed_methods`.
const METHODS: [&str; 5] = ["GET", "PUT", "HEAD", "POST", "DELETE"];

pub struct BucketCorsConfigurationResource {
    client: aws_sdk_s3::Client,
    schema: Schema,
}

impl BucketCorsConfigurationResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let strings = || AttrType::Set(Box::new(AttrType::String));
        let rule = Schema::new()
            .attr("allowed_headers", Attribute::optional(strings()))
            .attr("allowed_methods", Attribute::required(strings()))
            .attr("allowed_origins", Attribute::required(strings()))
            .attr("expose_headers", Attribute::optional(strings()))
            .attr("id", Attribute::optional(AttrType::String))
            .attr("max_age_seconds", Attribute::optional(AttrType::Number));
        let schema = Schema::new()
            .attr("bucket", Attribute::required(AttrType::String).force_new())
            .attr(
                "expected_bucket_owner",
                Attribute::optional(AttrType::String).force_new(),
            )
            .attr("id", Attribute::computed(AttrType::String))
            .block(
                "cors_rule",
                BlockType {
                    schema: rule,
                    min_items: 1,
                    max_items: 100,
                    unordered: true,
                    ..BlockType::default()
                },
            );
        BucketCorsConfigurationResource {
            client: client(&ctx),
            schema,
        }
    }

    /// The live rules as state; `owner` is the recorded `expected_bucket_owner` ("" or
    /// null when none), sent with the call as the provider does.
    async fn read_with(&self, bucket: &str, owner: &Value) -> ProviderResult<Option<Value>> {
        let mut call = self.client.get_bucket_cors().bucket(bucket);
        if let Some(owner) = owner.as_str().filter(|o| !o.is_empty()) {
            call = call.expected_bucket_owner(owner);
        }
        let out = call.send().await.map_err(sdk_error);
        let Some(out) = found_or_absent(out, &[NOT_CONFIGURED])? else {
            return Ok(None);
        };
        let rules: Vec<Value> = out.cors_rules().iter().map(rule_state).collect();
        if rules.is_empty() {
            return Ok(None);
        }
        let owner = owner_or_empty(owner.clone());
        Ok(Some(Value::object([
            ("id", Value::String(resource_id(bucket, owner.as_str()))),
            ("bucket", Value::string(bucket)),
            ("expected_bucket_owner", owner),
            ("cors_rule", Value::Set(Value::sort_set(rules))),
        ])))
    }

    async fn put(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        let bucket = bucket_of(&planned, TYPE)?;
        let rules = block_items(&planned, "cors_rule")
            .iter()
            .map(aws_rule)
            .collect::<ProviderResult<Vec<_>>>()?;
        let conf = CorsConfiguration::builder()
            .set_cors_rules(Some(rules))
            .build()
            .map_err(|e| ProviderError::new(format!("{TYPE}: {e}")))?;
        let mut call = self
            .client
            .put_bucket_cors()
            .bucket(bucket)
            .cors_configuration(conf);
        let owner = planned
            .get("expected_bucket_owner")
            .cloned()
            .unwrap_or(Value::Null);
        if let Some(owner) = owner.as_str().filter(|o| !o.is_empty()) {
            call = call.expected_bucket_owner(owner);
        }
        call.send().await.map_err(|e| {
            let e = with_bucket_hint(sdk_error(e), TYPE, bucket);
            match e.code.as_deref() {
                Some("MalformedXML" | "InvalidRequest") => e.hint(
                    "S3 did not accept the rules: each needs allowed_methods (GET, PUT, HEAD, POST, DELETE) and allowed_origins",
                ),
                _ => e,
            }
        })?;
        let wanted = normalized(&planned);
        match read_settled(&wanted, || self.read_with(bucket, &owner)).await? {
            Some(state) => Ok(state),
            None => Err(ProviderError::with_code(
                NOT_CONFIGURED,
                format!(
                    "{TYPE}: the CORS rules of bucket {bucket:?} cannot be read after they were put"
                ),
            )
            .hint("something deleted them or the bucket outside forge: plan again")),
        }
    }
}

/// The provider's id: the bucket, with `,owner` when an expected owner is given.
fn resource_id(bucket: &str, owner: Option<&str>) -> String {
    match owner.filter(|o| !o.is_empty()) {
        Some(owner) => format!("{bucket},{owner}"),
        None => bucket.to_string(),
    }
}

/// One S3 rule as the provider records it.
fn rule_state(rule: &CorsRule) -> Value {
    let set = |items: &[String]| {
        Value::Set(Value::sort_set(
            items.iter().map(Value::string).collect::<Vec<_>>(),
        ))
    };
    Value::object([
        ("allowed_headers", set(rule.allowed_headers())),
        ("allowed_methods", set(rule.allowed_methods())),
        ("allowed_origins", set(rule.allowed_origins())),
        ("expose_headers", set(rule.expose_headers())),
        ("id", Value::string(rule.id().unwrap_or(""))),
        (
            "max_age_seconds",
            Value::Number(f64::from(rule.max_age_seconds().unwrap_or(0))),
        ),
    ])
}

/// A configured rule as S3 takes it.
fn aws_rule(rule: &Value) -> ProviderResult<CorsRule> {
    let strings = |name: &str| -> Option<Vec<String>> {
        let items: Vec<String> = rule
            .get(name)
            .and_then(Value::as_seq)
            .unwrap_or(&[])
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        (!items.is_empty()).then_some(items)
    };
    let mut builder = CorsRule::builder()
        .set_allowed_headers(strings("allowed_headers"))
        .set_allowed_methods(strings("allowed_methods"))
        .set_allowed_origins(strings("allowed_origins"))
        .set_expose_headers(strings("expose_headers"));
    if let Some(id) = rule.str_attr("id").filter(|id| !id.is_empty()) {
        builder = builder.id(id);
    }
    if let Some(age) = rule.get("max_age_seconds").and_then(Value::as_f64) {
        // As the provider: a configured (or recorded) age is sent, 0 included.
        builder = builder.max_age_seconds(age as i32);
    }
    builder
        .build()
        .map_err(|e| ProviderError::new(format!("{TYPE}: cors_rule: {e}")))
}

/// A configured rule with the provider's empty values for what it leaves out, so the
/// plan holds what state will record.
fn normalized_rule(rule: &Value) -> Value {
    let mut m = std::collections::BTreeMap::new();
    for name in STRING_SETS {
        let value = match rule.get(name) {
            Some(v) if !v.is_wholly_known() => v.clone(),
            Some(v) => Value::Set(Value::sort_set(
                v.as_seq()
                    .unwrap_or(&[])
                    .iter()
                    .map(Value::unmarked)
                    .cloned()
                    .collect(),
            )),
            None => Value::Set(Vec::new()),
        };
        m.insert(name.to_string(), value);
    }
    let or_empty = |name: &str, empty: Value| match rule.get(name) {
        Some(v) if !v.is_null() => v.clone(),
        _ => empty,
    };
    m.insert("id".into(), or_empty("id", Value::string("")));
    m.insert(
        "max_age_seconds".into(),
        or_empty("max_age_seconds", Value::Number(0.0)),
    );
    Value::Object(m)
}

/// `planned` with every rule normalised and the owner "" when unset.
fn normalized(planned: &Value) -> Value {
    let mut out = planned.clone();
    if let Some(items) = planned.get("cors_rule").filter(|v| v.is_wholly_known()) {
        let rules: Vec<Value> = items
            .as_seq()
            .unwrap_or(&[])
            .iter()
            .map(normalized_rule)
            .collect();
        set_attr(&mut out, "cors_rule", Value::Set(Value::sort_set(rules)));
    }
    if out.get("expected_bucket_owner").is_none_or(Value::is_null) {
        set_attr(&mut out, "expected_bucket_owner", Value::string(""));
    }
    out
}

/// Refuses at plan what S3 would refuse, naming the rule.
fn validate(config: &Value) -> ProviderResult<()> {
    require_block(
        config,
        "cors_rule",
        TYPE,
        "cors_rule { allowed_methods = [\"GET\"] allowed_origins = [\"*\"] }",
    )?;
    let rules = block_items(config, "cors_rule");
    if rules.len() > 100 {
        return Err(ProviderError::new(format!(
            "{TYPE}: {} cors_rule blocks; S3 takes at most 100",
            rules.len()
        )));
    }
    for (i, rule) in rules.iter().enumerate() {
        let methods = rule.get("allowed_methods").filter(|v| v.is_wholly_known());
        for method in methods.and_then(Value::as_seq).unwrap_or(&[]) {
            if let Some(m) = method.as_str()
                && !METHODS.contains(&m)
            {
                return Err(ProviderError::new(format!(
                    "{TYPE}: cors_rule #{}: allowed_methods has {m:?}, which S3 does not take",
                    i + 1
                ))
                .hint(format!("use {}", METHODS.join(", "))));
            }
        }
        if let Some(id) = rule.str_attr("id")
            && id.len() > 255
        {
            return Err(ProviderError::new(format!(
                "{TYPE}: cors_rule #{}: id is {} characters; at most 255",
                i + 1,
                id.len()
            )));
        }
    }
    Ok(())
}

/// A state's bucket and expected owner: from its attributes, else from its id.
fn bucket_and_owner(state: &Value) -> Option<(String, Value)> {
    if let Some(bucket) = state.str_attr("bucket") {
        let owner = state
            .get("expected_bucket_owner")
            .cloned()
            .unwrap_or(Value::Null);
        return Some((bucket.to_string(), owner));
    }
    state.str_attr("id").map(parse_id)
}

/// The provider's id read back: `bucket` or `bucket,owner`.
fn parse_id(id: &str) -> (String, Value) {
    match id.split_once(',') {
        Some((bucket, owner)) => (bucket.to_string(), Value::string(owner)),
        None => (id.to_string(), Value::Null),
    }
}

#[async_trait]
impl ResourceType for BucketCorsConfigurationResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let mut plan = plan_from_schema(&self.schema, prior, config);
        plan.planned = normalized(&plan.planned);
        plan.requires_replace = replace_paths(&self.schema, prior, &plan.planned);
        Ok(plan)
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.put(planned).await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some((bucket, owner)) = bucket_and_owner(state) else {
            return Ok(None);
        };
        self.read_with(&bucket, &owner).await
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        self.put(planned).await
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some((bucket, owner)) = bucket_and_owner(state) else {
            return Ok(());
        };
        let mut call = self.client.delete_bucket_cors().bucket(&bucket);
        if let Some(owner) = owner.as_str().filter(|o| !o.is_empty()) {
            call = call.expected_bucket_owner(owner);
        }
        found_or_absent(call.send().await.map_err(sdk_error), &[NOT_CONFIGURED])?;
        Ok(())
    }

    /// A create whose answer was lost put the rules or did not: a bucket holding CORS
    /// rules is that create's object (one configuration per bucket; the engine's update
    /// after adopting brings it to the configuration).
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let Some(bucket) = planned
            .get("bucket")
            .filter(|v| v.is_wholly_known())
            .and_then(Value::as_str)
        else {
            return Ok(Finding::CannotTell);
        };
        let owner = planned
            .get("expected_bucket_owner")
            .cloned()
            .unwrap_or(Value::Null);
        Ok(match self.read_with(bucket, &owner).await? {
            None => Finding::Absent,
            Some(object) => {
                let id = object.str_attr("id").unwrap_or(bucket).to_string();
                Finding::Found(Found {
                    object,
                    created: None,
                    by: FoundBy::Name,
                    id,
                })
            }
        })
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let (bucket, owner) = parse_id(id);
        self.read_with(&bucket, &owner).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs)
    }

    fn strings(xs: &[&str]) -> Value {
        Value::List(xs.iter().map(|x| Value::string(*x)).collect())
    }

    #[test]
    fn ids_carry_the_owner_only_when_given() {
        assert_eq!(resource_id("b", None), "b");
        assert_eq!(resource_id("b", Some("")), "b");
        assert_eq!(resource_id("b", Some("123456789012")), "b,123456789012");
        assert_eq!(parse_id("b,1").1, Value::string("1"));
        assert_eq!(parse_id("b"), ("b".to_string(), Value::Null));
    }

    #[test]
    fn a_rule_left_short_plans_the_providers_empty_values() {
        let r = normalized_rule(&rule(vec![
            ("allowed_methods", strings(&["PUT", "GET"])),
            ("allowed_origins", strings(&["*"])),
        ]));
        assert_eq!(r.get("id"), Some(&Value::string("")));
        assert_eq!(r.get("max_age_seconds"), Some(&Value::Number(0.0)));
        assert_eq!(r.get("allowed_headers"), Some(&Value::Set(vec![])));
        assert_eq!(
            r.get("allowed_methods"),
            Some(&Value::Set(vec![
                Value::string("GET"),
                Value::string("PUT")
            ]))
        );
    }

    #[test]
    fn unknown_methods_and_missing_rules_are_refused() {
        let config = Value::object([(
            "cors_rule",
            Value::List(vec![rule(vec![
                ("allowed_methods", strings(&["GET", "PATCH"])),
                ("allowed_origins", strings(&["*"])),
            ])]),
        )]);
        let err = validate(&config).unwrap_err();
        assert!(
            err.message.contains("PATCH") && err.message.contains("#1"),
            "{err}"
        );
        let none = Value::object([("cors_rule", Value::List(vec![]))]);
        assert!(validate(&none).unwrap_err().message.contains("cors_rule"));
    }
}
