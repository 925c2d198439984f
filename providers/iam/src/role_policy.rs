//! `aws_iam_role_policy`: an inline policy embedded in a role.

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::policy::{legacy_policy_normalize, policy_for_state};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{
    check_name, check_policy, client, found, keep_equivalent_policy, name_or_generated,
    name_prefix_from_name, read_after_create, replace_paths, required_str, set_attr, with_hint,
    with_propagation_retry,
};

const TYPE: &str = "aws_iam_role_policy";

pub struct RolePolicyResource {
    client: aws_sdk_iam::Client,
    schema: Schema,
}

impl RolePolicyResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("name", Attribute::optional_computed(string()).force_new())
            .attr(
                "name_prefix",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr("role", Attribute::required(string()).force_new())
            .attr("policy", Attribute::required(string()))
            .attr("id", Attribute::computed(string()));
        RolePolicyResource {
            client: client(&ctx),
            schema,
        }
    }

    async fn read_parts(
        &self,
        role: &str,
        name: &str,
        state: &Value,
    ) -> ProviderResult<Option<Value>> {
        let out = self
            .client
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await;
        let Some(out) = found(out.map_err(sdk_error))? else {
            return Ok(None);
        };
        let policy = policy_for_state(state.str_attr("policy"), out.policy_document());
        Ok(Some(Value::object([
            ("id", Value::String(format!("{role}:{name}"))),
            ("role", Value::string(role)),
            ("name", Value::string(name)),
            (
                "name_prefix",
                Value::String(name_prefix_from_name(name, "")),
            ),
            ("policy", Value::String(policy)),
        ])))
    }

    async fn put(&self, role: &str, name: &str, document: &str) -> ProviderResult<()> {
        let request = self
            .client
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document);
        // A role created a moment ago may not be known to IAM yet.
        with_propagation_retry(|| {
            let request = request.clone();
            async move { request.send().await.map_err(sdk_error) }
        })
        .await
        .map_err(|e| with_hint(e, "role policy", name))?;
        Ok(())
    }
}

/// The planned values with the document in the provider's legacy IAM spelling, which it
/// sends and records (its plan keeps the configuration's spelling when equivalent).
fn with_legacy_policy(mut planned: Value) -> Value {
    if let Some(doc) = planned.str_attr("policy") {
        let doc = legacy_policy_normalize(doc);
        set_attr(&mut planned, "policy", Value::String(doc));
    }
    planned
}

/// Splits Terraform's id `<role>:<name>`.
pub fn parse_id(id: &str) -> ProviderResult<(&str, &str)> {
    match id.split_once(':') {
        Some((role, name)) if !role.is_empty() && !name.is_empty() => Ok((role, name)),
        _ => Err(
            ProviderError::new(format!("{TYPE}: id {id:?} is not <role>:<policy name>"))
                .hint("write it as role-name:policy-name"),
        ),
    }
}

#[async_trait]
impl ResourceType for RolePolicyResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_policy(TYPE, config, "policy")?;
        check_name(TYPE, config, 128)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        if let (Some(role), Some(name)) = (planned.str_attr("role"), planned.str_attr("name")) {
            let id = format!("{role}:{name}");
            set_attr(&mut planned, "id", Value::String(id));
        }
        keep_equivalent_policy(&mut planned, prior, "policy");
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = with_legacy_policy(planned.deep_unmarked());
        let role = required_str(&planned, "role", TYPE)?;
        let name = name_or_generated(&planned);
        self.put(role, &name, required_str(&planned, "policy", TYPE)?)
            .await?;
        let (name, planned) = (&name, &planned);
        read_after_create(&format!("inline policy {role}:{name}"), || {
            self.read_parts(role, name, planned)
        })
        .await
    }

    /// A PutRolePolicy is a put: the inline policy the configured role holds under the
    /// configured name is what an unrecorded create left.
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &forge_provider::CreateIntent,
    ) -> ProviderResult<forge_provider::Finding> {
        use forge_aws_common::adoption::{configured_name, found_by_name};
        let planned = planned.deep_unmarked();
        let (Some(role), Some(name)) = (
            configured_name(&planned, "role"),
            configured_name(&planned, "name"),
        ) else {
            return Ok(forge_provider::Finding::CannotTell);
        };
        let object = self.read_parts(&role, &name, &planned).await?;
        Ok(found_by_name(format!("{role}:{name}"), object, None))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(id) = state.str_attr("id") else {
            return Ok(None);
        };
        let (role, name) = parse_id(id)?;
        self.read_parts(role, name, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = with_legacy_policy(planned.deep_unmarked());
        let (role, name) = parse_id(required_str(prior, "id", TYPE)?)?;
        self.put(role, name, required_str(&planned, "policy", TYPE)?)
            .await?;
        self.read_parts(role, name, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "inline policy {role}:{name} disappeared during the update"
            ))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        let (role, name) = parse_id(id)?;
        let out = self
            .client
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await;
        found(out.map_err(sdk_error))?;
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let (role, name) = parse_id(id)?;
        self.read_parts(role, name, &Value::object([("id", Value::string(id))]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_role_colon_name() {
        assert_eq!(parse_id("app:read-only").unwrap(), ("app", "read-only"));
        assert!(parse_id("app").is_err());
        assert!(parse_id(":x").is_err());
    }
}
