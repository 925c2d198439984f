//! `aws_s3_bucket_policy`: the bucket's resource policy, compared by meaning so that S3's
//! re-spelling (key order, whitespace) is not drift. The id is the bucket name.
//!
//! As the provider, it records the document normalised (compact, keys sorted:
//! `normalize_json_string`) whatever the configuration's spelling, and a configured
//! document that means what the state records plans no change (an indented
//! `data.aws_iam_policy_document.json` over the compact one in state).

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::policy::{
    check_policy_attribute, keep_equivalent_policy, normalize_json_string, policy_for_state,
};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error};
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
    plan_from_schema,
};

use crate::common::{bucket_of, client, found_or_absent, required_str, with_bucket_hint};

const TYPE: &str = "aws_s3_bucket_policy";

pub struct BucketPolicyResource {
    client: aws_sdk_s3::Client,
    schema: Schema,
}

impl BucketPolicyResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let schema = Schema::new()
            .attr("bucket", Attribute::required(AttrType::String).force_new())
            .attr("policy", Attribute::required(AttrType::String))
            .attr("id", Attribute::computed(AttrType::String));
        BucketPolicyResource {
            client: client(&ctx),
            schema,
        }
    }

    async fn read_by_bucket(
        &self,
        bucket: &str,
        stored: Option<&str>,
    ) -> ProviderResult<Option<Value>> {
        let out = self
            .client
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        let Some(out) = found_or_absent(out, &["NoSuchBucketPolicy"])? else {
            return Ok(None);
        };
        let Some(live) = out.policy().filter(|p| !p.trim().is_empty()) else {
            return Ok(None);
        };
        Ok(Some(Value::object([
            ("id", Value::string(bucket)),
            ("bucket", Value::string(bucket)),
            (
                "policy",
                Value::String(normalize_json_string(&policy_for_state(stored, live))),
            ),
        ])))
    }

    async fn put(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        let bucket = bucket_of(&planned, TYPE)?;
        let policy = required_str(&planned, "policy", TYPE)?;
        // Right after a public access block changes S3 may refuse a policy for a moment.
        let patient = Backoff {
            attempts: 5,
            first_delay: std::time::Duration::from_millis(500),
            ..Backoff::default()
        };
        retry(
            patient,
            |e| e.code.as_deref() == Some("OperationAborted"),
            || async {
                let out = self
                    .client
                    .put_bucket_policy()
                    .bucket(bucket)
                    .policy(policy)
                    .send()
                    .await;
                out.map_err(|e| put_hint(with_bucket_hint(sdk_error(e), TYPE, bucket)))
            },
        )
        .await?;
        Ok(Value::object([
            ("id", Value::string(bucket)),
            ("bucket", Value::string(bucket)),
            ("policy", Value::String(normalize_json_string(policy))),
        ]))
    }
}

fn put_hint(err: ProviderError) -> ProviderError {
    match err.code.as_deref() {
        Some("MalformedPolicy") => err.hint(
            "S3 refused the policy document: check its Version, Principal, Action and that Resource names this bucket's ARN",
        ),
        Some("AccessDenied") => err.hint(
            "a public access block with block_public_policy = true refuses public policies: make the policy non-public or change the block",
        ),
        _ => err,
    }
}

fn validate(config: &Value) -> ProviderResult<()> {
    check_policy_attribute(TYPE, config, "policy")
}

#[async_trait]
impl ResourceType for BucketPolicyResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let mut plan = plan_from_schema(&self.schema, prior, config);
        keep_equivalent_policy(&mut plan.planned, prior, "policy");
        Ok(plan)
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
        self.read_by_bucket(bucket, state.str_attr("policy")).await
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
            .delete_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        found_or_absent(out, &["NoSuchBucketPolicy"])?;
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_by_bucket(id, None).await
    }
}
