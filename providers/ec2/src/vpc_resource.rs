//! `aws_vpc`: a VPC with its IPv4 CIDR block, tenancy, DNS settings and tags, recorded
//! with the ids of the default objects EC2 makes with it (main route table, network
//! ACL, security group), as the provider records them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, ResourceType as Ec2ResourceType, Tenancy, Vpc, VpcAttributeName,
    VpcTenancy,
};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    client, config_tags, delete_once_released, ec2_arn, is_not_found, plan_tags_all, replace_paths,
    set_attr, tag_specifications, tags_from_aws, tags_state, update_tags,
};
use crate::intent_tag::{
    found_by_token, tags_with_token, token_filter, untag_recorded, without_intent_tag,
};

const TENANCIES: [&str; 2] = ["default", "dedicated"];

/// The provider's arguments for IPAM pools and chosen IPv6 blocks: forge does not manage
/// them yet, so a configured value is refused rather than ignored.
const NOT_SUPPORTED: [&str; 6] = [
    "ipv4_ipam_pool_id",
    "ipv4_netmask_length",
    "ipv6_ipam_pool_id",
    "ipv6_netmask_length",
    "ipv6_cidr_block",
    "ipv6_cidr_block_network_border_group",
];

pub struct VpcResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

impl VpcResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr(
                "cidr_block",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "instance_tenancy",
                Attribute::optional(string()).default(Value::string("default")),
            )
            .attr(
                "enable_dns_support",
                Attribute::optional(AttrType::Bool).default(Value::Bool(true)),
            )
            .attr(
                "enable_dns_hostnames",
                Attribute::optional_computed(AttrType::Bool),
            )
            .attr(
                "enable_network_address_usage_metrics",
                Attribute::optional_computed(AttrType::Bool),
            )
            .attr(
                "assign_generated_ipv6_cidr_block",
                Attribute::optional(AttrType::Bool),
            )
            .attr(
                "ipv4_ipam_pool_id",
                Attribute::optional(string()).force_new(),
            )
            .attr(
                "ipv4_netmask_length",
                Attribute::optional(AttrType::Number).force_new(),
            )
            .attr("ipv6_cidr_block", Attribute::optional_computed(string()))
            .attr(
                "ipv6_cidr_block_network_border_group",
                Attribute::optional_computed(string()),
            )
            .attr("ipv6_ipam_pool_id", Attribute::optional(string()))
            .attr("ipv6_netmask_length", Attribute::optional(AttrType::Number))
            .attr("ipv6_association_id", Attribute::computed(string()))
            .attr(
                "tags",
                Attribute::optional(AttrType::Map(Box::new(string()))),
            )
            .attr(
                "tags_all",
                Attribute::computed(AttrType::Map(Box::new(string()))),
            )
            .attr("id", Attribute::computed(string()))
            .attr("arn", Attribute::computed(string()))
            .attr("owner_id", Attribute::computed(string()))
            .attr("dhcp_options_id", Attribute::computed(string()))
            .attr("default_network_acl_id", Attribute::computed(string()))
            .attr("default_route_table_id", Attribute::computed(string()))
            .attr("default_security_group_id", Attribute::computed(string()))
            .attr("main_route_table_id", Attribute::computed(string()))
            // The provider's state shape for aws_vpc is at version 1.
            .version(1);
        let client = client(&ctx);
        VpcResource {
            ctx,
            client,
            schema,
        }
    }

    async fn describe(&self, id: &str) -> ProviderResult<Option<Vpc>> {
        match self
            .client
            .describe_vpcs()
            .vpc_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out.vpcs().first().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn attribute(&self, id: &str, name: VpcAttributeName) -> ProviderResult<bool> {
        let out = self
            .client
            .describe_vpc_attribute()
            .vpc_id(id)
            .attribute(name.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        let value = match name {
            VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
            VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
            _ => out.enable_network_address_usage_metrics(),
        };
        Ok(value.and_then(|v| v.value()).unwrap_or(false))
    }

    async fn set_attribute(&self, id: &str, name: &str, on: bool) -> ProviderResult<()> {
        let value = Some(AttributeBooleanValue::builder().value(on).build());
        let request = self.client.modify_vpc_attribute().vpc_id(id);
        let request = match name {
            "enable_dns_hostnames" => request.set_enable_dns_hostnames(value),
            "enable_dns_support" => request.set_enable_dns_support(value),
            _ => request.set_enable_network_address_usage_metrics(value),
        };
        request.send().await.map_err(sdk_error)?;
        Ok(())
    }

    /// The id of the one object a describe call with `filters` finds in the VPC, or "".
    async fn main_route_table(&self, id: &str) -> ProviderResult<String> {
        let out = self
            .client
            .describe_route_tables()
            .filters(vpc_filter(id))
            .filters(
                Filter::builder()
                    .name("association.main")
                    .values("true")
                    .build(),
            )
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .route_tables()
            .first()
            .and_then(|t| t.route_table_id())
            .unwrap_or_default()
            .to_string())
    }

    async fn default_network_acl(&self, id: &str) -> ProviderResult<String> {
        let out = self
            .client
            .describe_network_acls()
            .filters(vpc_filter(id))
            .filters(Filter::builder().name("default").values("true").build())
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .network_acls()
            .first()
            .and_then(|a| a.network_acl_id())
            .unwrap_or_default()
            .to_string())
    }

    async fn default_security_group(&self, id: &str) -> ProviderResult<String> {
        let out = self
            .client
            .describe_security_groups()
            .filters(vpc_filter(id))
            .filters(
                Filter::builder()
                    .name("group-name")
                    .values("default")
                    .build(),
            )
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .security_groups()
            .first()
            .and_then(|g| g.group_id())
            .unwrap_or_default()
            .to_string())
    }

    /// The state of a live VPC; `state` supplies the arguments only the configuration
    /// holds (the IPAM pool) and which tags are the resource's own.
    async fn state_from_live(&self, vpc: &Vpc, state: &Value) -> ProviderResult<Value> {
        let id = vpc.vpc_id().unwrap_or_default().to_string();
        let owner = match vpc.owner_id() {
            Some(o) => o.to_string(),
            None => self.ctx.account_id().await?,
        };
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(vpc.tags()),
        );
        let main_route_table = self.main_route_table(&id).await?;
        // The provider's rule: the IPv6 association shown is the first one associated.
        let ipv6 = vpc.ipv6_cidr_block_association_set().iter().find(|a| {
            a.ipv6_cidr_block_state()
                .and_then(|s| s.state())
                .is_some_and(|s| s.as_str() == "associated")
        });
        let keep = |name: &str| state.get(name).cloned().unwrap_or(Value::Null);
        Ok(Value::object([
            ("id", Value::string(&id)),
            (
                "arn",
                Value::string(ec2_arn(&self.ctx, &owner, &format!("vpc/{id}"))),
            ),
            ("owner_id", Value::string(&owner)),
            (
                "cidr_block",
                Value::string(vpc.cidr_block().unwrap_or_default()),
            ),
            (
                "instance_tenancy",
                Value::string(
                    vpc.instance_tenancy()
                        .map(|t| t.as_str())
                        .unwrap_or("default"),
                ),
            ),
            (
                "dhcp_options_id",
                Value::string(vpc.dhcp_options_id().unwrap_or_default()),
            ),
            (
                "enable_dns_hostnames",
                Value::Bool(
                    self.attribute(&id, VpcAttributeName::EnableDnsHostnames)
                        .await?,
                ),
            ),
            (
                "enable_dns_support",
                Value::Bool(
                    self.attribute(&id, VpcAttributeName::EnableDnsSupport)
                        .await?,
                ),
            ),
            (
                "enable_network_address_usage_metrics",
                Value::Bool(
                    self.attribute(&id, VpcAttributeName::EnableNetworkAddressUsageMetrics)
                        .await?,
                ),
            ),
            (
                "default_network_acl_id",
                Value::string(self.default_network_acl(&id).await?),
            ),
            (
                "default_security_group_id",
                Value::string(self.default_security_group(&id).await?),
            ),
            ("default_route_table_id", Value::string(&main_route_table)),
            ("main_route_table_id", Value::string(&main_route_table)),
            (
                "assign_generated_ipv6_cidr_block",
                Value::Bool(ipv6.is_some()),
            ),
            (
                "ipv6_association_id",
                Value::string(ipv6.and_then(|a| a.association_id()).unwrap_or_default()),
            ),
            (
                "ipv6_cidr_block",
                Value::string(ipv6.and_then(|a| a.ipv6_cidr_block()).unwrap_or_default()),
            ),
            (
                "ipv6_cidr_block_network_border_group",
                Value::string(
                    ipv6.and_then(|a| a.network_border_group())
                        .unwrap_or_default(),
                ),
            ),
            // What the provider writes when the block is Amazon's (or there is none).
            ("ipv6_ipam_pool_id", Value::string("")),
            ("ipv6_netmask_length", Value::Number(0.0)),
            ("ipv4_ipam_pool_id", keep("ipv4_ipam_pool_id")),
            ("ipv4_netmask_length", keep("ipv4_netmask_length")),
            ("tags", tags),
            ("tags_all", tags_all),
        ]))
    }

    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        match self.describe(id).await? {
            Some(vpc) => self.state_from_live(&vpc, state).await.map(Some),
            None => Ok(None),
        }
    }

    /// Reads a VPC just created: EC2 is eventually consistent, so a describe right after
    /// CreateVpc may not see it yet.
    async fn read_new(&self, id: &str, state: &Value) -> ProviderResult<Value> {
        let backoff = Backoff {
            attempts: 8,
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        };
        retry(backoff, is_not_found, || async {
            self.read_by_id(id, state).await?.ok_or_else(|| {
                ProviderError::with_code(
                    "InvalidVpcID.NotFound",
                    format!("VPC {id} is not visible yet after its creation"),
                )
            })
        })
        .await
    }

    async fn create_with(&self, planned: &Value, token: Option<&str>) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let cidr = planned.str_attr("cidr_block").ok_or_else(|| {
            ProviderError::new("aws_vpc: `cidr_block` is required")
                .hint("set cidr_block (forge does not allocate VPC blocks from IPAM pools)")
        })?;
        let tenancy = planned.str_attr("instance_tenancy").unwrap_or("default");
        let ipv6 = planned
            .get("assign_generated_ipv6_cidr_block")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let tags = tags_with_token(&self.ctx.tags_all(&config_tags(&planned)), token);
        let out = self
            .client
            .create_vpc()
            .cidr_block(cidr)
            .instance_tenancy(Tenancy::from(tenancy))
            .amazon_provided_ipv6_cidr_block(ipv6)
            .set_tag_specifications(tag_specifications(Ec2ResourceType::Vpc, &tags))
            .send()
            .await
            .map_err(sdk_error)
            .map_err(|e| match e.code.as_deref() {
                Some("VpcLimitExceeded") => {
                    e.hint("the region's VPC quota is reached: delete an unused VPC first")
                }
                Some("InvalidVpc.Range" | "InvalidParameterValue") => {
                    e.hint("cidr_block must be an IPv4 network between /16 and /28")
                }
                _ => e,
            })?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .ok_or_else(|| ProviderError::new("CreateVpc returned no VPC id"))?
            .to_string();
        self.settle_created(&id, &planned).await
    }

    /// After CreateVpc: the DNS settings and metrics EC2 does not take at creation, then
    /// the VPC read back.
    async fn settle_created(&self, id: &str, planned: &Value) -> ProviderResult<Value> {
        let created = self.read_new(id, planned).await?;
        let updated = self.apply_attributes(id, &created, planned).await?;
        if !updated {
            return Ok(created);
        }
        self.read_new(id, planned).await
    }

    /// Sets each DNS/metrics attribute whose planned value differs from `current`; true
    /// when something changed.
    async fn apply_attributes(
        &self,
        id: &str,
        current: &Value,
        planned: &Value,
    ) -> ProviderResult<bool> {
        let mut changed = false;
        for name in [
            "enable_dns_support",
            "enable_dns_hostnames",
            "enable_network_address_usage_metrics",
        ] {
            let Some(wanted) = planned.get(name).and_then(Value::as_bool) else {
                continue;
            };
            if current.get(name).and_then(Value::as_bool) != Some(wanted) {
                self.set_attribute(id, name, wanted).await?;
                changed = true;
            }
        }
        Ok(changed)
    }
}

fn vpc_filter(id: &str) -> Filter {
    Filter::builder().name("vpc-id").values(id).build()
}

/// Checks what the provider validates at plan: a known `cidr_block` is an IPv4 network
/// (no host bits set) between /16 and /28, the tenancy one EC2 takes, and no argument
/// forge does not manage is configured.
pub fn check_config(config: &Value) -> ProviderResult<()> {
    for name in NOT_SUPPORTED {
        if config.get_non_null(name).is_some() {
            return Err(ProviderError::new(format!(
                "aws_vpc: `{name}` is not supported by forge (IPAM pools and chosen IPv6 blocks)"
            ))
            .hint(format!(
                "remove `{name}`; set cidr_block, and assign_generated_ipv6_cidr_block for an IPv6 block from Amazon"
            )));
        }
    }
    if let Some(cidr) = config.str_attr("cidr_block") {
        check_ipv4_network(cidr, 16, 28).map_err(|why| {
            ProviderError::new(format!("aws_vpc: cidr_block {cidr:?} {why}"))
                .hint("use an IPv4 network address with a prefix between /16 and /28, such as 10.0.0.0/16")
        })?;
    }
    if let Some(tenancy) = config.str_attr("instance_tenancy")
        && !TENANCIES.contains(&tenancy)
    {
        return Err(ProviderError::new(format!(
            "aws_vpc: instance_tenancy {tenancy:?} is not one EC2 takes"
        ))
        .hint("use \"default\" or \"dedicated\""));
    }
    Ok(())
}

/// `Err` says why `cidr` is not an IPv4 network with a prefix in `min..=max`.
pub fn check_ipv4_network(cidr: &str, min: u8, max: u8) -> Result<(), String> {
    let (address, prefix) = cidr
        .split_once('/')
        .ok_or_else(|| "is not in CIDR notation (address/prefix)".to_string())?;
    let address: std::net::Ipv4Addr = address
        .parse()
        .map_err(|_| "does not start with an IPv4 address".to_string())?;
    let prefix: u8 = prefix
        .parse()
        .map_err(|_| "has no numeric prefix length".to_string())?;
    if !(min..=max).contains(&prefix) {
        return Err(format!("has prefix /{prefix}, outside /{min} to /{max}"));
    }
    let host_bits = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
    if u32::from(address) & host_bits != 0 {
        return Err("has host bits set: it is not the network's address".to_string());
    }
    Ok(())
}

#[async_trait]
impl ResourceType for VpcResource {
    fn type_name(&self) -> &'static str {
        "aws_vpc"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_config(config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
        if let Some(prior) = prior {
            let had = prior
                .get("assign_generated_ipv6_cidr_block")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let wants = planned
                .get("assign_generated_ipv6_cidr_block")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if had != wants {
                return Err(ProviderError::new(
                    "aws_vpc: forge does not add or remove a VPC's IPv6 block after creation",
                )
                .hint("keep assign_generated_ipv6_cidr_block as it was, or replace the VPC (forge apply -replace=ADDRESS)"));
            }
            // A new IPv6 block from Amazon is assigned by EC2: unknown until it is there.
        } else if planned
            .get("assign_generated_ipv6_cidr_block")
            .and_then(Value::as_bool)
            == Some(true)
        {
            for name in [
                "ipv6_cidr_block",
                "ipv6_association_id",
                "ipv6_cidr_block_network_border_group",
            ] {
                set_attr(&mut planned, name, Value::Unknown);
            }
        }
        plan_tags_all(&self.ctx, &mut planned);
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.create_with(planned, None).await
    }

    async fn create_under(&self, planned: &Value, intent: &CreateIntent) -> ProviderResult<Value> {
        // The marker stays on the VPC until `created_recorded`; state never holds it.
        self.create_with(planned, Some(&intent.token))
            .await
            .map(without_intent_tag)
    }

    async fn created_recorded(&self, state: &Value) -> ProviderResult<()> {
        untag_recorded(&self.client, state).await
    }

    /// CreateVpc takes no idempotency token: the VPC made under the intent carries its
    /// token as a tag from its first request.
    async fn find_created(
        &self,
        planned: &Value,
        intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let out = self
            .client
            .describe_vpcs()
            .filters(token_filter(&intent.token))
            .send()
            .await
            .map_err(sdk_error)?;
        let Some(id) = out
            .vpcs()
            .first()
            .and_then(|v| v.vpc_id())
            .map(str::to_string)
        else {
            return Ok(Finding::Absent);
        };
        // The create may have stopped before its DNS settings: finish them as it would.
        let planned = planned.deep_unmarked();
        let object = without_intent_tag(self.settle_created(&id, &planned).await?);
        Ok(found_by_token(id, object))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(id) = state.str_attr("id") else {
            return Ok(None);
        };
        self.read_by_id(id, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let id = prior
            .str_attr("id")
            .ok_or_else(|| ProviderError::new("aws_vpc: the prior state has no id"))?
            .to_string();
        let old_tags = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new_tags = self.ctx.tags_all(&config_tags(&planned));
        update_tags(&self.client, &id, &old_tags, &new_tags).await?;
        self.apply_attributes(&id, prior, &planned).await?;
        if let Some(tenancy) = planned.str_attr("instance_tenancy")
            && prior.str_attr("instance_tenancy") != Some(tenancy)
        {
            self.client
                .modify_vpc_tenancy()
                .vpc_id(&id)
                .instance_tenancy(VpcTenancy::from(tenancy))
                .send()
                .await
                .map_err(sdk_error)
                .map_err(|e| {
                    e.hint("EC2 only changes a VPC's tenancy to \"default\"; to make it dedicated, replace the VPC")
                })?;
        }
        self.read_by_id(&id, &planned)
            .await?
            .ok_or_else(|| ProviderError::new(format!("VPC {id} disappeared during the update")))
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        delete_once_released(
            "the VPC still has subnets, gateways, interfaces or security groups: delete them first",
            || async {
                self.client
                    .delete_vpc()
                    .vpc_id(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            },
        )
        .await
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_by_id(id, &Value::object([("id", Value::string(id))]))
            .await
    }

    fn upgrade_step(&self, from: u64, state: Value) -> ProviderResult<Value> {
        match from {
            // The provider's v0 -> v1 step only adds `assign_generated_ipv6_cidr_block`
            // (false) to states written before it existed.
            0 => {
                let mut state = state;
                if state.get("assign_generated_ipv6_cidr_block").is_none() {
                    set_attr(
                        &mut state,
                        "assign_generated_ipv6_cidr_block",
                        Value::Bool(false),
                    );
                }
                Ok(state)
            }
            _ => Err(ProviderError::new(format!(
                "aws_vpc: no state upgrade from schema version {from}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_are_checked_as_the_provider_does() {
        assert!(check_ipv4_network("10.0.0.0/16", 16, 28).is_ok());
        assert!(check_ipv4_network("10.0.0.16/28", 16, 28).is_ok());
        assert!(
            check_ipv4_network("10.0.0.1/16", 16, 28)
                .unwrap_err()
                .contains("host bits")
        );
        assert!(
            check_ipv4_network("10.0.0.0/8", 16, 28)
                .unwrap_err()
                .contains("/8")
        );
        assert!(check_ipv4_network("10.0.0.0", 16, 28).is_err());
        assert!(check_ipv4_network("fd00::/56", 16, 28).is_err());
    }

    #[test]
    fn ipam_arguments_and_unknown_tenancies_are_refused() {
        let ipam = Value::object([
            ("cidr_block", Value::Null),
            ("ipv4_ipam_pool_id", Value::string("ipam-pool-1")),
        ]);
        let e = check_config(&ipam).unwrap_err();
        assert!(e.message.contains("ipv4_ipam_pool_id"), "{e:?}");
        let host = Value::object([("instance_tenancy", Value::string("host"))]);
        assert!(check_config(&host).unwrap_err().message.contains("host"));
        let fine = Value::object([
            ("cidr_block", Value::string("10.1.0.0/16")),
            ("instance_tenancy", Value::string("dedicated")),
            ("ipv6_cidr_block", Value::Null),
        ]);
        assert!(check_config(&fine).is_ok());
    }
}
