//! Helpers the IAM resource types share: the client, "not found" codes, tags, reading
//! configuration values and planning `tags_all`.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use forge_aws_common::AwsContext;
use forge_aws_common::naming::prefixed_unique_name;
use forge_provider::{ProviderError, ProviderResult, Value};

// The value helpers every service shares live in forge-aws-common.
pub use forge_aws_common::policy::keep_equivalent_policy;
pub use forge_aws_common::values::{
    config_tags, keep_empty_values, name_prefix_from_name, opt_string, plan_tags_all,
    replace_paths, required_str, set_attr, tags_state,
};

/// An IAM client for this provider configuration (with the provider block's endpoint).
pub fn client(ctx: &AwsContext) -> aws_sdk_iam::Client {
    forge_aws_common::service_client!(aws_sdk_iam, ctx, "iam")
}

/// True when IAM says the entity does not exist.
pub fn is_not_found(err: &ProviderError) -> bool {
    matches!(
        err.code.as_deref(),
        Some("NoSuchEntity" | "NoSuchEntityException")
    )
}

/// Turns "not found" into `None`.
pub fn found<T>(result: ProviderResult<T>) -> ProviderResult<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Hints for the errors whose cure is obvious.
pub fn with_hint(err: ProviderError, kind: &str, name: &str) -> ProviderError {
    match err.code.as_deref() {
        Some("EntityAlreadyExists" | "EntityAlreadyExistsException") => err.hint(format!(
            "an IAM {kind} named {name:?} already exists: choose another name, or import it with `forge import`"
        )),
        Some("MalformedPolicyDocument" | "MalformedPolicyDocumentException") => {
            err.hint("the policy document does not parse as an IAM policy: check its JSON and element names")
        }
        Some("ValidationError") if name.len() > 64 => {
            err.hint(format!("IAM names are at most 64 characters; {name:?} has {}", name.len()))
        }
        Some("DeleteConflict" | "DeleteConflictException") => {
            err.hint(format!("the {kind} is still in use: detach it from what uses it first"))
        }
        _ => err,
    }
}

/// IAM tags as a string map.
pub fn tags_from_aws(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

pub fn to_aws_tags(tags: &BTreeMap<String, String>) -> ProviderResult<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::new(format!("tag {k:?}: {e}")))
        })
        .collect()
}

/// `None` for no tags: IAM create calls take an absent list more kindly than an empty one.
pub fn create_tags(tags: &BTreeMap<String, String>) -> ProviderResult<Option<Vec<Tag>>> {
    if tags.is_empty() {
        Ok(None)
    } else {
        to_aws_tags(tags).map(Some)
    }
}

/// The tags that changed between two maps: (keys to remove, pairs to set).
pub fn tag_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> (Vec<String>, BTreeMap<String, String>) {
    let removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    let changed = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (removed, changed)
}

/// IAM's rules for names: at most `max` characters of letters, digits and `+=,.@_-`.
/// Checked at plan so the error names the attribute before anything is created.
pub fn check_name(resource: &str, config: &Value, max: usize) -> ProviderResult<()> {
    if let Some(name) = config.str_attr("name") {
        check_name_text(resource, "name", name, max)?;
    }
    if let Some(prefix) = config.str_attr("name_prefix") {
        // The generated suffix takes 26 characters, as in Terraform.
        check_name_text(resource, "name_prefix", prefix, max.saturating_sub(26))?;
    }
    if let Some(path) = config.str_attr("path")
        && (!path.starts_with('/') || !path.ends_with('/'))
    {
        return Err(ProviderError::new(format!(
            "{resource}: path {path:?} must begin and end with '/'"
        ))
        .hint("use \"/\" or a path such as \"/service/\""));
    }
    Ok(())
}

fn check_name_text(resource: &str, attribute: &str, text: &str, max: usize) -> ProviderResult<()> {
    let count = text.chars().count();
    if count > max {
        return Err(ProviderError::new(format!(
            "{resource}: {attribute} {text:?} is {count} characters long; IAM allows at most {max}"
        ))
        .hint(format!("shorten {attribute}")));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c)))
    {
        return Err(ProviderError::new(format!(
            "{resource}: {attribute} {text:?} contains {bad:?}, which IAM does not allow"
        ))
        .hint("use letters, digits and + = , . @ _ -"));
    }
    Ok(())
}

pub use forge_aws_common::policy::check_policy_attribute as check_policy;

/// An IAM date as Terraform prints it (RFC 3339).
pub fn date_string(d: &aws_smithy_types::DateTime) -> Value {
    // The provider formats with Go's time.RFC3339: whole seconds, no fraction.
    let whole_seconds = aws_smithy_types::DateTime::from_secs(d.secs());
    match whole_seconds.fmt(aws_smithy_types::date_time::Format::DateTime) {
        Ok(s) => Value::String(s),
        Err(_) => Value::Null,
    }
}

/// The IAM path, with IAM's default.
pub fn path_or_default(v: &Value) -> String {
    v.str_attr("path").unwrap_or("/").to_string()
}

/// The name part of an IAM ARN (`arn:aws:iam::1:policy/path/name` -> `name`).
pub fn name_from_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The configured name, or a generated one as Terraform makes when `name` is left out:
/// the prefix (`terraform-` by default), a UTC timestamp to the tenth of a millisecond
/// and an 8-digit hex counter (26 characters, as Terraform's unique ids).
pub fn name_or_generated(planned: &Value) -> String {
    if let Some(name) = planned.str_attr("name") {
        return name.to_string();
    }
    prefixed_unique_name(Some(
        planned.str_attr("name_prefix").unwrap_or("terraform-"),
    ))
}

/// IAM is eventually consistent on real AWS: a role created a moment ago may be unknown to
/// AttachRolePolicy, PutRolePolicy or AddRoleToInstanceProfile for a few seconds, and a
/// trust policy naming a just-created principal is refused as "invalid principal". Those
/// errors are retried; the emulators apply changes at once, so there they never occur.
pub fn is_propagation_delay(err: &ProviderError) -> bool {
    is_not_found(err) || is_invalid_principal(err)
}

/// A trust or resource policy naming a principal IAM does not know (yet).
pub fn is_invalid_principal(err: &ProviderError) -> bool {
    matches!(
        err.code.as_deref(),
        Some("MalformedPolicyDocument" | "MalformedPolicyDocumentException")
    ) && err.message.to_lowercase().contains("invalid principal")
}

/// How long to wait for IAM to propagate: about 20 s in all, as Terraform waits.
pub fn propagation_backoff() -> forge_aws_common::Backoff {
    forge_aws_common::Backoff::default()
}

/// Runs an IAM call, retrying while IAM has not caught up with a recent change.
pub async fn with_propagation_retry<T, F, Fut>(op: F) -> ProviderResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ProviderResult<T>>,
{
    forge_aws_common::retry(propagation_backoff(), is_propagation_delay, op).await
}

/// Every item of a paged IAM listing. `page` sends one request from the marker it is
/// given and answers the page's items and, when IAM says the listing is truncated, the
/// marker of the next page.
pub async fn all_pages<T, F, Fut>(mut page: F) -> ProviderResult<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = ProviderResult<(Vec<T>, Option<String>)>>,
{
    let mut items = Vec::new();
    let mut marker = None;
    loop {
        let (mut got, next) = page(marker).await?;
        items.append(&mut got);
        match next {
            Some(next) => marker = Some(next),
            None => return Ok(items),
        }
    }
}

/// The marker of the next page, when IAM says a listing is truncated.
pub fn next_marker(is_truncated: bool, marker: Option<&str>) -> Option<String> {
    marker.filter(|_| is_truncated).map(str::to_string)
}

/// [`read_after_create_with`] with IAM's propagation backoff.
pub async fn read_after_create<F, Fut>(what: &str, op: F) -> ProviderResult<Value>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ProviderResult<Option<Value>>>,
{
    read_after_create_with(propagation_backoff(), what, op).await
}

/// True when IAM refuses a delete because something still uses the entity. Right after
/// detaching, IAM may still count the attachment for a few seconds.
pub fn is_delete_conflict(err: &ProviderError) -> bool {
    matches!(
        err.code.as_deref(),
        Some("DeleteConflict" | "DeleteConflictException")
    )
}

/// Runs an IAM delete, retrying while a just-removed attachment still counts.
pub async fn retry_delete_conflict<T, F, Fut>(op: F) -> ProviderResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ProviderResult<T>>,
{
    forge_aws_common::retry(propagation_backoff(), is_delete_conflict, op).await
}

/// Reads an object just created, retrying while IAM does not show it yet.
pub async fn read_after_create_with<F, Fut>(
    backoff: forge_aws_common::Backoff,
    what: &str,
    mut op: F,
) -> ProviderResult<Value>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ProviderResult<Option<Value>>>,
{
    let found = forge_aws_common::retry(backoff, is_propagation_delay, || {
        let attempt = op();
        async move {
            match attempt.await? {
                Some(v) => Ok(v),
                None => Err(ProviderError::with_code(
                    "NoSuchEntity",
                    format!("{what} is not visible yet"),
                )),
            }
        }
    })
    .await;
    found.map_err(|e| {
        if is_not_found(&e) {
            ProviderError::new(format!("{what} vanished right after it was created"))
                .hint("something outside forge may have deleted it; run the plan again")
        } else {
            e
        }
    })
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
    fn tag_changes_lists_removed_and_changed() {
        let old: BTreeMap<String, String> =
            [("a".into(), "1".into()), ("b".into(), "2".into())].into();
        let new: BTreeMap<String, String> =
            [("b".into(), "3".into()), ("c".into(), "4".into())].into();
        let (removed, changed) = tag_changes(&old, &new);
        assert_eq!(removed, vec!["a".to_string()]);
        assert_eq!(changed.len(), 2);
        assert_eq!(changed.get("b").map(String::as_str), Some("3"));
    }

    #[test]
    fn equivalent_policy_keeps_prior_spelling_in_plan() {
        let prior = Value::object([(
            "policy",
            Value::string(r#"{"Version":"2012-10-17","Statement":[]}"#),
        )]);
        let mut planned = Value::object([(
            "policy",
            Value::string(r#"{ "Statement": [], "Version": "2012-10-17" }"#),
        )]);
        keep_equivalent_policy(&mut planned, Some(&prior), "policy");
        assert_eq!(planned.get("policy"), prior.get("policy"));
        let mut changed = Value::object([(
            "policy",
            Value::string(r#"{"Version":"2008-10-17","Statement":[]}"#),
        )]);
        keep_equivalent_policy(&mut changed, Some(&prior), "policy");
        assert_ne!(changed.get("policy"), prior.get("policy"));
    }

    #[test]
    fn name_from_arn_takes_the_last_segment() {
        assert_eq!(
            name_from_arn("arn:aws:iam::000000000000:policy/a/b/pol"),
            "pol"
        );
        assert!(is_not_found(&ProviderError::with_code("NoSuchEntity", "x")));
        assert!(!is_not_found(&ProviderError::with_code(
            "AccessDenied",
            "x"
        )));
    }

    #[test]
    fn invalid_policy_is_reported_with_its_attribute() {
        let planned = Value::object([("policy", Value::string("{not json"))]);
        let err = check_policy("aws_iam_policy", &planned, "policy").unwrap_err();
        assert!(
            err.message.contains("aws_iam_policy") && err.message.contains("`policy`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn propagation_delays_are_recognised() {
        assert!(is_propagation_delay(&ProviderError::with_code(
            "NoSuchEntity",
            "role x cannot be found"
        )));
        assert!(is_propagation_delay(&ProviderError::with_code(
            "MalformedPolicyDocument",
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/new\""
        )));
        assert!(!is_propagation_delay(&ProviderError::with_code(
            "MalformedPolicyDocument",
            "Syntax errors in policy."
        )));
        assert!(!is_propagation_delay(&ProviderError::with_code(
            "AccessDenied",
            "no"
        )));
        assert!(is_delete_conflict(&ProviderError::with_code(
            "DeleteConflict",
            "Cannot delete entity, must detach all policies first."
        )));
        assert!(!is_delete_conflict(&ProviderError::with_code(
            "NoSuchEntity",
            "gone"
        )));
    }

    fn quick() -> forge_aws_common::Backoff {
        forge_aws_common::Backoff {
            attempts: 5,
            first_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn a_role_iam_does_not_know_yet_is_retried_until_it_appears() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let calls = AtomicU32::new(0);
        let out = forge_aws_common::retry(quick(), is_propagation_delay, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(ProviderError::with_code(
                    "NoSuchEntity",
                    "The role with name app cannot be found.",
                ))
            } else {
                Ok("attached")
            }
        })
        .await;
        assert_eq!(out, Ok("attached"));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn read_after_create_gives_up_with_a_clear_message() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let calls = AtomicU32::new(0);
        let out = read_after_create_with(quick(), "IAM role app", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(None)
        })
        .await;
        let err = out.unwrap_err();
        assert!(
            err.message.contains("vanished right after it was created"),
            "{err}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 5, "every attempt was used");
        let seen = read_after_create_with(quick(), "IAM role app", || async {
            Ok(Some(Value::Bool(true)))
        })
        .await;
        assert_eq!(seen, Ok(Value::Bool(true)));
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

    #[test]
    fn names_are_checked_for_length_characters_and_path() {
        let ok = Value::object([
            ("name", Value::string("app-role_1@x.y")),
            ("path", Value::string("/svc/")),
        ]);
        assert!(check_name("aws_iam_role", &ok, 64).is_ok());
        let long = Value::object([("name", Value::string("r".repeat(65)))]);
        let err = check_name("aws_iam_role", &long, 64).unwrap_err();
        assert!(
            err.message.contains("65 characters") && err.message.contains("at most 64"),
            "{err}"
        );
        let spaced = Value::object([("name", Value::string("my role"))]);
        assert!(
            check_name("aws_iam_role", &spaced, 64)
                .unwrap_err()
                .message
                .contains("' '")
        );
        let prefix = Value::object([("name_prefix", Value::string("p".repeat(39)))]);
        assert!(check_name("aws_iam_role", &prefix, 64).is_err());
        let path = Value::object([("path", Value::string("svc"))]);
        assert!(
            check_name("aws_iam_role", &path, 64)
                .unwrap_err()
                .message
                .contains("begin and end")
        );
    }

    #[test]
    fn generated_names_look_like_terraforms() {
        let a = prefixed_unique_name(Some("app-"));
        let b = prefixed_unique_name(Some("app-"));
        assert_ne!(a, b);
        let suffix = &a["app-".len()..];
        assert_eq!(suffix.len(), 26, "{a}");
        assert!(suffix[..18].chars().all(|c| c.is_ascii_digit()), "{a}");
        assert!(suffix.starts_with("20"), "{a}");
        assert_eq!(
            name_or_generated(&Value::object([("name", Value::string("fixed"))])),
            "fixed"
        );
        assert!(
            name_or_generated(&Value::object([("name", Value::Null)])).starts_with("terraform-")
        );
    }
}
