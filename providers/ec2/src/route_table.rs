//! `aws_route_table`: a VPC route table with its inline routes and VPN gateway
//! propagations. `route` is optional and computed, as in the provider: with no `route`
//! block the routes are left as they are (and read back). forge takes `route { ... }`
//! blocks only; the provider's attribute spelling `route = []` (remove every route) is
//! refused by the configuration check, naming the block syntax (README "Known
//! incompatibilities").

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType as Ec2ResourceType, RouteTable};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    client, config_tags, delete_once_released, ec2_arn, is_not_found, plan_tags_all, replace_paths,
    required_str, set_attr, string_set, strings_in, tag_specifications, tags_from_aws, tags_state,
    update_tags,
};
use crate::intent_tag::{
    found_by_token, tags_with_token, token_filter, untag_recorded, without_intent_tag,
};
use crate::route_table_routes::{
    check_route, check_route_names, destination_of, normalize_routes, route_block, route_changes,
    route_from_aws, target_of,
};

const TYPE: &str = "aws_route_table";

pub struct RouteTableResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

impl RouteTableResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("vpc_id", Attribute::required(string()).force_new())
            // `route { ... }` blocks, as modules write them (the provider's
            // attribute-as-block mode; see the module comment for `route = []`).
            .block("route", route_block())
            .attr(
                "propagating_vgws",
                Attribute::optional_computed(AttrType::Set(Box::new(string()))),
            )
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
        RouteTableResource {
            ctx,
            client,
            schema,
        }
    }

    async fn describe(&self, id: &str) -> ProviderResult<Option<RouteTable>> {
        match self
            .client
            .describe_route_tables()
            .route_table_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out.route_tables().first().cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn state_from_live(&self, table: &RouteTable, state: &Value) -> ProviderResult<Value> {
        let id = table.route_table_id().unwrap_or_default().to_string();
        let owner = match table.owner_id() {
            Some(o) => o.to_string(),
            None => self.ctx.account_id().await?,
        };
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(table.tags()),
        );
        let vgws = string_set(
            table
                .propagating_vgws()
                .iter()
                .filter_map(|v| v.gateway_id())
                .map(str::to_string),
        );
        let routes = Value::set(table.routes().iter().filter_map(route_from_aws));
        Ok(Value::object([
            ("id", Value::string(&id)),
            (
                "arn",
                Value::string(ec2_arn(&self.ctx, &owner, &format!("route-table/{id}"))),
            ),
            ("owner_id", Value::string(&owner)),
            ("vpc_id", Value::string(table.vpc_id().unwrap_or_default())),
            ("route", routes),
            ("propagating_vgws", vgws),
            ("timeouts", Value::Null),
            ("tags", tags),
            ("tags_all", tags_all),
        ]))
    }

    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        match self.describe(id).await? {
            Some(table) => self.state_from_live(&table, state).await.map(Some),
            None => Ok(None),
        }
    }

    /// Reads until the new table is visible (DescribeRouteTables can lag the create).
    async fn read_created(&self, id: &str, planned: &Value) -> ProviderResult<Value> {
        let backoff = Backoff {
            attempts: 8,
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        };
        retry(backoff, is_not_found, || async {
            self.read_by_id(id, planned).await?.ok_or_else(|| {
                ProviderError::with_code(
                    "InvalidRouteTableID.NotFound",
                    format!("route table {id} is not visible yet after its creation"),
                )
            })
        })
        .await
    }

    /// Brings the table's routes from `had` to the planned ones, creating, replacing and
    /// deleting by destination as the provider does.
    async fn apply_routes(&self, id: &str, had: &[Value], wants: &[Value]) -> ProviderResult<()> {
        let changes = route_changes(had, wants);
        for route in &changes.create {
            self.create_route(id, route).await?;
        }
        for route in &changes.replace {
            self.replace_route(id, route).await?;
        }
        for route in &changes.delete {
            self.delete_route(id, route).await?;
        }
        Ok(())
    }

    async fn create_route(&self, id: &str, route: &Value) -> ProviderResult<()> {
        check_route(route)?;
        let text = |n: &str| {
            route
                .str_attr(n)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let result = retry(
            Backoff {
                attempts: 6,
                first_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(5),
            },
            // A gateway just attached can be refused for a moment.
            |e| e.code.as_deref() == Some("InvalidParameterException"),
            || async {
                self.client
                    .create_route()
                    .route_table_id(id)
                    .set_destination_cidr_block(text("cidr_block"))
                    .set_destination_ipv6_cidr_block(text("ipv6_cidr_block"))
                    .set_destination_prefix_list_id(text("destination_prefix_list_id"))
                    .set_carrier_gateway_id(text("carrier_gateway_id"))
                    .set_core_network_arn(text("core_network_arn"))
                    .set_egress_only_internet_gateway_id(text("egress_only_gateway_id"))
                    .set_gateway_id(text("gateway_id"))
                    .set_local_gateway_id(text("local_gateway_id"))
                    .set_nat_gateway_id(text("nat_gateway_id"))
                    .set_network_interface_id(text("network_interface_id"))
                    .set_transit_gateway_id(text("transit_gateway_id"))
                    .set_vpc_endpoint_id(text("vpc_endpoint_id"))
                    .set_vpc_peering_connection_id(text("vpc_peering_connection_id"))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            },
        )
        .await;
        result.map_err(|e| route_error(e, id, route))
    }

    async fn replace_route(&self, id: &str, route: &Value) -> ProviderResult<()> {
        check_route(route)?;
        let text = |n: &str| {
            route
                .str_attr(n)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        self.client
            .replace_route()
            .route_table_id(id)
            .set_destination_cidr_block(text("cidr_block"))
            .set_destination_ipv6_cidr_block(text("ipv6_cidr_block"))
            .set_destination_prefix_list_id(text("destination_prefix_list_id"))
            .set_carrier_gateway_id(text("carrier_gateway_id"))
            .set_core_network_arn(text("core_network_arn"))
            .set_egress_only_internet_gateway_id(text("egress_only_gateway_id"))
            .set_gateway_id(text("gateway_id"))
            .set_local_gateway_id(text("local_gateway_id"))
            .set_nat_gateway_id(text("nat_gateway_id"))
            .set_network_interface_id(text("network_interface_id"))
            .set_transit_gateway_id(text("transit_gateway_id"))
            .set_vpc_endpoint_id(text("vpc_endpoint_id"))
            .set_vpc_peering_connection_id(text("vpc_peering_connection_id"))
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error)
            .map_err(|e| route_error(e, id, route))
    }

    async fn delete_route(&self, id: &str, route: &Value) -> ProviderResult<()> {
        let Some((kind, destination)) = destination_of(route) else {
            return Ok(());
        };
        let request = self.client.delete_route().route_table_id(id);
        let request = match kind {
            "cidr_block" => request.destination_cidr_block(destination),
            "ipv6_cidr_block" => request.destination_ipv6_cidr_block(destination),
            _ => request.destination_prefix_list_id(destination),
        };
        match request.send().await.map_err(sdk_error) {
            Err(e) if !is_not_found(&e) => Err(route_error(e, id, route)),
            _ => Ok(()),
        }
    }

    async fn apply_propagations(
        &self,
        id: &str,
        had: &[String],
        wants: &[String],
    ) -> ProviderResult<()> {
        for gone in had.iter().filter(|g| !wants.contains(g)) {
            self.client
                .disable_vgw_route_propagation()
                .route_table_id(id)
                .gateway_id(gone)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        for new in wants.iter().filter(|g| !had.contains(g)) {
            retry(
                Backoff {
                    attempts: 6,
                    first_delay: Duration::from_secs(1),
                    max_delay: Duration::from_secs(10),
                },
                // A VPN gateway still attaching to the VPC.
                |e| e.code.as_deref() == Some("Gateway.NotAttached"),
                || async {
                    self.client
                        .enable_vgw_route_propagation()
                        .route_table_id(id)
                        .gateway_id(new)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(sdk_error)
                },
            )
            .await
            .map_err(|e| e.hint("propagating_vgws names VPN gateways attached to this VPC"))?;
        }
        Ok(())
    }

    async fn create_with(&self, planned: &Value, token: Option<&str>) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let vpc_id = required_str(&planned, "vpc_id", TYPE)?;
        let tags = tags_with_token(&self.ctx.tags_all(&config_tags(&planned)), token);
        let out = self
            .client
            .create_route_table()
            .vpc_id(vpc_id)
            // AWS answers a retry with the same token with the table already made.
            .set_client_token(token.map(str::to_string))
            .set_tag_specifications(tag_specifications(Ec2ResourceType::RouteTable, &tags))
            .send()
            .await
            .map_err(sdk_error)
            .map_err(|e| match e.code.as_deref() {
                Some("InvalidVpcID.NotFound") => e.hint("vpc_id names no VPC in this region"),
                _ => e,
            })?;
        let id = out
            .route_table()
            .and_then(|t| t.route_table_id())
            .ok_or_else(|| ProviderError::new("CreateRouteTable returned no route table id"))?
            .to_string();
        self.settle_created(&id, &planned).await
    }

    /// After CreateRouteTable: the propagations and routes the plan asks for that the
    /// table lacks (none on a fresh table; some after a create cut short), then the table
    /// read back.
    async fn settle_created(&self, id: &str, planned: &Value) -> ProviderResult<Value> {
        let live = self.read_created(id, planned).await?;
        let had_vgws = strings_in(live.get("propagating_vgws").unwrap_or(&Value::Null));
        if let Some(wants) = planned.get("propagating_vgws").filter(|v| !v.is_null()) {
            self.apply_propagations(id, &had_vgws, &strings_in(wants))
                .await?;
        }
        if let Some(wants) = planned.get("route").and_then(Value::as_seq) {
            let had = live.get("route").and_then(Value::as_seq).unwrap_or(&[]);
            // Only what is missing: a route of the table's own is not ours to remove here.
            let missing: Vec<Value> = wants
                .iter()
                .filter(|w| {
                    !had.iter().any(|h| {
                        destination_of(h) == destination_of(w) && target_of(h) == target_of(w)
                    })
                })
                .cloned()
                .collect();
            let with_missing: Vec<Value> = had.iter().chain(missing.iter()).cloned().collect();
            self.apply_routes(id, had, &with_missing).await?;
        }
        self.read_created(id, planned).await
    }
}

/// The planned `route` set. No `route` block leaves the routes as they are (the prior
/// ones; none for a new table), as the provider's optional+computed set does; configured
/// blocks are normalised to the provider's shape and checked.
fn plan_routes(prior: Option<&Value>, config: &Value) -> ProviderResult<Value> {
    let configured = config.get("route").and_then(Value::as_seq).unwrap_or(&[]);
    if configured.is_empty() {
        return Ok(match prior.and_then(|p| p.get("route")) {
            Some(v) if !v.is_null() => v.clone(),
            _ => Value::Set(Vec::new()),
        });
    }
    for route in configured {
        check_route_names(route)?;
    }
    let routes = normalize_routes(&Value::Tuple(configured.to_vec()));
    let mut destinations: Vec<(&str, &str)> = Vec::new();
    for route in routes.as_seq().unwrap_or(&[]) {
        check_route(route)?;
        if let Some(d) = destination_of(route).filter(|_| route.is_wholly_known()) {
            if destinations.contains(&d) {
                return Err(ProviderError::new(format!(
                    "aws_route_table: two routes have the destination {} = {:?}",
                    d.0, d.1
                ))
                .hint("a route table has one route per destination: keep one"));
            }
            destinations.push(d);
        }
    }
    Ok(routes)
}

/// A route call's error, naming the route and what to check.
fn route_error(e: ProviderError, table: &str, route: &Value) -> ProviderError {
    let destination = destination_of(route).map_or("?", |(_, d)| d);
    let target = target_of(route).map_or("?", |(_, t)| t);
    let message = format!(
        "route to {destination} through {target} in route table {table}: {}",
        e.message
    );
    let hint = match e.code.as_deref() {
        Some("RouteAlreadyExists") => {
            "another route of the table has this destination: one route per destination"
        }
        Some(c) if c.ends_with(".NotFound") => {
            "the route's target does not exist (or is in another VPC or region)"
        }
        _ => "check the route's destination and target",
    };
    ProviderError { message, ..e }.hint(hint)
}

#[async_trait]
impl ResourceType for RouteTableResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        forge_aws_common::values::check_no_timeouts(TYPE, config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
        let routes = plan_routes(prior, config)?;
        set_attr(&mut planned, "route", routes);
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
        // The marker stays on the table until `created_recorded`; state never holds it.
        self.create_with(planned, Some(&intent.token))
            .await
            .map(without_intent_tag)
    }

    async fn created_recorded(&self, state: &Value) -> ProviderResult<()> {
        untag_recorded(&self.client, state).await
    }

    /// The table made under the intent carries its token as a tag from its first request
    /// (and as ClientToken, which AWS honours on a retry but cannot be searched by).
    async fn find_created(
        &self,
        planned: &Value,
        intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let out = self
            .client
            .describe_route_tables()
            .filters(token_filter(&intent.token))
            .send()
            .await
            .map_err(sdk_error)?;
        let Some(id) = out
            .route_tables()
            .first()
            .and_then(|t| t.route_table_id())
            .map(str::to_string)
        else {
            return Ok(Finding::Absent);
        };
        // The create may have stopped before its routes: finish it as it would.
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
        let id = required_str(prior, "id", TYPE)?.to_string();
        let old_tags = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new_tags = self.ctx.tags_all(&config_tags(&planned));
        update_tags(&self.client, &id, &old_tags, &new_tags).await?;
        if let Some(wants) = planned.get("propagating_vgws").filter(|v| !v.is_null()) {
            let had = strings_in(prior.get("propagating_vgws").unwrap_or(&Value::Null));
            self.apply_propagations(&id, &had, &strings_in(wants))
                .await?;
        }
        if let Some(wants) = planned.get("route").and_then(Value::as_seq) {
            let had = prior.get("route").and_then(Value::as_seq).unwrap_or(&[]);
            self.apply_routes(&id, had, wants).await?;
        }
        self.read_by_id(&id, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!("route table {id} disappeared during the update"))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        let Some(table) = self.describe(id).await? else {
            return Ok(());
        };
        // The subnets and gateways associated with it go back to the main table first.
        for association in table.associations() {
            if association.main() == Some(true) {
                continue;
            }
            if let Some(association_id) = association.route_table_association_id() {
                match self
                    .client
                    .disassociate_route_table()
                    .association_id(association_id)
                    .send()
                    .await
                    .map_err(sdk_error)
                {
                    Err(e) if !is_not_found(&e) => return Err(e),
                    _ => {}
                }
            }
        }
        delete_once_released(
            "the route table is still in use (it is the VPC's main route table, or still associated): change that first",
            || async {
                self.client
                    .delete_route_table()
                    .route_table_id(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            },
        )
        .await
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_by_id(id, &Value::object([("id", Value::string(id))]))
            .await
    }
}
