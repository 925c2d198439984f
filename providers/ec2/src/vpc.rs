//! The `aws_vpc` data source: exactly one VPC by id, default-ness, CIDR, tags or filters.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, Vpc};
use forge_aws_common::{AwsContext, map_value, sdk_error};
use forge_provider::{
    AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, Schema, Value,
};

use crate::common::{
    client, ec2_arn, filter_block, filter_values_block, filters_from_blocks, opt_string,
    tag_filters, tags_from_aws,
};

pub struct VpcDataSource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

impl VpcDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("id", Attribute::optional_computed(string()))
            .attr("default", Attribute::optional_computed(AttrType::Bool))
            .attr("cidr_block", Attribute::optional_computed(string()))
            .attr("state", Attribute::optional_computed(string()))
            .attr("dhcp_options_id", Attribute::optional_computed(string()))
            .attr(
                "tags",
                Attribute::optional_computed(AttrType::Map(Box::new(string()))),
            )
            .attr("arn", Attribute::computed(string()))
            .attr("owner_id", Attribute::computed(string()))
            .attr("instance_tenancy", Attribute::computed(string()))
            .block("filter", filter_block());
        VpcDataSource {
            client: client(&ctx),
            ctx,
            schema,
        }
    }
}

/// The EC2 filters a `data "aws_vpc"` block stands for.
pub fn vpc_filters(config: &Value) -> Vec<Filter> {
    let mut filters = filters_from_blocks(config);
    if config.get("default").and_then(Value::as_bool) == Some(true) {
        filters.push(Filter::builder().name("is-default").values("true").build());
    }
    for (attr, filter) in [
        ("cidr_block", "cidr"),
        ("state", "state"),
        ("dhcp_options_id", "dhcp-options-id"),
    ] {
        if let Some(v) = config.str_attr(attr) {
            filters.push(Filter::builder().name(filter).values(v).build());
        }
    }
    filters.extend(tag_filters(config));
    filters
}

fn vpc_value(ctx: &AwsContext, vpc: &Vpc, config: &Value) -> Value {
    let id = vpc.vpc_id().unwrap_or_default();
    let owner = vpc.owner_id().unwrap_or_default();
    Value::object([
        ("id", Value::string(id)),
        ("default", Value::Bool(vpc.is_default().unwrap_or(false))),
        ("cidr_block", opt_string(vpc.cidr_block())),
        ("state", opt_string(vpc.state().map(|s| s.as_str()))),
        ("dhcp_options_id", opt_string(vpc.dhcp_options_id())),
        ("tags", map_value(&tags_from_aws(vpc.tags()))),
        (
            "arn",
            Value::string(ec2_arn(ctx, owner, &format!("vpc/{id}"))),
        ),
        ("owner_id", Value::string(owner)),
        (
            "instance_tenancy",
            opt_string(vpc.instance_tenancy().map(|t| t.as_str())),
        ),
        (
            "filter",
            filter_values_block(config.get("filter").unwrap_or(&Value::Null)),
        ),
    ])
}

#[async_trait]
impl DataSourceType for VpcDataSource {
    fn type_name(&self) -> &'static str {
        "aws_vpc"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let config = config.deep_unmarked();
        let filters = vpc_filters(&config);
        let out = self
            .client
            .describe_vpcs()
            .set_vpc_ids(config.str_attr("id").map(|id| vec![id.to_string()]))
            .set_filters(Some(filters).filter(|f| !f.is_empty()))
            .send()
            .await
            .map_err(sdk_error)?;
        match out.vpcs() {
            [vpc] => Ok(vpc_value(&self.ctx, vpc, &config)),
            [] => Err(ProviderError::new("aws_vpc: no VPC matches the query")
                .hint("check id, default, cidr_block, tags and the filters (and the region)")),
            many => Err(ProviderError::new(format!(
                "aws_vpc: {} VPCs match the query, not one",
                many.len()
            ))
            .hint("add a filter, tags or id so that exactly one VPC matches")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_tags_become_filters() {
        let config = Value::object([
            ("default", Value::Bool(true)),
            ("tags", Value::object([("Name", Value::string("main"))])),
            ("cidr_block", Value::Null),
        ]);
        let names: Vec<String> = vpc_filters(&config)
            .iter()
            .filter_map(|f| f.name().map(str::to_string))
            .collect();
        assert_eq!(
            names,
            vec!["is-default".to_string(), "tag:Name".to_string()]
        );
    }
}
