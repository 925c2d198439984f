//! `aws_secretsmanager_secret_version`: one value of a secret. The value is sensitive:
//! it is sent to AWS and kept in state, never put in an error message or a log.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use aws_smithy_types::Blob;
use base64::Engine;
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, Found, FoundBy, PlannedState, ProviderError,
    ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{
    client, found, is_not_found, is_scheduled_for_deletion, keep_empty_values, replace_paths,
    required_str, set_attr,
};

const TYPE: &str = "aws_secretsmanager_secret_version";
/// The stage AWS gives the newest version; it cannot simply be taken away.
const CURRENT: &str = "AWSCURRENT";

pub struct SecretVersionResource {
    client: aws_sdk_secretsmanager::Client,
    schema: Schema,
}

impl SecretVersionResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("secret_id", Attribute::required(string()).force_new())
            .attr(
                "secret_string",
                Attribute::optional(string()).force_new().sensitive(),
            )
            .attr(
                "secret_binary",
                Attribute::optional(string()).force_new().sensitive(),
            )
            .attr(
                "version_stages",
                Attribute::optional_computed(AttrType::Set(Box::new(string()))),
            )
            // The provider's write-only value (Terraform 1.11 ephemeral values): refused
            // in configuration, recorded as null as the provider does.
            .attr(
                "secret_string_wo",
                Attribute::optional(string()).sensitive(),
            )
            .attr(
                "secret_string_wo_version",
                Attribute::optional(AttrType::Number),
            )
            .attr("has_secret_string_wo", Attribute::computed(AttrType::Bool))
            .attr("id", Attribute::computed(string()))
            .attr("arn", Attribute::computed(string()))
            .attr("version_id", Attribute::computed(string()));
        SecretVersionResource {
            client: client(&ctx),
            schema,
        }
    }

    /// PutSecretValue with `token` as the version id (its ClientRequestToken).
    async fn put_version(&self, planned: &Value, token: &str) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let secret_id = required_str(&planned, "secret_id", TYPE)?;
        let (string, binary) = secret_payload(&planned)?;
        let stages: Vec<String> = stages_of(&planned).into_iter().collect();
        let out = self
            .client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .set_secret_string(string)
            .set_secret_binary(binary)
            .set_version_stages((!stages.is_empty()).then_some(stages))
            .send()
            .await
            .map_err(|e| {
                let e = sdk_error(e);
                if is_scheduled_for_deletion(&e) {
                    e.hint(format!("the secret {secret_id} is scheduled for deletion: restore it or create another"))
                } else if is_not_found(&e) {
                    e.hint(format!("no secret {secret_id} exists: create it first (aws_secretsmanager_secret)"))
                } else {
                    e
                }
            })?;
        let version_id = out.version_id().ok_or_else(|| {
            ProviderError::new(format!(
                "PutSecretValue on {secret_id} returned no version id"
            ))
        })?;
        self.read_parts(secret_id, version_id)
            .await?
            .ok_or_else(|| {
                ProviderError::new(format!(
                    "secret version {version_id} vanished right after it was put"
                ))
            })
    }

    /// The version as state, `None` when it or its secret is gone.
    async fn read_parts(&self, secret_id: &str, version_id: &str) -> ProviderResult<Option<Value>> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .version_id(version_id)
            .send()
            .await;
        // The SDK error for this call never carries the value, only code and message.
        let Some(out) = found(out.map_err(sdk_error))? else {
            return Ok(None);
        };
        // The provider records "" for whichever of the two the version does not use.
        let secret_string = Value::string(out.secret_string().unwrap_or("")).sensitive();
        let secret_binary = Value::String(
            out.secret_binary()
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
                .unwrap_or_default(),
        )
        .sensitive();
        Ok(Some(Value::object([
            ("id", Value::String(format!("{secret_id}|{version_id}"))),
            ("secret_id", Value::string(secret_id)),
            ("arn", out.arn().map(Value::string).unwrap_or(Value::Null)),
            ("version_id", Value::string(version_id)),
            ("secret_string", secret_string),
            ("secret_binary", secret_binary),
            (
                "version_stages",
                stage_set(out.version_stages().iter().cloned()),
            ),
            ("secret_string_wo", Value::Null),
            ("secret_string_wo_version", Value::Null),
            ("has_secret_string_wo", Value::Null),
        ])))
    }

    /// Which version holds each stage now, to move a stage that another version holds.
    async fn stage_holder(&self, secret_id: &str, stage: &str) -> ProviderResult<Option<String>> {
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_secret_version_ids()
                .secret_id(secret_id)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(sdk_error)?;
            if let Some(v) = out
                .versions()
                .iter()
                .find(|v| v.version_stages().iter().any(|s| s == stage))
            {
                return Ok(v.version_id().map(str::to_string));
            }
            match out.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(None),
            }
        }
    }

    async fn add_stage(
        &self,
        secret_id: &str,
        version_id: &str,
        stage: &str,
    ) -> ProviderResult<()> {
        let holder = self
            .stage_holder(secret_id, stage)
            .await?
            .filter(|h| h != version_id);
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(stage)
            .move_to_version_id(version_id)
            .set_remove_from_version_id(holder)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn remove_stage(
        &self,
        secret_id: &str,
        version_id: &str,
        stage: &str,
    ) -> ProviderResult<()> {
        let out = self
            .client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(stage)
            .remove_from_version_id(version_id)
            .send()
            .await;
        found(out.map_err(sdk_error))?;
        Ok(())
    }
}

/// Version stages as a set value, sorted so equal sets are spelled alike.
fn stage_set(stages: impl IntoIterator<Item = String>) -> Value {
    let sorted: BTreeSet<String> = stages.into_iter().collect();
    Value::Set(sorted.into_iter().map(Value::String).collect())
}

fn stages_of(v: &Value) -> BTreeSet<String> {
    v.get("version_stages")
        .and_then(Value::as_seq)
        .map(|xs| {
            xs.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Splits Terraform's id `<secret_id>|<version_id>`.
pub fn parse_id(id: &str) -> ProviderResult<(&str, &str)> {
    match id.rsplit_once('|') {
        Some((secret, version)) if !secret.is_empty() && !version.is_empty() => {
            Ok((secret, version))
        }
        _ => Err(
            ProviderError::new(format!("{TYPE}: id {id:?} is not <secret_id>|<version_id>"))
                .hint("write it as the secret's ARN, a '|' and the version id"),
        ),
    }
}

/// The value to send: exactly one of secret_string and secret_binary (base64).
fn secret_payload(planned: &Value) -> ProviderResult<(Option<String>, Option<Blob>)> {
    // "" is how the provider records the one of the two that is not used.
    match (
        planned.str_attr("secret_string").filter(|s| !s.is_empty()),
        planned.str_attr("secret_binary").filter(|s| !s.is_empty()),
    ) {
        (Some(_), Some(_)) => Err(ProviderError::new(format!(
            "{TYPE}: secret_string and secret_binary conflict"
        ))
        .hint("set only one of them")),
        (Some(s), None) => Ok((Some(s.to_string()), None)),
        (None, Some(b64)) => {
            // The decode error names the position, never the value.
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| {
                    ProviderError::new(format!("{TYPE}: secret_binary is not valid base64 ({e})"))
                        .hint("encode the bytes with base64encode(...) or filebase64(...)")
                })?;
            Ok((None, Some(Blob::new(bytes))))
        }
        (None, None) => Err(ProviderError::new(format!(
            "{TYPE}: neither secret_string nor secret_binary is set"
        ))
        .hint("set secret_string (text) or secret_binary (base64)")),
    }
}

#[async_trait]
impl ResourceType for SecretVersionResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        if config.get_non_null("secret_string").is_some()
            && config.get_non_null("secret_binary").is_some()
        {
            return Err(ProviderError::new(format!(
                "{TYPE}: secret_string and secret_binary conflict"
            ))
            .hint("set only one of them"));
        }
        for write_only in ["secret_string_wo", "secret_string_wo_version"] {
            if config.get_non_null(write_only).is_some() {
                return Err(ProviderError::new(format!(
                    "{TYPE}: `{write_only}` (a write-only argument) is not supported"
                ))
                .hint("set secret_string instead: forge keeps it in state, marked sensitive"));
            }
        }
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        keep_empty_values(&self.schema, prior, config, &mut planned);
        // A change of write-only status is only known after apply in the provider; forge
        // never writes one, so it stays null.
        set_attr(&mut planned, "has_secret_string_wo", Value::Null);
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        // The provider's version id: its generated `terraform-<time><counter>` token, which
        // also makes a retried PutSecretValue the same version, not a second one.
        let token = forge_aws_common::naming::prefixed_unique_name(None);
        self.put_version(planned, &token).await
    }

    /// The version id (the ClientRequestToken) comes from the intent: a PutSecretValue
    /// sent again after a crash or a lost answer returns the version already made, and
    /// the next run finds it by it.
    async fn create_under(&self, planned: &Value, intent: &CreateIntent) -> ProviderResult<Value> {
        self.put_version(planned, &version_id_of(intent)).await
    }

    async fn find_created(
        &self,
        planned: &Value,
        intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let Some(secret_id) = planned.str_attr("secret_id").filter(|s| !s.is_empty()) else {
            return Ok(Finding::CannotTell);
        };
        let version_id = version_id_of(intent);
        Ok(match self.read_parts(secret_id, &version_id).await? {
            Some(object) => Finding::Found(Found {
                id: format!("{secret_id}|{version_id}"),
                object,
                created: None,
                by: FoundBy::Token,
            }),
            None => Finding::Absent,
        })
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(id) = state.str_attr("id") else {
            return Ok(None);
        };
        let (secret_id, version_id) = parse_id(id)?;
        self.read_parts(secret_id, version_id).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        // Only the stages change in place; the value itself forces a new version.
        let planned = planned.deep_unmarked();
        let (secret_id, version_id) = parse_id(required_str(prior, "id", TYPE)?)?;
        let before = stages_of(prior);
        let after = if planned
            .get("version_stages")
            .is_some_and(Value::is_wholly_known)
        {
            stages_of(&planned)
        } else {
            before.clone()
        };
        for stage in after.difference(&before) {
            self.add_stage(secret_id, version_id, stage).await?;
        }
        // Moving AWSCURRENT here makes AWS move AWSPREVIOUS by itself: remove only the
        // stages this version still holds.
        let now = match self.read_parts(secret_id, version_id).await? {
            Some(live) => stages_of(&live),
            None => {
                return Err(ProviderError::new(format!(
                    "secret version {version_id} disappeared during the update"
                )));
            }
        };
        for stage in now.difference(&after) {
            self.remove_stage(secret_id, version_id, stage).await?;
        }
        self.read_parts(secret_id, version_id)
            .await?
            .ok_or_else(|| {
                ProviderError::new(format!(
                    "secret version {version_id} disappeared during the update"
                ))
            })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        let (secret_id, version_id) = parse_id(id)?;
        // A version cannot be deleted, only unlabelled; AWS removes unlabelled versions.
        // The current one keeps its label, as in Terraform: the secret still has a value.
        // The labels it holds now count, not those in state: a label moved away since (a
        // newer version took AWSPREVIOUS) cannot be removed from it, and a version already
        // gone is "Not a valid version" to AWS, where deleting it again must succeed.
        let Some(live) = self.read_parts(secret_id, version_id).await? else {
            return Ok(());
        };
        for stage in stages_of(&live).iter().filter(|s| s.as_str() != CURRENT) {
            self.remove_stage(secret_id, version_id, stage).await?;
        }
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let (secret_id, version_id) = parse_id(id)?;
        self.read_parts(secret_id, version_id).await
    }
}

/// The version id a create under `intent` uses: the provider's shape
/// (`terraform-<time><counter>`), made from the intent's start and token so that every
/// attempt of the create, in this run or the next, sends the same one.
fn version_id_of(intent: &CreateIntent) -> String {
    let hex: String = intent
        .token
        .chars()
        .filter(char::is_ascii_hexdigit)
        .rev()
        .take(8)
        .collect();
    let counter = u32::from_str_radix(&hex, 16).unwrap_or(0);
    forge_aws_common::naming::unique_name_at(None, intent.started, counter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_splits_at_the_last_bar() {
        assert_eq!(
            parse_id("arn:aws:secretsmanager:us-east-1:1:secret:db-AbC|v-1").unwrap(),
            ("arn:aws:secretsmanager:us-east-1:1:secret:db-AbC", "v-1")
        );
        assert!(parse_id("no-bar").is_err());
    }

    #[test]
    fn payload_errors_never_contain_the_value() {
        let secret = "hunter2-very-secret";
        let both = Value::object([
            ("secret_string", Value::string(secret)),
            ("secret_binary", Value::string("aGk=")),
        ]);
        let e = secret_payload(&both).unwrap_err();
        assert!(!e.to_string().contains(secret));
        let bad = Value::object([("secret_binary", Value::string("not base64 !!! hunter2"))]);
        let e = secret_payload(&bad).unwrap_err();
        assert!(
            e.message.contains("base64") && !e.to_string().contains("hunter2"),
            "{e}"
        );
        let ok = Value::object([("secret_binary", Value::string("aGk="))]);
        let (s, b) = secret_payload(&ok).unwrap();
        assert!(s.is_none());
        assert_eq!(b.map(|b| b.into_inner()), Some(b"hi".to_vec()));
    }
}
