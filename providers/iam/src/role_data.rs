//! `data "aws_iam_role"`: looks an existing role up by name.

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::AwsContext;
use forge_provider::{
    AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::role::RoleResource;

pub struct RoleDataSource {
    role: RoleResource,
    schema: Schema,
}

const EXPORTED: [&str; 10] = [
    "arn",
    "assume_role_policy",
    "create_date",
    "description",
    "id",
    "max_session_duration",
    "path",
    "permissions_boundary",
    "tags",
    "unique_id",
];

impl RoleDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let mut schema = Schema::new().attr("name", Attribute::required(AttrType::String));
        for name in EXPORTED {
            let ty = match name {
                "max_session_duration" => AttrType::Number,
                "tags" => AttrType::Map(Box::new(AttrType::String)),
                _ => AttrType::String,
            };
            schema = schema.attr(name, Attribute::computed(ty));
        }
        // The provider's list of one {last_used_date, region} object (an object type, so
        // `Any` for forge), empty when IAM reports no use.
        schema = schema.attr(
            "role_last_used",
            Attribute::computed(AttrType::List(Box::new(AttrType::Any))),
        );
        RoleDataSource {
            role: RoleResource::new(ctx),
            schema,
        }
    }
}

#[async_trait]
impl DataSourceType for RoleDataSource {
    fn type_name(&self) -> &'static str {
        "aws_iam_role"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let Some(name) = config.str_attr("name") else {
            return Err(ProviderError::new("aws_iam_role: `name` is required")
                .hint("set name to the role's name"));
        };
        let Some(state) = self.role.import(name).await? else {
            return Err(ProviderError::with_code(
                "NoSuchEntity",
                format!("no IAM role named {name:?} exists"),
            )
            .hint("check the name (not the ARN) of the role"));
        };
        let last_used = self
            .role
            .get_role(name)
            .await?
            .and_then(|r| r.role_last_used().cloned())
            .map(|u| {
                vec![Value::object([
                    (
                        "last_used_date",
                        Value::string(
                            u.last_used_date()
                                .map(|d| d.to_string())
                                .unwrap_or_default(),
                        ),
                    ),
                    ("region", Value::string(u.region().unwrap_or(""))),
                ])]
            })
            .unwrap_or_default();
        let mut out: Vec<(&str, Value)> = vec![
            ("name", Value::string(name)),
            ("role_last_used", Value::List(last_used)),
        ];
        for attr in EXPORTED {
            let value = match attr {
                // A data source shows every tag the role has.
                "tags" => state.get("tags_all").cloned().unwrap_or(Value::Null),
                _ => state.get(attr).cloned().unwrap_or(Value::Null),
            };
            out.push((attr, value));
        }
        Ok(Value::object(out))
    }
}
