//! `aws_s3_object`: one object in a bucket, its body from `content`, `content_base64` or a
//! file (`source`), its headers, metadata, tags and ACL. The id is the key, as the
//! provider (5.x) records it, and import takes `<bucket>/<key>`; both are chosen by the
//! configuration, so a create that died before state recorded it finds the
//! object by that name (no intent marker is needed).
//!
//! As the provider: a change of the body or of anything S3 keeps with the body (headers,
//! metadata, storage class, encryption, `etag`, `source_hash`) uploads the object again in
//! place (a new `version_id`); a change of only the tags or the ACL is sent on its own; the
//! body's arguments are recorded as configured, never read back (`etag` shows a change
//! made outside forge when it is configured, typically `filemd5(...)`). A relative
//! `source` is read from the unit's root module folder, where Terraform runs the provider.
//! Object lock arguments and `override_provider` are refused at plan.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, Delete, ObjectCannedAcl, ObjectIdentifier,
    ServerSideEncryption, StorageClass, Tag, Tagging,
};
use base64::Engine as _;
use forge_aws_common::adoption::{configured_name, creation_time, found_by_name};
use forge_aws_common::values::keep_empty_values;
use forge_aws_common::{AwsContext, Backoff, map_value, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, BlockType, CreateIntent, Finding, PlannedState, ProviderError,
    ProviderResult, ResourceType, Schema, Value, plan_from_schema,
};

use crate::common::{
    client, config_tags, found_or_absent, plan_tags_all, replace_paths, required_str, set_attr,
    tags_state, with_bucket_hint,
};

const TYPE: &str = "aws_s3_object";

/// What S3 keeps with the body: a change of any of them uploads the object again.
const UPLOADED_WITH_BODY: &[&str] = &[
    "bucket_key_enabled",
    "cache_control",
    "checksum_algorithm",
    "content",
    "content_base64",
    "content_disposition",
    "content_encoding",
    "content_language",
    "content_type",
    "etag",
    "kms_key_id",
    "metadata",
    "server_side_encryption",
    "source",
    "source_hash",
    "storage_class",
    "website_redirect",
];

/// Recorded as configured: S3 does not give them back.
const CONFIG_ONLY: &[&str] = &[
    "content",
    "content_base64",
    "source",
    "source_hash",
    "checksum_algorithm",
];

/// Arguments forge does not act on: refused when set.
const REFUSED: &[(&str, &str)] = &[
    (
        "object_lock_legal_hold_status",
        "forge does not manage object lock settings of aws_s3_object yet",
    ),
    (
        "object_lock_mode",
        "forge does not manage object lock settings of aws_s3_object yet",
    ),
    (
        "object_lock_retain_until_date",
        "forge does not manage object lock settings of aws_s3_object yet",
    ),
];

pub struct ObjectResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_s3::Client,
    schema: Schema,
}

fn one_block(schema: Schema) -> BlockType {
    BlockType {
        schema,
        max_items: 1,
        ..BlockType::default()
    }
}

impl ObjectResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let text = || AttrType::String;
        let map = || AttrType::Map(Box::new(AttrType::String));
        let default_tags = Schema::new().attr("tags", Attribute::optional(map()));
        let override_provider = Schema::new().block("default_tags", one_block(default_tags));
        let mut schema = Schema::new()
            .attr("acl", Attribute::optional_computed(text()))
            .attr("arn", Attribute::computed(text()))
            .attr("bucket", Attribute::required(text()).force_new())
            .attr(
                "bucket_key_enabled",
                Attribute::optional_computed(AttrType::Bool),
            )
            .attr("cache_control", Attribute::optional(text()))
            .attr("checksum_algorithm", Attribute::optional(text()))
            .attr("content", Attribute::optional(text()))
            .attr("content_base64", Attribute::optional(text()))
            .attr("content_disposition", Attribute::optional(text()))
            .attr("content_encoding", Attribute::optional(text()))
            .attr("content_language", Attribute::optional(text()))
            .attr("content_type", Attribute::optional_computed(text()))
            .attr("etag", Attribute::optional_computed(text()))
            .attr(
                "force_destroy",
                Attribute::optional(AttrType::Bool).default(Value::Bool(false)),
            )
            .attr("id", Attribute::computed(text()))
            .attr("key", Attribute::required(text()).force_new())
            .attr("kms_key_id", Attribute::optional_computed(text()))
            .attr("metadata", Attribute::optional(map()))
            .attr("object_lock_legal_hold_status", Attribute::optional(text()))
            .attr("object_lock_mode", Attribute::optional(text()))
            .attr("object_lock_retain_until_date", Attribute::optional(text()))
            .attr(
                "server_side_encryption",
                Attribute::optional_computed(text()),
            )
            .attr("source", Attribute::optional(text()))
            .attr("source_hash", Attribute::optional(text()))
            .attr("storage_class", Attribute::optional_computed(text()))
            .attr("tags", Attribute::optional(map()))
            .attr("tags_all", Attribute::computed(map()))
            .attr("version_id", Attribute::computed(text()))
            .attr("website_redirect", Attribute::optional(text()))
            .block("override_provider", one_block(override_provider));
        for checksum in [
            "checksum_crc32",
            "checksum_crc32c",
            "checksum_crc64nvme",
            "checksum_sha1",
            "checksum_sha256",
        ] {
            schema = schema.attr(checksum, Attribute::computed(text()));
        }
        ObjectResource {
            client: client(&ctx),
            ctx,
            schema,
        }
    }

    /// The object as the provider reads it, the configuration-only arguments taken from
    /// `state`. `None` when the object (or its bucket) is gone.
    async fn read_object(
        &self,
        bucket: &str,
        key: &str,
        state: &Value,
    ) -> ProviderResult<Option<Value>> {
        let clean = clean_key(key);
        let mut head = self.client.head_object().bucket(bucket).key(&clean);
        if state
            .str_attr("checksum_algorithm")
            .is_some_and(|a| !a.is_empty())
        {
            head = head.checksum_mode(ChecksumMode::Enabled);
        }
        let out = head.send().await.map_err(sdk_error);
        let Some(out) = found_or_absent(out, &["NoSuchKey"])? else {
            return Ok(None);
        };
        let tagging = self
            .client
            .get_object_tagging()
            .bucket(bucket)
            .key(&clean)
            .send()
            .await
            .map_err(sdk_error);
        let Some(tagging) = found_or_absent(tagging, &["NoSuchKey"])? else {
            return Ok(None);
        };
        let live_tags: BTreeMap<String, String> = tagging
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &live_tags,
        );
        let text = |s: Option<&str>| Value::string(s.unwrap_or(""));
        let metadata: BTreeMap<String, String> = out
            .metadata()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        // Only an object encrypted with a KMS key names one; otherwise what state had.
        let kms_key_id = match out.ssekms_key_id() {
            Some(k) => Value::string(k),
            None => known_or_null(state.get("kms_key_id")),
        };
        let storage_class = out
            .storage_class()
            .map(|c| c.as_str())
            .filter(|c| !c.is_empty())
            .unwrap_or("STANDARD");
        let mut value = BTreeMap::from([
            // As the provider (5.x): the id is the key; import takes `bucket/key`.
            ("id".to_string(), Value::string(key)),
            ("bucket".into(), Value::string(bucket)),
            ("key".into(), Value::string(key)),
            (
                "arn".into(),
                Value::string(format!("arn:aws:s3:::{bucket}/{clean}")),
            ),
            ("acl".into(), known_or_null(state.get("acl"))),
            (
                "bucket_key_enabled".into(),
                Value::Bool(out.bucket_key_enabled().unwrap_or(false)),
            ),
            ("cache_control".into(), text(out.cache_control())),
            ("checksum_crc32".into(), text(out.checksum_crc32())),
            ("checksum_crc32c".into(), text(out.checksum_crc32_c())),
            ("checksum_crc64nvme".into(), text(out.checksum_crc64_nvme())),
            ("checksum_sha1".into(), text(out.checksum_sha1())),
            ("checksum_sha256".into(), text(out.checksum_sha256())),
            (
                "content_disposition".into(),
                text(out.content_disposition()),
            ),
            ("content_encoding".into(), text(out.content_encoding())),
            ("content_language".into(), text(out.content_language())),
            ("content_type".into(), text(out.content_type())),
            (
                "etag".into(),
                Value::string(out.e_tag().unwrap_or("").trim_matches('"')),
            ),
            (
                "force_destroy".into(),
                Value::Bool(
                    state
                        .get("force_destroy")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                ),
            ),
            ("kms_key_id".into(), kms_key_id),
            ("metadata".into(), map_value(&metadata)),
            (
                "object_lock_legal_hold_status".into(),
                text(out.object_lock_legal_hold_status().map(|s| s.as_str())),
            ),
            (
                "object_lock_mode".into(),
                text(out.object_lock_mode().map(|s| s.as_str())),
            ),
            (
                "object_lock_retain_until_date".into(),
                Value::string(
                    out.object_lock_retain_until_date()
                        .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                        .unwrap_or_default(),
                ),
            ),
            (
                "server_side_encryption".into(),
                text(out.server_side_encryption().map(|s| s.as_str())),
            ),
            ("storage_class".into(), Value::string(storage_class)),
            ("tags".into(), tags),
            ("tags_all".into(), tags_all),
            ("version_id".into(), text(out.version_id())),
            (
                "website_redirect".into(),
                text(out.website_redirect_location()),
            ),
            (
                "override_provider".into(),
                state
                    .get("override_provider")
                    .filter(|v| v.is_wholly_known() && !v.is_null())
                    .cloned()
                    .unwrap_or(Value::List(Vec::new())),
            ),
        ]);
        for name in CONFIG_ONLY {
            value.insert((*name).to_string(), known_or_null(state.get(name)));
        }
        Ok(Some(Value::Object(value)))
    }

    /// Reads the object after a write: it must be there.
    async fn read_written(
        &self,
        bucket: &str,
        key: &str,
        planned: &Value,
    ) -> ProviderResult<Value> {
        self.read_object(bucket, key, planned).await?.ok_or_else(|| {
            ProviderError::with_code(
                "NoSuchKey",
                format!("{TYPE}: object {key:?} in bucket {bucket:?} cannot be read after it was written"),
            )
            .hint("something deleted it meanwhile: plan again to upload it")
        })
    }

    /// The body the configuration gives: the file `source`, `content`, the decoded
    /// `content_base64`, or nothing.
    async fn body(&self, planned: &Value) -> ProviderResult<Vec<u8>> {
        if let Some(source) = planned.str_attr("source") {
            let path = self.ctx.resolve_path(source);
            return tokio::fs::read(&path).await.map_err(|e| {
                ProviderError::new(format!(
                    "{TYPE}: cannot read source {}: {e}",
                    path.display()
                ))
                .hint("a relative source is read from the unit's root module folder, as Terraform reads it; write \"${path.module}/<file>\" for a file beside the module")
            });
        }
        if let Some(content) = planned.str_attr("content") {
            return Ok(content.as_bytes().to_vec());
        }
        if let Some(encoded) = planned.str_attr("content_base64") {
            return base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|e| {
                    ProviderError::new(format!("{TYPE}: content_base64 is not valid base64: {e}"))
                        .hint(
                            "give base64-encoded bytes, e.g. base64encode(...) or filebase64(...)",
                        )
                });
        }
        Ok(Vec::new())
    }

    /// PutObject with everything the configuration sets, tags included.
    async fn upload(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        let bucket = required_str(&planned, "bucket", TYPE)?.to_string();
        let key = required_str(&planned, "key", TYPE)?.to_string();
        let body = self.body(&planned).await?;
        let tags = self.ctx.tags_all(&config_tags(&planned));
        let set = |name: &str| planned.str_attr(name).filter(|s| !s.is_empty());
        let metadata: HashMap<String, String> = planned
            .get("metadata")
            .map(string_map)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let make_put = || {
            let mut put = self
                .client
                .put_object()
                .bucket(&bucket)
                .key(clean_key(&key))
                .body(ByteStream::from(body.clone()))
                .set_acl(set("acl").map(ObjectCannedAcl::from))
                .set_cache_control(set("cache_control").map(str::to_string))
                .set_checksum_algorithm(set("checksum_algorithm").map(ChecksumAlgorithm::from))
                .set_content_disposition(set("content_disposition").map(str::to_string))
                .set_content_encoding(set("content_encoding").map(str::to_string))
                .set_content_language(set("content_language").map(str::to_string))
                .set_content_type(set("content_type").map(str::to_string))
                .set_storage_class(set("storage_class").map(StorageClass::from))
                .set_website_redirect_location(set("website_redirect").map(str::to_string));
            if planned.get("bucket_key_enabled").and_then(Value::as_bool) == Some(true) {
                put = put.bucket_key_enabled(true);
            }
            if !metadata.is_empty() {
                put = put.set_metadata(Some(metadata.clone()));
            }
            if let Some(sse) = set("server_side_encryption") {
                put = put.server_side_encryption(ServerSideEncryption::from(sse));
            }
            if let Some(kms) = set("kms_key_id") {
                put = put
                    .ssekms_key_id(kms)
                    .server_side_encryption(ServerSideEncryption::AwsKms);
            }
            if !tags.is_empty() {
                put = put.tagging(url_encoded_tags(&tags));
            }
            put
        };
        retry(
            Backoff::default(),
            |_| false,
            || async {
                make_put()
                    .send()
                    .await
                    .map_err(|e| upload_hint(with_bucket_hint(sdk_error(e), TYPE, &bucket)))
            },
        )
        .await?;
        self.read_written(&bucket, &key, &planned).await
    }

    async fn put_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: &BTreeMap<String, String>,
    ) -> ProviderResult<()> {
        if tags.is_empty() {
            self.client
                .delete_object_tagging()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(sdk_error)?;
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
            .put_object_tagging()
            .bucket(bucket)
            .key(key)
            .tagging(tagging)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Every version and delete marker of exactly `key` (a versioned bucket), bypassing
    /// governance retention when `force`.
    async fn delete_all_versions(
        &self,
        bucket: &str,
        key: &str,
        force: bool,
    ) -> ProviderResult<()> {
        let mut key_marker: Option<String> = None;
        let mut version_marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(bucket)
                .prefix(key)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
                .map_err(sdk_error);
            let Some(page) = found_or_absent(page, &[])? else {
                return Ok(());
            };
            let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
            let markers = page
                .delete_markers()
                .iter()
                .map(|m| (m.key(), m.version_id()));
            let mut ids = Vec::new();
            for (k, version) in versions.chain(markers) {
                if k != Some(key) {
                    continue;
                }
                let id = ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_string))
                    .build()
                    .map_err(|e| ProviderError::new(format!("{TYPE}: object {key:?}: {e}")))?;
                ids.push(id);
            }
            if !ids.is_empty() {
                let delete = Delete::builder()
                    .set_objects(Some(ids))
                    .quiet(true)
                    .build()
                    .map_err(|e| ProviderError::new(format!("{TYPE}: {e}")))?;
                let mut call = self.client.delete_objects().bucket(bucket).delete(delete);
                if force {
                    call = call.bypass_governance_retention(true);
                }
                let out = call.send().await.map_err(sdk_error)?;
                if let Some(first) = out.errors().first() {
                    return Err(ProviderError::with_code(
                        first.code().unwrap_or("DeleteObjectsFailed"),
                        format!(
                            "{TYPE}: could not delete version {:?} of {key:?} in {bucket:?}: {}",
                            first.version_id().unwrap_or(""),
                            first.message().unwrap_or("")
                        ),
                    )
                    .hint("an object lock retention or legal hold keeps it: set force_destroy = true for governance mode, or lift the hold"));
                }
            }
            if page.is_truncated() != Some(true) {
                return Ok(());
            }
            key_marker = page.next_key_marker().map(str::to_string);
            version_marker = page.next_version_id_marker().map(str::to_string);
        }
    }
}

/// The key as the provider sends it (its SDK v1 cleaning): no leading `./` or `/`, runs of
/// `/` made one.
fn clean_key(key: &str) -> String {
    let key = key
        .strip_prefix("./")
        .unwrap_or(key)
        .trim_start_matches('/');
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

/// A known value, else null (an unknown never reaches state).
fn known_or_null(v: Option<&Value>) -> Value {
    match v {
        Some(v) if v.is_wholly_known() => v.clone(),
        _ => Value::Null,
    }
}

/// Tags as PutObject's `x-amz-tagging` header takes them: a URL query string.
fn url_encoded_tags(tags: &BTreeMap<String, String>) -> String {
    fn encode(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
    tags.iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn upload_hint(err: ProviderError) -> ProviderError {
    match err.code.as_deref() {
        Some("InvalidStorageClass") => err.hint(
            "storage_class must be one of STANDARD, REDUCED_REDUNDANCY, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER, DEEP_ARCHIVE, GLACIER_IR",
        ),
        Some("AccessControlListNotSupported") => err.hint(
            "the bucket's object ownership is BucketOwnerEnforced, which refuses ACLs: remove `acl` or change the bucket's ownership controls",
        ),
        Some("KMS.NotFoundException" | "KMSNotFoundException") => {
            err.hint("kms_key_id must be the ARN of a KMS key this account can use")
        }
        _ => err,
    }
}

/// A set argument: known and not null (an unknown one is checked again when known, at
/// apply; a computed one the plan left unknown is not set).
fn is_set(config: &Value, name: &str) -> bool {
    config
        .get(name)
        .is_some_and(|v| !v.is_null() && v.is_wholly_known())
}

fn validate(config: &Value) -> ProviderResult<()> {
    for (name, why) in REFUSED {
        if config
            .get(name)
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
        {
            return Err(ProviderError::new(format!("{TYPE}: `{name}` is not supported: {why}"))
                .hint(format!("remove `{name}`; manage object lock on the bucket (aws_s3_bucket_object_lock_configuration) or outside forge")));
        }
    }
    if config
        .get("override_provider")
        .and_then(Value::as_seq)
        .is_some_and(|items| !items.is_empty())
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: the `override_provider` block is not supported"
        ))
        .hint("remove it; to keep the provider's default tags off this object, give the object its own provider block without default_tags"));
    }
    let bodies: Vec<&str> = ["content", "content_base64", "source"]
        .into_iter()
        .filter(|n| is_set(config, n))
        .collect();
    if bodies.len() > 1 {
        return Err(ProviderError::new(format!(
            "{TYPE}: only one of content, content_base64 and source may be set; this sets {}",
            bodies.join(" and ")
        ))
        .hint("keep the one that gives the object's body"));
    }
    if is_set(config, "etag") && is_set(config, "kms_key_id") {
        return Err(ProviderError::new(format!(
            "{TYPE}: `etag` conflicts with `kms_key_id`: the ETag of an object encrypted with a KMS key is not the MD5 of its body"
        ))
        .hint("use source_hash = filemd5(...) instead of etag to upload again when the file changes"));
    }
    for name in ["bucket", "key"] {
        if config.get(name).and_then(Value::as_str) == Some("") {
            return Err(ProviderError::new(format!(
                "{TYPE}: `{name}` must not be empty"
            )));
        }
    }
    if let Some(metadata) = config.get("metadata").and_then(Value::as_map)
        && let Some(upper) = metadata.keys().find(|k| k.to_lowercase() != **k)
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: metadata keys must be lower case: {upper:?} is not"
        ))
        .hint("S3 stores metadata names in lower case; write the key in lower case"));
    }
    Ok(())
}

/// Whether `planned` changes, against `prior`, anything uploaded with the body.
fn body_changes(prior: &Value, planned: &Value) -> bool {
    UPLOADED_WITH_BODY.iter().any(|name| {
        let before = prior.get(name).unwrap_or(&Value::Null);
        let after = planned.get(name).unwrap_or(&Value::Null);
        !after.is_wholly_known() || !before.same_as(after)
    })
}

/// `bucket/key` or `s3://bucket/key`, as the provider's importer reads it.
fn parse_import_id(id: &str) -> ProviderResult<(&str, &str)> {
    let rest = id.strip_prefix("s3://").unwrap_or(id);
    match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok((bucket, key)),
        _ => Err(ProviderError::new(format!(
            "{TYPE}: import id {id:?} should be <bucket>/<key> or s3://<bucket>/<key>"
        ))),
    }
}

#[async_trait]
impl ResourceType for ObjectResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let mut planned = plan_from_schema(&self.schema, prior, config).planned;
        // Unset optional arguments read back as "" / {} (the provider's SDK): no change.
        keep_empty_values(&self.schema, prior, config, &mut planned);
        if config.get("override_provider").is_none_or(|v| v.is_null()) {
            set_attr(&mut planned, "override_provider", Value::List(Vec::new()));
        }
        plan_tags_all(&self.ctx, &mut planned);
        match prior {
            None => {
                if let (Some(bucket), Some(key)) =
                    (planned.str_attr("bucket"), planned.str_attr("key"))
                {
                    let id = key.to_string();
                    let arn = format!("arn:aws:s3:::{bucket}/{}", clean_key(key));
                    set_attr(&mut planned, "id", Value::string(id));
                    set_attr(&mut planned, "arn", Value::string(arn));
                }
            }
            Some(prior) if body_changes(prior, &planned) => {
                // Uploaded again: a new version, and a new ETag unless one is configured.
                set_attr(&mut planned, "version_id", Value::Unknown);
                if !is_set(config, "etag") {
                    set_attr(&mut planned, "etag", Value::Unknown);
                }
                if is_set(config, "checksum_algorithm") {
                    for c in [
                        "checksum_crc32",
                        "checksum_crc32c",
                        "checksum_crc64nvme",
                        "checksum_sha1",
                        "checksum_sha256",
                    ] {
                        set_attr(&mut planned, c, Value::Unknown);
                    }
                }
            }
            Some(_) => {}
        }
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.upload(planned).await
    }

    /// The object's name is the configuration's: what is at `bucket/key` now, modified no
    /// earlier than the create, is what the create left.
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let (Some(bucket), Some(key)) = (
            configured_name(&planned, "bucket"),
            configured_name(&planned, "key"),
        ) else {
            return Ok(Finding::CannotTell);
        };
        let head = self
            .client
            .head_object()
            .bucket(&bucket)
            .key(clean_key(&key))
            .send()
            .await
            .map_err(sdk_error);
        let Some(head) = found_or_absent(head, &["NoSuchKey"])? else {
            return Ok(Finding::Absent);
        };
        let object = self.read_object(&bucket, &key, &planned).await?;
        Ok(found_by_name(
            key.clone(),
            object,
            creation_time(head.last_modified()),
        ))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(bucket) = state.str_attr("bucket") else {
            return Ok(None);
        };
        let Some(key) = state.str_attr("key").or_else(|| state.str_attr("id")) else {
            return Ok(None);
        };
        self.read_object(bucket, key, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        if body_changes(prior, planned) {
            return self.upload(planned).await;
        }
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        let bucket = required_str(&planned, "bucket", TYPE)?.to_string();
        let key = required_str(&planned, "key", TYPE)?.to_string();
        let clean = clean_key(&key);
        let acl = planned.str_attr("acl").filter(|a| !a.is_empty());
        if let Some(acl) = acl
            && prior.str_attr("acl") != Some(acl)
        {
            self.client
                .put_object_acl()
                .bucket(&bucket)
                .key(&clean)
                .acl(ObjectCannedAcl::from(acl))
                .send()
                .await
                .map_err(|e| upload_hint(sdk_error(e)))?;
        }
        let old = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new = self.ctx.tags_all(&config_tags(&planned));
        if old != new {
            self.put_tags(&bucket, &clean, &new).await?;
        }
        self.read_written(&bucket, &key, &planned).await
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let (Some(bucket), Some(key)) = (state.str_attr("bucket"), state.str_attr("key")) else {
            return Ok(());
        };
        let clean = clean_key(key);
        let force = state
            .get("force_destroy")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // As the provider: an object recorded with a version goes with all its versions.
        if state.str_attr("version_id").is_some_and(|v| !v.is_empty()) {
            return self.delete_all_versions(bucket, &clean, force).await;
        }
        let out = self
            .client
            .delete_object()
            .bucket(bucket)
            .key(&clean)
            .send()
            .await
            .map_err(sdk_error);
        found_or_absent(out, &["NoSuchKey"])?;
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let (bucket, key) = parse_import_id(id)?;
        let defaults = Value::object([
            ("force_destroy", Value::Bool(false)),
            ("tags", Value::Null),
            ("acl", Value::Null),
        ]);
        self.read_object(bucket, key, &defaults).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_cleaned_as_the_provider_cleans_them() {
        assert_eq!(clean_key("./a//b///c"), "a/b/c");
        assert_eq!(clean_key("/x"), "x");
        assert_eq!(clean_key("plain.txt"), "plain.txt");
    }

    #[test]
    fn import_ids_take_both_spellings() {
        assert_eq!(parse_import_id("b/k/x").unwrap(), ("b", "k/x"));
        assert_eq!(parse_import_id("s3://b/k").unwrap(), ("b", "k"));
        assert!(
            parse_import_id("nokey")
                .unwrap_err()
                .message
                .contains("<bucket>/<key>")
        );
    }

    #[test]
    fn tags_are_url_encoded() {
        let tags = BTreeMap::from([
            ("a b".to_string(), "x&y".to_string()),
            ("k".to_string(), "v".to_string()),
        ]);
        assert_eq!(url_encoded_tags(&tags), "a%20b=x%26y&k=v");
    }

    #[test]
    fn conflicting_and_refused_arguments_are_named() {
        let two = Value::object([
            ("content", Value::string("x")),
            ("source", Value::string("f")),
        ]);
        assert!(
            validate(&two)
                .unwrap_err()
                .message
                .contains("content and source")
        );
        let lock = Value::object([("object_lock_mode", Value::string("GOVERNANCE"))]);
        assert!(
            validate(&lock)
                .unwrap_err()
                .message
                .contains("object_lock_mode")
        );
        let upper = Value::object([(
            "metadata",
            Value::Map(BTreeMap::from([("Owner".to_string(), Value::string("a"))])),
        )]);
        assert!(validate(&upper).unwrap_err().message.contains("\"Owner\""));
        let kms = Value::object([
            ("etag", Value::string("e")),
            ("kms_key_id", Value::string("arn:aws:kms:us-east-1:1:key/x")),
        ]);
        assert!(validate(&kms).unwrap_err().message.contains("kms_key_id"));
    }
}
