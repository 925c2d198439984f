//! The `root_block_device` block of `aws_instance`: the root EBS volume's size, type,
//! performance, encryption and whether it outlives the instance.

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, EbsInstanceBlockDeviceSpecification, Instance,
    InstanceBlockDeviceMappingSpecification, Volume, VolumeType,
};
use forge_aws_common::batch_read::ReadBatcher;
use forge_aws_common::sdk_error;
use forge_aws_common::string_map;
use forge_provider::{
    AttrType, Attribute, BlockType, ProviderError, ProviderResult, Schema, Value,
};

use std::collections::BTreeMap;

use forge_aws_common::AwsContext;

use crate::common::{opt_string, tags_from_aws, update_tags};

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
            // The provider's default: the root volume goes with the instance.
            .attr(
                "delete_on_termination",
                Attribute::optional(AttrType::Bool).default(Value::Bool(true)),
            )
            .attr("volume_id", Attribute::computed(AttrType::String))
            .attr("device_name", Attribute::computed(AttrType::String))
            // Sent at launch; EC2 cannot re-encrypt a volume, so a change replaces the
            // instance (the provider's ForceNew).
            .attr("kms_key_id", Attribute::optional_computed(AttrType::String))
            // The root volume's own tags, put on it after launch and kept in step by
            // CreateTags/DeleteTags; `tags_all` is the provider's record of what the
            // volume carries (optional+computed there; a configured one is refused).
            .attr(
                "tags",
                Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
            )
            .attr(
                "tags_all",
                Attribute::optional_computed(AttrType::Map(Box::new(AttrType::String))),
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
        .set_kms_key_id(
            root.str_attr("kms_key_id")
                .filter(|k| !k.is_empty())
                .map(str::to_string),
        )
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

/// The id of the instance's root EBS volume, once EC2 reports it.
pub fn volume_id(instance: &Instance) -> Option<String> {
    let root_name = instance.root_device_name()?;
    instance
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name() == Some(root_name))
        .and_then(|m| m.ebs()?.volume_id())
        .map(str::to_string)
}

/// The live root volume as a `root_block_device` list (empty for instance-store roots).
/// `tags_all` is every tag the volume carries; `tags` those not set by the provider's
/// `default_tags` with the same value (the provider's read).
pub async fn read(
    client: &aws_sdk_ec2::Client,
    volumes: &ReadBatcher<Volume>,
    instance: &Instance,
    default_tags: &BTreeMap<String, String>,
) -> ProviderResult<Value> {
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
    // Read with the other instances' root volumes being read at the same time.
    let volume = if crate::batched::batchable(volume_id, "vol-") {
        volumes
            .read(volume_id, |ids| crate::batched::volumes(client, ids))
            .await?
    } else {
        let out = client
            .describe_volumes()
            .volume_ids(volume_id)
            .send()
            .await
            .map_err(sdk_error)?;
        out.volumes().first().cloned()
    };
    let volume = volume.as_ref();
    let (own, all) = volume_tags(volume, default_tags);
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
        ("tags", own),
        ("tags_all", all),
    ])]))
}

/// A block device's `tags` and `tags_all`, as the provider reads them for the root and
/// the EBS volumes alike: `tags_all` every tag the volume carries, `tags` those not set by
/// the provider's `default_tags` with the same value.
pub fn volume_tags(
    volume: Option<&aws_sdk_ec2::types::Volume>,
    default_tags: &BTreeMap<String, String>,
) -> (Value, Value) {
    let all = tags_from_aws(volume.map(|v| v.tags()).unwrap_or_default());
    let own: BTreeMap<String, String> = all
        .iter()
        .filter(|(k, v)| default_tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (string_map_value(&own), string_map_value(&all))
}

/// The planned root block device: with none configured, whatever the instance has
/// (Terraform treats the block as optional and computed). A configured block's
/// `tags_all` is its `tags` with the provider's `default_tags` under them.
pub fn plan(
    default_tags: &BTreeMap<String, String>,
    prior: Option<&Value>,
    config: &Value,
    planned_default: &Value,
) -> ProviderResult<Value> {
    let prior_list = prior
        .and_then(|p| p.get("root_block_device"))
        .and_then(Value::as_seq);
    let Some(root) = configured(config) else {
        return Ok(Value::List(
            prior_list.map(<[Value]>::to_vec).unwrap_or_default(),
        ));
    };
    if root.get_non_null("tags_all").is_some() {
        return Err(ProviderError::new(
            "aws_instance: root_block_device.tags_all is what the volume carries, recorded by the provider; it cannot be set",
        )
        .hint("set root_block_device.tags (the provider's default_tags are added to them)"));
    }
    let mut planned = planned_default
        .get("root_block_device")
        .cloned()
        .unwrap_or(Value::List(Vec::new()));
    if let Value::List(items) = &mut planned
        && let Some(Value::Object(first)) = items.first_mut()
    {
        let tags = root.get("tags").unwrap_or(&Value::Null);
        // Unset tags recorded as the provider's empty map stay as recorded (its read
        // writes {} for a volume without tags of its own).
        let recorded = prior_list
            .and_then(<[Value]>::first)
            .and_then(|r| r.get("tags"))
            .filter(|t| t.as_map().is_some_and(|m| m.is_empty()));
        if tags.is_null()
            && let Some(empty) = recorded
        {
            first.insert("tags".to_string(), empty.clone());
        }
        let all = if tags.is_wholly_known() {
            let mut all = default_tags.clone();
            all.extend(string_map(tags));
            string_map_value(&all)
        } else {
            Value::Unknown
        };
        first.insert("tags_all".to_string(), all);
    }
    Ok(planned)
}

/// Puts the planned root volume tags (with the default tags) on the volume, removing
/// those it carried before; nothing when the block is not configured.
pub async fn apply_tags(
    client: &aws_sdk_ec2::Client,
    ctx: &AwsContext,
    volume_id: &str,
    before: &BTreeMap<String, String>,
    planned: &Value,
) -> ProviderResult<()> {
    let Some(root) = configured(planned) else {
        return Ok(());
    };
    let own = string_map(root.get("tags").unwrap_or(&Value::Null));
    // As the provider: a volume without tags of its own is left as EC2 made it.
    if own.is_empty() && before.is_empty() {
        return Ok(());
    }
    update_tags(client, volume_id, before, &ctx.tags_all(&own)).await
}

fn string_map_value(map: &BTreeMap<String, String>) -> Value {
    Value::Map(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::string(v)))
            .collect(),
    )
}

/// True when a change to the root volume needs a new instance (encryption and its key
/// cannot be changed on an existing volume).
pub fn needs_replacement(prior: Option<&Value>, planned: &Value) -> bool {
    encryption_changes(prior, planned) || key_changes(prior, planned)
}

/// A configured `kms_key_id` other than the recorded one (a key left out keeps it).
fn key_changes(prior: Option<&Value>, planned: &Value) -> bool {
    let before = prior
        .and_then(configured)
        .and_then(|r| r.get("kms_key_id"))
        .and_then(Value::as_str);
    let Some(after) = configured(planned).and_then(|r| r.get("kms_key_id")) else {
        return false;
    };
    match (before, after) {
        (Some(_), a) if a.is_unknown() => true,
        (Some(b), a) => a.as_str().is_some_and(|a| a != b),
        _ => false,
    }
}

fn encryption_changes(prior: Option<&Value>, planned: &Value) -> bool {
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
            plan(&BTreeMap::new(), Some(&prior), &config, &config).unwrap(),
            prior.get("root_block_device").cloned().unwrap()
        );
    }
}
