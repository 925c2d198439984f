//! `aws_iam_role`: a role with its trust policy.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::types::Role;
use forge_aws_common::adoption::{configured_name, creation_time, found_by_name};
use forge_aws_common::policy::{legacy_policy_normalize, policy_for_state};
use forge_aws_common::{AwsContext, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, BlockType, CreateIntent, Finding, PlannedState, ProviderError,
    ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{
    check_name, check_policy, client, config_tags, create_tags, date_string, description_value,
    found, is_invalid_principal, keep_empty_values, keep_equivalent_policy, name_or_generated,
    name_prefix_from_name, path_or_default, plan_tags_all, propagation_backoff, read_after_create,
    replace_paths, required_str, retry_delete_conflict, set_attr, tag_changes, tags_from_aws,
    tags_state, to_aws_tags, with_hint,
};

const TYPE: &str = "aws_iam_role";
const DEFAULT_MAX_SESSION: f64 = 3600.0;

pub struct RoleResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_iam::Client,
    schema: Schema,
}

impl RoleResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("name", Attribute::optional_computed(string()).force_new())
            .attr(
                "name_prefix",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "path",
                Attribute::optional(string())
                    .default(Value::string("/"))
                    .force_new(),
            )
            .attr("description", Attribute::optional(string()))
            .attr("assume_role_policy", Attribute::required(string()))
            .attr(
                "max_session_duration",
                Attribute::optional(AttrType::Number).default(Value::Number(DEFAULT_MAX_SESSION)),
            )
            .attr("permissions_boundary", Attribute::optional(string()))
            .attr(
                "force_detach_policies",
                Attribute::optional(AttrType::Bool).default(Value::Bool(false)),
            )
            // What is attached to the role, as the provider records it: read always,
            // refused in configuration (aws_iam_role_policy_attachment and
            // aws_iam_role_policy manage them).
            .attr(
                "managed_policy_arns",
                Attribute::optional_computed(AttrType::Set(Box::new(string()))),
            )
            .block(
                "inline_policy",
                BlockType {
                    schema: Schema::new()
                        .attr("name", Attribute::optional(string()))
                        .attr("policy", Attribute::optional(string())),
                    unordered: true,
                    ..Default::default()
                },
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
            .attr("unique_id", Attribute::computed(string()))
            .attr("create_date", Attribute::computed(string()));
        let client = client(&ctx);
        RoleResource {
            ctx,
            client,
            schema,
        }
    }

    pub(crate) async fn get_role(&self, name: &str) -> ProviderResult<Option<Role>> {
        let out = found(
            self.client
                .get_role()
                .role_name(name)
                .send()
                .await
                .map_err(sdk_error),
        )?;
        Ok(out.and_then(|o| o.role().cloned()))
    }

    /// The live role as state; `state` supplies the spelling of equivalent values and the
    /// configuration-only arguments.
    async fn read_by_name(&self, name: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(role) = self.get_role(name).await? else {
            return Ok(None);
        };
        self.object_of(name, &role, state).await
    }

    /// The state object of a role already fetched (tags and policies are further requests).
    async fn object_of(
        &self,
        name: &str,
        role: &Role,
        state: &Value,
    ) -> ProviderResult<Option<Value>> {
        // The attached policies and the inline policies are separate requests that need
        // nothing from each other: one round trip's wait for both. The tags come with
        // GetRole (a role has at most 50), as the provider reads them.
        let (managed, inline) = tokio::join!(
            self.attached_policy_arns(name),
            self.inline_policies(name, state),
        );
        let live_tags = tags_from_aws(role.tags());
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &live_tags,
        );
        let trust = role
            .assume_role_policy_document()
            .map(|live| Value::String(policy_for_state(state.str_attr("assume_role_policy"), live)))
            .unwrap_or(Value::Null);
        let description = description_value(role.description(), state);
        let Some(managed) = found(managed)? else {
            return Ok(None);
        };
        let Some(inline) = found(inline)? else {
            return Ok(None);
        };
        let force_detach = state
            .get("force_detach_policies")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Some(Value::object([
            ("id", Value::string(role.role_name())),
            ("name", Value::string(role.role_name())),
            (
                "name_prefix",
                Value::String(name_prefix_from_name(role.role_name(), "")),
            ),
            (
                "managed_policy_arns",
                Value::Set(managed.into_iter().map(Value::String).collect()),
            ),
            ("inline_policy", inline),
            ("path", Value::string(role.path())),
            ("description", description),
            ("assume_role_policy", trust),
            (
                "max_session_duration",
                Value::Number(
                    role.max_session_duration()
                        .map(f64::from)
                        .unwrap_or(DEFAULT_MAX_SESSION),
                ),
            ),
            (
                "permissions_boundary",
                Value::string(
                    role.permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .unwrap_or(""),
                ),
            ),
            ("force_detach_policies", Value::Bool(force_detach)),
            ("tags", tags),
            ("tags_all", tags_all),
            ("arn", Value::string(role.arn())),
            ("unique_id", Value::string(role.role_id())),
            ("create_date", date_string(role.create_date())),
        ])))
    }

    async fn update_tags(&self, name: &str, prior: &Value, planned: &Value) -> ProviderResult<()> {
        let old = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new = self.ctx.tags_all(&config_tags(planned));
        let (removed, changed) = tag_changes(&old, &new);
        if !removed.is_empty() {
            self.client
                .untag_role()
                .role_name(name)
                .set_tag_keys(Some(removed))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if !changed.is_empty() {
            let tags = to_aws_tags(&changed)?;
            self.client
                .tag_role()
                .role_name(name)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }

    /// What stands between the role and its deletion: attached managed policies, inline
    /// policies and instance profile memberships. Terraform removes them only with
    /// `force_detach_policies`; forge always does, so destroying a configuration whose
    /// attachments are gone from state never leaves a role that cannot be deleted.
    async fn detach_everything(&self, name: &str) -> ProviderResult<()> {
        for arn in self.attached_policy_arns(name).await? {
            let out = self
                .client
                .detach_role_policy()
                .role_name(name)
                .policy_arn(&arn)
                .send()
                .await;
            found(out.map_err(sdk_error))?;
        }
        for policy in self.inline_policy_names(name).await? {
            let out = self
                .client
                .delete_role_policy()
                .role_name(name)
                .policy_name(&policy)
                .send()
                .await;
            found(out.map_err(sdk_error))?;
        }
        let profiles = self
            .client
            .list_instance_profiles_for_role()
            .role_name(name)
            .send()
            .await
            .map_err(sdk_error)?;
        for profile in profiles.instance_profiles() {
            let out = self
                .client
                .remove_role_from_instance_profile()
                .role_name(name)
                .instance_profile_name(profile.instance_profile_name())
                .send()
                .await;
            found(out.map_err(sdk_error))?;
        }
        Ok(())
    }

    async fn attached_policy_arns(&self, name: &str) -> ProviderResult<Vec<String>> {
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_attached_role_policies()
                .role_name(name)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(sdk_error)?;
            arns.extend(
                out.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string)),
            );
            match out.marker() {
                Some(m) if out.is_truncated() => marker = Some(m.to_string()),
                _ => return Ok(arns),
            }
        }
    }

    /// The role's inline policies as the provider records them in `inline_policy`: one
    /// `{name, policy}` per policy, the document in `state`'s spelling when equivalent.
    async fn inline_policies(&self, name: &str, state: &Value) -> ProviderResult<Value> {
        let stored: Vec<&Value> = state
            .get("inline_policy")
            .and_then(Value::as_seq)
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for policy_name in self.inline_policy_names(name).await? {
            let got = self
                .client
                .get_role_policy()
                .role_name(name)
                .policy_name(&policy_name)
                .send()
                .await
                .map_err(sdk_error)?;
            let live = decoded_policy(got.policy_document());
            let before = stored
                .iter()
                .find(|p| p.str_attr("name") == Some(policy_name.as_str()))
                .and_then(|p| p.str_attr("policy"));
            out.push(Value::object([
                ("name", Value::string(&policy_name)),
                // The provider's read spells a document it had not recorded in its
                // legacy IAM normalisation.
                (
                    "policy",
                    Value::String(match before {
                        Some(_) => policy_for_state(before, &live),
                        None => legacy_policy_normalize(&live),
                    }),
                ),
            ]));
        }
        Ok(Value::Set(out))
    }

    async fn inline_policy_names(&self, name: &str) -> ProviderResult<Vec<String>> {
        let mut names = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_role_policies()
                .role_name(name)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(sdk_error)?;
            names.extend(out.policy_names().iter().cloned());
            match out.marker() {
                Some(m) if out.is_truncated() => marker = Some(m.to_string()),
                _ => return Ok(names),
            }
        }
    }
}

/// Refuses `inline_policy` blocks and `managed_policy_arns` in configuration: forge does
/// not manage a role's policies through the role (the provider deprecates both).
fn check_attachments_unmanaged(config: &Value) -> ProviderResult<()> {
    if config
        .get("inline_policy")
        .and_then(Value::as_seq)
        .is_some_and(|s| !s.is_empty())
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: `inline_policy` blocks are not supported"
        ))
        .hint("write each inline policy as an aws_iam_role_policy resource"));
    }
    if config.get_non_null("managed_policy_arns").is_some() {
        return Err(
            ProviderError::new(format!("{TYPE}: `managed_policy_arns` is not supported"))
                .hint("attach each policy with an aws_iam_role_policy_attachment resource"),
        );
    }
    Ok(())
}

/// A policy document as IAM returns it (URL-encoded), decoded.
fn decoded_policy(raw: &str) -> String {
    if raw.trim_start().starts_with('{') {
        return raw.to_string();
    }
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// IAM accepts one to twelve hours, in whole seconds.
pub fn check_session_duration(config: &Value) -> ProviderResult<()> {
    let Some(seconds) = config.get("max_session_duration").and_then(Value::as_f64) else {
        return Ok(());
    };
    if (3600.0..=43200.0).contains(&seconds) && seconds.fract() == 0.0 {
        Ok(())
    } else {
        Err(ProviderError::new(format!(
            "{TYPE}: max_session_duration = {seconds} is out of range"
        ))
        .hint("use a whole number of seconds from 3600 (1 hour) to 43200 (12 hours)"))
    }
}

#[async_trait]
impl ResourceType for RoleResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_policy(TYPE, config, "assume_role_policy")?;
        if config.get_non_null("name").is_some() && config.get_non_null("name_prefix").is_some() {
            return Err(
                ProviderError::new(format!("{TYPE}: `name` and `name_prefix` conflict"))
                    .hint("set only one of them"),
            );
        }
        check_session_duration(config)?;
        check_name(TYPE, config, 64)?;
        check_attachments_unmanaged(config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        keep_empty_values(&self.schema, prior, config, &mut planned);
        // Read from IAM, not configured: what the last read saw (nothing on create).
        let read_only = |name: &str| match prior {
            Some(p) => p.get(name).cloned().unwrap_or(Value::Set(Vec::new())),
            None => Value::Set(Vec::new()),
        };
        set_attr(&mut planned, "inline_policy", read_only("inline_policy"));
        set_attr(
            &mut planned,
            "managed_policy_arns",
            read_only("managed_policy_arns"),
        );
        if let Some(name) = config.str_attr("name") {
            set_attr(&mut planned, "id", Value::string(name));
        }
        keep_equivalent_policy(&mut planned, prior, "assume_role_policy");
        plan_tags_all(&self.ctx, &mut planned);
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let name = &name_or_generated(&planned);
        let trust = required_str(&planned, "assume_role_policy", TYPE)?;
        let tags = create_tags(&self.ctx.tags_all(&config_tags(&planned)))?;
        let request = self
            .client
            .create_role()
            .role_name(name)
            .path(path_or_default(&planned))
            .assume_role_policy_document(trust)
            .set_description(planned.str_attr("description").map(str::to_string))
            .set_max_session_duration(
                planned
                    .get("max_session_duration")
                    .and_then(Value::as_i64)
                    .map(|n| n as i32),
            )
            .set_permissions_boundary(planned.str_attr("permissions_boundary").map(str::to_string))
            .set_tags(tags);
        // A principal created a moment ago may not be known to IAM yet.
        retry(propagation_backoff(), is_invalid_principal, || {
            let request = request.clone();
            async move { request.send().await.map_err(sdk_error) }
        })
        .await
        .map_err(|e| with_hint(e, "role", name))?;
        let planned = &planned;
        read_after_create(&format!("IAM role {name}"), || {
            self.read_by_name(name, planned)
        })
        .await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(name) = state.str_attr("id").or_else(|| state.str_attr("name")) else {
            return Ok(None);
        };
        self.read_by_name(name, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let name = required_str(prior, "id", TYPE)?.to_string();
        let trust = required_str(&planned, "assume_role_policy", TYPE)?;
        if prior.str_attr("assume_role_policy") != Some(trust) {
            let request = self
                .client
                .update_assume_role_policy()
                .role_name(&name)
                .policy_document(trust);
            retry(propagation_backoff(), is_invalid_principal, || {
                let request = request.clone();
                async move { request.send().await.map_err(sdk_error) }
            })
            .await
            .map_err(|e| with_hint(e, "role", &name))?;
        }
        let changed = |attr: &str| {
            !prior
                .get(attr)
                .unwrap_or(&Value::Null)
                .same_as(planned.get(attr).unwrap_or(&Value::Null))
        };
        if changed("description") || changed("max_session_duration") {
            self.client
                .update_role()
                .role_name(&name)
                // An empty description clears it, as Terraform does when it is removed.
                .description(planned.str_attr("description").unwrap_or(""))
                .set_max_session_duration(
                    planned
                        .get("max_session_duration")
                        .and_then(Value::as_i64)
                        .map(|n| n as i32),
                )
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if changed("permissions_boundary") {
            match planned.str_attr("permissions_boundary") {
                Some(arn) => {
                    let out = self
                        .client
                        .put_role_permissions_boundary()
                        .role_name(&name)
                        .permissions_boundary(arn)
                        .send();
                    out.await.map_err(sdk_error)?;
                }
                None => {
                    let out = self
                        .client
                        .delete_role_permissions_boundary()
                        .role_name(&name)
                        .send()
                        .await;
                    found(out.map_err(sdk_error))?;
                }
            }
        }
        self.update_tags(&name, prior, &planned).await?;
        self.read_by_name(&name, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!("IAM role {name} disappeared during the update"))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(name) = state.str_attr("id").or_else(|| state.str_attr("name")) else {
            return Ok(());
        };
        match found(self.detach_everything(name).await)? {
            Some(()) => {}
            None => return Ok(()),
        }
        let request = self.client.delete_role().role_name(name);
        let out = retry_delete_conflict(|| {
            let request = request.clone();
            async move { request.send().await.map_err(sdk_error) }
        })
        .await;
        found(out.map_err(|e| with_hint(e, "role", name)))?;
        Ok(())
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
        let Some(role) = self.get_role(&name).await? else {
            return Ok(Finding::Absent);
        };
        let object = self.object_of(&name, &role, &planned).await?;
        Ok(found_by_name(
            name,
            object,
            creation_time(Some(role.create_date())),
        ))
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let state = Value::object([
            ("id", Value::string(id)),
            ("force_detach_policies", Value::Bool(false)),
        ]);
        self.read_by_name(id, &state).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duration(seconds: f64) -> Value {
        Value::object([("max_session_duration", Value::Number(seconds))])
    }

    #[test]
    fn session_duration_is_one_to_twelve_hours() {
        assert!(check_session_duration(&duration(3600.0)).is_ok());
        assert!(check_session_duration(&duration(43200.0)).is_ok());
        assert!(
            check_session_duration(&duration(60.0))
                .unwrap_err()
                .hint
                .unwrap_or_default()
                .contains("3600")
        );
        assert!(check_session_duration(&duration(50000.0)).is_err());
        assert!(
            check_session_duration(&Value::object([("max_session_duration", Value::Null)])).is_ok()
        );
    }
}
