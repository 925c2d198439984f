//! Instances, security groups, VPCs, subnets and EBS volumes that carry the configuration's default
//! tags or the name prefix (`forge drift --unmanaged`). EC2 filters by tag itself, so
//! each kind takes one Describe call per page, whatever the number of objects.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;
use forge_aws_common::discovery::Marks;
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{Discovered, DiscoveryFilter, ProviderResult};

use crate::common::{client, tags_from_aws};

/// The object's `Name` tag, else its id.
fn display_name(tags: &BTreeMap<String, String>, id: &str) -> String {
    tags.get("Name").cloned().unwrap_or_else(|| id.to_string())
}

/// The filter sets to ask with: one per mark (default tags, the prefix on `name_filter`).
fn filter_sets(marks: &Marks<'_>, name_filter: &str) -> Vec<Vec<Filter>> {
    let mut sets = Vec::new();
    if !marks.default_tags.is_empty() {
        sets.push(
            marks
                .default_tags
                .iter()
                .map(|(k, v)| Filter::builder().name(format!("tag:{k}")).values(v).build())
                .collect(),
        );
    }
    if let Some(prefix) = marks.name_prefix {
        sets.push(vec![
            Filter::builder()
                .name(name_filter)
                .values(format!("{prefix}*"))
                .build(),
        ]);
    }
    sets
}

pub async fn discover(
    ctx: &AwsContext,
    filter: &DiscoveryFilter,
) -> ProviderResult<Vec<Discovered>> {
    let marks = Marks::new(ctx, filter);
    if marks.is_empty() {
        return Ok(Vec::new());
    }
    let client = client(ctx);
    let mut out = Vec::new();
    for filters in filter_sets(&marks, "tag:Name") {
        let mut pages = client
            .describe_instances()
            .set_filters(Some(filters))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for reservation in page.map_err(sdk_error)?.reservations() {
                for instance in reservation.instances() {
                    let gone = instance.state().and_then(|s| s.name()).is_some_and(|s| {
                        matches!(
                            s,
                            aws_sdk_ec2::types::InstanceStateName::Terminated
                                | aws_sdk_ec2::types::InstanceStateName::ShuttingDown
                        )
                    });
                    let Some(id) = instance.instance_id() else {
                        continue;
                    };
                    if gone {
                        continue;
                    }
                    let tags = tags_from_aws(instance.tags());
                    out.extend(marks.found("aws_instance", id, &display_name(&tags, id), &tags));
                }
            }
        }
    }
    for filters in filter_sets(&marks, "group-name") {
        let mut pages = client
            .describe_security_groups()
            .set_filters(Some(filters))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for group in page.map_err(sdk_error)?.security_groups() {
                let (Some(id), Some(name)) = (group.group_id(), group.group_name()) else {
                    continue;
                };
                let tags = tags_from_aws(group.tags());
                out.extend(marks.found("aws_security_group", id, name, &tags));
            }
        }
    }
    for filters in filter_sets(&marks, "tag:Name") {
        let mut pages = client
            .describe_vpcs()
            .set_filters(Some(filters))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for vpc in page.map_err(sdk_error)?.vpcs() {
                let Some(id) = vpc.vpc_id() else { continue };
                let tags = tags_from_aws(vpc.tags());
                out.extend(marks.found("aws_vpc", id, &display_name(&tags, id), &tags));
            }
        }
    }
    for filters in filter_sets(&marks, "tag:Name") {
        let mut pages = client
            .describe_subnets()
            .set_filters(Some(filters))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for subnet in page.map_err(sdk_error)?.subnets() {
                let Some(id) = subnet.subnet_id() else {
                    continue;
                };
                let tags = tags_from_aws(subnet.tags());
                out.extend(marks.found("aws_subnet", id, &display_name(&tags, id), &tags));
            }
        }
    }
    for filters in filter_sets(&marks, "tag:Name") {
        let mut pages = client
            .describe_volumes()
            .set_filters(Some(filters))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for volume in page.map_err(sdk_error)?.volumes() {
                let Some(id) = volume.volume_id() else {
                    continue;
                };
                let tags = tags_from_aws(volume.tags());
                out.extend(marks.found("aws_ebs_volume", id, &display_name(&tags, id), &tags));
            }
        }
    }
    // An object marked both ways is found twice.
    out.sort();
    out.dedup();
    Ok(out)
}
