//! The `aws_vpc` data source: exactly one VPC by id, default-ness, CIDR, tags or filters.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, Vpc, VpcAttributeName};
use forge_aws_common::{AwsContext, map_value, sdk_error};
use forge_provider::{
    AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, Schema, Value,
};

use crate::common::{
    client, ec2_arn, filter_block, filter_values_block, filters_from_blocks, opt_string, set_attr,
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
            .attr(
                "cidr_block_associations",
                Attribute::computed(AttrType::List(Box::new(AttrType::Any))),
            )
            .attr("enable_dns_hostnames", Attribute::computed(AttrType::Bool))
            .attr("enable_dns_support", Attribute::computed(AttrType::Bool))
            .attr(
                "enable_network_address_usage_metrics",
                Attribute::computed(AttrType::Bool),
            )
            .attr("ipv6_association_id", Attribute::computed(string()))
            .attr("ipv6_cidr_block", Attribute::computed(string()))
            .attr("main_route_table_id", Attribute::computed(string()))
            // The provider's `timeouts` block; forge has its own waits: always null.
            .attr("timeouts", Attribute::computed(AttrType::Any))
            .block("filter", filter_block());
        VpcDataSource {
            client: client(&ctx),
            ctx,
            schema,
        }
    }
}

impl VpcDataSource {
    /// What the provider reads besides DescribeVpcs: the DNS and usage-metrics flags and
    /// the main route table.
    async fn add_details(&self, vpc: &Vpc, value: &mut Value) -> ProviderResult<()> {
        let id = vpc.vpc_id().unwrap_or_default();
        let flag = |name: VpcAttributeName| {
            self.client
                .describe_vpc_attribute()
                .vpc_id(id)
                .attribute(name)
                .send()
        };
        let main_table = self
            .client
            .describe_route_tables()
            .filters(Filter::builder().name("vpc-id").values(id).build())
            .filters(
                Filter::builder()
                    .name("association.main")
                    .values("true")
                    .build(),
            )
            .send();
        // Four requests that need nothing from each other: one round trip's wait.
        let (hostnames, support, metrics, tables) = tokio::join!(
            flag(VpcAttributeName::EnableDnsHostnames),
            flag(VpcAttributeName::EnableDnsSupport),
            flag(VpcAttributeName::EnableNetworkAddressUsageMetrics),
            main_table,
        );
        let hostnames = hostnames.map_err(sdk_error)?;
        let support = support.map_err(sdk_error)?;
        let metrics = metrics.map_err(sdk_error)?;
        let tables = tables.map_err(sdk_error)?;
        let on = |v: Option<&aws_sdk_ec2::types::AttributeBooleanValue>| {
            Value::Bool(v.and_then(|v| v.value()).unwrap_or(false))
        };
        set_attr(
            value,
            "enable_dns_hostnames",
            on(hostnames.enable_dns_hostnames()),
        );
        set_attr(
            value,
            "enable_dns_support",
            on(support.enable_dns_support()),
        );
        set_attr(
            value,
            "enable_network_address_usage_metrics",
            on(metrics.enable_network_address_usage_metrics()),
        );
        let main = tables
            .route_tables()
            .first()
            .and_then(|t| t.route_table_id())
            .unwrap_or("");
        set_attr(value, "main_route_table_id", Value::string(main));
        Ok(())
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
        // `state` is a filter argument: the provider records what was configured (null
        // when the lookup did not ask for one), not the VPC's state.
        ("state", config.get("state").cloned().unwrap_or(Value::Null)),
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
        (
            "cidr_block_associations",
            Value::List(
                vpc.cidr_block_association_set()
                    .iter()
                    .map(|a| {
                        Value::object([
                            (
                                "association_id",
                                Value::string(a.association_id().unwrap_or("")),
                            ),
                            ("cidr_block", Value::string(a.cidr_block().unwrap_or(""))),
                            (
                                "state",
                                Value::string(
                                    a.cidr_block_state()
                                        .and_then(|s| s.state())
                                        .map(|s| s.as_str())
                                        .unwrap_or(""),
                                ),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
        ("enable_dns_hostnames", Value::Bool(false)),
        ("enable_dns_support", Value::Bool(false)),
        ("enable_network_address_usage_metrics", Value::Bool(false)),
        (
            "ipv6_association_id",
            Value::string(
                vpc.ipv6_cidr_block_association_set()
                    .first()
                    .and_then(|a| a.association_id())
                    .unwrap_or(""),
            ),
        ),
        (
            "ipv6_cidr_block",
            Value::string(
                vpc.ipv6_cidr_block_association_set()
                    .first()
                    .and_then(|a| a.ipv6_cidr_block())
                    .unwrap_or(""),
            ),
        ),
        ("main_route_table_id", Value::string("")),
        ("timeouts", Value::Null),
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
            [vpc] => {
                let mut value = vpc_value(&self.ctx, vpc, &config);
                self.add_details(vpc, &mut value).await?;
                Ok(value)
            }
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
