//! The s3 resource types of the `aws` provider: buckets and their versioning, default
//! encryption, public access block, policy, event notifications, ownership controls, CORS rules, lifecycle rules, access logging and website settings, and objects.

// Tests may unwrap: a panic there is a test failure with its message.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::sync::Arc;

use forge_aws_common::AwsContext;
use forge_provider::{DataSourceType, ResourceType};

pub mod bucket;
pub mod bucket_cors_configuration;
pub mod bucket_data;
pub mod bucket_encryption;
pub mod bucket_lifecycle_configuration;
pub mod bucket_logging;
pub mod bucket_notification;
pub mod bucket_ownership_controls;
pub mod bucket_policy;
pub mod bucket_settings;
pub mod bucket_versioning;
pub mod bucket_website_configuration;
pub mod common;
pub mod discover;
pub mod object;
pub mod public_access_block;

/// Every resource type this crate implements, bound to one provider configuration.
pub fn resource_types(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn ResourceType>> {
    vec![
        Arc::new(bucket::BucketResource::new(ctx.clone())),
        Arc::new(bucket_versioning::BucketVersioningResource::new(
            ctx.clone(),
        )),
        Arc::new(bucket_encryption::BucketEncryptionResource::new(
            ctx.clone(),
        )),
        Arc::new(public_access_block::PublicAccessBlockResource::new(
            ctx.clone(),
        )),
        Arc::new(bucket_policy::BucketPolicyResource::new(ctx.clone())),
        Arc::new(bucket_notification::BucketNotificationResource::new(
            ctx.clone(),
        )),
        Arc::new(bucket_ownership_controls::BucketOwnershipControlsResource::new(ctx.clone())),
        Arc::new(bucket_cors_configuration::BucketCorsConfigurationResource::new(ctx.clone())),
        Arc::new(
            bucket_lifecycle_configuration::BucketLifecycleConfigurationResource::new(ctx.clone()),
        ),
        Arc::new(bucket_logging::BucketLoggingResource::new(ctx.clone())),
        Arc::new(
            bucket_website_configuration::BucketWebsiteConfigurationResource::new(ctx.clone()),
        ),
        Arc::new(object::ObjectResource::new(ctx.clone())),
    ]
}

/// Every data source this crate implements.
pub fn data_sources(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn DataSourceType>> {
    vec![Arc::new(bucket_data::BucketDataSource::new(ctx.clone()))]
}
