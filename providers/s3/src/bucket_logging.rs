//! `aws_s3_bucket_logging`: where S3 writes the bucket's server access logs (the target
//! bucket and key prefix, optional grants on the log objects and the log object key
//! format). As the provider (hashicorp/aws 5.100.0): the id is the bucket, or
//! `bucket,expected_bucket_owner`, and import takes either; a grantee's unset strings are
//! recorded as "" (the plugin SDK's empty value); the key format's `simple_prefix` is a
//! block with nothing in it; deleting turns logging off (an empty logging status), after
//! which the bucket reads as having no logging, which is "gone".

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLoggingStatus, BucketLogsPermission, Grantee, LoggingEnabled, PartitionDateSource,
    PartitionedPrefix, SimplePrefix, TargetGrant, TargetObjectKeyFormat, Type,
};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, BlockType, CreateIntent, Finding, Found, FoundBy, PlannedState,
    ProviderError, ProviderResult, ResourceType, Schema, Value, plan_from_schema,
};

use crate::common::{
    block_items, bucket_of, client, found_or_absent, owner_or_empty, read_settled, replace_paths,
    set_attr, with_bucket_hint,
};

const TYPE: &str = "aws_s3_bucket_logging";
const PERMISSIONS: [&str; 3] = ["FULL_CONTROL", "READ", "WRITE"];
const GRANTEE_TYPES: [&str; 3] = ["AmazonCustomerByEmail", "CanonicalUser", "Group"];
const DATE_SOURCES: [&str; 2] = ["EventTime", "DeliveryTime"];

pub struct BucketLoggingResource {
    client: aws_sdk_s3::Client,
    schema: Schema,
}

fn one_block(schema: Schema, min_items: usize) -> BlockType {
    BlockType {
        schema,
        min_items,
        max_items: 1,
        ..BlockType::default()
    }
}

impl BucketLoggingResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let text = || AttrType::String;
        let grantee = Schema::new()
            .attr("display_name", Attribute::computed(text()))
            .attr("email_address", Attribute::optional(text()))
            .attr("id", Attribute::optional(text()))
            .attr("type", Attribute::required(text()))
            .attr("uri", Attribute::optional(text()));
        let grant = Schema::new()
            .attr("permission", Attribute::required(text()))
            .block("grantee", one_block(grantee, 1));
        let key_format = Schema::new()
            .block(
                "partitioned_prefix",
                one_block(
                    Schema::new().attr("partition_date_source", Attribute::required(text())),
                    0,
                ),
            )
            .block("simple_prefix", one_block(Schema::new(), 0));
        let schema = Schema::new()
            .attr("bucket", Attribute::required(text()).force_new())
            .attr(
                "expected_bucket_owner",
                Attribute::optional(text()).force_new(),
            )
            .attr("id", Attribute::computed(text()))
            .attr("target_bucket", Attribute::required(text()))
            .attr("target_prefix", Attribute::required(text()))
            .block(
                "target_grant",
                BlockType {
                    schema: grant,
                    unordered: true,
                    ..BlockType::default()
                },
            )
            .block("target_object_key_format", one_block(key_format, 0));
        BucketLoggingResource {
            client: client(&ctx),
            schema,
        }
    }

    /// The live logging settings as state; None when logging is off or the bucket gone.
    async fn read_with(&self, bucket: &str, owner: &Value) -> ProviderResult<Option<Value>> {
        let mut call = self.client.get_bucket_logging().bucket(bucket);
        if let Some(owner) = owner.as_str().filter(|o| !o.is_empty()) {
            call = call.expected_bucket_owner(owner);
        }
        let out = call.send().await.map_err(sdk_error);
        let Some(enabled) = found_or_absent(out, &[])?.and_then(|o| o.logging_enabled().cloned())
        else {
            return Ok(None);
        };
        let owner = owner_or_empty(owner.clone());
        Ok(Some(Value::object([
            ("id", Value::String(resource_id(bucket, owner.as_str()))),
            ("bucket", Value::string(bucket)),
            ("expected_bucket_owner", owner),
            ("target_bucket", Value::string(enabled.target_bucket())),
            ("target_prefix", Value::string(enabled.target_prefix())),
            (
                "target_grant",
                Value::Set(Value::sort_set(
                    enabled.target_grants().iter().map(grant_state).collect(),
                )),
            ),
            (
                "target_object_key_format",
                key_format_state(enabled.target_object_key_format()),
            ),
        ])))
    }

    async fn put(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        let bucket = bucket_of(&planned, TYPE)?;
        let grants = block_items(&planned, "target_grant")
            .iter()
            .map(aws_grant)
            .collect::<ProviderResult<Vec<_>>>()?;
        let enabled = LoggingEnabled::builder()
            .target_bucket(planned.str_attr("target_bucket").unwrap_or(""))
            .target_prefix(planned.str_attr("target_prefix").unwrap_or(""))
            .set_target_grants((!grants.is_empty()).then_some(grants))
            .set_target_object_key_format(aws_key_format(&planned))
            .build()
            .map_err(|e| ProviderError::new(format!("{TYPE}: {e}")))?;
        let mut call = self
            .client
            .put_bucket_logging()
            .bucket(bucket)
            .bucket_logging_status(
                BucketLoggingStatus::builder()
                    .logging_enabled(enabled)
                    .build(),
            );
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
                Some("InvalidTargetBucketForLogging") => e.hint(
                    "the target bucket must exist, be in the same region and account, and allow the S3 logging service to write to it",
                ),
                _ => e,
            }
        })?;
        let wanted = normalized(&planned);
        match read_settled(&wanted, || self.read_with(bucket, &owner)).await? {
            Some(state) => Ok(state),
            None => Err(ProviderError::new(format!(
                "{TYPE}: the logging of bucket {bucket:?} reads as off after it was turned on"
            ))
            .hint("something turned it off or deleted the bucket outside forge: plan again")),
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

fn grant_state(grant: &TargetGrant) -> Value {
    let grantee: Vec<Value> = grant
        .grantee()
        .map(|g| {
            Value::object([
                (
                    "display_name",
                    Value::string(g.display_name().unwrap_or("")),
                ),
                (
                    "email_address",
                    Value::string(g.email_address().unwrap_or("")),
                ),
                ("id", Value::string(g.id().unwrap_or(""))),
                ("type", Value::string(g.r#type().as_str())),
                ("uri", Value::string(g.uri().unwrap_or(""))),
            ])
        })
        .into_iter()
        .collect();
    Value::object([
        (
            "permission",
            Value::string(grant.permission().map(|p| p.as_str()).unwrap_or("")),
        ),
        ("grantee", Value::List(grantee)),
    ])
}

fn key_format_state(format: Option<&TargetObjectKeyFormat>) -> Value {
    let Some(f) = format else {
        return Value::List(Vec::new());
    };
    let partitioned: Vec<Value> = f
        .partitioned_prefix()
        .map(|p| {
            Value::object([(
                "partition_date_source",
                Value::string(p.partition_date_source().map(|s| s.as_str()).unwrap_or("")),
            )])
        })
        .into_iter()
        .collect();
    let simple: Vec<Value> = f
        .simple_prefix()
        .map(|_| Value::Object(Default::default()))
        .into_iter()
        .collect();
    Value::List(vec![Value::object([
        ("partitioned_prefix", Value::List(partitioned)),
        ("simple_prefix", Value::List(simple)),
    ])])
}

fn aws_grant(grant: &Value) -> ProviderResult<TargetGrant> {
    let mut b = TargetGrant::builder()
        .set_permission(grant.str_attr("permission").map(BucketLogsPermission::from));
    if let Some(g) = block_items(grant, "grantee").first() {
        let some = |name: &str| {
            g.str_attr(name)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let grantee = Grantee::builder()
            .set_email_address(some("email_address"))
            .set_id(some("id"))
            .set_uri(some("uri"))
            .r#type(Type::from(g.str_attr("type").unwrap_or("")))
            .build()
            .map_err(|e| ProviderError::new(format!("{TYPE}: target_grant: {e}")))?;
        b = b.grantee(grantee);
    }
    Ok(b.build())
}

fn aws_key_format(planned: &Value) -> Option<TargetObjectKeyFormat> {
    let f = block_items(planned, "target_object_key_format").first()?;
    let mut b = TargetObjectKeyFormat::builder();
    if let Some(p) = block_items(f, "partitioned_prefix").first() {
        b = b.partitioned_prefix(
            PartitionedPrefix::builder()
                .set_partition_date_source(
                    p.str_attr("partition_date_source")
                        .map(PartitionDateSource::from),
                )
                .build(),
        );
    }
    if !block_items(f, "simple_prefix").is_empty() {
        b = b.simple_prefix(SimplePrefix::builder().build());
    }
    Some(b.build())
}

/// A configured grant with "" for the grantee strings it leaves out and the
/// grantee's display name as it will read (unknown until S3 says).
fn normalized_grant(grant: &Value, prior: &[Value]) -> Value {
    let mut out = grant.clone();
    let grantees: Vec<Value> = block_items(grant, "grantee")
        .iter()
        .map(|g| {
            let mut g = g.clone();
            for name in ["email_address", "id", "uri"] {
                if g.get(name).is_none_or(Value::is_null) {
                    set_attr(&mut g, name, Value::string(""));
                }
            }
            // The display name is S3's: keep what a read recorded for the same grant.
            let recorded = prior.iter().find_map(|p| {
                let pg = block_items(p, "grantee").first()?;
                let same = ["email_address", "id", "type", "uri"].iter().all(|k| {
                    pg.get(k)
                        .unwrap_or(&Value::Null)
                        .same_as(g.get(k).unwrap_or(&Value::Null))
                }) && p
                    .get("permission")
                    .unwrap_or(&Value::Null)
                    .same_as(grant.get("permission").unwrap_or(&Value::Null));
                same.then(|| pg.get("display_name").cloned()).flatten()
            });
            set_attr(&mut g, "display_name", recorded.unwrap_or(Value::Unknown));
            g
        })
        .collect();
    set_attr(&mut out, "grantee", Value::List(grantees));
    out
}

/// `planned` as state will record it: the owner "" when unset, grants normalised and
/// the key format's blocks present (empty) when not configured.
fn normalized(planned: &Value) -> Value {
    normalized_from(planned, None)
}

fn normalized_from(planned: &Value, prior: Option<&Value>) -> Value {
    let mut out = planned.clone();
    if out.get("expected_bucket_owner").is_none_or(Value::is_null) {
        set_attr(&mut out, "expected_bucket_owner", Value::string(""));
    }
    let prior_grants = prior.map_or(&[][..], |p| block_items(p, "target_grant"));
    if let Some(grants) = planned.get("target_grant").filter(|v| v.is_wholly_known()) {
        let items: Vec<Value> = grants
            .as_seq()
            .unwrap_or(&[])
            .iter()
            .map(|g| normalized_grant(g, prior_grants))
            .collect();
        set_attr(&mut out, "target_grant", Value::Set(Value::sort_set(items)));
    }
    let id = match (
        out.get("bucket").and_then(Value::as_str),
        out.get("expected_bucket_owner").and_then(Value::as_str),
    ) {
        (Some(bucket), Some(owner)) => Value::String(resource_id(bucket, Some(owner))),
        _ => Value::Unknown,
    };
    set_attr(&mut out, "id", id);
    out
}

/// Refuses at plan what the provider's validators would refuse.
fn validate(config: &Value) -> ProviderResult<()> {
    for (i, grant) in block_items(config, "target_grant").iter().enumerate() {
        if let Some(p) = grant.str_attr("permission")
            && !PERMISSIONS.contains(&p)
        {
            return Err(ProviderError::new(format!(
                "{TYPE}: target_grant #{}: permission {p:?}",
                i + 1
            ))
            .hint(format!("use one of {}", PERMISSIONS.join(", "))));
        }
        for g in block_items(grant, "grantee") {
            if let Some(t) = g.str_attr("type")
                && !GRANTEE_TYPES.contains(&t)
            {
                return Err(ProviderError::new(format!(
                    "{TYPE}: target_grant #{}: grantee type {t:?}",
                    i + 1
                ))
                .hint(format!("use one of {}", GRANTEE_TYPES.join(", "))));
            }
        }
    }
    if let Some(f) = block_items(config, "target_object_key_format").first() {
        let partitioned = block_items(f, "partitioned_prefix");
        let simple = block_items(f, "simple_prefix");
        if partitioned.is_empty() == simple.is_empty() {
            return Err(ProviderError::new(format!(
                "{TYPE}: target_object_key_format needs exactly one of partitioned_prefix and simple_prefix"
            ))
            .hint("write `simple_prefix {}` or `partitioned_prefix { partition_date_source = \"EventTime\" }`"));
        }
        for p in partitioned {
            if let Some(s) = p.str_attr("partition_date_source")
                && !DATE_SOURCES.contains(&s)
            {
                return Err(
                    ProviderError::new(format!("{TYPE}: partition_date_source {s:?}"))
                        .hint(format!("use one of {}", DATE_SOURCES.join(", "))),
                );
            }
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
impl ResourceType for BucketLoggingResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let mut plan = plan_from_schema(&self.schema, prior, config);
        if let Some(grants) = config.get("target_grant") {
            set_attr(&mut plan.planned, "target_grant", grants.clone());
        }
        plan.planned = normalized_from(&plan.planned, prior);
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
        let mut call = self
            .client
            .put_bucket_logging()
            .bucket(&bucket)
            .bucket_logging_status(BucketLoggingStatus::builder().build());
        if let Some(owner) = owner.as_str().filter(|o| !o.is_empty()) {
            call = call.expected_bucket_owner(owner);
        }
        found_or_absent(call.send().await.map_err(sdk_error), &[])?;
        Ok(())
    }

    /// A create whose answer was lost turned logging on or did not: logging into the
    /// planned target bucket and prefix is this create's (one logging setting per
    /// bucket); logging elsewhere, or none, means the put did not land and the create
    /// puts it again, as its first attempt would have.
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let known = |name: &str| {
            planned
                .get(name)
                .filter(|v| v.is_wholly_known())
                .and_then(Value::as_str)
        };
        let (Some(bucket), Some(target), Some(prefix)) = (
            known("bucket"),
            known("target_bucket"),
            known("target_prefix"),
        ) else {
            return Ok(Finding::CannotTell);
        };
        let owner = planned
            .get("expected_bucket_owner")
            .cloned()
            .unwrap_or(Value::Null);
        Ok(match self.read_with(bucket, &owner).await? {
            Some(object)
                if object.str_attr("target_bucket") == Some(target)
                    && object.str_attr("target_prefix") == Some(prefix) =>
            {
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

    fn grant(permission: &str, grantee: Vec<(&str, Value)>) -> Value {
        Value::object([
            ("permission", Value::string(permission)),
            ("grantee", Value::List(vec![Value::object(grantee)])),
        ])
    }

    #[test]
    fn a_grant_reads_back_as_planned_with_the_providers_empty_strings() {
        let configured = grant(
            "READ",
            vec![
                ("type", Value::string("Group")),
                (
                    "uri",
                    Value::string("http://acs.amazonaws.com/groups/global/AllUsers"),
                ),
            ],
        );
        let planned = normalized_grant(&configured, &[]);
        let g = &block_items(&planned, "grantee")[0];
        assert_eq!(g.get("id"), Some(&Value::string("")));
        assert_eq!(g.get("display_name"), Some(&Value::Unknown));
        let read = grant_state(&aws_grant(&configured).unwrap());
        // Once read, the display name S3 gave is kept for the same grant.
        let again = normalized_grant(&configured, std::slice::from_ref(&read));
        assert!(again.same_as(&read), "{again:?}\n{read:?}");
    }

    #[test]
    fn key_format_needs_exactly_one_kind() {
        let both = Value::object([(
            "target_object_key_format",
            Value::List(vec![Value::object([
                ("partitioned_prefix", Value::List(vec![])),
                ("simple_prefix", Value::List(vec![])),
            ])]),
        )]);
        assert!(validate(&both).unwrap_err().message.contains("exactly one"));
        let simple = Value::object([(
            "target_object_key_format",
            Value::List(vec![Value::object([
                ("partitioned_prefix", Value::List(vec![])),
                (
                    "simple_prefix",
                    Value::List(vec![Value::Object(Default::default())]),
                ),
            ])]),
        )]);
        assert!(validate(&simple).is_ok());
        let sent = aws_key_format(&simple).unwrap();
        assert!(sent.simple_prefix().is_some());
        assert_eq!(
            key_format_state(Some(&sent)),
            Value::List(vec![Value::object([
                ("partitioned_prefix", Value::List(vec![])),
                (
                    "simple_prefix",
                    Value::List(vec![Value::Object(Default::default())])
                ),
            ])])
        );
    }

    #[test]
    fn bad_permissions_are_refused() {
        let config = Value::object([(
            "target_grant",
            Value::List(vec![grant("ALL", vec![("type", Value::string("Group"))])]),
        )]);
        assert!(validate(&config).unwrap_err().message.contains("ALL"));
    }
}
