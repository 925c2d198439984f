//! `aws_eip`: an Elastic IP address in the VPC domain, and its optional association with
//! an instance or a network interface, which the provider manages as part of the address
//! (`instance`, `network_interface`, `associate_with_private_ip`: AssociateAddress and
//! DisassociateAddress, in place).
//!
//! AllocateAddress takes no idempotency token: under an intent the address carries the
//! token as the `forge:create-token` tag from its very first request, so a create whose
//! answer was lost is found by it and never allocated twice.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Address, AddressAttributeName, DomainType, ResourceType as Ec2ResourceType,
};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    client, config_tags, ec2_arn, is_not_found, is_transient, plan_tags_all, replace_paths,
    required_str, set_attr, tag_specifications, tags_from_aws, tags_state, update_tags,
};
use crate::intent_tag::{
    found_by_token, tags_with_token, token_filter, untag_recorded, without_intent_tag,
};

const TYPE_NAME: &str = "aws_eip";

/// The attributes whose change moves the association (disassociate, then associate).
const ASSOCIATION_ARGS: [&str; 3] = ["instance", "network_interface", "associate_with_private_ip"];

/// The computed attributes an association change gives new values.
const ASSOCIATION_RESULTS: [&str; 3] = ["association_id", "private_ip", "private_dns"];

/// The code the waits below retry on: the address is not in the state waited for yet.
const NOT_SETTLED: &str = "forge.NotSettled";

pub struct EipResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

/// How long forge waits for a new address or an association to become visible.
fn settle_backoff() -> Backoff {
    Backoff {
        attempts: 10,
        first_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(10),
    }
}

impl EipResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("address", Attribute::optional(string()).force_new())
            .attr("allocation_id", Attribute::computed(string()))
            .attr("arn", Attribute::computed(string()))
            .attr("associate_with_private_ip", Attribute::optional(string()))
            .attr("association_id", Attribute::computed(string()))
            .attr("carrier_ip", Attribute::computed(string()))
            .attr("customer_owned_ip", Attribute::computed(string()))
            // Optional only in the provider, which cannot change it after AllocateAddress
            // (its update ignores it): forge replaces the address instead.
            .attr(
                "customer_owned_ipv4_pool",
                Attribute::optional(string()).force_new(),
            )
            .attr("domain", Attribute::optional_computed(string()).force_new())
            .attr("id", Attribute::computed(string()))
            .attr("instance", Attribute::optional_computed(string()))
            .attr(
                "ipam_pool_id",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "network_border_group",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr("network_interface", Attribute::optional_computed(string()))
            .attr("private_dns", Attribute::computed(string()))
            .attr("private_ip", Attribute::computed(string()))
            .attr("ptr_record", Attribute::computed(string()))
            .attr("public_dns", Attribute::computed(string()))
            .attr("public_ip", Attribute::computed(string()))
            .attr(
                "public_ipv4_pool",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "tags",
                Attribute::optional(AttrType::Map(Box::new(string()))),
            )
            .attr(
                "tags_all",
                Attribute::computed(AttrType::Map(Box::new(string()))),
            )
            .attr(
                "vpc",
                Attribute::optional_computed(AttrType::Bool).force_new(),
            )
            .attr("timeouts", forge_aws_common::values::timeouts_attribute());
        let client = client(&ctx);
        EipResource {
            ctx,
            client,
            schema,
        }
    }

    /// The address `id` (an allocation id, or a public IP as the provider's importer
    /// takes it), unless it is gone.
    async fn describe(&self, id: &str) -> ProviderResult<Option<Address>> {
        let request = self.client.describe_addresses();
        let request = if id.parse::<std::net::IpAddr>().is_ok() {
            request.public_ips(id)
        } else {
            request.allocation_ids(id)
        };
        match request.send().await.map_err(sdk_error) {
            Ok(out) => Ok(out
                .addresses()
                .iter()
                .find(|a| a.allocation_id() == Some(id) || a.public_ip() == Some(id))
                .cloned()),
            // A malformed allocation id names nothing that can exist either.
            Err(e)
                if is_not_found(&e)
                    || e.code.as_deref() == Some("InvalidAllocationID.Malformed") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The address allocated under an intent's token (by its marker tag).
    async fn address_with_token(&self, token: &str) -> ProviderResult<Option<Address>> {
        let out = self
            .client
            .describe_addresses()
            .filters(token_filter(token))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.addresses().first().cloned())
    }

    /// The provider's `ptr_record`: the reverse DNS name AWS holds for the address
    /// (without its final dot), "" when there is none.
    async fn ptr_record(&self, allocation_id: &str) -> ProviderResult<String> {
        let out = self
            .client
            .describe_addresses_attribute()
            .allocation_ids(allocation_id)
            .attribute(AddressAttributeName::DomainName)
            .send()
            .await
            .map_err(sdk_error);
        match out {
            Ok(out) => Ok(out
                .addresses()
                .first()
                .and_then(|a| a.ptr_record())
                .map(|p| p.trim_end_matches('.').to_string())
                .unwrap_or_default()),
            Err(e) if is_not_found(&e) => Ok(String::new()),
            Err(e) => Err(e),
        }
    }

    async fn state_from_live(&self, address: &Address, state: &Value) -> ProviderResult<Value> {
        let id = address.allocation_id().unwrap_or_default().to_string();
        let account = self.ctx.account_id().await?;
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(address.tags()),
        );
        let text = |s: Option<&str>| Value::string(s.unwrap_or_default());
        // Arguments AWS does not report back: what the state (or configuration) says.
        let kept = |name: &str| match state.get(name) {
            Some(v) if v.is_wholly_known() => v.clone(),
            _ => Value::Null,
        };
        let private_ip = address.private_ip_address().unwrap_or_default();
        // The provider sets `private_dns` only while the address has a private IP, and
        // otherwise keeps what its state had (null for an address never associated).
        let private_dns = if private_ip.is_empty() {
            kept("private_dns")
        } else {
            Value::string(private_dns_name(&self.ctx.region, private_ip))
        };
        let public_ip = address.public_ip().unwrap_or_default();
        let public_dns = if public_ip.is_empty() {
            kept("public_dns")
        } else {
            Value::string(public_dns_name(&self.ctx.region, public_ip))
        };
        let domain = address
            .domain()
            .map(|d| d.as_str().to_string())
            .unwrap_or_default();
        Ok(Value::object([
            ("id", Value::string(&id)),
            ("allocation_id", Value::string(&id)),
            (
                "arn",
                Value::string(ec2_arn(&self.ctx, &account, &format!("elastic-ip/{id}"))),
            ),
            ("address", kept("address")),
            (
                "associate_with_private_ip",
                kept("associate_with_private_ip"),
            ),
            ("association_id", text(address.association_id())),
            ("carrier_ip", text(address.carrier_ip())),
            ("customer_owned_ip", text(address.customer_owned_ip())),
            (
                "customer_owned_ipv4_pool",
                text(address.customer_owned_ipv4_pool()),
            ),
            ("vpc", Value::Bool(domain == "vpc")),
            ("domain", Value::string(domain)),
            ("instance", text(address.instance_id())),
            ("ipam_pool_id", kept("ipam_pool_id")),
            ("network_border_group", text(address.network_border_group())),
            ("network_interface", text(address.network_interface_id())),
            ("private_ip", Value::string(private_ip)),
            ("private_dns", private_dns),
            ("ptr_record", Value::string(self.ptr_record(&id).await?)),
            ("public_ip", Value::string(public_ip)),
            ("public_dns", public_dns),
            ("public_ipv4_pool", text(address.public_ipv4_pool())),
            ("timeouts", Value::Null),
            ("tags", tags),
            ("tags_all", tags_all),
        ]))
    }

    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        match self.describe(id).await? {
            Some(address) => self.state_from_live(&address, state).await.map(Some),
            None => Ok(None),
        }
    }

    /// AllocateAddress for `planned`. Under an intent the SDK does not resend it by
    /// itself: a resend after a lost answer would allocate a second address, so forge
    /// looks for the first by its marker before each new attempt.
    async fn allocate(&self, planned: &Value, token: Option<&str>) -> ProviderResult<String> {
        let tags = tags_with_token(&self.ctx.tags_all(&config_tags(planned)), token);
        let text = |name: &str| {
            planned
                .str_attr(name)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        // `vpc = true` asks for the VPC domain as `domain = "vpc"` does; neither leaves it
        // to AWS, whose default is the VPC domain.
        let domain = text("domain").or_else(|| {
            (planned.get("vpc").and_then(Value::as_bool) == Some(true)).then(|| "vpc".to_string())
        });
        let request = self
            .client
            .allocate_address()
            .set_domain(domain.map(|d| DomainType::from(d.as_str())))
            .set_address(text("address"))
            .set_customer_owned_ipv4_pool(text("customer_owned_ipv4_pool"))
            .set_ipam_pool_id(text("ipam_pool_id"))
            .set_network_border_group(text("network_border_group"))
            .set_public_ipv4_pool(text("public_ipv4_pool"))
            .set_tag_specifications(tag_specifications(Ec2ResourceType::ElasticIp, &tags));
        let made = |id: Option<&str>| {
            id.map(str::to_string)
                .ok_or_else(|| ProviderError::new("AllocateAddress returned no allocation id"))
        };
        let Some(token) = token else {
            let out = request
                .send()
                .await
                .map_err(|e| allocate_hint(sdk_error(e)))?;
            return made(out.allocation_id());
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
                .map_err(|e| allocate_hint(sdk_error(e)));
            match sent {
                Ok(out) => return made(out.allocation_id()),
                Err(e) if attempt < 4 && (is_transient(&e) || is_throttled(&e)) => {
                    if let Some(found) = self.address_with_token(token).await? {
                        return made(found.allocation_id());
                    }
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// AssociateAddress, then waits until DescribeAddresses shows the association, as the
    /// provider does. An address or instance that is still settling is waited for.
    async fn associate(&self, id: &str, planned: &Value) -> ProviderResult<()> {
        let text = |name: &str| {
            planned
                .str_attr(name)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let instance = text("instance");
        let interface = text("network_interface");
        if instance.is_none() && interface.is_none() {
            return Ok(());
        }
        let settling = |e: &ProviderError| {
            e.code.as_deref() == Some("InvalidAllocationID.NotFound")
                || (e.code.as_deref() == Some("InvalidInstanceID")
                    && e.message.contains("pending instance"))
        };
        let out = retry(settle_backoff(), settling, || async {
            self.client
                .associate_address()
                .allocation_id(id)
                .set_instance_id(instance.clone())
                .set_network_interface_id(interface.clone())
                .set_private_ip_address(text("associate_with_private_ip"))
                .send()
                .await
                .map_err(sdk_error)
        })
        .await
        .map_err(|e| association_error(e, id))?;
        let Some(association) = out.association_id().map(str::to_string) else {
            return Ok(());
        };
        retry(settle_backoff(), not_settled, || async {
            match self.describe(id).await? {
                Some(a) if a.association_id() == Some(association.as_str()) => Ok(()),
                _ => Err(ProviderError::with_code(
                    NOT_SETTLED,
                    format!("the association {association} of Elastic IP {id} is not visible yet"),
                )),
            }
        })
        .await
    }

    /// DisassociateAddress of `association_id` ("" or already gone: nothing to do).
    async fn disassociate(&self, association_id: &str) -> ProviderResult<()> {
        if association_id.is_empty() {
            return Ok(());
        }
        match self
            .client
            .disassociate_address()
            .association_id(association_id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    /// After AllocateAddress: the address waited for, associated as configured, and read
    /// back without the intent marker.
    async fn settle_created(&self, id: &str, planned: &Value) -> ProviderResult<Value> {
        let address = retry(settle_backoff(), not_settled, || async {
            self.describe(id).await?.ok_or_else(|| {
                ProviderError::with_code(
                    NOT_SETTLED,
                    format!("Elastic IP {id} is not visible yet after its allocation"),
                )
            })
        })
        .await?;
        let wanted_instance = planned.str_attr("instance").unwrap_or_default();
        let wanted_interface = planned.str_attr("network_interface").unwrap_or_default();
        // Found again after a lost answer, the address may be associated already.
        let done = (!wanted_instance.is_empty() && address.instance_id() == Some(wanted_instance))
            || (!wanted_interface.is_empty()
                && address.network_interface_id() == Some(wanted_interface));
        if !done {
            self.associate(id, planned).await?;
        }
        let address = self.describe(id).await?.ok_or_else(|| {
            ProviderError::new(format!("Elastic IP {id} disappeared after its allocation"))
        })?;
        self.state_from_live(&address, planned)
            .await
            .map(without_intent_tag)
    }

    async fn create_with(&self, planned: &Value, token: Option<&str>) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let id = self.allocate(&planned, token).await?;
        self.settle_created(&id, &planned).await
    }
}

#[async_trait]
impl ResourceType for EipResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        forge_aws_common::values::check_no_timeouts(TYPE_NAME, config)?;
        check_arguments(config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
        if let Some(prior) = prior {
            plan_association(prior, config, &mut planned);
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
        // The marker stays on the address until `created_recorded`; state never holds it.
        self.create_with(planned, Some(&intent.token)).await
    }

    async fn created_recorded(&self, state: &Value) -> ProviderResult<()> {
        untag_recorded(&self.client, state).await
    }

    /// The address allocated under the intent, by the token tag it carries from
    /// AllocateAddress; the association the create may not have reached is made then.
    async fn find_created(
        &self,
        planned: &Value,
        intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let Some(address) = self.address_with_token(&intent.token).await? else {
            return Ok(Finding::Absent);
        };
        let id = address.allocation_id().unwrap_or_default().to_string();
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
        if association_changes(prior, &planned) {
            // The association the address has now, not only the one state recorded.
            let current = self
                .describe(&id)
                .await?
                .and_then(|a| a.association_id().map(str::to_string))
                .unwrap_or_default();
            self.disassociate(&current).await?;
            self.associate(&id, &planned).await?;
        }
        self.read_by_id(&id, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!("Elastic IP {id} disappeared during the update"))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        // Disassociate whatever the address is associated with now, then release it.
        let Some(address) = self.describe(id).await? else {
            return Ok(());
        };
        self.disassociate(address.association_id().unwrap_or_default())
            .await?;
        let border_group = address
            .network_border_group()
            .filter(|g| !g.is_empty())
            .map(str::to_string);
        // Just after a disassociation AWS can still hold the address for a moment.
        let released = retry(
            settle_backoff(),
            |e| e.code.as_deref() == Some("InvalidIPAddress.InUse"),
            || async {
                self.client
                    .release_address()
                    .allocation_id(id)
                    .set_network_border_group(border_group.clone())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            },
        )
        .await;
        match released {
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) if e.code.as_deref() == Some("InvalidIPAddress.InUse") => Err(e.hint(
                "the address is still associated: disassociate it (or remove what uses it, such as a NAT gateway) first",
            )),
            other => other,
        }
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        if !id.starts_with("eipalloc-") && id.parse::<std::net::IpAddr>().is_err() {
            return Err(ProviderError::new(format!(
                "{TYPE_NAME}: cannot import {id:?}: not an allocation id"
            ))
            .hint("import an Elastic IP by its allocation id (eipalloc-...) or its public IP"));
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

/// AllocateAddress's errors, with what the user can do about the common ones.
fn allocate_hint(e: ProviderError) -> ProviderError {
    match e.code.as_deref() {
        Some("AddressLimitExceeded") => e.hint(
            "the account has as many Elastic IPs as its quota allows in this region: release one or ask AWS for a higher quota",
        ),
        Some("InvalidParameterValue" | "InvalidAddress.NotFound") => e.hint(
            "check `address`, `public_ipv4_pool`, `ipam_pool_id` and `network_border_group`: AWS refused one of them",
        ),
        _ => e,
    }
}

/// AssociateAddress's errors, naming the address and what to check.
fn association_error(mut e: ProviderError, id: &str) -> ProviderError {
    e.message = format!("associating Elastic IP {id}: {}", e.message);
    let hint = match e.code.as_deref() {
        Some("InvalidInstanceID.NotFound" | "InvalidInstanceID.Malformed") => {
            "`instance` names no instance in this region"
        }
        Some("InvalidNetworkInterfaceID.NotFound" | "InvalidNetworkInterfaceId.Malformed") => {
            "`network_interface` names no network interface in this region"
        }
        Some("Gateway.NotAttached") => {
            "the instance's VPC has no internet gateway: attach one (aws_internet_gateway) before associating the address"
        }
        Some("InvalidParameterCombination" | "InvalidParameterValue") => {
            "check `associate_with_private_ip` is a private IP of the instance or interface, and that an instance with several interfaces is named by `network_interface`"
        }
        _ => return e,
    };
    e.hint(hint)
}

/// The provider's checks on the arguments alone: a domain AWS still has, and `domain`
/// and the deprecated `vpc` not both set.
fn check_arguments(config: &Value) -> ProviderResult<()> {
    let set = |name: &str| config.get(name).is_some_and(|v| !v.is_null());
    if set("domain") && set("vpc") {
        return Err(ProviderError::new(format!(
            "{TYPE_NAME}: `domain` and `vpc` cannot both be set"
        ))
        .hint("`vpc` is deprecated: keep `domain = \"vpc\"` and remove `vpc`"));
    }
    match config.str_attr("domain") {
        None | Some("vpc") => {}
        Some("standard") => {
            return Err(ProviderError::new(format!(
                "{TYPE_NAME}: domain \"standard\" is EC2-Classic, which AWS has retired"
            ))
            .hint("use domain = \"vpc\" (or leave it out: AWS allocates in the VPC domain)"));
        }
        Some(other) => {
            return Err(ProviderError::new(format!(
                "{TYPE_NAME}: domain {other:?} is not one of \"vpc\", \"standard\""
            ))
            .hint("use domain = \"vpc\""));
        }
    }
    if config.get("vpc").and_then(Value::as_bool) == Some(false) {
        return Err(ProviderError::new(format!(
            "{TYPE_NAME}: vpc = false asks for an EC2-Classic address, which AWS has retired"
        ))
        .hint("remove `vpc` (deprecated) or set domain = \"vpc\""));
    }
    Ok(())
}

/// True when the association arguments differ between `prior` and `planned`.
fn association_changes(prior: &Value, planned: &Value) -> bool {
    ASSOCIATION_ARGS.iter().any(|name| {
        let before = prior.str_attr(name).unwrap_or_default();
        match planned.get(name) {
            Some(v) if v.is_unknown() => true,
            Some(v) => v.as_str().unwrap_or_default() != before,
            None => !before.is_empty(),
        }
    })
}

/// On update: a moved association gives a new association id and private IP, and the
/// half of `instance` / `network_interface` left out of the configuration follows AWS's
/// choice, so those are known only after the apply (the provider's plan keeps the old
/// values, which its apply then changes).
fn plan_association(prior: &Value, config: &Value, planned: &mut Value) {
    if !association_changes(prior, planned) {
        return;
    }
    for name in ASSOCIATION_RESULTS {
        set_attr(planned, name, Value::Unknown);
    }
    for name in ["instance", "network_interface"] {
        if config.get(name).is_none_or(Value::is_null) {
            set_attr(planned, name, Value::Unknown);
        }
    }
}

/// The provider's private DNS name for a private IP of this region.
fn private_dns_name(region: &str, ip: &str) -> String {
    let suffix = if region == "us-east-1" {
        "ec2.internal".to_string()
    } else {
        format!("{region}.compute.internal")
    };
    format!("ip-{}.{suffix}", ip.replace('.', "-"))
}

/// The provider's public DNS name for a public IP of this region.
fn public_dns_name(region: &str, ip: &str) -> String {
    let suffix = if region == "us-east-1" {
        "compute-1".to_string()
    } else {
        format!("{region}.compute")
    };
    let dns_suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("ec2-{}.{suffix}.{dns_suffix}", ip.replace('.', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (*k, v.clone())))
    }

    #[test]
    fn domain_and_vpc_are_checked() {
        assert!(check_arguments(&config(&[])).is_ok());
        assert!(check_arguments(&config(&[("domain", Value::string("vpc"))])).is_ok());
        assert!(check_arguments(&config(&[("vpc", Value::Bool(true))])).is_ok());
        let e = check_arguments(&config(&[
            ("domain", Value::string("vpc")),
            ("vpc", Value::Bool(true)),
        ]))
        .expect_err("refused");
        assert!(e.message.contains("both"), "{e:?}");
        let e = check_arguments(&config(&[("domain", Value::string("standard"))]))
            .expect_err("refused");
        assert!(e.message.contains("EC2-Classic"), "{e:?}");
        let e =
            check_arguments(&config(&[("domain", Value::string("vpcx"))])).expect_err("refused");
        assert!(e.message.contains("vpcx"), "{e:?}");
        assert!(check_arguments(&config(&[("vpc", Value::Bool(false))])).is_err());
    }

    #[test]
    fn dns_names_follow_the_region() {
        assert_eq!(
            private_dns_name("us-east-1", "10.0.1.5"),
            "ip-10-0-1-5.ec2.internal"
        );
        assert_eq!(
            private_dns_name("eu-west-1", "10.0.1.5"),
            "ip-10-0-1-5.eu-west-1.compute.internal"
        );
        assert_eq!(
            public_dns_name("us-east-1", "3.4.5.6"),
            "ec2-3-4-5-6.compute-1.amazonaws.com"
        );
        assert_eq!(
            public_dns_name("eu-west-1", "3.4.5.6"),
            "ec2-3-4-5-6.eu-west-1.compute.amazonaws.com"
        );
        assert_eq!(
            public_dns_name("cn-north-1", "3.4.5.6"),
            "ec2-3-4-5-6.cn-north-1.compute.amazonaws.com.cn"
        );
    }

    #[test]
    fn a_moved_association_plans_its_results_unknown() {
        let prior = config(&[
            ("instance", Value::string("i-1")),
            ("network_interface", Value::string("eni-1")),
            ("associate_with_private_ip", Value::Null),
            ("association_id", Value::string("eipassoc-1")),
            ("private_ip", Value::string("10.0.0.1")),
            ("private_dns", Value::string("ip-10-0-0-1.ec2.internal")),
        ]);
        // The instance changes; network_interface is not configured.
        let cfg = config(&[("instance", Value::string("i-2"))]);
        let mut planned = prior.clone();
        set_attr(&mut planned, "instance", Value::string("i-2"));
        plan_association(&prior, &cfg, &mut planned);
        for name in [
            "association_id",
            "private_ip",
            "private_dns",
            "network_interface",
        ] {
            assert_eq!(planned.get(name), Some(&Value::Unknown), "{name}");
        }
        assert_eq!(planned.get("instance"), Some(&Value::string("i-2")));
        // Nothing moved: the plan keeps every value.
        let mut same = prior.clone();
        plan_association(&prior, &config(&[]), &mut same);
        assert!(same.same_as(&prior));
    }
}
