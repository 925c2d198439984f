//! Helpers every EC2 resource type and data source shares: the client, tags, filters,
//! reading configuration values and planning `tags_all`.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType as Ec2ResourceType, Tag, TagSpecification};
use forge_aws_common::AwsContext;
use forge_provider::{ProviderError, ProviderResult, Value};

// The value helpers every service shares live in forge-aws-common.
pub use forge_aws_common::values::{
    config_tags, opt_string, plan_tags_all, replace_paths, required_str, set_attr, tags_state,
};

/// An EC2 client for this provider configuration (with the provider block's endpoint).
pub fn client(ctx: &AwsContext) -> aws_sdk_ec2::Client {
    forge_aws_common::service_client!(aws_sdk_ec2, ctx, "ec2")
}

/// Runs `delete` until AWS stops answering DependencyViolation (what used the object, an
/// instance being terminated or an interface being deleted, still holds it for a while):
/// about a minute, enough for that without making a real dependency wait long to be
/// reported. An object already gone counts as deleted; a dependency still there at the end
/// gets `in_use_hint`.
pub async fn delete_once_released<F, Fut>(in_use_hint: &str, delete: F) -> ProviderResult<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ProviderResult<()>>,
{
    let backoff = forge_aws_common::Backoff {
        attempts: 8,
        first_delay: std::time::Duration::from_secs(1),
        max_delay: std::time::Duration::from_secs(15),
    };
    let result = forge_aws_common::retry(
        backoff,
        |e| e.code.as_deref() == Some("DependencyViolation"),
        delete,
    )
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) if e.code.as_deref() == Some("DependencyViolation") => Err(e.hint(in_use_hint)),
        Err(e) => Err(e),
    }
}

/// An error after which the request may or may not have been carried out: a server
/// error, or no answer at all (no code).
pub fn is_transient(e: &ProviderError) -> bool {
    matches!(
        e.code.as_deref(),
        // "Unknown" is `sdk_error`'s code for an answer it could not parse (a bare 500).
        None | Some(
            "Unknown" | "InternalError" | "InternalFailure" | "ServiceUnavailable" | "Unavailable"
        )
    )
}

/// True for the error codes EC2 uses when the object asked about does not exist.
pub fn is_not_found(err: &ProviderError) -> bool {
    // A malformed instance id in state names nothing that can exist either.
    err.code
        .as_deref()
        .is_some_and(|c| c.ends_with(".NotFound") || c == "InvalidInstanceID.Malformed")
}

/// AWS tags as a string map. Tags with the reserved `aws:` prefix are AWS's own and
/// never part of the configuration, so they are left out as Terraform does.
pub fn tags_from_aws(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .filter(|(k, _)| !k.starts_with("aws:"))
        .collect()
}

pub fn to_aws_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Tags applied at creation (none when the map is empty: EC2 refuses an empty spec).
pub fn tag_specifications(
    kind: Ec2ResourceType,
    tags: &BTreeMap<String, String>,
) -> Option<Vec<TagSpecification>> {
    if tags.is_empty() {
        return None;
    }
    Some(vec![
        TagSpecification::builder()
            .resource_type(kind)
            .set_tags(Some(to_aws_tags(tags)))
            .build(),
    ])
}

/// A list of strings from a list/set/tuple attribute (null gives an empty list).
pub fn string_list(v: &Value, name: &str) -> Vec<String> {
    v.get(name).map(strings_in).unwrap_or_default()
}

/// The strings in a list, set or tuple value (anything else gives none).
pub fn strings_in(v: &Value) -> Vec<String> {
    v.as_seq()
        .map(|xs| {
            xs.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A set of strings as a value, sorted so equal sets are spelled the same way.
pub fn string_set(items: impl IntoIterator<Item = String>) -> Value {
    let mut items: Vec<String> = items.into_iter().collect();
    items.sort();
    items.dedup();
    Value::Set(items.into_iter().map(Value::String).collect())
}

pub fn string_list_value(items: impl IntoIterator<Item = String>) -> Value {
    Value::List(items.into_iter().map(Value::String).collect())
}

/// `filter { name = ..., values = [...] }` blocks as EC2 filters.
pub fn filters_from_blocks(config: &Value) -> Vec<Filter> {
    config
        .get("filter")
        .and_then(Value::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|f| {
            let name = f.str_attr("name")?;
            Some(
                Filter::builder()
                    .name(name)
                    .set_values(Some(string_list(f, "values")))
                    .build(),
            )
        })
        .collect()
}

/// `tags = {...}` on a data source becomes `tag:<key>` filters, as Terraform does.
pub fn tag_filters(config: &Value) -> Vec<Filter> {
    config_tags(config)
        .into_iter()
        .map(|(k, v)| Filter::builder().name(format!("tag:{k}")).values(v).build())
        .collect()
}

/// The filter block schema shared by the data sources.
pub fn filter_block() -> forge_provider::BlockType {
    use forge_provider::{AttrType, Attribute, BlockType, Schema};
    BlockType {
        schema: Schema::new()
            .attr("name", Attribute::required(AttrType::String))
            .attr(
                "values",
                Attribute::required(AttrType::Set(Box::new(AttrType::String))),
            ),
        ..Default::default()
    }
}

pub fn filter_values_block(filters: &Value) -> Value {
    // The provider records null for a data source's `filter` when none is configured.
    match filters.as_seq() {
        Some(xs) if !xs.is_empty() => Value::List(xs.to_vec()),
        _ => Value::Null,
    }
}

/// The ARN of an EC2 object (`instance/i-...`, `security-group/sg-...`).
pub fn ec2_arn(ctx: &AwsContext, account: &str, kind_and_id: &str) -> String {
    format!(
        "arn:{}:ec2:{}:{account}:{kind_and_id}",
        partition(&ctx.region),
        ctx.region
    )
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Applies the difference between two tag maps to one EC2 object.
pub async fn update_tags(
    client: &aws_sdk_ec2::Client,
    resource_id: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> ProviderResult<()> {
    let removed: Vec<Tag> = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(|k| Tag::builder().key(k).build())
        .collect();
    if !removed.is_empty() {
        client
            .delete_tags()
            .resources(resource_id)
            .set_tags(Some(removed))
            .send()
            .await
            .map_err(forge_aws_common::sdk_error)?;
    }
    let changed: BTreeMap<String, String> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !changed.is_empty() {
        client
            .create_tags()
            .resources(resource_id)
            .set_tags(Some(to_aws_tags(&changed)))
            .send()
            .await
            .map_err(forge_aws_common::sdk_error)?;
    }
    Ok(())
}

/// The `name_prefix` the provider records for an object named `name` (`""` if the name
/// was not generated).
pub fn prefix_of(name: &str) -> Value {
    Value::string(forge_aws_common::values::name_prefix_from_name(name, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_set_sorts_and_dedups() {
        let v = string_set(["b".to_string(), "a".to_string(), "b".to_string()]);
        assert_eq!(v, Value::Set(vec![Value::string("a"), Value::string("b")]));
    }

    #[test]
    fn aws_reserved_tags_are_dropped() {
        let tags = vec![
            Tag::builder()
                .key("aws:cloudformation:stack")
                .value("x")
                .build(),
            Tag::builder().key("Name").value("web").build(),
        ];
        let m = tags_from_aws(&tags);
        assert_eq!(m.len(), 1);
        assert_eq!(m.get("Name").map(String::as_str), Some("web"));
    }

    #[test]
    fn not_found_codes() {
        assert!(is_not_found(&ProviderError::with_code(
            "InvalidGroup.NotFound",
            "x"
        )));
        assert!(is_not_found(&ProviderError::with_code(
            "InvalidInstanceID.NotFound",
            "x"
        )));
        assert!(!is_not_found(&ProviderError::with_code(
            "DependencyViolation",
            "x"
        )));
    }
}
