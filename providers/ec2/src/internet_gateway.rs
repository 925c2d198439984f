//! `aws_internet_gateway`: an internet gateway and its attachment to one VPC, which the
//! provider manages as part of the gateway (`vpc_id`, changed in place).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{InternetGateway, ResourceType as Ec2ResourceType};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    client, config_tags, ec2_arn, is_not_found, plan_tags_all, replace_paths, required_str,
    tag_specifications, tags_from_aws, tags_state, update_tags,
};
use crate::intent_tag::{
    found_by_token, tags_with_token, token_filter, untag_recorded, without_intent_tag,
};

pub struct InternetGatewayResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

/// Attach and detach calls wait this long for a VPC that is still settling.
fn attachment_backoff() -> Backoff {
    Backoff {
        attempts: 8,
        first_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(15),
    }
}

impl InternetGatewayResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("vpc_id", Attribute::optional_computed(string()))
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
            .attr("owner_id", Attribute::computed(string()))
            .attr("timeouts", forge_aws_common::values::timeouts_attribute());
        let client = client(&ctx);
        InternetGatewayResource {
            ctx,
            client,
            schema,
        }
    }

    async fn describe(&self, id: &str) -> ProviderResult<Option<InternetGateway>> {
        match self
            .client
            .describe_internet_gateways()
            .internet_gateway_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out.internet_gateways().first().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn state_from_live(&self, igw: &InternetGateway, state: &Value) -> ProviderResult<Value> {
        let id = igw.internet_gateway_id().unwrap_or_default().to_string();
        let owner = match igw.owner_id() {
            Some(o) => o.to_string(),
            None => self.ctx.account_id().await?,
        };
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(igw.tags()),
        );
        // The provider records the first attachment's VPC, or "" when detached.
        let vpc_id = igw
            .attachments()
            .first()
            .and_then(|a| a.vpc_id())
            .unwrap_or_default();
        Ok(Value::object([
            ("id", Value::string(&id)),
            (
                "arn",
                Value::string(ec2_arn(
                    &self.ctx,
                    &owner,
                    &format!("internet-gateway/{id}"),
                )),
            ),
            ("owner_id", Value::string(&owner)),
            ("vpc_id", Value::string(vpc_id)),
            ("timeouts", Value::Null),
            ("tags", tags),
            ("tags_all", tags_all),
        ]))
    }

    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        match self.describe(id).await? {
            Some(igw) => self.state_from_live(&igw, state).await.map(Some),
            None => Ok(None),
        }
    }

    async fn attach(&self, id: &str, vpc_id: &str) -> ProviderResult<()> {
        let result = retry(attachment_backoff(), is_not_found, || async {
            self.client
                .attach_internet_gateway()
                .internet_gateway_id(id)
                .vpc_id(vpc_id)
                .send()
                .await
                .map(|_| ())
                .map_err(sdk_error)
        })
        .await;
        match result {
            // Attached already: a retry after a lost answer finds the first call's work.
            Err(e) if e.code.as_deref() == Some("Resource.AlreadyAssociated") => {
                match self.describe(id).await? {
                    Some(igw) if igw.attachments().iter().any(|a| a.vpc_id() == Some(vpc_id)) => {
                        Ok(())
                    }
                    _ => Err(e.hint(
                        "the VPC already has another internet gateway: a VPC takes only one",
                    )),
                }
            }
            Err(e) if e.code.as_deref() == Some("InvalidVpcID.NotFound") => {
                Err(e.hint("vpc_id names no VPC in this region"))
            }
            other => other,
        }
    }

    async fn detach(&self, id: &str, vpc_id: &str) -> ProviderResult<()> {
        // Public addresses mapped in the VPC keep the gateway attached for a while.
        let result = retry(
            attachment_backoff(),
            |e| e.code.as_deref() == Some("DependencyViolation"),
            || async {
                self.client
                    .detach_internet_gateway()
                    .internet_gateway_id(id)
                    .vpc_id(vpc_id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            },
        )
        .await;
        match result {
            Err(e) if is_not_found(&e) || e.code.as_deref() == Some("Gateway.NotAttached") => {
                Ok(())
            }
            Err(e) if e.code.as_deref() == Some("DependencyViolation") => Err(e.hint(
                "the VPC still has public addresses (instances, Elastic IPs) using the gateway: release them first",
            )),
            other => other,
        }
    }

    async fn create_with(&self, planned: &Value, token: Option<&str>) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let tags = tags_with_token(&self.ctx.tags_all(&config_tags(&planned)), token);
        let out = self
            .client
            .create_internet_gateway()
            .set_tag_specifications(tag_specifications(Ec2ResourceType::InternetGateway, &tags))
            .send()
            .await
            .map_err(sdk_error)?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .ok_or_else(|| ProviderError::new("CreateInternetGateway returned no gateway id"))?
            .to_string();
        self.settle_created(&id, &planned).await
    }

    /// After CreateInternetGateway: the attachment the configuration asks for, then the
    /// gateway read back.
    async fn settle_created(&self, id: &str, planned: &Value) -> ProviderResult<Value> {
        if let Some(vpc_id) = planned.str_attr("vpc_id").filter(|v| !v.is_empty()) {
            self.attach(id, vpc_id).await?;
        }
        let backoff = Backoff {
            attempts: 8,
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        };
        retry(backoff, is_not_found, || async {
            self.read_by_id(id, planned).await?.ok_or_else(|| {
                ProviderError::with_code(
                    "InvalidInternetGatewayID.NotFound",
                    format!("internet gateway {id} is not visible yet after its creation"),
                )
            })
        })
        .await
    }
}

#[async_trait]
impl ResourceType for InternetGatewayResource {
    fn type_name(&self) -> &'static str {
        "aws_internet_gateway"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        forge_aws_common::values::check_no_timeouts("aws_internet_gateway", config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
        plan_tags_all(&self.ctx, &mut planned);
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.create_with(planned, None).await
    }

    async fn create_under(&self, planned: &Value, intent: &CreateIntent) -> ProviderResult<Value> {
        // The marker stays on the gateway until `created_recorded`; state never holds it.
        self.create_with(planned, Some(&intent.token))
            .await
            .map(without_intent_tag)
    }

    async fn created_recorded(&self, state: &Value) -> ProviderResult<()> {
        untag_recorded(&self.client, state).await
    }

    /// CreateInternetGateway takes no idempotency token: the gateway made under the
    /// intent carries its token as a tag from its first request.
    async fn find_created(
        &self,
        planned: &Value,
        intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let out = self
            .client
            .describe_internet_gateways()
            .filters(token_filter(&intent.token))
            .send()
            .await
            .map_err(sdk_error)?;
        let Some(id) = out
            .internet_gateways()
            .first()
            .and_then(|g| g.internet_gateway_id())
            .map(str::to_string)
        else {
            return Ok(Finding::Absent);
        };
        // The create may have stopped before the attachment: finish it as it would.
        let planned = planned.deep_unmarked();
        let object = without_intent_tag(self.settle_created(&id, &planned).await?);
        Ok(found_by_token(id, object))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(id) = state.str_attr("id") else {
            return Ok(None);
        };
        self.read_by_id(id, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let id = required_str(prior, "id", "aws_internet_gateway")?.to_string();
        let old_tags = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new_tags = self.ctx.tags_all(&config_tags(&planned));
        update_tags(&self.client, &id, &old_tags, &new_tags).await?;
        let had = prior.str_attr("vpc_id").unwrap_or_default();
        let wants = planned.str_attr("vpc_id").unwrap_or_default();
        if had != wants {
            if !had.is_empty() {
                self.detach(&id, had).await?;
            }
            if !wants.is_empty() {
                self.attach(&id, wants).await?;
            }
        }
        self.read_by_id(&id, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "internet gateway {id} disappeared during the update"
            ))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        // Detach from whatever VPC it is attached to now, not only the recorded one.
        let Some(igw) = self.describe(id).await? else {
            return Ok(());
        };
        for vpc in igw.attachments().iter().filter_map(|a| a.vpc_id()) {
            self.detach(id, vpc).await?;
        }
        match self
            .client
            .delete_internet_gateway()
            .internet_gateway_id(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_by_id(id, &Value::object([("id", Value::string(id))]))
            .await
    }
}
