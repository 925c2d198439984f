//! `data "aws_caller_identity"`: who the provider's credentials are (STS).

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::{sdk_error, AwsContext};
use forge_provider::{AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, Schema, Value};

pub struct CallerIdentityDataSource {
    client: aws_sdk_sts::Client,
    schema: Schema,
}

impl CallerIdentityDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let mut conf = aws_sdk_sts::config::Builder::from(&ctx.sdk).interceptor(ctx.api_counter());
        if let Some(url) = ctx.endpoint_for("sts") {
            conf = conf.endpoint_url(url);
        }
        let schema = Schema::new()
            .attr("account_id", Attribute::computed(AttrType::String))
            .attr("arn", Attribute::computed(AttrType::String))
            .attr("user_id", Attribute::computed(AttrType::String))
            .attr("id", Attribute::computed(AttrType::String));
        CallerIdentityDataSource { client: aws_sdk_sts::Client::from_conf(conf.build()), schema }
    }
}

#[async_trait]
impl DataSourceType for CallerIdentityDataSource {
    fn type_name(&self) -> &'static str {
        "aws_caller_identity"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, _config: &Value) -> ProviderResult<Value> {
        let out = self.client.get_caller_identity().send().await.map_err(|e| {
            sdk_error(e).hint("check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID) and the STS endpoint")
        })?;
        let account = out
            .account()
            .ok_or_else(|| ProviderError::new("STS GetCallerIdentity returned no account"))?;
        let text = |s: Option<&str>| s.map(Value::string).unwrap_or(Value::Null);
        Ok(Value::object([
            ("id", Value::string(account)),
            ("account_id", Value::string(account)),
            ("arn", text(out.arn())),
            ("user_id", text(out.user_id())),
        ]))
    }
}
