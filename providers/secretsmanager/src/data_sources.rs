//! `data "aws_secretsmanager_secret"` and `data "aws_secretsmanager_secret_version"`:
//! look up an existing secret and read one of its values (the value stays sensitive).

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use forge_aws_common::policy::decode_policy;
use forge_aws_common::{AwsContext, map_value, sdk_error};
use forge_provider::{
    AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, Schema, Value,
};

use crate::common::{client, found, opt_string, tags_from_aws};

/// A date as the provider records it: Go's time.RFC3339, whole seconds.
fn date_value(d: Option<&aws_smithy_types::DateTime>) -> Value {
    d.map(|d| aws_smithy_types::DateTime::from_secs(d.secs()))
        .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

pub struct SecretDataSource {
    client: aws_sdk_secretsmanager::Client,
    schema: Schema,
}

impl SecretDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("arn", Attribute::optional_computed(string()))
            .attr("name", Attribute::optional_computed(string()))
            .attr("description", Attribute::computed(string()))
            .attr("kms_key_id", Attribute::computed(string()))
            .attr("policy", Attribute::computed(string()))
            .attr(
                "tags",
                Attribute::optional_computed(AttrType::Map(Box::new(string()))),
            )
            .attr("created_date", Attribute::computed(string()))
            .attr("last_changed_date", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()));
        SecretDataSource {
            client: client(&ctx),
            schema,
        }
    }
}

#[async_trait]
impl DataSourceType for SecretDataSource {
    fn type_name(&self) -> &'static str {
        "aws_secretsmanager_secret"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let Some(id) = config.str_attr("arn").or_else(|| config.str_attr("name")) else {
            return Err(
                ProviderError::new("aws_secretsmanager_secret: set `arn` or `name`")
                    .hint("name the secret to look up, e.g. name = \"prod/db\""),
            );
        };
        let described = found(
            self.client
                .describe_secret()
                .secret_id(id)
                .send()
                .await
                .map_err(sdk_error),
        )?;
        let secret = match described {
            Some(s) if s.deleted_date().is_none() => s,
            _ => {
                return Err(ProviderError::with_code("ResourceNotFoundException", format!("no secret {id:?} exists"))
                    .hint("check the name or ARN and the provider's region; a secret scheduled for deletion does not count"));
            }
        };
        let arn = secret.arn().unwrap_or(id).to_string();
        let policy = found(
            self.client
                .get_resource_policy()
                .secret_id(&arn)
                .send()
                .await
                .map_err(sdk_error),
        )?
        .and_then(|p| p.resource_policy().map(decode_policy))
        .map(Value::String)
        // The provider's data source records "" for a secret without a policy or key.
        .unwrap_or_else(|| Value::string(""));
        Ok(Value::object([
            ("id", Value::string(&arn)),
            ("arn", Value::string(&arn)),
            ("name", opt_string(secret.name())),
            ("description", opt_string(secret.description())),
            (
                "kms_key_id",
                Value::string(secret.kms_key_id().unwrap_or_default()),
            ),
            ("policy", policy),
            ("tags", map_value(&tags_from_aws(secret.tags()))),
            ("created_date", date_value(secret.created_date())),
            ("last_changed_date", date_value(secret.last_changed_date())),
        ]))
    }
}

pub struct SecretVersionDataSource {
    client: aws_sdk_secretsmanager::Client,
    schema: Schema,
}

impl SecretVersionDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("secret_id", Attribute::required(string()))
            .attr("version_id", Attribute::optional_computed(string()))
            .attr("version_stage", Attribute::optional(string()))
            .attr("secret_string", Attribute::computed(string()).sensitive())
            .attr("secret_binary", Attribute::computed(string()).sensitive())
            .attr(
                "version_stages",
                Attribute::computed(AttrType::Set(Box::new(string()))),
            )
            .attr("arn", Attribute::computed(string()))
            .attr("created_date", Attribute::computed(string()))
            .attr("id", Attribute::computed(string()));
        SecretVersionDataSource {
            client: client(&ctx),
            schema,
        }
    }
}

#[async_trait]
impl DataSourceType for SecretVersionDataSource {
    fn type_name(&self) -> &'static str {
        "aws_secretsmanager_secret_version"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let config = config.deep_unmarked();
        let Some(secret_id) = config.str_attr("secret_id") else {
            return Err(ProviderError::new(
                "aws_secretsmanager_secret_version: `secret_id` is required",
            )
            .hint("set secret_id to the secret's ARN or name"));
        };
        let version_id = config.str_attr("version_id");
        // Terraform reads AWSCURRENT unless a version or stage is given.
        let stage = config
            .str_attr("version_stage")
            .or(if version_id.is_none() {
                Some("AWSCURRENT")
            } else {
                None
            });
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .set_version_id(version_id.map(str::to_string))
            .set_version_stage(stage.map(str::to_string))
            .send()
            .await
            .map_err(|e| {
                sdk_error(e).hint(format!("check that the secret {secret_id} exists and has a value at that version or stage"))
            })?;
        let version = out.version_id().unwrap_or_default().to_string();
        // The provider records "" for whichever of the two the version does not use.
        let secret_string = Value::string(out.secret_string().unwrap_or("")).sensitive();
        let secret_binary = Value::String(
            out.secret_binary()
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
                .unwrap_or_default(),
        )
        .sensitive();
        Ok(Value::object([
            (
                "id",
                Value::String(format!("{secret_id}|{}", stage.unwrap_or(&version))),
            ),
            ("secret_id", Value::string(secret_id)),
            ("version_id", Value::String(version)),
            ("version_stage", opt_string(stage)),
            ("secret_string", secret_string),
            ("secret_binary", secret_binary),
            (
                "version_stages",
                Value::Set(out.version_stages().iter().map(Value::string).collect()),
            ),
            ("arn", opt_string(out.arn())),
            ("created_date", date_value(out.created_date())),
        ]))
    }
}
