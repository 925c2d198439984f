//! The ec2 resource types and data sources of the `aws` provider: security groups,
//! instances and key pairs; AMI, VPC and subnet lookups.
//!
//! Behaviour a Terraform user should know about:
//! - `aws_security_group`: rules compare by meaning (order, grouping of sources,
//!   protocol spelling such as `6`/`tcp` or `all`/`-1` do not matter). With no `ingress`
//!   (or no `egress`) block configured, the rules are left as they are, as Terraform's
//!   optional+computed blocks do; the allow-all egress rule AWS adds is always removed
//!   at creation. A group whose rules fail at creation is deleted again.
//! - `aws_instance`: state keeps the SHA-1 of `user_data`, as Terraform does; the plan
//!   for a new instance shows the script itself, because create needs it. A terminated
//!   instance reads as gone. DescribeInstances can lag behind an instance-profile
//!   replacement, so the profile is read from the association API.
//! - `aws_ami` refuses a lookup with no owners, executable_users or filter (listing every
//!   image is slow). On LocalStack 4.14, `owners = ["amazon"]` with the name filter
//!   `al2023-ami-2023.*-kernel-6.1-x86_64` finds exactly one image.

// Unit tests unwrap freely: a panic there is a failed test, not a crash.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::sync::Arc;

use forge_aws_common::AwsContext;
use forge_provider::{DataSourceType, ResourceType};

pub mod ami;
pub mod batched;
pub mod common;
pub mod discover;
pub mod instance;
pub mod instance_settings;
pub mod key_pair;
pub mod root_volume;
pub mod security_group;
pub mod sg_rules;
pub mod subnets;
pub mod user_data;
pub mod vpc;
// ec2net (#19): networking types.
pub mod intent_tag;
pub mod internet_gateway;
pub mod subnet_resource;
pub mod vpc_resource;
// aws_vpc_security_group_ingress_rule / _egress_rule (ec2vol)
pub mod vpc_security_group_rule;
// aws_ebs_volume (ec2vol)
pub mod ebs_volume;
// ec2rt (#19): aws_route_table.
pub mod route_table;
// ec2rt (#19): data aws_availability_zones.
pub mod availability_zones;
pub mod route_table_association;
pub mod route_table_routes;
// ec2eip (#19): aws_eip.
pub mod eip;
// ec2eip (#19): aws_network_interface.
pub mod network_interface;
// ec2lt (#19): aws_volume_attachment.
pub mod volume_attachment;
// ec2lt (#19): aws_launch_template.
pub mod launch_template;
pub mod launch_template_schema;

/// Every resource type this crate implements, bound to one provider configuration.
pub fn resource_types(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn ResourceType>> {
    vec![
        Arc::new(security_group::SecurityGroupType::new(ctx.clone())),
        Arc::new(instance::InstanceResource::new(ctx.clone())),
        Arc::new(key_pair::KeyPairResource::new(ctx.clone())),
        // ec2net (#19): aws_vpc.
        Arc::new(vpc_resource::VpcResource::new(ctx.clone())),
        // ec2net (#19): aws_subnet.
        Arc::new(subnet_resource::SubnetResource::new(ctx.clone())),
        // ec2net (#19): aws_internet_gateway.
        Arc::new(internet_gateway::InternetGatewayResource::new(ctx.clone())),
        // aws_vpc_security_group_ingress_rule / _egress_rule (ec2vol)
        Arc::new(vpc_security_group_rule::VpcSecurityGroupRuleType::ingress(
            ctx.clone(),
        )),
        Arc::new(vpc_security_group_rule::VpcSecurityGroupRuleType::egress(
            ctx.clone(),
        )),
        // aws_ebs_volume (ec2vol)
        Arc::new(ebs_volume::EbsVolumeResource::new(ctx.clone())),
        // ec2rt (#19): aws_route_table.
        Arc::new(route_table::RouteTableResource::new(ctx.clone())),
        // ec2rt (#19): aws_route_table_association.
        Arc::new(route_table_association::RouteTableAssociationResource::new(
            ctx.clone(),
        )),
        // ec2eip (#19): aws_eip.
        Arc::new(eip::EipResource::new(ctx.clone())),
        // ec2eip (#19): aws_network_interface.
        Arc::new(network_interface::NetworkInterfaceResource::new(
            ctx.clone(),
        )),
        // ec2lt (#19): aws_volume_attachment.
        Arc::new(volume_attachment::VolumeAttachmentResource::new(
            ctx.clone(),
        )),
        // ec2lt (#19): aws_launch_template.
        Arc::new(launch_template::LaunchTemplateResource::new(ctx.clone())),
    ]
}

/// Every data source this crate implements.
pub fn data_sources(ctx: &Arc<AwsContext>) -> Vec<Arc<dyn DataSourceType>> {
    vec![
        Arc::new(ami::AmiDataSource::new(ctx.clone())),
        Arc::new(vpc::VpcDataSource::new(ctx.clone())),
        Arc::new(subnets::SubnetsDataSource::new(ctx.clone())),
        Arc::new(subnets::SubnetDataSource::new(ctx.clone())),
        // ec2rt (#19): aws_availability_zones.
        Arc::new(availability_zones::AvailabilityZonesDataSource::new(
            ctx.clone(),
        )),
    ]
}
