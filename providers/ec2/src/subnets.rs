//! The `aws_subnets` (ids of every match) and `aws_subnet` (exactly one) data sources.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, Subnet};
use forge_aws_common::{AwsContext, map_value, sdk_error};
use forge_provider::{
    AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, Schema, Value,
};

use crate::common::{
    client, ec2_arn, filter_block, filter_values_block, filters_from_blocks, opt_string,
    string_list_value, tag_filters, tags_from_aws,
};

async fn describe_subnets(
    client: &aws_sdk_ec2::Client,
    ids: Option<Vec<String>>,
    filters: Vec<Filter>,
) -> ProviderResult<Vec<Subnet>> {
    let mut subnets = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .describe_subnets()
            .set_subnet_ids(ids.clone())
            .set_filters(Some(filters.clone()).filter(|f| !f.is_empty()))
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        subnets.extend(out.subnets().iter().cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(subnets),
        }
    }
}

pub struct SubnetsDataSource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

impl SubnetsDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let schema = Schema::new()
            .attr(
                "tags",
                Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
            )
            .attr(
                "ids",
                Attribute::computed(AttrType::List(Box::new(AttrType::String))),
            )
            .attr("id", Attribute::computed(AttrType::String))
            // The provider's `timeouts` block; forge has its own waits: always null.
            .attr("timeouts", Attribute::computed(AttrType::Any))
            .block("filter", filter_block());
        SubnetsDataSource {
            client: client(&ctx),
            ctx,
            schema,
        }
    }
}

#[async_trait]
impl DataSourceType for SubnetsDataSource {
    fn type_name(&self) -> &'static str {
        "aws_subnets"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let config = config.deep_unmarked();
        let mut filters = filters_from_blocks(&config);
        filters.extend(tag_filters(&config));
        let subnets = describe_subnets(&self.client, None, filters).await?;
        let ids: Vec<String> = subnets
            .iter()
            .filter_map(|s| s.subnet_id().map(str::to_string))
            .collect();
        // In the order EC2 answers, as the provider records them.
        Ok(Value::object([
            ("id", Value::string(&self.ctx.region)),
            ("ids", string_list_value(ids)),
            ("tags", config.get("tags").cloned().unwrap_or(Value::Null)),
            ("timeouts", Value::Null),
            (
                "filter",
                filter_values_block(config.get("filter").unwrap_or(&Value::Null)),
            ),
        ]))
    }
}

pub struct SubnetDataSource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

impl SubnetDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("id", Attribute::optional_computed(string()))
            .attr("vpc_id", Attribute::optional_computed(string()))
            .attr("availability_zone", Attribute::optional_computed(string()))
            .attr("cidr_block", Attribute::optional_computed(string()))
            .attr(
                "default_for_az",
                Attribute::optional_computed(AttrType::Bool),
            )
            .attr(
                "tags",
                Attribute::optional_computed(AttrType::Map(Box::new(string()))),
            )
            .attr("arn", Attribute::computed(string()))
            .attr("owner_id", Attribute::computed(string()))
            .attr("availability_zone_id", Attribute::computed(string()))
            .attr(
                "map_public_ip_on_launch",
                Attribute::computed(AttrType::Bool),
            )
            .attr(
                "available_ip_address_count",
                Attribute::computed(AttrType::Number),
            )
            .attr(
                "assign_ipv6_address_on_creation",
                Attribute::computed(AttrType::Bool),
            )
            .attr("customer_owned_ipv4_pool", Attribute::computed(string()))
            .attr("enable_dns64", Attribute::computed(AttrType::Bool))
            .attr(
                "enable_lni_at_device_index",
                Attribute::computed(AttrType::Number),
            )
            .attr(
                "enable_resource_name_dns_a_record_on_launch",
                Attribute::computed(AttrType::Bool),
            )
            .attr(
                "enable_resource_name_dns_aaaa_record_on_launch",
                Attribute::computed(AttrType::Bool),
            )
            .attr("ipv6_cidr_block", Attribute::computed(string()))
            .attr(
                "ipv6_cidr_block_association_id",
                Attribute::computed(string()),
            )
            .attr("ipv6_native", Attribute::computed(AttrType::Bool))
            .attr(
                "map_customer_owned_ip_on_launch",
                Attribute::computed(AttrType::Bool),
            )
            .attr("outpost_arn", Attribute::computed(string()))
            .attr(
                "private_dns_hostname_type_on_launch",
                Attribute::computed(string()),
            )
            .attr("state", Attribute::optional_computed(string()))
            // The provider's `timeouts` block; forge has its own waits: always null.
            .attr("timeouts", Attribute::computed(AttrType::Any))
            .block("filter", filter_block());
        SubnetDataSource {
            client: client(&ctx),
            ctx,
            schema,
        }
    }
}

#[async_trait]
impl DataSourceType for SubnetDataSource {
    fn type_name(&self) -> &'static str {
        "aws_subnet"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let config = config.deep_unmarked();
        let mut filters = filters_from_blocks(&config);
        for (attr, filter) in [
            ("vpc_id", "vpc-id"),
            ("availability_zone", "availability-zone"),
            ("cidr_block", "cidr-block"),
        ] {
            if let Some(v) = config.str_attr(attr) {
                filters.push(Filter::builder().name(filter).values(v).build());
            }
        }
        if let Some(d) = config.get("default_for_az").and_then(Value::as_bool) {
            filters.push(
                Filter::builder()
                    .name("default-for-az")
                    .values(d.to_string())
                    .build(),
            );
        }
        filters.extend(tag_filters(&config));
        let ids = config.str_attr("id").map(|id| vec![id.to_string()]);
        let subnets = describe_subnets(&self.client, ids, filters).await?;
        let subnet = match subnets.as_slice() {
            [one] => one,
            [] => {
                return Err(
                    ProviderError::new("aws_subnet: no subnet matches the query")
                        .hint("check id, vpc_id, availability_zone, tags and the filters"),
                );
            }
            many => {
                return Err(ProviderError::new(format!("aws_subnet: {} subnets match the query, not one", many.len()))
                    .hint("add availability_zone, a filter or tags so that exactly one subnet matches, or use aws_subnets"));
            }
        };
        let id = subnet.subnet_id().unwrap_or_default();
        let owner = subnet.owner_id().unwrap_or_default();
        let arn = subnet
            .subnet_arn()
            .map(str::to_string)
            .unwrap_or_else(|| ec2_arn(&self.ctx, owner, &format!("subnet/{id}")));
        let text = |s: Option<&str>| Value::string(s.unwrap_or(""));
        let flag = |b: Option<bool>| Value::Bool(b.unwrap_or(false));
        let dns = subnet.private_dns_name_options_on_launch();
        let ipv6 = subnet.ipv6_cidr_block_association_set().first();
        Ok(Value::object([
            ("id", Value::string(id)),
            ("vpc_id", opt_string(subnet.vpc_id())),
            ("availability_zone", opt_string(subnet.availability_zone())),
            (
                "availability_zone_id",
                opt_string(subnet.availability_zone_id()),
            ),
            ("cidr_block", opt_string(subnet.cidr_block())),
            (
                "default_for_az",
                Value::Bool(subnet.default_for_az().unwrap_or(false)),
            ),
            (
                "map_public_ip_on_launch",
                Value::Bool(subnet.map_public_ip_on_launch().unwrap_or(false)),
            ),
            (
                "available_ip_address_count",
                subnet
                    .available_ip_address_count()
                    .map(|n| Value::Number(f64::from(n)))
                    .unwrap_or(Value::Null),
            ),
            ("tags", map_value(&tags_from_aws(subnet.tags()))),
            ("arn", Value::string(arn)),
            ("owner_id", Value::string(owner)),
            (
                "assign_ipv6_address_on_creation",
                flag(subnet.assign_ipv6_address_on_creation()),
            ),
            (
                "customer_owned_ipv4_pool",
                text(subnet.customer_owned_ipv4_pool()),
            ),
            ("enable_dns64", flag(subnet.enable_dns64())),
            (
                "enable_lni_at_device_index",
                Value::Number(f64::from(subnet.enable_lni_at_device_index().unwrap_or(0))),
            ),
            (
                "enable_resource_name_dns_a_record_on_launch",
                flag(dns.and_then(|d| d.enable_resource_name_dns_a_record())),
            ),
            (
                "enable_resource_name_dns_aaaa_record_on_launch",
                flag(dns.and_then(|d| d.enable_resource_name_dns_aaaa_record())),
            ),
            (
                "ipv6_cidr_block",
                text(ipv6.and_then(|a| a.ipv6_cidr_block())),
            ),
            (
                "ipv6_cidr_block_association_id",
                text(ipv6.and_then(|a| a.association_id())),
            ),
            ("ipv6_native", flag(subnet.ipv6_native())),
            (
                "map_customer_owned_ip_on_launch",
                flag(subnet.map_customer_owned_ip_on_launch()),
            ),
            ("outpost_arn", text(subnet.outpost_arn())),
            (
                "private_dns_hostname_type_on_launch",
                text(dns.and_then(|d| d.hostname_type()).map(|h| h.as_str())),
            ),
            ("state", text(subnet.state().map(|s| s.as_str()))),
            ("timeouts", Value::Null),
            (
                "filter",
                filter_values_block(config.get("filter").unwrap_or(&Value::Null)),
            ),
        ]))
    }
}
