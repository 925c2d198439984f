//! `aws_iam_policy`: a customer managed policy. Changing the document adds a version and
//! makes it the default; IAM keeps at most five, so the oldest non-default one goes first.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::types::PolicyVersion;
use forge_aws_common::adoption::{configured_name, creation_time, found_by_name};
use forge_aws_common::policy::policy_for_state;
use forge_aws_common::{AwsContext, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    check_name, check_policy, client, config_tags, create_tags, description_value, found,
    keep_empty_values, keep_equivalent_policy, name_or_generated, name_prefix_from_name,
    opt_string, path_or_default, plan_tags_all, read_after_create, replace_paths, required_str,
    retry_delete_conflict, tag_changes, tags_from_aws, tags_state, to_aws_tags, with_hint,
};

const TYPE: &str = "aws_iam_policy";
/// IAM's limit on stored versions of one managed policy.
pub const MAX_POLICY_VERSIONS: usize = 5;

pub struct PolicyResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_iam::Client,
    schema: Schema,
}

impl PolicyResource {
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
            .attr("description", Attribute::optional(string()).force_new())
            .attr("policy", Attribute::required(string()))
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
            .attr("policy_id", Attribute::computed(string()))
            .attr("attachment_count", Attribute::computed(AttrType::Number));
        let client = client(&ctx);
        PolicyResource {
            ctx,
            client,
            schema,
        }
    }

    async fn read_by_arn(&self, arn: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let got = found(
            self.client
                .get_policy()
                .policy_arn(arn)
                .send()
                .await
                .map_err(sdk_error),
        )?;
        let Some(policy) = got.and_then(|o| o.policy().cloned()) else {
            return Ok(None);
        };
        let version_id = policy.default_version_id().unwrap_or("v1");
        // The document is the policy's default version; the tags come with GetPolicy, as
        // the provider reads them.
        let version = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version_id)
            .send()
            .await;
        let Some(version) = found(version.map_err(sdk_error))? else {
            return Ok(None);
        };
        let document = version
            .policy_version()
            .and_then(PolicyVersion::document)
            .map(|live| Value::String(policy_for_state(state.str_attr("policy"), live)))
            .unwrap_or(Value::Null);
        let live_tags = tags_from_aws(policy.tags());
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &live_tags,
        );
        let description = description_value(policy.description(), state);
        Ok(Some(Value::object([
            ("id", Value::string(arn)),
            ("arn", Value::string(policy.arn().unwrap_or(arn))),
            ("name", opt_string(policy.policy_name())),
            (
                "name_prefix",
                Value::String(name_prefix_from_name(
                    policy.policy_name().unwrap_or(""),
                    "",
                )),
            ),
            ("path", Value::string(policy.path().unwrap_or("/"))),
            ("description", description),
            ("policy", document),
            ("tags", tags),
            ("tags_all", tags_all),
            ("policy_id", opt_string(policy.policy_id())),
            (
                "attachment_count",
                Value::Number(f64::from(policy.attachment_count().unwrap_or(0))),
            ),
        ])))
    }

    async fn versions(&self, arn: &str) -> ProviderResult<Vec<PolicyVersion>> {
        let mut versions = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_policy_versions()
                .policy_arn(arn)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(sdk_error)?;
            versions.extend(out.versions().iter().cloned());
            match out.marker() {
                Some(m) if out.is_truncated() => marker = Some(m.to_string()),
                _ => return Ok(versions),
            }
        }
    }

    async fn delete_version(&self, arn: &str, version_id: &str) -> ProviderResult<()> {
        let out = self
            .client
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(version_id)
            .send()
            .await;
        found(out.map_err(sdk_error)).map(|_| ())
    }

    async fn publish_new_version(&self, arn: &str, document: &str) -> ProviderResult<()> {
        let versions = self.versions(arn).await?;
        if versions.len() >= MAX_POLICY_VERSIONS
            && let Some(oldest) = oldest_non_default(&versions)
        {
            self.delete_version(arn, &oldest).await?;
        }
        self.client
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(document)
            .set_as_default(true)
            .send()
            .await
            .map_err(|e| with_hint(sdk_error(e), "policy", arn))?;
        Ok(())
    }

    async fn update_tags(&self, arn: &str, prior: &Value, planned: &Value) -> ProviderResult<()> {
        let old = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new = self.ctx.tags_all(&config_tags(planned));
        let (removed, changed) = tag_changes(&old, &new);
        if !removed.is_empty() {
            self.client
                .untag_policy()
                .policy_arn(arn)
                .set_tag_keys(Some(removed))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if !changed.is_empty() {
            let tags = to_aws_tags(&changed)?;
            self.client
                .tag_policy()
                .policy_arn(arn)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }
}

/// The version to drop when the policy is full: the oldest that is not the default (by
/// creation date, then by version number for emulators that give no dates).
pub fn oldest_non_default(versions: &[PolicyVersion]) -> Option<String> {
    let number = |v: &PolicyVersion| {
        v.version_id()
            .and_then(|id| id.trim_start_matches('v').parse::<u64>().ok())
    };
    versions
        .iter()
        .filter(|v| !v.is_default_version())
        .min_by_key(|v| {
            (
                v.create_date().map(|d| (d.secs(), d.subsec_nanos())),
                number(v),
            )
        })
        .and_then(|v| v.version_id().map(str::to_string))
}

#[async_trait]
impl ResourceType for PolicyResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_policy(TYPE, config, "policy")?;
        check_name(TYPE, config, 128)?;
        if config.get_non_null("name").is_some() && config.get_non_null("name_prefix").is_some() {
            return Err(
                ProviderError::new(format!("{TYPE}: `name` and `name_prefix` conflict"))
                    .hint("set only one of them"),
            );
        }
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        keep_empty_values(&self.schema, prior, config, &mut planned);
        keep_equivalent_policy(&mut planned, prior, "policy");
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
        let document = required_str(&planned, "policy", TYPE)?;
        let tags = create_tags(&self.ctx.tags_all(&config_tags(&planned)))?;
        let out = self
            .client
            .create_policy()
            .policy_name(&name)
            .path(path_or_default(&planned))
            .policy_document(document)
            .set_description(planned.str_attr("description").map(str::to_string))
            .set_tags(tags)
            .send()
            .await
            .map_err(|e| with_hint(sdk_error(e), "policy", &name))?;
        let arn = out
            .policy()
            .and_then(|p| p.arn())
            .ok_or_else(|| {
                ProviderError::new(format!("IAM CreatePolicy for {name} returned no ARN"))
            })?
            .to_string();
        let (arn, planned) = (&arn, &planned);
        read_after_create(&format!("IAM policy {arn}"), || {
            self.read_by_arn(arn, planned)
        })
        .await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(arn) = state.str_attr("id").or_else(|| state.str_attr("arn")) else {
            return Ok(None);
        };
        self.read_by_arn(arn, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let arn = required_str(prior, "id", TYPE)?.to_string();
        let document = required_str(&planned, "policy", TYPE)?;
        if prior.str_attr("policy") != Some(document) {
            self.publish_new_version(&arn, document).await?;
        }
        self.update_tags(&arn, prior, &planned).await?;
        self.read_by_arn(&arn, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!("IAM policy {arn} disappeared during the update"))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(arn) = state.str_attr("id").or_else(|| state.str_attr("arn")) else {
            return Ok(());
        };
        // IAM refuses to delete a policy that still has non-default versions.
        let Some(versions) = found(self.versions(arn).await)? else {
            return Ok(());
        };
        for version in versions.iter().filter(|v| !v.is_default_version()) {
            if let Some(id) = version.version_id() {
                self.delete_version(arn, id).await?;
            }
        }
        let request = self.client.delete_policy().policy_arn(arn);
        let out = retry_delete_conflict(|| {
            let request = request.clone();
            async move { request.send().await.map_err(sdk_error) }
        })
        .await;
        found(out.map_err(|e| with_hint(e, "policy", arn)))?;
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
        // A policy is read by its ARN, which holds the account: look it up by path and
        // name among this account's own policies.
        let path = path_or_default(&planned);
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_policies()
                .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                .path_prefix(&path)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(sdk_error)?;
            let hit = out.policies().iter().find(|p| {
                p.policy_name() == Some(name.as_str()) && p.path() == Some(path.as_str())
            });
            if let Some(policy) = hit {
                let Some(arn) = policy.arn() else {
                    return Ok(Finding::Absent);
                };
                let object = self.read_by_arn(arn, &planned).await?;
                return Ok(found_by_name(
                    arn,
                    object,
                    creation_time(policy.create_date()),
                ));
            }
            match out.marker() {
                Some(m) if out.is_truncated() => marker = Some(m.to_string()),
                _ => return Ok(Finding::Absent),
            }
        }
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        if !id.starts_with("arn:") {
            return Err(ProviderError::new(format!(
                "{TYPE}: import id {id:?} is not a policy ARN"
            ))
            .hint(
                "import an IAM policy by its ARN, such as arn:aws:iam::123456789012:policy/name",
            ));
        }
        self.read_by_arn(id, &Value::object([("id", Value::string(id))]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, default: bool, secs: i64) -> PolicyVersion {
        PolicyVersion::builder()
            .version_id(id)
            .is_default_version(default)
            .create_date(aws_smithy_types::DateTime::from_secs(secs))
            .build()
    }

    #[test]
    fn oldest_non_default_skips_the_default() {
        let versions = vec![
            version("v1", true, 10),
            version("v2", false, 20),
            version("v3", false, 30),
        ];
        assert_eq!(oldest_non_default(&versions).as_deref(), Some("v2"));
        assert_eq!(oldest_non_default(&[version("v1", true, 1)]), None);
    }
}
