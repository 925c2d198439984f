//! `data "aws_region"`: the provider's region (or a named one) with its description and
//! EC2 endpoint. No AWS call: the facts are static.

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::AwsContext;
use forge_provider::{
    AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, Schema, Value,
};

const TYPE: &str = "aws_region";

/// Region codes and the names AWS gives them (EC2 DescribeRegions / the console).
const REGIONS: &[(&str, &str)] = &[
    ("af-south-1", "Africa (Cape Town)"),
    ("ap-east-1", "Asia Pacific (Hong Kong)"),
    ("ap-east-2", "Asia Pacific (Taipei)"),
    ("ap-northeast-1", "Asia Pacific (Tokyo)"),
    ("ap-northeast-2", "Asia Pacific (Seoul)"),
    ("ap-northeast-3", "Asia Pacific (Osaka)"),
    ("ap-south-1", "Asia Pacific (Mumbai)"),
    ("ap-south-2", "Asia Pacific (Hyderabad)"),
    ("ap-southeast-1", "Asia Pacific (Singapore)"),
    ("ap-southeast-2", "Asia Pacific (Sydney)"),
    ("ap-southeast-3", "Asia Pacific (Jakarta)"),
    ("ap-southeast-4", "Asia Pacific (Melbourne)"),
    ("ap-southeast-5", "Asia Pacific (Malaysia)"),
    ("ap-southeast-7", "Asia Pacific (Thailand)"),
    ("ca-central-1", "Canada (Central)"),
    ("ca-west-1", "Canada West (Calgary)"),
    ("cn-north-1", "China (Beijing)"),
    ("cn-northwest-1", "China (Ningxia)"),
    ("eu-central-1", "Europe (Frankfurt)"),
    ("eu-central-2", "Europe (Zurich)"),
    ("eu-north-1", "Europe (Stockholm)"),
    ("eu-south-1", "Europe (Milan)"),
    ("eu-south-2", "Europe (Spain)"),
    ("eu-west-1", "Europe (Ireland)"),
    ("eu-west-2", "Europe (London)"),
    ("eu-west-3", "Europe (Paris)"),
    ("il-central-1", "Israel (Tel Aviv)"),
    ("me-central-1", "Middle East (UAE)"),
    ("me-south-1", "Middle East (Bahrain)"),
    ("mx-central-1", "Mexico (Central)"),
    ("sa-east-1", "South America (Sao Paulo)"),
    ("us-east-1", "US East (N. Virginia)"),
    ("us-east-2", "US East (Ohio)"),
    ("us-gov-east-1", "AWS GovCloud (US-East)"),
    ("us-gov-west-1", "AWS GovCloud (US-West)"),
    ("us-west-1", "US West (N. California)"),
    ("us-west-2", "US West (Oregon)"),
];

pub struct RegionDataSource {
    ctx: Arc<AwsContext>,
    schema: Schema,
}

impl RegionDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let schema = Schema::new()
            .attr("name", Attribute::optional_computed(AttrType::String))
            .attr("endpoint", Attribute::optional_computed(AttrType::String))
            .attr("description", Attribute::computed(AttrType::String))
            .attr("id", Attribute::computed(AttrType::String));
        RegionDataSource { ctx, schema }
    }
}

/// The EC2 endpoint host of a region, as Terraform reports it.
pub fn endpoint_of(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("ec2.{region}.{suffix}")
}

pub fn description_of(region: &str) -> Option<&'static str> {
    REGIONS
        .iter()
        .find(|(code, _)| *code == region)
        .map(|(_, d)| *d)
}

/// Picks the region: `name`, else the one whose endpoint is given, else the provider's
/// own. (hashicorp/aws 5.x has no `region` argument here; 6.x added it.)
fn chosen_region(ctx: &AwsContext, config: &Value) -> ProviderResult<String> {
    if let Some(r) = config.str_attr("name") {
        return Ok(r.to_string());
    }
    if let Some(endpoint) = config.str_attr("endpoint") {
        let host = endpoint
            .trim_start_matches("https://")
            .trim_end_matches('/');
        return REGIONS
            .iter()
            .map(|(code, _)| *code)
            .find(|code| endpoint_of(code) == host)
            .map(str::to_string)
            .ok_or_else(|| {
                ProviderError::new(format!("{TYPE}: no region has the endpoint {endpoint:?}"))
                    .hint("give an EC2 endpoint such as ec2.eu-west-1.amazonaws.com, or set region")
            });
    }
    Ok(ctx.region.clone())
}

#[async_trait]
impl DataSourceType for RegionDataSource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let region = chosen_region(&self.ctx, config)?;
        // Emulators and new regions are not in the table: keep going, as the region is
        // what the configuration asked for.
        let description = description_of(&region)
            .map(Value::string)
            .unwrap_or(Value::Null);
        Ok(Value::object([
            ("id", Value::string(&region)),
            ("name", Value::string(&region)),
            ("endpoint", Value::String(endpoint_of(&region))),
            ("description", description),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_descriptions() {
        assert_eq!(endpoint_of("eu-west-1"), "ec2.eu-west-1.amazonaws.com");
        assert_eq!(endpoint_of("cn-north-1"), "ec2.cn-north-1.amazonaws.com.cn");
        assert_eq!(description_of("us-east-1"), Some("US East (N. Virginia)"));
        assert_eq!(description_of("xx-nowhere-9"), None);
    }
}
