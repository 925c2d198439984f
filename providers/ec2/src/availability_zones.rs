//! The `aws_availability_zones` data source: the region's zones, by state, filters and
//! exclusions, as the provider lists them (sorted by name; `id` is the region).

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AvailabilityZone, Filter};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{AttrType, Attribute, DataSourceType, ProviderResult, Schema, Value};

use crate::common::{
    client, filter_block, filter_values_block, filters_from_blocks, string_list_value, string_set,
    strings_in,
};

const TYPE: &str = "aws_availability_zones";

pub struct AvailabilityZonesDataSource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

impl AvailabilityZonesDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let strings = |ty: fn(Box<AttrType>) -> AttrType| ty(Box::new(AttrType::String));
        let schema = Schema::new()
            .attr(
                "all_availability_zones",
                Attribute::optional(AttrType::Bool),
            )
            .attr("exclude_names", Attribute::optional(strings(AttrType::Set)))
            .attr(
                "exclude_zone_ids",
                Attribute::optional(strings(AttrType::Set)),
            )
            .attr("state", Attribute::optional(AttrType::String))
            .attr("group_names", Attribute::computed(strings(AttrType::Set)))
            .attr("names", Attribute::computed(strings(AttrType::List)))
            .attr("zone_ids", Attribute::computed(strings(AttrType::List)))
            .attr("id", Attribute::computed(AttrType::String))
            .attr("timeouts", forge_aws_common::values::timeouts_attribute())
            // A set of filter blocks here (a list in some other EC2 data sources).
            .block(
                "filter",
                forge_provider::BlockType {
                    unordered: true,
                    ..filter_block()
                },
            );
        AvailabilityZonesDataSource {
            client: client(&ctx),
            ctx,
            schema,
        }
    }
}

/// The zones kept after the exclusions, sorted by name as the provider sorts them.
pub fn selected_zones(
    mut zones: Vec<AvailabilityZone>,
    exclude_names: &[String],
    exclude_zone_ids: &[String],
) -> Vec<AvailabilityZone> {
    zones.retain(|z| {
        !exclude_names
            .iter()
            .any(|n| Some(n.as_str()) == z.zone_name())
            && !exclude_zone_ids
                .iter()
                .any(|n| Some(n.as_str()) == z.zone_id())
    });
    zones.sort_by(|a, b| a.zone_name().cmp(&b.zone_name()));
    zones
}

#[async_trait]
impl DataSourceType for AvailabilityZonesDataSource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        forge_aws_common::values::check_no_timeouts(TYPE, config)?;
        let config = config.deep_unmarked();
        let mut filters = filters_from_blocks(&config);
        if let Some(state) = config.str_attr("state") {
            filters.push(Filter::builder().name("state").values(state).build());
        }
        let all = config
            .get("all_availability_zones")
            .and_then(Value::as_bool);
        let out = self
            .client
            .describe_availability_zones()
            .set_all_availability_zones(all)
            .set_filters(Some(filters).filter(|f| !f.is_empty()))
            .send()
            .await
            .map_err(sdk_error)?;
        let exclude_names = strings_in(config.get("exclude_names").unwrap_or(&Value::Null));
        let exclude_ids = strings_in(config.get("exclude_zone_ids").unwrap_or(&Value::Null));
        let zones = selected_zones(
            out.availability_zones().to_vec(),
            &exclude_names,
            &exclude_ids,
        );
        let text = |f: fn(&AvailabilityZone) -> Option<&str>| {
            zones
                .iter()
                .filter_map(f)
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let keep = |name: &str| config.get(name).cloned().unwrap_or(Value::Null);
        Ok(Value::object([
            ("id", Value::string(&self.ctx.region)),
            (
                "names",
                string_list_value(text(AvailabilityZone::zone_name)),
            ),
            (
                "zone_ids",
                string_list_value(text(AvailabilityZone::zone_id)),
            ),
            ("group_names", group_names(&zones)),
            ("all_availability_zones", keep("all_availability_zones")),
            ("exclude_names", keep("exclude_names")),
            ("exclude_zone_ids", keep("exclude_zone_ids")),
            ("state", keep("state")),
            ("timeouts", Value::Null),
            (
                "filter",
                filter_values_block(config.get("filter").unwrap_or(&Value::Null)),
            ),
        ]))
    }
}

/// The zones' group names as the provider records them: a zone without one counts as
/// `""` (LocalStack's zones have none, and the provider's state then holds `[""]`).
pub fn group_names(zones: &[AvailabilityZone]) -> Value {
    string_set(
        zones
            .iter()
            .map(|z| z.group_name().unwrap_or_default().to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str, id: &str) -> AvailabilityZone {
        AvailabilityZone::builder()
            .zone_name(name)
            .zone_id(id)
            .build()
    }

    #[test]
    fn exclusions_apply_and_names_sort() {
        let zones = vec![
            zone("us-east-1c", "use1-az3"),
            zone("us-east-1a", "use1-az1"),
            zone("us-east-1b", "use1-az2"),
        ];
        let kept = selected_zones(zones, &["us-east-1b".into()], &["use1-az3".into()]);
        let names: Vec<_> = kept.iter().filter_map(|z| z.zone_name()).collect();
        assert_eq!(names, ["us-east-1a"]);
    }

    #[test]
    fn a_zone_without_a_group_counts_as_the_empty_group() {
        let zones = [
            zone("us-east-1a", "use1-az1"),
            zone("us-east-1b", "use1-az2"),
        ];
        assert_eq!(group_names(&zones), Value::Set(vec![Value::string("")]));
        let grouped = [AvailabilityZone::builder().group_name("us-east-1").build()];
        assert_eq!(
            group_names(&grouped),
            Value::Set(vec![Value::string("us-east-1")])
        );
    }
}
