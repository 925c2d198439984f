//! The secretsmanager resource types and data sources of the `aws` provider: secrets and
//! their versions, resource policies and rotation.

// Tests may unwrap: a panic there is a test failure with its message.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::sync::Arc;

use forge_aws_common::AwsContext;
use forge_provider::{DataSourceType, ResourceType};

pub mod common;
pub mod data_sources;
pub mod discover;
pub mod secret;
pub mod secret_policy;
pub mod secret_rotation;
pub mod secret_version;

/// Every resource type this crate implements, bound to one provider configuration.
pub fn resource_types(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn ResourceType>> {
    vec![
        Arc::new(secret::SecretResource::new(ctx.clone())),
        Arc::new(secret_version::SecretVersionResource::new(ctx.clone())),
        Arc::new(secret_policy::SecretPolicyResource::new(ctx.clone())),
        Arc::new(secret_rotation::SecretRotationResource::new(ctx.clone())),
    ]
}

/// Every data source this crate implements.
pub fn data_sources(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn DataSourceType>> {
    vec![
        Arc::new(data_sources::SecretDataSource::new(ctx.clone())),
        Arc::new(data_sources::SecretVersionDataSource::new(ctx.clone())),
    ]
}
