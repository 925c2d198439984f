//! `aws_vpc_security_group_ingress_rule` and `aws_vpc_security_group_egress_rule`: one
//! rule of a security group each, known by its `security_group_rule_id` (`sgr-...`).
//!
//! The two types differ only in the direction (the API calls and the rule's `IsEgress`),
//! so they share this file, as the provider shares one implementation.
//!
//! Behaviour as hashicorp/aws 5.100.0 has it: exactly one of `cidr_ipv4`, `cidr_ipv6`,
//! `prefix_list_id` and `referenced_security_group_id`; a change of which one is set
//! replaces the rule (EC2 cannot change a rule's kind of source), any other change of the
//! rule is ModifySecurityGroupRules in place; `ip_protocol` compares by meaning (`6` is
//! `tcp`, `all` is `-1`) and keeps the configured spelling; unset ports that AWS reports
//! as -1 stay null. Mixing these rules with an `aws_security_group`'s inline
//! `ingress`/`egress` blocks on one group makes each see the other's rules as drift (the
//! provider's documentation says not to); a group without inline blocks leaves them alone.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType as Ec2ResourceType,
    SecurityGroupRule, SecurityGroupRuleRequest, SecurityGroupRuleUpdate, UserIdGroupPair,
};
use forge_aws_common::adoption::found_by_name;
use forge_aws_common::{AwsContext, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    client, config_tags, ec2_arn, is_not_found, opt_string, plan_tags_all, replace_paths,
    required_str, set_attr, tag_specifications, tags_from_aws, update_tags,
};
use crate::sg_rules::normalize_protocol;

/// The attributes that name where traffic comes from or goes to; exactly one is set.
pub const SOURCE_ATTRIBUTES: [&str; 4] = [
    "cidr_ipv4",
    "cidr_ipv6",
    "prefix_list_id",
    "referenced_security_group_id",
];

/// The rule's own arguments: a change of any of them is ModifySecurityGroupRules.
const RULE_ARGUMENTS: [&str; 8] = [
    "cidr_ipv4",
    "cidr_ipv6",
    "description",
    "from_port",
    "ip_protocol",
    "prefix_list_id",
    "referenced_security_group_id",
    "to_port",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn type_name(self) -> &'static str {
        match self {
            Direction::Ingress => "aws_vpc_security_group_ingress_rule",
            Direction::Egress => "aws_vpc_security_group_egress_rule",
        }
    }

    fn is_egress(self) -> bool {
        self == Direction::Egress
    }
}

pub struct VpcSecurityGroupRuleType {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
    direction: Direction,
}

impl VpcSecurityGroupRuleType {
    pub fn ingress(ctx: Arc<AwsContext>) -> Self {
        Self::new(ctx, Direction::Ingress)
    }

    pub fn egress(ctx: Arc<AwsContext>) -> Self {
        Self::new(ctx, Direction::Egress)
    }

    fn new(ctx: Arc<AwsContext>, direction: Direction) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("arn", Attribute::computed(string()))
            .attr("cidr_ipv4", Attribute::optional(string()))
            .attr("cidr_ipv6", Attribute::optional(string()))
            .attr("description", Attribute::optional(string()))
            .attr("from_port", Attribute::optional(AttrType::Number))
            .attr("id", Attribute::computed(string()))
            .attr("ip_protocol", Attribute::required(string()))
            .attr("prefix_list_id", Attribute::optional(string()))
            .attr(
                "referenced_security_group_id",
                Attribute::optional(string()),
            )
            .attr(
                "security_group_id",
                Attribute::required(string()).force_new(),
            )
            .attr("security_group_rule_id", Attribute::computed(string()))
            .attr(
                "tags",
                Attribute::optional(AttrType::Map(Box::new(string()))),
            )
            .attr(
                "tags_all",
                Attribute::computed(AttrType::Map(Box::new(string()))),
            )
            .attr("to_port", Attribute::optional(AttrType::Number));
        let client = client(&ctx);
        VpcSecurityGroupRuleType {
            ctx,
            client,
            schema,
            direction,
        }
    }

    fn name(&self) -> &'static str {
        self.direction.type_name()
    }

    /// The rule with this id, when it exists and goes this type's direction (an
    /// egress rule's id imported as an ingress rule is not one).
    async fn describe(&self, id: &str) -> ProviderResult<Option<SecurityGroupRule>> {
        let out = self
            .client
            .describe_security_group_rules()
            .security_group_rule_ids(id)
            .send()
            .await
            .map_err(sdk_error);
        match out {
            Ok(out) => Ok(out
                .security_group_rules()
                .iter()
                .find(|r| {
                    r.security_group_rule_id() == Some(id)
                        && r.is_egress() == Some(self.direction.is_egress())
                })
                .cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(rule) = self.describe(id).await? else {
            return Ok(None);
        };
        let account = self.ctx.account_id().await?;
        Ok(Some(self.state_from_live(&rule, state, &account)))
    }

    /// The state for a live rule; `state` (prior or planned) supplies the spelling of
    /// what means the same as AWS's answer.
    fn state_from_live(&self, rule: &SecurityGroupRule, state: &Value, account: &str) -> Value {
        let id = rule.security_group_rule_id().unwrap_or_default();
        let live_protocol = rule.ip_protocol().unwrap_or_default();
        let protocol = match state.str_attr("ip_protocol") {
            Some(p) if normalize_protocol(p) == normalize_protocol(live_protocol) => p,
            _ => live_protocol,
        };
        let all_traffic = normalize_protocol(live_protocol) == "-1";
        let port = |name: &str, live: Option<i32>| {
            let stored = state.get(name).filter(|v| !v.is_null());
            match (live, stored) {
                // AWS reports -1 for a port it has none for: an unset port stays unset.
                (Some(-1) | None, None) => Value::Null,
                // All traffic has no ports: AWS answers -1 whatever was given, so the
                // configured value stays (no change a plan could ever make).
                (Some(-1) | None, Some(stored)) if all_traffic => stored.clone(),
                (Some(p), _) => Value::Number(f64::from(p)),
                (None, Some(_)) => Value::Null,
            }
        };
        let referenced = rule.referenced_group_info().map(|g| {
            let group = g.group_id().unwrap_or_default();
            match g.user_id() {
                Some(user) if user != account => format!("{user}/{group}"),
                _ => group.to_string(),
            }
        });
        let live_tags = tags_from_aws(rule.tags());
        let own: std::collections::BTreeMap<String, String> = live_tags
            .iter()
            .filter(|(k, v)| {
                self.ctx.default_tags.get(*k) != Some(*v)
                    || state.get("tags").and_then(|t| t.get(k)).is_some()
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // A framework resource records null tags when none are configured and none exist.
        let tags = if own.is_empty() && state.get("tags").is_none_or(Value::is_null) {
            Value::Null
        } else {
            forge_aws_common::map_value(&own)
        };
        Value::object([
            ("id", Value::string(id)),
            ("security_group_rule_id", Value::string(id)),
            (
                "arn",
                Value::string(ec2_arn(
                    &self.ctx,
                    account,
                    &format!("security-group-rule/{id}"),
                )),
            ),
            ("security_group_id", opt_string(rule.group_id())),
            ("ip_protocol", Value::string(protocol)),
            ("from_port", port("from_port", rule.from_port())),
            ("to_port", port("to_port", rule.to_port())),
            ("cidr_ipv4", opt_string(rule.cidr_ipv4())),
            ("cidr_ipv6", opt_string(rule.cidr_ipv6())),
            ("prefix_list_id", opt_string(rule.prefix_list_id())),
            (
                "referenced_security_group_id",
                opt_string(referenced.as_deref()),
            ),
            ("description", opt_string(rule.description())),
            ("tags", tags),
            ("tags_all", forge_aws_common::map_value(&live_tags)),
        ])
    }

    /// The rule as AuthorizeSecurityGroupIngress/Egress takes it.
    fn permission(&self, planned: &Value) -> IpPermission {
        let description = planned.str_attr("description").map(str::to_string);
        let mut p = IpPermission::builder()
            .set_ip_protocol(planned.str_attr("ip_protocol").map(str::to_string))
            .set_from_port(port_of(planned, "from_port"))
            .set_to_port(port_of(planned, "to_port"));
        if let Some(cidr) = planned.str_attr("cidr_ipv4") {
            p = p.ip_ranges(
                IpRange::builder()
                    .cidr_ip(cidr)
                    .set_description(description.clone())
                    .build(),
            );
        }
        if let Some(cidr) = planned.str_attr("cidr_ipv6") {
            p = p.ipv6_ranges(
                Ipv6Range::builder()
                    .cidr_ipv6(cidr)
                    .set_description(description.clone())
                    .build(),
            );
        }
        if let Some(list) = planned.str_attr("prefix_list_id") {
            p = p.prefix_list_ids(
                PrefixListId::builder()
                    .prefix_list_id(list)
                    .set_description(description.clone())
                    .build(),
            );
        }
        if let Some(group) = planned.str_attr("referenced_security_group_id") {
            // `[account/]group`: another account's group names its owner.
            let pair = match group.split_once('/') {
                Some((user, group)) => UserIdGroupPair::builder().user_id(user).group_id(group),
                None => UserIdGroupPair::builder().group_id(group),
            };
            p = p.user_id_group_pairs(pair.set_description(description).build());
        }
        p.build()
    }

    async fn authorize(&self, planned: &Value, group: &str) -> ProviderResult<String> {
        let tags_all = self.ctx.tags_all(&config_tags(planned));
        let tag_spec = tag_specifications(Ec2ResourceType::SecurityGroupRule, &tags_all);
        let permission = self.permission(planned);
        let rules = match self.direction {
            Direction::Ingress => self
                .client
                .authorize_security_group_ingress()
                .group_id(group)
                .ip_permissions(permission)
                .set_tag_specifications(tag_spec)
                .send()
                .await
                .map(|o| o.security_group_rules().to_vec())
                .map_err(sdk_error),
            Direction::Egress => self
                .client
                .authorize_security_group_egress()
                .group_id(group)
                .ip_permissions(permission)
                .set_tag_specifications(tag_spec)
                .send()
                .await
                .map(|o| o.security_group_rules().to_vec())
                .map_err(sdk_error),
        }
        .map_err(|e| self.authorize_error(e, group))?;
        rules
            .first()
            .and_then(|r| r.security_group_rule_id())
            .map(str::to_string)
            .ok_or_else(|| {
                ProviderError::new(format!(
                    "{}: EC2 authorized the rule on {group} but returned no security_group_rule_id",
                    self.name()
                ))
            })
    }

    fn authorize_error(&self, e: ProviderError, group: &str) -> ProviderError {
        let hint = match e.code.as_deref() {
            Some("InvalidPermission.Duplicate") => format!(
                "{group} already has this rule (from another rule resource, an aws_security_group's inline rules, or made outside Terraform): remove the duplicate, or import the existing rule by its security_group_rule_id"
            ),
            Some("InvalidGroup.NotFound") => format!(
                "security group {group} (or the referenced_security_group_id) does not exist in this region"
            ),
            _ => "check ip_protocol, from_port/to_port and the source of the rule".to_string(),
        };
        ProviderError {
            message: format!(
                "{}: could not authorize the rule: {}",
                self.name(),
                e.message
            ),
            ..e
        }
        .hint(hint)
    }

    /// A rule on `group` that is the one `planned` describes: same direction, protocol,
    /// ports, source and description, and every configured tag (EC2 refuses a second
    /// identical rule, so at most one matches).
    fn matches(&self, rule: &SecurityGroupRule, planned: &Value) -> bool {
        let tags_all = self.ctx.tags_all(&config_tags(planned));
        let live_tags = tags_from_aws(rule.tags());
        let same_port = |name: &str, live: Option<i32>| {
            if normalize_protocol(planned.str_attr("ip_protocol").unwrap_or_default()) == "-1" {
                return true;
            }
            port_of(planned, name).unwrap_or(-1) == live.unwrap_or(-1)
        };
        rule.is_egress() == Some(self.direction.is_egress())
            && rule.ip_protocol().map(normalize_protocol)
                == planned.str_attr("ip_protocol").map(normalize_protocol)
            && same_port("from_port", rule.from_port())
            && same_port("to_port", rule.to_port())
            && rule.cidr_ipv4() == planned.str_attr("cidr_ipv4")
            && rule.cidr_ipv6() == planned.str_attr("cidr_ipv6")
            && rule.prefix_list_id() == planned.str_attr("prefix_list_id")
            && rule
                .referenced_group_info()
                .and_then(|g| g.group_id())
                .map(str::to_string)
                == planned
                    .str_attr("referenced_security_group_id")
                    .map(|g| g.rsplit('/').next().unwrap_or(g).to_string())
            && rule.description().unwrap_or_default()
                == planned.str_attr("description").unwrap_or_default()
            && tags_all.iter().all(|(k, v)| live_tags.get(k) == Some(v))
    }
}

/// A configured port as EC2 takes it (null stays unset).
fn port_of(v: &Value, name: &str) -> Option<i32> {
    v.get(name)
        .and_then(Value::as_i64)
        .and_then(|p| i32::try_from(p).ok())
}

/// The name of the source attribute set, as the provider decides which kind a rule is.
fn source_attribute(v: &Value) -> Option<&'static str> {
    SOURCE_ATTRIBUTES
        .into_iter()
        .find(|name| v.get(name).is_some_and(|x| !x.is_null()))
}

/// The provider's configuration checks: one source, ports in range, CIDRs that are
/// network addresses.
fn check_config(type_name: &str, config: &Value) -> ProviderResult<()> {
    let set: Vec<&str> = SOURCE_ATTRIBUTES
        .into_iter()
        .filter(|name| config.get(name).is_some_and(|x| !x.is_null()))
        .collect();
    if set.len() != 1 {
        return Err(ProviderError::new(format!(
            "{type_name}: exactly one of {} must be set ({})",
            SOURCE_ATTRIBUTES.join(", "),
            if set.is_empty() {
                "none is".to_string()
            } else {
                format!("{} are", set.join(" and "))
            }
        ))
        .hint("one rule has one source: write one rule resource per source"));
    }
    for name in ["from_port", "to_port"] {
        if let Some(v) = config
            .get(name)
            .filter(|v| v.is_wholly_known() && !v.is_null())
        {
            let ok = v
                .as_f64()
                .is_some_and(|p| p.fract() == 0.0 && (-1.0..=65535.0).contains(&p));
            if !ok {
                return Err(ProviderError::new(format!(
                    "{type_name}: {name} must be a whole number between -1 and 65535"
                )));
            }
        }
    }
    if let Some(cidr) = config.get("cidr_ipv4").and_then(Value::as_str)
        && !is_network_address(cidr, false)
    {
        return Err(ProviderError::new(format!(
            "{type_name}: cidr_ipv4 {cidr:?} is not an IPv4 network address in CIDR notation"
        ))
        .hint("write the network's first address, such as 10.0.0.0/8"));
    }
    if let Some(cidr) = config.get("cidr_ipv6").and_then(Value::as_str)
        && !is_network_address(cidr, true)
    {
        return Err(ProviderError::new(format!(
            "{type_name}: cidr_ipv6 {cidr:?} is not an IPv6 network address in CIDR notation"
        ))
        .hint("write the network's first address, such as 2001:db8::/32"));
    }
    Ok(())
}

/// `a.b.c.d/n` (or an IPv6 one) whose host bits are zero, as the provider's validators
/// require.
pub fn is_network_address(cidr: &str, v6: bool) -> bool {
    let Some((addr, len)) = cidr.split_once('/') else {
        return false;
    };
    let Ok(len) = len.parse::<u32>() else {
        return false;
    };
    if v6 {
        let Ok(addr) = addr.parse::<Ipv6Addr>() else {
            return false;
        };
        len <= 128 && u128::from(addr).checked_shl(len).unwrap_or(0) == 0
    } else {
        let Ok(addr) = addr.parse::<Ipv4Addr>() else {
            return false;
        };
        len <= 32 && u32::from(addr).checked_shl(len).unwrap_or(0) == 0
    }
}

#[async_trait]
impl ResourceType for VpcSecurityGroupRuleType {
    fn type_name(&self) -> &'static str {
        self.name()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_config(self.name(), config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        // `6` and `tcp` are one protocol: the stored spelling stays.
        if let (Some(stored), Some(configured)) = (
            prior.and_then(|p| p.str_attr("ip_protocol")),
            config.str_attr("ip_protocol"),
        ) && normalize_protocol(stored) == normalize_protocol(configured)
        {
            set_attr(&mut planned, "ip_protocol", Value::string(stored));
        }
        plan_tags_all(&self.ctx, &mut planned);
        let mut requires_replace = replace_paths(&self.schema, prior, &planned);
        // EC2 cannot change the kind of a rule's source: another kind is another rule.
        if let Some(prior) = prior {
            let (old, new) = (source_attribute(prior), source_attribute(&planned));
            if old != new {
                requires_replace.extend(old.into_iter().chain(new).map(str::to_string));
            }
        }
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let group = required_str(&planned, "security_group_id", self.name())?.to_string();
        let id = self.authorize(&planned, &group).await?;
        let mut state = planned.clone();
        set_attr(&mut state, "id", Value::string(&id));
        self.read_by_id(&id, &state).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "{}: rule {id} vanished right after it was authorized",
                self.name()
            ))
        })
    }

    /// EC2 takes no idempotency token for a rule, but refuses a second identical rule on
    /// a group: the one rule on the group with this protocol, ports, source, description
    /// and the configured tags is the create's. EC2 reports no creation time, so the
    /// engine also checks the group (the argument fixed at creation) is the configured one.
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        // The rule is recognised by what it is: every one of its arguments must be known.
        let known = RULE_ARGUMENTS
            .iter()
            .chain(&["tags"])
            .all(|name| planned.get(name).is_none_or(Value::is_wholly_known));
        let Some(group) = planned.str_attr("security_group_id").filter(|_| known) else {
            return Ok(Finding::CannotTell);
        };
        let out = self
            .client
            .describe_security_group_rules()
            .filters(Filter::builder().name("group-id").values(group).build())
            .send()
            .await
            .map_err(sdk_error);
        let rules = match out {
            Ok(out) => out.security_group_rules().to_vec(),
            Err(e) if is_not_found(&e) => return Ok(Finding::Absent),
            Err(e) => return Err(e),
        };
        let Some(rule) = rules.iter().find(|r| self.matches(r, &planned)) else {
            return Ok(Finding::Absent);
        };
        let account = self.ctx.account_id().await?;
        let id = rule
            .security_group_rule_id()
            .unwrap_or_default()
            .to_string();
        let object = self.state_from_live(rule, &planned, &account);
        Ok(found_by_name(id, Some(object), None))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(id) = state.str_attr("id") else {
            return Ok(None);
        };
        self.read_by_id(id, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let id = required_str(prior, "id", self.name())?.to_string();
        let group = required_str(&planned, "security_group_id", self.name())?.to_string();
        let rule_changed = RULE_ARGUMENTS.iter().any(|name| {
            let before = prior.get(name).unwrap_or(&Value::Null);
            let after = planned.get(name).unwrap_or(&Value::Null);
            !before.same_as(after)
        });
        if rule_changed {
            let request = SecurityGroupRuleRequest::builder()
                .set_ip_protocol(planned.str_attr("ip_protocol").map(str::to_string))
                .set_from_port(port_of(&planned, "from_port"))
                .set_to_port(port_of(&planned, "to_port"))
                .set_cidr_ipv4(planned.str_attr("cidr_ipv4").map(str::to_string))
                .set_cidr_ipv6(planned.str_attr("cidr_ipv6").map(str::to_string))
                .set_prefix_list_id(planned.str_attr("prefix_list_id").map(str::to_string))
                .set_referenced_group_id(
                    planned
                        .str_attr("referenced_security_group_id")
                        .map(str::to_string),
                )
                .set_description(planned.str_attr("description").map(str::to_string))
                .build();
            self.client
                .modify_security_group_rules()
                .group_id(&group)
                .security_group_rules(
                    SecurityGroupRuleUpdate::builder()
                        .security_group_rule_id(&id)
                        .security_group_rule(request)
                        .build(),
                )
                .send()
                .await
                .map_err(sdk_error)
                .map_err(|e| {
                    ProviderError {
                        message: format!(
                            "{}: could not modify rule {id}: {}",
                            self.name(),
                            e.message
                        ),
                        ..e
                    }
                    .hint("check ip_protocol, from_port/to_port and the source of the rule")
                })?;
        }
        let old_tags = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new_tags = self.ctx.tags_all(&config_tags(&planned));
        update_tags(&self.client, &id, &old_tags, &new_tags).await?;
        let mut state = planned.clone();
        set_attr(&mut state, "id", Value::string(&id));
        self.read_by_id(&id, &state).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "{}: rule {id} disappeared during the update",
                self.name()
            ))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let (Some(id), Some(group)) = (state.str_attr("id"), state.str_attr("security_group_id"))
        else {
            return Ok(());
        };
        let result = match self.direction {
            Direction::Ingress => self
                .client
                .revoke_security_group_ingress()
                .group_id(group)
                .security_group_rule_ids(id)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk_error),
            Direction::Egress => self
                .client
                .revoke_security_group_egress()
                .group_id(group)
                .security_group_rule_ids(id)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk_error),
        };
        match result {
            // The rule or its group is gone already (LocalStack answers a revoked rule's
            // id with InvalidPermission.NotFound, AWS with the rule id's NotFound).
            Err(e) if is_not_found(&e) => Ok(()),
            result => result,
        }
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_by_id(id, &Value::object([("id", Value::string(id))]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: Vec<(&str, Value)>) -> Value {
        let mut base = Value::object([
            ("ip_protocol", Value::string("tcp")),
            ("security_group_id", Value::string("sg-1")),
            ("from_port", Value::Number(443.0)),
            ("to_port", Value::Number(443.0)),
        ]);
        for (k, v) in pairs {
            set_attr(&mut base, k, v);
        }
        base
    }

    #[test]
    fn exactly_one_source_is_required() {
        let name = "aws_vpc_security_group_ingress_rule";
        assert!(check_config(name, &cfg(vec![("cidr_ipv4", Value::string("10.0.0.0/8"))])).is_ok());
        let none = check_config(name, &cfg(vec![])).unwrap_err();
        assert!(none.message.contains("none is"), "{}", none.message);
        let two = check_config(
            name,
            &cfg(vec![
                ("cidr_ipv4", Value::string("10.0.0.0/8")),
                ("prefix_list_id", Value::string("pl-1")),
            ]),
        )
        .unwrap_err();
        assert!(
            two.message.contains("cidr_ipv4 and prefix_list_id"),
            "{}",
            two.message
        );
    }

    #[test]
    fn ports_and_cidrs_are_checked() {
        let name = "aws_vpc_security_group_egress_rule";
        let bad_port = cfg(vec![
            ("cidr_ipv4", Value::string("10.0.0.0/8")),
            ("to_port", Value::Number(70000.0)),
        ]);
        assert!(check_config(name, &bad_port).is_err());
        let host_bits = cfg(vec![("cidr_ipv4", Value::string("10.0.0.1/8"))]);
        assert!(check_config(name, &host_bits).is_err());
        assert!(is_network_address("0.0.0.0/0", false));
        assert!(is_network_address("2001:db8::/32", true));
        assert!(!is_network_address("2001:db8::1/32", true));
        assert!(!is_network_address("10.0.0.0", false));
        assert!(!is_network_address("10.0.0.0/33", false));
    }

    #[test]
    fn the_kind_of_source_is_read_from_what_is_set() {
        assert_eq!(
            source_attribute(&cfg(vec![("cidr_ipv6", Value::string("::/0"))])),
            Some("cidr_ipv6")
        );
        assert_eq!(source_attribute(&cfg(vec![])), None);
        assert_eq!(port_of(&cfg(vec![]), "from_port"), Some(443));
        assert_eq!(
            port_of(&cfg(vec![("from_port", Value::Null)]), "from_port"),
            None
        );
    }

    async fn offline_rule_type(direction: Direction) -> VpcSecurityGroupRuleType {
        let config = Value::object([
            ("region", Value::string("us-east-1")),
            ("skip_credentials_validation", Value::Bool(true)),
        ]);
        let ctx = AwsContext::from_provider_config(&config).await.unwrap();
        VpcSecurityGroupRuleType::new(Arc::new(ctx), direction)
    }

    fn full(ty: &VpcSecurityGroupRuleType, pairs: Vec<(&str, Value)>) -> Value {
        let mut v = Value::object(
            ty.schema
                .attributes
                .keys()
                .map(|k| (k.clone(), Value::Null))
                .collect::<Vec<_>>(),
        );
        for (k, x) in pairs {
            set_attr(&mut v, k, x);
        }
        v
    }

    #[tokio::test]
    async fn plans_keep_the_stored_protocol_spelling_and_replace_on_another_source_kind() {
        let ty = offline_rule_type(Direction::Ingress).await;
        let config = full(
            &ty,
            vec![
                ("security_group_id", Value::string("sg-1")),
                ("ip_protocol", Value::string("6")),
                ("from_port", Value::Number(22.0)),
                ("to_port", Value::Number(22.0)),
                ("cidr_ipv4", Value::string("10.0.0.0/8")),
            ],
        );
        let mut prior = config.clone();
        for (k, v) in [
            ("ip_protocol", Value::string("tcp")),
            ("id", Value::string("sgr-1")),
            ("security_group_rule_id", Value::string("sgr-1")),
            (
                "arn",
                Value::string("arn:aws:ec2:us-east-1:1:security-group-rule/sgr-1"),
            ),
            ("tags_all", Value::Map(Default::default())),
        ] {
            set_attr(&mut prior, k, v);
        }
        let same = ty.plan(Some(&prior), &config).unwrap();
        assert!(same.requires_replace.is_empty());
        assert!(same.planned.same_as(&prior), "{:?}", same.planned);

        let mut ports = config.clone();
        set_attr(&mut ports, "to_port", Value::Number(23.0));
        let in_place = ty.plan(Some(&prior), &ports).unwrap();
        assert!(in_place.requires_replace.is_empty());
        assert_eq!(in_place.planned.str_attr("id"), Some("sgr-1"));

        let mut v6 = config.clone();
        set_attr(&mut v6, "cidr_ipv4", Value::Null);
        set_attr(&mut v6, "cidr_ipv6", Value::string("::/0"));
        let replaced = ty.plan(Some(&prior), &v6).unwrap();
        assert_eq!(replaced.requires_replace, vec!["cidr_ipv4", "cidr_ipv6"]);
    }

    #[tokio::test]
    async fn reads_keep_unset_ports_null_and_name_another_accounts_group() {
        let ty = offline_rule_type(Direction::Egress).await;
        let rule = SecurityGroupRule::builder()
            .security_group_rule_id("sgr-9")
            .group_id("sg-1")
            .is_egress(true)
            .ip_protocol("-1")
            .from_port(-1)
            .to_port(-1)
            .referenced_group_info(
                aws_sdk_ec2::types::ReferencedSecurityGroup::builder()
                    .group_id("sg-2")
                    .user_id("222222222222")
                    .build(),
            )
            .build();
        let unset = full(&ty, vec![("ip_protocol", Value::string("all"))]);
        let state = ty.state_from_live(&rule, &unset, "000000000000");
        assert_eq!(state.get("from_port"), Some(&Value::Null));
        assert_eq!(state.str_attr("ip_protocol"), Some("all"));
        assert_eq!(
            state.str_attr("referenced_security_group_id"),
            Some("222222222222/sg-2")
        );
        assert_eq!(state.get("tags"), Some(&Value::Null));
        // All traffic has no ports: configured ones stay rather than plan forever.
        let zero = full(
            &ty,
            vec![
                ("ip_protocol", Value::string("-1")),
                ("from_port", Value::Number(0.0)),
                ("to_port", Value::Number(0.0)),
            ],
        );
        let state = ty.state_from_live(&rule, &zero, "000000000000");
        assert_eq!(state.get("to_port"), Some(&Value::Number(0.0)));
        // The account's own group is named by its id alone.
        let own = ty.state_from_live(&rule, &unset, "222222222222");
        assert_eq!(own.str_attr("referenced_security_group_id"), Some("sg-2"));
    }
}
