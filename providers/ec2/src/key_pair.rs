//! `aws_key_pair`: imports a public key under a name.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{KeyPairInfo, ResourceType as Ec2ResourceType};
use forge_aws_common::{AwsContext, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{
    client, config_tags, ec2_arn, is_not_found, opt_string, plan_tags_all, prefix_of,
    replace_paths, required_str, set_attr, tag_specifications, tags_from_aws, tags_state,
    update_tags,
};
use forge_aws_common::naming::prefixed_unique_name;

pub struct KeyPairResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

impl KeyPairResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr(
                "key_name",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "key_name_prefix",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr("public_key", Attribute::required(string()).force_new())
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
            .attr("fingerprint", Attribute::computed(string()))
            .attr("key_pair_id", Attribute::computed(string()))
            .attr("key_type", Attribute::computed(string()))
            // The provider's state shape for aws_key_pair is at version 1.
            .version(1);
        let client = client(&ctx);
        KeyPairResource {
            ctx,
            client,
            schema,
        }
    }

    async fn describe(&self, name: &str) -> ProviderResult<Option<KeyPairInfo>> {
        let out = self
            .client
            .describe_key_pairs()
            .key_names(name)
            .include_public_key(true)
            .send()
            .await;
        match out.map_err(sdk_error) {
            Ok(out) => Ok(out.key_pairs().first().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn read_by_name(&self, name: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(kp) = self.describe(name).await? else {
            return Ok(None);
        };
        let account = self.ctx.account_id().await?;
        let name = kp.key_name().unwrap_or(name);
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(kp.tags()),
        );
        let public_key = match (state.str_attr("public_key"), kp.public_key()) {
            (Some(stored), Some(live)) if same_public_key(stored, live) => Value::string(stored),
            (_, Some(live)) => Value::string(live.trim()),
            // EC2 does not return the key (older APIs): keep what was configured.
            (stored, None) => opt_string(stored),
        };
        Ok(Some(Value::object([
            ("id", Value::string(name)),
            ("key_name", Value::string(name)),
            ("key_name_prefix", prefix_of(name)),
            ("public_key", public_key),
            ("tags", tags),
            ("tags_all", tags_all),
            (
                "arn",
                Value::string(ec2_arn(&self.ctx, &account, &format!("key-pair/{name}"))),
            ),
            ("fingerprint", opt_string(kp.key_fingerprint())),
            ("key_pair_id", opt_string(kp.key_pair_id())),
            ("key_type", opt_string(kp.key_type().map(|t| t.as_str()))),
        ])))
    }
}

/// Two public keys are the same key when their type and key material match; the
/// trailing comment (`user@host`) is not part of the key.
pub fn same_public_key(a: &str, b: &str) -> bool {
    let essence = |k: &str| k.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    essence(a) == essence(b)
}

#[async_trait]
impl ResourceType for KeyPairResource {
    fn type_name(&self) -> &'static str {
        "aws_key_pair"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        if config.get_non_null("key_name").is_some()
            && config.get_non_null("key_name_prefix").is_some()
        {
            return Err(ProviderError::new(
                "aws_key_pair: `key_name` and `key_name_prefix` conflict",
            )
            .hint("set only one of them"));
        }
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        // An unset argument recorded with its empty value (`tags = {}`, what an import
        // reads) stays as it is, as in the provider.
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
        // A key that differs only in its comment or surrounding space is the same key.
        if let (Some(configured), Some(stored)) = (
            config.str_attr("public_key"),
            prior.and_then(|p| p.str_attr("public_key")),
        ) && same_public_key(configured, stored)
        {
            set_attr(&mut planned, "public_key", Value::string(stored));
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
        let name = match (
            planned.str_attr("key_name"),
            planned.str_attr("key_name_prefix"),
        ) {
            (Some(name), _) => name.to_string(),
            (None, Some(prefix)) => prefixed_unique_name(Some(prefix)),
            (None, None) => prefixed_unique_name(Some("terraform-")),
        };
        let public_key = required_str(&planned, "public_key", "aws_key_pair")?;
        let tags_all = self.ctx.tags_all(&config_tags(&planned));
        self.client
            .import_key_pair()
            .key_name(&name)
            .public_key_material(Blob::new(public_key.trim().as_bytes()))
            .set_tag_specifications(tag_specifications(Ec2ResourceType::KeyPair, &tags_all))
            .send()
            .await
            .map_err(sdk_error)
            .map_err(|e| match e.code.as_deref() {
                Some("InvalidKeyPair.Duplicate") => e.hint(format!(
                    "a key pair named {name:?} already exists: choose another key_name or import it"
                )),
                Some("InvalidKey.Format" | "InvalidKeyPair.Format") => {
                    e.hint("public_key must be an OpenSSH public key (ssh-rsa or ssh-ed25519 ...)")
                }
                _ => e,
            })?;
        let mut state = planned.clone();
        set_attr(&mut state, "key_name", Value::string(&name));
        self.read_by_name(&name, &state).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "key pair {name} vanished right after it was imported"
            ))
        })
    }

    /// Key pair names are unique in a region: the pair of the configured name, with the
    /// time EC2 says it was made.
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &forge_provider::CreateIntent,
    ) -> ProviderResult<forge_provider::Finding> {
        use forge_aws_common::adoption::{configured_name, creation_time, found_by_name};
        let planned = planned.deep_unmarked();
        let Some(name) = configured_name(&planned, "key_name") else {
            return Ok(forge_provider::Finding::CannotTell);
        };
        let Some(kp) = self.describe(&name).await? else {
            return Ok(forge_provider::Finding::Absent);
        };
        let created = creation_time(kp.create_time());
        let object = self.read_by_name(&name, &planned).await?;
        Ok(found_by_name(name, object, created))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(name) = state.str_attr("id").or_else(|| state.str_attr("key_name")) else {
            return Ok(None);
        };
        self.read_by_name(name, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let name = required_str(prior, "id", "aws_key_pair")?.to_string();
        // Tags live on the key pair id (key-...), not its name.
        let resource = prior.str_attr("key_pair_id").unwrap_or(&name).to_string();
        let old_tags = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new_tags = self.ctx.tags_all(&config_tags(&planned));
        update_tags(&self.client, &resource, &old_tags, &new_tags).await?;
        self.read_by_name(&name, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!("key pair {name} disappeared during the update"))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(name) = state.str_attr("id") else {
            return Ok(());
        };
        match self
            .client
            .delete_key_pair()
            .key_name(name)
            .send()
            .await
            .map_err(sdk_error)
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_by_name(id, &Value::object([("id", Value::string(id))]))
            .await
    }

    fn upgrade_step(&self, from: u64, state: Value) -> ProviderResult<Value> {
        match from {
            0 => Ok(upgrade_v0(state)),
            _ => Err(ProviderError::new(format!(
                "aws_key_pair: no state upgrade from schema version {from}"
            ))),
        }
    }
}

/// The provider's v0 -> v1 step: the public key without surrounding white space (v0
/// kept the trailing newline of a key read from a file).
fn upgrade_v0(mut state: Value) -> Value {
    if let Value::Object(m) = &mut state
        && let Some(key) = m.get("public_key").and_then(Value::as_str)
    {
        let trimmed = Value::string(key.trim());
        m.insert("public_key".to_string(), trimmed);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_0_state_has_its_public_key_trimmed() {
        let v0 = Value::from_json(&serde_json::json!({
            "id": "deploy", "key_name": "deploy",
            "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB deploy\n"
        }));
        let v1 = upgrade_v0(v0);
        assert_eq!(
            v1.str_attr("public_key"),
            Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB deploy")
        );
    }

    #[test]
    fn comments_and_spacing_do_not_make_another_key() {
        assert!(same_public_key(
            "ssh-ed25519 AAAAC3Nz me@laptop\n",
            " ssh-ed25519  AAAAC3Nz"
        ));
        assert!(!same_public_key(
            "ssh-ed25519 AAAAC3Nz",
            "ssh-ed25519 AAAAC3Nx"
        ));
    }
}
