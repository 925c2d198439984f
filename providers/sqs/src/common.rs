//! Helpers the SQS resource types share: the client, "queue is gone" codes, tags and
//! small value accessors.

use std::collections::BTreeMap;

use forge_aws_common::{AwsContext, map_value, string_map};
use forge_provider::{ProviderError, ProviderResult, Schema, Value};

/// An SQS client for this provider configuration.
pub fn client(ctx: &AwsContext) -> aws_sdk_sqs::Client {
    let mut conf = aws_sdk_sqs::config::Builder::from(&ctx.sdk).interceptor(ctx.api_counter());
    if let Some(url) = ctx.endpoint_for("sqs") {
        conf = conf.endpoint_url(url);
    }
    aws_sdk_sqs::Client::from_conf(conf.build())
}

/// True when the queue does not exist. The query protocol spells it
/// `AWS.SimpleQueueService.NonExistentQueue`, the JSON protocol `QueueDoesNotExist`.
pub fn is_queue_gone(err: &ProviderError) -> bool {
    matches!(
        err.code.as_deref(),
        Some("AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist" | "NonExistentQueue")
    )
}

/// Turns "queue does not exist" into `None`.
pub fn found<T>(result: ProviderResult<T>) -> ProviderResult<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_queue_gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The queue's name: the last path segment of its URL.
pub fn queue_name_from_url(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

pub fn config_tags(v: &Value) -> BTreeMap<String, String> {
    v.get("tags").map(string_map).unwrap_or_default()
}

/// The `tags` / `tags_all` pair after a read: `tags` holds the live tags except those that
/// come only from the provider's default tags (unless the state had them as its own), and
/// stays null when it was null and nothing of the resource's own is left.
pub fn tags_state(
    ctx: &AwsContext,
    prior_tags: &Value,
    live: &BTreeMap<String, String>,
) -> (Value, Value) {
    let own: BTreeMap<String, String> = live
        .iter()
        .filter(|(k, v)| ctx.default_tags.get(*k) != Some(*v) || prior_tags.get(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let tags = if own.is_empty() && prior_tags.is_null() {
        Value::Null
    } else {
        map_value(&own)
    };
    (tags, map_value(live))
}

/// Sets the planned `tags_all` to the merge of default tags and the resource's tags.
pub fn plan_tags_all(ctx: &AwsContext, planned: &mut Value) {
    let tags = planned.get("tags").cloned().unwrap_or(Value::Null);
    let all = if tags.is_wholly_known() {
        map_value(&ctx.tags_all(&string_map(&tags)))
    } else {
        Value::Unknown
    };
    set_attr(planned, "tags_all", all);
}

pub fn set_attr(v: &mut Value, name: &str, new: Value) {
    if let Value::Object(m) = v {
        m.insert(name.to_string(), new);
    }
}

pub fn required_str<'a>(v: &'a Value, name: &str, resource: &str) -> ProviderResult<&'a str> {
    v.str_attr(name).ok_or_else(|| {
        ProviderError::new(format!("{resource}: `{name}` is required"))
            .hint(format!("set `{name}` in the resource block"))
    })
}

/// Force-new attributes whose planned value differs from the prior one.
pub fn replace_paths(schema: &Schema, prior: Option<&Value>, planned: &Value) -> Vec<String> {
    let Some(prior) = prior else {
        return Vec::new();
    };
    schema
        .attributes
        .iter()
        .filter(|(_, attr)| attr.force_new)
        .filter(|(name, _)| {
            let before = prior.get(name).unwrap_or(&Value::Null);
            let after = planned.get(name).unwrap_or(&Value::Null);
            after.is_unknown() || !before.same_as(after)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_name_is_the_last_url_segment() {
        assert_eq!(
            queue_name_from_url("http://127.0.0.1:4566/000000000000/jobs"),
            "jobs"
        );
        assert_eq!(
            queue_name_from_url("https://sqs.us-east-1.amazonaws.com/1/jobs.fifo/"),
            "jobs.fifo"
        );
    }

    #[test]
    fn both_protocol_spellings_of_missing_queue_are_gone() {
        assert_eq!(
            found::<()>(Err(ProviderError::with_code("QueueDoesNotExist", "x"))),
            Ok(None)
        );
        let query = ProviderError::with_code("AWS.SimpleQueueService.NonExistentQueue", "x");
        assert_eq!(found::<()>(Err(query)), Ok(None));
        assert!(found::<()>(Err(ProviderError::with_code("AccessDenied", "x"))).is_err());
    }
}
