//! The ec2 resource types and data sources of the `aws` provider: security groups,
//! instances and key pairs; AMI, VPC and subnet lookups.

// Unit tests unwrap freely: a panic there is a failed test, not a crash.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::sync::Arc;

use forge_aws_common::AwsContext;
use forge_provider::{DataSourceType, ResourceType};

pub mod ami;
pub mod common;
pub mod instance;
pub mod key_pair;
pub mod root_volume;
pub mod security_group;
pub mod sg_rules;
pub mod subnets;
pub mod user_data;
pub mod vpc;

/// Every resource type this crate implements, bound to one provider configuration.
pub fn resource_types(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn ResourceType>> {
    vec![
        Arc::new(security_group::SecurityGroupType::new(ctx.clone())),
        Arc::new(instance::InstanceResource::new(ctx.clone())),
        Arc::new(key_pair::KeyPairResource::new(ctx.clone())),
    ]
}

/// Every data source this crate implements.
pub fn data_sources(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn DataSourceType>> {
    vec![
        Arc::new(ami::AmiDataSource::new(ctx.clone())),
        Arc::new(vpc::VpcDataSource::new(ctx.clone())),
        Arc::new(subnets::SubnetsDataSource::new(ctx.clone())),
        Arc::new(subnets::SubnetDataSource::new(ctx.clone())),
    ]
}
