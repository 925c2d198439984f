//! `aws_secretsmanager_secret_rotation`: a secret's automatic rotation (its Lambda
//! function and schedule), kept on the secret; the id is the secret's ARN.
//!
//! As the provider (hashicorp/aws 5.100.0): create and every change of the function or
//! the rules call RotateSecret (rotating at once unless `rotate_immediately = false`),
//! delete calls CancelRotateSecret, and the rules are read back from DescribeSecret
//! (`schedule_expression` when AWS has one, else `automatically_after_days`; the unset
//! ones as `""` and `0`, as the provider records them).
//! `rotate_immediately` is sent, never read.
//!
//! One difference: a secret whose rotation is off (cancelled, or never set) has no
//! rotation to forge, so `read` and `import` find none and the next plan creates it
//! again; the provider keeps such an instance with `rotation_enabled = false` and empty
//! rules, and its next plan updates it back the same way.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_secretsmanager::types::RotationRulesType;
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error};
use forge_provider::{
    AttrType, Attribute, BlockType, CreateIntent, Finding, Found, FoundBy, PlannedState,
    ProviderError, ProviderResult, ResourceType, Schema, Value, plan_from_schema,
};

use crate::common::{client, found, keep_empty_values, replace_paths, required_str};

const TYPE: &str = "aws_secretsmanager_secret_rotation";

pub struct SecretRotationResource {
    client: aws_sdk_secretsmanager::Client,
    schema: Schema,
}

impl SecretRotationResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let rules = Schema::new()
            .attr(
                "automatically_after_days",
                Attribute::optional(AttrType::Number),
            )
            .attr("duration", Attribute::optional(AttrType::String))
            .attr("schedule_expression", Attribute::optional(AttrType::String));
        let schema = Schema::new()
            .version(1)
            .attr("id", Attribute::computed(AttrType::String))
            .attr(
                "rotate_immediately",
                Attribute::optional(AttrType::Bool).default(Value::Bool(true)),
            )
            .attr("rotation_enabled", Attribute::computed(AttrType::Bool))
            .attr("rotation_lambda_arn", Attribute::optional(AttrType::String))
            .attr(
                "secret_id",
                Attribute::required(AttrType::String).force_new(),
            )
            .block(
                "rotation_rules",
                BlockType {
                    schema: rules,
                    min_items: 1,
                    max_items: 1,
                    ..BlockType::default()
                },
            );
        SecretRotationResource {
            client: client(&ctx),
            schema,
        }
    }

    /// The rotation of the secret `secret_id` names, as state; `None` when the secret is
    /// gone (or scheduled for deletion) or its rotation is off. `state` gives the
    /// recorded spelling of `secret_id` and `rotate_immediately`.
    async fn read_rotation(&self, secret_id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let call = self.client.describe_secret().secret_id(secret_id);
        let Some(out) = found(call.send().await.map_err(sdk_error))? else {
            return Ok(None);
        };
        if out.rotation_enabled() != Some(true) {
            return Ok(None);
        }
        let arn = out.arn().unwrap_or(secret_id).to_string();
        // The configured name or ARN of this secret stays as written.
        let recorded = state.str_attr("secret_id");
        let secret_id = match recorded {
            Some(r) if r == arn || Some(r) == out.name() => r.to_string(),
            _ => arn.clone(),
        };
        let rule = rules_state(out.rotation_rules());
        let rotate_immediately = state
            .get("rotate_immediately")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        Ok(Some(Value::object([
            ("id", Value::string(&arn)),
            ("secret_id", Value::String(secret_id)),
            ("rotation_enabled", Value::Bool(true)),
            (
                "rotation_lambda_arn",
                Value::string(out.rotation_lambda_arn().unwrap_or("")),
            ),
            ("rotation_rules", Value::List(vec![rule])),
            ("rotate_immediately", Value::Bool(rotate_immediately)),
        ])))
    }

    /// RotateSecret with the planned function and rules, then the rotation as read.
    async fn rotate(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&without_empty_rules(&planned))?;
        let secret_id = required_str(&planned, "secret_id", TYPE)?.to_string();
        let rules = expand_rules(&planned)?;
        let lambda = planned
            .str_attr("rotation_lambda_arn")
            .filter(|a| !a.is_empty())
            .map(str::to_string);
        let immediately = planned
            .get("rotate_immediately")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        // AccessDenied: Secrets Manager cannot invoke a function whose permission was
        // just granted (it propagates), as the provider retries it.
        retry(
            Backoff::default(),
            |e| e.code.as_deref() == Some("AccessDeniedException"),
            || async {
                self.client
                    .rotate_secret()
                    .secret_id(&secret_id)
                    .set_rotation_lambda_arn(lambda.clone())
                    .rotation_rules(rules.clone())
                    .rotate_immediately(immediately)
                    .send()
                    .await
                    .map_err(|e| rotate_hint(sdk_error(e), &secret_id))
            },
        )
        .await?;
        self.read_rotation(&secret_id, &planned)
            .await?
            .ok_or_else(|| {
                ProviderError::with_code(
                    "ResourceNotFoundException",
                    format!("{TYPE}: the rotation of {secret_id} was set but reads as off"),
                )
                .hint("something cancelled it, or deleted the secret, meanwhile: plan again")
            })
    }
}

/// The rules as the provider records them: `schedule_expression` when AWS has one, else
/// `automatically_after_days` (AWS also reports the days a schedule works out to, which
/// would make the two conflict), and every unset rule as its empty value (`""`, `0`), as
/// the plugin SDK writes an unset field of a nested block.
fn rules_state(rules: Option<&RotationRulesType>) -> Value {
    let schedule = rules
        .and_then(RotationRulesType::schedule_expression)
        .filter(|s| !s.is_empty());
    let days = match schedule {
        None => rules
            .and_then(RotationRulesType::automatically_after_days)
            .unwrap_or(0),
        Some(_) => 0,
    };
    Value::object([
        ("automatically_after_days", Value::Number(days as f64)),
        (
            "duration",
            Value::string(rules.and_then(RotationRulesType::duration).unwrap_or("")),
        ),
        ("schedule_expression", Value::string(schedule.unwrap_or(""))),
    ])
}

/// The rules with the empty values the provider records for unset ones (`""`, `0`, kept
/// in a plan from the prior state) as null: what `validate` checks of a configuration.
fn without_empty_rules(planned: &Value) -> Value {
    let mut out = planned.clone();
    if let Value::Object(fields) = &mut out
        && let Some(Value::List(rules) | Value::Tuple(rules)) = fields.get_mut("rotation_rules")
    {
        for rule in rules.iter_mut() {
            if let Value::Object(r) = rule {
                for v in r.values_mut() {
                    if forge_aws_common::values::is_empty_value(v) {
                        *v = Value::Null;
                    }
                }
            }
        }
    }
    out
}

/// The `rotation_rules` block as the API's rules.
fn expand_rules(planned: &Value) -> ProviderResult<RotationRulesType> {
    let rule = planned
        .get("rotation_rules")
        .and_then(Value::as_seq)
        .and_then(|r| r.first())
        .ok_or_else(|| {
            ProviderError::new(format!("{TYPE}: a `rotation_rules` block is required")).hint(
                "add rotation_rules { automatically_after_days = 30 } (or schedule_expression)",
            )
        })?;
    let text = |name: &str| {
        rule.str_attr(name)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut rules = RotationRulesType::builder().set_duration(text("duration"));
    match text("schedule_expression") {
        Some(expr) => rules = rules.schedule_expression(expr),
        None => {
            if let Some(days) = rule
                .get("automatically_after_days")
                .and_then(Value::as_f64)
                .filter(|d| *d != 0.0)
            {
                rules = rules.automatically_after_days(days as i64);
            }
        }
    }
    Ok(rules.build())
}

fn rotate_hint(err: ProviderError, secret_id: &str) -> ProviderError {
    match err.code.as_deref() {
        Some("ResourceNotFoundException") => err.hint(format!(
            "Secrets Manager found no secret {secret_id:?} or no Lambda function rotation_lambda_arn names: create them first (reference aws_secretsmanager_secret.<name>.id and aws_lambda_function.<name>.arn)"
        )),
        Some("InvalidRequestException") if err.message.contains("in progress") => err.hint(
            "a rotation of this secret has not finished (a version still has the AWSPENDING label): let the rotation function finish, or remove the label, then apply again",
        ),
        _ => err,
    }
}

/// What the provider's validation refuses, at plan.
fn validate(config: &Value) -> ProviderResult<()> {
    let Some(rule) = config
        .get("rotation_rules")
        .and_then(Value::as_seq)
        .and_then(|r| r.first())
    else {
        return Ok(());
    };
    let days = rule
        .get("automatically_after_days")
        .filter(|v| !v.is_null());
    let schedule = rule.get("schedule_expression").filter(|v| !v.is_null());
    match (days, schedule) {
        (Some(_), Some(_)) => {
            return Err(ProviderError::new(format!(
                "{TYPE}: rotation_rules: automatically_after_days and schedule_expression cannot both be set"
            ))
            .hint("keep one: a number of days, or a schedule such as \"rate(10 days)\" or \"cron(0 16 1,15 * ? *)\""));
        }
        (None, None) => {
            return Err(ProviderError::new(format!(
                "{TYPE}: rotation_rules: one of automatically_after_days or schedule_expression is required"
            ))
            .hint("add automatically_after_days = 30, or a schedule_expression"));
        }
        _ => {}
    }
    if let Some(d) = days.and_then(Value::as_f64)
        && !(1.0..=1000.0).contains(&d)
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: rotation_rules: automatically_after_days = {d} is out of range"
        ))
        .hint("Secrets Manager takes 1 to 1000 days"));
    }
    if let Some(duration) = rule.get("duration").and_then(Value::as_str)
        && !duration.chars().any(|c| c.is_ascii_digit() || c == 'h')
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: rotation_rules: duration {duration:?} is not a number of hours"
        ))
        .hint("write it as \"3h\""));
    }
    Ok(())
}

#[async_trait]
impl ResourceType for SecretRotationResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let mut planned = plan_from_schema(&self.schema, prior, config).planned;
        keep_empty_values(&self.schema, prior, config, &mut planned);
        if let Some(prior) = prior {
            // Unset rule arguments the provider records empty ("", 0) plan no change.
            if let (Some(Value::List(before) | Value::Tuple(before)), Value::Object(fields)) =
                (prior.get("rotation_rules"), &mut planned)
                && let Some(Value::List(after)) = fields.get_mut("rotation_rules")
            {
                let rule_schema = &self.schema.blocks["rotation_rules"].schema;
                let configured = config
                    .get("rotation_rules")
                    .and_then(Value::as_seq)
                    .unwrap_or(&[]);
                for ((b, a), c) in before.iter().zip(after.iter_mut()).zip(configured) {
                    keep_empty_values(rule_schema, Some(b), c, a);
                }
            }
        } else {
            // Known at plan: the secret's rotation is on once created.
            if let Value::Object(fields) = &mut planned {
                fields.insert("rotation_enabled".into(), Value::Bool(true));
            }
        }
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.rotate(planned).await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(id) = state.str_attr("id").or_else(|| state.str_attr("secret_id")) else {
            return Ok(None);
        };
        self.read_rotation(id, state).await
    }

    /// As the provider: only a change of the function or the rules calls RotateSecret
    /// (`rotate_immediately` alone is recorded).
    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let changed = ["rotation_lambda_arn", "rotation_rules"]
            .iter()
            .any(|name| {
                let before = prior.get(name).unwrap_or(&Value::Null);
                let after = planned.get(name).unwrap_or(&Value::Null);
                !before.same_as(after)
            })
            || prior.get("rotation_enabled").and_then(Value::as_bool) != Some(true);
        if changed {
            return self.rotate(planned).await;
        }
        let planned = planned.deep_unmarked();
        let id = required_str(prior, "id", TYPE)?;
        self.read_rotation(id, &planned).await?.ok_or_else(|| {
            ProviderError::with_code(
                "ResourceNotFoundException",
                format!("{TYPE}: the rotation of {id} is off or its secret is gone"),
            )
            .hint("plan again: forge then sets the rotation anew")
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("secret_id").or_else(|| state.str_attr("id")) else {
            return Ok(());
        };
        let call = self.client.cancel_rotate_secret().secret_id(id);
        found(call.send().await.map_err(sdk_error))?;
        Ok(())
    }

    /// A create whose answer was lost turned rotation on or did not: a secret whose
    /// rotation is on is that create's (the engine's update then brings it to the
    /// configuration).
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let Some(secret_id) = planned
            .get("secret_id")
            .filter(|v| v.is_wholly_known())
            .and_then(Value::as_str)
        else {
            return Ok(Finding::CannotTell);
        };
        Ok(match self.read_rotation(secret_id, &planned).await? {
            Some(object) => {
                let id = object.str_attr("id").unwrap_or(secret_id).to_string();
                Finding::Found(Found {
                    object,
                    created: None,
                    by: FoundBy::Name,
                    id,
                })
            }
            None => Finding::Absent,
        })
    }

    /// The provider's version 0 predates `rotate_immediately`: such a state rotated at
    /// once, which the new argument's default says.
    fn upgrade_step(&self, from: u64, state: Value) -> ProviderResult<Value> {
        match (from, state) {
            (0, Value::Object(mut fields)) => {
                fields
                    .entry("rotate_immediately".to_string())
                    .or_insert(Value::Bool(true));
                Ok(Value::Object(fields))
            }
            (from, _) => Err(ProviderError::new(format!(
                "{TYPE}: forge cannot upgrade a state at schema version {from}"
            ))
            .hint("re-import the rotation with forge import (its id is the secret's ARN)")),
        }
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_rotation(id, &Value::object([("secret_id", Value::string(id))]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_rule(rule: Vec<(&str, Value)>) -> Value {
        Value::object([
            ("secret_id", Value::string("s")),
            ("rotation_rules", Value::List(vec![Value::object(rule)])),
        ])
    }

    #[test]
    fn rules_take_exactly_one_schedule() {
        assert!(
            validate(&with_rule(vec![(
                "automatically_after_days",
                Value::Number(7.0)
            )]))
            .is_ok()
        );
        let both = with_rule(vec![
            ("automatically_after_days", Value::Number(7.0)),
            ("schedule_expression", Value::string("rate(7 days)")),
        ]);
        assert!(validate(&both).unwrap_err().message.contains("cannot both"));
        let none = with_rule(vec![("duration", Value::string("2h"))]);
        assert!(validate(&none).unwrap_err().message.contains("one of"));
        let far = with_rule(vec![("automatically_after_days", Value::Number(1001.0))]);
        assert!(validate(&far).unwrap_err().message.contains("out of range"));
    }

    /// As the provider records them (its read of a LocalStack secret, in the oracle
    /// rounds): unset rules are `""` and `0`, and a schedule hides the days AWS reports.
    #[test]
    fn unset_rules_read_as_the_providers_empty_values() {
        let days = RotationRulesType::builder()
            .automatically_after_days(7)
            .build();
        assert_eq!(
            rules_state(Some(&days)),
            Value::object([
                ("automatically_after_days", Value::Number(7.0)),
                ("duration", Value::string("")),
                ("schedule_expression", Value::string("")),
            ])
        );
        let scheduled = RotationRulesType::builder()
            .automatically_after_days(10)
            .schedule_expression("rate(10 days)")
            .duration("3h")
            .build();
        assert_eq!(
            rules_state(Some(&scheduled)),
            Value::object([
                ("automatically_after_days", Value::Number(0.0)),
                ("duration", Value::string("3h")),
                ("schedule_expression", Value::string("rate(10 days)")),
            ])
        );
        // Kept in a plan from such a state, the empty values are not a second schedule.
        let planned = with_rule(vec![
            ("automatically_after_days", Value::Number(14.0)),
            ("duration", Value::string("")),
            ("schedule_expression", Value::string("")),
        ]);
        assert!(validate(&planned).is_err());
        assert!(validate(&without_empty_rules(&planned)).is_ok());
    }

    #[test]
    fn a_schedule_goes_out_instead_of_days() {
        let rules = expand_rules(&with_rule(vec![
            ("schedule_expression", Value::string("rate(10 days)")),
            ("duration", Value::string("3h")),
        ]))
        .unwrap();
        assert_eq!(rules.schedule_expression(), Some("rate(10 days)"));
        assert_eq!(rules.automatically_after_days(), None);
        assert_eq!(rules.duration(), Some("3h"));
    }
}
