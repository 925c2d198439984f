//! `aws_s3_bucket_public_access_block`: the bucket's four public-access switches. Each
//! defaults to false, as in Terraform. The id is the bucket name.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderResult, ResourceType, Schema, Value,
    plan_from_schema,
};

use crate::common::{bucket_of, client, default_if_null, found_or_absent, with_bucket_hint};

const TYPE: &str = "aws_s3_bucket_public_access_block";
const SWITCHES: [&str; 4] = [
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
];

pub struct PublicAccessBlockResource {
    client: aws_sdk_s3::Client,
    schema: Schema,
}

impl PublicAccessBlockResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let mut schema = Schema::new()
            .attr("bucket", Attribute::required(AttrType::String).force_new())
            .attr("id", Attribute::computed(AttrType::String));
        for switch in SWITCHES {
            schema = schema.attr(switch, Attribute::optional(AttrType::Bool));
        }
        PublicAccessBlockResource {
            client: client(&ctx),
            schema,
        }
    }

    async fn read_by_bucket(&self, bucket: &str) -> ProviderResult<Option<Value>> {
        let out = self
            .client
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        let Some(out) = found_or_absent(out, &["NoSuchPublicAccessBlockConfiguration"])? else {
            return Ok(None);
        };
        let Some(conf) = out.public_access_block_configuration() else {
            return Ok(None);
        };
        let values = [
            conf.block_public_acls(),
            conf.block_public_policy(),
            conf.ignore_public_acls(),
            conf.restrict_public_buckets(),
        ];
        let mut pairs = vec![
            ("id", Value::string(bucket)),
            ("bucket", Value::string(bucket)),
        ];
        pairs.extend(
            SWITCHES
                .iter()
                .zip(values)
                .map(|(name, v)| (*name, Value::Bool(v.unwrap_or(false)))),
        );
        Ok(Some(Value::object(pairs)))
    }

    async fn put(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let bucket = bucket_of(&planned, TYPE)?;
        let flag = |name: &str| planned.get(name).and_then(Value::as_bool).unwrap_or(false);
        let conf = PublicAccessBlockConfiguration::builder()
            .block_public_acls(flag("block_public_acls"))
            .block_public_policy(flag("block_public_policy"))
            .ignore_public_acls(flag("ignore_public_acls"))
            .restrict_public_buckets(flag("restrict_public_buckets"))
            .build();
        let out = self
            .client
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(conf)
            .send()
            .await;
        out.map_err(|e| with_bucket_hint(sdk_error(e), TYPE, bucket))?;
        let mut pairs = vec![
            ("id", Value::string(bucket)),
            ("bucket", Value::string(bucket)),
        ];
        pairs.extend(SWITCHES.iter().map(|name| (*name, Value::Bool(flag(name)))));
        Ok(Value::object(pairs))
    }
}

#[async_trait]
impl ResourceType for PublicAccessBlockResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        let mut plan = plan_from_schema(&self.schema, prior, config);
        for switch in SWITCHES {
            default_if_null(&mut plan.planned, switch, Value::Bool(false));
        }
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
            .delete_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        found_or_absent(out, &["NoSuchPublicAccessBlockConfiguration"])?;
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_by_bucket(id).await
    }
}
