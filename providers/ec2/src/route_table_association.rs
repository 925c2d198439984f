//! `aws_route_table_association`: a subnet's (or an edge gateway's) association with a
//! route table. Its id is the association id (`rtbassoc-...`); moving it to another table
//! is ReplaceRouteTableAssociation, in place, which gives it a new id, as in the provider.
//! Imported by `subnet-id/rtb-id` or `igw-id/rtb-id`, the provider's import id.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, RouteTableAssociation, RouteTableAssociationStateCode};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, Found, FoundBy, PlannedState, ProviderError,
    ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{client, is_not_found, replace_paths, required_str};

const TYPE: &str = "aws_route_table_association";

pub struct RouteTableAssociationResource {
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

impl RouteTableAssociationResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("route_table_id", Attribute::required(string()))
            .attr("subnet_id", Attribute::optional(string()).force_new())
            .attr("gateway_id", Attribute::optional(string()).force_new())
            .attr("id", Attribute::computed(string()))
            .attr("timeouts", forge_aws_common::values::timeouts_attribute());
        RouteTableAssociationResource {
            client: client(&ctx),
            schema,
        }
    }

    /// The live associations matching `filter` (name and value of a DescribeRouteTables
    /// filter), with their table; disassociated ones left out.
    async fn associations(
        &self,
        filter: &str,
        value: &str,
    ) -> ProviderResult<Vec<RouteTableAssociation>> {
        let out = match self
            .client
            .describe_route_tables()
            .filters(Filter::builder().name(filter).values(value).build())
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => out,
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(out
            .route_tables()
            .iter()
            .flat_map(|t| t.associations())
            .filter(|a| {
                !matches!(
                    a.association_state().and_then(|s| s.state()),
                    Some(
                        RouteTableAssociationStateCode::Disassociated
                            | RouteTableAssociationStateCode::Disassociating
                    )
                )
            })
            .cloned()
            .collect())
    }

    async fn read_by_id(&self, id: &str) -> ProviderResult<Option<Value>> {
        let found = self
            .associations("association.route-table-association-id", id)
            .await?;
        Ok(found
            .iter()
            .find(|a| a.route_table_association_id() == Some(id))
            .map(state_of))
    }

    /// The association of `target` (a subnet or gateway id) with `table`, if there is one.
    async fn find_for(&self, target: &str, table: &str) -> ProviderResult<Option<Value>> {
        let filter = if target.starts_with("subnet-") {
            "association.subnet-id"
        } else {
            "association.gateway-id"
        };
        let found = self.associations(filter, target).await?;
        Ok(found
            .iter()
            .find(|a| {
                a.route_table_id() == Some(table)
                    && (a.subnet_id() == Some(target) || a.gateway_id() == Some(target))
            })
            .map(state_of))
    }

    /// Reads until the new association is visible.
    async fn read_created(&self, id: &str) -> ProviderResult<Value> {
        let backoff = Backoff {
            attempts: 8,
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        };
        retry(backoff, is_not_found, || async {
            self.read_by_id(id).await?.ok_or_else(|| {
                ProviderError::with_code(
                    "InvalidAssociationID.NotFound",
                    format!("route table association {id} is not visible yet after its creation"),
                )
            })
        })
        .await
    }
}

/// The state the provider records for an association.
fn state_of(a: &RouteTableAssociation) -> Value {
    let text = |v: Option<&str>| Value::string(v.unwrap_or_default());
    Value::object([
        ("id", text(a.route_table_association_id())),
        ("route_table_id", text(a.route_table_id())),
        ("subnet_id", text(a.subnet_id())),
        ("gateway_id", text(a.gateway_id())),
        ("timeouts", Value::Null),
    ])
}

/// The association's target as configured: exactly one of `subnet_id` and `gateway_id`.
fn target_of(config: &Value) -> ProviderResult<Option<&str>> {
    let set = |n: &str| {
        config
            .get(n)
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
    };
    match (set("subnet_id"), set("gateway_id")) {
        (true, false) => Ok(config.str_attr("subnet_id")),
        (false, true) => Ok(config.str_attr("gateway_id")),
        (both, _) => Err(ProviderError::new(format!(
            "{TYPE}: {}",
            if both {
                "`subnet_id` and `gateway_id` conflict"
            } else {
                "one of `subnet_id` or `gateway_id` is required"
            }
        ))
        .hint("set exactly one of subnet_id (a subnet) or gateway_id (an edge gateway)")),
    }
}

#[async_trait]
impl ResourceType for RouteTableAssociationResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        forge_aws_common::values::check_no_timeouts(TYPE, config)?;
        target_of(config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        // The unset target is recorded as "" by the provider: keep it so.
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
        if let (Some(prior), Value::Object(m)) = (prior, &mut planned) {
            // Another table is a ReplaceRouteTableAssociation: a new association id.
            if config
                .get("route_table_id")
                .is_some_and(|t| !t.same_as(prior.get("route_table_id").unwrap_or(&Value::Null)))
            {
                m.insert("id".to_string(), Value::Unknown);
            }
        }
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let table = required_str(&planned, "route_table_id", TYPE)?;
        let target = target_of(&planned)?.unwrap_or_default();
        let request = self.client.associate_route_table().route_table_id(table);
        let request =
            if target.starts_with("subnet-") || planned.str_attr("subnet_id") == Some(target) {
                request.subnet_id(target)
            } else {
                request.gateway_id(target)
            };
        let out = retry(
            Backoff {
                attempts: 6,
                first_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(5),
            },
            // A table just created may not be visible to this call yet.
            |e| e.code.as_deref() == Some("InvalidRouteTableID.NotFound"),
            || async { request.clone().send().await.map_err(sdk_error) },
        )
        .await
        .map_err(|e| match e.code.as_deref() {
            Some("Resource.AlreadyAssociated") => e.hint(
                "the subnet or gateway is associated with another route table: a subnet takes one; remove that association or import it",
            ),
            Some(c) if c.ends_with(".NotFound") => {
                e.hint("route_table_id, subnet_id or gateway_id names nothing in this region")
            }
            _ => e,
        })?;
        let id = out
            .association_id()
            .ok_or_else(|| ProviderError::new("AssociateRouteTable returned no association id"))?;
        self.read_created(id).await
    }

    /// AssociateRouteTable takes no idempotency token; a subnet (or gateway) has one
    /// association at a time, so the association of the configured target with the
    /// configured table is the one this create made.
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let (Some(target), Some(table)) =
            (target_of(&planned)?, planned.str_attr("route_table_id"))
        else {
            return Ok(Finding::Absent);
        };
        match self.find_for(target, table).await? {
            Some(object) => Ok(Finding::Found(Found {
                id: format!("{target}/{table}"),
                object,
                created: None,
                by: FoundBy::Name,
            })),
            None => Ok(Finding::Absent),
        }
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        match state.str_attr("id") {
            Some(id) => self.read_by_id(id).await,
            None => Ok(None),
        }
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let id = required_str(prior, "id", TYPE)?;
        let table = required_str(&planned, "route_table_id", TYPE)?;
        let out = self
            .client
            .replace_route_table_association()
            .association_id(id)
            .route_table_id(table)
            .send()
            .await
            .map_err(sdk_error);
        match out {
            // Gone meanwhile: associate again, as the provider does.
            Err(e)
                if is_not_found(&e)
                    && e.code.as_deref() != Some("InvalidRouteTableID.NotFound") =>
            {
                self.create(&planned).await
            }
            Err(e) => Err(e),
            Ok(out) => {
                let new_id = out.new_association_id().ok_or_else(|| {
                    ProviderError::new("ReplaceRouteTableAssociation returned no association id")
                })?;
                self.read_created(new_id).await
            }
        }
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        match self
            .client
            .disassociate_route_table()
            .association_id(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Err(e) if !is_not_found(&e) => Err(e),
            _ => Ok(()),
        }
    }

    /// Imported by `subnet-id/rtb-id` or `gateway-id/rtb-id`, as in the provider.
    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let Some((target, table)) = id
            .split_once('/')
            .filter(|(t, r)| !t.is_empty() && !r.is_empty() && !r.contains('/'))
        else {
            return Err(ProviderError::new(format!(
                "{TYPE}: import id {id:?} is not `subnet-id/route-table-id` or `gateway-id/route-table-id`"
            ))
            .hint("for example subnet-0123456789abcdef0/rtb-0123456789abcdef0"));
        };
        self.find_for(target, table).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_target() {
        let subnet = Value::object([("subnet_id", Value::string("subnet-1"))]);
        assert_eq!(target_of(&subnet).unwrap(), Some("subnet-1"));
        let gateway = Value::object([
            ("subnet_id", Value::Null),
            ("gateway_id", Value::string("igw-1")),
        ]);
        assert_eq!(target_of(&gateway).unwrap(), Some("igw-1"));
        let both = Value::object([
            ("subnet_id", Value::string("subnet-1")),
            ("gateway_id", Value::string("igw-1")),
        ]);
        assert!(target_of(&both).unwrap_err().message.contains("conflict"));
        let none = Value::object([("subnet_id", Value::Null)]);
        assert!(target_of(&none).unwrap_err().message.contains("required"));
    }
}
