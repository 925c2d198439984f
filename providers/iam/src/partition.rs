//! `data "aws_partition"`: the partition of the provider's region (`aws`, `aws-cn`,
//! `aws-us-gov`), for building ARNs. No AWS call.

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::AwsContext;
use forge_provider::{AttrType, Attribute, DataSourceType, ProviderResult, Schema, Value};

pub struct PartitionDataSource {
    ctx: Arc<AwsContext>,
    schema: Schema,
}

impl PartitionDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let schema = Schema::new()
            .attr("partition", Attribute::computed(AttrType::String))
            .attr("dns_suffix", Attribute::computed(AttrType::String))
            .attr("reverse_dns_prefix", Attribute::computed(AttrType::String))
            .attr("id", Attribute::computed(AttrType::String));
        PartitionDataSource { ctx, schema }
    }
}

/// (partition, DNS suffix, reverse DNS prefix) of a region.
pub fn partition_of(region: &str) -> (&'static str, &'static str, &'static str) {
    if region.starts_with("cn-") {
        ("aws-cn", "amazonaws.com.cn", "cn.com.amazonaws")
    } else if region.starts_with("us-gov-") {
        ("aws-us-gov", "amazonaws.com", "com.amazonaws")
    } else if region.starts_with("us-iso-") {
        ("aws-iso", "c2s.ic.gov", "gov.ic.c2s")
    } else if region.starts_with("us-isob-") {
        ("aws-iso-b", "sc2s.sgov.gov", "gov.sgov.sc2s")
    } else {
        ("aws", "amazonaws.com", "com.amazonaws")
    }
}

#[async_trait]
impl DataSourceType for PartitionDataSource {
    fn type_name(&self) -> &'static str {
        "aws_partition"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, _config: &Value) -> ProviderResult<Value> {
        let (partition, dns_suffix, reverse) = partition_of(&self.ctx.region);
        Ok(Value::object([
            ("id", Value::string(partition)),
            ("partition", Value::string(partition)),
            ("dns_suffix", Value::string(dns_suffix)),
            ("reverse_dns_prefix", Value::string(reverse)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_by_region_prefix() {
        assert_eq!(partition_of("us-east-1").0, "aws");
        assert_eq!(
            partition_of("cn-north-1"),
            ("aws-cn", "amazonaws.com.cn", "cn.com.amazonaws")
        );
        assert_eq!(partition_of("us-gov-west-1").0, "aws-us-gov");
    }
}
