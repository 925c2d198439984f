//! `aws_s3_bucket_ownership_controls`: who owns the objects written to a bucket (its
//! `rule.object_ownership`: BucketOwnerPreferred, ObjectWriter or BucketOwnerEnforced,
//! the last turning ACLs off). The id is the bucket name, as in the provider; a bucket
//! without ownership controls reads as gone, so controls removed outside forge are
//! planned for creation again.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::{ObjectOwnership, OwnershipControls, OwnershipControlsRule};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, BlockType, CreateIntent, Finding, Found, FoundBy, PlannedState,
    ProviderError, ProviderResult, ResourceType, Schema, Value, plan_from_schema,
};

use crate::common::{
    bucket_of, client, first_block, found_or_absent, read_settled, with_bucket_hint,
};

const TYPE: &str = "aws_s3_bucket_ownership_controls";
/// The values S3 accepts for `object_ownership`.
const OWNERSHIPS: [&str; 3] = [
    "BucketOwnerPreferred",
    "ObjectWriter",
    "BucketOwnerEnforced",
];
/// S3's code for a bucket without ownership controls.
const NOT_CONFIGURED: &str = "OwnershipControlsNotFoundError";

pub struct BucketOwnershipControlsResource {
    client: aws_sdk_s3::Client,
    schema: Schema,
}

impl BucketOwnershipControlsResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let rule = Schema::new().attr("object_ownership", Attribute::required(AttrType::String));
        let schema = Schema::new()
            .attr("bucket", Attribute::required(AttrType::String).force_new())
            .attr("id", Attribute::computed(AttrType::String))
            .block(
                "rule",
                BlockType {
                    schema: rule,
                    min_items: 1,
                    max_items: 1,
                    ..BlockType::default()
                },
            );
        BucketOwnershipControlsResource {
            client: client(&ctx),
            schema,
        }
    }

    async fn read_by_bucket(&self, bucket: &str) -> ProviderResult<Option<Value>> {
        let out = self
            .client
            .get_bucket_ownership_controls()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        let Some(out) = found_or_absent(out, &[NOT_CONFIGURED])? else {
            return Ok(None);
        };
        // The provider records the rules S3 lists (one, by S3's own limit); none is an
        // empty list.
        let rules: Vec<Value> = out
            .ownership_controls()
            .map(|c| c.rules())
            .unwrap_or_default()
            .iter()
            .map(|r| {
                Value::object([(
                    "object_ownership",
                    Value::string(r.object_ownership().as_str()),
                )])
            })
            .collect();
        Ok(Some(Value::object([
            ("id", Value::string(bucket)),
            ("bucket", Value::string(bucket)),
            ("rule", Value::List(rules)),
        ])))
    }

    async fn put(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        let bucket = bucket_of(&planned, TYPE)?;
        let ownership = first_block(&planned, "rule")
            .and_then(|r| r.str_attr("object_ownership"))
            .ok_or_else(|| {
                ProviderError::new(format!("{TYPE}: rule.object_ownership is required"))
            })?;
        let rule = OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::from(ownership))
            .build()
            .map_err(|e| ProviderError::new(format!("{TYPE}: {e}")))?;
        let controls = OwnershipControls::builder()
            .rules(rule)
            .build()
            .map_err(|e| ProviderError::new(format!("{TYPE}: {e}")))?;
        let out = self
            .client
            .put_bucket_ownership_controls()
            .bucket(bucket)
            .ownership_controls(controls)
            .send()
            .await;
        out.map_err(|e| with_bucket_hint(sdk_error(e), TYPE, bucket))?;
        match read_settled(&planned, || self.read_by_bucket(bucket)).await? {
            Some(state) => Ok(state),
            None => Err(ProviderError::with_code(
                NOT_CONFIGURED,
                format!("{TYPE}: the ownership controls of bucket {bucket:?} cannot be read after they were put"),
            )
            .hint("something deleted them or the bucket outside forge: plan again")),
        }
    }
}

/// Refuses at plan what S3 would refuse: a missing rule or an ownership it does not know.
fn validate(config: &Value) -> ProviderResult<()> {
    let Some(ownership) = first_block(config, "rule")
        .and_then(|r| r.get("object_ownership"))
        .filter(|v| v.is_wholly_known())
        .and_then(Value::as_str)
    else {
        return Ok(());
    };
    if !OWNERSHIPS.contains(&ownership) {
        return Err(ProviderError::new(format!(
            "{TYPE}: rule.object_ownership = {ownership:?} is not one S3 knows"
        ))
        .hint(format!("use one of {}", OWNERSHIPS.join(", "))));
    }
    Ok(())
}

#[async_trait]
impl ResourceType for BucketOwnershipControlsResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        Ok(plan_from_schema(&self.schema, prior, config))
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.put(planned).await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(bucket) = state.str_attr("bucket").or_else(|| state.str_attr("id")) else {
            return Ok(None);
        };
        self.read_by_bucket(bucket).await
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
            .delete_bucket_ownership_controls()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        found_or_absent(out, &[NOT_CONFIGURED])?;
        Ok(())
    }

    /// A create whose answer was lost put the controls or did not: a bucket holding
    /// ownership controls is that create's object (one per bucket; the engine's update
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
        Ok(match self.read_by_bucket(bucket).await? {
            None => Finding::Absent,
            Some(object) => Finding::Found(Found {
                object,
                created: None,
                by: FoundBy::Name,
                id: bucket.to_string(),
            }),
        })
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_by_bucket(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_ownership_is_refused_with_the_known_ones() {
        let rule = |o: &str| {
            Value::object([(
                "rule",
                Value::List(vec![Value::object([(
                    "object_ownership",
                    Value::string(o),
                )])]),
            )])
        };
        assert!(validate(&rule("BucketOwnerEnforced")).is_ok());
        let err = validate(&rule("BucketOwner")).unwrap_err();
        assert!(err.message.contains("BucketOwner\""), "{err}");
        assert!(err.hint.unwrap().contains("ObjectWriter"));
    }
}
