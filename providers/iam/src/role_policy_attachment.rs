//! `aws_iam_role_policy_attachment`: one managed policy attached to one role.

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{
    client, found, replace_paths, required_str, with_hint, with_propagation_retry,
};

const TYPE: &str = "aws_iam_role_policy_attachment";

pub struct RolePolicyAttachmentResource {
    client: aws_sdk_iam::Client,
    schema: Schema,
}

impl RolePolicyAttachmentResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let schema = Schema::new()
            .attr("role", Attribute::required(AttrType::String).force_new())
            .attr(
                "policy_arn",
                Attribute::required(AttrType::String).force_new(),
            )
            .attr("id", Attribute::computed(AttrType::String));
        RolePolicyAttachmentResource {
            client: client(&ctx),
            schema,
        }
    }

    async fn is_attached(&self, role: &str, policy_arn: &str) -> ProviderResult<Option<bool>> {
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_attached_role_policies()
                .role_name(role)
                .set_marker(marker.clone())
                .send()
                .await;
            let Some(out) = found(out.map_err(sdk_error))? else {
                return Ok(None);
            };
            if out
                .attached_policies()
                .iter()
                .any(|p| p.policy_arn() == Some(policy_arn))
            {
                return Ok(Some(true));
            }
            match out.marker() {
                Some(m) if out.is_truncated() => marker = Some(m.to_string()),
                _ => return Ok(Some(false)),
            }
        }
    }
}

/// Splits an import id `<role>/<policy_arn>`; role names cannot contain '/', ARNs can.
pub fn parse_import_id(id: &str) -> ProviderResult<(&str, &str)> {
    match id.split_once('/') {
        Some((role, arn)) if !role.is_empty() && arn.starts_with("arn:") => Ok((role, arn)),
        _ => Err(ProviderError::new(format!(
            "{TYPE}: import id {id:?} is not <role>/<policy_arn>"
        ))
        .hint("write it as role-name/arn:aws:iam::123456789012:policy/name")),
    }
}

#[async_trait]
impl ResourceType for RolePolicyAttachmentResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        if let Some(arn) = config.str_attr("policy_arn")
            && !arn.starts_with("arn:")
        {
            return Err(
                ProviderError::new(format!("{TYPE}: policy_arn {arn:?} is not an ARN"))
                    .hint("use the policy's arn attribute, such as aws_iam_policy.x.arn"),
            );
        }
        let planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let role = required_str(&planned, "role", TYPE)?;
        let arn = required_str(&planned, "policy_arn", TYPE)?;
        let request = self
            .client
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn);
        // A role or policy created a moment ago may not be known to IAM yet.
        with_propagation_retry(|| {
            let request = request.clone();
            async move { request.send().await.map_err(sdk_error) }
        })
        .await
        .map_err(|e| with_hint(e, "role or policy", role))?;
        // Terraform's id: the role name, a dash and a unique suffix.
        let id = forge_aws_common::naming::prefixed_unique_name(Some(&format!("{role}-")));
        Ok(Value::object([
            ("role", Value::string(role)),
            ("policy_arn", Value::string(arn)),
            ("id", Value::String(id)),
        ]))
    }

    /// An attach is a put: a policy attached to the configured role is what an
    /// unrecorded create left (with a fresh id, as the create would have made).
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &forge_provider::CreateIntent,
    ) -> ProviderResult<forge_provider::Finding> {
        use forge_aws_common::adoption::{configured_name, found_by_name};
        let planned = planned.deep_unmarked();
        let (Some(role), Some(arn)) = (
            configured_name(&planned, "role"),
            configured_name(&planned, "policy_arn"),
        ) else {
            return Ok(forge_provider::Finding::CannotTell);
        };
        let attached = self.is_attached(&role, &arn).await? == Some(true);
        let id = forge_aws_common::naming::prefixed_unique_name(Some(&format!("{role}-")));
        let object = Value::object([
            ("role", Value::string(&role)),
            ("policy_arn", Value::string(&arn)),
            ("id", Value::string(&id)),
        ]);
        Ok(found_by_name(id, attached.then_some(object), None))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let (Some(role), Some(arn)) = (state.str_attr("role"), state.str_attr("policy_arn")) else {
            return Ok(None);
        };
        match self.is_attached(role, arn).await? {
            Some(true) => Ok(Some(state.deep_unmarked())),
            _ => Ok(None),
        }
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        // Both arguments force replacement, so there is nothing to change in place.
        Ok(planned.deep_unmarked())
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let (Some(role), Some(arn)) = (state.str_attr("role"), state.str_attr("policy_arn")) else {
            return Ok(());
        };
        let out = self
            .client
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await;
        found(out.map_err(sdk_error))?;
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let (role, arn) = parse_import_id(id)?;
        match self.is_attached(role, arn).await? {
            Some(true) => Ok(Some(Value::object([
                ("role", Value::string(role)),
                ("policy_arn", Value::string(arn)),
                ("id", Value::string(id)),
            ]))),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_id_splits_at_the_first_slash() {
        let (role, arn) = parse_import_id("app/arn:aws:iam::1:policy/team/p").unwrap();
        assert_eq!(role, "app");
        assert_eq!(arn, "arn:aws:iam::1:policy/team/p");
        assert!(parse_import_id("app").is_err());
        assert!(parse_import_id("app/not-an-arn").is_err());
    }
}
