//! `aws_s3_bucket`: the bucket itself and its tags. Versioning, encryption, public
//! access, policy and notifications are separate resource types, as in the AWS provider
//! since version 4.
//!
//! The id is the bucket name. `force_destroy` is configuration only: when true, delete
//! first removes every object version and delete marker.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
    ObjectLockEnabled, Tag, Tagging,
};
use forge_aws_common::adoption::{configured_name, creation_time, found_by_name};
use forge_aws_common::naming::prefixed_unique_name;
use forge_aws_common::values::name_prefix_from_name;
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value, plan_from_schema,
};

use crate::bucket_settings;
use crate::common::{
    bucket_exists, client, config_tags, default_if_null, found_or_absent, plan_tags_all,
    read_settled, replace_paths, set_attr, tags_state,
};

const TYPE: &str = "aws_s3_bucket";

pub struct BucketResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_s3::Client,
    schema: Schema,
}

impl BucketResource {
    /// Whether this account owns `bucket`: ListBuckets lists only the caller's own.
    async fn owned_by_this_account(&self, bucket: &str) -> ProviderResult<bool> {
        Ok(self.own_bucket(bucket).await?.is_some())
    }

    /// This account's bucket named `bucket`, as ListBuckets lists it (with its creation
    /// date); `None` when the account has none of that name.
    async fn own_bucket(&self, bucket: &str) -> ProviderResult<Option<aws_sdk_s3::types::Bucket>> {
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_buckets()
                .prefix(bucket)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(sdk_error)?;
            if let Some(found) = out.buckets().iter().find(|b| b.name() == Some(bucket)) {
                return Ok(Some(found.clone()));
            }
            match out.continuation_token() {
                Some(next) => token = Some(next.to_string()),
                None => return Ok(None),
            }
        }
    }

    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let text = || AttrType::String;
        let schema = Schema::new()
            .attr("bucket", Attribute::optional_computed(text()).force_new())
            .attr(
                "bucket_prefix",
                Attribute::optional_computed(text()).force_new(),
            )
            .attr("force_destroy", Attribute::optional(AttrType::Bool))
            .attr("tags", Attribute::optional(AttrType::Map(Box::new(text()))))
            .attr(
                "tags_all",
                Attribute::computed(AttrType::Map(Box::new(text()))),
            )
            .attr("id", Attribute::computed(text()))
            .attr("arn", Attribute::computed(text()))
            .attr("bucket_domain_name", Attribute::computed(text()))
            .attr("bucket_regional_domain_name", Attribute::computed(text()))
            .attr("region", Attribute::computed(text()))
            .attr("hosted_zone_id", Attribute::computed(text()))
            .attr(
                "object_lock_enabled",
                Attribute::optional_computed(AttrType::Bool).force_new(),
            );
        let schema = bucket_settings::add_to_schema(schema);
        let client = client(&ctx);
        BucketResource {
            ctx,
            client,
            schema,
        }
    }

    async fn read_by_name(&self, bucket: &str, state: &Value) -> ProviderResult<Option<Value>> {
        // No HeadBucket first: the read below answers NoSuchBucket for a bucket that is
        // gone (`found_or_absent`), one request less on every refresh and create.
        let location = self
            .client
            .get_bucket_location()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        let Some(location) = found_or_absent(location, &[])? else {
            return Ok(None);
        };
        let region = match location
            .location_constraint()
            .map(BucketLocationConstraint::as_str)
        {
            None | Some("") => "us-east-1".to_string(),
            // The oldest spelling of Ireland.
            Some("EU") => "eu-west-1".to_string(),
            Some(r) => r.to_string(),
        };
        // The tags, the object lock flag and every other setting are separate requests
        // that need nothing from each other: one round trip's wait for all of them.
        let mut value = BTreeMap::new();
        let (live_tags, object_lock, ()) = tokio::try_join!(
            live_tags(&self.client, bucket),
            object_lock_enabled(&self.client, bucket),
            bucket_settings::read_into(&self.client, bucket, state, &mut value),
        )?;
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &live_tags,
        );
        let force_destroy = state
            .get("force_destroy")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // The provider records an empty map for a bucket without tags when it reads one.
        let tags = if tags.is_null() {
            Value::Map(BTreeMap::new())
        } else {
            tags
        };
        let region_for_website = region.clone();
        let own = Value::object([
            ("hosted_zone_id", hosted_zone_id(&region)),
            ("object_lock_enabled", Value::Bool(object_lock)),
            ("id", Value::string(bucket)),
            ("bucket", Value::string(bucket)),
            (
                "bucket_prefix",
                Value::string(name_prefix_from_name(bucket, "")),
            ),
            ("force_destroy", Value::Bool(force_destroy)),
            ("arn", Value::string(format!("arn:aws:s3:::{bucket}"))),
            (
                "bucket_domain_name",
                Value::string(format!("{bucket}.s3.amazonaws.com")),
            ),
            (
                "bucket_regional_domain_name",
                Value::string(format!("{bucket}.s3.{region}.amazonaws.com")),
            ),
            ("region", Value::string(region)),
            ("tags", tags),
            ("tags_all", tags_all),
        ]);
        if let Value::Object(m) = own {
            value.extend(m);
        }
        // As the provider: the website endpoint only for a bucket that serves a website.
        if value
            .get("website")
            .and_then(Value::as_seq)
            .is_some_and(|w| !w.is_empty())
        {
            let (endpoint, domain) =
                crate::bucket_website_configuration::website_endpoint_and_domain(
                    bucket,
                    &region_for_website,
                );
            value.insert("website_endpoint".into(), Value::String(endpoint));
            value.insert("website_domain".into(), Value::String(domain));
        }
        Ok(Some(Value::Object(value)))
    }

    async fn put_tags(&self, bucket: &str, tags: &BTreeMap<String, String>) -> ProviderResult<()> {
        if tags.is_empty() {
            let out = self
                .client
                .delete_bucket_tagging()
                .bucket(bucket)
                .send()
                .await
                .map_err(sdk_error);
            found_or_absent(out, &["NoSuchTagSet"])?;
            return Ok(());
        }
        let mut set = Vec::with_capacity(tags.len());
        for (k, v) in tags {
            let tag = Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::new(format!("{TYPE}: tag {k:?}: {e}")))?;
            set.push(tag);
        }
        let tagging = Tagging::builder()
            .set_tag_set(Some(set))
            .build()
            .map_err(|e| ProviderError::new(format!("{TYPE}: tags: {e}")))?;
        self.client
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Deletes every object version and delete marker, a page (up to 1000) at a time.
    async fn empty_bucket(&self, bucket: &str) -> ProviderResult<usize> {
        let mut removed = 0;
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(bucket)
                .send()
                .await
                .map_err(sdk_error)?;
            let mut ids = Vec::new();
            let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
            let markers = page
                .delete_markers()
                .iter()
                .map(|m| (m.key(), m.version_id()));
            for (key, version) in versions.chain(markers) {
                let Some(key) = key else { continue };
                let id = ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_string))
                    .build()
                    .map_err(|e| ProviderError::new(format!("{TYPE}: object {key:?}: {e}")))?;
                ids.push(id);
            }
            if ids.is_empty() {
                return Ok(removed);
            }
            removed += ids.len();
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| ProviderError::new(format!("{TYPE}: {e}")))?;
            let out = self
                .client
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(sdk_error)?;
            if let Some(first) = out.errors().first() {
                return Err(ProviderError::with_code(
                    first.code().unwrap_or("DeleteObjectsFailed"),
                    format!(
                        "{TYPE}: could not delete {} object(s) from {bucket:?} while emptying it, first {:?}: {}",
                        out.errors().len(),
                        first.key().unwrap_or(""),
                        first.message().unwrap_or("")
                    ),
                )
                .hint("check object lock or legal holds on the bucket's objects"));
            }
        }
    }
}

/// The bucket's tags as S3 has them (none when it has no tag set).
async fn live_tags(
    client: &aws_sdk_s3::Client,
    bucket: &str,
) -> ProviderResult<BTreeMap<String, String>> {
    let tagging = client
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    Ok(
        match found_or_absent(tagging, &["NoSuchTagSet", "NoSuchTagSetError"])? {
            Some(out) => out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            None => BTreeMap::new(),
        },
    )
}

/// Whether the bucket was made with object lock (`object_lock_enabled`).
async fn object_lock_enabled(client: &aws_sdk_s3::Client, bucket: &str) -> ProviderResult<bool> {
    let lock = client
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await
        .map_err(sdk_error);
    Ok(
        found_or_absent(lock, &["ObjectLockConfigurationNotFoundError"])?
            .and_then(|out| {
                out.object_lock_configuration()
                    .and_then(|c| c.object_lock_enabled().cloned())
            })
            .is_some_and(|e| e == ObjectLockEnabled::Enabled),
    )
}

/// The Route 53 hosted zone of S3's website endpoints in a region (AWS publishes the
/// table; there is no API for it). Null for a region not in the table.
fn hosted_zone_id(region: &str) -> Value {
    const ZONES: &[(&str, &str)] = &[
        ("us-east-1", "Z3AQBSTGFYJSTF"),
        ("us-east-2", "Z2O1EMRO9K5GLX"),
        ("us-west-1", "Z2F56UZL2M1ACD"),
        ("us-west-2", "Z3BJ6K6RIION7M"),
        ("ca-central-1", "Z1QDHH18159H29"),
        ("sa-east-1", "Z7KQH4QJS55SO"),
        ("eu-west-1", "Z1BKCTXD74EZPE"),
        ("eu-west-2", "Z3GKZC51ZF0DB4"),
        ("eu-west-3", "Z3R1K369G5AVDG"),
        ("eu-central-1", "Z21DNDUVLTQW6Q"),
        ("eu-north-1", "Z3BAZG2TWCNX0D"),
        ("ap-south-1", "Z11RGJOFQNVJUP"),
        ("ap-east-1", "ZNB98KWMFR0R6"),
        ("ap-northeast-1", "Z2M4EHUR26P7ZW"),
        ("ap-northeast-2", "Z3W03O7B5YMIYP"),
        ("ap-northeast-3", "Z2YQB5RD63NC85"),
        ("ap-southeast-1", "Z3O0J2DXBE1FTB"),
        ("ap-southeast-2", "Z1WCIGYICN2BYD"),
        ("me-south-1", "Z1MPMWCPA7YB62"),
        ("us-gov-west-1", "Z31GFT0UA1I2HV"),
    ];
    ZONES
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, z)| Value::string(*z))
        .unwrap_or(Value::Null)
}

/// A name from `bucket_prefix` (or `terraform-`), spelled as the provider spells them.
fn generated_name(prefix: Option<&str>) -> String {
    prefixed_unique_name(prefix)
}

/// An unset `tags` and a recorded empty map mean the same to the provider (it records `{}`
/// when it reads a bucket without tags): the plan keeps the recorded value, no update.
fn keep_empty_tags(prior: Option<&Value>, config: &Value, planned: &mut Value) {
    let unset = config.get("tags").is_none_or(Value::is_null);
    if let Some(recorded) = prior.and_then(|p| p.get("tags"))
        && unset
        && recorded.as_map().is_some_and(|m| m.is_empty())
    {
        set_attr(planned, "tags", recorded.clone());
    }
}

/// Checks S3's naming rules, with what is wrong.
pub fn validate_bucket_name(name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    if !(3..=63).contains(&name.len()) {
        return Err(format!(
            "bucket name {name:?} is {} characters long; S3 allows 3 to 63",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(format!(
            "bucket name {name:?} contains {c:?}; only lowercase letters, digits, `-` and `.` are allowed"
        ));
    }
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge_ok(bytes[0]) || !edge_ok(bytes[bytes.len() - 1]) {
        return Err(format!(
            "bucket name {name:?} must begin and end with a letter or digit"
        ));
    }
    if name.contains("..") {
        return Err(format!("bucket name {name:?} has two dots in a row"));
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err(format!("bucket name {name:?} looks like an IP address"));
    }
    Ok(())
}

fn validate(config: &Value) -> ProviderResult<()> {
    if let Some(name) = config.str_attr("bucket") {
        validate_bucket_name(name).map_err(|msg| {
            ProviderError::new(format!("{TYPE}: {msg}"))
                .hint("rename the bucket (names are global across all AWS accounts)")
        })?;
    }
    if let Some(prefix) = config.str_attr("bucket_prefix")
        && prefix.len() > 37
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: bucket_prefix {prefix:?} is longer than 37 characters"
        ))
        .hint("shorten it: forge appends 26 characters and S3 allows 63"));
    }
    Ok(())
}

fn create_hint(mut err: ProviderError, bucket: &str) -> ProviderError {
    // Emulators may send no message: the user still learns which bucket it was about.
    if err.message.trim().is_empty() {
        err.message = format!("the bucket name {bucket:?} is not available");
    }
    match err.code.as_deref() {
        Some("BucketAlreadyExists") => err.hint(format!(
            "bucket names are global across all AWS accounts and {bucket:?} belongs to someone else: choose another name"
        )),
        Some("BucketAlreadyOwnedByYou") => {
            err.hint(format!("the bucket exists in this account: import it with `forge import <address> {bucket}`"))
        }
        Some("InvalidBucketName") => err.hint("bucket names are 3-63 lowercase letters, digits, `-` and `.`"),
        _ => err,
    }
}

#[async_trait]
impl ResourceType for BucketResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let mut planned = plan_from_schema(&self.schema, prior, config).planned;
        default_if_null(&mut planned, "force_destroy", Value::Bool(false));
        keep_empty_tags(prior, config, &mut planned);
        // Object lock is off unless asked for at creation (the default plan leaves it unknown).
        if prior.is_none()
            && planned
                .get("object_lock_enabled")
                .is_none_or(|v| v.is_null() || v.is_unknown())
        {
            set_attr(&mut planned, "object_lock_enabled", Value::Bool(false));
        }
        plan_tags_all(&self.ctx, &mut planned);
        if prior.is_none()
            && let Some(bucket) = planned.str_attr("bucket").map(str::to_string)
        {
            // Known from the name alone, so dependants can plan with them.
            set_attr(&mut planned, "id", Value::string(&bucket));
            set_attr(
                &mut planned,
                "arn",
                Value::string(format!("arn:aws:s3:::{bucket}")),
            );
            set_attr(
                &mut planned,
                "bucket_domain_name",
                Value::string(format!("{bucket}.s3.amazonaws.com")),
            );
            let region = &self.ctx.region;
            set_attr(&mut planned, "region", Value::string(region));
            set_attr(&mut planned, "hosted_zone_id", hosted_zone_id(region));
            let regional = format!("{bucket}.s3.{region}.amazonaws.com");
            set_attr(
                &mut planned,
                "bucket_regional_domain_name",
                Value::string(regional),
            );
        }
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        let bucket = match planned.str_attr("bucket") {
            Some(b) => b.to_string(),
            None => generated_name(planned.str_attr("bucket_prefix")),
        };
        // In us-east-1 CreateBucket on a bucket this account owns succeeds silently:
        // ask first, so an existing bucket is never adopted by accident. Another account's
        // bucket may answer HeadBucket too (LocalStack always does; AWS when its policy
        // allows): only one this account owns is "already yours". For the others
        // CreateBucket says BucketAlreadyExists, with a hint.
        if matches!(bucket_exists(&self.client, &bucket).await, Ok(true))
            && self.owned_by_this_account(&bucket).await.unwrap_or(true)
        {
            return Err(create_hint(
                ProviderError::with_code(
                    "BucketAlreadyOwnedByYou",
                    format!("{TYPE}: bucket {bucket:?} already exists"),
                ),
                &bucket,
            ));
        }
        let mut call = self.client.create_bucket().bucket(&bucket);
        if planned.get("object_lock_enabled").and_then(Value::as_bool) == Some(true) {
            call = call.object_lock_enabled_for_bucket(true);
        }
        if self.ctx.region != "us-east-1" {
            let location = CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(self.ctx.region.as_str()))
                .build();
            call = call.create_bucket_configuration(location);
        }
        call.send()
            .await
            .map_err(|e| create_hint(sdk_error(e), &bucket))?;
        let tags = self.ctx.tags_all(&config_tags(&planned));
        if !tags.is_empty() {
            // A new bucket may not be visible to every S3 front end at once.
            retry(
                Backoff::default(),
                |e| e.code.as_deref() == Some("NoSuchBucket"),
                || self.put_tags(&bucket, &tags),
            )
            .await?;
        }
        let quick = Backoff {
            attempts: 6,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(3),
        };
        retry(
            quick,
            |e| e.code.as_deref() == Some("NotYetVisible"),
            || async {
                self.read_by_name(&bucket, &planned).await?.ok_or_else(|| {
                    ProviderError::with_code(
                        "NotYetVisible",
                        format!("{TYPE}: bucket {bucket:?} was created but cannot be read"),
                    )
                })
            },
        )
        .await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(bucket) = state.str_attr("id").or_else(|| state.str_attr("bucket")) else {
            return Ok(None);
        };
        self.read_by_name(bucket, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let bucket = prior
            .str_attr("id")
            .ok_or_else(|| {
                ProviderError::new(format!("{TYPE}: the prior state has no bucket name (id)"))
            })?
            .to_string();
        let old = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new = self.ctx.tags_all(&config_tags(&planned));
        let read = if old != new {
            self.put_tags(&bucket, &new).await?;
            // S3 may read back the old tags for a moment: wait until the new ones show
            // (only the tags: the bucket's other settings may belong to other resources).
            let wanted = Value::object([("tags_all", forge_aws_common::map_value(&new))]);
            read_settled(&wanted, || self.read_by_name(&bucket, &planned)).await?
        } else {
            self.read_by_name(&bucket, &planned).await?
        };
        match read {
            Some(v) => Ok(v),
            None => Err(ProviderError::with_code(
                "NoSuchBucket",
                format!("{TYPE}: bucket {bucket:?} disappeared during the update"),
            )
            .hint("something deleted it outside forge: plan again to recreate it")),
        }
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(bucket) = state.str_attr("id") else {
            return Ok(());
        };
        let force = state
            .get("force_destroy")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if force {
            match self.empty_bucket(bucket).await {
                Err(e) if crate::common::is_bucket_gone(&e) => return Ok(()),
                other => other?,
            };
        }
        let out = self
            .client
            .delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        match found_or_absent(out, &[]) {
            Err(e) if e.code.as_deref() == Some("BucketNotEmpty") => Err(e.hint(format!(
                "bucket {bucket:?} still holds objects: set `force_destroy = true` and apply before destroying, or empty it yourself"
            ))),
            other => other.map(|_| ()),
        }
    }

    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let Some(bucket) = configured_name(&planned, "bucket") else {
            return Ok(Finding::CannotTell);
        };
        // Only a bucket this account owns can be the create's (another account's name
        // makes CreateBucket fail with BucketAlreadyExists, never adopted).
        let Some(listed) = self.own_bucket(&bucket).await? else {
            return Ok(Finding::Absent);
        };
        let object = self.read_by_name(&bucket, &planned).await?;
        Ok(found_by_name(
            bucket,
            object,
            creation_time(listed.creation_date()),
        ))
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let defaults = Value::object([
            ("force_destroy", Value::Bool(false)),
            ("tags", Value::Null),
            ("acl", Value::Null),
        ]);
        self.read_by_name(id, &defaults).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(validate_bucket_name("forge-prod-files-000000000000").is_ok());
        assert!(validate_bucket_name("ab").unwrap_err().contains("3 to 63"));
        assert!(
            validate_bucket_name("My_Bucket")
                .unwrap_err()
                .contains("'M'")
        );
        assert!(validate_bucket_name("-bucket").is_err());
        assert!(validate_bucket_name("a..b").is_err());
        assert!(validate_bucket_name("192.168.1.1").is_err());
        assert!(validate_bucket_name(&"a".repeat(64)).is_err());
    }

    #[test]
    fn generated_names_are_valid_bucket_names() {
        let name = generated_name(Some("forge-"));
        assert!(name.starts_with("forge-"));
        assert_eq!(validate_bucket_name(&name), Ok(()));
    }
}
