//! `aws_iam_instance_profile`: the container EC2 uses to hand a role to an instance.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::types::InstanceProfile;
use forge_aws_common::adoption::{configured_name, creation_time, found_by_name};
use forge_aws_common::{AwsContext, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    check_name, client, config_tags, create_tags, date_string, found, keep_empty_values,
    name_or_generated, name_prefix_from_name, path_or_default, plan_tags_all, read_after_create,
    replace_paths, required_str, retry_delete_conflict, set_attr, tag_changes, tags_from_aws,
    tags_state, to_aws_tags, with_hint, with_propagation_retry,
};

const TYPE: &str = "aws_iam_instance_profile";

pub struct InstanceProfileResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_iam::Client,
    schema: Schema,
}

impl InstanceProfileResource {
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
            .attr("role", Attribute::optional(string()))
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
        InstanceProfileResource {
            ctx,
            client,
            schema,
        }
    }

    async fn get(&self, name: &str) -> ProviderResult<Option<InstanceProfile>> {
        let out = self
            .client
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await;
        Ok(found(out.map_err(sdk_error))?.and_then(|o| o.instance_profile().cloned()))
    }

    async fn read_by_name(&self, name: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(profile) = self.get(name).await? else {
            return Ok(None);
        };
        self.object_of(&profile, state).await
    }

    /// The state object of a profile already fetched.
    async fn object_of(
        &self,
        profile: &InstanceProfile,
        state: &Value,
    ) -> ProviderResult<Option<Value>> {
        // The tags come with GetInstanceProfile, as the provider reads them.
        let live_tags = tags_from_aws(profile.tags());
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &live_tags,
        );
        Ok(Some(Value::object([
            ("id", Value::string(profile.instance_profile_name())),
            ("name", Value::string(profile.instance_profile_name())),
            (
                "name_prefix",
                Value::String(name_prefix_from_name(profile.instance_profile_name(), "")),
            ),
            ("path", Value::string(profile.path())),
            // The provider writes "" for a profile without a role.
            (
                "role",
                Value::string(profile.roles().first().map_or("", |r| r.role_name())),
            ),
            ("tags", tags),
            ("tags_all", tags_all),
            ("arn", Value::string(profile.arn())),
            ("unique_id", Value::string(profile.instance_profile_id())),
            ("create_date", date_string(profile.create_date())),
        ])))
    }

    async fn add_role(&self, name: &str, role: &str) -> ProviderResult<()> {
        let request = self
            .client
            .add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(role);
        // A role created a moment ago may not be known to IAM yet.
        let added = with_propagation_retry(|| {
            let request = request.clone();
            async move { request.send().await.map_err(sdk_error) }
        })
        .await;
        // A retry after a lost answer finds the profile full: full with this very role
        // is the first attempt's work.
        if let Err(e) = &added
            && e.code.as_deref() == Some("LimitExceeded")
            && let Ok(Some(profile)) = self.get(name).await
            && profile.roles().iter().any(|r| r.role_name() == role)
        {
            return Ok(());
        }
        added.map_err(|e| {
                if e.code.as_deref() == Some("LimitExceeded") {
                    e.hint(format!("instance profile {name} already holds a role (a profile holds one): remove it first"))
                } else {
                    with_hint(e, "role", role)
                }
            })?;
        Ok(())
    }

    async fn remove_role(&self, name: &str, role: &str) -> ProviderResult<()> {
        let out = self
            .client
            .remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(role)
            .send()
            .await;
        match found(out.map_err(sdk_error)) {
            Ok(_) => Ok(()),
            // A retry after a lost answer finds the role gone (AWS says NoSuchEntity,
            // LocalStack an internal error): the profile without it is the first
            // attempt's work.
            Err(e) => match self.get(name).await {
                Ok(None) => Ok(()),
                Ok(Some(profile)) if !profile.roles().iter().any(|r| r.role_name() == role) => {
                    Ok(())
                }
                _ => Err(e),
            },
        }
    }

    async fn update_tags(&self, name: &str, prior: &Value, planned: &Value) -> ProviderResult<()> {
        let old = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new = self.ctx.tags_all(&config_tags(planned));
        let (removed, changed) = tag_changes(&old, &new);
        if !removed.is_empty() {
            let out = self
                .client
                .untag_instance_profile()
                .instance_profile_name(name)
                .set_tag_keys(Some(removed));
            out.send().await.map_err(sdk_error)?;
        }
        if !changed.is_empty() {
            let out = self
                .client
                .tag_instance_profile()
                .instance_profile_name(name)
                .set_tags(Some(to_aws_tags(&changed)?));
            out.send().await.map_err(sdk_error)?;
        }
        Ok(())
    }
}

#[async_trait]
impl ResourceType for InstanceProfileResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_name(TYPE, config, 128)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        keep_empty_values(&self.schema, prior, config, &mut planned);
        if let Some(name) = config.str_attr("name") {
            set_attr(&mut planned, "id", Value::string(name));
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
        let name = name_or_generated(&planned);
        let tags = create_tags(&self.ctx.tags_all(&config_tags(&planned)))?;
        self.client
            .create_instance_profile()
            .instance_profile_name(&name)
            .path(path_or_default(&planned))
            .set_tags(tags)
            .send()
            .await
            .map_err(|e| with_hint(sdk_error(e), "instance profile", &name))?;
        if let Some(role) = planned.str_attr("role").filter(|r| !r.is_empty()) {
            self.add_role(&name, role).await?;
        }
        let (name, planned) = (&name, &planned);
        read_after_create(&format!("instance profile {name}"), || {
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
        // "" is the provider's way of recording no role.
        let role_of = |v: &Value| {
            v.str_attr("role")
                .filter(|r| !r.is_empty())
                .map(str::to_string)
        };
        let (old_role, new_role) = (role_of(prior), role_of(&planned));
        let (old_role, new_role) = (old_role.as_deref(), new_role.as_deref());
        if old_role != new_role {
            if let Some(old) = old_role {
                self.remove_role(&name, old).await?;
            }
            if let Some(new) = new_role {
                self.add_role(&name, new).await?;
            }
        }
        self.update_tags(&name, prior, &planned).await?;
        self.read_by_name(&name, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "instance profile {name} disappeared during the update"
            ))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(name) = state.str_attr("id").or_else(|| state.str_attr("name")) else {
            return Ok(());
        };
        // A profile that still holds a role cannot be deleted: take out whatever it holds.
        let Some(profile) = self.get(name).await? else {
            return Ok(());
        };
        for role in profile.roles() {
            self.remove_role(name, role.role_name()).await?;
        }
        let request = self
            .client
            .delete_instance_profile()
            .instance_profile_name(name);
        let out = retry_delete_conflict(|| {
            let request = request.clone();
            async move { request.send().await.map_err(sdk_error) }
        })
        .await;
        found(out.map_err(|e| with_hint(e, "instance profile", name)))?;
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
        let Some(profile) = self.get(&name).await? else {
            return Ok(Finding::Absent);
        };
        let object = self.object_of(&profile, &planned).await?;
        Ok(found_by_name(
            name,
            object,
            creation_time(Some(profile.create_date())),
        ))
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_by_name(id, &Value::object([("id", Value::string(id))]))
            .await
    }
}
