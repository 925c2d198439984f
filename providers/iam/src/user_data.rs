//! `data "aws_iam_user"`: looks an existing user up by name.

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::AwsContext;
use forge_provider::{
    AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, Schema, Value,
};

use crate::user::UserResource;

const TYPE: &str = "aws_iam_user";

pub struct UserDataSource {
    user: UserResource,
    schema: Schema,
}

impl UserDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("user_name", Attribute::required(string()))
            .attr("arn", Attribute::computed(string()))
            .attr("path", Attribute::computed(string()))
            .attr("permissions_boundary", Attribute::computed(string()))
            .attr("user_id", Attribute::computed(string()))
            .attr(
                "tags",
                Attribute::computed(AttrType::Map(Box::new(string()))),
            )
            .attr("id", Attribute::computed(string()));
        UserDataSource {
            user: UserResource::new(ctx),
            schema,
        }
    }
}

#[async_trait]
impl DataSourceType for UserDataSource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let Some(name) = config.str_attr("user_name") else {
            return Err(
                ProviderError::new(format!("{TYPE}: `user_name` is required"))
                    .hint("set user_name to the user's name"),
            );
        };
        let Some(user) = self.user.get_user(name).await? else {
            return Err(ProviderError::with_code(
                "NoSuchEntity",
                format!("no IAM user named {name:?} exists"),
            )
            .hint("check the name (not the ARN) of the user"));
        };
        // Every tag the user has but AWS's own (`aws:`), as the provider shows them.
        let tags = self
            .user
            .live_tags(name)
            .await?
            .into_iter()
            .filter(|(k, _)| !k.starts_with("aws:"))
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Ok(Value::object([
            ("user_name", Value::string(name)),
            // The provider's id for the data source is the user's unique id.
            ("id", Value::string(user.user_id())),
            ("user_id", Value::string(user.user_id())),
            ("arn", Value::string(user.arn())),
            ("path", Value::string(user.path())),
            (
                "permissions_boundary",
                Value::string(
                    user.permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .unwrap_or(""),
                ),
            ),
            ("tags", Value::Map(tags)),
        ]))
    }
}
