//! The `root_block_device` block of `aws_instance`: the root EBS volume's size, type,
//! performance, encryption and whether it outlives the instance.

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, EbsInstanceBlockDeviceSpecification, Instance,
    InstanceBlockDeviceMappingSpecification, VolumeType,
};
use forge_aws_common::sdk_error;
use forge_provider::{AttrType, Attribute, BlockType, ProviderResult, Schema, Value};

use crate::common::opt_string;

/// Used when the AMI does not say which device is its root (Terraform's fallback too).
const FALLBACK_ROOT_DEVICE: &str = "/dev/xvda";

pub fn block() -> BlockType {
    BlockType {
        schema: Schema::new()
            .attr(
                "volume_size",
                Attribute::optional_computed(AttrType::Number),
            )
            .attr(
                "volume_type",
                Attribute::optional_computed(AttrType::String),
            )
            .attr("iops", Attribute::optional_computed(AttrType::Number))
            .attr("throughput", Attribute::optional_computed(AttrType::Number))
            .attr("encrypted", Attribute::optional_computed(AttrType::Bool))
            .attr(
                "delete_on_termination",
                Attribute::optional_computed(AttrType::Bool),
            )
            .attr("volume_id", Attribute::computed(AttrType::String))
            .attr("device_name", Attribute::computed(AttrType::String))
            // Recorded by the provider; forge does not set them on the root volume.
            .attr("kms_key_id", Attribute::computed(AttrType::String))
            .attr(
                "tags",
                Attribute::computed(AttrType::Map(Box::new(AttrType::String))),
            )
            .attr(
                "tags_all",
                Attribute::computed(AttrType::Map(Box::new(AttrType::String))),
            ),
        max_items: 1,
        ..Default::default()
    }
}

/// The configured root block device, if any.
pub fn configured(v: &Value) -> Option<&Value> {
    v.get("root_block_device")
        .and_then(Value::as_seq)
        .and_then(<[Value]>::first)
}

fn int(v: &Value, name: &str) -> Option<i32> {
    v.get(name)
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
}

/// The block device mapping RunInstances takes for `root_block_device`.
pub async fn mapping(
    client: &aws_sdk_ec2::Client,
    ami: &str,
    root: &Value,
) -> ProviderResult<BlockDeviceMapping> {
    let images = client
        .describe_images()
        .image_ids(ami)
        .send()
        .await
        .map_err(sdk_error)?;
    let device = images
        .images()
        .first()
        .and_then(|i| i.root_device_name())
        .unwrap_or(FALLBACK_ROOT_DEVICE)
        .to_string();
    let ebs = EbsBlockDevice::builder()
        .set_volume_size(int(root, "volume_size"))
        .set_volume_type(root.str_attr("volume_type").map(VolumeType::from))
        .set_iops(int(root, "iops"))
        .set_throughput(int(root, "throughput"))
        .set_encrypted(root.get("encrypted").and_then(Value::as_bool))
        .delete_on_termination(
            root.get("delete_on_termination")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        )
        .build();
    Ok(BlockDeviceMapping::builder()
        .device_name(device)
        .ebs(ebs)
        .build())
}

/// The live root volume as a `root_block_device` list (empty for instance-store roots).
pub async fn read(client: &aws_sdk_ec2::Client, instance: &Instance) -> ProviderResult<Value> {
    let root_name = instance.root_device_name();
    let Some((device, ebs)) = instance
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name().is_some() && m.device_name() == root_name)
        .and_then(|m| Some((m.device_name()?.to_string(), m.ebs()?)))
    else {
        return Ok(Value::List(Vec::new()));
    };
    let Some(volume_id) = ebs.volume_id() else {
        return Ok(Value::List(Vec::new()));
    };
    let out = client
        .describe_volumes()
        .volume_ids(volume_id)
        .send()
        .await
        .map_err(sdk_error)?;
    let volume = out.volumes().first();
    let number = |n: Option<i32>| {
        n.map(|n| Value::Number(f64::from(n)))
            .unwrap_or(Value::Number(0.0))
    };
    Ok(Value::List(vec![Value::object([
        ("device_name", Value::string(device)),
        ("volume_id", Value::string(volume_id)),
        (
            "delete_on_termination",
            Value::Bool(ebs.delete_on_termination().unwrap_or(true)),
        ),
        ("volume_size", number(volume.and_then(|v| v.size()))),
        (
            "volume_type",
            opt_string(volume.and_then(|v| v.volume_type()).map(|t| t.as_str())),
        ),
        ("iops", number(volume.and_then(|v| v.iops()))),
        ("throughput", number(volume.and_then(|v| v.throughput()))),
        (
            "encrypted",
            Value::Bool(volume.and_then(|v| v.encrypted()).unwrap_or(false)),
        ),
        (
            "kms_key_id",
            Value::string(volume.and_then(|v| v.kms_key_id()).unwrap_or("")),
        ),
        ("tags", Value::Map(Default::default())),
        ("tags_all", Value::Map(Default::default())),
    ])]))
}

/// The planned root block device: with none configured, whatever the instance has
/// (Terraform treats the block as optional and computed).
pub fn plan(prior: Option<&Value>, config: &Value, planned_default: &Value) -> Value {
    let prior_list = prior
        .and_then(|p| p.get("root_block_device"))
        .and_then(Value::as_seq);
    match configured(config) {
        None => Value::List(prior_list.map(<[Value]>::to_vec).unwrap_or_default()),
        Some(_) => planned_default
            .get("root_block_device")
            .cloned()
            .unwrap_or(Value::List(Vec::new())),
    }
}

/// True when a change to the root volume needs a new instance (encryption cannot be
/// changed on an existing volume).
pub fn needs_replacement(prior: Option<&Value>, planned: &Value) -> bool {
    let before = prior
        .and_then(configured)
        .and_then(|r| r.get("encrypted"))
        .and_then(Value::as_bool);
    let after = configured(planned).and_then(|r| r.get("encrypted"));
    match (before, after) {
        (Some(b), Some(a)) if a.is_unknown() => b,
        (Some(b), Some(a)) => a.as_bool().is_some_and(|a| a != b),
        _ => false,
    }
}

/// Applies size, type, performance and delete-on-termination changes in place.
pub async fn update(
    client: &aws_sdk_ec2::Client,
    instance_id: &str,
    prior: &Value,
    planned: &Value,
) -> ProviderResult<()> {
    let (Some(before), Some(after)) = (configured(prior), configured(planned)) else {
        return Ok(());
    };
    let Some(volume_id) = before.str_attr("volume_id") else {
        return Ok(());
    };
    let changed = |name: &str| {
        !before
            .get(name)
            .unwrap_or(&Value::Null)
            .same_as(after.get(name).unwrap_or(&Value::Null))
    };
    let pick_int = |name: &str| {
        if changed(name) {
            int(after, name)
        } else {
            None
        }
    };
    let size = pick_int("volume_size");
    let iops = pick_int("iops");
    let throughput = pick_int("throughput");
    let volume_type = if changed("volume_type") {
        after.str_attr("volume_type").map(VolumeType::from)
    } else {
        None
    };
    if size.is_some() || iops.is_some() || throughput.is_some() || volume_type.is_some() {
        client
            .modify_volume()
            .volume_id(volume_id)
            .set_size(size)
            .set_iops(iops)
            .set_throughput(throughput)
            .set_volume_type(volume_type)
            .send()
            .await
            .map_err(sdk_error)
            .map_err(|e| {
                e.hint(
                    "EBS volumes can only grow, and a volume can be modified once every six hours",
                )
            })?;
    }
    if changed("delete_on_termination")
        && let (Some(device), Some(keep)) = (
            before.str_attr("device_name"),
            after.get("delete_on_termination").and_then(Value::as_bool),
        )
    {
        let spec = InstanceBlockDeviceMappingSpecification::builder()
            .device_name(device)
            .ebs(
                EbsInstanceBlockDeviceSpecification::builder()
                    .volume_id(volume_id)
                    .delete_on_termination(keep)
                    .build(),
            )
            .build();
        client
            .modify_instance_attribute()
            .instance_id(instance_id)
            .block_device_mappings(spec)
            .send()
            .await
            .map_err(sdk_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_root(encrypted: Value) -> Value {
        Value::object([(
            "root_block_device",
            Value::List(vec![Value::object([("encrypted", encrypted)])]),
        )])
    }

    #[test]
    fn only_a_change_of_encryption_needs_a_new_instance() {
        let prior = with_root(Value::Bool(false));
        assert!(!needs_replacement(
            Some(&prior),
            &with_root(Value::Bool(false))
        ));
        assert!(needs_replacement(
            Some(&prior),
            &with_root(Value::Bool(true))
        ));
        assert!(!needs_replacement(None, &with_root(Value::Bool(true))));
        let nothing = Value::object([("root_block_device", Value::List(vec![]))]);
        assert!(!needs_replacement(Some(&prior), &nothing));
    }

    #[test]
    fn unset_block_keeps_what_the_instance_has() {
        let prior = with_root(Value::Bool(true));
        let config = Value::object([("root_block_device", Value::List(vec![]))]);
        assert_eq!(
            plan(Some(&prior), &config, &config),
            prior.get("root_block_device").cloned().unwrap()
        );
    }
}
