//! `aws_subnet`: an IPv4 subnet of a VPC in one availability zone, with its launch
//! settings (public addresses, resource-name DNS) and tags.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, HostnameType, ResourceType as Ec2ResourceType, Subnet,
};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    client, config_tags, delete_once_released, ec2_arn, is_not_found, plan_tags_all, replace_paths,
    required_str, set_attr, tag_specifications, tags_from_aws, tags_state, update_tags,
};
use crate::intent_tag::{
    found_by_token, tags_with_token, token_filter, untag_recorded, without_intent_tag,
};
use crate::vpc_resource::check_ipv4_network;

/// Arguments forge does not manage yet (IPv6 subnets, Outposts): a configured value other
/// than the provider's empty one is refused rather than ignored.
const NOT_SUPPORTED: [&str; 9] = [
    "ipv6_cidr_block",
    "assign_ipv6_address_on_creation",
    "ipv6_native",
    "enable_dns64",
    "enable_resource_name_dns_aaaa_record_on_launch",
    "customer_owned_ipv4_pool",
    "map_customer_owned_ip_on_launch",
    "outpost_arn",
    "enable_lni_at_device_index",
];

/// The launch settings changed with ModifySubnetAttribute, one per call (EC2's rule).
const LAUNCH_SETTINGS: [&str; 3] = [
    "map_public_ip_on_launch",
    "enable_resource_name_dns_a_record_on_launch",
    "private_dns_hostname_type_on_launch",
];

pub struct SubnetResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

impl SubnetResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let off = || Value::Bool(false);
        let schema = Schema::new()
            .attr("vpc_id", Attribute::required(string()).force_new())
            .attr("cidr_block", Attribute::optional(string()).force_new())
            .attr(
                "availability_zone",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "availability_zone_id",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "map_public_ip_on_launch",
                Attribute::optional(AttrType::Bool).default(off()),
            )
            .attr(
                "enable_resource_name_dns_a_record_on_launch",
                Attribute::optional(AttrType::Bool).default(off()),
            )
            .attr(
                "enable_resource_name_dns_aaaa_record_on_launch",
                Attribute::optional(AttrType::Bool).default(off()),
            )
            .attr(
                "private_dns_hostname_type_on_launch",
                Attribute::optional_computed(string()),
            )
            .attr(
                "assign_ipv6_address_on_creation",
                Attribute::optional(AttrType::Bool).default(off()),
            )
            .attr(
                "enable_dns64",
                Attribute::optional(AttrType::Bool).default(off()),
            )
            .attr(
                "ipv6_native",
                Attribute::optional(AttrType::Bool)
                    .default(off())
                    .force_new(),
            )
            .attr("ipv6_cidr_block", Attribute::optional(string()))
            .attr(
                "ipv6_cidr_block_association_id",
                Attribute::computed(string()),
            )
            .attr("customer_owned_ipv4_pool", Attribute::optional(string()))
            .attr(
                "map_customer_owned_ip_on_launch",
                Attribute::optional(AttrType::Bool),
            )
            .attr("outpost_arn", Attribute::optional(string()).force_new())
            .attr(
                "enable_lni_at_device_index",
                Attribute::optional(AttrType::Number),
            )
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
            .attr("timeouts", forge_aws_common::values::timeouts_attribute())
            // The provider's state shape for aws_subnet is at version 1.
            .version(1);
        let client = client(&ctx);
        SubnetResource {
            ctx,
            client,
            schema,
        }
    }

    async fn describe(&self, id: &str) -> ProviderResult<Option<Subnet>> {
        match self
            .client
            .describe_subnets()
            .subnet_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out.subnets().first().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn state_from_live(&self, subnet: &Subnet, state: &Value) -> ProviderResult<Value> {
        let id = subnet.subnet_id().unwrap_or_default().to_string();
        let owner = match subnet.owner_id() {
            Some(o) => o.to_string(),
            None => self.ctx.account_id().await?,
        };
        let arn = subnet
            .subnet_arn()
            .map(str::to_string)
            .unwrap_or_else(|| ec2_arn(&self.ctx, &owner, &format!("subnet/{id}")));
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(subnet.tags()),
        );
        let ipv6 = subnet.ipv6_cidr_block_association_set().iter().find(|a| {
            a.ipv6_cidr_block_state()
                .and_then(|s| s.state())
                .is_some_and(|s| s.as_str() == "associated")
        });
        let dns = subnet.private_dns_name_options_on_launch();
        let flag = |v: Option<bool>| Value::Bool(v.unwrap_or(false));
        let text = |v: Option<&str>| Value::string(v.unwrap_or_default());
        Ok(Value::object([
            ("id", Value::string(&id)),
            ("arn", Value::string(arn)),
            ("owner_id", Value::string(&owner)),
            ("vpc_id", text(subnet.vpc_id())),
            ("cidr_block", text(subnet.cidr_block())),
            ("availability_zone", text(subnet.availability_zone())),
            ("availability_zone_id", text(subnet.availability_zone_id())),
            (
                "map_public_ip_on_launch",
                flag(subnet.map_public_ip_on_launch()),
            ),
            (
                "enable_resource_name_dns_a_record_on_launch",
                flag(dns.and_then(|d| d.enable_resource_name_dns_a_record())),
            ),
            (
                "enable_resource_name_dns_aaaa_record_on_launch",
                flag(dns.and_then(|d| d.enable_resource_name_dns_aaaa_record())),
            ),
            (
                "private_dns_hostname_type_on_launch",
                text(dns.and_then(|d| d.hostname_type()).map(|t| t.as_str())),
            ),
            (
                "assign_ipv6_address_on_creation",
                flag(subnet.assign_ipv6_address_on_creation()),
            ),
            ("enable_dns64", flag(subnet.enable_dns64())),
            ("ipv6_native", flag(subnet.ipv6_native())),
            (
                "ipv6_cidr_block",
                text(ipv6.and_then(|a| a.ipv6_cidr_block())),
            ),
            (
                "ipv6_cidr_block_association_id",
                text(ipv6.and_then(|a| a.association_id())),
            ),
            (
                "customer_owned_ipv4_pool",
                text(subnet.customer_owned_ipv4_pool()),
            ),
            (
                "map_customer_owned_ip_on_launch",
                flag(subnet.map_customer_owned_ip_on_launch()),
            ),
            ("outpost_arn", text(subnet.outpost_arn())),
            (
                "enable_lni_at_device_index",
                Value::Number(f64::from(subnet.enable_lni_at_device_index().unwrap_or(0))),
            ),
            ("timeouts", Value::Null),
            ("tags", tags),
            ("tags_all", tags_all),
        ]))
    }

    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        match self.describe(id).await? {
            Some(subnet) => self.state_from_live(&subnet, state).await.map(Some),
            None => Ok(None),
        }
    }

    /// Reads a subnet just created, waiting while EC2 does not show it yet.
    async fn read_new(&self, id: &str, state: &Value) -> ProviderResult<Value> {
        let backoff = Backoff {
            attempts: 8,
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        };
        retry(backoff, is_not_found, || async {
            self.read_by_id(id, state).await?.ok_or_else(|| {
                ProviderError::with_code(
                    "InvalidSubnetID.NotFound",
                    format!("subnet {id} is not visible yet after its creation"),
                )
            })
        })
        .await
    }

    /// Sets each launch setting whose planned value differs from `current`; true when
    /// something changed.
    async fn apply_settings(
        &self,
        id: &str,
        current: &Value,
        planned: &Value,
    ) -> ProviderResult<bool> {
        let mut changed = false;
        for name in LAUNCH_SETTINGS {
            let Some(wanted) = planned.get_non_null(name) else {
                continue;
            };
            if current.get(name).is_some_and(|c| c.same_as(wanted)) || !wanted.is_wholly_known() {
                continue;
            }
            let on = |v: &Value| {
                Some(
                    AttributeBooleanValue::builder()
                        .value(v.as_bool().unwrap_or(false))
                        .build(),
                )
            };
            let request = self.client.modify_subnet_attribute().subnet_id(id);
            let request = match name {
                "map_public_ip_on_launch" => request.set_map_public_ip_on_launch(on(wanted)),
                "enable_resource_name_dns_a_record_on_launch" => {
                    request.set_enable_resource_name_dns_a_record_on_launch(on(wanted))
                }
                _ => request.private_dns_hostname_type_on_launch(HostnameType::from(
                    wanted.as_str().unwrap_or_default(),
                )),
            };
            request.send().await.map_err(sdk_error)?;
            changed = true;
        }
        Ok(changed)
    }

    async fn settle_created(&self, id: &str, planned: &Value) -> ProviderResult<Value> {
        let created = self.read_new(id, planned).await?;
        if self.apply_settings(id, &created, planned).await? {
            return self.read_new(id, planned).await;
        }
        Ok(created)
    }

    async fn create_with(&self, planned: &Value, token: Option<&str>) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let vpc_id = required_str(&planned, "vpc_id", "aws_subnet")?;
        let cidr = planned.str_attr("cidr_block").ok_or_else(|| {
            ProviderError::new("aws_subnet: `cidr_block` is required")
                .hint("set cidr_block (forge does not make IPv6-only subnets)")
        })?;
        let tags = tags_with_token(&self.ctx.tags_all(&config_tags(&planned)), token);
        let out = self
            .client
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block(cidr)
            .set_availability_zone(planned.str_attr("availability_zone").map(str::to_string))
            .set_availability_zone_id(planned.str_attr("availability_zone_id").map(str::to_string))
            .set_tag_specifications(tag_specifications(Ec2ResourceType::Subnet, &tags))
            .send()
            .await
            .map_err(sdk_error)
            .map_err(|e| match e.code.as_deref() {
                Some("InvalidVpcID.NotFound") => e.hint("vpc_id names no VPC in this region"),
                Some("InvalidSubnet.Range") => {
                    e.hint("cidr_block must lie within the VPC's CIDR block")
                }
                Some("InvalidSubnet.Conflict") => {
                    e.hint("cidr_block overlaps another subnet of the VPC: choose a free range")
                }
                _ => e,
            })?;
        let id = out
            .subnet()
            .and_then(|s| s.subnet_id())
            .ok_or_else(|| ProviderError::new("CreateSubnet returned no subnet id"))?
            .to_string();
        self.settle_created(&id, &planned).await
    }
}

/// What the provider validates at plan, and the arguments forge refuses.
pub fn check_config(config: &Value) -> ProviderResult<()> {
    for name in NOT_SUPPORTED {
        let Some(v) = config.get_non_null(name) else {
            continue;
        };
        if v.as_bool() == Some(false) {
            continue;
        }
        return Err(ProviderError::new(format!(
            "aws_subnet: `{name}` is not supported by forge (IPv6 subnets and Outposts)"
        ))
        .hint(format!("remove `{name}` from the subnet")));
    }
    if config.get_non_null("availability_zone").is_some()
        && config.get_non_null("availability_zone_id").is_some()
    {
        return Err(ProviderError::new(
            "aws_subnet: `availability_zone` and `availability_zone_id` conflict",
        )
        .hint("set only one of them"));
    }
    if let Some(cidr) = config.str_attr("cidr_block") {
        check_ipv4_network(cidr, 0, 32).map_err(|why| {
            ProviderError::new(format!("aws_subnet: cidr_block {cidr:?} {why}"))
                .hint("use an IPv4 network address, such as 10.0.1.0/24")
        })?;
    }
    if let Some(kind) = config.str_attr("private_dns_hostname_type_on_launch")
        && !["ip-name", "resource-name"].contains(&kind)
    {
        return Err(ProviderError::new(format!(
            "aws_subnet: private_dns_hostname_type_on_launch {kind:?} is not one EC2 takes"
        ))
        .hint("use \"ip-name\" or \"resource-name\""));
    }
    Ok(())
}

#[async_trait]
impl ResourceType for SubnetResource {
    fn type_name(&self) -> &'static str {
        "aws_subnet"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        forge_aws_common::values::check_no_timeouts("aws_subnet", config)?;
        check_config(config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
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
        // The marker stays on the subnet until `created_recorded`; state never holds it.
        self.create_with(planned, Some(&intent.token))
            .await
            .map(without_intent_tag)
    }

    async fn created_recorded(&self, state: &Value) -> ProviderResult<()> {
        untag_recorded(&self.client, state).await
    }

    /// CreateSubnet takes no idempotency token: the subnet made under the intent carries
    /// its token as a tag from its first request.
    async fn find_created(
        &self,
        planned: &Value,
        intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let out = self
            .client
            .describe_subnets()
            .filters(token_filter(&intent.token))
            .send()
            .await
            .map_err(sdk_error)?;
        let Some(id) = out
            .subnets()
            .first()
            .and_then(|s| s.subnet_id())
            .map(str::to_string)
        else {
            return Ok(Finding::Absent);
        };
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
        let id = required_str(prior, "id", "aws_subnet")?.to_string();
        let old_tags = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new_tags = self.ctx.tags_all(&config_tags(&planned));
        update_tags(&self.client, &id, &old_tags, &new_tags).await?;
        self.apply_settings(&id, prior, &planned).await?;
        self.read_by_id(&id, &planned)
            .await?
            .ok_or_else(|| ProviderError::new(format!("subnet {id} disappeared during the update")))
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        delete_once_released(
            "the subnet still has network interfaces (instances, endpoints): remove them first",
            || async {
                self.client
                    .delete_subnet()
                    .subnet_id(id)
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
            // The provider's v0 -> v1 step adds `assign_ipv6_address_on_creation`
            // (false) to states written before it existed.
            0 => {
                let mut state = state;
                if state.get("assign_ipv6_address_on_creation").is_none() {
                    set_attr(
                        &mut state,
                        "assign_ipv6_address_on_creation",
                        Value::Bool(false),
                    );
                }
                Ok(state)
            }
            _ => Err(ProviderError::new(format!(
                "aws_subnet: no state upgrade from schema version {from}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_and_outpost_arguments_are_refused_and_their_empty_values_accepted() {
        let ipv6 = Value::object([("assign_ipv6_address_on_creation", Value::Bool(true))]);
        let e = check_config(&ipv6).unwrap_err();
        assert!(
            e.message.contains("assign_ipv6_address_on_creation"),
            "{e:?}"
        );
        let outpost = Value::object([("outpost_arn", Value::string("arn:aws:outposts:x"))]);
        assert!(check_config(&outpost).is_err());
        let defaults = Value::object([
            ("cidr_block", Value::string("10.0.1.0/24")),
            ("ipv6_native", Value::Bool(false)),
            ("enable_dns64", Value::Bool(false)),
        ]);
        assert!(check_config(&defaults).is_ok());
    }

    #[test]
    fn zone_by_name_and_by_id_conflict_and_bad_blocks_are_named() {
        let both = Value::object([
            ("availability_zone", Value::string("us-east-1a")),
            ("availability_zone_id", Value::string("use1-az1")),
        ]);
        assert!(
            check_config(&both)
                .unwrap_err()
                .message
                .contains("conflict")
        );
        let host = Value::object([("cidr_block", Value::string("10.0.1.7/24"))]);
        assert!(
            check_config(&host)
                .unwrap_err()
                .message
                .contains("host bits")
        );
        let kind = Value::object([("private_dns_hostname_type_on_launch", Value::string("dns"))]);
        assert!(check_config(&kind).is_err());
    }
}
