//! `aws_sqs_queue_policy`: the access policy of a queue, managed apart from the queue.
//!
//! Its id is the queue URL. A queue without a policy reads as gone, as in Terraform, so a
//! policy removed outside forge is planned for creation again.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use forge_aws_common::policy::{
    check_policy_attribute, keep_equivalent_policy, normalize_json_string, policy_for_state,
};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
    plan_from_schema,
};

use crate::common::{client, found, required_str};

const TYPE: &str = "aws_sqs_queue_policy";

pub struct QueuePolicyResource {
    client: aws_sdk_sqs::Client,
    schema: Schema,
}

impl QueuePolicyResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        // Version 1 as the provider's; its version 0 has the same attributes, so a state
        // of either version reads as it is.
        let schema = Schema::new()
            .version(1)
            .attr(
                "queue_url",
                Attribute::required(AttrType::String).force_new(),
            )
            .attr("policy", Attribute::required(AttrType::String))
            .attr("id", Attribute::computed(AttrType::String));
        QueuePolicyResource {
            client: client(&ctx),
            schema,
        }
    }

    async fn read_by_url(
        &self,
        url: &str,
        stored_policy: Option<&str>,
    ) -> ProviderResult<Option<Value>> {
        let call = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::Policy);
        let Some(out) = found(call.send().await.map_err(sdk_error))? else {
            return Ok(None);
        };
        let live = out
            .attributes()
            .and_then(|m| m.get(&QueueAttributeName::Policy))
            .filter(|p| !p.trim().is_empty());
        let Some(live) = live else { return Ok(None) };
        Ok(Some(Value::object([
            ("id", Value::string(url)),
            ("queue_url", Value::string(url)),
            (
                "policy",
                Value::String(normalize_json_string(&policy_for_state(
                    stored_policy,
                    live,
                ))),
            ),
        ])))
    }

    async fn put_policy(&self, url: &str, policy: &str) -> ProviderResult<()> {
        let call = self
            .client
            .set_queue_attributes()
            .queue_url(url)
            .attributes(QueueAttributeName::Policy, policy);
        call.send().await.map_err(|e| {
            let e = sdk_error(e);
            match e.code.as_deref() {
                Some("InvalidAttributeValue" | "InvalidParameterValue") => {
                    e.hint("SQS did not accept the policy: check its JSON, its Version and the queue ARN in Resource")
                }
                c if c.is_some_and(|c| c.contains("NonExistentQueue") || c == "QueueDoesNotExist") => {
                    e.hint(format!("no queue has the URL {url}: create the queue first (reference aws_sqs_queue.<name>.id)"))
                }
                _ => e,
            }
        })?;
        Ok(())
    }
}

fn validate(config: &Value) -> ProviderResult<()> {
    check_policy_attribute(TYPE, config, "policy")
}

#[async_trait]
impl ResourceType for QueuePolicyResource {
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
        let url = required_str(&planned, "queue_url", TYPE)?;
        let policy = required_str(&planned, "policy", TYPE)?;
        self.put_policy(url, policy).await?;
        Ok(Value::object([
            ("id", Value::string(url)),
            ("queue_url", Value::string(url)),
            ("policy", Value::String(normalize_json_string(policy))),
        ]))
    }

    /// The create only puts a setting on what another resource owns: the setting there
    /// now, read as `read` reads it, is what an unrecorded create left (the plan then
    /// brings it to the configuration).
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &forge_provider::CreateIntent,
    ) -> ProviderResult<forge_provider::Finding> {
        let mut planned = planned.deep_unmarked();
        let Some(owner) = forge_aws_common::adoption::configured_name(&planned, "queue_url") else {
            return Ok(forge_provider::Finding::CannotTell);
        };
        if let Value::Object(attrs) = &mut planned {
            attrs.insert("id".to_string(), Value::string(&owner));
        }
        let object = self.read(&planned).await?;
        Ok(forge_aws_common::adoption::found_by_name(
            owner, object, None,
        ))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(url) = state.str_attr("queue_url").or_else(|| state.str_attr("id")) else {
            return Ok(None);
        };
        self.read_by_url(url, state.str_attr("policy")).await
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        self.create(planned).await
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(url) = state.str_attr("queue_url").or_else(|| state.str_attr("id")) else {
            return Ok(());
        };
        let call = self
            .client
            .set_queue_attributes()
            .queue_url(url)
            .attributes(QueueAttributeName::Policy, "");
        found(call.send().await.map_err(sdk_error))?;
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_by_url(id, None).await
    }

    /// Version 0 kept the queue's name as the id; version 1 the queue's URL.
    fn upgrade_step(&self, from: u64, state: Value) -> ProviderResult<Value> {
        match from {
            0 => Ok(upgrade_v0(state)),
            _ => Err(ProviderError::new(format!(
                "aws_sqs_queue_policy: no state upgrade from schema version {from}"
            ))),
        }
    }
}

/// The provider's v0 -> v1 step: the id becomes the queue's URL.
fn upgrade_v0(mut state: Value) -> Value {
    if let Value::Object(m) = &mut state
        && let Some(url) = m.get("queue_url").filter(|u| !u.is_null()).cloned()
    {
        m.insert("id".to_string(), url);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_0_state_takes_the_queue_url_as_its_id() {
        // As provider releases before 0.7 recorded a queue policy: the queue's name as id.
        let v0 = Value::from_json(&serde_json::json!({
            "id": "orders",
            "queue_url": "https://sqs.us-east-1.amazonaws.com/000000000000/orders",
            "policy": "{}"
        }));
        let v1 = upgrade_v0(v0);
        assert_eq!(
            v1.str_attr("id"),
            Some("https://sqs.us-east-1.amazonaws.com/000000000000/orders")
        );
        assert_eq!(v1.str_attr("policy"), Some("{}"));
    }
}
