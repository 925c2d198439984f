//! `aws_launch_template`: a launch template and its versions.
//!
//! As in the provider, the template's arguments are its latest version: a change to any
//! of them is a new version (CreateLaunchTemplateVersion), made the default one when
//! `update_default_version` is set (ModifyLaunchTemplate), or by `default_version`; tags
//! change in place; `name` and `name_prefix` replace the template. Imported by its
//! `lt-` id.
//!
//! forge acts on the common arguments (`check_arguments` lists what it refuses): names,
//! description, image, instance type, key, `user_data` (base64, sent and recorded as
//! given), security groups, kernel and RAM disk, the API stop/termination protections,
//! `ebs_optimized`, the shutdown behaviour, and the blocks `block_device_mappings` (with
//! `ebs`), `iam_instance_profile`, `metadata_options`, `monitoring`, `network_interfaces`
//! and `tag_specifications`. The provider's other blocks are refused at plan, by name,
//! rather than ignored; they read as empty.
//!
//! CreateLaunchTemplate takes the intent's token as its `ClientToken`. Template names are
//! unique in a region, so a create whose answer was lost is found by name: the configured
//! one, or, for a name made from `name_prefix` under an intent, the one made from the
//! intent (its start and a checksum of its token), which is the same on every attempt.
//! No marker tag is used: LocalStack would copy it into the version's data (below).
//!
//! LocalStack 4.14 (not AWS) copies the template's own tags into its first version's
//! `TagSpecifications` with the resource type `launch-template`, which AWS does not allow
//! there: forge leaves such an entry out of `tag_specifications`.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    InstanceIpv6AddressRequest, InstanceType, LaunchTemplate, LaunchTemplateBlockDeviceMapping,
    LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDevice,
    LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateInstanceMetadataProtocolIpv6, LaunchTemplateInstanceMetadataTagsState,
    LaunchTemplateInstanceNetworkInterfaceSpecification,
    LaunchTemplateInstanceNetworkInterfaceSpecificationRequest,
    LaunchTemplateTagSpecificationRequest, LaunchTemplatesMonitoringRequest,
    PrivateIpAddressSpecification, RequestLaunchTemplateData, ResourceType as Ec2ResourceType,
    ResponseLaunchTemplateData, ShutdownBehavior, VolumeType,
};
use base64::Engine as _;
use forge_aws_common::adoption::{creation_time, found_by_name};
use forge_aws_common::naming::{prefixed_unique_name, unique_name_at};
use forge_aws_common::{AwsContext, map_value, sdk_error, string_map};
use forge_provider::{
    CreateIntent, Finding, PlannedState, ProviderError, ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{
    client, config_tags, ec2_arn, is_not_found, plan_tags_all, prefix_of, replace_paths,
    required_str, set_attr, string_set, tag_specifications, tags_from_aws, tags_state, to_aws_tags,
    update_tags,
};
use crate::intent_tag::found_by_token;

const TYPE: &str = "aws_launch_template";

/// The provider's blocks forge does not act on: refused when configured.
pub const REFUSED_BLOCKS: &[&str] = &[
    "capacity_reservation_specification",
    "cpu_options",
    "credit_specification",
    "elastic_gpu_specifications",
    "elastic_inference_accelerator",
    "enclave_options",
    "hibernation_options",
    "instance_market_options",
    "instance_requirements",
    "license_specification",
    "maintenance_options",
    "placement",
    "private_dns_name_options",
];

/// Arguments of `network_interfaces` forge does not act on.
pub const REFUSED_IN_NETWORK_INTERFACES: &[&str] = &[
    "connection_tracking_specification",
    "ena_srd_specification",
    "ipv4_prefix_count",
    "ipv4_prefixes",
    "ipv6_prefix_count",
    "ipv6_prefixes",
    "primary_ipv6",
];

/// Arguments of `block_device_mappings.ebs` forge does not act on.
pub const REFUSED_IN_EBS: &[&str] = &["volume_initialization_rate"];

/// What a version holds: a change to any of these is a new version, as in the provider.
const VERSION_KEYS: &[&str] = &[
    "block_device_mappings",
    "capacity_reservation_specification",
    "cpu_options",
    "credit_specification",
    "description",
    "disable_api_stop",
    "disable_api_termination",
    "ebs_optimized",
    "elastic_gpu_specifications",
    "elastic_inference_accelerator",
    "enclave_options",
    "hibernation_options",
    "iam_instance_profile",
    "image_id",
    "instance_initiated_shutdown_behavior",
    "instance_market_options",
    "instance_requirements",
    "instance_type",
    "kernel_id",
    "key_name",
    "license_specification",
    "maintenance_options",
    "metadata_options",
    "monitoring",
    "network_interfaces",
    "placement",
    "private_dns_name_options",
    "ram_disk_id",
    "security_group_names",
    "tag_specifications",
    "user_data",
    "vpc_security_group_ids",
];

/// The string arguments the provider records as "true", "false" or "" (unset).
const NULLABLE_BOOLS_EBS: &[&str] = &["delete_on_termination", "encrypted"];
const NULLABLE_BOOLS_NI: &[&str] = &[
    "associate_carrier_ip_address",
    "associate_public_ip_address",
    "delete_on_termination",
];

pub struct LaunchTemplateResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

impl LaunchTemplateResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let client = client(&ctx);
        LaunchTemplateResource {
            ctx,
            client,
            schema: crate::launch_template_schema::schema(),
        }
    }

    /// The template `id`, unless EC2 does not know it.
    async fn template(&self, id: &str) -> ProviderResult<Option<LaunchTemplate>> {
        match self
            .client
            .describe_launch_templates()
            .launch_template_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out
                .launch_templates()
                .iter()
                .find(|t| t.launch_template_id() == Some(id))
                .cloned()),
            Err(e) if is_not_found(&e) || is_malformed(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One version's description and data.
    async fn version(
        &self,
        id: &str,
        version: i64,
    ) -> ProviderResult<(String, ResponseLaunchTemplateData)> {
        let out = self
            .client
            .describe_launch_template_versions()
            .launch_template_id(id)
            .versions(version.to_string())
            .send()
            .await
            .map_err(sdk_error)?;
        let found = out
            .launch_template_versions()
            .iter()
            .find(|v| v.version_number() == Some(version))
            .ok_or_else(|| {
                ProviderError::new(format!(
                    "{TYPE}: version {version} of launch template {id} is not readable"
                ))
            })?;
        Ok((
            found.version_description().unwrap_or_default().to_string(),
            found
                .launch_template_data()
                .cloned()
                .unwrap_or_else(|| ResponseLaunchTemplateData::builder().build()),
        ))
    }

    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(template) = self.template(id).await? else {
            return Ok(None);
        };
        let latest = template.latest_version_number().unwrap_or(1);
        let (description, data) = self.version(id, latest).await?;
        let account = self.ctx.account_id().await?;
        let name = template.launch_template_name().unwrap_or_default();
        let live_tags = self.template_tags(id).await?;
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &live_tags,
        );
        let mut out = state_of_data(&data);
        let mut put = |k: &str, v: Value| set_attr(&mut out, k, v);
        put("id", Value::string(id));
        put(
            "arn",
            Value::string(ec2_arn(
                &self.ctx,
                &account,
                &format!("launch-template/{id}"),
            )),
        );
        put("name", Value::string(name));
        put("name_prefix", prefix_of(name));
        put("description", Value::string(description));
        put(
            "default_version",
            number_i64(template.default_version_number()),
        );
        put("latest_version", Value::Number(latest as f64));
        put("tags", tags);
        put("tags_all", tags_all);
        // Configuration only, as the provider keeps it.
        put(
            "update_default_version",
            state
                .get("update_default_version")
                .map(|v| v.unmarked().clone())
                .unwrap_or(Value::Null),
        );
        Ok(Some(out))
    }

    /// The template's tags, from DescribeTags: LocalStack 4.14 answers DescribeLaunchTemplates
    /// with the tags the template was created with, whatever CreateTags and DeleteTags did
    /// since (AWS answers both the same).
    async fn template_tags(
        &self,
        id: &str,
    ) -> ProviderResult<std::collections::BTreeMap<String, String>> {
        let out = self
            .client
            .describe_tags()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("resource-id")
                    .values(id)
                    .build(),
            )
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .tags()
            .iter()
            .filter(|t| t.resource_id() == Some(id))
            .filter_map(|t| {
                Some((
                    t.key()?.to_string(),
                    t.value().unwrap_or_default().to_string(),
                ))
            })
            .filter(|(k, _)| !k.starts_with("aws:"))
            .collect())
    }

    /// The template named `name`, unless there is none.
    async fn template_named(&self, name: &str) -> ProviderResult<Option<LaunchTemplate>> {
        match self
            .client
            .describe_launch_templates()
            .launch_template_names(name)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out
                .launch_templates()
                .iter()
                .find(|t| t.launch_template_name() == Some(name))
                .cloned()),
            Err(e) if is_not_found(&e) || is_name_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create_with(
        &self,
        planned: &Value,
        intent: Option<&CreateIntent>,
    ) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let (name, _) = template_name(&planned, intent);
        let tags = self.ctx.tags_all(&config_tags(&planned));
        let out = self
            .client
            .create_launch_template()
            .client_token(intent.map_or_else(one_time_token, |i| i.token.clone()))
            .launch_template_name(&name)
            .set_version_description(non_empty(&planned, "description"))
            .launch_template_data(request_data(&planned)?)
            .set_tag_specifications(tag_specifications(Ec2ResourceType::LaunchTemplate, &tags))
            .send()
            .await
            .map_err(sdk_error);
        let id = match out {
            Ok(out) => out
                .launch_template()
                .and_then(|t| t.launch_template_id())
                .map(str::to_string)
                .ok_or_else(|| ProviderError::new("CreateLaunchTemplate returned no id"))?,
            Err(e) if is_name_taken(&e) => {
                return Err(e.hint(format!(
                    "a launch template named {name:?} already exists: choose another name, or import it by its lt- id"
                )));
            }
            Err(e) => return Err(data_hint(e)),
        };
        self.read_by_id(&id, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "launch template {id} vanished right after it was created"
            ))
        })
    }

    /// A new version with the planned data; its number.
    async fn new_version(&self, id: &str, planned: &Value) -> ProviderResult<i64> {
        let out = self
            .client
            .create_launch_template_version()
            .client_token(one_time_token())
            .launch_template_id(id)
            .set_version_description(non_empty(planned, "description"))
            .launch_template_data(request_data(planned)?)
            .send()
            .await
            .map_err(|e| data_hint(sdk_error(e)))?;
        out.launch_template_version()
            .and_then(|v| v.version_number())
            .ok_or_else(|| ProviderError::new("CreateLaunchTemplateVersion returned no version"))
    }

    async fn set_default(&self, id: &str, version: i64) -> ProviderResult<()> {
        self.client
            .modify_launch_template()
            .launch_template_id(id)
            .default_version(version.to_string())
            .send()
            .await
            .map_err(sdk_error)
            .map_err(|e| {
                e.hint("default_version must name a version the template has (see latest_version)")
            })?;
        Ok(())
    }
}

#[async_trait]
impl ResourceType for LaunchTemplateResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_arguments(config)?;
        if prior.is_none()
            && let Some(v) = config.get("default_version").and_then(Value::as_f64)
            && v != 1.0
        {
            return Err(ProviderError::new(format!(
                "{TYPE}: default_version {v} names a version a new template does not have"
            ))
            .hint("a new template has version 1 only: leave default_version out until the template has more versions"));
        }
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        normalise_nullable_bools(&mut planned);
        forge_aws_common::values::keep_empty_values_in_blocks(
            &self.schema,
            prior,
            config,
            &mut planned,
        );
        if let Some(prior) = prior {
            let version_changed = VERSION_KEYS.iter().any(|k| {
                !prior
                    .get(k)
                    .unwrap_or(&Value::Null)
                    .same_as(planned.get(k).unwrap_or(&Value::Null))
            });
            if version_changed {
                set_attr(&mut planned, "latest_version", Value::Unknown);
            }
            let follows_latest = planned
                .get("update_default_version")
                .and_then(Value::as_bool)
                == Some(true);
            let behind = !prior
                .get("default_version")
                .unwrap_or(&Value::Null)
                .same_as(prior.get("latest_version").unwrap_or(&Value::Null));
            let configured_default = config.get("default_version").is_some_and(|v| !v.is_null());
            if follows_latest && !configured_default && (version_changed || behind) {
                set_attr(&mut planned, "default_version", Value::Unknown);
            }
        }
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
        self.create_with(planned, Some(intent)).await
    }

    /// The template a create under `intent` made, by the name that create gave it: the
    /// configured name (the engine then checks its creation time), or the name made from
    /// the intent itself, which only that create uses.
    async fn find_created(
        &self,
        planned: &Value,
        intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let (name, from_intent) = template_name(&planned, Some(intent));
        let Some(template) = self.template_named(&name).await? else {
            return Ok(Finding::Absent);
        };
        let id = template
            .launch_template_id()
            .unwrap_or_default()
            .to_string();
        let object = self.read_by_id(&id, &planned).await?;
        if from_intent {
            return Ok(match object {
                Some(object) => found_by_token(id, object),
                None => Finding::Absent,
            });
        }
        Ok(found_by_name(
            id,
            object,
            creation_time(template.create_time()),
        ))
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
        let changed = |k: &str| {
            !prior
                .get(k)
                .unwrap_or(&Value::Null)
                .same_as(planned.get(k).unwrap_or(&Value::Null))
        };
        let mut latest = prior
            .get("latest_version")
            .and_then(Value::as_f64)
            .map_or(1, |v| v as i64);
        if VERSION_KEYS.iter().any(|k| changed(k)) {
            latest = self.new_version(&id, &planned).await?;
        }
        if planned
            .get("update_default_version")
            .and_then(Value::as_bool)
            == Some(true)
        {
            self.set_default(&id, latest).await?;
        } else if changed("default_version")
            && let Some(v) = planned.get("default_version").and_then(Value::as_f64)
        {
            self.set_default(&id, v as i64).await?;
        }
        let old_tags = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new_tags = self.ctx.tags_all(&config_tags(&planned));
        update_tags(&self.client, &id, &old_tags, &new_tags).await?;
        self.read_by_id(&id, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "launch template {id} disappeared during the update"
            ))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        match self
            .client
            .delete_launch_template()
            .launch_template_id(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Err(e) if is_not_found(&e) || is_malformed(&e) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Ok(()),
        }
    }

    /// Imported by its `lt-` id; `update_default_version` is configuration only and
    /// imports as null, as the provider's importer leaves it.
    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        if !id.starts_with("lt-") {
            return Err(ProviderError::new(format!(
                "{TYPE}: import id {id:?} is not a launch template id"
            ))
            .hint("import a launch template by its id, lt- followed by 17 hexadecimal digits"));
        }
        self.read_by_id(id, &Value::object([("id", Value::string(id))]))
            .await
    }
}

/// A template id EC2 cannot know (malformed), or one it does not (LocalStack answers
/// the name's not-found code for an id too).
fn is_malformed(e: &ProviderError) -> bool {
    e.code.as_deref().is_some_and(|c| {
        c == "InvalidLaunchTemplateId.Malformed"
            || c == "InvalidLaunchTemplateId.NotFoundException"
            || c == "InvalidLaunchTemplateName.NotFoundException"
    })
}

fn is_name_not_found(e: &ProviderError) -> bool {
    e.code
        .as_deref()
        .is_some_and(|c| c == "InvalidLaunchTemplateName.NotFoundException")
}

/// The template's name: the configured one, or one made from `name_prefix` (the
/// provider's `terraform-` without one). Under an intent the made-up name comes from the
/// intent (its start, and a checksum of its token as the counter), so every attempt of
/// that create, and `find_created`, use the same name; the second value says so.
fn template_name(planned: &Value, intent: Option<&CreateIntent>) -> (String, bool) {
    if let Some(name) = non_empty(planned, "name") {
        return (name, false);
    }
    let prefix = non_empty(planned, "name_prefix").unwrap_or_else(|| "terraform-".to_string());
    match intent {
        Some(intent) => (
            unique_name_at(
                Some(&prefix),
                intent.started,
                crate::volume_attachment::crc32_ieee(intent.token.as_bytes()),
            ),
            true,
        ),
        None => (prefixed_unique_name(Some(&prefix)), false),
    }
}

fn is_name_taken(e: &ProviderError) -> bool {
    e.code
        .as_deref()
        .is_some_and(|c| c == "InvalidLaunchTemplateName.AlreadyExistsException")
}

/// What the user can do about the data a create or a new version is refused for.
fn data_hint(e: ProviderError) -> ProviderError {
    match e.code.as_deref() {
        Some("InvalidLaunchTemplateName.MalformedException") => {
            e.hint("a launch template name is 3 to 128 letters, digits and ( ) . - / _ characters")
        }
        Some("InvalidUserData.Malformed") => e.hint("user_data must be base64-encoded"),
        Some("InvalidParameterCombination") => e.hint(
            "security groups go in network_interfaces when the template has network interfaces",
        ),
        _ => e,
    }
}

/// A ClientToken for a call outside an intent, unique per call, so the SDK's own resend
/// of a lost answer is the same request to AWS.
fn one_time_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "forge-lt-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn number_i64(n: Option<i64>) -> Value {
    Value::Number(n.unwrap_or(0) as f64)
}

fn number_i32(n: Option<i32>) -> Value {
    Value::Number(f64::from(n.unwrap_or(0)))
}

fn text(s: Option<&str>) -> Value {
    Value::string(s.unwrap_or_default())
}

/// A set of strings as the provider's read records it: `[]` when empty (its create
/// leaves null, its first refresh writes `[]`; found by the oracle round).
fn set_or_null(items: Vec<String>) -> Value {
    string_set(items)
}

/// The provider's spelling of an optional bool kept in a string attribute.
fn nullable_bool_text(b: Option<bool>) -> Value {
    Value::string(b.map_or("", |b| if b { "true" } else { "false" }))
}

/// A string attribute's value when it is set and not "".
fn non_empty(v: &Value, name: &str) -> Option<String> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A number attribute's value when it is set and not 0 (the provider sends only those).
fn non_zero(v: &Value, name: &str) -> Option<i32> {
    v.get(name)
        .and_then(Value::as_f64)
        .filter(|n| *n != 0.0)
        .map(|n| n as i32)
}

/// The items of a block (none when unset).
fn items<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name).and_then(Value::as_seq).unwrap_or(&[])
}

/// The first item of a block that takes one.
fn first<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    items(v, name).first()
}

fn strings(v: &Value, name: &str) -> Vec<String> {
    crate::common::string_list(v, name)
}

/// Go's strconv.ParseBool, which the provider uses for its string-kept bools.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A string-kept bool: `None` when unset or "".
fn nullable_bool(v: &Value, name: &str) -> Option<bool> {
    match v.get(name) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => parse_bool(s),
        _ => None,
    }
}

/// A bool given for one of the string-kept bools is recorded as the provider spells it.
fn normalise_nullable_bools(planned: &mut Value) {
    fn fix(item: &mut Value, names: &[&str]) {
        for name in names {
            let spelled = match item.get(name) {
                Some(Value::Bool(b)) => Some(nullable_bool_text(Some(*b))),
                Some(Value::String(s)) if parse_bool(s).is_some() => {
                    Some(nullable_bool_text(parse_bool(s)))
                }
                _ => None,
            };
            if let Some(v) = spelled {
                set_attr(item, name, v);
            }
        }
    }
    fn for_each_item(v: &mut Value, block: &str, f: &mut dyn FnMut(&mut Value)) {
        if let Value::Object(m) = v
            && let Some(Value::List(xs) | Value::Tuple(xs) | Value::Set(xs)) = m.get_mut(block)
        {
            xs.iter_mut().for_each(f);
        }
    }
    fix(planned, &["ebs_optimized"]);
    for_each_item(planned, "block_device_mappings", &mut |bdm| {
        for_each_item(bdm, "ebs", &mut |ebs| fix(ebs, NULLABLE_BOOLS_EBS));
    });
    for_each_item(planned, "network_interfaces", &mut |ni| {
        fix(ni, NULLABLE_BOOLS_NI)
    });
}

/// The checks made at plan: what forge refuses (naming it), the provider's conflicts and
/// value checks.
pub fn check_arguments(config: &Value) -> ProviderResult<()> {
    let set = |v: &Value, name: &str| match v.get(name) {
        None | Some(Value::Null) => false,
        Some(Value::List(xs) | Value::Set(xs) | Value::Tuple(xs)) => !xs.is_empty(),
        Some(_) => true,
    };
    let refuse = |what: String| {
        Err(ProviderError::new(format!(
            "{TYPE}: `{what}` is not supported by forge"
        ))
        .hint("remove it, or leave this launch template to Terraform: forge does not act on it and will not ignore it"))
    };
    for block in REFUSED_BLOCKS {
        if set(config, block) {
            return refuse((*block).to_string());
        }
    }
    for ni in items(config, "network_interfaces") {
        for name in REFUSED_IN_NETWORK_INTERFACES {
            if set(ni, name) {
                return refuse(format!("network_interfaces.{name}"));
            }
        }
        for name in NULLABLE_BOOLS_NI {
            check_bool_text(ni, name, &format!("network_interfaces.{name}"))?;
        }
    }
    for bdm in items(config, "block_device_mappings") {
        for ebs in items(bdm, "ebs") {
            for name in REFUSED_IN_EBS {
                if set(ebs, name) {
                    return refuse(format!("block_device_mappings.ebs.{name}"));
                }
            }
            for name in NULLABLE_BOOLS_EBS {
                check_bool_text(ebs, name, &format!("block_device_mappings.ebs.{name}"))?;
            }
            if let Some(t) = ebs.get("throughput").and_then(Value::as_f64)
                && !(125.0..=1000.0).contains(&t)
            {
                return Err(ProviderError::new(format!(
                    "{TYPE}: block_device_mappings.ebs.throughput {t} is out of range"
                ))
                .hint("throughput is in MiB/s, from 125 to 1000"));
            }
            if let Some(key) = ebs.get("kms_key_id").and_then(Value::as_str)
                && !key.is_empty()
                && !key.starts_with("arn:")
            {
                return Err(ProviderError::new(format!(
                    "{TYPE}: block_device_mappings.ebs.kms_key_id {key:?} is not an ARN"
                ))
                .hint("name the KMS key by its ARN"));
            }
        }
    }
    check_bool_text(config, "ebs_optimized", "ebs_optimized")?;
    let conflict = |a: &str, b: &str| {
        Err(
            ProviderError::new(format!("{TYPE}: `{a}` and `{b}` conflict"))
                .hint("set only one of them"),
        )
    };
    for (a, b) in [
        ("name", "name_prefix"),
        ("default_version", "update_default_version"),
        ("security_group_names", "vpc_security_group_ids"),
    ] {
        if set(config, a) && set(config, b) {
            return conflict(a, b);
        }
    }
    if let Some(profile) = first(config, "iam_instance_profile")
        && set(profile, "arn")
        && set(profile, "name")
    {
        return conflict("iam_instance_profile.arn", "iam_instance_profile.name");
    }
    if let Some(v) = config.get("default_version").and_then(Value::as_f64)
        && v < 1.0
    {
        return Err(
            ProviderError::new(format!("{TYPE}: default_version {v} is below 1"))
                .hint("versions are numbered from 1"),
        );
    }
    if let Some(d) = config.get("description").and_then(Value::as_str)
        && d.chars().count() > 255
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: description is longer than 255 characters"
        ))
        .hint("shorten the description"));
    }
    if let Some(data) = config.get("user_data").and_then(Value::as_str)
        && !data.is_empty()
        && base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .is_err()
    {
        return Err(
            ProviderError::new(format!("{TYPE}: user_data is not base64")).hint(
                "a launch template takes its user data base64-encoded: use base64encode(...)",
            ),
        );
    }
    Ok(())
}

fn check_bool_text(v: &Value, name: &str, path: &str) -> ProviderResult<()> {
    match v.get(name) {
        Some(Value::String(s)) if !s.is_empty() && parse_bool(s).is_none() => Err(
            ProviderError::new(format!("{TYPE}: {path} {s:?} is not a bool"))
                .hint("use true or false"),
        ),
        _ => Ok(()),
    }
}

/// The version data for `planned`, sending what the provider sends.
fn request_data(planned: &Value) -> ProviderResult<RequestLaunchTemplateData> {
    let mut data = RequestLaunchTemplateData::builder()
        // The provider always sets user_data, so the data is never empty.
        .user_data(planned.str_attr("user_data").unwrap_or_default())
        .set_instance_type(
            non_empty(planned, "instance_type").map(|t| InstanceType::from(t.as_str())),
        )
        .set_image_id(non_empty(planned, "image_id"))
        .set_kernel_id(non_empty(planned, "kernel_id"))
        .set_key_name(non_empty(planned, "key_name"))
        .set_ram_disk_id(non_empty(planned, "ram_disk_id"))
        .set_instance_initiated_shutdown_behavior(
            non_empty(planned, "instance_initiated_shutdown_behavior")
                .map(|s| ShutdownBehavior::from(s.as_str())),
        )
        .set_ebs_optimized(nullable_bool(planned, "ebs_optimized"));
    if planned.get("disable_api_stop").and_then(Value::as_bool) == Some(true) {
        data = data.disable_api_stop(true);
    }
    if planned
        .get("disable_api_termination")
        .and_then(Value::as_bool)
        == Some(true)
    {
        data = data.disable_api_termination(true);
    }
    let groups = strings(planned, "vpc_security_group_ids");
    if !groups.is_empty() {
        data = data.set_security_group_ids(Some(groups));
    }
    let names = strings(planned, "security_group_names");
    if !names.is_empty() {
        data = data.set_security_groups(Some(names));
    }
    for bdm in items(planned, "block_device_mappings") {
        let mut m = LaunchTemplateBlockDeviceMappingRequest::builder()
            .set_device_name(non_empty(bdm, "device_name"))
            .set_no_device(non_empty(bdm, "no_device"))
            .set_virtual_name(non_empty(bdm, "virtual_name"));
        if let Some(ebs) = first(bdm, "ebs") {
            m = m.ebs(
                LaunchTemplateEbsBlockDeviceRequest::builder()
                    .set_delete_on_termination(nullable_bool(ebs, "delete_on_termination"))
                    .set_encrypted(nullable_bool(ebs, "encrypted"))
                    .set_iops(non_zero(ebs, "iops"))
                    .set_kms_key_id(non_empty(ebs, "kms_key_id"))
                    .set_snapshot_id(non_empty(ebs, "snapshot_id"))
                    .set_throughput(non_zero(ebs, "throughput"))
                    .set_volume_size(non_zero(ebs, "volume_size"))
                    .set_volume_type(
                        non_empty(ebs, "volume_type").map(|t| VolumeType::from(t.as_str())),
                    )
                    .build(),
            );
        }
        data = data.block_device_mappings(m.build());
    }
    if let Some(p) = first(planned, "iam_instance_profile") {
        data = data.iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .set_arn(non_empty(p, "arn"))
                .set_name(non_empty(p, "name"))
                .build(),
        );
    }
    if let Some(m) = first(planned, "metadata_options") {
        data = data.metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .set_http_endpoint(
                    non_empty(m, "http_endpoint")
                        .map(|s| LaunchTemplateInstanceMetadataEndpointState::from(s.as_str())),
                )
                .set_http_tokens(
                    non_empty(m, "http_tokens")
                        .map(|s| LaunchTemplateHttpTokensState::from(s.as_str())),
                )
                .set_http_put_response_hop_limit(non_zero(m, "http_put_response_hop_limit"))
                .set_instance_metadata_tags(
                    non_empty(m, "instance_metadata_tags")
                        .map(|s| LaunchTemplateInstanceMetadataTagsState::from(s.as_str())),
                )
                .set_http_protocol_ipv6(
                    non_empty(m, "http_protocol_ipv6")
                        .map(|s| LaunchTemplateInstanceMetadataProtocolIpv6::from(s.as_str())),
                )
                .build(),
        );
    }
    if let Some(m) = first(planned, "monitoring") {
        data = data.monitoring(
            LaunchTemplatesMonitoringRequest::builder()
                .enabled(m.get("enabled").and_then(Value::as_bool).unwrap_or(false))
                .build(),
        );
    }
    for ni in items(planned, "network_interfaces") {
        data = data.network_interfaces(network_interface_request(ni));
    }
    for spec in items(planned, "tag_specifications") {
        let tags = string_map(spec.get("tags").unwrap_or(&Value::Null));
        data = data.tag_specifications(
            LaunchTemplateTagSpecificationRequest::builder()
                .set_resource_type(
                    non_empty(spec, "resource_type").map(|t| Ec2ResourceType::from(t.as_str())),
                )
                .set_tags((!tags.is_empty()).then(|| to_aws_tags(&tags)))
                .build(),
        );
    }
    Ok(data.build())
}

fn network_interface_request(
    ni: &Value,
) -> LaunchTemplateInstanceNetworkInterfaceSpecificationRequest {
    let private_ip = non_empty(ni, "private_ip_address");
    let mut r = LaunchTemplateInstanceNetworkInterfaceSpecificationRequest::builder()
        .set_associate_carrier_ip_address(nullable_bool(ni, "associate_carrier_ip_address"))
        .set_associate_public_ip_address(nullable_bool(ni, "associate_public_ip_address"))
        .set_delete_on_termination(nullable_bool(ni, "delete_on_termination"))
        .set_description(non_empty(ni, "description"))
        // The provider always sends the device and card indexes (0 when unset).
        .device_index(
            ni.get("device_index")
                .and_then(Value::as_f64)
                .unwrap_or(0.0) as i32,
        )
        .network_card_index(
            ni.get("network_card_index")
                .and_then(Value::as_f64)
                .unwrap_or(0.0) as i32,
        )
        .set_interface_type(non_empty(ni, "interface_type"))
        .set_private_ip_address(private_ip.clone())
        .set_ipv6_address_count(non_zero(ni, "ipv6_address_count"))
        .set_network_interface_id(non_empty(ni, "network_interface_id"))
        .set_subnet_id(non_empty(ni, "subnet_id"));
    if let Some(count) = non_zero(ni, "ipv4_address_count") {
        r = r.secondary_private_ip_address_count(count);
    } else {
        for ip in strings(ni, "ipv4_addresses") {
            r = r.private_ip_addresses(
                PrivateIpAddressSpecification::builder()
                    .primary(private_ip.as_deref() == Some(ip.as_str()))
                    .private_ip_address(ip)
                    .build(),
            );
        }
    }
    for ip in strings(ni, "ipv6_addresses") {
        r = r.ipv6_addresses(
            InstanceIpv6AddressRequest::builder()
                .ipv6_address(ip)
                .build(),
        );
    }
    let groups = strings(ni, "security_groups");
    if !groups.is_empty() {
        r = r.set_groups(Some(groups));
    }
    r.build()
}

/// Every attribute a version's data gives, as the provider records it (the template's
/// own attributes are set by the caller). The blocks forge does not act on read empty.
fn state_of_data(d: &ResponseLaunchTemplateData) -> Value {
    let mut fields: Vec<(&str, Value)> = vec![
        (
            "block_device_mappings",
            Value::List(
                d.block_device_mappings()
                    .iter()
                    .map(block_device_state)
                    .collect(),
            ),
        ),
        (
            "disable_api_stop",
            Value::Bool(d.disable_api_stop().unwrap_or(false)),
        ),
        (
            "disable_api_termination",
            Value::Bool(d.disable_api_termination().unwrap_or(false)),
        ),
        ("ebs_optimized", nullable_bool_text(d.ebs_optimized())),
        (
            "iam_instance_profile",
            Value::List(
                d.iam_instance_profile()
                    .map(|p| Value::object([("arn", text(p.arn())), ("name", text(p.name()))]))
                    .into_iter()
                    .collect(),
            ),
        ),
        ("image_id", text(d.image_id())),
        (
            "instance_initiated_shutdown_behavior",
            text(d.instance_initiated_shutdown_behavior().map(|s| s.as_str())),
        ),
        ("instance_type", text(d.instance_type().map(|t| t.as_str()))),
        ("kernel_id", text(d.kernel_id())),
        ("key_name", text(d.key_name())),
        (
            "metadata_options",
            Value::List(
                d.metadata_options()
                    .map(|m| {
                        Value::object([
                            ("http_endpoint", text(m.http_endpoint().map(|s| s.as_str()))),
                            (
                                "http_protocol_ipv6",
                                text(m.http_protocol_ipv6().map(|s| s.as_str())),
                            ),
                            (
                                "http_put_response_hop_limit",
                                number_i32(m.http_put_response_hop_limit()),
                            ),
                            ("http_tokens", text(m.http_tokens().map(|s| s.as_str()))),
                            (
                                "instance_metadata_tags",
                                text(m.instance_metadata_tags().map(|s| s.as_str())),
                            ),
                        ])
                    })
                    .into_iter()
                    .collect(),
            ),
        ),
        (
            "monitoring",
            Value::List(
                d.monitoring()
                    .map(|m| {
                        Value::object([("enabled", Value::Bool(m.enabled().unwrap_or(false)))])
                    })
                    .into_iter()
                    .collect(),
            ),
        ),
        (
            "network_interfaces",
            Value::List(
                d.network_interfaces()
                    .iter()
                    .map(network_interface_state)
                    .collect(),
            ),
        ),
        ("ram_disk_id", text(d.ram_disk_id())),
        (
            "security_group_names",
            set_or_null(d.security_groups().to_vec()),
        ),
        (
            "tag_specifications",
            Value::List(
                d.tag_specifications()
                    .iter()
                    // LocalStack's copy of the template's own tags (see the module notes).
                    .filter(|s| s.resource_type() != Some(&Ec2ResourceType::LaunchTemplate))
                    .map(|s| {
                        let tags = tags_from_aws(s.tags());
                        Value::object([
                            ("resource_type", text(s.resource_type().map(|t| t.as_str()))),
                            (
                                "tags",
                                if tags.is_empty() {
                                    Value::Null
                                } else {
                                    map_value(&tags)
                                },
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
        ("user_data", text(d.user_data())),
        (
            "vpc_security_group_ids",
            set_or_null(d.security_group_ids().to_vec()),
        ),
    ];
    for block in REFUSED_BLOCKS {
        fields.push((block, Value::List(Vec::new())));
    }
    Value::object(fields)
}

fn block_device_state(m: &LaunchTemplateBlockDeviceMapping) -> Value {
    Value::object([
        ("device_name", text(m.device_name())),
        (
            "ebs",
            Value::List(m.ebs().map(ebs_state).into_iter().collect()),
        ),
        ("no_device", text(m.no_device())),
        ("virtual_name", text(m.virtual_name())),
    ])
}

fn ebs_state(e: &LaunchTemplateEbsBlockDevice) -> Value {
    Value::object([
        (
            "delete_on_termination",
            nullable_bool_text(e.delete_on_termination()),
        ),
        ("encrypted", nullable_bool_text(e.encrypted())),
        ("iops", number_i32(e.iops())),
        ("kms_key_id", text(e.kms_key_id())),
        ("snapshot_id", text(e.snapshot_id())),
        ("throughput", number_i32(e.throughput())),
        (
            "volume_initialization_rate",
            number_i32(e.volume_initialization_rate()),
        ),
        ("volume_size", number_i32(e.volume_size())),
        ("volume_type", text(e.volume_type().map(|t| t.as_str()))),
    ])
}

fn network_interface_state(n: &LaunchTemplateInstanceNetworkInterfaceSpecification) -> Value {
    let ipv4: Vec<String> = n
        .private_ip_addresses()
        .iter()
        .filter_map(|a| a.private_ip_address().map(str::to_string))
        .collect();
    let ipv6: Vec<String> = n
        .ipv6_addresses()
        .iter()
        .filter_map(|a| a.ipv6_address().map(str::to_string))
        .collect();
    Value::object([
        (
            "associate_carrier_ip_address",
            nullable_bool_text(n.associate_carrier_ip_address()),
        ),
        (
            "associate_public_ip_address",
            nullable_bool_text(n.associate_public_ip_address()),
        ),
        ("connection_tracking_specification", Value::List(Vec::new())),
        (
            "delete_on_termination",
            nullable_bool_text(n.delete_on_termination()),
        ),
        ("description", text(n.description())),
        ("device_index", number_i32(n.device_index())),
        ("ena_srd_specification", Value::List(Vec::new())),
        ("interface_type", text(n.interface_type())),
        (
            "ipv4_address_count",
            number_i32(n.secondary_private_ip_address_count()),
        ),
        ("ipv4_addresses", set_or_null(ipv4)),
        ("ipv4_prefix_count", Value::Number(0.0)),
        ("ipv4_prefixes", string_set(Vec::new())),
        ("ipv6_address_count", number_i32(n.ipv6_address_count())),
        ("ipv6_addresses", set_or_null(ipv6)),
        ("ipv6_prefix_count", Value::Number(0.0)),
        ("ipv6_prefixes", string_set(Vec::new())),
        ("network_card_index", number_i32(n.network_card_index())),
        ("network_interface_id", text(n.network_interface_id())),
        ("primary_ipv6", Value::string("")),
        ("private_ip_address", text(n.private_ip_address())),
        ("security_groups", set_or_null(n.groups().to_vec())),
        ("subnet_id", text(n.subnet_id())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs)
    }

    #[test]
    fn refused_arguments_are_named() {
        let e = check_arguments(&cfg(vec![(
            "placement",
            Value::List(vec![Value::object([(
                "availability_zone",
                Value::string("us-east-1a"),
            )])]),
        )]))
        .unwrap_err();
        assert!(e.message.contains("`placement`"), "{e:?}");
        let ni = Value::object([("ipv4_prefix_count", Value::Number(1.0))]);
        let e =
            check_arguments(&cfg(vec![("network_interfaces", Value::List(vec![ni]))])).unwrap_err();
        assert!(
            e.message.contains("network_interfaces.ipv4_prefix_count"),
            "{e:?}"
        );
        // Empty blocks are no setting at all.
        assert!(check_arguments(&cfg(vec![("placement", Value::List(vec![]))])).is_ok());
    }

    #[test]
    fn conflicts_and_values_are_checked() {
        let e = check_arguments(&cfg(vec![
            ("name", Value::string("a")),
            ("name_prefix", Value::string("b")),
        ]))
        .unwrap_err();
        assert!(e.message.contains("conflict"), "{e:?}");
        let e = check_arguments(&cfg(vec![
            ("default_version", Value::Number(2.0)),
            ("update_default_version", Value::Bool(true)),
        ]))
        .unwrap_err();
        assert!(e.message.contains("default_version"), "{e:?}");
        let e = check_arguments(&cfg(vec![("user_data", Value::string("#!/bin/sh"))])).unwrap_err();
        assert!(e.message.contains("base64"), "{e:?}");
        assert!(
            check_arguments(&cfg(vec![("user_data", Value::string("IyEvYmluL3NoCg=="))])).is_ok()
        );
        let e = check_arguments(&cfg(vec![("ebs_optimized", Value::string("yes"))])).unwrap_err();
        assert!(e.message.contains("ebs_optimized"), "{e:?}");
    }

    #[test]
    fn string_kept_bools_are_spelled_as_the_provider() {
        let mut planned = cfg(vec![
            ("ebs_optimized", Value::Bool(true)),
            (
                "network_interfaces",
                Value::List(vec![Value::object([(
                    "associate_public_ip_address",
                    Value::string("1"),
                )])]),
            ),
        ]);
        normalise_nullable_bools(&mut planned);
        assert_eq!(planned.str_attr("ebs_optimized"), Some("true"));
        assert_eq!(
            items(&planned, "network_interfaces")[0].str_attr("associate_public_ip_address"),
            Some("true")
        );
        assert_eq!(nullable_bool(&planned, "ebs_optimized"), Some(true));
        assert_eq!(nullable_bool(&cfg(vec![]), "ebs_optimized"), None);
    }

    #[test]
    fn the_schema_has_every_refused_block() {
        let schema = crate::launch_template_schema::schema();
        for block in REFUSED_BLOCKS {
            assert!(schema.blocks.contains_key(*block), "{block}");
        }
        let ni = &schema.blocks["network_interfaces"].schema;
        for name in REFUSED_IN_NETWORK_INTERFACES {
            assert!(
                ni.attributes.contains_key(*name) || ni.blocks.contains_key(*name),
                "{name}"
            );
        }
        assert!(schema.attributes["name"].force_new);
    }
}
