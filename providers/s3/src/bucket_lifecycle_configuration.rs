//! `aws_s3_bucket_lifecycle_configuration`: the bucket's lifecycle rules (expiration,
//! transitions, noncurrent versions, incomplete multipart uploads), each with a filter.
//! As the provider (hashicorp/aws 5.100.0, a plugin-framework resource at schema
//! version 1): the id is the bucket, or `bucket,expected_bucket_owner`, and import takes
//! either; what the provider records as a "legacy" value is the empty value when S3 has
//! none (`prefix` "", `expiration.days` 0, `expired_object_delete_marker` false, the
//! `and` operator's sizes 0), the rest is null when unset; a rule without `filter` is
//! sent with an empty filter and an empty `filter {}` as `prefix = ""`;
//! `transition_default_minimum_object_size` defaults to `all_storage_classes_128K`.
//! A read retries until two reads agree, as the provider's does, because a write takes a
//! while to show in every S3 replica.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator, LifecycleRuleFilter,
    NoncurrentVersionExpiration, NoncurrentVersionTransition, Tag, Transition,
    TransitionDefaultMinimumObjectSize, TransitionStorageClass,
};
use forge_aws_common::values::{check_no_timeouts, timeouts_attribute};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, BlockType, CreateIntent, Finding, Found, FoundBy, PlannedState,
    ProviderError, ProviderResult, ResourceType, Schema, Value, plan_from_schema,
};

use crate::common::{
    block_items, bucket_of, client, found_or_absent, owner_or_empty, read_settled, replace_paths,
    set_attr, with_bucket_hint,
};

const TYPE: &str = "aws_s3_bucket_lifecycle_configuration";
/// S3's code for a bucket without lifecycle rules.
const NOT_CONFIGURED: &str = "NoSuchLifecycleConfiguration";
/// What S3 (and the provider's plan) uses when no minimum object size is configured.
const DEFAULT_MINIMUM_SIZE: &str = "all_storage_classes_128K";
const MINIMUM_SIZES: [&str; 2] = ["all_storage_classes_128K", "varies_by_storage_class"];
const STATUSES: [&str; 2] = ["Enabled", "Disabled"];
const STORAGE_CLASSES: [&str; 6] = [
    "DEEP_ARCHIVE",
    "GLACIER",
    "GLACIER_IR",
    "INTELLIGENT_TIERING",
    "ONEZONE_IA",
    "STANDARD_IA",
];
/// How long a read waits for two reads in a row to agree before it takes the last one.
const STEADY_TIME: std::time::Duration = std::time::Duration::from_secs(120);

pub struct BucketLifecycleConfigurationResource {
    client: aws_sdk_s3::Client,
    schema: Schema,
}

/// A nested list block as the provider declares it (its size limits are validators,
/// not part of the schema; forge checks them in `validate`).
fn list_block(schema: Schema) -> BlockType {
    BlockType {
        schema,
        ..BlockType::default()
    }
}

fn set_block(schema: Schema) -> BlockType {
    BlockType {
        schema,
        unordered: true,
        ..BlockType::default()
    }
}

impl BucketLifecycleConfigurationResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let num = || AttrType::Number;
        let text = || AttrType::String;
        let and = Schema::new()
            .attr(
                "object_size_greater_than",
                Attribute::optional_computed(num()),
            )
            .attr("object_size_less_than", Attribute::optional_computed(num()))
            .attr("prefix", Attribute::optional_computed(text()))
            .attr(
                "tags",
                Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
            );
        let tag = Schema::new()
            .attr("key", Attribute::required(text()))
            .attr("value", Attribute::required(text()));
        let filter = Schema::new()
            .attr(
                "object_size_greater_than",
                Attribute::optional_computed(num()),
            )
            .attr("object_size_less_than", Attribute::optional_computed(num()))
            .attr("prefix", Attribute::optional_computed(text()))
            .block("and", list_block(and))
            .block("tag", list_block(tag));
        let rule = Schema::new()
            .attr("id", Attribute::required(text()))
            .attr("prefix", Attribute::optional_computed(text()))
            .attr("status", Attribute::required(text()))
            .block(
                "abort_incomplete_multipart_upload",
                list_block(Schema::new().attr("days_after_initiation", Attribute::optional(num()))),
            )
            .block(
                "expiration",
                list_block(
                    Schema::new()
                        .attr("date", Attribute::optional(text()))
                        .attr("days", Attribute::optional_computed(num()))
                        .attr(
                            "expired_object_delete_marker",
                            Attribute::optional_computed(AttrType::Bool),
                        ),
                ),
            )
            .block("filter", list_block(filter))
            .block(
                "noncurrent_version_expiration",
                list_block(
                    Schema::new()
                        .attr(
                            "newer_noncurrent_versions",
                            Attribute::optional_computed(num()),
                        )
                        .attr("noncurrent_days", Attribute::required(num())),
                ),
            )
            .block(
                "noncurrent_version_transition",
                set_block(
                    Schema::new()
                        .attr(
                            "newer_noncurrent_versions",
                            Attribute::optional_computed(num()),
                        )
                        .attr("noncurrent_days", Attribute::required(num()))
                        .attr("storage_class", Attribute::required(text())),
                ),
            )
            .block(
                "transition",
                set_block(
                    Schema::new()
                        .attr("date", Attribute::optional(text()))
                        .attr("days", Attribute::optional_computed(num()))
                        .attr("storage_class", Attribute::required(text())),
                ),
            );
        let schema = Schema::new()
            .version(1)
            .attr("bucket", Attribute::required(text()).force_new())
            .attr(
                "expected_bucket_owner",
                Attribute::optional_computed(text()).force_new(),
            )
            .attr("id", Attribute::computed(text()))
            .attr(
                "transition_default_minimum_object_size",
                Attribute::optional_computed(text()),
            )
            .attr("timeouts", timeouts_attribute())
            .block("rule", list_block(rule));
        BucketLifecycleConfigurationResource {
            client: client(&ctx),
            schema,
        }
    }

    /// One read of the live configuration as state (None when the bucket has no rules).
    async fn read_once(&self, bucket: &str, owner: &Value) -> ProviderResult<Option<Value>> {
        let mut call = self
            .client
            .get_bucket_lifecycle_configuration()
            .bucket(bucket);
        if let Some(owner) = owner.as_str().filter(|o| !o.is_empty()) {
            call = call.expected_bucket_owner(owner);
        }
        let out = call.send().await.map_err(sdk_error);
        let Some(out) = found_or_absent(out, &[NOT_CONFIGURED])? else {
            return Ok(None);
        };
        if out.rules().is_empty() {
            return Ok(None);
        }
        let owner = owner_or_empty(owner.clone());
        let minimum = out
            .transition_default_minimum_object_size()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        Ok(Some(Value::object([
            ("id", Value::String(resource_id(bucket, owner.as_str()))),
            ("bucket", Value::string(bucket)),
            ("expected_bucket_owner", owner),
            (
                "transition_default_minimum_object_size",
                Value::string(minimum),
            ),
            ("timeouts", Value::Null),
            (
                "rule",
                Value::List(out.rules().iter().map(rule_state).collect()),
            ),
        ])))
    }

    /// The live configuration once two reads in a row agree (S3 shows a new
    /// configuration on some reads before others), or the last read after `STEADY_TIME`.
    async fn read_with(&self, bucket: &str, owner: &Value) -> ProviderResult<Option<Value>> {
        let started = std::time::Instant::now();
        let mut delay = std::time::Duration::from_millis(100);
        let mut last = self.read_once(bucket, owner).await?;
        loop {
            let Some(previous) = last.as_ref() else {
                return Ok(None);
            };
            let current = self.read_once(bucket, owner).await?;
            let steady = current.as_ref().is_some_and(|c| c.same_as(previous));
            if steady || started.elapsed() >= STEADY_TIME {
                return Ok(current);
            }
            last = current;
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(std::time::Duration::from_secs(5));
        }
    }

    async fn put(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        let bucket = bucket_of(&planned, TYPE)?;
        let rules = block_items(&planned, "rule")
            .iter()
            .map(aws_rule)
            .collect::<ProviderResult<Vec<_>>>()?;
        let conf = BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(|e| ProviderError::new(format!("{TYPE}: {e}")))?;
        let mut call = self
            .client
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(conf);
        if let Some(size) = planned
            .str_attr("transition_default_minimum_object_size")
            .filter(|s| !s.is_empty())
        {
            call = call.transition_default_minimum_object_size(
                TransitionDefaultMinimumObjectSize::from(size),
            );
        }
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
                Some("MalformedXML" | "InvalidRequest" | "InvalidArgument") => e.hint(
                    "S3 did not accept the rules: give each rule a `filter` (the rule-level `prefix` is deprecated and refused by some S3 implementations) and at least one action",
                ),
                _ => e,
            }
        })?;
        let wanted = normalized(&planned);
        match read_settled(&wanted, || self.read_once(bucket, &owner)).await? {
            Some(state) => Ok(state),
            None => Err(ProviderError::with_code(
                NOT_CONFIGURED,
                format!(
                    "{TYPE}: the lifecycle rules of bucket {bucket:?} cannot be read after they were put"
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

fn number(n: impl Into<f64>) -> Value {
    Value::Number(n.into())
}

fn opt_number<T: Into<f64>>(n: Option<T>) -> Value {
    n.map_or(Value::Null, number)
}

/// A date as the provider records it (RFC 3339, UTC).
fn date_state(d: Option<&DateTime>) -> Value {
    d.and_then(|d| d.fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime).ok())
        .map_or(Value::Null, Value::String)
}

fn tag_state(tag: &Tag) -> Value {
    Value::object([
        ("key", Value::string(tag.key())),
        ("value", Value::string(tag.value())),
    ])
}

fn filter_state(filter: Option<&LifecycleRuleFilter>) -> Value {
    let Some(f) = filter else {
        return Value::List(Vec::new());
    };
    // A filter with nothing in it is how the provider sends "no filter": it reads as none.
    if f.and().is_none()
        && f.object_size_greater_than().is_none()
        && f.object_size_less_than().is_none()
        && f.prefix().is_none()
        && f.tag().is_none()
    {
        return Value::List(Vec::new());
    }
    let and: Vec<Value> = f
        .and()
        .map(|a| {
            let tags: BTreeMap<String, Value> = a
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), Value::string(t.value())))
                .collect();
            Value::object([
                (
                    "object_size_greater_than",
                    number(a.object_size_greater_than().unwrap_or(0) as f64),
                ),
                (
                    "object_size_less_than",
                    number(a.object_size_less_than().unwrap_or(0) as f64),
                ),
                ("prefix", Value::string(a.prefix().unwrap_or(""))),
                (
                    "tags",
                    if tags.is_empty() {
                        Value::Null
                    } else {
                        Value::Map(tags)
                    },
                ),
            ])
        })
        .into_iter()
        .collect();
    Value::List(vec![Value::object([
        ("and", Value::List(and)),
        (
            "object_size_greater_than",
            opt_number(f.object_size_greater_than().map(|n| n as f64)),
        ),
        (
            "object_size_less_than",
            opt_number(f.object_size_less_than().map(|n| n as f64)),
        ),
        ("prefix", f.prefix().map_or(Value::Null, Value::string)),
        (
            "tag",
            Value::List(f.tag().map(tag_state).into_iter().collect()),
        ),
    ])])
}

/// One S3 rule as the provider records it.
fn rule_state(rule: &LifecycleRule) -> Value {
    let abort: Vec<Value> = rule
        .abort_incomplete_multipart_upload()
        .map(|a| {
            Value::object([(
                "days_after_initiation",
                opt_number(a.days_after_initiation()),
            )])
        })
        .into_iter()
        .collect();
    let expiration: Vec<Value> = rule
        .expiration()
        .map(|e| {
            Value::object([
                ("date", date_state(e.date())),
                ("days", number(e.days().unwrap_or(0))),
                (
                    "expired_object_delete_marker",
                    Value::Bool(e.expired_object_delete_marker().unwrap_or(false)),
                ),
            ])
        })
        .into_iter()
        .collect();
    let noncurrent_expiration: Vec<Value> = rule
        .noncurrent_version_expiration()
        .map(|e| {
            Value::object([
                (
                    "newer_noncurrent_versions",
                    opt_number(e.newer_noncurrent_versions()),
                ),
                ("noncurrent_days", opt_number(e.noncurrent_days())),
            ])
        })
        .into_iter()
        .collect();
    let noncurrent_transitions: Vec<Value> = rule
        .noncurrent_version_transitions()
        .iter()
        .map(|t| {
            Value::object([
                (
                    "newer_noncurrent_versions",
                    opt_number(t.newer_noncurrent_versions()),
                ),
                ("noncurrent_days", opt_number(t.noncurrent_days())),
                (
                    "storage_class",
                    t.storage_class()
                        .map_or(Value::Null, |c| Value::string(c.as_str())),
                ),
            ])
        })
        .collect();
    let transitions: Vec<Value> = rule
        .transitions()
        .iter()
        .map(|t| {
            Value::object([
                ("date", date_state(t.date())),
                ("days", opt_number(t.days())),
                (
                    "storage_class",
                    t.storage_class()
                        .map_or(Value::Null, |c| Value::string(c.as_str())),
                ),
            ])
        })
        .collect();
    Value::object([
        ("id", Value::string(rule.id().unwrap_or(""))),
        // The rule-level prefix is deprecated in S3's model, but the provider still
        // records (and sends) it.
        #[allow(deprecated)]
        ("prefix", Value::string(rule.prefix().unwrap_or(""))),
        ("status", Value::string(rule.status().as_str())),
        ("abort_incomplete_multipart_upload", Value::List(abort)),
        ("expiration", Value::List(expiration)),
        ("filter", filter_state(rule.filter())),
        (
            "noncurrent_version_expiration",
            Value::List(noncurrent_expiration),
        ),
        (
            "noncurrent_version_transition",
            Value::Set(Value::sort_set(noncurrent_transitions)),
        ),
        ("transition", Value::Set(Value::sort_set(transitions))),
    ])
}

fn int(v: &Value, name: &str) -> Option<i64> {
    v.get(name).and_then(Value::as_f64).map(|n| n as i64)
}

fn int32(v: &Value, name: &str) -> Option<i32> {
    int(v, name).and_then(|n| i32::try_from(n).ok())
}

fn text<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.str_attr(name)
}

fn first<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    block_items(v, name).first()
}

fn parse_date(rule_id: &str, s: &str) -> ProviderResult<DateTime> {
    DateTime::from_str(s, aws_sdk_s3::primitives::DateTimeFormat::DateTime).map_err(|_| {
        ProviderError::new(format!(
            "{TYPE}: rule {rule_id:?}: date {s:?} is not an RFC 3339 time"
        ))
        .hint("write it as 2030-01-01T00:00:00Z (S3 takes midnight UTC)")
    })
}

fn aws_tag(key: &str, value: &str) -> ProviderResult<Tag> {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| ProviderError::new(format!("{TYPE}: tag: {e}")))
}

/// The rule's filter as the provider sends it: no `filter` (and no rule-level prefix)
/// is an empty filter; a `filter {}` with nothing in it is `prefix = ""`.
fn aws_filter(rule: &Value) -> ProviderResult<Option<LifecycleRuleFilter>> {
    let Some(f) = first(rule, "filter") else {
        let has_prefix = text(rule, "prefix").is_some_and(|p| !p.is_empty());
        return Ok((!has_prefix).then(|| LifecycleRuleFilter::builder().build()));
    };
    let mut b = LifecycleRuleFilter::builder()
        .set_object_size_greater_than(int(f, "object_size_greater_than"))
        .set_object_size_less_than(int(f, "object_size_less_than"))
        .set_prefix(text(f, "prefix").map(str::to_string));
    if let Some(tag) = first(f, "tag") {
        b = b.tag(aws_tag(
            text(tag, "key").unwrap_or(""),
            text(tag, "value").unwrap_or(""),
        )?);
    }
    if let Some(and) = first(f, "and") {
        let mut op = LifecycleRuleAndOperator::builder()
            .set_object_size_greater_than(int(and, "object_size_greater_than").filter(|n| *n != 0))
            .set_object_size_less_than(int(and, "object_size_less_than").filter(|n| *n != 0))
            .set_prefix(
                text(and, "prefix")
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            );
        if let Some(tags) = and.get("tags").and_then(Value::as_map) {
            for (k, v) in tags {
                op = op.tags(aws_tag(k, v.as_str().unwrap_or(""))?);
            }
        }
        b = b.and(op.build());
    }
    let filter = b.build();
    let empty = filter.and().is_none()
        && filter.object_size_greater_than().is_none()
        && filter.object_size_less_than().is_none()
        && filter.prefix().is_none()
        && filter.tag().is_none();
    Ok(Some(if empty {
        LifecycleRuleFilter::builder().prefix("").build()
    } else {
        filter
    }))
}

/// A configured rule as S3 takes it.
// The rule-level prefix is deprecated in S3's model; the provider still sends it.
#[allow(deprecated)]
fn aws_rule(rule: &Value) -> ProviderResult<LifecycleRule> {
    let id = text(rule, "id").unwrap_or("");
    let mut b = LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::from(text(rule, "status").unwrap_or("")))
        .set_filter(aws_filter(rule)?)
        .set_prefix(
            text(rule, "prefix")
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        );
    if let Some(a) = first(rule, "abort_incomplete_multipart_upload") {
        b = b.abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .set_days_after_initiation(int32(a, "days_after_initiation"))
                .build(),
        );
    }
    if let Some(e) = first(rule, "expiration") {
        let date = text(e, "date").map(|d| parse_date(id, d)).transpose()?;
        // A recorded 0 is the provider's "unset" (legacy value), never sent.
        let days = int32(e, "days").filter(|d| *d != 0);
        let marker = match e
            .get("expired_object_delete_marker")
            .and_then(Value::as_bool)
        {
            _ if date.is_some() || days.is_some() => None,
            Some(m) => Some(m),
            None => Some(false),
        };
        b = b.expiration(
            LifecycleExpiration::builder()
                .set_date(date)
                .set_days(days)
                .set_expired_object_delete_marker(marker)
                .build(),
        );
    }
    if let Some(e) = first(rule, "noncurrent_version_expiration") {
        b = b.noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .set_noncurrent_days(int32(e, "noncurrent_days"))
                .set_newer_noncurrent_versions(int32(e, "newer_noncurrent_versions"))
                .build(),
        );
    }
    for t in block_items(rule, "noncurrent_version_transition") {
        b = b.noncurrent_version_transitions(
            NoncurrentVersionTransition::builder()
                .set_noncurrent_days(int32(t, "noncurrent_days"))
                .set_newer_noncurrent_versions(int32(t, "newer_noncurrent_versions"))
                .set_storage_class(text(t, "storage_class").map(TransitionStorageClass::from))
                .build(),
        );
    }
    for t in block_items(rule, "transition") {
        let date = text(t, "date").map(|d| parse_date(id, d)).transpose()?;
        let days = match int32(t, "days") {
            None if date.is_none() => Some(0),
            days => days,
        };
        b = b.transitions(
            Transition::builder()
                .set_date(date)
                .set_days(days)
                .set_storage_class(text(t, "storage_class").map(TransitionStorageClass::from))
                .build(),
        );
    }
    b.build()
        .map_err(|e| ProviderError::new(format!("{TYPE}: rule {id:?}: {e}")))
}

/// `v[name]` when it is set (not null), else `empty`; an unknown value stays unknown.
fn or_value(v: &Value, name: &str, empty: Value) -> Value {
    match v.get(name) {
        Some(x) if !x.is_null() => x.clone(),
        _ => empty,
    }
}

/// The items of a configured block, each through `f`, as a list (or a set when
/// `unordered`); an unknown block list stays unknown.
fn each(v: &Value, name: &str, unordered: bool, f: impl Fn(&Value) -> Value) -> Value {
    match v.get(name) {
        Some(x) if x.is_unknown() => Value::Unknown,
        _ => {
            let items: Vec<Value> = block_items(v, name).iter().map(f).collect();
            if unordered {
                Value::Set(Value::sort_set(items))
            } else {
                Value::List(items)
            }
        }
    }
}

fn known_null(v: &Value, name: &str) -> bool {
    v.get(name).is_none_or(Value::is_null)
}

/// A configured filter as the provider plans and reads it back.
fn normalized_filter(f: &Value) -> Value {
    let and = each(f, "and", false, |a| {
        Value::object([
            (
                "object_size_greater_than",
                or_value(a, "object_size_greater_than", number(0)),
            ),
            (
                "object_size_less_than",
                or_value(a, "object_size_less_than", number(0)),
            ),
            ("prefix", or_value(a, "prefix", Value::string(""))),
            (
                "tags",
                match a.get("tags") {
                    Some(t) if t.as_map().is_some_and(BTreeMap::is_empty) => Value::Null,
                    Some(t) => t.clone(),
                    None => Value::Null,
                },
            ),
        ])
    });
    let tag = each(f, "tag", false, Value::clone);
    let nothing = block_items(f, "and").is_empty()
        && block_items(f, "tag").is_empty()
        && known_null(f, "object_size_greater_than")
        && known_null(f, "object_size_less_than")
        && known_null(f, "prefix");
    let prefix = if nothing {
        Value::string("")
    } else if !block_items(f, "and").is_empty() || !block_items(f, "tag").is_empty() {
        Value::Null
    } else {
        or_value(f, "prefix", Value::Null)
    };
    Value::object([
        ("and", and),
        (
            "object_size_greater_than",
            or_value(f, "object_size_greater_than", Value::Null),
        ),
        (
            "object_size_less_than",
            or_value(f, "object_size_less_than", Value::Null),
        ),
        ("prefix", prefix),
        ("tag", tag),
    ])
}

/// A configured rule with the provider's values for what it leaves out, so the plan
/// holds what state will record.
fn normalized_rule(rule: &Value) -> Value {
    let expiration = each(rule, "expiration", false, |e| {
        Value::object([
            ("date", or_value(e, "date", Value::Null)),
            ("days", or_value(e, "days", number(0))),
            (
                "expired_object_delete_marker",
                or_value(e, "expired_object_delete_marker", Value::Bool(false)),
            ),
        ])
    });
    let transition = each(rule, "transition", true, |t| {
        let dated = !known_null(t, "date");
        Value::object([
            ("date", or_value(t, "date", Value::Null)),
            (
                "days",
                or_value(t, "days", if dated { Value::Null } else { number(0) }),
            ),
            ("storage_class", or_value(t, "storage_class", Value::Null)),
        ])
    });
    let noncurrent = |t: &Value, with_class: bool| {
        let mut pairs = vec![
            (
                "newer_noncurrent_versions",
                or_value(t, "newer_noncurrent_versions", Value::Null),
            ),
            (
                "noncurrent_days",
                or_value(t, "noncurrent_days", Value::Null),
            ),
        ];
        if with_class {
            pairs.push(("storage_class", or_value(t, "storage_class", Value::Null)));
        }
        Value::object(pairs)
    };
    Value::object([
        ("id", or_value(rule, "id", Value::Null)),
        ("prefix", or_value(rule, "prefix", Value::string(""))),
        ("status", or_value(rule, "status", Value::Null)),
        (
            "abort_incomplete_multipart_upload",
            each(rule, "abort_incomplete_multipart_upload", false, |a| {
                Value::object([(
                    "days_after_initiation",
                    or_value(a, "days_after_initiation", Value::Null),
                )])
            }),
        ),
        ("expiration", expiration),
        ("filter", each(rule, "filter", false, normalized_filter)),
        (
            "noncurrent_version_expiration",
            each(rule, "noncurrent_version_expiration", false, |t| {
                noncurrent(t, false)
            }),
        ),
        (
            "noncurrent_version_transition",
            each(rule, "noncurrent_version_transition", true, |t| {
                noncurrent(t, true)
            }),
        ),
        ("transition", transition),
    ])
}

/// `planned` with every rule normalised, the owner "" when unset and the provider's
/// default minimum object size.
fn normalized(planned: &Value) -> Value {
    let mut out = planned.clone();
    let rules = each(planned, "rule", false, normalized_rule);
    set_attr(&mut out, "rule", rules);
    if out.get("expected_bucket_owner").is_none_or(Value::is_null) {
        set_attr(&mut out, "expected_bucket_owner", Value::string(""));
    }
    if out
        .get("transition_default_minimum_object_size")
        .is_none_or(Value::is_null)
    {
        set_attr(
            &mut out,
            "transition_default_minimum_object_size",
            Value::string(DEFAULT_MINIMUM_SIZE),
        );
    }
    set_attr(&mut out, "timeouts", Value::Null);
    let id = match (
        out.get("bucket").and_then(Value::as_str),
        out.get("expected_bucket_owner"),
    ) {
        (Some(bucket), Some(owner)) if owner.is_wholly_known() => {
            Value::String(resource_id(bucket, owner.as_str()))
        }
        _ => Value::Unknown,
    };
    set_attr(&mut out, "id", id);
    out
}

fn rule_error(i: usize, rule: &Value, what: String) -> ProviderError {
    let name = rule
        .str_attr("id")
        .map_or(format!("#{}", i + 1), |id| format!("{id:?}"));
    ProviderError::new(format!("{TYPE}: rule {name}: {what}"))
}

/// Refuses at plan what the provider's validators or S3 would refuse, naming the rule.
fn validate(config: &Value) -> ProviderResult<()> {
    check_no_timeouts(TYPE, config)?;
    crate::common::require_block(
        config,
        "rule",
        TYPE,
        "rule { id = \"expire\" status = \"Enabled\" filter {} expiration { days = 30 } }",
    )?;
    if let Some(size) = config.str_attr("transition_default_minimum_object_size")
        && !MINIMUM_SIZES.contains(&size)
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: transition_default_minimum_object_size is {size:?}"
        ))
        .hint(format!("use one of {}", MINIMUM_SIZES.join(", "))));
    }
    for (i, rule) in block_items(config, "rule").iter().enumerate() {
        if let Some(id) = rule.str_attr("id")
            && (id.is_empty() || id.len() > 255)
        {
            return Err(rule_error(
                i,
                rule,
                format!("id is {} characters; S3 takes 1 to 255", id.len()),
            ));
        }
        if let Some(status) = rule.str_attr("status")
            && !STATUSES.contains(&status)
        {
            return Err(rule_error(i, rule, format!("status is {status:?}"))
                .hint("use Enabled or Disabled"));
        }
        for block in [
            "abort_incomplete_multipart_upload",
            "expiration",
            "filter",
            "noncurrent_version_expiration",
        ] {
            if block_items(rule, block).len() > 1 {
                return Err(rule_error(
                    i,
                    rule,
                    format!(
                        "{} `{block}` blocks; at most one",
                        block_items(rule, block).len()
                    ),
                ));
            }
        }
        if let Some(f) = first(rule, "filter") {
            for block in ["and", "tag"] {
                if block_items(f, block).len() > 1 {
                    return Err(rule_error(
                        i,
                        rule,
                        format!(
                            "filter has {} `{block}` blocks; at most one",
                            block_items(f, block).len()
                        ),
                    ));
                }
            }
        }
        for t in block_items(rule, "transition")
            .iter()
            .chain(block_items(rule, "noncurrent_version_transition"))
        {
            if let Some(class) = t.str_attr("storage_class")
                && !STORAGE_CLASSES.contains(&class)
            {
                return Err(rule_error(
                    i,
                    rule,
                    format!("storage_class {class:?} is not a transition class"),
                )
                .hint(format!("use one of {}", STORAGE_CLASSES.join(", "))));
            }
        }
        for t in block_items(rule, "transition") {
            if !known_null(t, "date") && !known_null(t, "days") {
                return Err(rule_error(
                    i,
                    rule,
                    "a transition has both `date` and `days`; give one".into(),
                ));
            }
            if let Some(d) = t.str_attr("date") {
                parse_date(rule.str_attr("id").unwrap_or(""), d)?;
            }
        }
        if let Some(e) = first(rule, "expiration")
            && let Some(d) = e.str_attr("date")
        {
            parse_date(rule.str_attr("id").unwrap_or(""), d)?;
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

/// The rule ids of a configuration, sorted.
fn rule_ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = block_items(v, "rule")
        .iter()
        .filter_map(|r| r.str_attr("id").map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[async_trait]
impl ResourceType for BucketLifecycleConfigurationResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let mut plan = plan_from_schema(&self.schema, prior, config);
        let mut from_config = plan.planned.clone();
        // What the configuration leaves out is the provider's default, not "known after
        // apply": the plan holds what state will record.
        for (name, default) in [
            ("rule", Value::List(Vec::new())),
            ("expected_bucket_owner", Value::string("")),
            (
                "transition_default_minimum_object_size",
                Value::string(DEFAULT_MINIMUM_SIZE),
            ),
        ] {
            set_attr(&mut from_config, name, or_value(config, name, default));
        }
        plan.planned = normalized(&from_config);
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
        let mut call = self.client.delete_bucket_lifecycle().bucket(&bucket);
        if let Some(owner) = owner.as_str().filter(|o| !o.is_empty()) {
            call = call.expected_bucket_owner(owner);
        }
        found_or_absent(call.send().await.map_err(sdk_error), &[NOT_CONFIGURED])?;
        Ok(())
    }

    /// A create whose answer was lost put the rules or did not. The bucket has one
    /// configuration: when it holds exactly the planned rule ids it is this create's
    /// (the engine's update then brings any detail to the plan); anything else (none, or
    /// another writer's rules) means the put did not land, and the create puts it again,
    /// which replaces the bucket's configuration as the first attempt would have.
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
        if !planned.get("rule").is_some_and(Value::is_wholly_known) {
            return Ok(Finding::CannotTell);
        }
        let owner = planned
            .get("expected_bucket_owner")
            .cloned()
            .unwrap_or(Value::Null);
        Ok(match self.read_once(bucket, &owner).await? {
            Some(object) if rule_ids(&object) == rule_ids(&planned) => {
                let id = object.str_attr("id").unwrap_or(bucket).to_string();
                Finding::Found(Found {
                    object,
                    created: None,
                    by: FoundBy::Name,
                    id,
                })
            }
            _ => Finding::Absent,
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

    fn block(pairs: Vec<(&str, Value)>) -> Value {
        Value::List(vec![Value::object(pairs)])
    }

    #[test]
    fn an_empty_filter_plans_and_sends_an_empty_prefix() {
        let r = rule(vec![
            ("id", Value::string("a")),
            ("status", Value::string("Enabled")),
            ("filter", block(vec![])),
            ("expiration", block(vec![("days", number(30))])),
        ]);
        let n = normalized_rule(&r);
        let f = &n.get("filter").unwrap().as_seq().unwrap()[0];
        assert_eq!(f.get("prefix"), Some(&Value::string("")));
        assert_eq!(f.get("object_size_greater_than"), Some(&Value::Null));
        let e = &n.get("expiration").unwrap().as_seq().unwrap()[0];
        assert_eq!(
            e.get("expired_object_delete_marker"),
            Some(&Value::Bool(false))
        );
        assert_eq!(n.get("prefix"), Some(&Value::string("")));
        let sent = aws_rule(&r).unwrap();
        assert_eq!(sent.filter().and_then(|f| f.prefix()), Some(""));
        // A day count clears the marker the provider would otherwise send as false.
        assert_eq!(
            sent.expiration().unwrap().expired_object_delete_marker(),
            None
        );
    }

    #[test]
    fn no_filter_is_sent_as_an_empty_filter_and_reads_as_none() {
        let r = rule(vec![
            ("id", Value::string("b")),
            ("status", Value::string("Enabled")),
            (
                "transition",
                block(vec![("storage_class", Value::string("GLACIER"))]),
            ),
        ]);
        let sent = aws_rule(&r).unwrap();
        let f = sent.filter().unwrap();
        assert!(f.prefix().is_none() && f.and().is_none());
        assert_eq!(sent.transitions()[0].days(), Some(0));
        let read = rule_state(&sent);
        assert_eq!(read.get("filter"), Some(&Value::List(vec![])));
        assert!(read.same_as(&normalized_rule(&r)), "{read:?}");
    }

    #[test]
    fn an_and_filter_reads_back_as_planned() {
        let tags = Value::Map(BTreeMap::from([("k".to_string(), Value::string("v"))]));
        let r = rule(vec![
            ("id", Value::string("c")),
            ("status", Value::string("Disabled")),
            (
                "filter",
                block(vec![(
                    "and",
                    block(vec![
                        ("prefix", Value::string("logs/")),
                        ("tags", tags),
                        ("object_size_greater_than", number(10)),
                    ]),
                )]),
            ),
            (
                "noncurrent_version_expiration",
                block(vec![("noncurrent_days", number(5))]),
            ),
            (
                "abort_incomplete_multipart_upload",
                block(vec![("days_after_initiation", number(7))]),
            ),
        ]);
        let read = rule_state(&aws_rule(&r).unwrap());
        assert!(read.same_as(&normalized_rule(&r)), "{read:?}");
    }

    #[test]
    fn bad_rules_are_refused_naming_the_rule() {
        let config = Value::object([(
            "rule",
            Value::List(vec![rule(vec![
                ("id", Value::string("x")),
                ("status", Value::string("On")),
            ])]),
        )]);
        let err = validate(&config).unwrap_err();
        assert!(
            err.message.contains("\"x\"") && err.message.contains("On"),
            "{err}"
        );
        let none = Value::object([("rule", Value::List(vec![]))]);
        assert!(validate(&none).unwrap_err().message.contains("rule"));
        let both = Value::object([(
            "rule",
            Value::List(vec![rule(vec![
                ("id", Value::string("t")),
                ("status", Value::string("Enabled")),
                (
                    "transition",
                    block(vec![
                        ("days", number(1)),
                        ("date", Value::string("2030-01-01T00:00:00Z")),
                        ("storage_class", Value::string("GLACIER")),
                    ]),
                ),
            ])]),
        )]);
        assert!(validate(&both).unwrap_err().message.contains("both"));
    }

    #[test]
    fn ids_carry_the_owner_only_when_given() {
        assert_eq!(resource_id("b", Some("")), "b");
        assert_eq!(resource_id("b", Some("1")), "b,1");
        assert_eq!(parse_id("b,1"), ("b".to_string(), Value::string("1")));
    }
}
