//! `aws_s3_bucket_server_side_encryption_configuration`: default encryption of new
//! objects. The id is the bucket name. Deleting it returns the bucket to S3's own default
//! (SSE-S3), as in Terraform.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, BlockType, PlannedState, ProviderError, ProviderResult, ResourceType,
    Schema, Value, plan_from_schema,
};

use crate::common::{
    block_items, bucket_of, client, first_block, found_or_absent, keep_empty_values_in_blocks,
    owner_or_empty, read_settled, replace_paths, with_bucket_hint,
};

const TYPE: &str = "aws_s3_bucket_server_side_encryption_configuration";
const ALGORITHMS: [&str; 3] = ["AES256", "aws:kms", "aws:kms:dsse"];
const NOT_CONFIGURED: &[&str] = &["ServerSideEncryptionConfigurationNotFoundError"];

pub struct BucketEncryptionResource {
    client: aws_sdk_s3::Client,
    schema: Schema,
}

impl BucketEncryptionResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let by_default = Schema::new()
            .attr("sse_algorithm", Attribute::required(AttrType::String))
            .attr("kms_master_key_id", Attribute::optional(AttrType::String));
        let rule = Schema::new()
            .attr("bucket_key_enabled", Attribute::optional(AttrType::Bool))
            .block(
                "apply_server_side_encryption_by_default",
                BlockType {
                    schema: by_default,
                    max_items: 1,
                    ..BlockType::default()
                },
            );
        let schema = Schema::new()
            .attr("bucket", Attribute::required(AttrType::String).force_new())
            .attr(
                "expected_bucket_owner",
                Attribute::optional(AttrType::String).force_new(),
            )
            .attr("id", Attribute::computed(AttrType::String))
            .block(
                "rule",
                BlockType {
                    schema: rule,
                    min_items: 1,
                    unordered: true,
                    ..BlockType::default()
                },
            );
        BucketEncryptionResource {
            client: client(&ctx),
            schema,
        }
    }

    async fn read_with(&self, bucket: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let out = self
            .client
            .get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        let Some(out) = found_or_absent(out, NOT_CONFIGURED)? else {
            return Ok(None);
        };
        let Some(conf) = out.server_side_encryption_configuration() else {
            return Ok(None);
        };
        if conf.rules().is_empty() {
            return Ok(None);
        }
        let rules = conf.rules().iter().map(rule_value).collect();
        let keep = state
            .get("expected_bucket_owner")
            .cloned()
            .filter(|v| !v.is_unknown())
            .unwrap_or(Value::Null);
        Ok(Some(Value::object([
            ("id", Value::string(bucket)),
            ("bucket", Value::string(bucket)),
            ("expected_bucket_owner", owner_or_empty(keep)),
            ("rule", Value::List(rules)),
        ])))
    }

    async fn put(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        let bucket = bucket_of(&planned, TYPE)?;
        let mut rules = Vec::new();
        for rule in block_items(&planned, "rule") {
            rules.push(rule_to_aws(rule)?);
        }
        let conf = ServerSideEncryptionConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(|e| ProviderError::new(format!("{TYPE}: {e}")))?;
        let mut call = self
            .client
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(conf);
        if let Some(owner) = planned.str_attr("expected_bucket_owner") {
            call = call.expected_bucket_owner(owner);
        }
        call.send().await.map_err(|e| {
            let e = with_bucket_hint(sdk_error(e), TYPE, bucket);
            match e.code.as_deref() {
                Some("InvalidArgument" | "KMS.NotFoundException") => {
                    e.hint("check sse_algorithm and that kms_master_key_id names a KMS key this account may use")
                }
                _ => e,
            }
        })?;
        match read_settled(&planned, || self.read_with(bucket, &planned)).await? {
            Some(v) => Ok(v),
            None => Err(crate::common::no_bucket(TYPE, bucket)),
        }
    }
}

/// One rule as state. S3 reports `bucket_key_enabled = false` when it was never set; that
/// stays null when the prior state had it null, so an unset argument is not drift.
fn rule_value(rule: &ServerSideEncryptionRule) -> Value {
    let by_default: Vec<Value> = rule
        .apply_server_side_encryption_by_default()
        .map(|d| {
            Value::object([
                ("sse_algorithm", Value::string(d.sse_algorithm().as_str())),
                (
                    "kms_master_key_id",
                    Value::string(d.kms_master_key_id().unwrap_or("")),
                ),
            ])
        })
        .into_iter()
        .collect();
    // The provider records `false` for a rule without bucket keys.
    let bucket_key = Value::Bool(rule.bucket_key_enabled().unwrap_or(false));
    Value::object([
        ("bucket_key_enabled", bucket_key),
        (
            "apply_server_side_encryption_by_default",
            Value::List(by_default),
        ),
    ])
}

fn rule_to_aws(rule: &Value) -> ProviderResult<ServerSideEncryptionRule> {
    let mut builder = ServerSideEncryptionRule::builder();
    if let Some(d) = first_block(rule, "apply_server_side_encryption_by_default") {
        let algorithm = d.str_attr("sse_algorithm").unwrap_or("AES256");
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(algorithm))
            // "" is the provider's recorded "no key": S3 refuses an empty key id.
            .set_kms_master_key_id(
                d.str_attr("kms_master_key_id")
                    .filter(|k| !k.is_empty())
                    .map(str::to_string),
            )
            .build()
            .map_err(|e| ProviderError::new(format!("{TYPE}: {e}")))?;
        builder = builder.apply_server_side_encryption_by_default(by_default);
    }
    if let Some(enabled) = rule.get("bucket_key_enabled").and_then(Value::as_bool) {
        builder = builder.bucket_key_enabled(enabled);
    }
    Ok(builder.build())
}

fn validate(config: &Value) -> ProviderResult<()> {
    let example = "rule { apply_server_side_encryption_by_default { sse_algorithm = \"AES256\" } }";
    crate::common::require_block(config, "rule", TYPE, example)?;
    for rule in block_items(config, "rule") {
        let Some(d) = first_block(rule, "apply_server_side_encryption_by_default") else {
            continue;
        };
        let algorithm = d.str_attr("sse_algorithm");
        if let Some(a) = algorithm
            && !ALGORITHMS.contains(&a)
        {
            return Err(ProviderError::new(format!(
                "{TYPE}: sse_algorithm {a:?} is not one of AES256, aws:kms, aws:kms:dsse"
            ))
            .hint("use \"AES256\" for S3-managed keys or \"aws:kms\" with kms_master_key_id"));
        }
        if algorithm == Some("AES256")
            && d.str_attr("kms_master_key_id")
                .is_some_and(|k| !k.is_empty())
        {
            return Err(ProviderError::new(format!(
                "{TYPE}: kms_master_key_id is set but sse_algorithm is AES256"
            ))
            .hint("set sse_algorithm = \"aws:kms\" to use a KMS key, or drop kms_master_key_id"));
        }
    }
    Ok(())
}

#[async_trait]
impl ResourceType for BucketEncryptionResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let mut planned = plan_from_schema(&self.schema, prior, config);
        keep_empty_values_in_blocks(&self.schema, prior, config, &mut planned.planned);
        planned.requires_replace = replace_paths(&self.schema, prior, &planned.planned);
        Ok(planned)
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.put(planned).await
    }

    /// The create only puts a setting on what another resource owns: the setting there
    /// now, read as `read` reads it, is what an unrecorded create left (the plan then
    /// brings it to the configuration).
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &forge_provider::CreateIntent,
    ) -> ProviderResult<forge_provider::Finding> {
        let mut planned = planned.deep_unmarked();
        let Some(owner) = forge_aws_common::adoption::configured_name(&planned, "bucket") else {
            return Ok(forge_provider::Finding::CannotTell);
        };
        if let Value::Object(attrs) = &mut planned {
            attrs.insert("id".to_string(), Value::string(&owner));
        }
        let object = self.read(&planned).await?;
        Ok(forge_aws_common::adoption::found_by_name(
            owner, object, None,
        ))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(bucket) = state.str_attr("bucket").or_else(|| state.str_attr("id")) else {
            return Ok(None);
        };
        self.read_with(bucket, state).await
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        self.put(planned).await
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(bucket) = state.str_attr("bucket").or_else(|| state.str_attr("id")) else {
            return Ok(());
        };
        let out = self
            .client
            .delete_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        found_or_absent(out, NOT_CONFIGURED)?;
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_with(id, &Value::Null).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_bucket_key_reads_as_false_as_the_provider_records_it_and_a_real_change_shows() {
        // hashicorp/aws 5.100.0 records `bucket_key_enabled = false` (and `""` for an
        // absent kms_master_key_id) when it reads a rule without bucket keys.
        let rule = ServerSideEncryptionRule::builder()
            .bucket_key_enabled(false)
            .build();
        assert_eq!(
            rule_value(&rule).get("bucket_key_enabled"),
            Some(&Value::Bool(false))
        );
        let on = ServerSideEncryptionRule::builder()
            .bucket_key_enabled(true)
            .build();
        assert_eq!(
            rule_value(&on).get("bucket_key_enabled"),
            Some(&Value::Bool(true))
        );
    }

    #[test]
    fn kms_key_with_aes256_is_refused() {
        let by_default = Value::object([
            ("sse_algorithm", Value::string("AES256")),
            ("kms_master_key_id", Value::string("alias/x")),
        ]);
        let rule = Value::object([(
            "apply_server_side_encryption_by_default",
            Value::List(vec![by_default]),
        )]);
        let err = validate(&Value::object([("rule", Value::List(vec![rule]))])).unwrap_err();
        assert!(err.message.contains("AES256"), "{err}");
    }
}
