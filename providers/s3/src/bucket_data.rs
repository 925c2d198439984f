//! `data "aws_s3_bucket"`: an existing bucket looked up by name (ARN, region, domain
//! names and hosted zone).

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::AwsContext;
use forge_provider::{
    AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::bucket::BucketResource;
use crate::common::required_str;

const TYPE: &str = "aws_s3_bucket";
const EXPORTS: [&str; 6] = [
    "id",
    "arn",
    "bucket_domain_name",
    "bucket_regional_domain_name",
    "hosted_zone_id",
    "region",
];

/// The website endpoint attributes: null for a bucket that serves no website, as the
/// provider records them.
const WEBSITE: [&str; 2] = ["website_domain", "website_endpoint"];

pub struct BucketDataSource {
    buckets: BucketResource,
    schema: Schema,
}

impl BucketDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let mut schema = Schema::new().attr("bucket", Attribute::required(AttrType::String));
        for name in EXPORTS.iter().chain(&WEBSITE) {
            schema = schema.attr(name, Attribute::computed(AttrType::String));
        }
        BucketDataSource {
            buckets: BucketResource::new(ctx),
            schema,
        }
    }
}

#[async_trait]
impl DataSourceType for BucketDataSource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let config = config.deep_unmarked();
        let bucket = required_str(&config, "bucket", TYPE)?;
        let state = self.buckets.import(bucket).await?.ok_or_else(|| {
            ProviderError::with_code("NoSuchBucket", format!("data.{TYPE}: bucket {bucket:?} does not exist"))
                .hint("check the name; bucket names are global, so a typo may also name someone else's bucket")
        })?;
        let mut pairs = vec![("bucket", Value::string(bucket))];
        pairs.extend(
            EXPORTS
                .iter()
                .chain(&WEBSITE)
                .map(|name| (*name, state.get(name).cloned().unwrap_or(Value::Null))),
        );
        Ok(Value::object(pairs))
    }
}
