//! `data "aws_caller_identity"`: who the provider's credentials are (STS).

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::AwsContext;
use forge_provider::{AttrType, Attribute, DataSourceType, ProviderResult, Schema, Value};

pub struct CallerIdentityDataSource {
    ctx: Arc<AwsContext>,
    schema: Schema,
}

impl CallerIdentityDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let schema = Schema::new()
            .attr("account_id", Attribute::computed(AttrType::String))
            .attr("arn", Attribute::computed(AttrType::String))
            .attr("user_id", Attribute::computed(AttrType::String))
            .attr("id", Attribute::computed(AttrType::String));
        CallerIdentityDataSource { ctx, schema }
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
        // The context asks STS once; every unit's caller identity and the account id
        // share that answer.
        let who = self.ctx.caller_identity().await?;
        let text = |s: Option<&String>| s.map(Value::string).unwrap_or(Value::Null);
        Ok(Value::object([
            ("id", Value::string(&who.account)),
            ("account_id", Value::string(&who.account)),
            ("arn", text(who.arn.as_ref())),
            ("user_id", text(who.user_id.as_ref())),
        ]))
    }
}
