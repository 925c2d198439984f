//! The s3 resource types and data sources of the `aws` provider.

use std::sync::Arc;

use forge_aws_common::AwsContext;
use forge_provider::{DataSourceType, ResourceType};

/// Every resource type this crate implements, bound to one provider configuration.
pub fn resource_types(_ctx: &Arc<AwsContext>) -> Vec<Arc<dyn ResourceType>> {
    Vec::new()
}

/// Every data source this crate implements.
pub fn data_sources(_ctx: &Arc<AwsContext>) -> Vec<Arc<dyn DataSourceType>> {
    Vec::new()
}
