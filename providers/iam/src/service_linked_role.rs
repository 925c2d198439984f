//! `aws_iam_service_linked_role`: a role an AWS service defines and assumes, made for
//! the account by `CreateServiceLinkedRole`. As the provider (hashicorp/aws 5.100.0): the
//! id is the role's ARN (`arn:<partition>:iam::<account>:role/aws-service-role/<service>/<name>`),
//! import takes it; the service and the suffix (the part of the name after `_`) are read
//! back from it; only the description and the tags change in place; the delete is a
//! deletion task forge waits for.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_iam::types::{DeletionTaskStatusType, Role};
use forge_aws_common::adoption::{creation_time, found_by_name};
use forge_aws_common::{AwsContext, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    client, config_tags, date_string, found, keep_empty_values, plan_tags_all, read_after_create,
    replace_paths, required_str, set_attr, tag_changes, tags_from_aws, tags_state, to_aws_tags,
    with_hint,
};

const TYPE: &str = "aws_iam_service_linked_role";
/// How long a deletion task may run before forge stops waiting (the provider waits 5 min).
const DELETE_WAIT: Duration = Duration::from_secs(300);

pub struct ServiceLinkedRoleResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_iam::Client,
    schema: Schema,
}

impl ServiceLinkedRoleResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr(
                "aws_service_name",
                Attribute::required(string()).force_new(),
            )
            .attr("custom_suffix", Attribute::optional(string()).force_new())
            .attr("description", Attribute::optional(string()))
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
            .attr("create_date", Attribute::computed(string()))
            .attr("name", Attribute::computed(string()))
            .attr("path", Attribute::computed(string()))
            .attr("unique_id", Attribute::computed(string()));
        let client = client(&ctx);
        ServiceLinkedRoleResource {
            ctx,
            client,
            schema,
        }
    }

    async fn get_role(&self, name: &str) -> ProviderResult<Option<Role>> {
        let out = self.client.get_role().role_name(name).send().await;
        Ok(found(out.map_err(sdk_error))?.and_then(|o| o.role().cloned()))
    }

    /// The state of the role named in `arn`; `state` gives the recorded tags.
    async fn read_arn(&self, arn: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(parts) = RoleArn::parse(arn) else {
            return Err(bad_id(arn));
        };
        let Some(role) = self.get_role(&parts.name).await? else {
            return Ok(None);
        };
        Ok(Some(self.object_of(&parts, &role, state)))
    }

    fn object_of(&self, parts: &RoleArn, role: &Role, state: &Value) -> Value {
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(role.tags()),
        );
        Value::object([
            ("id", Value::string(role.arn())),
            ("arn", Value::string(role.arn())),
            ("aws_service_name", Value::string(&parts.service)),
            ("custom_suffix", Value::string(&parts.suffix)),
            (
                "description",
                Value::string(role.description().unwrap_or("")),
            ),
            ("create_date", date_string(role.create_date())),
            ("name", Value::string(role.role_name())),
            ("path", Value::string(role.path())),
            ("unique_id", Value::string(role.role_id())),
            ("tags", tags),
            ("tags_all", tags_all),
        ])
    }

    /// Sets the planned tags, from `old`, the tags the role has.
    async fn update_tags(
        &self,
        name: &str,
        old: &std::collections::BTreeMap<String, String>,
        planned: &Value,
    ) -> ProviderResult<()> {
        let new = self.ctx.tags_all(&config_tags(planned));
        let (removed, changed) = tag_changes(old, &new);
        if !removed.is_empty() {
            let out = self
                .client
                .untag_role()
                .role_name(name)
                .set_tag_keys(Some(removed));
            out.send().await.map_err(sdk_error)?;
        }
        if !changed.is_empty() {
            let out = self
                .client
                .tag_role()
                .role_name(name)
                .set_tags(Some(to_aws_tags(&changed)?));
            out.send().await.map_err(sdk_error)?;
        }
        Ok(())
    }

    /// Waits for a deletion task to finish; a failed task names its reason.
    async fn wait_deleted(&self, task: &str, name: &str) -> ProviderResult<()> {
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(200);
        loop {
            let out = self
                .client
                .get_service_linked_role_deletion_status()
                .deletion_task_id(task)
                .send()
                .await
                .map_err(sdk_error);
            let Some(out) = found(out)? else {
                return Ok(());
            };
            match out.status() {
                DeletionTaskStatusType::Succeeded => return Ok(()),
                DeletionTaskStatusType::Failed => {
                    let reason = out
                        .reason()
                        .and_then(|r| r.reason())
                        .unwrap_or("no reason given");
                    return Err(ProviderError::new(format!(
                        "{TYPE}: IAM could not delete service-linked role {name}: {reason}"
                    ))
                    .hint(
                        "the service still uses the role: delete the resources that use it first",
                    ));
                }
                _ if started.elapsed() >= DELETE_WAIT => {
                    return Err(ProviderError::new(format!(
                        "{TYPE}: the deletion of service-linked role {name} did not finish within {} s",
                        DELETE_WAIT.as_secs()
                    ))
                    .hint("run again later: the next run finds the role gone or deletes it"));
                }
                _ => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// The parts of a service-linked role's ARN.
#[derive(Debug, PartialEq)]
struct RoleArn {
    service: String,
    name: String,
    /// The part of the name after its one `_`, "" without one.
    suffix: String,
}

impl RoleArn {
    fn parse(arn: &str) -> Option<RoleArn> {
        let resource = arn.strip_prefix("arn:")?.splitn(5, ':').nth(4)?;
        let parts: Vec<&str> = resource.split('/').collect();
        let [kind, "aws-service-role", service, name] = parts.as_slice() else {
            return None;
        };
        if *kind != "role" || service.is_empty() || name.is_empty() {
            return None;
        }
        // As the provider: a suffix only when the name has exactly one `_`.
        let suffix = match name.split('_').collect::<Vec<_>>().as_slice() {
            [_, suffix] => suffix.to_string(),
            _ => String::new(),
        };
        Some(RoleArn {
            service: service.to_string(),
            name: name.to_string(),
            suffix,
        })
    }
}

fn bad_id(id: &str) -> ProviderError {
    ProviderError::new(format!("{TYPE}: {id:?} is not a service-linked role ARN")).hint(
        "import by the role's ARN: arn:aws:iam::<account>:role/aws-service-role/<service>/<name>",
    )
}

/// Application Auto Scaling names its roles with a suffix of its own: an unset suffix
/// there means "the one the service chose", as in the provider.
fn suffix_chosen_by_service(service: &str) -> bool {
    service.contains(".application-autoscaling.")
}

/// Refuses at plan what IAM would refuse.
fn validate(config: &Value) -> ProviderResult<()> {
    if let Some(service) = config.str_attr("aws_service_name")
        && !service.contains('.')
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: aws_service_name {service:?} is not a service's host name"
        ))
        .hint("give the full name, e.g. elasticbeanstalk.amazonaws.com"));
    }
    if let Some(description) = config.str_attr("description")
        && description.chars().count() > 1000
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: description is {} characters long; IAM allows at most 1000",
            description.chars().count()
        )));
    }
    Ok(())
}

#[async_trait]
impl ResourceType for ServiceLinkedRoleResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        keep_empty_values(&self.schema, prior, config, &mut planned);
        let service = config.str_attr("aws_service_name").unwrap_or("");
        if let Some(prior) = prior
            && config.get("custom_suffix").is_none_or(Value::is_null)
            && suffix_chosen_by_service(service)
            && let Some(recorded) = prior.get("custom_suffix")
        {
            set_attr(&mut planned, "custom_suffix", recorded.clone());
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
        let service = required_str(&planned, "aws_service_name", TYPE)?;
        let text = |name: &str| {
            planned
                .str_attr(name)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let out = self
            .client
            .create_service_linked_role()
            .aws_service_name(service)
            .set_custom_suffix(text("custom_suffix"))
            .set_description(text("description"))
            .send()
            .await
            .map_err(|e| with_hint(sdk_error(e), "service-linked role", service))?;
        let role = out.role().ok_or_else(|| {
            ProviderError::new(format!(
                "{TYPE}: IAM created the role for {service} but did not say which"
            ))
        })?;
        let arn = role.arn().to_string();
        let name = role.role_name().to_string();
        // IAM takes no tags with the create: they follow, as the provider adds them.
        let tags = self.ctx.tags_all(&config_tags(&planned));
        if !tags.is_empty() {
            self.update_tags(&name, &Default::default(), &planned)
                .await?;
        }
        let planned = &planned;
        read_after_create(&format!("IAM service-linked role {name}"), || {
            self.read_arn(&arn, planned)
        })
        .await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(arn) = state.str_attr("id").or_else(|| state.str_attr("arn")) else {
            return Ok(None);
        };
        self.read_arn(arn, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let arn = required_str(prior, "id", TYPE)?.to_string();
        let parts = RoleArn::parse(&arn).ok_or_else(|| bad_id(&arn))?;
        let description = |v: &Value| v.str_attr("description").unwrap_or("").to_string();
        if description(prior) != description(&planned) {
            self.client
                .update_role()
                .role_name(&parts.name)
                .description(description(&planned))
                .send()
                .await
                .map_err(|e| with_hint(sdk_error(e), "service-linked role", &parts.name))?;
        }
        let old = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        self.update_tags(&parts.name, &old, &planned).await?;
        self.read_arn(&arn, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "IAM service-linked role {} disappeared during the update",
                parts.name
            ))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(arn) = state.str_attr("id").or_else(|| state.str_attr("arn")) else {
            return Ok(());
        };
        let parts = RoleArn::parse(arn).ok_or_else(|| bad_id(arn))?;
        let out = self
            .client
            .delete_service_linked_role()
            .role_name(&parts.name)
            .send()
            .await;
        let Some(out) = found(out.map_err(sdk_error))? else {
            return Ok(());
        };
        self.wait_deleted(out.deletion_task_id(), &parts.name).await
    }

    /// A service has one role per suffix, named by IAM from the service and the suffix:
    /// the roles of the account under the service's path are looked through for one
    /// with the planned suffix (no suffix: the one without).
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let (Some(service), Some(suffix)) = (
            planned
                .get("aws_service_name")
                .filter(|v| v.is_wholly_known())
                .and_then(Value::as_str),
            planned
                .get("custom_suffix")
                .filter(|v| v.is_wholly_known())
                .map(|v| v.as_str().unwrap_or("").to_string()),
        ) else {
            return Ok(Finding::CannotTell);
        };
        let prefix = format!("/aws-service-role/{service}/");
        let roles = crate::common::all_pages(|marker| {
            let prefix = prefix.clone();
            async move {
                let out = self
                    .client
                    .list_roles()
                    .path_prefix(prefix)
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                let next = crate::common::next_marker(out.is_truncated(), out.marker());
                Ok((out.roles().to_vec(), next))
            }
        })
        .await?;
        let mine = roles.iter().find(|r| {
            RoleArn::parse(r.arn()).is_some_and(|p| p.service == service && p.suffix == suffix)
        });
        let Some(listed) = mine else {
            return Ok(Finding::Absent);
        };
        // The listing leaves out the tags: the role is read as `read` would.
        let Some(role) = self.get_role(listed.role_name()).await? else {
            return Ok(Finding::Absent);
        };
        let Some(parts) = RoleArn::parse(role.arn()) else {
            return Ok(Finding::Absent);
        };
        let object = self.object_of(&parts, &role, &planned);
        Ok(found_by_name(
            role.arn(),
            Some(object),
            creation_time(Some(role.create_date())),
        ))
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_arn(id, &Value::object([("id", Value::string(id))]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_give_the_service_the_name_and_the_suffix() {
        let arn = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling_web";
        assert_eq!(
            RoleArn::parse(arn),
            Some(RoleArn {
                service: "autoscaling.amazonaws.com".into(),
                name: "AWSServiceRoleForAutoScaling_web".into(),
                suffix: "web".into(),
            })
        );
        let plain = "arn:aws:iam::123456789012:role/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticBeanstalk";
        assert_eq!(RoleArn::parse(plain).unwrap().suffix, "");
        // Two underscores: no suffix, as the provider reads it.
        let two = "arn:aws:iam::1:role/aws-service-role/s.amazonaws.com/A_b_c";
        assert_eq!(RoleArn::parse(two).unwrap().suffix, "");
        assert_eq!(RoleArn::parse("arn:aws:iam::1:role/app"), None);
        assert_eq!(RoleArn::parse("AWSServiceRoleForElasticBeanstalk"), None);
        assert!(bad_id("x").hint.unwrap().contains("aws-service-role"));
    }

    #[test]
    fn a_service_name_without_a_dot_and_long_descriptions_are_refused() {
        let config = |service: &str, description: &str| {
            Value::object([
                ("aws_service_name", Value::string(service)),
                ("description", Value::string(description)),
            ])
        };
        assert!(validate(&config("elasticbeanstalk", "")).is_err());
        assert!(validate(&config("elasticbeanstalk.amazonaws.com", &"x".repeat(1001))).is_err());
        assert!(validate(&config("elasticbeanstalk.amazonaws.com", "ok")).is_ok());
    }

    #[test]
    fn an_unset_suffix_keeps_the_one_application_auto_scaling_chose() {
        let rt = ServiceLinkedRoleResource::new(Arc::new(AwsContext::for_schemas_only()));
        let service = "ecs.application-autoscaling.amazonaws.com";
        let prior = Value::object([
            ("aws_service_name", Value::string(service)),
            ("custom_suffix", Value::string("ECSService")),
            ("description", Value::string("")),
            ("tags", Value::Null),
            ("tags_all", Value::Map(Default::default())),
        ]);
        let config = Value::object([
            ("aws_service_name", Value::string(service)),
            ("custom_suffix", Value::Null),
        ]);
        let plan = rt.plan(Some(&prior), &config).unwrap();
        assert!(
            plan.requires_replace.is_empty(),
            "{:?}",
            plan.requires_replace
        );
        // Elsewhere an unset suffix where one is recorded is a new role.
        let other = Value::object([
            (
                "aws_service_name",
                Value::string("autoscaling.amazonaws.com"),
            ),
            ("custom_suffix", Value::Null),
        ]);
        let mut prior_other = prior.clone();
        set_attr(
            &mut prior_other,
            "aws_service_name",
            Value::string("autoscaling.amazonaws.com"),
        );
        let plan = rt.plan(Some(&prior_other), &other).unwrap();
        assert_eq!(plan.requires_replace, vec!["custom_suffix".to_string()]);
    }
}
