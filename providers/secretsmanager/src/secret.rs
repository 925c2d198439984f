//! `aws_secretsmanager_secret`: the secret's metadata (its value is a secret version).
//!
//! Deleting schedules the deletion after `recovery_window_in_days` (0 deletes at once);
//! a secret scheduled for deletion reads as gone, as in Terraform.

use std::sync::Arc;

use async_trait::async_trait;
use forge_aws_common::adoption::{configured_name, creation_time, found_by_name};
use forge_aws_common::policy::{policies_equivalent, policy_for_state, validate_policy_json};
use forge_aws_common::{AwsContext, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    client, config_tags, description_value, found, is_not_found, is_scheduled_for_deletion,
    keep_empty_values, name_prefix_from_name, opt_string, plan_tags_all, replace_paths,
    required_str, set_attr, tags_from_aws, tags_state, to_aws_tags,
};

/// The provider's `replica` block (a set): forge refuses it in configuration and
/// records `[]`, as the provider does for a secret without replicas.
fn replica_block() -> forge_provider::BlockType {
    let computed = || Attribute::computed(AttrType::String);
    forge_provider::BlockType {
        schema: Schema::new()
            .attr("kms_key_id", Attribute::optional_computed(AttrType::String))
            .attr("last_accessed_date", computed())
            .attr("region", Attribute::required(AttrType::String))
            .attr("status", computed())
            .attr("status_message", computed()),
        unordered: true,
        ..Default::default()
    }
}

const TYPE: &str = "aws_secretsmanager_secret";
const DEFAULT_RECOVERY_WINDOW: f64 = 30.0;

pub struct SecretResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_secretsmanager::Client,
    schema: Schema,
}

impl SecretResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("name", Attribute::optional_computed(string()).force_new())
            .attr(
                "name_prefix",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr("description", Attribute::optional(string()))
            .attr("kms_key_id", Attribute::optional(string()))
            // Optional and computed as in Terraform: leaving it out keeps a policy set
            // elsewhere (an aws_secretsmanager_secret_policy); "{}" removes it.
            .attr("policy", Attribute::optional_computed(string()))
            .attr(
                "recovery_window_in_days",
                Attribute::optional(AttrType::Number)
                    .default(Value::Number(DEFAULT_RECOVERY_WINDOW)),
            )
            .attr(
                "force_overwrite_replica_secret",
                Attribute::optional(AttrType::Bool).default(Value::Bool(false)),
            )
            .block("replica", replica_block())
            .attr(
                "tags",
                Attribute::optional(AttrType::Map(Box::new(string()))),
            )
            .attr(
                "tags_all",
                Attribute::computed(AttrType::Map(Box::new(string()))),
            )
            .attr("id", Attribute::computed(string()))
            .attr("arn", Attribute::computed(string()));
        let client = client(&ctx);
        SecretResource {
            ctx,
            client,
            schema,
        }
    }

    /// The live secret as state; `state` gives the configuration-only arguments and the
    /// spelling of an equivalent policy.
    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let described = found(
            self.client
                .describe_secret()
                .secret_id(id)
                .send()
                .await
                .map_err(sdk_error),
        )?;
        let Some(secret) = described else {
            return Ok(None);
        };
        if secret.deleted_date().is_some() {
            return Ok(None);
        }
        let arn = secret.arn().unwrap_or(id).to_string();
        let policy = found(
            self.client
                .get_resource_policy()
                .secret_id(&arn)
                .send()
                .await
                .map_err(sdk_error),
        )?;
        let Some(policy) = policy else {
            return Ok(None);
        };
        let policy = match policy.resource_policy().filter(|p| !is_empty_policy(p)) {
            Some(live) => Value::String(policy_for_state(state.str_attr("policy"), live)),
            // No policy: keep the configuration's way of saying so ("{}"), else the
            // provider's "".
            None => match state.str_attr("policy") {
                Some(stored) if is_empty_policy(stored) => Value::string(stored),
                _ => Value::string(""),
            },
        };
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(secret.tags()),
        );

        let recovery = state
            .get("recovery_window_in_days")
            .and_then(Value::as_f64)
            .unwrap_or(DEFAULT_RECOVERY_WINDOW);
        let overwrite = state
            .get("force_overwrite_replica_secret")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let description = description_value(secret.description(), state);
        Ok(Some(Value::object([
            ("id", Value::string(&arn)),
            ("arn", Value::string(&arn)),
            ("name", opt_string(secret.name())),
            (
                "name_prefix",
                Value::String(name_prefix_from_name(secret.name().unwrap_or(""), "")),
            ),
            ("description", description),
            (
                "kms_key_id",
                Value::string(secret.kms_key_id().unwrap_or("")),
            ),
            ("replica", Value::List(Vec::new())),
            ("policy", policy),
            ("recovery_window_in_days", Value::Number(recovery)),
            ("force_overwrite_replica_secret", Value::Bool(overwrite)),
            ("tags", tags),
            ("tags_all", tags_all),
        ])))
    }

    async fn put_policy(&self, arn: &str, policy: Option<&str>) -> ProviderResult<()> {
        match policy.filter(|p| !is_empty_policy(p)) {
            Some(policy) => {
                let out = self
                    .client
                    .put_resource_policy()
                    .secret_id(arn)
                    .resource_policy(policy)
                    .send()
                    .await;
                out.map_err(|e| {
                    let e = sdk_error(e);
                    match e.code.as_deref() {
                        Some("MalformedPolicyDocumentException") => {
                            e.hint("the policy does not parse as a resource policy: check its JSON and element names")
                        }
                        _ => e,
                    }
                })?;
            }
            None => {
                found(
                    self.client
                        .delete_resource_policy()
                        .secret_id(arn)
                        .send()
                        .await
                        .map_err(sdk_error),
                )?;
            }
        }
        Ok(())
    }

    async fn update_tags(&self, arn: &str, prior: &Value, planned: &Value) -> ProviderResult<()> {
        let old = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new = self.ctx.tags_all(&config_tags(planned));
        let removed: Vec<String> = old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .cloned()
            .collect();
        if !removed.is_empty() {
            let out = self
                .client
                .untag_resource()
                .secret_id(arn)
                .set_tag_keys(Some(removed))
                .send()
                .await;
            out.map_err(sdk_error)?;
        }
        let changed: std::collections::BTreeMap<String, String> = new
            .iter()
            .filter(|(k, v)| old.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !changed.is_empty() {
            let out = self
                .client
                .tag_resource()
                .secret_id(arn)
                .set_tags(Some(to_aws_tags(&changed)))
                .send()
                .await;
            out.map_err(sdk_error)?;
        }
        Ok(())
    }
}

/// Secrets Manager's rules for names: at most 512 characters of letters, digits and
/// `/_+=.@-`. Checked at plan so the error comes before anything is created.
pub fn check_secret_name(config: &Value) -> ProviderResult<()> {
    for (attribute, max) in [("name", 512usize), ("name_prefix", 512 - 26)] {
        let Some(text) = config.str_attr(attribute) else {
            continue;
        };
        let count = text.chars().count();
        if count == 0 || count > max {
            return Err(ProviderError::new(format!(
                "{TYPE}: {attribute} is {count} characters long; it must be 1 to {max}"
            ))
            .hint(format!("shorten {attribute}")));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(*c)))
        {
            return Err(ProviderError::new(format!("{TYPE}: {attribute} {text:?} contains {bad:?}, which Secrets Manager does not allow"))
                .hint("use letters, digits and / _ + = . @ -"));
        }
    }
    if config.get_non_null("name").is_some() && config.get_non_null("name_prefix").is_some() {
        return Err(
            ProviderError::new(format!("{TYPE}: `name` and `name_prefix` conflict"))
                .hint("set only one of them"),
        );
    }
    Ok(())
}

/// "" and "{}" mean "no policy", as in Terraform.
pub fn is_empty_policy(policy: &str) -> bool {
    matches!(policy.trim(), "" | "{}")
}

/// Terraform accepts 0 (delete at once) or 7 to 30 days.
pub fn check_recovery_window(config: &Value) -> ProviderResult<()> {
    let Some(days) = config
        .get("recovery_window_in_days")
        .and_then(Value::as_f64)
    else {
        return Ok(());
    };
    if days == 0.0 || (7.0..=30.0).contains(&days) && days.fract() == 0.0 {
        Ok(())
    } else {
        Err(ProviderError::new(format!(
            "{TYPE}: recovery_window_in_days = {days} is out of range"
        ))
        .hint("use 0 to delete without recovery, or a whole number of days from 7 to 30"))
    }
}

fn create_hint(err: ProviderError, name: &str) -> ProviderError {
    if is_scheduled_for_deletion(&err) {
        return err.hint(format!(
            "a secret named {name:?} is scheduled for deletion: restore it (aws secretsmanager restore-secret \
             --secret-id {name}) and import it, wait until it is deleted, or choose another name"
        ));
    }
    match err.code.as_deref() {
        Some("ResourceExistsException") => err.hint(format!(
            "a secret named {name:?} already exists: choose another name, or import it by its ARN"
        )),
        Some("ValidationException") if name.len() > 512 => err.hint(format!(
            "secret names are at most 512 characters; {name:?} has {}",
            name.len()
        )),
        _ => err,
    }
}

/// Terraform's prefixed unique id: `<prefix>YYYYMMDDHHMMSSffff<counter:08x>`.
fn generated_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(1);
    let now = chrono::Utc::now();
    let micros = now.format("%6f").to_string();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}{}{}{n:08x}",
        now.format("%Y%m%d%H%M%S"),
        &micros[..4]
    )
}

#[async_trait]
impl ResourceType for SecretResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_recovery_window(config)?;
        check_secret_name(config)?;
        if let Some(policy) = config.str_attr("policy").filter(|p| !is_empty_policy(p)) {
            validate_policy_json("policy", policy)
                .map_err(|m| ProviderError::new(format!("{TYPE}: {m}")))?;
        }
        if config
            .get("replica")
            .and_then(Value::as_seq)
            .is_some_and(|r| !r.is_empty())
        {
            return Err(ProviderError::new(format!(
                "{TYPE}: `replica` blocks are not supported: forge does not replicate secrets to other regions"
            ))
            .hint("remove the replica blocks, or replicate the secret outside forge"));
        }
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        keep_empty_values(&self.schema, prior, config, &mut planned);
        if let (Some(configured), Some(stored)) = (
            planned.str_attr("policy"),
            prior.and_then(|p| p.str_attr("policy")),
        ) && configured != stored
            && policies_equivalent(configured, stored)
        {
            let stored = stored.to_string();
            set_attr(&mut planned, "policy", Value::String(stored));
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
        let name = match planned.str_attr("name") {
            Some(n) => n.to_string(),
            None => generated_name(planned.str_attr("name_prefix").unwrap_or("terraform-")),
        };
        let tags = self.ctx.tags_all(&config_tags(&planned));
        let out = self
            .client
            .create_secret()
            .name(&name)
            .set_description(planned.str_attr("description").map(str::to_string))
            .set_kms_key_id(planned.str_attr("kms_key_id").map(str::to_string))
            .set_tags((!tags.is_empty()).then(|| to_aws_tags(&tags)))
            .send()
            .await
            .map_err(|e| create_hint(sdk_error(e), &name))?;
        let arn = out
            .arn()
            .ok_or_else(|| ProviderError::new(format!("CreateSecret for {name} returned no ARN")))?
            .to_string();
        if planned
            .str_attr("policy")
            .is_some_and(|p| !is_empty_policy(p))
        {
            self.put_policy(&arn, planned.str_attr("policy")).await?;
        }
        self.read_by_id(&arn, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!("secret {name} vanished right after it was created"))
        })
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(id) = state.str_attr("id").or_else(|| state.str_attr("arn")) else {
            return Ok(None);
        };
        self.read_by_id(id, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let arn = required_str(prior, "id", TYPE)?.to_string();
        let changed = |attr: &str| {
            !prior
                .get(attr)
                .unwrap_or(&Value::Null)
                .same_as(planned.get(attr).unwrap_or(&Value::Null))
        };
        if changed("description") || changed("kms_key_id") {
            self.client
                .update_secret()
                .secret_id(&arn)
                // An empty description clears it (null would leave it as it is).
                .description(planned.str_attr("description").unwrap_or(""))
                .set_kms_key_id(planned.str_attr("kms_key_id").map(str::to_string))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        // A null planned policy is "not managed here" (computed), never "remove it".
        if changed("policy")
            && planned
                .get("policy")
                .is_some_and(|p| !p.is_null() && !p.is_unknown())
        {
            self.put_policy(&arn, planned.str_attr("policy")).await?;
        }
        self.update_tags(&arn, prior, &planned).await?;
        self.read_by_id(&arn, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!("secret {arn} disappeared during the update"))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(arn) = state.str_attr("id").or_else(|| state.str_attr("arn")) else {
            return Ok(());
        };
        let days = state
            .get("recovery_window_in_days")
            .and_then(Value::as_i64)
            .unwrap_or(30);
        let request = self.client.delete_secret().secret_id(arn);
        let request = if days == 0 {
            request.force_delete_without_recovery(true)
        } else {
            request.recovery_window_in_days(days)
        };
        match request.send().await.map_err(sdk_error) {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) || is_scheduled_for_deletion(&e) => Ok(()),
            Err(e) => Err(e),
        }
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
        let described = found(
            self.client
                .describe_secret()
                .secret_id(&name)
                .send()
                .await
                .map_err(sdk_error),
        )?;
        // One scheduled for deletion is not the create's object (CreateSecret refuses
        // its name with another error).
        let Some(secret) = described.filter(|s| s.deleted_date().is_none()) else {
            return Ok(Finding::Absent);
        };
        let arn = secret.arn().unwrap_or(&name).to_string();
        let object = self.read_by_id(&arn, &planned).await?;
        Ok(found_by_name(
            arn,
            object,
            creation_time(secret.created_date()),
        ))
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let state = Value::object([
            ("id", Value::string(id)),
            (
                "recovery_window_in_days",
                Value::Number(DEFAULT_RECOVERY_WINDOW),
            ),
            ("force_overwrite_replica_secret", Value::Bool(false)),
        ]);
        self.read_by_id(id, &state).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(days: f64) -> Value {
        Value::object([("recovery_window_in_days", Value::Number(days))])
    }

    #[test]
    fn recovery_window_is_zero_or_seven_to_thirty() {
        assert!(check_recovery_window(&window(0.0)).is_ok());
        assert!(check_recovery_window(&window(7.0)).is_ok());
        assert!(check_recovery_window(&window(30.0)).is_ok());
        assert!(check_recovery_window(&window(3.0)).is_err());
        assert!(check_recovery_window(&window(31.0)).is_err());
        assert!(
            check_recovery_window(&Value::object([("recovery_window_in_days", Value::Null)]))
                .is_ok()
        );
    }

    #[test]
    fn scheduled_name_gets_a_restore_hint() {
        let e = ProviderError::with_code(
            "InvalidRequestException",
            "You can't create this secret because a secret with this name is already scheduled for deletion.",
        );
        let hint = create_hint(e, "db").hint.unwrap_or_default();
        assert!(hint.contains("restore-secret"), "{hint}");
    }

    #[test]
    fn secret_names_are_checked() {
        let name = |n: &str| Value::object([("name", Value::string(n))]);
        assert!(check_secret_name(&name("prod/api/jwt-key_1")).is_ok());
        assert!(
            check_secret_name(&name("has space"))
                .unwrap_err()
                .message
                .contains("' '")
        );
        assert!(
            check_secret_name(&name(&"x".repeat(513)))
                .unwrap_err()
                .message
                .contains("513")
        );
        let both = Value::object([
            ("name", Value::string("a")),
            ("name_prefix", Value::string("b")),
        ]);
        assert!(check_secret_name(&both).is_err());
    }
}
