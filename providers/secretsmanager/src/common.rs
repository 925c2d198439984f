//! Helpers both Secrets Manager resource types share: the client, "not found" codes and tags.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::types::Tag;
use forge_aws_common::AwsContext;
use forge_provider::{ProviderError, ProviderResult, Value};

// The value helpers every service shares live in forge-aws-common.
pub use forge_aws_common::values::{
    config_tags, keep_empty_values, name_prefix_from_name, opt_string, plan_tags_all,
    replace_paths, required_str, set_attr, tags_state,
};

/// A Secrets Manager client for this provider configuration.
pub fn client(ctx: &AwsContext) -> aws_sdk_secretsmanager::Client {
    forge_aws_common::service_client!(aws_sdk_secretsmanager, ctx, "secretsmanager")
}

/// True when the secret (or version) does not exist.
pub fn is_not_found(err: &ProviderError) -> bool {
    err.code.as_deref() == Some("ResourceNotFoundException")
}

/// True when Secrets Manager refuses because the secret is scheduled for deletion: to
/// Terraform such a secret is gone.
pub fn is_scheduled_for_deletion(err: &ProviderError) -> bool {
    // AWS says "marked for deletion" / "scheduled for deletion"; LocalStack "marked deleted".
    let message = err.message.to_lowercase();
    err.code.as_deref() == Some("InvalidRequestException")
        && (message.contains("deletion") || message.contains("marked deleted"))
}

/// Turns "not found" (and "scheduled for deletion") into `None`.
pub fn found<T>(result: ProviderResult<T>) -> ProviderResult<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_not_found(&e) || is_scheduled_for_deletion(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

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

/// A description as state: AWS does not distinguish "" from none, so an empty one counts
/// as whatever the state had (null or ""), and only a real text is a value.
pub fn description_value(live: Option<&str>, _state: &Value) -> Value {
    // The provider writes "" for no description, never null.
    Value::string(live.unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_for_deletion_counts_as_gone() {
        let e = ProviderError::with_code(
            "InvalidRequestException",
            "You can't perform this operation on the secret because it was marked for deletion.",
        );
        assert_eq!(found::<()>(Err(e)), Ok(None));
        let localstack = ProviderError::with_code(
            "InvalidRequestException",
            "You tried to perform the operation on a secret that's currently marked deleted.",
        );
        assert_eq!(found::<()>(Err(localstack)), Ok(None));
        let other = ProviderError::with_code("InvalidRequestException", "something else");
        assert!(found::<()>(Err(other)).is_err());
        assert_eq!(
            found::<()>(Err(ProviderError::with_code(
                "ResourceNotFoundException",
                "x"
            ))),
            Ok(None)
        );
    }

    #[test]
    fn reserved_tags_are_dropped() {
        let tags = vec![
            Tag::builder().key("aws:x").value("1").build(),
            Tag::builder().key("team").value("a").build(),
        ];
        let m = tags_from_aws(&tags);
        assert_eq!(m.len(), 1);
        assert_eq!(m.get("team").map(String::as_str), Some("a"));
    }

    #[test]
    fn no_description_is_recorded_as_the_providers_empty_string() {
        let empty = Value::object([("description", Value::string(""))]);
        let none = Value::object([("description", Value::Null)]);
        assert_eq!(description_value(None, &empty), Value::string(""));
        assert_eq!(description_value(None, &none), Value::string(""));
        assert_eq!(description_value(Some(""), &none), Value::string(""));
        assert_eq!(description_value(Some("x"), &empty), Value::string("x"));
    }
}
