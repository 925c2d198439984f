//! `aws_iam_group_membership`: the whole member list of one IAM group. As in the
//! provider, it is exclusive: read records every member the group has, so a user added
//! outside forge shows as drift and the next apply takes it out again.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{
    all_pages, client, found, next_marker, replace_paths, required_str, set_attr, with_hint,
    with_propagation_retry,
};

const TYPE: &str = "aws_iam_group_membership";

pub struct GroupMembershipResource {
    client: aws_sdk_iam::Client,
    schema: Schema,
}

impl GroupMembershipResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("name", Attribute::required(string()).force_new())
            .attr("group", Attribute::required(string()).force_new())
            .attr(
                "users",
                Attribute::required(AttrType::Set(Box::new(string()))),
            )
            .attr("id", Attribute::computed(string()));
        GroupMembershipResource {
            client: client(&ctx),
            schema,
        }
    }

    /// The group's members; `None` when the group is gone.
    async fn members(&self, group: &str) -> ProviderResult<Option<BTreeSet<String>>> {
        let users = all_pages(|marker| async move {
            let out = self.client.get_group().group_name(group).set_marker(marker);
            let out = out.send().await.map_err(sdk_error)?;
            let next = next_marker(out.is_truncated(), out.marker());
            let names = out.users().iter().map(|u| u.user_name().to_string());
            Ok((names.collect::<Vec<_>>(), next))
        })
        .await;
        Ok(found(users)?.map(|u| u.into_iter().collect()))
    }

    async fn add(&self, group: &str, user: &str) -> ProviderResult<()> {
        // A user or group created a moment ago may not be known to IAM yet; adding a
        // member the group already has succeeds.
        let request = self
            .client
            .add_user_to_group()
            .group_name(group)
            .user_name(user);
        with_propagation_retry(|| {
            let request = request.clone();
            async move { request.send().await.map_err(sdk_error) }
        })
        .await
        .map_err(|e| with_hint(e, "user or group", user))?;
        Ok(())
    }

    async fn remove(&self, group: &str, user: &str) -> ProviderResult<()> {
        let out = self
            .client
            .remove_user_from_group()
            .group_name(group)
            .user_name(user)
            .send()
            .await;
        // A user already out of the group (or gone) is what a removal wants.
        found(out.map_err(sdk_error))?;
        Ok(())
    }

    /// The state: the configuration-only `name` and `id` from `state`, the members live.
    async fn read_members(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let (Some(name), Some(group)) = (state.str_attr("name"), state.str_attr("group")) else {
            return Ok(None);
        };
        let Some(members) = self.members(group).await? else {
            return Ok(None);
        };
        Ok(Some(Value::object([
            ("id", Value::string(name)),
            ("name", Value::string(name)),
            ("group", Value::string(group)),
            (
                "users",
                Value::Set(members.into_iter().map(Value::String).collect()),
            ),
        ])))
    }
}

/// The user names of a `users` set.
fn user_set(v: &Value) -> BTreeSet<String> {
    v.get("users")
        .and_then(Value::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|u| u.as_str().map(str::to_string))
        .collect()
}

#[async_trait]
impl ResourceType for GroupMembershipResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        if let Some(name) = config.str_attr("name") {
            set_attr(&mut planned, "id", Value::string(name));
        }
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let group = required_str(&planned, "group", TYPE)?;
        for user in user_set(&planned) {
            self.add(group, &user).await?;
        }
        self.read_members(&planned).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "{TYPE}: IAM group {group} vanished while its members were added"
            ))
            .hint("something outside forge may have deleted it; run the plan again")
        })
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        self.read_members(state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let group = required_str(&planned, "group", TYPE)?;
        let (before, after) = (user_set(prior), user_set(&planned));
        for user in before.difference(&after) {
            self.remove(group, user).await?;
        }
        for user in after.difference(&before) {
            self.add(group, user).await?;
        }
        self.read_members(&planned).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "{TYPE}: IAM group {group} disappeared during the update"
            ))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(group) = state.str_attr("group") else {
            return Ok(());
        };
        // Only the members this resource records: the provider removes those.
        for user in user_set(state) {
            self.remove(group, &user).await?;
        }
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        Err(ProviderError::new(format!(
            "{TYPE} cannot be imported (the provider has no import for it); asked for {id:?}"
        ))
        .hint("let forge create it: adding users the group already has changes nothing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_read_as_a_set_of_names() {
        let v = Value::object([(
            "users",
            Value::Set(vec![Value::string("b"), Value::string("a")]),
        )]);
        assert_eq!(
            user_set(&v).into_iter().collect::<Vec<_>>(),
            vec!["a".to_string(), "b".to_string()]
        );
        assert!(user_set(&Value::object([("users", Value::Null)])).is_empty());
    }
}
