//! `aws_iam_user_policy_attachment` and `aws_iam_group_policy_attachment`: one managed
//! policy attached to one user or one group. The two types differ only in the principal
//! (its attribute name and IAM's calls), so one implementation serves both.

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{
    all_pages, client, found, next_marker, replace_paths, required_str, with_hint,
    with_propagation_retry,
};

/// Whom the policy is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Principal {
    User,
    Group,
}

impl Principal {
    /// The configuration attribute naming the principal (`user`, `group`).
    pub fn attribute(self) -> &'static str {
        match self {
            Principal::User => "user",
            Principal::Group => "group",
        }
    }

    pub fn type_name(self) -> &'static str {
        match self {
            Principal::User => "aws_iam_user_policy_attachment",
            Principal::Group => "aws_iam_group_policy_attachment",
        }
    }
}

pub struct PrincipalPolicyAttachmentResource {
    principal: Principal,
    client: aws_sdk_iam::Client,
    schema: Schema,
}

impl PrincipalPolicyAttachmentResource {
    pub fn new(ctx: Arc<AwsContext>, principal: Principal) -> Self {
        let schema = Schema::new()
            .attr(
                principal.attribute(),
                Attribute::required(AttrType::String).force_new(),
            )
            .attr(
                "policy_arn",
                Attribute::required(AttrType::String).force_new(),
            )
            .attr("id", Attribute::computed(AttrType::String));
        PrincipalPolicyAttachmentResource {
            principal,
            client: client(&ctx),
            schema,
        }
    }

    pub fn user(ctx: Arc<AwsContext>) -> Self {
        Self::new(ctx, Principal::User)
    }

    pub fn group(ctx: Arc<AwsContext>) -> Self {
        Self::new(ctx, Principal::Group)
    }

    /// Whether `policy_arn` is attached to `name`; `None` when the principal is gone.
    async fn is_attached(&self, name: &str, policy_arn: &str) -> ProviderResult<Option<bool>> {
        let c = &self.client;
        let principal = self.principal;
        let arns = all_pages(|marker| async move {
            let (arns, next) = match principal {
                Principal::User => {
                    let out = c.list_attached_user_policies().user_name(name);
                    let out = out.set_marker(marker).send().await.map_err(sdk_error)?;
                    (
                        arns_of(out.attached_policies()),
                        next_marker(out.is_truncated(), out.marker()),
                    )
                }
                Principal::Group => {
                    let out = c.list_attached_group_policies().group_name(name);
                    let out = out.set_marker(marker).send().await.map_err(sdk_error)?;
                    (
                        arns_of(out.attached_policies()),
                        next_marker(out.is_truncated(), out.marker()),
                    )
                }
            };
            Ok((arns, next))
        })
        .await;
        Ok(found(arns)?.map(|arns| arns.iter().any(|a| a == policy_arn)))
    }

    async fn attach(&self, name: &str, policy_arn: &str) -> ProviderResult<()> {
        match self.principal {
            Principal::User => {
                let out = self.client.attach_user_policy().user_name(name);
                out.policy_arn(policy_arn).send().await.map_err(sdk_error)?;
            }
            Principal::Group => {
                let out = self.client.attach_group_policy().group_name(name);
                out.policy_arn(policy_arn).send().await.map_err(sdk_error)?;
            }
        }
        Ok(())
    }

    async fn detach(&self, name: &str, policy_arn: &str) -> ProviderResult<()> {
        let out = match self.principal {
            Principal::User => {
                let out = self.client.detach_user_policy().user_name(name);
                out.policy_arn(policy_arn)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            }
            Principal::Group => {
                let out = self.client.detach_group_policy().group_name(name);
                out.policy_arn(policy_arn)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            }
        };
        // Detaching what is not attached (or from a principal that is gone) succeeds.
        found(out).map(|_| ())
    }

    fn state(&self, name: &str, policy_arn: &str, id: String) -> Value {
        Value::object([
            (self.principal.attribute(), Value::string(name)),
            ("policy_arn", Value::string(policy_arn)),
            ("id", Value::String(id)),
        ])
    }
}

fn arns_of(policies: &[aws_sdk_iam::types::AttachedPolicy]) -> Vec<String> {
    policies
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect()
}

/// Splits an import id `<principal>/<policy_arn>`: user and group names cannot contain
/// '/', ARNs can.
pub fn parse_import_id(principal: Principal, id: &str) -> ProviderResult<(&str, &str)> {
    match id.split_once('/') {
        Some((name, arn)) if !name.is_empty() && arn.starts_with("arn:") => Ok((name, arn)),
        _ => {
            let who = principal.attribute();
            Err(ProviderError::new(format!(
                "{}: import id {id:?} is not <{who}-name>/<policy_arn>",
                principal.type_name()
            ))
            .hint(format!(
                "write it as {who}-name/arn:aws:iam::123456789012:policy/name"
            )))
        }
    }
}

#[async_trait]
impl ResourceType for PrincipalPolicyAttachmentResource {
    fn type_name(&self) -> &'static str {
        self.principal.type_name()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        if let Some(arn) = config.str_attr("policy_arn")
            && !arn.starts_with("arn:")
        {
            return Err(ProviderError::new(format!(
                "{}: policy_arn {arn:?} is not an ARN",
                self.type_name()
            ))
            .hint("use the policy's arn attribute, such as aws_iam_policy.x.arn"));
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
        let who = self.principal.attribute();
        let name = required_str(&planned, who, self.type_name())?;
        let arn = required_str(&planned, "policy_arn", self.type_name())?;
        // A user, group or policy created a moment ago may not be known to IAM yet.
        // Attaching what is attached succeeds, so a create whose answer was lost may
        // simply run again.
        with_propagation_retry(|| self.attach(name, arn))
            .await
            .map_err(|e| with_hint(e, &format!("{who} or policy"), name))?;
        // Terraform's id: the principal's name, a dash and a unique suffix.
        let id = forge_aws_common::naming::prefixed_unique_name(Some(&format!("{name}-")));
        Ok(self.state(name, arn, id))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let who = self.principal.attribute();
        let (Some(name), Some(arn)) = (state.str_attr(who), state.str_attr("policy_arn")) else {
            return Ok(None);
        };
        match self.is_attached(name, arn).await? {
            Some(true) => Ok(Some(state.deep_unmarked())),
            _ => Ok(None),
        }
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        // Both arguments force replacement, so there is nothing to change in place.
        Ok(planned.deep_unmarked())
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let who = self.principal.attribute();
        let (Some(name), Some(arn)) = (state.str_attr(who), state.str_attr("policy_arn")) else {
            return Ok(());
        };
        self.detach(name, arn).await
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let (name, arn) = parse_import_id(self.principal, id)?;
        match self.is_attached(name, arn).await? {
            // The provider's importer records `<name>-<policy_arn>` as the id.
            Some(true) => Ok(Some(self.state(name, arn, format!("{name}-{arn}")))),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_id_splits_at_the_first_slash_and_names_the_principal() {
        let (user, arn) =
            parse_import_id(Principal::User, "dev/arn:aws:iam::1:policy/team/p").unwrap();
        assert_eq!(user, "dev");
        assert_eq!(arn, "arn:aws:iam::1:policy/team/p");
        let err = parse_import_id(Principal::Group, "ops").unwrap_err();
        assert!(
            err.message.contains("aws_iam_group_policy_attachment")
                && err.message.contains("<group-name>/<policy_arn>"),
            "{err}"
        );
        assert!(parse_import_id(Principal::User, "dev/not-an-arn").is_err());
        assert!(parse_import_id(Principal::User, "/arn:aws:iam::1:policy/p").is_err());
    }
}
