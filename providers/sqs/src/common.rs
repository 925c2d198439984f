//! Helpers the SQS resource types share: the client, "queue is gone" codes, tags and
//! small value accessors.

use forge_aws_common::AwsContext;
use forge_provider::{ProviderError, ProviderResult};

// The value helpers every service shares live in forge-aws-common.
pub use forge_aws_common::values::{
    check_no_timeouts, config_tags, keep_empty_values, name_prefix_from_name, plan_tags_all,
    replace_paths, required_str, set_attr, tags_state, timeouts_attribute,
};

/// An SQS client for this provider configuration.
pub fn client(ctx: &AwsContext) -> aws_sdk_sqs::Client {
    forge_aws_common::service_client!(aws_sdk_sqs, ctx, "sqs")
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
