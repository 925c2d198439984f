//! The `aws_instance` attributes the AWS provider records that forge does not configure:
//! API protections, shutdown behaviour, CPU credits, metadata options, placement, network
//! details and the non-root EBS volumes. forge reads them as the provider does (same API
//! calls, same empty values: `""`, `0`, `false`, `[]`, null where the provider leaves
//! null), so a state either tool wrote plans clean with the other. They are computed
//! here: forge refuses a configuration that sets them rather than ignoring it.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Instance, InstanceAttributeName, InstanceCreditSpecification, Volume};
use forge_aws_common::batch_read::ReadBatcher;
use forge_aws_common::sdk_error;
use forge_provider::{AttrType, Attribute, ProviderResult, Schema, Value};

use crate::common::string_set;

/// The attributes, as computed ones, with the provider's names and value shapes.
pub fn add_to_schema(schema: Schema) -> Schema {
    let text = || Attribute::computed(AttrType::String);
    let number = || Attribute::computed(AttrType::Number);
    let flag = || Attribute::computed(AttrType::Bool);
    let objects = || Attribute::computed(AttrType::List(Box::new(AttrType::Any)));
    // The provider's set blocks: their order in a state is the provider's hash order, not
    // AWS's, so they compare (and plan) by their elements.
    let object_set = || Attribute::computed(AttrType::Set(Box::new(AttrType::Any)));
    let strings = || Attribute::computed(AttrType::List(Box::new(AttrType::String)));
    let string_set = || Attribute::computed(AttrType::Set(Box::new(AttrType::String)));
    let mut schema = schema;
    for name in [
        "host_id",
        "host_resource_group_arn",
        "instance_initiated_shutdown_behavior",
        "instance_lifecycle",
        "outpost_arn",
        "password_data",
        "placement_group",
        "primary_network_interface_id",
        "spot_instance_request_id",
        "tenancy",
    ] {
        schema = schema.attr(name, text());
    }
    for name in [
        "cpu_core_count",
        "cpu_threads_per_core",
        "ipv6_address_count",
        "placement_partition_number",
    ] {
        schema = schema.attr(name, number());
    }
    for name in [
        "disable_api_stop",
        "disable_api_termination",
        "ebs_optimized",
        "enable_primary_ipv6",
        "get_password_data",
        "hibernation",
        "source_dest_check",
        "user_data_replace_on_change",
    ] {
        schema = schema.attr(name, flag());
    }
    for name in [
        "capacity_reservation_specification",
        "cpu_options",
        "credit_specification",
        "enclave_options",
        "instance_market_options",
        "launch_template",
        "maintenance_options",
        "metadata_options",
        "private_dns_name_options",
    ] {
        schema = schema.attr(name, objects());
    }
    for name in SET_BLOCKS {
        schema = schema.attr(name, object_set());
    }
    schema
        .attr("ipv6_addresses", strings())
        .attr("secondary_private_ips", string_set())
        .attr("security_groups", string_set())
        .attr(
            "volume_tags",
            Attribute::computed(AttrType::Map(Box::new(AttrType::String))),
        )
        // The provider's `timeouts` block; forge has its own waits: always null.
        .attr("timeouts", Attribute::computed(AttrType::Any))
}

/// The provider's `aws_instance` blocks that are sets (nesting mode `set`).
const SET_BLOCKS: [&str; 3] = [
    "ebs_block_device",
    "ephemeral_block_device",
    "network_interface",
];

/// Reads the attributes of a live instance into `out`.
pub async fn read_into(
    client: &aws_sdk_ec2::Client,
    batchers: &crate::batched::Batchers,
    i: &Instance,
    default_tags: &BTreeMap<String, String>,
    out: &mut BTreeMap<String, Value>,
) -> ProviderResult<()> {
    let id = i.instance_id().unwrap_or_default();
    let text = |s: Option<&str>| Value::string(s.unwrap_or(""));
    let number = |n: Option<i32>| Value::Number(f64::from(n.unwrap_or(0)));
    let placement = i.placement();
    let primary = i
        .network_interfaces()
        .iter()
        .find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0));
    let mut set = |name: &str, v: Value| {
        out.insert(name.to_string(), v);
    };
    set("host_id", text(placement.and_then(|p| p.host_id())));
    set(
        "host_resource_group_arn",
        placement
            .and_then(|p| p.host_resource_group_arn())
            .map(Value::string)
            .unwrap_or(Value::Null),
    );
    set(
        "instance_lifecycle",
        text(i.instance_lifecycle().map(|l| l.as_str())),
    );
    set("outpost_arn", text(i.outpost_arn()));
    set("password_data", Value::string(""));
    set(
        "placement_group",
        text(placement.and_then(|p| p.group_name())),
    );
    set(
        "placement_partition_number",
        number(placement.and_then(|p| p.partition_number())),
    );
    set(
        "primary_network_interface_id",
        text(primary.and_then(|n| n.network_interface_id())),
    );
    set(
        "spot_instance_request_id",
        text(i.spot_instance_request_id()),
    );
    set(
        "tenancy",
        text(placement.and_then(|p| p.tenancy()).map(|t| t.as_str())),
    );
    // Deprecated in favour of cpu_options; the provider leaves them null.
    set("cpu_core_count", Value::Null);
    set("cpu_threads_per_core", Value::Null);
    set("enable_primary_ipv6", Value::Null);
    let ipv6: Vec<Value> = primary
        .map(|n| n.ipv6_addresses())
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a.ipv6_address().map(Value::string))
        .collect();
    set("ipv6_address_count", Value::Number(ipv6.len() as f64));
    set("ipv6_addresses", Value::List(ipv6));
    set(
        "secondary_private_ips",
        string_set(
            primary
                .map(|n| n.private_ip_addresses())
                .unwrap_or_default()
                .iter()
                .filter(|a| a.primary() != Some(true))
                .filter_map(|a| a.private_ip_address().map(str::to_string)),
        ),
    );
    set(
        "security_groups",
        string_set(
            i.security_groups()
                .iter()
                .filter_map(|g| g.group_name().map(str::to_string)),
        ),
    );
    set(
        "ebs_optimized",
        Value::Bool(i.ebs_optimized().unwrap_or(false)),
    );
    set("get_password_data", Value::Bool(false));
    set(
        "hibernation",
        Value::Bool(
            i.hibernation_options()
                .and_then(|h| h.configured())
                .unwrap_or(false),
        ),
    );
    set(
        "source_dest_check",
        Value::Bool(i.source_dest_check().unwrap_or(true)),
    );
    set("user_data_replace_on_change", Value::Bool(false));
    set("volume_tags", Value::Null);
    set("timeouts", Value::Null);
    for name in ["instance_market_options", "launch_template"] {
        set(name, Value::List(Vec::new()));
    }
    for name in ["ephemeral_block_device", "network_interface"] {
        set(name, Value::Set(Vec::new()));
    }
    set(
        "capacity_reservation_specification",
        capacity_reservation(i),
    );
    set("cpu_options", cpu_options(i));
    set(
        "enclave_options",
        one_or_none(
            i.enclave_options()
                .map(|e| vec![("enabled", Value::Bool(e.enabled().unwrap_or(false)))]),
        ),
    );
    set(
        "maintenance_options",
        one_or_none(
            i.maintenance_options()
                .map(|m| vec![("auto_recovery", text(m.auto_recovery().map(|a| a.as_str())))]),
        ),
    );
    set("metadata_options", metadata_options(i));
    set(
        "private_dns_name_options",
        one_or_none(i.private_dns_name_options().map(|p| {
            vec![
                (
                    "enable_resource_name_dns_a_record",
                    Value::Bool(p.enable_resource_name_dns_a_record().unwrap_or(false)),
                ),
                (
                    "enable_resource_name_dns_aaaa_record",
                    Value::Bool(p.enable_resource_name_dns_aaaa_record().unwrap_or(false)),
                ),
                ("hostname_type", text(p.hostname_type().map(|h| h.as_str()))),
            ]
        })),
    );
    let attribute = |name: InstanceAttributeName| {
        client
            .describe_instance_attribute()
            .instance_id(id)
            .attribute(name)
            .send()
    };
    // Five requests that need nothing from each other: one round trip's wait.
    let (termination, stop, shutdown, credit_specification, ebs_block_device) = tokio::try_join!(
        async {
            attribute(InstanceAttributeName::DisableApiTermination)
                .await
                .map_err(sdk_error)
        },
        async {
            attribute(InstanceAttributeName::DisableApiStop)
                .await
                .map_err(sdk_error)
        },
        async {
            attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
                .await
                .map_err(sdk_error)
        },
        credit_specification(client, &batchers.credit_specifications, i),
        ebs_block_devices(client, &batchers.volumes, i, default_tags),
    )?;
    out.insert(
        "disable_api_termination".into(),
        Value::Bool(
            termination
                .disable_api_termination()
                .and_then(|v| v.value())
                .unwrap_or(false),
        ),
    );
    out.insert(
        "disable_api_stop".into(),
        Value::Bool(
            stop.disable_api_stop()
                .and_then(|v| v.value())
                .unwrap_or(false),
        ),
    );
    out.insert(
        "instance_initiated_shutdown_behavior".into(),
        Value::string(
            shutdown
                .instance_initiated_shutdown_behavior()
                .and_then(|v| v.value())
                .unwrap_or(""),
        ),
    );
    out.insert("credit_specification".into(), credit_specification);
    out.insert("ebs_block_device".into(), ebs_block_device);
    Ok(())
}

fn one_or_none(fields: Option<Vec<(&str, Value)>>) -> Value {
    Value::List(fields.map(Value::object).into_iter().collect())
}

fn capacity_reservation(i: &Instance) -> Value {
    let Some(spec) = i.capacity_reservation_specification() else {
        return Value::List(Vec::new());
    };
    let targets: Vec<Value> = spec
        .capacity_reservation_target()
        .map(|t| {
            Value::object([
                (
                    "capacity_reservation_id",
                    Value::string(t.capacity_reservation_id().unwrap_or("")),
                ),
                (
                    "capacity_reservation_resource_group_arn",
                    Value::string(t.capacity_reservation_resource_group_arn().unwrap_or("")),
                ),
            ])
        })
        .into_iter()
        .collect();
    Value::List(vec![Value::object([
        (
            "capacity_reservation_preference",
            Value::string(
                spec.capacity_reservation_preference()
                    .map(|p| p.as_str())
                    .unwrap_or(""),
            ),
        ),
        ("capacity_reservation_target", Value::List(targets)),
    ])])
}

fn cpu_options(i: &Instance) -> Value {
    let Some(cpu) = i.cpu_options() else {
        return Value::List(Vec::new());
    };
    if cpu.core_count().is_none() && cpu.threads_per_core().is_none() {
        return Value::List(Vec::new());
    }
    let number = |n: Option<i32>| Value::Number(f64::from(n.unwrap_or(0)));
    Value::List(vec![Value::object([
        (
            "amd_sev_snp",
            Value::string(cpu.amd_sev_snp().map(|a| a.as_str()).unwrap_or("")),
        ),
        ("core_count", number(cpu.core_count())),
        ("threads_per_core", number(cpu.threads_per_core())),
    ])])
}

fn metadata_options(i: &Instance) -> Value {
    let Some(m) = i.metadata_options() else {
        return Value::List(Vec::new());
    };
    Value::List(vec![Value::object([
        (
            "http_endpoint",
            Value::string(m.http_endpoint().map(|v| v.as_str()).unwrap_or("")),
        ),
        (
            "http_protocol_ipv6",
            Value::string(m.http_protocol_ipv6().map(|v| v.as_str()).unwrap_or("")),
        ),
        (
            "http_put_response_hop_limit",
            Value::Number(f64::from(m.http_put_response_hop_limit().unwrap_or(0))),
        ),
        (
            "http_tokens",
            Value::string(m.http_tokens().map(|v| v.as_str()).unwrap_or("")),
        ),
        (
            "instance_metadata_tags",
            Value::string(m.instance_metadata_tags().map(|v| v.as_str()).unwrap_or("")),
        ),
    ])])
}

/// CPU credits exist only for burstable families (T2, T3, T3a, T4g); the provider asks
/// only for those.
/// Instances read at the same time share one call (`batched::credit_specifications`);
/// an instance the batch did not answer for is asked alone.
async fn credit_specification(
    client: &aws_sdk_ec2::Client,
    batch: &ReadBatcher<InstanceCreditSpecification>,
    i: &Instance,
) -> ProviderResult<Value> {
    let burstable = i
        .instance_type()
        .map(|t| t.as_str())
        .is_some_and(|t| t.starts_with("t2.") || t.starts_with("t3") || t.starts_with("t4g."));
    if !burstable {
        return Ok(Value::List(Vec::new()));
    }
    let id = i.instance_id().unwrap_or_default();
    let batched = if crate::batched::batchable(id, "i-") {
        batch
            .read(id, |ids| crate::batched::credit_specifications(client, ids))
            .await?
    } else {
        None
    };
    let spec = match batched {
        Some(spec) => Some(spec),
        None => client
            .describe_instance_credit_specifications()
            .instance_ids(id)
            .send()
            .await
            .map_err(sdk_error)?
            .instance_credit_specifications()
            .first()
            .cloned(),
    };
    Ok(Value::List(
        spec.map(|c| {
            Value::object([("cpu_credits", Value::string(c.cpu_credits().unwrap_or("")))])
        })
        .into_iter()
        .collect(),
    ))
}

/// The EBS volumes attached under a device name other than the instance's root device.
async fn ebs_block_devices(
    client: &aws_sdk_ec2::Client,
    volumes: &ReadBatcher<Volume>,
    i: &Instance,
    default_tags: &BTreeMap<String, String>,
) -> ProviderResult<Value> {
    let root = i.root_device_name();
    let attached: Vec<(String, String, bool)> = i
        .block_device_mappings()
        .iter()
        .filter(|m| m.device_name() != root)
        .filter_map(|m| {
            let ebs = m.ebs()?;
            Some((
                m.device_name()?.to_string(),
                ebs.volume_id()?.to_string(),
                ebs.delete_on_termination().unwrap_or(false),
            ))
        })
        .collect();
    if attached.is_empty() {
        return Ok(Value::Set(Vec::new()));
    }
    // Each volume read with the other instances' volumes being read at the same time;
    // ids of another shape in one call of their own, as before.
    let live: Vec<Option<Volume>> = if attached
        .iter()
        .all(|(_, v, _)| crate::batched::batchable(v, "vol-"))
    {
        futures_util::future::try_join_all(
            attached
                .iter()
                .map(|(_, v, _)| volumes.read(v, |ids| crate::batched::volumes(client, ids))),
        )
        .await?
    } else {
        let out = client
            .describe_volumes()
            .set_volume_ids(Some(attached.iter().map(|(_, v, _)| v.clone()).collect()))
            .send()
            .await
            .map_err(sdk_error)?;
        attached
            .iter()
            .map(|(_, id, _)| {
                out.volumes()
                    .iter()
                    .find(|v| v.volume_id() == Some(id.as_str()))
                    .cloned()
            })
            .collect()
    };
    let number = |n: Option<i32>| Value::Number(f64::from(n.unwrap_or(0)));
    let items = attached
        .iter()
        .zip(&live)
        .map(|((device, volume_id, delete), v)| {
            let v = v.as_ref();
            let (tags, tags_all) = crate::root_volume::volume_tags(v, default_tags);
            Value::object([
                ("delete_on_termination", Value::Bool(*delete)),
                ("device_name", Value::string(device)),
                (
                    "encrypted",
                    Value::Bool(v.and_then(|v| v.encrypted()).unwrap_or(false)),
                ),
                ("iops", number(v.and_then(|v| v.iops()))),
                (
                    "kms_key_id",
                    Value::string(v.and_then(|v| v.kms_key_id()).unwrap_or("")),
                ),
                (
                    "snapshot_id",
                    Value::string(v.and_then(|v| v.snapshot_id()).unwrap_or("")),
                ),
                ("tags", tags),
                ("tags_all", tags_all),
                ("throughput", number(v.and_then(|v| v.throughput()))),
                ("volume_id", Value::string(volume_id)),
                ("volume_size", number(v.and_then(|v| v.size()))),
                (
                    "volume_type",
                    Value::string(
                        v.and_then(|v| v.volume_type())
                            .map(|t| t.as_str())
                            .unwrap_or(""),
                    ),
                ),
            ])
        })
        .collect();
    Ok(Value::Set(items))
}
