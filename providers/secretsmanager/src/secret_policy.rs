//! `aws_secretsmanager_secret_policy`: a secret's resource policy, managed apart from
//! the secret.
//!
//! As the provider (hashicorp/aws 5.100.0): the id is the secret's ARN, import takes it;
//! the policy is recorded normalised (compact, sorted keys) and a live document that
//! means the same keeps the recorded spelling. A secret whose policy was removed outside
//! forge still reads, with `policy = ""` (the provider's rule, kept for its older
//! states), so the next plan puts the policy back in place; only a secret that is gone
//! or scheduled for deletion makes it gone. `block_public_policy` is sent, never read
//! (Secrets Manager does not report it), so state keeps what was configured.
//!
//! The secret's own `policy` argument is optional and computed in
//! `aws_secretsmanager_secret`: a secret that leaves it out shows this resource's policy
//! and plans no change.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use forge_aws_common::policy::{
    check_policy_attribute, keep_equivalent_policy, normalize_json_string, policies_equivalent,
    policy_for_state,
};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, Found, FoundBy, PlannedState, ProviderError,
    ProviderResult, ResourceType, Schema, Value, plan_from_schema,
};

use crate::common::{client, found, required_str};

const TYPE: &str = "aws_secretsmanager_secret_policy";

/// How long a write may take to show in reads before forge stops waiting (the provider
/// waits for the policy to propagate as well).
const SETTLE_TIME: Duration = Duration::from_secs(60);

pub struct SecretPolicyResource {
    client: aws_sdk_secretsmanager::Client,
    schema: Schema,
}

impl SecretPolicyResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let schema = Schema::new()
            .attr(
                "secret_arn",
                Attribute::required(AttrType::String).force_new(),
            )
            .attr("policy", Attribute::required(AttrType::String))
            .attr("block_public_policy", Attribute::optional(AttrType::Bool))
            .attr("id", Attribute::computed(AttrType::String));
        SecretPolicyResource {
            client: client(&ctx),
            schema,
        }
    }

    /// The secret's policy as state; `None` when the secret is gone or scheduled for
    /// deletion. `state` gives the recorded policy and `block_public_policy`.
    async fn read_by_arn(&self, arn: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let call = self.client.get_resource_policy().secret_id(arn);
        let Some(out) = found(call.send().await.map_err(sdk_error))? else {
            return Ok(None);
        };
        let policy = match out.resource_policy().filter(|p| !p.trim().is_empty()) {
            Some(live) => normalize_json_string(&policy_for_state(state.str_attr("policy"), live)),
            None => String::new(),
        };
        let arn = out.arn().unwrap_or(arn);
        Ok(Some(Value::object([
            ("id", Value::string(arn)),
            ("secret_arn", Value::string(arn)),
            ("policy", Value::String(policy)),
            (
                "block_public_policy",
                state
                    .get("block_public_policy")
                    .filter(|v| v.is_wholly_known())
                    .cloned()
                    .unwrap_or(Value::Null),
            ),
        ])))
    }

    /// Puts the planned policy; `always_block_flag` sends `block_public_policy` even when
    /// unset (as false), as the provider's update does (its create sends it only when
    /// true).
    async fn put(&self, planned: &Value, always_block_flag: bool) -> ProviderResult<Value> {
        let arn = required_str(planned, "secret_arn", TYPE)?;
        let policy = normalize_json_string(required_str(planned, "policy", TYPE)?);
        let block = planned
            .get("block_public_policy")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut call = self
            .client
            .put_resource_policy()
            .secret_id(arn)
            .resource_policy(&policy);
        if block || always_block_flag {
            call = call.block_public_policy(block);
        }
        call.send().await.map_err(|e| {
            let e = sdk_error(e);
            match e.code.as_deref() {
                Some("MalformedPolicyDocumentException") => e.hint(
                    "Secrets Manager did not accept the policy: check its JSON, element names and principals",
                ),
                Some("ResourceNotFoundException") => e.hint(format!(
                    "no secret has the ARN {arn}: create the secret first (reference aws_secretsmanager_secret.<name>.arn)"
                )),
                Some("PublicPolicyException") => e.hint(
                    "block_public_policy refuses a policy that grants broad access: narrow its principals or set block_public_policy = false",
                ),
                _ => e,
            }
        })?;
        self.read_settled(arn, planned, &policy).await
    }

    /// Reads after a put until the policy shows; when the time runs out the last read
    /// stands, so the next plan shows what is there.
    async fn read_settled(
        &self,
        arn: &str,
        planned: &Value,
        policy: &str,
    ) -> ProviderResult<Value> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let read = self.read_by_arn(arn, planned).await?;
            let shows = read
                .as_ref()
                .and_then(|v| v.str_attr("policy"))
                .is_some_and(|have| policies_equivalent(have, policy));
            match read {
                Some(v) if shows || started.elapsed() >= SETTLE_TIME => return Ok(v),
                None if started.elapsed() >= SETTLE_TIME => {
                    return Err(ProviderError::with_code(
                        "ResourceNotFoundException",
                        format!("{TYPE}: secret {arn} cannot be read after its policy was put"),
                    )
                    .hint("something deleted the secret outside forge: plan again"));
                }
                _ => {}
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}

/// Checks at plan what the provider's validation refuses: a policy that is not JSON and
/// a `secret_arn` that is not an ARN.
fn validate(config: &Value) -> ProviderResult<()> {
    check_policy_attribute(TYPE, config, "policy")?;
    if let Some(arn) = config
        .get("secret_arn")
        .filter(|v| v.is_wholly_known())
        .and_then(Value::as_str)
        && !looks_like_arn(arn)
    {
        return Err(
            ProviderError::new(format!("{TYPE}: secret_arn = {arn:?} is not an ARN"))
                .hint("reference the secret's ARN: aws_secretsmanager_secret.<name>.arn"),
        );
    }
    Ok(())
}

/// An ARN as the provider's validation reads one: `arn:<partition>:<service>:...` with a
/// region, an account and a resource part.
fn looks_like_arn(text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && !parts[2].is_empty()
        && !parts[5].is_empty()
}

#[async_trait]
impl ResourceType for SecretPolicyResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let mut plan = plan_from_schema(&self.schema, prior, config);
        keep_equivalent_policy(&mut plan.planned, prior, "policy");
        Ok(plan)
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        self.put(&planned, false).await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(arn) = state
            .str_attr("id")
            .or_else(|| state.str_attr("secret_arn"))
        else {
            return Ok(None);
        };
        self.read_by_arn(arn, state).await
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        self.put(&planned, true).await
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(arn) = state
            .str_attr("id")
            .or_else(|| state.str_attr("secret_arn"))
        else {
            return Ok(());
        };
        let call = self.client.delete_resource_policy().secret_id(arn);
        found(call.send().await.map_err(sdk_error))?;
        Ok(())
    }

    /// A create whose answer was lost put the policy or did not: a secret holding a
    /// policy is that create's object (one per secret; the engine's update after
    /// adopting brings it to the configuration).
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let Some(arn) = planned
            .get("secret_arn")
            .filter(|v| v.is_wholly_known())
            .and_then(Value::as_str)
        else {
            return Ok(Finding::CannotTell);
        };
        Ok(match self.read_by_arn(arn, &planned).await? {
            Some(object) if object.str_attr("policy").is_some_and(|p| !p.is_empty()) => {
                let id = object.str_attr("id").unwrap_or(arn).to_string();
                Finding::Found(Found {
                    object,
                    created: None,
                    by: FoundBy::Name,
                    id,
                })
            }
            _ => Finding::Absent,
        })
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        if !looks_like_arn(id) {
            return Err(ProviderError::new(format!(
                "{TYPE}: import takes the secret's ARN, got {id:?}"
            ))
            .hint("find it with `aws secretsmanager describe-secret --secret-id <name>`"));
        }
        self.read_by_arn(id, &Value::object([("block_public_policy", Value::Null)]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_arn_and_policy_are_checked_at_plan() {
        let ok = Value::object([
            (
                "secret_arn",
                Value::string("arn:aws:secretsmanager:us-east-1:000000000000:secret:app-AbCdEf"),
            ),
            ("policy", Value::string("{}")),
        ]);
        assert!(validate(&ok).is_ok());
        let name = Value::object([
            ("secret_arn", Value::string("app")),
            ("policy", Value::string("{}")),
        ]);
        let err = validate(&name).unwrap_err();
        assert!(err.message.contains("not an ARN"), "{err}");
        let broken = Value::object([
            (
                "secret_arn",
                Value::string("arn:aws:secretsmanager:us-east-1:0:secret:x"),
            ),
            ("policy", Value::string("{\"a\": }")),
        ]);
        assert!(validate(&broken).unwrap_err().message.contains("policy"));
    }
}
