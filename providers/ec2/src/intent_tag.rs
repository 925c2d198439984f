//! The marker tag that lets a networking object (VPC, subnet, ...) created under an
//! engine intent be found again when the create's answer never arrived: CreateVpc and
//! its siblings take no idempotency token, so the intent's token rides on the object as
//! a tag from its very first request, and goes once state records the object.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, Tag};
use forge_aws_common::sdk_error;
use forge_provider::{Finding, Found, FoundBy, ProviderResult, Value};

use crate::common::set_attr;

/// The tag key holding an intent's token while a create is in flight (every EC2 type
/// created under an intent, `aws_instance` too); never part of a recorded state.
pub const INTENT_TAG: &str = "forge:create-token";

/// The tags to create an object with: `tags_all`, plus the marker when there is a token.
pub fn tags_with_token(
    tags_all: &BTreeMap<String, String>,
    token: Option<&str>,
) -> BTreeMap<String, String> {
    let mut tags = tags_all.clone();
    if let Some(token) = token {
        tags.insert(INTENT_TAG.to_string(), token.to_string());
    }
    tags
}

/// The EC2 filter that finds the objects carrying `token`.
pub fn token_filter(token: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{INTENT_TAG}"))
        .values(token)
        .build()
}

/// `state` without the marker in `tags` and `tags_all`: state never records it.
pub fn without_intent_tag(mut state: Value) -> Value {
    for attr in ["tags", "tags_all"] {
        if let Some(Value::Map(mut tags)) = state.get(attr).cloned()
            && tags.remove(INTENT_TAG).is_some()
        {
            set_attr(&mut state, attr, Value::Map(tags));
        }
    }
    state
}

/// Takes the marker off the object `id` (nothing to do when it is not there).
pub async fn remove_intent_tag(client: &aws_sdk_ec2::Client, id: &str) -> ProviderResult<()> {
    client
        .delete_tags()
        .resources(id)
        .tags(Tag::builder().key(INTENT_TAG).build())
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

/// `created_recorded` for a type made under the marker: state records the object now, so
/// the marker comes off.
pub async fn untag_recorded(client: &aws_sdk_ec2::Client, state: &Value) -> ProviderResult<()> {
    match state.str_attr("id") {
        Some(id) => remove_intent_tag(client, id).await,
        None => Ok(()),
    }
}

/// `find_created`'s answer for the object `id`, found by the intent's token and settled
/// as `object`.
pub fn found_by_token(id: String, object: Value) -> Finding {
    Finding::Found(Found {
        object,
        created: None,
        by: FoundBy::Token,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_added_for_a_token_and_never_reaches_state() {
        let mut tags = BTreeMap::new();
        tags.insert("Name".to_string(), "net".to_string());
        assert_eq!(tags_with_token(&tags, None), tags);
        let marked = tags_with_token(&tags, Some("forge-1"));
        assert_eq!(marked.get(INTENT_TAG).map(String::as_str), Some("forge-1"));
        let state = Value::object([
            ("tags", forge_aws_common::map_value(&marked)),
            ("tags_all", forge_aws_common::map_value(&marked)),
        ]);
        let clean = without_intent_tag(state);
        for attr in ["tags", "tags_all"] {
            assert!(clean.get(attr).unwrap().get(INTENT_TAG).is_none());
            assert_eq!(
                clean.get(attr).unwrap().get("Name"),
                Some(&Value::string("net"))
            );
        }
    }
}
