//! The bucket-level settings the AWS provider records on `aws_s3_bucket` besides the
//! bucket itself: its grants, versioning, default encryption, policy, request payer,
//! transfer acceleration, CORS rules, logging, object lock and website. Since version 4 of the
//! provider they are managed by separate resource types, but its read still fills them in,
//! so forge reads them the same way: a state either tool wrote then plans clean with the
//! other. forge does not let them be configured on the bucket (they are computed here).
//!
//! The values follow the provider's spelling: `""` for an absent string setting, `[]` for
//! an absent block, `false` for an unset flag.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{ObjectLockEnabled, Permission};
use forge_aws_common::policy::policy_for_state;
use forge_aws_common::sdk_error;
use forge_provider::{AttrType, Attribute, ProviderResult, Schema, Value};

use crate::common::found_or_absent;

/// The settings' attributes, as computed ones (the provider's names and value shapes).
pub fn add_to_schema(schema: Schema) -> Schema {
    let text = || Attribute::computed(AttrType::String);
    let objects = || Attribute::computed(AttrType::List(Box::new(AttrType::Any)));
    schema
        .attr("acceleration_status", text())
        .attr("acl", text())
        .attr("policy", text())
        .attr("request_payer", text())
        .attr("website_domain", text())
        .attr("website_endpoint", text())
        // The provider's `grant` block is a set: compared (and planned) by its elements.
        .attr(
            "grant",
            Attribute::computed(AttrType::Set(Box::new(AttrType::Any))),
        )
        .attr("cors_rule", objects())
        .attr("lifecycle_rule", objects())
        .attr("logging", objects())
        .attr("object_lock_configuration", objects())
        .attr("replication_configuration", objects())
        .attr("server_side_encryption_configuration", objects())
        .attr("versioning", objects())
        .attr("website", objects())
        // A block of the provider's that forge does not take; always null in its state.
        .attr("timeouts", Attribute::computed(AttrType::Any))
}

/// Names of the settings forge cannot read yet: it writes them as the provider does for
/// a bucket that has none (listed in README "Known incompatibilities").
pub const NOT_READ: &[&str] = &["replication_configuration", "acl", "timeouts"];

/// Reads every setting of `bucket` into `out`; `state` gives the stored policy spelling.
pub async fn read_into(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    state: &Value,
    out: &mut BTreeMap<String, Value>,
) -> ProviderResult<()> {
    // Each setting is its own request and none needs another's answer: ask them all at
    // once (a refresh of a bucket was a chain of nine round trips).
    let (
        (grant, versioning, encryption, policy, request_payer, acceleration, cors, logging, lock),
        (lifecycle, website),
    ) = tokio::try_join!(
        async {
            tokio::try_join!(
                grants(client, bucket),
                versioning(client, bucket),
                encryption(client, bucket),
                policy(client, bucket, state),
                request_payer(client, bucket),
                acceleration(client, bucket),
                cors(client, bucket),
                logging(client, bucket),
                object_lock(client, bucket),
            )
        },
        async { tokio::try_join!(lifecycle_rules(client, bucket), website(client, bucket)) },
    )?;
    out.insert("grant".into(), grant);
    out.insert("versioning".into(), versioning);
    out.insert("server_side_encryption_configuration".into(), encryption);
    out.insert("policy".into(), policy);
    out.insert("request_payer".into(), request_payer);
    out.insert("acceleration_status".into(), acceleration);
    out.insert("cors_rule".into(), cors);
    out.insert("logging".into(), logging);
    out.insert("object_lock_configuration".into(), lock);
    out.insert("lifecycle_rule".into(), lifecycle);
    out.insert("website".into(), website);
    out.insert("replication_configuration".into(), Value::List(Vec::new()));
    // The website endpoint needs the bucket's region: the bucket's read adds it.
    for name in ["website_domain", "website_endpoint", "timeouts"] {
        out.insert(name.into(), Value::Null);
    }
    // `acl` is only ever what a configuration set; forge's never does.
    let acl = state
        .get("acl")
        .filter(|v| !v.is_unknown())
        .cloned()
        .unwrap_or(Value::Null);
    out.insert("acl".into(), acl);
    Ok(())
}

/// Errors that mean "this API is not offered here" (some S3 look-alikes lack acceleration
/// or request payment): the provider then records the setting as absent.
const NOT_OFFERED: &[&str] = &["NotImplemented", "MethodNotAllowed", "UnsupportedOperation"];

fn strings(items: &[String]) -> Value {
    Value::List(items.iter().map(Value::string).collect())
}

/// One grant per grantee, its permissions as a sorted set, as the provider groups them.
async fn grants(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<Value> {
    let out = client
        .get_bucket_acl()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    let Some(out) = found_or_absent(out, NOT_OFFERED)? else {
        return Ok(Value::Set(Vec::new()));
    };
    // (type, id, uri) -> permissions
    let mut by_grantee: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for g in out.grants() {
        let Some(grantee) = g.grantee() else { continue };
        let key = (
            grantee.r#type().as_str().to_string(),
            grantee.id().unwrap_or("").to_string(),
            grantee.uri().unwrap_or("").to_string(),
        );
        let permission = g.permission().map(Permission::as_str).unwrap_or("");
        let list = by_grantee.entry(key).or_default();
        if !permission.is_empty() && !list.iter().any(|p| p == permission) {
            list.push(permission.to_string());
        }
    }
    let items = by_grantee
        .into_iter()
        .map(|((ty, id, uri), mut permissions)| {
            permissions.sort();
            Value::object([
                ("id", Value::string(id)),
                ("type", Value::string(ty)),
                ("uri", Value::string(uri)),
                (
                    "permissions",
                    Value::Set(permissions.iter().map(Value::string).collect()),
                ),
            ])
        })
        .collect();
    Ok(Value::Set(items))
}

async fn versioning(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<Value> {
    let out = client
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    let (enabled, mfa_delete) = match found_or_absent(out, NOT_OFFERED)? {
        Some(out) => (
            out.status().map(|s| s.as_str()) == Some("Enabled"),
            out.mfa_delete().map(|m| m.as_str()) == Some("Enabled"),
        ),
        None => (false, false),
    };
    Ok(Value::List(vec![Value::object([
        ("enabled", Value::Bool(enabled)),
        ("mfa_delete", Value::Bool(mfa_delete)),
    ])]))
}

async fn encryption(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<Value> {
    let out = client
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    let absent = ["ServerSideEncryptionConfigurationNotFoundError"];
    let Some(out) = found_or_absent(out, &absent)? else {
        return Ok(Value::List(Vec::new()));
    };
    let Some(conf) = out.server_side_encryption_configuration() else {
        return Ok(Value::List(Vec::new()));
    };
    let rules: Vec<Value> = conf
        .rules()
        .iter()
        .map(|r| {
            let by_default: Vec<Value> = r
                .apply_server_side_encryption_by_default()
                .map(|d| {
                    Value::object([
                        ("sse_algorithm", Value::string(d.sse_algorithm().as_str())),
                        (
                            "kms_master_key_id",
                            Value::string(d.kms_master_key_id().unwrap_or("")),
                        ),
                    ])
                })
                .into_iter()
                .collect();
            Value::object([
                (
                    "bucket_key_enabled",
                    Value::Bool(r.bucket_key_enabled().unwrap_or(false)),
                ),
                (
                    "apply_server_side_encryption_by_default",
                    Value::List(by_default),
                ),
            ])
        })
        .collect();
    if rules.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    Ok(Value::List(vec![Value::object([(
        "rule",
        Value::List(rules),
    )])]))
}

async fn policy(client: &aws_sdk_s3::Client, bucket: &str, state: &Value) -> ProviderResult<Value> {
    let out = client
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    let live = match found_or_absent(out, &["NoSuchBucketPolicy"])? {
        Some(out) => out.policy().unwrap_or("").to_string(),
        None => String::new(),
    };
    if live.is_empty() {
        return Ok(Value::string(""));
    }
    Ok(Value::string(policy_for_state(
        state.str_attr("policy"),
        &live,
    )))
}

async fn request_payer(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<Value> {
    let out = client
        .get_bucket_request_payment()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    let payer = found_or_absent(out, NOT_OFFERED)?
        .and_then(|o| o.payer().map(|p| p.as_str().to_string()))
        .unwrap_or_default();
    Ok(Value::string(payer))
}

async fn acceleration(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<Value> {
    let out = client
        .get_bucket_accelerate_configuration()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    let status = found_or_absent(out, NOT_OFFERED)?
        .and_then(|o| o.status().map(|s| s.as_str().to_string()))
        .unwrap_or_default();
    Ok(Value::string(status))
}

/// The website settings in the inline `website` block's shape; `[]` without any.
async fn website(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<Value> {
    let out = client
        .get_bucket_website()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    let mut absent = vec!["NoSuchWebsiteConfiguration"];
    absent.extend_from_slice(NOT_OFFERED);
    Ok(Value::List(
        found_or_absent(out, &absent)?
            .map(|out| crate::bucket_website_configuration::inline_website_block(&out))
            .into_iter()
            .collect(),
    ))
}

async fn cors(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<Value> {
    let out = client
        .get_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    let mut absent = vec!["NoSuchCORSConfiguration"];
    absent.extend_from_slice(NOT_OFFERED);
    let Some(out) = found_or_absent(out, &absent)? else {
        return Ok(Value::List(Vec::new()));
    };
    let rules = out
        .cors_rules()
        .iter()
        .map(|r| {
            Value::object([
                ("allowed_headers", strings(r.allowed_headers())),
                ("allowed_methods", strings(r.allowed_methods())),
                ("allowed_origins", strings(r.allowed_origins())),
                ("expose_headers", strings(r.expose_headers())),
                (
                    "max_age_seconds",
                    Value::Number(f64::from(r.max_age_seconds().unwrap_or(0))),
                ),
            ])
        })
        .collect();
    Ok(Value::List(rules))
}

async fn logging(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<Value> {
    let out = client
        .get_bucket_logging()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    let enabled = found_or_absent(out, NOT_OFFERED)?.and_then(|o| o.logging_enabled().cloned());
    Ok(Value::List(
        enabled
            .map(|l| {
                Value::object([
                    ("target_bucket", Value::string(l.target_bucket())),
                    ("target_prefix", Value::string(l.target_prefix())),
                ])
            })
            .into_iter()
            .collect(),
    ))
}

async fn object_lock(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<Value> {
    let out = client
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    let mut absent = vec!["ObjectLockConfigurationNotFoundError"];
    absent.extend_from_slice(NOT_OFFERED);
    let Some(conf) =
        found_or_absent(out, &absent)?.and_then(|o| o.object_lock_configuration().cloned())
    else {
        return Ok(Value::List(Vec::new()));
    };
    if conf.object_lock_enabled() != Some(&ObjectLockEnabled::Enabled) {
        return Ok(Value::List(Vec::new()));
    }
    let rule: Vec<Value> = conf
        .rule()
        .and_then(|r| r.default_retention())
        .map(|d| {
            let number = |n: Option<i32>| Value::Number(f64::from(n.unwrap_or(0)));
            Value::object([(
                "default_retention",
                Value::List(vec![Value::object([
                    (
                        "mode",
                        Value::string(d.mode().map(|m| m.as_str()).unwrap_or("")),
                    ),
                    ("days", number(d.days())),
                    ("years", number(d.years())),
                ])]),
            )])
        })
        .into_iter()
        .collect();
    Ok(Value::List(vec![Value::object([
        ("object_lock_enabled", Value::string("Enabled")),
        ("rule", Value::List(rule)),
    ])]))
}

/// The lifecycle rules in the bucket's legacy `lifecycle_rule` shape, as the provider's
/// bucket read flattens them: a filter's prefix and tags (of `and`, or its one tag) move
/// up to the rule, the status becomes `enabled`, and what S3 leaves out is the empty value.
async fn lifecycle_rules(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<Value> {
    let out = client
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    let mut absent = vec!["NoSuchLifecycleConfiguration"];
    absent.extend_from_slice(NOT_OFFERED);
    let Some(out) = found_or_absent(out, &absent)? else {
        return Ok(Value::List(Vec::new()));
    };
    Ok(Value::List(out.rules().iter().map(legacy_rule).collect()))
}

fn legacy_date(d: Option<&aws_sdk_s3::primitives::DateTime>) -> Value {
    let text = d
        .and_then(|d| d.fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime).ok())
        .map(|t| t.chars().take(10).collect::<String>())
        .unwrap_or_default();
    Value::String(text)
}

fn tags_value(tags: &[aws_sdk_s3::types::Tag]) -> Value {
    Value::Map(
        tags.iter()
            .map(|t| (t.key().to_string(), Value::string(t.value())))
            .collect(),
    )
}

// The rule-level prefix is deprecated in S3's model; the provider still reads it.
#[allow(deprecated)]
fn legacy_rule(rule: &aws_sdk_s3::types::LifecycleRule) -> Value {
    let number = |n: Option<i32>| Value::Number(f64::from(n.unwrap_or(0)));
    let mut prefix = String::new();
    // The provider records a rule without tags as an empty map, not null.
    let mut tags = Value::Map(Default::default());
    if let Some(f) = rule.filter() {
        if let Some(and) = f.and() {
            if let Some(p) = and.prefix() {
                prefix = p.to_string();
            }
            if !and.tags().is_empty() {
                tags = tags_value(and.tags());
            }
        }
        if let Some(p) = f.prefix() {
            prefix = p.to_string();
        }
        if let Some(tag) = f.tag() {
            tags = tags_value(std::slice::from_ref(tag));
        }
    }
    if let Some(p) = rule.prefix() {
        prefix = p.to_string();
    }
    let expiration: Vec<Value> = rule
        .expiration()
        .map(|e| {
            Value::object([
                ("date", legacy_date(e.date())),
                ("days", number(e.days())),
                (
                    "expired_object_delete_marker",
                    Value::Bool(e.expired_object_delete_marker().unwrap_or(false)),
                ),
            ])
        })
        .into_iter()
        .collect();
    let noncurrent_expiration: Vec<Value> = rule
        .noncurrent_version_expiration()
        .map(|e| Value::object([("days", number(e.noncurrent_days()))]))
        .into_iter()
        .collect();
    let noncurrent_transitions: Vec<Value> = rule
        .noncurrent_version_transitions()
        .iter()
        .map(|t| {
            Value::object([
                ("days", number(t.noncurrent_days())),
                (
                    "storage_class",
                    Value::string(t.storage_class().map(|c| c.as_str()).unwrap_or("")),
                ),
            ])
        })
        .collect();
    let transitions: Vec<Value> = rule
        .transitions()
        .iter()
        .map(|t| {
            Value::object([
                ("date", legacy_date(t.date())),
                ("days", number(t.days())),
                (
                    "storage_class",
                    Value::string(t.storage_class().map(|c| c.as_str()).unwrap_or("")),
                ),
            ])
        })
        .collect();
    Value::object([
        (
            "abort_incomplete_multipart_upload_days",
            number(
                rule.abort_incomplete_multipart_upload()
                    .and_then(|a| a.days_after_initiation()),
            ),
        ),
        ("enabled", Value::Bool(rule.status().as_str() == "Enabled")),
        ("id", Value::string(rule.id().unwrap_or(""))),
        ("prefix", Value::String(prefix)),
        ("tags", tags),
        ("expiration", Value::List(expiration)),
        (
            "noncurrent_version_expiration",
            Value::List(noncurrent_expiration),
        ),
        (
            "noncurrent_version_transition",
            Value::Set(Value::sort_set(noncurrent_transitions)),
        ),
        ("transition", Value::Set(Value::sort_set(transitions))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::types::{
        ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator,
        LifecycleRuleFilter, Tag,
    };

    #[test]
    fn a_lifecycle_rule_flattens_as_the_providers_bucket_read() {
        let tag = Tag::builder().key("class").value("log").build().unwrap();
        let rule = LifecycleRule::builder()
            .id("logs")
            .status(ExpirationStatus::Disabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .and(
                        LifecycleRuleAndOperator::builder()
                            .prefix("logs/")
                            .tags(tag)
                            .build(),
                    )
                    .build(),
            )
            .expiration(LifecycleExpiration::builder().days(30).build())
            .build()
            .unwrap();
        let v = legacy_rule(&rule);
        assert_eq!(v.get("enabled"), Some(&Value::Bool(false)));
        assert_eq!(v.str_attr("prefix"), Some("logs/"));
        assert_eq!(
            v.get("tags").and_then(Value::as_map).map(|m| m.len()),
            Some(1)
        );
        assert_eq!(
            v.get("abort_incomplete_multipart_upload_days"),
            Some(&Value::Number(0.0))
        );
        let expiration = &v.get("expiration").and_then(Value::as_seq).unwrap()[0];
        assert_eq!(expiration.str_attr("date"), Some(""));
        assert_eq!(expiration.get("days"), Some(&Value::Number(30.0)));
        // Without tags the provider records an empty map, not null.
        let bare = LifecycleRule::builder()
            .id("bare")
            .status(ExpirationStatus::Enabled)
            .build()
            .unwrap();
        assert_eq!(
            legacy_rule(&bare).get("tags"),
            Some(&Value::Map(Default::default()))
        );
    }
}
