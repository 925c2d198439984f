//! The sqs resource types of the `aws` provider: queues, queue policies and the queue's
//! redrive documents managed apart.

// Tests may unwrap: a panic there is a test failure with its message.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::sync::Arc;

use forge_aws_common::AwsContext;
use forge_provider::{DataSourceType, ResourceType};

pub mod common;
pub mod discover;
pub mod queue;
pub mod queue_data;
pub mod queue_document;
pub mod queue_policy;
pub mod queue_redrive_allow_policy;
pub mod queue_redrive_policy;
pub mod redrive;

/// Every resource type this crate implements, bound to one provider configuration.
pub fn resource_types(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn ResourceType>> {
    vec![
        Arc::new(queue::QueueResource::new(ctx.clone())),
        Arc::new(queue_policy::QueuePolicyResource::new(ctx.clone())),
        Arc::new(queue_redrive_policy::resource(ctx)),
        Arc::new(queue_redrive_allow_policy::resource(ctx)),
    ]
}

/// Every data source this crate implements.
pub fn data_sources(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn DataSourceType>> {
    vec![Arc::new(queue_data::QueueDataSource::new(ctx.clone()))]
}
