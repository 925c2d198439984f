//! `aws_s3_bucket_versioning`: versioning state of a bucket. The id is the bucket name.
//!
//! `Disabled` is not a state S3 can be put in: it is how a bucket that never had
//! versioning reads. As in Terraform it is accepted for such a bucket (nothing is sent)
//! and refused, with a hint to use `Suspended`, once versioning has been enabled.
//! Destroying an `Enabled` configuration suspends versioning.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::{BucketVersioningStatus, MfaDelete, VersioningConfiguration};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, BlockType, PlannedState, ProviderError, ProviderResult, ResourceType,
    Schema, Value, plan_from_schema,
};

use crate::common::{
    bucket_of, client, first_block, found_or_absent, keep_empty_values_in_blocks, owner_or_empty,
    read_settled, replace_paths, with_bucket_hint,
};

const TYPE: &str = "aws_s3_bucket_versioning";
const STATUSES: [&str; 3] = ["Enabled", "Suspended", "Disabled"];

pub struct BucketVersioningResource {
    client: aws_sdk_s3::Client,
    schema: Schema,
}

impl BucketVersioningResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let inner = Schema::new()
            .attr("status", Attribute::required(AttrType::String))
            .attr("mfa_delete", Attribute::optional_computed(AttrType::String));
        let schema = Schema::new()
            .attr("bucket", Attribute::required(AttrType::String).force_new())
            .attr(
                "expected_bucket_owner",
                Attribute::optional(AttrType::String).force_new(),
            )
            .attr("mfa", Attribute::optional(AttrType::String))
            .attr("id", Attribute::computed(AttrType::String))
            .block(
                "versioning_configuration",
                BlockType {
                    schema: inner,
                    min_items: 1,
                    max_items: 1,
                    ..BlockType::default()
                },
            );
        BucketVersioningResource {
            client: client(&ctx),
            schema,
        }
    }

    /// The live versioning of `bucket`, as (status, mfa_delete); `None` when the bucket is gone.
    async fn live(&self, bucket: &str) -> ProviderResult<Option<(String, String)>> {
        let out = self
            .client
            .get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        let Some(out) = found_or_absent(out, &[])? else {
            return Ok(None);
        };
        let status = out
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "Disabled".into());
        let mfa = out
            .mfa_delete()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        Ok(Some((status, mfa)))
    }

    async fn read_with(&self, bucket: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let Some((status, mfa)) = self.live(bucket).await? else {
            return Ok(None);
        };
        let block = Value::object([
            ("status", Value::string(status)),
            ("mfa_delete", Value::string(mfa)),
        ]);
        let keep = |name: &str| {
            state
                .get(name)
                .cloned()
                .filter(|v| !v.is_unknown())
                .unwrap_or(Value::Null)
        };
        Ok(Some(Value::object([
            ("id", Value::string(bucket)),
            ("bucket", Value::string(bucket)),
            (
                "expected_bucket_owner",
                owner_or_empty(keep("expected_bucket_owner")),
            ),
            ("mfa", keep("mfa")),
            ("versioning_configuration", Value::List(vec![block])),
        ])))
    }

    async fn put(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        let bucket = bucket_of(&planned, TYPE)?;
        let conf = first_block(&planned, "versioning_configuration");
        let status = conf.and_then(|c| c.str_attr("status")).unwrap_or("Enabled");
        let mfa_delete = conf.and_then(|c| c.str_attr("mfa_delete"));
        if status == "Disabled" {
            let current = self
                .live(bucket)
                .await?
                .ok_or_else(|| crate::common::no_bucket(TYPE, bucket))?;
            if current.0 != "Disabled" {
                return Err(ProviderError::new(format!(
                    "{TYPE}: versioning of bucket {bucket:?} is {} and cannot go back to Disabled",
                    current.0
                ))
                .hint("set status = \"Suspended\" to stop versioning new objects"));
            }
        } else {
            let mut builder =
                VersioningConfiguration::builder().status(BucketVersioningStatus::from(status));
            if let Some(mfa) = mfa_delete {
                builder = builder.mfa_delete(MfaDelete::from(mfa));
            }
            let mut call = self
                .client
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(builder.build());
            if let Some(mfa) = planned.str_attr("mfa") {
                call = call.mfa(mfa);
            }
            if let Some(owner) = planned.str_attr("expected_bucket_owner") {
                call = call.expected_bucket_owner(owner);
            }
            call.send()
                .await
                .map_err(|e| with_bucket_hint(sdk_error(e), TYPE, bucket))?;
        }
        match read_settled(&planned, || self.read_with(bucket, &planned)).await? {
            Some(v) => Ok(v),
            None => Err(crate::common::no_bucket(TYPE, bucket)),
        }
    }
}

fn validate(config: &Value) -> ProviderResult<()> {
    let example = "versioning_configuration { status = \"Enabled\" }";
    crate::common::require_block(config, "versioning_configuration", TYPE, example)?;
    let conf = first_block(config, "versioning_configuration");
    if let Some(status) = conf.and_then(|c| c.str_attr("status"))
        && !STATUSES.contains(&status)
    {
        return Err(ProviderError::new(format!("{TYPE}: versioning_configuration.status {status:?} is not one of Enabled, Suspended, Disabled"))
            .hint("S3 spells them with a capital letter: \"Enabled\""));
    }
    // "" is the provider's recorded "not set", carried into a plan from the prior state.
    if let Some(mfa) = conf
        .and_then(|c| c.str_attr("mfa_delete"))
        .filter(|m| !m.is_empty())
        && !["Enabled", "Disabled"].contains(&mfa)
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: versioning_configuration.mfa_delete {mfa:?} is not Enabled or Disabled"
        )));
    }
    Ok(())
}

#[async_trait]
impl ResourceType for BucketVersioningResource {
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
        let Some((status, _)) = self.live(bucket).await? else {
            return Ok(());
        };
        if status != "Enabled" {
            return Ok(());
        }
        let conf = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Suspended)
            .build();
        let out = self
            .client
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(conf)
            .send()
            .await;
        found_or_absent(out.map_err(sdk_error), &[])?;
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_with(id, &Value::Null).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_status(status: &str) -> Value {
        Value::object([(
            "versioning_configuration",
            Value::List(vec![Value::object([
                ("status", Value::string(status)),
                ("mfa_delete", Value::Null),
            ])]),
        )])
    }

    #[test]
    fn the_configuration_block_is_required() {
        let err = validate(&Value::object([(
            "versioning_configuration",
            Value::List(vec![]),
        )]))
        .unwrap_err();
        assert!(
            err.message
                .contains("`versioning_configuration` block is required"),
            "{err}"
        );
        assert!(
            validate(&Value::object([(
                "versioning_configuration",
                Value::Unknown
            )]))
            .is_ok()
        );
    }

    #[test]
    fn status_must_be_spelled_as_s3_does() {
        assert!(validate(&with_status("Enabled")).is_ok());
        let err = validate(&with_status("enabled")).unwrap_err();
        assert!(err.message.contains("\"enabled\""), "{err}");
        assert!(err.hint.unwrap().contains("capital"));
    }
}
