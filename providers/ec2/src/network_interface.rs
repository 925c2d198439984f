//! `aws_network_interface`: an elastic network interface in one subnet, its private IPv4
//! addresses (`private_ips`, `private_ips_count`, changed in place by
//! Assign/UnassignPrivateIpAddresses), security groups, description, source/destination
//! check, and its `attachment` to an instance (attached and detached in place), as the
//! provider manages them.
//!
//! forge does not manage IPv6 addresses, prefixes or the ordered-list mode
//! (`private_ip_list_enabled`, `ipv6_address_list_enabled`): configuring them is refused at
//! plan (README "Known incompatibilities"); they are read back as the provider reads them.
//!
//! CreateNetworkInterface takes a `ClientToken` (the intent's token under an intent), but
//! the emulators ignore it: the interface also carries the token as the
//! `forge:create-token` tag, so a create whose answer was lost is found by it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, NetworkInterface, NetworkInterfaceCreationType,
    PrivateIpAddressSpecification, ResourceType as Ec2ResourceType,
};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, BlockType, CreateIntent, Finding, PlannedState, ProviderError,
    ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{
    client, config_tags, delete_once_released, ec2_arn, is_not_found, is_transient, plan_tags_all,
    replace_paths, required_str, set_attr, string_list_value, string_set, strings_in,
    tag_specifications, tags_from_aws, tags_state, update_tags,
};
use crate::intent_tag::{
    found_by_token, tags_with_token, token_filter, untag_recorded, without_intent_tag,
};

const TYPE_NAME: &str = "aws_network_interface";

/// The code the waits below retry on: the interface is not in the state waited for yet.
const NOT_SETTLED: &str = "forge.NotSettled";

pub struct NetworkInterfaceResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

fn settle_backoff() -> Backoff {
    Backoff {
        attempts: 12,
        first_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(10),
    }
}

fn attachment_block() -> BlockType {
    BlockType {
        schema: Schema::new()
            .attr("attachment_id", Attribute::computed(AttrType::String))
            .attr("device_index", Attribute::required(AttrType::Number))
            .attr("instance", Attribute::required(AttrType::String)),
        unordered: true,
        ..Default::default()
    }
}

impl NetworkInterfaceResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let strings = || AttrType::Set(Box::new(AttrType::String));
        let schema = Schema::new()
            .attr("arn", Attribute::computed(string()))
            .block("attachment", attachment_block())
            .attr("description", Attribute::optional(string()))
            .attr(
                "enable_primary_ipv6",
                Attribute::optional_computed(AttrType::Bool),
            )
            .attr(
                "interface_type",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "ipv4_prefix_count",
                Attribute::optional_computed(AttrType::Number),
            )
            .attr("ipv4_prefixes", Attribute::optional_computed(strings()))
            .attr(
                "ipv6_address_count",
                Attribute::optional_computed(AttrType::Number),
            )
            .attr(
                "ipv6_address_list",
                Attribute::optional_computed(AttrType::List(Box::new(string()))),
            )
            .attr(
                "ipv6_address_list_enabled",
                Attribute::optional(AttrType::Bool).default(Value::Bool(false)),
            )
            .attr("ipv6_addresses", Attribute::optional_computed(strings()))
            .attr(
                "ipv6_prefix_count",
                Attribute::optional_computed(AttrType::Number),
            )
            .attr("ipv6_prefixes", Attribute::optional_computed(strings()))
            .attr("mac_address", Attribute::computed(string()))
            .attr("outpost_arn", Attribute::computed(string()))
            .attr("owner_id", Attribute::computed(string()))
            .attr("private_dns_name", Attribute::computed(string()))
            // The primary address cannot change: a new one replaces the interface.
            .attr(
                "private_ip",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "private_ip_list",
                Attribute::optional_computed(AttrType::List(Box::new(string()))),
            )
            .attr(
                "private_ip_list_enabled",
                Attribute::optional(AttrType::Bool).default(Value::Bool(false)),
            )
            .attr("private_ips", Attribute::optional_computed(strings()))
            .attr(
                "private_ips_count",
                Attribute::optional_computed(AttrType::Number),
            )
            .attr("security_groups", Attribute::optional_computed(strings()))
            .attr(
                "source_dest_check",
                Attribute::optional(AttrType::Bool).default(Value::Bool(true)),
            )
            .attr("subnet_id", Attribute::required(string()).force_new())
            .attr(
                "tags",
                Attribute::optional(AttrType::Map(Box::new(string()))),
            )
            .attr(
                "tags_all",
                Attribute::computed(AttrType::Map(Box::new(string()))),
            )
            .attr("id", Attribute::computed(string()));
        let client = client(&ctx);
        NetworkInterfaceResource {
            ctx,
            client,
            schema,
        }
    }

    async fn describe(&self, id: &str) -> ProviderResult<Option<NetworkInterface>> {
        match self
            .client
            .describe_network_interfaces()
            .network_interface_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out.network_interfaces().first().cloned()),
            Err(e)
                if is_not_found(&e)
                    || e.code.as_deref() == Some("InvalidNetworkInterfaceId.Malformed") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn interface_with_token(&self, token: &str) -> ProviderResult<Option<NetworkInterface>> {
        let out = self
            .client
            .describe_network_interfaces()
            .filters(token_filter(token))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.network_interfaces().first().cloned())
    }

    fn state_from_live(&self, eni: &NetworkInterface, state: &Value) -> Value {
        let id = eni.network_interface_id().unwrap_or_default().to_string();
        let owner = eni.owner_id().unwrap_or_default().to_string();
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(eni.tag_set()),
        );
        let text = |s: Option<&str>| Value::string(s.unwrap_or_default());
        let count = |n: usize| Value::Number(n as f64);
        let private: Vec<String> = eni
            .private_ip_addresses()
            .iter()
            .filter_map(|p| p.private_ip_address().map(str::to_string))
            .collect();
        let ipv6: Vec<String> = eni
            .ipv6_addresses()
            .iter()
            .filter_map(|a| a.ipv6_address().map(str::to_string))
            .collect();
        let ipv4_prefixes = eni
            .ipv4_prefixes()
            .iter()
            .filter_map(|p| p.ipv4_prefix().map(str::to_string));
        let ipv6_prefixes = eni
            .ipv6_prefixes()
            .iter()
            .filter_map(|p| p.ipv6_prefix().map(str::to_string));
        let attachment = match eni.attachment() {
            Some(a) => Value::Set(vec![Value::object([
                ("attachment_id", text(a.attachment_id())),
                (
                    "device_index",
                    Value::Number(f64::from(a.device_index().unwrap_or(0))),
                ),
                ("instance", text(a.instance_id())),
            ])]),
            None => Value::Set(Vec::new()),
        };
        let flag = |name: &str, default: bool| {
            state
                .get(name)
                .and_then(Value::as_bool)
                .map_or(Value::Bool(default), Value::Bool)
        };
        Value::object([
            ("id", Value::string(&id)),
            (
                "arn",
                Value::string(ec2_arn(
                    &self.ctx,
                    &owner,
                    &format!("network-interface/{id}"),
                )),
            ),
            ("attachment", attachment),
            ("description", text(eni.description())),
            // The provider's read never sets it: its state keeps what was configured
            // (or recorded), null when nothing was.
            (
                "enable_primary_ipv6",
                state
                    .get("enable_primary_ipv6")
                    .and_then(Value::as_bool)
                    .map_or(Value::Null, Value::Bool),
            ),
            (
                "interface_type",
                Value::string(eni.interface_type().map(|t| t.as_str()).unwrap_or_default()),
            ),
            ("ipv4_prefix_count", count(eni.ipv4_prefixes().len())),
            ("ipv4_prefixes", string_set(ipv4_prefixes)),
            ("ipv6_address_count", count(ipv6.len())),
            ("ipv6_address_list", string_list_value(ipv6.clone())),
            (
                "ipv6_address_list_enabled",
                flag("ipv6_address_list_enabled", false),
            ),
            ("ipv6_addresses", string_set(ipv6)),
            ("ipv6_prefix_count", count(eni.ipv6_prefixes().len())),
            ("ipv6_prefixes", string_set(ipv6_prefixes)),
            ("mac_address", text(eni.mac_address())),
            ("outpost_arn", text(eni.outpost_arn())),
            ("owner_id", Value::string(&owner)),
            ("private_dns_name", text(eni.private_dns_name())),
            ("private_ip", text(eni.private_ip_address())),
            ("private_ip_list", string_list_value(private.clone())),
            (
                "private_ip_list_enabled",
                flag("private_ip_list_enabled", false),
            ),
            ("private_ips_count", count(private.len().saturating_sub(1))),
            ("private_ips", string_set(private)),
            (
                "security_groups",
                string_set(
                    eni.groups()
                        .iter()
                        .filter_map(|g| g.group_id().map(str::to_string)),
                ),
            ),
            (
                "source_dest_check",
                Value::Bool(eni.source_dest_check().unwrap_or(true)),
            ),
            ("subnet_id", text(eni.subnet_id())),
            ("tags", tags),
            ("tags_all", tags_all),
        ])
    }

    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        Ok(self
            .describe(id)
            .await?
            .map(|eni| self.state_from_live(&eni, state)))
    }

    /// CreateNetworkInterface for `planned`, with the intent's token as ClientToken and
    /// marker tag; a resend after a lost answer first looks for the interface by its tag.
    async fn create_interface(
        &self,
        planned: &Value,
        token: Option<&str>,
    ) -> ProviderResult<String> {
        let tags = tags_with_token(&self.ctx.tags_all(&config_tags(planned)), token);
        let text = |name: &str| {
            planned
                .str_attr(name)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let wanted_ips = strings_in(planned.get("private_ips").unwrap_or(&Value::Null));
        let primary = text("private_ip");
        let count = planned
            .get("private_ips_count")
            .and_then(Value::as_f64)
            .filter(|n| *n > 0.0)
            .map(|n| n as i32);
        let mut request = self
            .client
            .create_network_interface()
            .subnet_id(required_str(planned, "subnet_id", TYPE_NAME)?)
            .set_client_token(Some(token.map_or_else(one_time_token, str::to_string)))
            .set_description(text("description"))
            .set_interface_type(
                text("interface_type").map(|t| NetworkInterfaceCreationType::from(t.as_str())),
            )
            .set_tag_specifications(tag_specifications(Ec2ResourceType::NetworkInterface, &tags));
        let groups = strings_in(planned.get("security_groups").unwrap_or(&Value::Null));
        if !groups.is_empty() {
            request = request.set_groups(Some(groups));
        }
        if !wanted_ips.is_empty() {
            // The configured primary address first (or the first of the set), the rest
            // secondary; `private_ips_count` may ask for fewer of them (the provider's rule).
            let first = primary
                .clone()
                .filter(|p| wanted_ips.contains(p))
                .unwrap_or_else(|| wanted_ips[0].clone());
            let mut ordered = vec![first.clone()];
            ordered.extend(wanted_ips.iter().filter(|ip| **ip != first).cloned());
            if let Some(c) = count {
                ordered.truncate((c as usize + 1).max(1));
            }
            request = request.set_private_ip_addresses(Some(
                ordered
                    .iter()
                    .enumerate()
                    .map(|(i, ip)| {
                        PrivateIpAddressSpecification::builder()
                            .private_ip_address(ip)
                            .primary(i == 0)
                            .build()
                    })
                    .collect(),
            ));
        } else {
            request = request
                .set_private_ip_address(primary)
                .set_secondary_private_ip_address_count(count);
        }
        let made = |eni: Option<&NetworkInterface>| {
            eni.and_then(|e| e.network_interface_id())
                .map(str::to_string)
                .ok_or_else(|| {
                    ProviderError::new("CreateNetworkInterface returned no interface id")
                })
        };
        let Some(token) = token else {
            let out = request
                .send()
                .await
                .map_err(|e| create_hint(sdk_error(e)))?;
            return made(out.network_interface());
        };
        let once = aws_sdk_ec2::config::Config::builder()
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::standard().with_max_attempts(1));
        let mut delay = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            let sent = request
                .clone()
                .customize()
                .config_override(once.clone())
                .send()
                .await
                .map_err(|e| create_hint(sdk_error(e)));
            match sent {
                Ok(out) => return made(out.network_interface()),
                Err(e) if attempt < 4 && (is_transient(&e) || is_throttled(&e)) => {
                    if let Some(found) = self.interface_with_token(token).await? {
                        return made(Some(&found));
                    }
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn wait_visible(&self, id: &str) -> ProviderResult<NetworkInterface> {
        retry(settle_backoff(), not_settled, || async {
            self.describe(id).await?.ok_or_else(|| {
                ProviderError::with_code(
                    NOT_SETTLED,
                    format!("network interface {id} is not visible yet after its creation"),
                )
            })
        })
        .await
    }

    async fn set_source_dest_check(&self, id: &str, on: bool) -> ProviderResult<()> {
        self.client
            .modify_network_interface_attribute()
            .network_interface_id(id)
            .source_dest_check(AttributeBooleanValue::builder().value(on).build())
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn attach(&self, id: &str, attachment: &Value) -> ProviderResult<()> {
        let instance = required_str(attachment, "instance", TYPE_NAME)?;
        let index = attachment
            .get("device_index")
            .and_then(Value::as_f64)
            .unwrap_or(0.0) as i32;
        let out = retry(
            settle_backoff(),
            |e| {
                e.code.as_deref() == Some("IncorrectState")
                    || e.code.as_deref() == Some("InvalidInstanceID")
            },
            || async {
                self.client
                    .attach_network_interface()
                    .network_interface_id(id)
                    .instance_id(instance)
                    .device_index(index)
                    .send()
                    .await
                    .map_err(sdk_error)
            },
        )
        .await
        .map_err(|mut e| {
            e.message = format!(
                "attaching network interface {id} to {instance} at device index {index}: {}",
                e.message
            );
            match e.code.as_deref() {
                Some("InvalidInstanceID.NotFound") => {
                    e.hint("`attachment.instance` names no instance in this region")
                }
                Some("InvalidParameterValue") => e.hint(
                    "the device index is taken on that instance, or the instance is in another availability zone than the subnet",
                ),
                _ => e,
            }
        })?;
        let attachment_id = out.attachment_id().unwrap_or_default().to_string();
        retry(settle_backoff(), not_settled, || async {
            match self
                .describe(id)
                .await?
                .and_then(|e| e.attachment().cloned())
            {
                Some(a)
                    if a.attachment_id() == Some(attachment_id.as_str())
                        && a.status().map(|s| s.as_str()) == Some("attached") =>
                {
                    Ok(())
                }
                _ => Err(ProviderError::with_code(
                    NOT_SETTLED,
                    format!("network interface {id} is not attached to {instance} yet"),
                )),
            }
        })
        .await
    }

    async fn detach(&self, id: &str, attachment_id: &str) -> ProviderResult<()> {
        if attachment_id.is_empty() {
            return Ok(());
        }
        match self
            .client
            .detach_network_interface()
            .attachment_id(attachment_id)
            .force(true)
            .send()
            .await
            .map_err(sdk_error)
        {
            Err(e) if !is_not_found(&e) => return Err(e),
            _ => {}
        }
        retry(settle_backoff(), not_settled, || async {
            match self
                .describe(id)
                .await?
                .and_then(|e| e.attachment().cloned())
            {
                Some(a) if a.attachment_id() == Some(attachment_id) => {
                    Err(ProviderError::with_code(
                        NOT_SETTLED,
                        format!("network interface {id} is still being detached"),
                    ))
                }
                _ => Ok(()),
            }
        })
        .await
    }

    /// After CreateNetworkInterface: the interface waited for, the settings CreateNetwork
    /// Interface does not take applied (extra addresses for the count, source/dest check,
    /// the attachment), read back without the intent marker.
    async fn settle_created(&self, id: &str, planned: &Value) -> ProviderResult<Value> {
        let eni = self.wait_visible(id).await?;
        let wanted_ips = strings_in(planned.get("private_ips").unwrap_or(&Value::Null));
        if let Some(count) = planned.get("private_ips_count").and_then(Value::as_f64)
            && !wanted_ips.is_empty()
        {
            let have = eni.private_ip_addresses().len();
            let want = count as usize + 1;
            if want > have {
                self.client
                    .assign_private_ip_addresses()
                    .network_interface_id(id)
                    .secondary_private_ip_address_count((want - have) as i32)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
        }
        if planned.get("source_dest_check").and_then(Value::as_bool) == Some(false)
            && eni.source_dest_check() != Some(false)
        {
            self.set_source_dest_check(id, false).await?;
        }
        if let Some(attachment) = configured_attachment(planned)
            && eni.attachment().is_none()
        {
            self.attach(id, &attachment).await?;
        }
        let eni = self.wait_visible(id).await?;
        Ok(without_intent_tag(self.state_from_live(&eni, planned)))
    }

    async fn create_with(&self, planned: &Value, token: Option<&str>) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let id = self.create_interface(&planned, token).await?;
        self.settle_created(&id, &planned).await
    }

    async fn update_private_ips(
        &self,
        id: &str,
        prior: &Value,
        planned: &Value,
    ) -> ProviderResult<()> {
        let set_of = |v: &Value, name: &str| -> BTreeSet<String> {
            strings_in(v.get(name).unwrap_or(&Value::Null))
                .into_iter()
                .collect()
        };
        let before = set_of(prior, "private_ips");
        let planned_ips = planned.get("private_ips").filter(|v| v.is_wholly_known());
        let mut net = 0i64;
        if let Some(ips) = planned_ips {
            let after: BTreeSet<String> = strings_in(ips).into_iter().collect();
            let removed: Vec<String> = before.difference(&after).cloned().collect();
            let added: Vec<String> = after.difference(&before).cloned().collect();
            if !removed.is_empty() {
                net -= removed.len() as i64;
                self.client
                    .unassign_private_ip_addresses()
                    .network_interface_id(id)
                    .set_private_ip_addresses(Some(removed))
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            if !added.is_empty() {
                net += added.len() as i64;
                self.client
                    .assign_private_ip_addresses()
                    .network_interface_id(id)
                    .set_private_ip_addresses(Some(added))
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
        }
        let old_count = prior
            .get("private_ips_count")
            .and_then(Value::as_f64)
            .unwrap_or(0.0) as i64;
        if let Some(new_count) = planned.get("private_ips_count").and_then(Value::as_f64) {
            let diff = new_count as i64 - old_count - net;
            if diff > 0 {
                self.client
                    .assign_private_ip_addresses()
                    .network_interface_id(id)
                    .secondary_private_ip_address_count(diff as i32)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            } else if diff < 0 {
                let primary = prior.str_attr("private_ip").unwrap_or_default();
                let secondaries: Vec<String> = self
                    .describe(id)
                    .await?
                    .map(|e| {
                        e.private_ip_addresses()
                            .iter()
                            .filter(|p| p.primary() != Some(true))
                            .filter_map(|p| p.private_ip_address().map(str::to_string))
                            .filter(|ip| ip != primary)
                            .collect()
                    })
                    .unwrap_or_default();
                let drop: Vec<String> = secondaries.into_iter().take((-diff) as usize).collect();
                if !drop.is_empty() {
                    self.client
                        .unassign_private_ip_addresses()
                        .network_interface_id(id)
                        .set_private_ip_addresses(Some(drop))
                        .send()
                        .await
                        .map_err(sdk_error)?;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ResourceType for NetworkInterfaceResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_arguments(config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
        plan_attachment(prior, config, &mut planned);
        let mut replace_primary = false;
        if let Some(prior) = prior {
            replace_primary = plan_private_ips(prior, config, &mut planned);
        }
        plan_tags_all(&self.ctx, &mut planned);
        let mut requires_replace = replace_paths(&self.schema, prior, &planned);
        if replace_primary {
            requires_replace.push("private_ips".to_string());
        }
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.create_with(planned, None).await
    }

    async fn create_under(&self, planned: &Value, intent: &CreateIntent) -> ProviderResult<Value> {
        self.create_with(planned, Some(&intent.token)).await
    }

    async fn created_recorded(&self, state: &Value) -> ProviderResult<()> {
        untag_recorded(&self.client, state).await
    }

    async fn find_created(
        &self,
        planned: &Value,
        intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let Some(eni) = self.interface_with_token(&intent.token).await? else {
            return Ok(Finding::Absent);
        };
        let id = eni.network_interface_id().unwrap_or_default().to_string();
        let object = self.settle_created(&id, &planned.deep_unmarked()).await?;
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
        let id = required_str(prior, "id", TYPE_NAME)?.to_string();
        let old_tags = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new_tags = self.ctx.tags_all(&config_tags(&planned));
        update_tags(&self.client, &id, &old_tags, &new_tags).await?;
        let key = |v: &Value| {
            v.get("attachment")
                .and_then(Value::as_seq)
                .and_then(|xs| xs.first())
                .map(|a| {
                    (
                        a.str_attr("instance").unwrap_or_default().to_string(),
                        a.get("device_index")
                            .and_then(Value::as_f64)
                            .unwrap_or(-1.0) as i64,
                    )
                })
        };
        if key(prior) != key(&planned) {
            let current = self
                .describe(&id)
                .await?
                .and_then(|e| {
                    e.attachment()
                        .and_then(|a| a.attachment_id().map(str::to_string))
                })
                .unwrap_or_default();
            self.detach(&id, &current).await?;
            if let Some(attachment) = configured_attachment(&planned) {
                self.attach(&id, &attachment).await?;
            }
        }
        self.update_private_ips(&id, prior, &planned).await?;
        let changed = |name: &str| {
            !prior
                .get(name)
                .unwrap_or(&Value::Null)
                .same_as(planned.get(name).unwrap_or(&Value::Null))
        };
        if changed("source_dest_check") {
            let on = planned
                .get("source_dest_check")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            self.set_source_dest_check(&id, on).await?;
        }
        if changed("security_groups")
            && let Some(groups) = planned
                .get("security_groups")
                .filter(|v| v.is_wholly_known())
        {
            self.client
                .modify_network_interface_attribute()
                .network_interface_id(&id)
                .set_groups(Some(strings_in(groups)))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if changed("description") {
            self.client
                .modify_network_interface_attribute()
                .network_interface_id(&id)
                .description(
                    AttributeValue::builder()
                        .value(planned.str_attr("description").unwrap_or_default())
                        .build(),
                )
                .send()
                .await
                .map_err(sdk_error)?;
        }
        self.read_by_id(&id, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "network interface {id} disappeared during the update"
            ))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        let Some(eni) = self.describe(id).await? else {
            return Ok(());
        };
        if let Some(attachment) = eni.attachment().and_then(|a| a.attachment_id()) {
            self.detach(id, attachment).await?;
        }
        delete_once_released(
            "something still uses the interface: detach it from its instance first",
            || async {
                self.client
                    .delete_network_interface()
                    .network_interface_id(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            },
        )
        .await
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        if !id.starts_with("eni-") {
            return Err(ProviderError::new(format!(
                "{TYPE_NAME}: cannot import {id:?}: not a network interface id"
            ))
            .hint("import a network interface by its id (eni-...)"));
        }
        self.read_by_id(id, &Value::object([("id", Value::string(id))]))
            .await
    }
}

fn not_settled(e: &ProviderError) -> bool {
    e.code.as_deref() == Some(NOT_SETTLED)
}

fn is_throttled(e: &ProviderError) -> bool {
    forge_aws_common::is_throttling(e.code.as_deref())
}

fn create_hint(e: ProviderError) -> ProviderError {
    match e.code.as_deref() {
        Some("InvalidSubnetID.NotFound") => e.hint("`subnet_id` names no subnet in this region"),
        Some("InvalidGroup.NotFound") => {
            e.hint("`security_groups` names a group that is not in this region or the subnet's VPC")
        }
        Some("InvalidIPAddress.InUse" | "PrivateIpAddressLimitExceeded") => e.hint(
            "an address in `private_ips` is taken, or more addresses are asked than the instance type allows",
        ),
        _ => e,
    }
}

/// A ClientToken for a create outside an intent, unique per call.
fn one_time_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "forge-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The one `attachment` block configured, if any.
fn configured_attachment(planned: &Value) -> Option<Value> {
    planned
        .get("attachment")
        .and_then(Value::as_seq)
        .and_then(|xs| xs.first())
        .cloned()
}

/// What forge does not manage is refused, naming the argument (the empty values the
/// provider records for them are accepted, so its states plan clean).
fn check_arguments(config: &Value) -> ProviderResult<()> {
    let unsupported = |name: &str| -> bool {
        match config.get(name) {
            None | Some(Value::Null) => false,
            Some(v) if v.is_unknown() => true,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => *n != 0.0,
            Some(v) => v.as_seq().is_some_and(|xs| !xs.is_empty()),
        }
    };
    for name in [
        "enable_primary_ipv6",
        "ipv4_prefix_count",
        "ipv4_prefixes",
        "ipv6_address_count",
        "ipv6_address_list",
        "ipv6_address_list_enabled",
        "ipv6_addresses",
        "ipv6_prefix_count",
        "ipv6_prefixes",
        "private_ip_list",
        "private_ip_list_enabled",
    ] {
        if unsupported(name) {
            return Err(ProviderError::new(format!(
                "{TYPE_NAME}: forge does not manage `{name}` yet"
            ))
            .hint("remove it (IPv6 addresses, prefixes and the ordered private_ip_list mode are not supported), or manage this interface with Terraform"));
        }
    }
    let attachments = config
        .get("attachment")
        .and_then(Value::as_seq)
        .map_or(0, <[Value]>::len);
    if attachments > 1 {
        return Err(ProviderError::new(format!(
            "{TYPE_NAME}: {attachments} `attachment` blocks: an interface attaches to one instance"
        ))
        .hint("keep one attachment block"));
    }
    Ok(())
}

/// `attachment` is optional and computed in the provider: without a block the attachment
/// is left as it is; a configured one keeps the attachment id of the same attachment.
fn plan_attachment(prior: Option<&Value>, config: &Value, planned: &mut Value) {
    let configured = config
        .get("attachment")
        .and_then(Value::as_seq)
        .unwrap_or(&[]);
    let recorded = prior
        .and_then(|p| p.get("attachment"))
        .filter(|v| !v.is_null())
        .cloned();
    let value = if configured.is_empty() {
        match (prior, recorded) {
            (Some(_), Some(v)) => v,
            (Some(_), None) => Value::Set(Vec::new()),
            (None, _) => Value::Unknown,
        }
    } else {
        let before = recorded
            .as_ref()
            .and_then(Value::as_seq)
            .and_then(|xs| xs.first())
            .cloned();
        let items = configured
            .iter()
            .map(|a| {
                let same = before.as_ref().is_some_and(|b| {
                    b.get("instance")
                        .is_some_and(|i| a.get("instance").is_some_and(|j| i.same_as(j)))
                        && b.get("device_index")
                            .is_some_and(|i| a.get("device_index").is_some_and(|j| i.same_as(j)))
                });
                let id = if same {
                    before
                        .as_ref()
                        .and_then(|b| b.get("attachment_id"))
                        .cloned()
                        .unwrap_or(Value::Unknown)
                } else {
                    Value::Unknown
                };
                Value::object([
                    ("attachment_id", id),
                    (
                        "device_index",
                        a.get("device_index").cloned().unwrap_or(Value::Null),
                    ),
                    (
                        "instance",
                        a.get("instance").cloned().unwrap_or(Value::Null),
                    ),
                ])
            })
            .collect();
        Value::Set(items)
    };
    set_attr(planned, "attachment", value);
}

/// The provider's rules for the private addresses on update: a change of `private_ips`
/// makes the count (and the ordered list) known after apply, a change of the count makes
/// the addresses known after apply. Returns true when the configured addresses leave out
/// the primary one, which cannot be removed: the interface is replaced.
fn plan_private_ips(prior: &Value, config: &Value, planned: &mut Value) -> bool {
    let configured = |name: &str| config.get(name).is_some_and(|v| !v.is_null());
    let changed = |name: &str, planned: &Value| {
        !prior
            .get(name)
            .unwrap_or(&Value::Null)
            .same_as(planned.get(name).unwrap_or(&Value::Null))
    };
    let ips_changed = configured("private_ips") && changed("private_ips", planned);
    let count_changed = configured("private_ips_count") && changed("private_ips_count", planned);
    if ips_changed {
        if !configured("private_ips_count") {
            set_attr(planned, "private_ips_count", Value::Unknown);
        }
        set_attr(planned, "private_ip_list", Value::Unknown);
    }
    if count_changed {
        if !configured("private_ips") {
            set_attr(planned, "private_ips", Value::Unknown);
        }
        set_attr(planned, "private_ip_list", Value::Unknown);
    }
    if !ips_changed {
        return false;
    }
    let primary = prior.str_attr("private_ip").unwrap_or_default();
    let wanted = planned.get("private_ips").filter(|v| v.is_wholly_known());
    match wanted {
        Some(ips) => !primary.is_empty() && !strings_in(ips).iter().any(|ip| ip == primary),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (*k, v.clone())))
    }

    #[test]
    fn unmanaged_arguments_are_refused_but_their_empty_values_pass() {
        assert!(check_arguments(&obj(&[("ipv6_address_count", Value::Number(0.0))])).is_ok());
        assert!(check_arguments(&obj(&[("ipv6_addresses", Value::Set(vec![]))])).is_ok());
        let e = check_arguments(&obj(&[("ipv6_address_count", Value::Number(1.0))]))
            .expect_err("refused");
        assert!(e.message.contains("ipv6_address_count"), "{e:?}");
        let e = check_arguments(&obj(&[("private_ip_list_enabled", Value::Bool(true))]))
            .expect_err("refused");
        assert!(e.message.contains("private_ip_list_enabled"), "{e:?}");
    }

    #[test]
    fn dropping_the_primary_address_replaces_the_interface() {
        let prior = obj(&[
            ("private_ip", Value::string("10.0.0.5")),
            ("private_ips", string_set(["10.0.0.5".to_string()])),
            ("private_ips_count", Value::Number(0.0)),
        ]);
        let keep = obj(&[(
            "private_ips",
            string_set(["10.0.0.5".to_string(), "10.0.0.6".to_string()]),
        )]);
        let mut planned = prior.clone();
        set_attr(
            &mut planned,
            "private_ips",
            keep.get("private_ips").cloned().unwrap(),
        );
        assert!(!plan_private_ips(&prior, &keep, &mut planned));
        assert_eq!(planned.get("private_ips_count"), Some(&Value::Unknown));
        let other = obj(&[("private_ips", string_set(["10.0.0.7".to_string()]))]);
        let mut planned = prior.clone();
        set_attr(
            &mut planned,
            "private_ips",
            other.get("private_ips").cloned().unwrap(),
        );
        assert!(plan_private_ips(&prior, &other, &mut planned));
    }
}
