//! `aws_security_group`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType as Ec2ResourceType, SecurityGroup};
use forge_aws_common::adoption::{configured_name, found_by_name};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::batched;
use crate::common::{
    client, config_tags, delete_once_released, ec2_arn, is_not_found, opt_string, plan_tags_all,
    prefix_of, replace_paths, set_attr, tag_specifications, tags_from_aws, tags_state, update_tags,
};
use crate::sg_rules::{
    AtomicRule, atomize, atomize_aws, default_egress, normalize_rule, rule_block, rules_value,
    to_permissions,
};
use forge_aws_common::naming::prefixed_unique_name;

const DEFAULT_DESCRIPTION: &str = "Managed by Terraform";
const RULE_KINDS: [&str; 2] = ["ingress", "egress"];

pub struct SecurityGroupType {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
    /// Reads of groups that wait at the same time share one DescribeSecurityGroups.
    batchers: Arc<batched::Batchers>,
}

impl SecurityGroupType {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let schema = Schema::new()
            .attr(
                "name",
                Attribute::optional_computed(AttrType::String).force_new(),
            )
            .attr(
                "name_prefix",
                Attribute::optional_computed(AttrType::String).force_new(),
            )
            // Optional with the provider's default, not computed: removing it plans a
            // return to the default (a replacement), as in the provider.
            .attr(
                "description",
                Attribute::optional(AttrType::String)
                    .force_new()
                    .default(Value::string(DEFAULT_DESCRIPTION)),
            )
            .attr(
                "vpc_id",
                Attribute::optional_computed(AttrType::String).force_new(),
            )
            .attr(
                "revoke_rules_on_delete",
                Attribute::optional(AttrType::Bool).default(Value::Bool(false)),
            )
            .attr(
                "tags",
                Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
            )
            .attr(
                "tags_all",
                Attribute::computed(AttrType::Map(Box::new(AttrType::String))),
            )
            .attr("id", Attribute::computed(AttrType::String))
            .attr("arn", Attribute::computed(AttrType::String))
            .attr("owner_id", Attribute::computed(AttrType::String))
            // The provider's `timeouts` block; forge has its own waits: always null.
            .attr("timeouts", Attribute::computed(AttrType::Any))
            .block("ingress", rule_block())
            .block("egress", rule_block())
            // The provider's state shape for aws_security_group is at version 1.
            .version(1);
        let batchers = ctx.shared::<batched::Batchers>();
        let client = client(&ctx);
        SecurityGroupType {
            ctx,
            client,
            schema,
            batchers,
        }
    }

    async fn describe(&self, id: &str) -> ProviderResult<Option<SecurityGroup>> {
        if batched::batchable(id, "sg-") {
            return self
                .batchers
                .security_groups
                .read(id, |ids| batched::security_groups(&self.client, ids))
                .await;
        }
        match self
            .client
            .describe_security_groups()
            .group_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out.security_groups().first().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn default_vpc(&self) -> ProviderResult<String> {
        let out = self
            .client
            .describe_vpcs()
            .filters(Filter::builder().name("is-default").values("true").build())
            .send()
            .await
            .map_err(sdk_error)?;
        out.vpcs()
            .first()
            .and_then(|v| v.vpc_id())
            .map(str::to_string)
            .ok_or_else(|| {
                ProviderError::new(
                    "aws_security_group: no vpc_id is set and the region has no default VPC",
                )
                .hint("set vpc_id to the VPC the security group belongs to")
            })
    }

    /// The state for a live group: `state` supplies the configuration-only arguments and
    /// the spelling of rules that mean the same as AWS's.
    fn state_from_live(
        &self,
        sg: &SecurityGroup,
        state: &Value,
        account: &str,
    ) -> ProviderResult<Value> {
        let id = sg.group_id().unwrap_or_default();
        let owner = sg.owner_id().unwrap_or(account);
        let arn = sg
            .security_group_arn()
            .map(str::to_string)
            .unwrap_or_else(|| ec2_arn(&self.ctx, owner, &format!("security-group/{id}")));
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(sg.tags()),
        );
        let mut out = Value::object([
            ("id", Value::string(id)),
            ("arn", Value::string(arn)),
            ("owner_id", Value::string(owner)),
            ("name", opt_string(sg.group_name())),
            ("name_prefix", prefix_of(sg.group_name().unwrap_or(""))),
            ("timeouts", Value::Null),
            ("description", opt_string(sg.description())),
            ("vpc_id", opt_string(sg.vpc_id())),
            (
                "revoke_rules_on_delete",
                Value::Bool(
                    state
                        .get("revoke_rules_on_delete")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                ),
            ),
            ("tags", tags),
            ("tags_all", tags_all),
        ]);
        for (kind, perms) in [
            ("ingress", sg.ip_permissions()),
            ("egress", sg.ip_permissions_egress()),
        ] {
            let live = atomize_aws(perms, id);
            let stored = state.get(kind).and_then(Value::as_seq).unwrap_or(&[]);
            let value = match atomize(stored, kind) {
                Ok(known) if known == live => Value::List(stored.to_vec()),
                _ => rules_value(&live),
            };
            set_attr(&mut out, kind, value);
        }
        Ok(out)
    }

    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(sg) = self.describe(id).await? else {
            return Ok(None);
        };
        let account = match sg.owner_id() {
            Some(owner) => owner.to_string(),
            None => self.ctx.account_id().await?,
        };
        self.state_from_live(&sg, state, &account).map(Some)
    }

    /// Waits until a new group can be described: EC2 is eventually consistent, and a
    /// rule call on a group it cannot see yet fails with the same code as a rule naming
    /// a group that does not exist.
    async fn wait_visible(&self, id: &str) -> ProviderResult<()> {
        let backoff = Backoff {
            attempts: 8,
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        };
        retry(backoff, is_not_found, || async {
            match self.describe(id).await? {
                Some(_) => Ok(()),
                None => Err(ProviderError::with_code(
                    "InvalidGroup.NotFound",
                    format!("security group {id} is not visible yet after its creation"),
                )),
            }
        })
        .await
    }

    /// Terraform removes the allow-all egress rule AWS adds to a new group, so that only
    /// configured rules exist; then the configured rules are added.
    async fn apply_initial_rules(&self, id: &str, planned: &Value) -> ProviderResult<()> {
        self.wait_visible(id).await?;
        let defaults: BTreeSet<AtomicRule> = [default_egress()].into();
        self.apply_rules(id, "egress", &defaults, &BTreeSet::new())
            .await?;
        for kind in RULE_KINDS {
            self.apply_rules(id, kind, &BTreeSet::new(), &rules_of(planned, kind)?)
                .await?;
        }
        Ok(())
    }

    /// Authorizes `add` and revokes `remove` (revoking first, so a rule whose
    /// description changed is replaced rather than refused as a duplicate).
    async fn apply_rules(
        &self,
        id: &str,
        kind: &str,
        remove: &BTreeSet<AtomicRule>,
        add: &BTreeSet<AtomicRule>,
    ) -> ProviderResult<()> {
        if !remove.is_empty() {
            let perms = Some(to_permissions(remove, id));
            let result = if kind == "ingress" {
                self.client
                    .revoke_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(perms)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            } else {
                self.client
                    .revoke_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(perms)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            };
            match result {
                Err(e) if e.code.as_deref() != Some("InvalidPermission.NotFound") => {
                    return Err(rule_error(e, kind, "revoke"));
                }
                _ => {}
            }
        }
        if !add.is_empty() {
            let perms = Some(to_permissions(add, id));
            let result = if kind == "ingress" {
                self.client
                    .authorize_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(perms)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            } else {
                self.client
                    .authorize_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(perms)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            };
            match result {
                // The rules are there already: a retry after a lost answer finds the
                // first attempt's work (the read-back after this shows what exists).
                Err(e) if e.code.as_deref() == Some("InvalidPermission.Duplicate") => {}
                result => result.map_err(|e| rule_error(e, kind, "authorize"))?,
            }
        }
        Ok(())
    }
}

fn rule_error(e: ProviderError, kind: &str, action: &str) -> ProviderError {
    let hint = match e.code.as_deref() {
        Some("InvalidPermission.Duplicate") => {
            format!(
                "an {kind} rule already exists on the group: remove the duplicate rule from the configuration or from AWS"
            )
        }
        Some("InvalidGroup.NotFound") => {
            "a security group named in a rule does not exist: check security_groups".into()
        }
        _ => format!("check the {kind} rules (protocol, ports and sources)"),
    };
    ProviderError {
        message: format!("could not {action} {kind} rules: {}", e.message),
        ..e
    }
    .hint(hint)
}

/// The rules of one kind as planned: configured rules in their normal form, or the prior
/// ones when they mean the same; with no rule configured, whatever the prior state holds
/// (Terraform treats `ingress`/`egress` as optional and computed).
fn plan_rules(kind: &str, prior: Option<&Value>, config: &Value) -> ProviderResult<Value> {
    let prior_rules = prior.and_then(|p| p.get(kind)).and_then(Value::as_seq);
    let configured = config.get(kind).and_then(Value::as_seq).unwrap_or(&[]);
    if configured.is_empty() {
        return Ok(Value::List(
            prior_rules.map(<[Value]>::to_vec).unwrap_or_default(),
        ));
    }
    let normalized: Vec<Value> = configured.iter().map(normalize_rule).collect();
    if normalized.iter().all(Value::is_wholly_known) {
        let wanted = atomize(&normalized, kind)?;
        if let Some(prior_rules) = prior_rules
            && atomize(prior_rules, kind).is_ok_and(|had| had == wanted)
        {
            return Ok(Value::List(prior_rules.to_vec()));
        }
    }
    Ok(Value::List(normalized))
}

fn rules_of(v: &Value, kind: &str) -> ProviderResult<BTreeSet<AtomicRule>> {
    atomize(v.get(kind).and_then(Value::as_seq).unwrap_or(&[]), kind)
}

#[async_trait]
impl ResourceType for SecurityGroupType {
    fn type_name(&self) -> &'static str {
        "aws_security_group"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        if config.get_non_null("name").is_some() && config.get_non_null("name_prefix").is_some() {
            return Err(ProviderError::new(
                "aws_security_group: `name` and `name_prefix` conflict",
            )
            .hint("set only one of them"));
        }
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        // An unset argument recorded with its empty value (`tags = {}`) stays as it is.
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
        for kind in RULE_KINDS {
            let rules = plan_rules(kind, prior, config)?;
            set_attr(&mut planned, kind, rules);
        }
        plan_tags_all(&self.ctx, &mut planned);
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let name = match (planned.str_attr("name"), planned.str_attr("name_prefix")) {
            (Some(name), _) => name.to_string(),
            (None, Some(prefix)) => prefixed_unique_name(Some(prefix)),
            (None, None) => prefixed_unique_name(Some("terraform-")),
        };
        let vpc_id = match planned.str_attr("vpc_id") {
            Some(v) => v.to_string(),
            None => self.default_vpc().await?,
        };
        let description = planned
            .str_attr("description")
            .unwrap_or(DEFAULT_DESCRIPTION);
        let tags_all = self.ctx.tags_all(&config_tags(&planned));
        let out = self
            .client
            .create_security_group()
            .group_name(&name)
            .description(description)
            .vpc_id(&vpc_id)
            .set_tag_specifications(tag_specifications(Ec2ResourceType::SecurityGroup, &tags_all))
            .send()
            .await
            .map_err(sdk_error)
            .map_err(|e| match e.code.as_deref() {
                Some("InvalidGroup.Duplicate") => e.hint(format!(
                    "a security group named {name:?} already exists in {vpc_id}: choose another name or import it with its id"
                )),
                Some("InvalidVpcID.NotFound") => e.hint("vpc_id names no VPC in this region"),
                _ => e,
            })?;
        let id = out
            .group_id()
            .ok_or_else(|| ProviderError::new("CreateSecurityGroup returned no group id"))?
            .to_string();
        if let Err(e) = self.apply_initial_rules(&id, &planned).await {
            // The group is not in state yet: leaving it would make the next apply fail
            // on its name, so it goes, and the error says why.
            let cleanup = self
                .client
                .delete_security_group()
                .group_id(&id)
                .send()
                .await;
            let note = match cleanup {
                Ok(_) => format!(
                    "security group {id} was created, then deleted again because its rules failed"
                ),
                Err(_) => format!(
                    "security group {id} was created but its rules failed; delete it by hand before retrying"
                ),
            };
            return Err(ProviderError {
                message: format!("{}; {note}", e.message),
                ..e
            });
        }
        let mut state = planned.clone();
        set_attr(&mut state, "id", Value::string(&id));
        self.read_by_id(&id, &state).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "security group {id} vanished right after it was created"
            ))
        })
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
            .ok_or_else(|| ProviderError::new("aws_security_group: the prior state has no id"))?
            .to_string();
        let old_tags = forge_aws_common::string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new_tags = self.ctx.tags_all(&config_tags(&planned));
        update_tags(&self.client, &id, &old_tags, &new_tags).await?;
        for kind in RULE_KINDS {
            let had = rules_of(prior, kind).unwrap_or_default();
            let wanted = rules_of(&planned, kind)?;
            let remove = had.difference(&wanted).cloned().collect();
            let add = wanted.difference(&had).cloned().collect();
            self.apply_rules(&id, kind, &remove, &add).await?;
        }
        let mut state = planned.clone();
        set_attr(&mut state, "id", Value::string(&id));
        self.read_by_id(&id, &state).await?.ok_or_else(|| {
            ProviderError::new(format!("security group {id} disappeared during the update"))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        if state.get("revoke_rules_on_delete").and_then(Value::as_bool) == Some(true) {
            let Some(sg) = self.describe(id).await? else {
                return Ok(());
            };
            for (kind, perms) in [
                ("ingress", sg.ip_permissions()),
                ("egress", sg.ip_permissions_egress()),
            ] {
                self.apply_rules(id, kind, &atomize_aws(perms, id), &BTreeSet::new())
                    .await?;
            }
        }
        delete_once_released(
            "the group is still used (by an instance, a network interface or another group's rule): remove that use first",
            || async {
                self.client
                    .delete_security_group()
                    .group_id(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            },
        )
        .await
    }

    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let Some(name) = configured_name(&planned, "name") else {
            return Ok(Finding::CannotTell);
        };
        // Group names are unique within a VPC; EC2 reports no creation time, so the
        // engine checks the arguments fixed at creation (name, description, VPC).
        let vpc_id = match configured_name(&planned, "vpc_id") {
            Some(v) => v,
            None => self.default_vpc().await?,
        };
        let out = self
            .client
            .describe_security_groups()
            .filters(Filter::builder().name("group-name").values(&name).build())
            .filters(Filter::builder().name("vpc-id").values(&vpc_id).build())
            .send()
            .await
            .map_err(sdk_error)?;
        let Some(id) = out
            .security_groups()
            .iter()
            .find(|g| g.group_name() == Some(name.as_str()) && g.vpc_id() == Some(vpc_id.as_str()))
            .and_then(|g| g.group_id())
            .map(str::to_string)
        else {
            return Ok(Finding::Absent);
        };
        let mut state = planned.clone();
        set_attr(&mut state, "id", Value::string(&id));
        let object = self.read_by_id(&id, &state).await?;
        Ok(found_by_name(id, object, None))
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let state = Value::object([("id", Value::string(id))]);
        self.read_by_id(id, &state).await
    }

    fn upgrade_step(&self, from: u64, state: Value) -> ProviderResult<Value> {
        match from {
            0 => Ok(upgrade_v0(state)),
            _ => Err(ProviderError::new(format!(
                "aws_security_group: no state upgrade from schema version {from}"
            ))),
        }
    }
}

/// The provider's v0 -> v1 step: `revoke_rules_on_delete` (new in v1) is recorded false.
fn upgrade_v0(mut state: Value) -> Value {
    if let Value::Object(m) = &mut state {
        m.insert("revoke_rules_on_delete".to_string(), Value::Bool(false));
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_0_state_records_revoke_rules_on_delete_false() {
        let v0 = Value::from_json(&serde_json::json!({
            "id": "sg-0123", "name": "web", "description": "Managed by Terraform",
            "ingress": [], "egress": []
        }));
        let v1 = upgrade_v0(v0);
        assert_eq!(v1.get("revoke_rules_on_delete"), Some(&Value::Bool(false)));
        assert_eq!(v1.str_attr("name"), Some("web"));
    }

    fn rule(from: f64, cidr: Value) -> Value {
        Value::object([
            ("protocol", Value::string("tcp")),
            ("from_port", Value::Number(from)),
            ("to_port", Value::Number(from)),
            ("cidr_blocks", cidr),
            ("security_groups", Value::Null),
            ("self", Value::Null),
            ("description", Value::Null),
        ])
    }

    fn with_ingress(rules: Vec<Value>) -> Value {
        Value::object([("ingress", Value::List(rules))])
    }

    #[test]
    fn no_configured_rules_keep_the_prior_ones() {
        let prior = with_ingress(vec![normalize_rule(&rule(
            22.0,
            Value::List(vec![Value::string("10.0.0.0/8")]),
        ))]);
        let planned = plan_rules("ingress", Some(&prior), &with_ingress(vec![])).unwrap();
        assert_eq!(Some(&planned), prior.get("ingress"));
        let created = plan_rules("ingress", None, &with_ingress(vec![])).unwrap();
        assert_eq!(created, Value::List(vec![]));
    }

    #[test]
    fn equal_rules_keep_the_prior_spelling_and_changes_show() {
        let stored = Value::Tuple(vec![normalize_rule(&rule(
            22.0,
            Value::Tuple(vec![Value::string("10.0.0.0/8")]),
        ))]);
        let prior = Value::object([("ingress", stored.clone())]);
        let same = plan_rules(
            "ingress",
            Some(&prior),
            &with_ingress(vec![rule(
                22.0,
                Value::List(vec![Value::string("10.0.0.0/8")]),
            )]),
        )
        .unwrap();
        assert!(same.same_as(&stored));
        let other = plan_rules(
            "ingress",
            Some(&prior),
            &with_ingress(vec![rule(
                23.0,
                Value::List(vec![Value::string("10.0.0.0/8")]),
            )]),
        )
        .unwrap();
        assert!(!other.same_as(&stored));
    }

    #[test]
    fn unknown_sources_are_planned_not_refused() {
        let config = with_ingress(vec![rule(22.0, Value::Unknown)]);
        let planned = plan_rules("ingress", None, &config).unwrap();
        assert!(!planned.is_wholly_known());
        let bad = with_ingress(vec![rule(22.0, Value::Null)]);
        assert!(plan_rules("ingress", None, &bad).is_err());
    }
}
