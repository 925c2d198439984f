//! The iam resource types and data sources of the `aws` provider: roles, users, groups,
//! managed and inline policies, policy attachments, instance profiles and service-linked roles; the policy document
//! builder, the caller identity, the region and the partition.

// Tests may unwrap: a panic there is a test failure with its message.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::sync::Arc;

use forge_aws_common::AwsContext;
use forge_provider::{DataSourceType, ResourceType};

pub mod caller_identity;
pub mod common;
pub mod discover;
pub mod group;
pub mod group_membership;
pub mod instance_profile;
pub mod openid_connect_provider;
pub mod partition;
pub mod policy;
pub mod policy_document;
pub mod principal_policy_attachment;
pub mod region;
pub mod role;
pub mod role_data;
pub mod role_policy;
pub mod role_policy_attachment;
pub mod service_linked_role;
pub mod user;
pub mod user_data;

/// Every resource type this crate implements, bound to one provider configuration.
pub fn resource_types(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn ResourceType>> {
    vec![
        Arc::new(role::RoleResource::new(ctx.clone())),
        Arc::new(policy::PolicyResource::new(ctx.clone())),
        Arc::new(role_policy_attachment::RolePolicyAttachmentResource::new(
            ctx.clone(),
        )),
        Arc::new(role_policy::RolePolicyResource::new(ctx.clone())),
        Arc::new(instance_profile::InstanceProfileResource::new(ctx.clone())),
        Arc::new(user::UserResource::new(ctx.clone())),
        Arc::new(group::GroupResource::new(ctx.clone())),
        Arc::new(group_membership::GroupMembershipResource::new(ctx.clone())),
        Arc::new(openid_connect_provider::OpenIdConnectProviderResource::new(
            ctx.clone(),
        )),
        Arc::new(principal_policy_attachment::PrincipalPolicyAttachmentResource::user(ctx.clone())),
        Arc::new(
            principal_policy_attachment::PrincipalPolicyAttachmentResource::group(ctx.clone()),
        ),
        Arc::new(service_linked_role::ServiceLinkedRoleResource::new(
            ctx.clone(),
        )),
    ]
}

/// Every data source this crate implements.
pub fn data_sources(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn DataSourceType>> {
    vec![
        Arc::new(policy_document::PolicyDocumentDataSource::new()),
        Arc::new(caller_identity::CallerIdentityDataSource::new(ctx.clone())),
        Arc::new(region::RegionDataSource::new(ctx.clone())),
        Arc::new(partition::PartitionDataSource::new(ctx.clone())),
        Arc::new(role_data::RoleDataSource::new(ctx.clone())),
        Arc::new(user_data::UserDataSource::new(ctx.clone())),
    ]
}
