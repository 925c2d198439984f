//! `aws_instance`.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeValue, Filter, IamInstanceProfileSpecification, Instance, InstanceAttributeName,
    InstanceNetworkInterfaceSpecification, InstanceType, Placement,
    ResourceType as Ec2ResourceType, RunInstancesMonitoringEnabled,
};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, Found, FoundBy, PlannedState, ProviderError,
    ProviderResult, ResourceType, Schema, Value,
};

use crate::batched;
use crate::common::{
    client, config_tags, ec2_arn, is_not_found, is_transient, opt_string, plan_tags_all,
    replace_paths, required_str, set_attr, string_list, string_set, strings_in, tag_specifications,
    tags_from_aws, tags_state, update_tags,
};
use crate::instance_settings;
use crate::intent_tag::INTENT_TAG;
use crate::root_volume;
use crate::user_data::{
    decode_live, hash_bytes, user_data_bytes, user_data_for_aws, user_data_hash,
};

/// The tags an instance is launched with: its own (with the default tags) on the
/// instance, and the provider's `default_tags` on the volumes launched with it, as the
/// provider does (it tags volumes with the default tags merged with `volume_tags`, which
/// forge does not take).
fn launch_tag_specifications(
    instance_tags: &BTreeMap<String, String>,
    default_tags: &BTreeMap<String, String>,
) -> Option<Vec<aws_sdk_ec2::types::TagSpecification>> {
    let specifications: Vec<_> = [
        tag_specifications(Ec2ResourceType::Instance, instance_tags),
        tag_specifications(Ec2ResourceType::Volume, default_tags),
    ]
    .into_iter()
    .flatten()
    .flatten()
    .collect();
    Some(specifications).filter(|s| !s.is_empty())
}

/// How long create, update and delete wait for an instance to reach a state
/// (Terraform's default timeouts are 10 minutes for create and 20 for delete).
const STATE_TIMEOUT: Duration = Duration::from_secs(600);

pub struct InstanceResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
    /// Reads of instances that wait at the same time share one DescribeInstances; their
    /// root volumes one DescribeVolumes, their profile associations one call too.
    batchers: Arc<batched::Batchers>,
}

impl InstanceResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            // Optional and computed as in the provider (where a launch template can name
            // the image instead); forge takes no launch template, so `plan` requires it.
            .attr("ami", Attribute::optional_computed(string()).force_new())
            .attr("instance_type", Attribute::optional_computed(string()))
            .attr(
                "subnet_id",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "availability_zone",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "vpc_security_group_ids",
                Attribute::optional_computed(AttrType::Set(Box::new(string()))),
            )
            .attr(
                "iam_instance_profile",
                Attribute::optional_computed(string()),
            )
            .attr(
                "key_name",
                Attribute::optional_computed(string()).force_new(),
            )
            // Computed as in the provider: left out, the recorded value is kept.
            .attr(
                "user_data",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "user_data_base64",
                Attribute::optional_computed(string()).force_new(),
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
            .attr("private_ip", Attribute::computed(string()))
            .attr("public_ip", Attribute::computed(string()))
            .attr("private_dns", Attribute::computed(string()))
            .attr("public_dns", Attribute::computed(string()))
            .attr("instance_state", Attribute::computed(string()))
            .attr("monitoring", Attribute::optional_computed(AttrType::Bool))
            .attr(
                "associate_public_ip_address",
                Attribute::optional_computed(AttrType::Bool).force_new(),
            )
            .block("root_block_device", root_volume::block());
        // The provider's state shape for aws_instance is at version 1.
        let schema = instance_settings::add_to_schema(schema).version(1);
        let batchers = ctx.shared::<batched::Batchers>();
        let client = client(&ctx);
        InstanceResource {
            ctx,
            client,
            schema,
            batchers,
        }
    }

    async fn describe(&self, id: &str) -> ProviderResult<Option<Instance>> {
        if batched::batchable(id, "i-") {
            return self
                .batchers
                .instances
                .read(id, |ids| batched::instances(&self.client, ids))
                .await;
        }
        match self
            .client
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .next()
                .cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Polls until the instance is in one of `targets`; fails when it reaches a state
    /// it cannot leave for them (terminated while starting) or the time is up.
    async fn wait_for(
        &self,
        id: &str,
        targets: &[&str],
        gone_ok: bool,
    ) -> ProviderResult<Option<Instance>> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(250);
        loop {
            let instance = self.describe(id).await?;
            let state = instance.as_ref().map(state_name).unwrap_or_default();
            match &instance {
                None if gone_ok => return Ok(None),
                Some(_) if targets.contains(&state.as_str()) => return Ok(instance),
                Some(i) if !gone_ok && matches!(state.as_str(), "terminated" | "shutting-down") => {
                    let reason = i
                        .state_reason()
                        .and_then(|r| r.message())
                        .unwrap_or("no reason given");
                    return Err(ProviderError::new(format!("instance {id} is {state} while waiting for {targets:?}: {reason}"))
                        .hint("check the AMI, instance type and subnet, and the instance's console output"));
                }
                // Not visible yet (eventual consistency right after RunInstances) or in transition.
                _ => {}
            }
            if started.elapsed() > STATE_TIMEOUT {
                return Err(ProviderError::new(format!(
                    "instance {id} did not become {} within {} s (it is {})",
                    targets.join(" or "),
                    STATE_TIMEOUT.as_secs(),
                    if state.is_empty() {
                        "not visible"
                    } else {
                        state.as_str()
                    }
                ))
                .hint("check the instance in the EC2 console; run again to resume"));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    async fn live_user_data(&self, id: &str) -> ProviderResult<Option<Vec<u8>>> {
        let out = self
            .client
            .describe_instance_attribute()
            .instance_id(id)
            .attribute(InstanceAttributeName::UserData)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .user_data()
            .and_then(|u| u.value())
            .filter(|v| !v.is_empty())
            .map(decode_live))
    }

    /// The state of a live instance; `state` supplies how user data was configured.
    async fn state_from_live(&self, i: &Instance, state: &Value) -> ProviderResult<Value> {
        let id = i.instance_id().unwrap_or_default().to_string();
        let account = self.ctx.account_id().await?;
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(i.tags()),
        );
        // The user data, the root volume, the profile association and the remaining
        // settings are separate requests that need nothing from each other.
        let mut value = BTreeMap::new();
        let (user_data, root_block_device, association, settings) = tokio::join!(
            self.live_user_data(&id),
            root_volume::read(
                &self.client,
                &self.batchers.volumes,
                i,
                &self.ctx.default_tags
            ),
            self.associated_profile(&id),
            instance_settings::read_into(
                &self.client,
                &self.batchers,
                i,
                &self.ctx.default_tags,
                &mut value
            ),
        );
        let user_data = user_data?;
        let root_block_device = root_block_device?;
        settings?;
        let (user_data, user_data_base64) = user_data_values(state, user_data.as_deref());
        let groups = string_set(
            i.security_groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string)),
        );
        let monitoring = i
            .monitoring()
            .and_then(|m| m.state())
            .is_some_and(|s| matches!(s.as_str(), "enabled" | "pending"));
        let public_address = i
            .network_interfaces()
            .iter()
            .find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0))
            .and_then(|n| n.association())
            .and_then(|a| a.public_ip())
            .or(i.public_ip_address())
            .is_some_and(|ip| !ip.is_empty());
        let profile = match association {
            Ok(found) => found,
            // Older or partial EC2 implementations lack the association API: use the
            // instance's own field.
            Err(_) => i
                .iam_instance_profile()
                .and_then(|p| p.arn())
                .map(profile_name_from_arn),
        };
        let own = Value::object([
            ("id", Value::string(&id)),
            (
                "arn",
                Value::string(ec2_arn(&self.ctx, &account, &format!("instance/{id}"))),
            ),
            ("ami", opt_string(i.image_id())),
            (
                "instance_type",
                opt_string(i.instance_type().map(InstanceType::as_str)),
            ),
            ("subnet_id", opt_string(i.subnet_id())),
            (
                "availability_zone",
                opt_string(i.placement().and_then(|p| p.availability_zone())),
            ),
            ("vpc_security_group_ids", groups),
            // The provider records "" for an instance without a profile.
            (
                "iam_instance_profile",
                Value::string(profile.as_deref().unwrap_or("")),
            ),
            // The provider records "" for an instance launched without a key pair.
            ("key_name", Value::string(i.key_name().unwrap_or(""))),
            ("user_data", user_data),
            ("user_data_base64", user_data_base64),
            ("tags", tags),
            ("tags_all", tags_all),
            // Terraform stores "" for addresses and names an instance does not have.
            (
                "private_ip",
                Value::string(i.private_ip_address().unwrap_or_default()),
            ),
            (
                "public_ip",
                Value::string(i.public_ip_address().unwrap_or_default()),
            ),
            (
                "private_dns",
                Value::string(i.private_dns_name().unwrap_or_default()),
            ),
            (
                "public_dns",
                Value::string(i.public_dns_name().unwrap_or_default()),
            ),
            ("instance_state", Value::string(state_name(i))),
            ("monitoring", Value::Bool(monitoring)),
            ("associate_public_ip_address", Value::Bool(public_address)),
            ("root_block_device", root_block_device),
        ]);
        if let Value::Object(m) = own {
            value.extend(m);
        }
        Ok(Value::Object(value))
    }

    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        match self.describe(id).await? {
            Some(i) if !is_gone(&i) => self.state_from_live(&i, state).await.map(Some),
            // A terminated instance stays visible for a while; for forge it is gone.
            _ => Ok(None),
        }
    }

    /// RunInstances for `planned`, under an intent's token when there is one: EC2's own
    /// idempotency token, and a marker tag with it ([`INTENT_TAG`]) that the create takes
    /// off once the instance runs, so an instance whose answer never arrived is found by
    /// it (the emulators keep no `ClientToken` to look up).
    async fn run(&self, planned: &Value, token: Option<&str>) -> ProviderResult<String> {
        let ami = required_str(planned, "ami", "aws_instance")?;
        let mut tags_all = self.ctx.tags_all(&config_tags(planned));
        if let Some(token) = token {
            tags_all.insert(INTENT_TAG.to_string(), token.to_string());
        }
        let groups = string_list(planned, "vpc_security_group_ids");
        let user_data = match (
            planned.str_attr("user_data"),
            planned.str_attr("user_data_base64"),
        ) {
            (Some(u), _) => Some(user_data_for_aws(u)),
            (None, Some(b)) => Some(b.to_string()),
            (None, None) => None,
        };
        let groups = Some(groups).filter(|g| !g.is_empty());
        let subnet = planned.str_attr("subnet_id").map(str::to_string);
        let mut request = self
            .client
            .run_instances()
            .image_id(ami)
            .min_count(1)
            .max_count(1)
            .set_instance_type(planned.str_attr("instance_type").map(InstanceType::from))
            .set_key_name(planned.str_attr("key_name").map(str::to_string))
            .set_user_data(user_data)
            .set_iam_instance_profile(planned.str_attr("iam_instance_profile").map(|name| {
                IamInstanceProfileSpecification::builder()
                    .name(name)
                    .build()
            }))
            .set_placement(
                planned
                    .str_attr("availability_zone")
                    .map(|az| Placement::builder().availability_zone(az).build()),
            )
            .set_tag_specifications(launch_tag_specifications(&tags_all, &self.ctx.default_tags))
            .set_client_token(token.map(str::to_string));
        if let Some(enabled) = planned.get("monitoring").and_then(Value::as_bool) {
            request = request.monitoring(
                RunInstancesMonitoringEnabled::builder()
                    .enabled(enabled)
                    .build(),
            );
        }
        request = match planned
            .get("associate_public_ip_address")
            .and_then(Value::as_bool)
        {
            // EC2 takes the public address only on a network interface, and then the
            // subnet and groups must be given there too.
            Some(associate) => request.network_interfaces(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .associate_public_ip_address(associate)
                    .set_subnet_id(subnet)
                    .set_groups(groups)
                    .build(),
            ),
            None => request.set_subnet_id(subnet).set_security_group_ids(groups),
        };
        if let Some(root) = root_volume::configured(planned) {
            request =
                request.block_device_mappings(root_volume::mapping(&self.client, ami, root).await?);
        }
        let launched = |out: aws_sdk_ec2::operation::run_instances::RunInstancesOutput| {
            out.instances()
                .first()
                .and_then(|i| i.instance_id())
                .map(str::to_string)
                .ok_or_else(|| ProviderError::new("RunInstances returned no instance"))
        };
        let Some(token) = token else {
            let out = retry_iam_propagation(IAM_PROPAGATION, || async {
                request.clone().send().await.map_err(sdk_error)
            })
            .await
            .map_err(run_hint)?;
            return launched(out);
        };
        // Under an intent the SDK does not send RunInstances again by itself: where EC2
        // does not honour the ClientToken (the emulators), a retry after a lost answer
        // would launch a second instance. forge looks for the first one (by the intent's
        // marker) before each new attempt.
        let once = aws_sdk_ec2::config::Config::builder()
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::standard().with_max_attempts(1));
        retry_iam_propagation(IAM_PROPAGATION, || async {
            let mut delay = Duration::from_millis(200);
            let mut attempt = 1;
            loop {
                let sent = request
                    .clone()
                    .customize()
                    .config_override(once.clone())
                    .send()
                    .await
                    .map_err(sdk_error);
                match sent {
                    Ok(out) => return launched(out),
                    Err(e) if attempt < 4 && is_transient(&e) => {
                        if let Some(found) = self.instance_with_token(token).await? {
                            return Ok(found.instance_id().unwrap_or_default().to_string());
                        }
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                        attempt += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
        })
        .await
        .map_err(run_hint)
    }

    /// The instance launched under an intent's token (by its marker tag), unless gone.
    async fn instance_with_token(&self, token: &str) -> ProviderResult<Option<Instance>> {
        let out = self
            .client
            .describe_instances()
            .filters(
                Filter::builder()
                    .name(format!("tag:{INTENT_TAG}"))
                    .values(token)
                    .build(),
            )
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| !is_gone(i))
            .cloned())
    }

    /// The create, under an intent's token when there is one (see [`Self::run`]).
    async fn create_with(&self, planned: &Value, token: Option<&str>) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let id = self.run(&planned, token).await?;
        let instance = match self.wait_for(&id, &["running"], false).await {
            Ok(i) => i,
            Err(e) => {
                // Not in state yet: terminate it rather than leave an instance nobody tracks.
                let cleanup = self
                    .client
                    .terminate_instances()
                    .instance_ids(&id)
                    .send()
                    .await;
                let note = match cleanup {
                    Ok(_) => format!("instance {id} was terminated because it did not start"),
                    Err(_) => format!(
                        "instance {id} did not start and could not be terminated: terminate it by hand"
                    ),
                };
                return Err(ProviderError {
                    message: format!("{}; {note}", e.message),
                    ..e
                });
            }
        };
        if let Some(volume_id) = instance.as_ref().and_then(root_volume::volume_id) {
            root_volume::apply_tags(
                &self.client,
                &self.ctx,
                &volume_id,
                &BTreeMap::new(),
                &planned,
            )
            .await?;
        }
        let mut state = planned.clone();
        if let Some(u) = planned.str_attr("user_data") {
            set_attr(&mut state, "user_data", Value::string(user_data_hash(u)));
        }
        match instance {
            Some(i) => self.state_from_live(&i, &state).await,
            None => Err(ProviderError::new(format!(
                "instance {id} vanished right after it started"
            ))),
        }
    }

    /// Takes the intent's marker tag off a created instance once state records it (it only
    /// served to find the instance had the create's answer been lost).
    async fn remove_intent_tag(&self, id: &str) -> ProviderResult<()> {
        self.client
            .delete_tags()
            .resources(id)
            .tags(aws_sdk_ec2::types::Tag::builder().key(INTENT_TAG).build())
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn change_instance_type(&self, id: &str, instance_type: &str) -> ProviderResult<()> {
        self.client
            .stop_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(sdk_error)?;
        self.wait_for(id, &["stopped"], false).await?;
        self.client
            .modify_instance_attribute()
            .instance_id(id)
            .instance_type(AttributeValue::builder().value(instance_type).build())
            .send()
            .await
            .map_err(sdk_error)
            .map_err(|e| {
                e.hint(format!(
                    "instance type {instance_type:?} may not exist or not suit this AMI"
                ))
            })?;
        self.client
            .start_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(sdk_error)?;
        self.wait_for(id, &["running"], false).await?;
        Ok(())
    }

    /// The instance's current profile association (id and profile ARN). The association
    /// API is the authority: DescribeInstances can lag behind a replacement (LocalStack
    /// keeps reporting the old profile there).
    async fn current_association(
        &self,
        id: &str,
    ) -> ProviderResult<Option<(String, Option<String>)>> {
        let association = self
            .batchers
            .profile_associations
            .read(id, |ids| batched::profile_associations(&self.client, ids))
            .await?;
        Ok(association.and_then(|a| {
            let arn = a
                .iam_instance_profile()
                .and_then(|p| p.arn())
                .map(str::to_string);
            a.association_id().map(|assoc| (assoc.to_string(), arn))
        }))
    }

    async fn associated_profile(&self, id: &str) -> ProviderResult<Option<String>> {
        Ok(self
            .current_association(id)
            .await?
            .and_then(|(_, arn)| arn)
            .map(|arn| profile_name_from_arn(&arn)))
    }

    async fn change_profile(&self, id: &str, wanted: Option<&str>) -> ProviderResult<()> {
        let current = self.current_association(id).await?.map(|(assoc, _)| assoc);
        // "" is the provider's "no profile", as recorded and as configured to remove one.
        let wanted = wanted.filter(|name| !name.is_empty());
        match (current, wanted) {
            (None, None) => Ok(()),
            (Some(association), None) => {
                self.client
                    .disassociate_iam_instance_profile()
                    .association_id(association)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(())
            }
            (None, Some(name)) => {
                let spec = IamInstanceProfileSpecification::builder()
                    .name(name)
                    .build();
                retry_iam_propagation(IAM_PROPAGATION, || async {
                    self.client
                        .associate_iam_instance_profile()
                        .instance_id(id)
                        .iam_instance_profile(spec.clone())
                        .send()
                        .await
                        .map_err(sdk_error)
                })
                .await
                .map_err(run_hint)?;
                Ok(())
            }
            (Some(association), Some(name)) => {
                let spec = IamInstanceProfileSpecification::builder()
                    .name(name)
                    .build();
                retry_iam_propagation(IAM_PROPAGATION, || async {
                    self.client
                        .replace_iam_instance_profile_association()
                        .association_id(&association)
                        .iam_instance_profile(spec.clone())
                        .send()
                        .await
                        .map_err(sdk_error)
                })
                .await
                .map_err(run_hint)?;
                Ok(())
            }
        }
    }
}

fn state_name(i: &Instance) -> String {
    i.state()
        .and_then(|s| s.name())
        .map(|n| n.as_str().to_string())
        .unwrap_or_default()
}

fn is_gone(i: &Instance) -> bool {
    matches!(state_name(i).as_str(), "terminated" | "shutting-down")
}

/// `arn:aws:iam::123:instance-profile/path/name` -> `name`.
pub fn profile_name_from_arn(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

/// The user-data attributes for state: the configured spelling when the live data is
/// the same, else the live data (its digest for `user_data`).
fn user_data_values(state: &Value, live: Option<&[u8]>) -> (Value, Value) {
    if let Some(stored) = state.str_attr("user_data_base64") {
        let value = match live {
            Some(bytes) if user_data_bytes(stored) == bytes => Value::string(stored),
            Some(bytes) => {
                use base64::Engine;
                Value::string(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            None => Value::Null,
        };
        return (Value::Null, value);
    }
    // The digest is the stored spelling whatever was configured, so it can be compared
    // with state directly.
    (
        live.map(|bytes| Value::string(hash_bytes(bytes)))
            .unwrap_or(Value::Null),
        Value::Null,
    )
}

/// True for the error EC2 gives when an instance profile created moments ago is not
/// visible to it yet (IAM is eventually consistent).
pub fn is_iam_propagation_error(e: &ProviderError) -> bool {
    let message = e.message.to_ascii_lowercase();
    e.code.as_deref() == Some("InvalidParameterValue")
        && (message.contains("iam instance profile") || message.contains("iaminstanceprofile"))
}

/// How long a call naming an instance profile is retried while EC2 cannot see it yet:
/// the provider's `iamPropagationTimeout`, 2 minutes (17 waits from 200 ms, doubling up
/// to 10 s: about 123 s). A profile that really does not exist fails after that.
pub const IAM_PROPAGATION: Backoff = Backoff {
    attempts: 18,
    first_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(10),
};

/// Runs a call that names an instance profile, retrying while IAM propagates it.
pub async fn retry_iam_propagation<T, F, Fut>(backoff: Backoff, op: F) -> ProviderResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ProviderResult<T>>,
{
    retry(backoff, is_iam_propagation_error, op).await
}

/// `state` as it will be once the intent's marker tag is taken off (`created_recorded`).
/// A marker left by a run that stopped in between shows at the next refresh, and the
/// update that follows removes it.
fn without_intent_tag(mut state: Value) -> Value {
    for attr in ["tags", "tags_all"] {
        if let Some(Value::Map(tags)) = state.get(attr).cloned() {
            let mut tags = tags;
            if tags.remove(INTENT_TAG).is_some() {
                set_attr(&mut state, attr, Value::Map(tags));
            }
        }
    }
    state
}

fn run_hint(e: ProviderError) -> ProviderError {
    let hint = match e.code.as_deref() {
        _ if is_iam_propagation_error(&e) => {
            "the instance profile is still not visible to EC2: check iam_instance_profile names an existing instance profile"
        }
        Some("InvalidAMIID.NotFound" | "InvalidAMIID.Malformed") => {
            "the ami does not exist in this region"
        }
        Some("InvalidSubnetID.NotFound") => "subnet_id names no subnet in this region",
        Some("InvalidGroup.NotFound") => "a vpc_security_group_ids entry names no security group",
        Some("InvalidKeyPair.NotFound") => "key_name names no key pair in this region",
        _ => return e,
    };
    e.hint(hint)
}

#[async_trait]
impl ResourceType for InstanceResource {
    fn type_name(&self) -> &'static str {
        "aws_instance"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        if config.get_non_null("user_data").is_some()
            && config.get_non_null("user_data_base64").is_some()
        {
            return Err(ProviderError::new(
                "aws_instance: `user_data` and `user_data_base64` conflict",
            )
            .hint("set only one of them"));
        }
        if config.get_non_null("ami").is_none() {
            return Err(ProviderError::new(
                "aws_instance: `ami` is required: forge does not take a launch_template, the provider's other way to name the image",
            )
            .hint("set ami to the image id (a data \"aws_ami\" lookup can find it)"));
        }
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        // An unset argument recorded with its empty value (`tags = {}`) stays as it is.
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
        // State holds the digest of user_data: when the configured script has the stored
        // digest nothing changes. Otherwise the script itself is planned, because create
        // needs it; the state written after create holds its digest.
        if let (Some(configured), Some(stored)) = (
            config.str_attr("user_data"),
            prior.and_then(|p| p.str_attr("user_data")),
        ) && user_data_hash(configured) == stored
        {
            set_attr(&mut planned, "user_data", Value::string(stored));
        }
        if let Some(groups) = config
            .get("vpc_security_group_ids")
            .filter(|g| !g.is_null() && g.is_wholly_known())
        {
            set_attr(
                &mut planned,
                "vpc_security_group_ids",
                string_set(strings_in(groups)),
            );
        }
        let root = root_volume::plan(&self.ctx.default_tags, prior, config, &planned)?;
        set_attr(&mut planned, "root_block_device", root);
        plan_tags_all(&self.ctx, &mut planned);
        let mut requires_replace = replace_paths(&self.schema, prior, &planned);
        if root_volume::needs_replacement(prior, &planned) {
            requires_replace.push("root_block_device".to_string());
        }
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.create_with(planned, None).await
    }

    async fn create_under(&self, planned: &Value, intent: &CreateIntent) -> ProviderResult<Value> {
        // The marker is on the instance until `created_recorded`; state never holds it.
        self.create_with(planned, Some(&intent.token))
            .await
            .map(without_intent_tag)
    }

    async fn created_recorded(&self, state: &Value) -> ProviderResult<()> {
        match state.str_attr("id") {
            Some(id) => self.remove_intent_tag(id).await,
            None => Ok(()),
        }
    }

    async fn find_created(
        &self,
        planned: &Value,
        intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let Some(instance) = self.instance_with_token(&intent.token).await? else {
            return Ok(Finding::Absent);
        };
        let id = instance.instance_id().unwrap_or_default().to_string();
        let planned = planned.deep_unmarked();
        // The create stopped somewhere between RunInstances and its end: wait as it
        // would have, and take the marker off.
        let instance = self
            .wait_for(&id, &["running"], false)
            .await?
            .unwrap_or(instance);
        let mut state = planned.clone();
        if let Some(u) = planned.str_attr("user_data") {
            set_attr(&mut state, "user_data", Value::string(user_data_hash(u)));
        }
        let object = without_intent_tag(self.state_from_live(&instance, &state).await?);
        Ok(Finding::Found(Found {
            object,
            created: None,
            by: FoundBy::Token,
            id,
        }))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(id) = state.str_attr("id") else {
            return Ok(None);
        };
        self.read_by_id(id, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let id = required_str(prior, "id", "aws_instance")?.to_string();
        let changed = |name: &str| {
            !prior
                .get(name)
                .unwrap_or(&Value::Null)
                .same_as(planned.get(name).unwrap_or(&Value::Null))
        };
        if changed("instance_type")
            && let Some(instance_type) = planned.str_attr("instance_type")
        {
            self.change_instance_type(&id, instance_type).await?;
        }
        if changed("vpc_security_group_ids") {
            let groups = string_list(&planned, "vpc_security_group_ids");
            if !groups.is_empty() {
                self.client
                    .modify_instance_attribute()
                    .instance_id(&id)
                    .set_groups(Some(groups))
                    .send()
                    .await
                    .map_err(sdk_error)
                    .map_err(run_hint)?;
            }
        }
        if changed("monitoring")
            && let Some(enabled) = planned.get("monitoring").and_then(Value::as_bool)
        {
            if enabled {
                self.client
                    .monitor_instances()
                    .instance_ids(&id)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            } else {
                self.client
                    .unmonitor_instances()
                    .instance_ids(&id)
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
        }
        root_volume::update(&self.client, &id, prior, &planned).await?;
        if let Some(before) = root_volume::configured(prior)
            && let Some(volume_id) = before.str_attr("volume_id")
        {
            let carried = string_map(before.get("tags_all").unwrap_or(&Value::Null));
            root_volume::apply_tags(&self.client, &self.ctx, volume_id, &carried, &planned).await?;
        }
        if changed("iam_instance_profile") {
            self.change_profile(&id, planned.str_attr("iam_instance_profile"))
                .await?;
        }
        let old_tags = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new_tags = self.ctx.tags_all(&config_tags(&planned));
        update_tags(&self.client, &id, &old_tags, &new_tags).await?;
        let mut state = planned.clone();
        set_attr(
            &mut state,
            "user_data",
            prior.get("user_data").cloned().unwrap_or(Value::Null),
        );
        self.read_by_id(&id, &state).await?.ok_or_else(|| {
            ProviderError::new(format!("instance {id} was terminated during the update"))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        match self
            .client
            .terminate_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        self.wait_for(id, &["terminated"], true).await?;
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let state = Value::object([("id", Value::string(id))]);
        self.read_by_id(id, &state).await
    }

    fn upgrade_step(&self, from: u64, state: Value) -> ProviderResult<Value> {
        match from {
            0 => Ok(upgrade_v0(state)),
            _ => Err(ProviderError::new(format!(
                "aws_instance: no state upgrade from schema version {from}"
            ))),
        }
    }
}

/// The provider's v0 -> v1 step: v0's one `block_device` list is split by kind into
/// `ephemeral_block_device` (a virtual name starting "ephemeral"), `root_block_device`
/// (device `/dev/sda1`) and `ebs_block_device` (the others), each keeping the fields its
/// kind has; the three lists exist afterwards even when empty.
fn upgrade_v0(mut state: Value) -> Value {
    let Value::Object(m) = &mut state else {
        return state;
    };
    let old = m.remove("block_device");
    for kind in [
        "ebs_block_device",
        "ephemeral_block_device",
        "root_block_device",
    ] {
        m.entry(kind.to_string())
            .and_modify(|v| {
                if v.is_null() {
                    *v = Value::List(Vec::new());
                }
            })
            .or_insert_with(|| Value::List(Vec::new()));
    }
    for device in old.as_ref().and_then(Value::as_seq).unwrap_or(&[]) {
        let Value::Object(fields) = device else {
            continue;
        };
        let is_ephemeral = fields
            .get("virtual_name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.starts_with("ephemeral"));
        let is_root = fields.get("device_name").and_then(Value::as_str) == Some("/dev/sda1");
        let (kind, dropped): (&str, &[&str]) = if is_ephemeral {
            (
                "ephemeral_block_device",
                &[
                    "delete_on_termination",
                    "encrypted",
                    "iops",
                    "volume_size",
                    "volume_type",
                ],
            )
        } else if is_root {
            (
                "root_block_device",
                &["virtual_name", "encrypted", "snapshot_id"],
            )
        } else {
            ("ebs_block_device", &["virtual_name"])
        };
        let mut kept = fields.clone();
        for name in dropped {
            kept.remove(*name);
        }
        if let Some(Value::List(items)) = m.get_mut(kind) {
            items.push(Value::Object(kept));
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tags_go_on_the_volumes_launched_with_the_instance() {
        let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let defaults = tags(&[("team", "a")]);
        let specs = launch_tag_specifications(&tags(&[("Name", "x"), ("team", "a")]), &defaults)
            .expect("two specifications");
        let kinds: Vec<_> = specs.iter().map(|s| s.resource_type().cloned()).collect();
        assert_eq!(
            kinds,
            [
                Some(Ec2ResourceType::Instance),
                Some(Ec2ResourceType::Volume)
            ]
        );
        assert_eq!(specs[1].tags().len(), 1);
        assert_eq!(specs[1].tags()[0].key(), Some("team"));
        // No default tags: the volumes are left as EC2 makes them.
        let specs = launch_tag_specifications(&tags(&[("Name", "x")]), &BTreeMap::new())
            .expect("one specification");
        assert_eq!(specs.len(), 1);
        assert!(launch_tag_specifications(&BTreeMap::new(), &BTreeMap::new()).is_none());
    }

    #[test]
    fn a_version_0_state_splits_its_block_devices_by_kind() {
        // A v0 instance: one `block_device` list holding the root, an EBS and an
        // instance-store device.
        let v0 = Value::from_json(&serde_json::json!({
            "id": "i-0123",
            "ami": "ami-1",
            "block_device": [
                {"device_name": "/dev/sda1", "virtual_name": "", "encrypted": false,
                 "snapshot_id": "snap-1", "volume_size": 8, "volume_type": "standard",
                 "delete_on_termination": true},
                {"device_name": "/dev/sdb", "virtual_name": "", "volume_size": 20,
                 "snapshot_id": "", "delete_on_termination": true},
                {"device_name": "/dev/sdc", "virtual_name": "ephemeral0",
                 "volume_size": 0, "delete_on_termination": false}
            ]
        }));
        let v1 = upgrade_v0(v0);
        assert!(v1.get("block_device").is_none());
        let list = |kind: &str| v1.get(kind).and_then(Value::as_seq).unwrap().to_vec();
        let root = list("root_block_device");
        assert_eq!(root.len(), 1);
        assert_eq!(root[0].str_attr("device_name"), Some("/dev/sda1"));
        assert!(root[0].get("snapshot_id").is_none() && root[0].get("encrypted").is_none());
        assert_eq!(root[0].get("volume_size"), Some(&Value::Number(8.0)));
        let ebs = list("ebs_block_device");
        assert_eq!(ebs.len(), 1);
        assert_eq!(ebs[0].str_attr("device_name"), Some("/dev/sdb"));
        assert!(ebs[0].get("virtual_name").is_none());
        let ephemeral = list("ephemeral_block_device");
        assert_eq!(ephemeral.len(), 1);
        assert_eq!(ephemeral[0].str_attr("virtual_name"), Some("ephemeral0"));
        assert!(ephemeral[0].get("volume_size").is_none());
        // A v0 state without block devices still has the three lists.
        let bare = upgrade_v0(Value::from_json(&serde_json::json!({"id": "i-1"})));
        for kind in [
            "root_block_device",
            "ebs_block_device",
            "ephemeral_block_device",
        ] {
            assert_eq!(bare.get(kind), Some(&Value::List(Vec::new())), "{kind}");
        }
    }
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick() -> Backoff {
        Backoff {
            attempts: 5,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn run_instances_is_retried_while_the_instance_profile_propagates() {
        let calls = AtomicU32::new(0);
        let out = retry_iam_propagation(quick(), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(ProviderError::with_code(
                    "InvalidParameterValue",
                    "Value (web-profile) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name",
                ))
            } else {
                Ok("i-123")
            }
        })
        .await;
        assert_eq!(out, Ok("i-123"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn other_invalid_parameters_are_not_retried() {
        let calls = AtomicU32::new(0);
        let out: ProviderResult<()> = retry_iam_propagation(quick(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::with_code(
                "InvalidParameterValue",
                "Invalid value 'x9.huge' for InstanceType.",
            ))
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn propagation_retries_stop_after_the_attempts() {
        let calls = AtomicU32::new(0);
        let out: ProviderResult<()> = retry_iam_propagation(quick(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::with_code(
                "InvalidParameterValue",
                "Invalid IAM Instance Profile name",
            ))
        })
        .await;
        assert_eq!(
            out.map_err(|e| e.code),
            Err(Some("InvalidParameterValue".to_string()))
        );
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn profile_name_comes_from_the_arn() {
        assert_eq!(
            profile_name_from_arn("arn:aws:iam::000000000000:instance-profile/web"),
            "web"
        );
        assert_eq!(
            profile_name_from_arn("arn:aws:iam::000000000000:instance-profile/app/web"),
            "web"
        );
    }

    #[test]
    fn live_user_data_keeps_the_stored_digest_or_shows_the_new_one() {
        let script = "#!/bin/sh\necho hi\n";
        let state = Value::object([("user_data", Value::string(user_data_hash(script)))]);
        let (same, _) = user_data_values(&state, Some(script.as_bytes()));
        assert_eq!(same.as_str(), Some(user_data_hash(script).as_str()));
        let (changed, _) = user_data_values(&state, Some(b"#!/bin/sh\necho other\n"));
        assert_ne!(changed, same);
        let (none, b64) = user_data_values(&state, None);
        assert!(none.is_null() && b64.is_null());
    }

    #[tokio::test]
    async fn an_unchanged_script_plans_no_replacement() {
        let script = "#!/bin/sh\necho hi\n";
        // No AWS call: the credentials are not checked.
        let region = Value::object([
            ("region", Value::string("us-east-1")),
            ("skip_credentials_validation", Value::Bool(true)),
        ]);
        let ctx = Arc::new(AwsContext::from_provider_config(&region).await.unwrap());
        let ty = InstanceResource::new(ctx);
        let mut prior = Value::object(
            ty.schema
                .attributes
                .keys()
                .map(|k| (k.clone(), Value::Null)),
        );
        set_attr(&mut prior, "ami", Value::string("ami-1"));
        set_attr(&mut prior, "id", Value::string("i-1"));
        set_attr(
            &mut prior,
            "user_data",
            Value::string(user_data_hash(script)),
        );
        set_attr(&mut prior, "tags_all", Value::Map(Default::default()));
        let mut config = Value::object(
            ty.schema
                .attributes
                .keys()
                .map(|k| (k.clone(), Value::Null)),
        );
        set_attr(&mut config, "ami", Value::string("ami-1"));
        set_attr(&mut config, "user_data", Value::string(script));
        let plan = ty.plan(Some(&prior), &config).unwrap();
        assert!(
            plan.requires_replace.is_empty(),
            "{:?}",
            plan.requires_replace
        );
        set_attr(
            &mut config,
            "user_data",
            Value::string("#!/bin/sh\necho changed\n"),
        );
        let plan = ty.plan(Some(&prior), &config).unwrap();
        assert_eq!(plan.requires_replace, vec!["user_data".to_string()]);
    }
}
