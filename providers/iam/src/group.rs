//! `aws_iam_group`: an IAM group, renamed and moved in place. It has no tags (IAM groups
//! take none) and the provider deletes it as it is: members, attached and inline
//! policies are the business of the resources that manage them.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::types::Group;
use forge_aws_common::adoption::{configured_name, creation_time, found_by_name};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    check_name, client, found, is_not_found, keep_empty_values, path_or_default, read_after_create,
    replace_paths, required_str, retry_delete_conflict, set_attr, with_hint,
};

const TYPE: &str = "aws_iam_group";

pub struct GroupResource {
    client: aws_sdk_iam::Client,
    schema: Schema,
}

impl GroupResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("name", Attribute::required(string()))
            .attr(
                "path",
                Attribute::optional(string()).default(Value::string("/")),
            )
            .attr("id", Attribute::computed(string()))
            .attr("arn", Attribute::computed(string()))
            .attr("unique_id", Attribute::computed(string()));
        GroupResource {
            client: client(&ctx),
            schema,
        }
    }

    /// The group, without its member list (one page of GetGroup suffices).
    async fn get_group(&self, name: &str) -> ProviderResult<Option<Group>> {
        let out = self
            .client
            .get_group()
            .group_name(name)
            .max_items(1)
            .send()
            .await;
        Ok(found(out.map_err(sdk_error))?.and_then(|o| o.group().cloned()))
    }

    async fn read_by_name(&self, name: &str) -> ProviderResult<Option<Value>> {
        Ok(self.get_group(name).await?.map(|g| object_of(&g)))
    }
}

/// The state object of a group as IAM describes it.
fn object_of(group: &Group) -> Value {
    Value::object([
        ("id", Value::string(group.group_name())),
        ("name", Value::string(group.group_name())),
        ("path", Value::string(group.path())),
        ("arn", Value::string(group.arn())),
        ("unique_id", Value::string(group.group_id())),
    ])
}

#[async_trait]
impl ResourceType for GroupResource {
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
        // As the provider's plan: a rename or a move makes the ARN unknown.
        if let Some(prior) = prior {
            let moved = ["name", "path"].iter().any(|a| {
                !prior
                    .get(a)
                    .unwrap_or(&Value::Null)
                    .same_as(planned.get(a).unwrap_or(&Value::Null))
            });
            if moved {
                set_attr(&mut planned, "arn", Value::Unknown);
            }
        }
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let name = required_str(&planned, "name", TYPE)?;
        self.client
            .create_group()
            .group_name(name)
            .path(path_or_default(&planned))
            .send()
            .await
            .map_err(|e| with_hint(sdk_error(e), "group", name))?;
        read_after_create(&format!("IAM group {name}"), || self.read_by_name(name)).await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(name) = state.str_attr("id").or_else(|| state.str_attr("name")) else {
            return Ok(None);
        };
        self.read_by_name(name).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let old_name = required_str(prior, "id", TYPE)?;
        let new_name = required_str(&planned, "name", TYPE)?;
        let path = path_or_default(&planned);
        if old_name == new_name && prior.str_attr("path") == Some(path.as_str()) {
            return self.read_by_name(new_name).await?.ok_or_else(|| {
                ProviderError::new(format!(
                    "IAM group {new_name} disappeared during the update"
                ))
            });
        }
        let out = self
            .client
            .update_group()
            .group_name(old_name)
            .new_group_name(new_name)
            .new_path(&path)
            .send()
            .await;
        // A retry after a lost answer finds the old name gone and the new one there.
        if let Err(e) = out.map_err(sdk_error) {
            let done = old_name != new_name
                && is_not_found(&e)
                && self
                    .get_group(new_name)
                    .await?
                    .is_some_and(|g| g.path() == path);
            if !done {
                return Err(with_hint(e, "group", new_name));
            }
        }
        self.read_by_name(new_name).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "IAM group {new_name} disappeared during the update"
            ))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(name) = state.str_attr("id").or_else(|| state.str_attr("name")) else {
            return Ok(());
        };
        let request = self.client.delete_group().group_name(name);
        // Right after its members or policies were removed IAM may still count them.
        let out = retry_delete_conflict(|| {
            let request = request.clone();
            async move { request.send().await.map_err(sdk_error) }
        })
        .await;
        found(out.map_err(|e| with_hint(e, "group", name)))?;
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
        let Some(group) = self.get_group(&name).await? else {
            return Ok(Finding::Absent);
        };
        Ok(found_by_name(
            name,
            Some(object_of(&group)),
            creation_time(Some(group.create_date())),
        ))
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_by_name(id).await
    }
}
