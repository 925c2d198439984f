//! The `aws_ami` data source: finds one image by owners, filters and a name pattern.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::Image;
use forge_aws_common::{AwsContext, map_value, sdk_error};
use forge_provider::{
    AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, Schema, Value,
};
use regex::Regex;

use crate::common::{
    client, filter_block, filter_values_block, filters_from_blocks, string_list, tags_from_aws,
};

pub struct AmiDataSource {
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

/// Attributes exported as plain strings, with the image field each comes from.
const STRING_EXPORTS: [&str; 28] = [
    "boot_mode",
    "deprecation_time",
    "image_owner_alias",
    "imds_support",
    "kernel_id",
    "last_launched_time",
    "platform",
    "ramdisk_id",
    "root_snapshot_id",
    "sriov_net_support",
    "tpm_support",
    "usage_operation",
    "id",
    "image_id",
    "arn",
    "name",
    "architecture",
    "owner_id",
    "creation_date",
    "description",
    "image_location",
    "image_type",
    "platform_details",
    "root_device_name",
    "root_device_type",
    "virtualization_type",
    "hypervisor",
    "state",
];

impl AmiDataSource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let strings = || AttrType::List(Box::new(AttrType::String));
        let mut schema = Schema::new()
            .attr("owners", Attribute::optional(strings()))
            .attr("executable_users", Attribute::optional(strings()))
            .attr("most_recent", Attribute::optional(AttrType::Bool))
            .attr("name_regex", Attribute::optional(AttrType::String))
            .attr("include_deprecated", Attribute::optional(AttrType::Bool))
            .attr("public", Attribute::computed(AttrType::Bool))
            .attr("ena_support", Attribute::computed(AttrType::Bool))
            .attr(
                "block_device_mappings",
                Attribute::computed(AttrType::Set(Box::new(AttrType::Any))),
            )
            .attr(
                "product_codes",
                Attribute::computed(AttrType::Set(Box::new(AttrType::Any))),
            )
            .attr(
                "state_reason",
                Attribute::computed(AttrType::Map(Box::new(AttrType::String))),
            )
            .attr("uefi_data", Attribute::computed(AttrType::String))
            // The provider's `timeouts` block; forge has its own waits: always null.
            .attr("timeouts", Attribute::computed(AttrType::Any))
            .attr(
                "tags",
                Attribute::computed(AttrType::Map(Box::new(AttrType::String))),
            )
            .block("filter", filter_block());
        for name in STRING_EXPORTS {
            schema = schema.attr(name, Attribute::computed(AttrType::String));
        }
        AmiDataSource {
            client: client(&ctx),
            schema,
        }
    }

    async fn candidates(&self, config: &Value) -> ProviderResult<Vec<Image>> {
        let owners = string_list(config, "owners");
        let users = string_list(config, "executable_users");
        let filters = filters_from_blocks(config);
        if owners.is_empty() && users.is_empty() && filters.is_empty() {
            // Listing every image is slow (and on AWS, huge): Terraform refuses it too.
            return Err(ProviderError::new(
                "aws_ami: no owners, executable_users or filter is set",
            )
            .hint("set owners (for example [\"amazon\"] or an account id) and a filter on name"));
        }
        let out = self
            .client
            .describe_images()
            .set_owners(Some(owners).filter(|o| !o.is_empty()))
            .set_executable_users(Some(users).filter(|u| !u.is_empty()))
            .set_filters(Some(filters).filter(|f| !f.is_empty()))
            .set_include_deprecated(config.get("include_deprecated").and_then(Value::as_bool))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.images().to_vec())
    }
}

/// Picks the image the configuration asks for among the candidates: those whose name
/// matches `name_regex`, then the newest when `most_recent`, else the only one.
pub fn choose_image(
    mut images: Vec<Image>,
    name_regex: Option<&str>,
    most_recent: bool,
) -> ProviderResult<Image> {
    if let Some(pattern) = name_regex {
        let re = Regex::new(pattern).map_err(|e| {
            ProviderError::new(format!(
                "aws_ami: name_regex {pattern:?} is not a valid regular expression: {e}"
            ))
        })?;
        images.retain(|i| i.name().is_some_and(|n| re.is_match(n)));
    }
    match images.len() {
        0 => Err(
            ProviderError::new("aws_ami: your query returned no results")
                .hint("change owners, the filters or name_regex and try again"),
        ),
        1 => Ok(images.remove(0)),
        n if most_recent => {
            // ISO-8601 timestamps sort as strings; ties go to the highest image id so the
            // choice does not depend on the order AWS lists them in.
            images.sort_by(|a, b| {
                (b.creation_date(), b.image_id()).cmp(&(a.creation_date(), a.image_id()))
            });
            let _ = n;
            Ok(images.remove(0))
        }
        n => Err(
            ProviderError::new(format!("aws_ami: your query returned {n} results, not one"))
                .hint("make the filters more specific, or set most_recent = true"),
        ),
    }
}

fn image_value(image: &Image, region: &str, config: &Value) -> Value {
    let id = image.image_id().unwrap_or_default();
    // The provider records "" for what the image does not say.
    let text = |s: Option<&str>| Value::string(s.unwrap_or(""));
    let root_snapshot = image
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name().is_some() && m.device_name() == image.root_device_name())
        .and_then(|m| m.ebs())
        .and_then(|e| e.snapshot_id());
    let mut out = std::collections::BTreeMap::new();
    for (name, value) in [
        ("boot_mode", text(image.boot_mode().map(|v| v.as_str()))),
        ("deprecation_time", text(image.deprecation_time())),
        ("image_owner_alias", text(image.image_owner_alias())),
        (
            "imds_support",
            text(image.imds_support().map(|v| v.as_str())),
        ),
        ("kernel_id", text(image.kernel_id())),
        ("last_launched_time", text(image.last_launched_time())),
        ("platform", text(image.platform().map(|v| v.as_str()))),
        ("ramdisk_id", text(image.ramdisk_id())),
        ("root_snapshot_id", text(root_snapshot)),
        ("sriov_net_support", text(image.sriov_net_support())),
        ("tpm_support", text(image.tpm_support().map(|v| v.as_str()))),
        ("usage_operation", text(image.usage_operation())),
        (
            "ena_support",
            Value::Bool(image.ena_support().unwrap_or(false)),
        ),
        ("block_device_mappings", block_device_mappings(image)),
        (
            "product_codes",
            Value::Set(
                image
                    .product_codes()
                    .iter()
                    .map(|p| {
                        Value::object([
                            ("product_code_id", text(p.product_code_id())),
                            (
                                "product_code_type",
                                text(p.product_code_type().map(|t| t.as_str())),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "state_reason",
            Value::Map(
                [
                    (
                        "code".to_string(),
                        Value::string(
                            image
                                .state_reason()
                                .and_then(|r| r.code())
                                .unwrap_or("UNSET"),
                        ),
                    ),
                    (
                        "message".to_string(),
                        Value::string(
                            image
                                .state_reason()
                                .and_then(|r| r.message())
                                .unwrap_or("UNSET"),
                        ),
                    ),
                ]
                .into(),
            ),
        ),
        ("uefi_data", Value::Null),
        ("timeouts", Value::Null),
        ("id", text(Some(id))),
        ("image_id", text(Some(id))),
        (
            "arn",
            Value::string(format!("arn:aws:ec2:{region}::image/{id}")),
        ),
        ("name", text(image.name())),
        (
            "architecture",
            text(image.architecture().map(|a| a.as_str())),
        ),
        ("owner_id", text(image.owner_id())),
        ("creation_date", text(image.creation_date())),
        ("description", text(image.description())),
        ("image_location", text(image.image_location())),
        ("image_type", text(image.image_type().map(|t| t.as_str()))),
        ("platform_details", text(image.platform_details())),
        ("root_device_name", text(image.root_device_name())),
        (
            "root_device_type",
            text(image.root_device_type().map(|t| t.as_str())),
        ),
        (
            "virtualization_type",
            text(image.virtualization_type().map(|t| t.as_str())),
        ),
        ("hypervisor", text(image.hypervisor().map(|t| t.as_str()))),
        ("state", text(image.state().map(|t| t.as_str()))),
        ("public", Value::Bool(image.public().unwrap_or(false))),
        ("tags", map_value(&tags_from_aws(image.tags()))),
    ] {
        out.insert(name.to_string(), value);
    }
    out.insert(
        "include_deprecated".to_string(),
        Value::Bool(
            config
                .get("include_deprecated")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
    );
    for name in ["owners", "executable_users", "name_regex"] {
        out.insert(
            name.to_string(),
            config.get(name).cloned().unwrap_or(Value::Null),
        );
    }
    out.insert(
        "most_recent".to_string(),
        Value::Bool(
            config
                .get("most_recent")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
    );
    out.insert(
        "filter".to_string(),
        filter_values_block(config.get("filter").unwrap_or(&Value::Null)),
    );
    Value::Object(out)
}

/// The image's block device mappings as the provider records them: every EBS field as a
/// string in a map (`"volume_size": "15"`), `""` for what a mapping does not say.
fn block_device_mappings(image: &Image) -> Value {
    let items = image
        .block_device_mappings()
        .iter()
        .map(|m| {
            let ebs: std::collections::BTreeMap<String, Value> = match m.ebs() {
                Some(e) => {
                    let n = |v: Option<i32>| Value::string(v.unwrap_or(0).to_string());
                    let b = |v: Option<bool>| Value::string(v.unwrap_or(false).to_string());
                    [
                        ("delete_on_termination", b(e.delete_on_termination())),
                        ("encrypted", b(e.encrypted())),
                        ("iops", n(e.iops())),
                        ("snapshot_id", Value::string(e.snapshot_id().unwrap_or(""))),
                        ("throughput", n(e.throughput())),
                        (
                            "volume_initialization_rate",
                            n(e.volume_initialization_rate()),
                        ),
                        ("volume_size", n(e.volume_size())),
                        (
                            "volume_type",
                            Value::string(e.volume_type().map(|t| t.as_str()).unwrap_or("")),
                        ),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect()
                }
                None => Default::default(),
            };
            Value::object([
                ("device_name", Value::string(m.device_name().unwrap_or(""))),
                ("ebs", Value::Map(ebs)),
                ("no_device", Value::string(m.no_device().unwrap_or(""))),
                (
                    "virtual_name",
                    Value::string(m.virtual_name().unwrap_or("")),
                ),
            ])
        })
        .collect();
    Value::Set(items)
}

#[async_trait]
impl DataSourceType for AmiDataSource {
    fn type_name(&self) -> &'static str {
        "aws_ami"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let config = config.deep_unmarked();
        let images = self.candidates(&config).await?;
        let most_recent = config
            .get("most_recent")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let image = choose_image(images, config.str_attr("name_regex"), most_recent)?;
        let region = self
            .client
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default();
        Ok(image_value(&image, &region, &config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, name: &str, created: &str) -> Image {
        Image::builder()
            .image_id(id)
            .name(name)
            .creation_date(created)
            .build()
    }

    #[test]
    fn most_recent_picks_the_newest_and_otherwise_one_is_required() {
        let images = vec![
            image("ami-1", "app-1", "2024-01-01T00:00:00.000Z"),
            image("ami-2", "app-2", "2025-01-01T00:00:00.000Z"),
            image("ami-3", "other", "2026-01-01T00:00:00.000Z"),
        ];
        let newest_app = choose_image(images.clone(), Some("^app-"), true).unwrap();
        assert_eq!(newest_app.image_id(), Some("ami-2"));
        let err = choose_image(images.clone(), Some("^app-"), false).unwrap_err();
        assert!(err.message.contains("2 results"), "{}", err.message);
        let none = choose_image(images.clone(), Some("^nothing"), true).unwrap_err();
        assert!(none.message.contains("no results"));
        let bad = choose_image(images, Some("("), true).unwrap_err();
        assert!(bad.message.contains("name_regex"));
    }
}
