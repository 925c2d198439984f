//! `data "aws_sqs_queue"`: an existing queue looked up by name (its URL, ARN and tags).

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{client, is_queue_gone, required_str};
use crate::queue::QueueResource;

const TYPE: &str = "aws_sqs_queue";

pub struct QueueDataSource {
    client: aws_sdk_sqs::Client,
    queues: QueueResource,
    schema: Schema,
}

impl QueueDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string_map = || AttrType::Map(Box::new(AttrType::String));
        let schema = Schema::new()
            .attr("name", Attribute::required(AttrType::String))
            .attr("tags", Attribute::optional_computed(string_map()))
            .attr("id", Attribute::computed(AttrType::String))
            .attr("url", Attribute::computed(AttrType::String))
            .attr("arn", Attribute::computed(AttrType::String));
        QueueDataSource {
            client: client(&ctx),
            queues: QueueResource::new(ctx),
            schema,
        }
    }
}

fn not_found(name: &str) -> ProviderError {
    ProviderError::with_code(
        "QueueDoesNotExist",
        format!("data.{TYPE}: no SQS queue is named {name:?} in this account and region"),
    )
    .hint("check the name (FIFO queues end in `.fifo`) and the provider's region")
}

#[async_trait]
impl DataSourceType for QueueDataSource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let config = config.deep_unmarked();
        let name = required_str(&config, "name", TYPE)?;
        let url = match self
            .client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => out
                .queue_url()
                .map(str::to_string)
                .ok_or_else(|| not_found(name))?,
            Err(e) if is_queue_gone(&e) => return Err(not_found(name)),
            Err(e) => return Err(e),
        };
        let queue = self
            .queues
            .import(&url)
            .await?
            .ok_or_else(|| not_found(name))?;
        // The data source reports every tag the queue has, default tags included.
        let tags = queue.get("tags_all").cloned().unwrap_or(Value::Null);
        Ok(Value::object([
            ("name", Value::string(name)),
            ("id", Value::string(&url)),
            ("url", Value::string(&url)),
            ("arn", queue.get("arn").cloned().unwrap_or(Value::Null)),
            ("tags", tags),
        ]))
    }
}
