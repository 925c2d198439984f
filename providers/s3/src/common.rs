//! Helpers the S3 resource types share: the client, "bucket is gone" codes, the
//! "configuration is absent" rule, block accessors and tags.

use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{ProviderError, ProviderResult, Value};

// The value helpers every service shares live in forge-aws-common.
pub use forge_aws_common::values::{
    config_tags, keep_empty_values_in_blocks, plan_tags_all, replace_paths, required_str, set_attr,
    tags_state,
};

/// An S3 client for this provider configuration; path-style addressing when the provider block asks
/// (`s3_use_path_style`) or a custom endpoint is in force (virtual-hosted names such as `<bucket>.localhost` do not resolve).
pub fn client(ctx: &AwsContext) -> aws_sdk_s3::Client {
    let path_style = ctx.s3_path_style();
    forge_aws_common::service_client!(
        aws_sdk_s3,
        ctx,
        "s3",
        |conf: aws_sdk_s3::config::Builder| {
            if path_style {
                conf.force_path_style(true)
            } else {
                conf
            }
        }
    )
}

/// True when the bucket does not exist (HeadBucket answers a bare 404 `NotFound`).
pub fn is_bucket_gone(err: &ProviderError) -> bool {
    matches!(err.code.as_deref(), Some("NoSuchBucket" | "NotFound"))
}

/// Turns "bucket is gone" and any of `absent` (the sub-resource's own "not configured"
/// codes) into `None`.
pub fn found_or_absent<T>(result: ProviderResult<T>, absent: &[&str]) -> ProviderResult<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_bucket_gone(&e) => Ok(None),
        Err(e) if e.code.as_deref().is_some_and(|c| absent.contains(&c)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the bucket exists (and we may see it).
pub async fn bucket_exists(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<bool> {
    let out = client
        .head_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    Ok(found_or_absent(out, &[])?.is_some())
}

/// The bucket a sub-resource belongs to, with a clear error when it is missing.
pub fn bucket_of<'a>(v: &'a Value, resource: &str) -> ProviderResult<&'a str> {
    required_str(v, "bucket", resource)
}

/// The first object of a nested block (blocks arrive as lists of objects).
pub fn first_block<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.get(name)
        .and_then(Value::as_seq)
        .and_then(|items| items.first())
}

/// The items of a nested block (none when absent or null).
pub fn block_items<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name).and_then(Value::as_seq).unwrap_or(&[])
}

/// An error when a required nested block is known to be absent (an unknown block list,
/// from a `dynamic` block not yet expanded, passes).
pub fn require_block(
    config: &Value,
    name: &str,
    resource: &str,
    example: &str,
) -> ProviderResult<()> {
    let absent = match config.get(name) {
        None => true,
        Some(v) if v.is_null() => true,
        Some(v) => v.as_seq().is_some_and(<[Value]>::is_empty),
    };
    if absent {
        return Err(
            ProviderError::new(format!("{resource}: a `{name}` block is required"))
                .hint(format!("add one, for example: {example}")),
        );
    }
    Ok(())
}

pub fn opt_string(s: Option<&str>) -> Value {
    match s {
        Some(s) if !s.is_empty() => Value::string(s),
        _ => Value::Null,
    }
}

/// `expected_bucket_owner` as the provider records it: `""` when unset.
pub fn owner_or_empty(recorded: Value) -> Value {
    if recorded.is_null() {
        Value::string("")
    } else {
        recorded
    }
}

/// Replaces a null attribute by its Terraform default (`Optional` with `Default`).
pub fn default_if_null(v: &mut Value, name: &str, default: Value) {
    if v.get(name).is_none_or(Value::is_null) {
        set_attr(v, name, default);
    }
}

/// An error for a sub-resource whose bucket does not exist, saying what to do.
pub fn no_bucket(resource: &str, bucket: &str) -> ProviderError {
    ProviderError::with_code("NoSuchBucket", format!("{resource}: bucket {bucket:?} does not exist"))
        .hint("create the bucket first: reference aws_s3_bucket.<name>.id in `bucket` so forge orders them")
}

/// Adds the bucket hint to a NoSuchBucket error from a sub-resource's write.
pub fn with_bucket_hint(err: ProviderError, resource: &str, bucket: &str) -> ProviderError {
    if is_bucket_gone(&err) {
        no_bucket(resource, bucket)
    } else {
        err
    }
}

/// True when the live value shows everything the plan knows: each known, non-null planned
/// attribute is the same in `live`, and nested blocks match item by item.
pub fn shows_planned(live: &Value, planned: &Value) -> bool {
    let Some(want) = planned.as_map() else {
        return true;
    };
    want.iter().all(|(name, w)| {
        if w.is_null() || !w.is_wholly_known() && !is_block_list(w) {
            return true;
        }
        let have = live.get(name).unwrap_or(&Value::Null);
        match (w.as_seq(), have.as_seq()) {
            (Some(ws), Some(hs)) if is_block_list(w) => {
                ws.len() == hs.len() && ws.iter().zip(hs).all(|(w, h)| shows_planned(h, w))
            }
            _ => have.same_as(w),
        }
    })
}

fn is_block_list(v: &Value) -> bool {
    v.as_seq()
        .is_some_and(|items| !items.is_empty() && items.iter().all(|i| i.as_map().is_some()))
}

/// Reads after a write until the read shows the plan. S3 configuration writes are
/// eventually consistent; when the time runs out the last read is returned as it is, so
/// the next plan reports what is really there.
pub async fn read_settled<F, Fut>(planned: &Value, mut read: F) -> ProviderResult<Option<Value>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ProviderResult<Option<Value>>>,
{
    let started = std::time::Instant::now();
    let mut delay = std::time::Duration::from_millis(100);
    loop {
        let current = read().await?;
        let settled = current.as_ref().is_some_and(|v| shows_planned(v, planned));
        if settled || started.elapsed() >= SETTLE_TIME {
            return Ok(current);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(5));
    }
}

/// How long a configuration write may take to show in reads before forge stops waiting.
const SETTLE_TIME: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_planned_compares_known_values_and_blocks() {
        let rule = |alg: &str| {
            Value::object([
                ("sse_algorithm", Value::string(alg)),
                ("kms_master_key_id", Value::Null),
            ])
        };
        let planned = Value::object([
            ("bucket", Value::string("b")),
            ("id", Value::Unknown),
            ("rule", Value::List(vec![rule("AES256")])),
        ]);
        let live = Value::object([
            ("bucket", Value::string("b")),
            ("id", Value::string("b")),
            ("rule", Value::List(vec![rule("AES256")])),
        ]);
        assert!(shows_planned(&live, &planned));
        let stale = Value::object([
            ("bucket", Value::string("b")),
            ("rule", Value::List(vec![rule("aws:kms")])),
        ]);
        assert!(!shows_planned(&stale, &planned));
        let missing = Value::object([
            ("bucket", Value::string("b")),
            ("rule", Value::List(vec![])),
        ]);
        assert!(!shows_planned(&missing, &planned));
    }

    #[test]
    fn absent_configuration_codes_count_as_none() {
        let r: ProviderResult<()> = Err(ProviderError::with_code("NoSuchBucketPolicy", "x"));
        assert_eq!(found_or_absent(r, &["NoSuchBucketPolicy"]), Ok(None));
        let r: ProviderResult<()> = Err(ProviderError::with_code("NoSuchBucket", "x"));
        assert_eq!(found_or_absent(r, &[]), Ok(None));
        let r: ProviderResult<()> = Err(ProviderError::with_code("AccessDenied", "x"));
        assert!(found_or_absent(r, &["NoSuchBucketPolicy"]).is_err());
    }

    #[test]
    fn defaults_fill_only_nulls() {
        let mut v = Value::object([("a", Value::Null), ("b", Value::Bool(true))]);
        default_if_null(&mut v, "a", Value::Bool(false));
        default_if_null(&mut v, "b", Value::Bool(false));
        assert_eq!(v.get("a"), Some(&Value::Bool(false)));
        assert_eq!(v.get("b"), Some(&Value::Bool(true)));
    }

    #[test]
    fn missing_bucket_error_says_how_to_order_resources() {
        let e = with_bucket_hint(
            ProviderError::with_code("NoSuchBucket", "gone"),
            "aws_s3_bucket_policy",
            "b",
        );
        assert!(e.message.contains("\"b\""));
        assert!(e.hint.unwrap().contains("aws_s3_bucket.<name>.id"));
    }
}
