//! Roles, users and customer managed policies that carry the configuration's default tags
//! or the name prefix (`forge drift --unmanaged`). IAM's listings leave the tags out: one
//! List*Tags call per object when default tags are the mark.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use forge_aws_common::discovery::Marks;
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{Discovered, DiscoveryFilter, ProviderResult};

use crate::common::client;

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// An object deleted since the listing is skipped (`Ok`); any other failure is the error.
fn gone_or(e: forge_provider::ProviderError) -> ProviderResult<()> {
    if e.code.as_deref() == Some("NoSuchEntity") {
        Ok(())
    } else {
        Err(e)
    }
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
    let by_tags = !marks.default_tags.is_empty();
    let mut out = Vec::new();

    let mut roles = client.list_roles().into_paginator().send();
    while let Some(page) = roles.next().await {
        for role in page.map_err(sdk_error)?.roles() {
            // Roles AWS makes for its services are not the environment's.
            if role.path().starts_with("/aws-service-role/") {
                continue;
            }
            let name = role.role_name();
            let tags = if by_tags {
                match client.list_role_tags().role_name(name).send().await {
                    Ok(t) => tag_map(t.tags()),
                    Err(e) => {
                        gone_or(sdk_error(e))?;
                        continue;
                    }
                }
            } else {
                BTreeMap::new()
            };
            out.extend(marks.found("aws_iam_role", name, name, &tags));
        }
    }

    let mut users = client.list_users().into_paginator().send();
    while let Some(page) = users.next().await {
        for user in page.map_err(sdk_error)?.users() {
            let name = user.user_name();
            let tags = if by_tags {
                match client.list_user_tags().user_name(name).send().await {
                    Ok(t) => tag_map(t.tags()),
                    Err(e) => {
                        gone_or(sdk_error(e))?;
                        continue;
                    }
                }
            } else {
                BTreeMap::new()
            };
            out.extend(marks.found("aws_iam_user", name, name, &tags));
        }
    }

    let mut policies = client
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .into_paginator()
        .send();
    while let Some(page) = policies.next().await {
        for policy in page.map_err(sdk_error)?.policies() {
            let (Some(arn), Some(name)) = (policy.arn(), policy.policy_name()) else {
                continue;
            };
            let tags = if by_tags {
                match client.list_policy_tags().policy_arn(arn).send().await {
                    Ok(t) => tag_map(t.tags()),
                    Err(e) => {
                        gone_or(sdk_error(e))?;
                        continue;
                    }
                }
            } else {
                BTreeMap::new()
            };
            out.extend(marks.found("aws_iam_policy", arn, name, &tags));
        }
    }
    Ok(out)
}
