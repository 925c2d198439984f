//! The S3 calls of the state backend: the state object (read with its ETag, conditional
//! writes), the `.tflock` lock object, and creating a missing state bucket.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, ObjectCannedAcl,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
    VersioningConfiguration,
};
use base64::Engine;
use forge_aws_common::{Backoff, retry, sdk_error};
use forge_provider::{ProviderError, ProviderResult};
use md5::{Digest, Md5};

use super::config::{BucketEncryption, ObjectEncryption};

/// An object as read: its bytes and ETag.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectRead {
    pub bytes: Vec<u8>,
    pub etag: String,
}

/// When a conditional write may happen.
#[derive(Clone, Copy, Debug)]
pub enum WriteCondition<'a> {
    /// Only while the object still has this ETag (`If-Match`).
    Matches(&'a str),
    /// Only when there is no object (`If-None-Match: *`).
    Absent,
}

/// What a conditional write did.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOutcome {
    /// Written; the new ETag.
    Written(String),
    /// Refused: the object is not in the state the condition asked for.
    Refused,
}

/// Whether the bucket is there for us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketPresence {
    Present,
    Missing,
}

/// What one look at the bucket found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketProbe {
    Missing,
    /// There; `versioned` is `None` when its versioning could not be read.
    Present {
        versioned: Option<bool>,
    },
}

/// One state bucket, reached through one client, with the per-object settings every
/// write and read must carry.
#[derive(Clone, Debug)]
pub struct StateBucket {
    client: Client,
    bucket: String,
    encryption: ObjectEncryption,
    acl: Option<String>,
    /// The account the bucket must belong to (the caller's): sent as
    /// `ExpectedBucketOwner` on every call that takes it, so that a bucket of the same
    /// name in another account is refused by S3 instead of read or written.
    owner: Option<std::sync::Arc<super::bucket_owner::BucketOwner>>,
}

impl StateBucket {
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        encryption: ObjectEncryption,
        acl: Option<String>,
    ) -> Self {
        StateBucket {
            client,
            bucket: bucket.into(),
            encryption,
            acl,
            owner: None,
        }
    }

    /// The same bucket, whose calls carry `ExpectedBucketOwner` = the caller's account.
    pub fn owned_by(
        mut self,
        owner: Option<std::sync::Arc<super::bucket_owner::BucketOwner>>,
    ) -> Self {
        self.owner = owner;
        self
    }

    /// The account every call expects to own the bucket (`None`: no check).
    async fn expected_owner(&self) -> ProviderResult<Option<String>> {
        match &self.owner {
            Some(o) => o.account().await.map(Some),
            None => Ok(None),
        }
    }

    pub fn name(&self) -> &str {
        &self.bucket
    }

    /// The object at `key`, `None` when there is none.
    pub async fn get(&self, key: &str) -> ProviderResult<Option<ObjectRead>> {
        let owner = self.expected_owner().await?;
        retry(
            Backoff::default(),
            |_| false,
            || async {
                let mut call = self
                    .client
                    .get_object()
                    .bucket(&self.bucket)
                    .set_expected_bucket_owner(owner.clone())
                    .key(key);
                if let ObjectEncryption::CustomerKey(k) = &self.encryption {
                    call = call
                        .sse_customer_algorithm("AES256")
                        .sse_customer_key(k)
                        .sse_customer_key_md5(customer_key_md5(k)?);
                }
                let out = match call.send().await {
                    Ok(out) => out,
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                        return Ok(None);
                    }
                    Err(e) => {
                        return Err(
                            self.error(&format!("read s3://{}/{key}", self.bucket), sdk_error(e))
                        );
                    }
                };
                let etag = out.e_tag.clone().unwrap_or_default();
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| {
                        ProviderError::new(format!(
                            "reading s3://{}/{key} was cut short: {e}",
                            self.bucket
                        ))
                    })?
                    .into_bytes()
                    .to_vec();
                Ok(Some(ObjectRead { bytes, etag }))
            },
        )
        .await
    }

    /// Writes `bytes` at `key` under `condition`, with the configured encryption and ACL.
    pub async fn put(
        &self,
        key: &str,
        bytes: &[u8],
        condition: WriteCondition<'_>,
    ) -> ProviderResult<WriteOutcome> {
        let owner = self.expected_owner().await?;
        retry(
            Backoff::default(),
            |_| false,
            || async {
                let mut call = self
                    .client
                    .put_object()
                    .bucket(&self.bucket)
                    .set_expected_bucket_owner(owner.clone())
                    .key(key)
                    .content_type("application/json")
                    .body(ByteStream::from(bytes.to_vec()));
                call = match condition {
                    WriteCondition::Matches(etag) => call.if_match(etag),
                    WriteCondition::Absent => call.if_none_match("*"),
                };
                call = match &self.encryption {
                    ObjectEncryption::None => call,
                    ObjectEncryption::S3Managed => {
                        call.server_side_encryption(ServerSideEncryption::Aes256)
                    }
                    ObjectEncryption::Kms(key_id) => {
                        let call = call.server_side_encryption(ServerSideEncryption::AwsKms);
                        match key_id {
                            Some(id) => call.ssekms_key_id(id),
                            None => call,
                        }
                    }
                    ObjectEncryption::CustomerKey(k) => call
                        .sse_customer_algorithm("AES256")
                        .sse_customer_key(k)
                        .sse_customer_key_md5(customer_key_md5(k)?),
                };
                if let Some(acl) = &self.acl {
                    call = call.acl(ObjectCannedAcl::from(acl.as_str()));
                }
                match call.send().await {
                    Ok(out) => Ok(WriteOutcome::Written(out.e_tag.unwrap_or_default())),
                    Err(e) if is_precondition_refusal(&e, condition) => Ok(WriteOutcome::Refused),
                    Err(e) => {
                        Err(self.error(&format!("write s3://{}/{key}", self.bucket), sdk_error(e)))
                    }
                }
            },
        )
        .await
    }

    /// Deletes the object at `key` only while its ETag is `etag`. Returns false when it
    /// is another object now; true when it is deleted (or was gone already).
    ///
    /// S3 has conditional deletes since 2024; a store without them (LocalStack, older
    /// S3-compatible stores answer NotImplemented) gets the closest thing: the object is
    /// read again and deleted at once if it is still the one read, which leaves only the
    /// moment between that read and the delete unguarded.
    pub async fn delete_if_match(&self, key: &str, etag: &str) -> ProviderResult<bool> {
        let owner = self.expected_owner().await?;
        retry(
            Backoff::default(),
            |_| false,
            || async {
                let conditional = self
                    .client
                    .delete_object()
                    .bucket(&self.bucket)
                    .set_expected_bucket_owner(owner.clone())
                    .key(key)
                    .if_match(etag)
                    .send()
                    .await;
                let sent = match conditional {
                    Err(e) if e.code() == Some("NotImplemented") => match self.get(key).await? {
                        None => return Ok(true),
                        Some(object) if object.etag != etag => return Ok(false),
                        Some(_) => {
                            self.client
                                .delete_object()
                                .bucket(&self.bucket)
                                .set_expected_bucket_owner(owner.clone())
                                .key(key)
                                .send()
                                .await
                        }
                    },
                    sent => sent,
                };
                match sent {
                    Ok(_) => Ok(true),
                    // Gone already: a delete whose answer was lost and was sent again.
                    Err(e) if e.code() == Some("NoSuchKey") || http_status(&e) == Some(404) => {
                        Ok(true)
                    }
                    Err(e) if is_precondition_refusal(&e, WriteCondition::Absent) => Ok(false),
                    Err(e) => {
                        Err(self.error(&format!("delete s3://{}/{key}", self.bucket), sdk_error(e)))
                    }
                }
            },
        )
        .await
    }

    /// Whether the bucket exists and is ours to use.
    pub async fn presence(&self) -> ProviderResult<BucketPresence> {
        let owner = self.expected_owner().await?;
        retry(Backoff::default(), |_| false, || async {
            match self.client.head_bucket().bucket(&self.bucket).set_expected_bucket_owner(owner.clone()).send().await {
                Ok(_) => Ok(BucketPresence::Present),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) || http_status(&e) == Some(404) => {
                    Ok(BucketPresence::Missing)
                }
                Err(e) if http_status(&e) == Some(403) => Err(ProviderError::with_code(
                    "Forbidden",
                    match &owner {
                        Some(owner) => format!("the state bucket {} exists but is not owned by account {owner}, the caller's (ExpectedBucketOwner), or these credentials may not use it", self.bucket),
                        None => format!("the state bucket {} exists but these credentials may not use it", self.bucket),
                    },
                )
                .hint("S3 bucket names are global: pick a bucket name of your own in remote_state config.bucket, or use credentials of the bucket's account")),
                Err(e) if http_status(&e) == Some(301) => Err(ProviderError::with_code(
                    "PermanentRedirect",
                    format!("the state bucket {} is in another region than the one configured", self.bucket),
                )
                .hint("set remote_state config.region to the bucket's region")),
                Err(e) => Err(self.error(&format!("look up the state bucket {}", self.bucket), sdk_error(e))),
            }
        })
        .await
    }

    /// Creates the bucket. Returns false when it already existed (created meanwhile by
    /// someone else).
    pub async fn create(&self, region: &str) -> ProviderResult<bool> {
        let mut call = self.client.create_bucket().bucket(&self.bucket);
        // us-east-1 is S3's default location and refuses to be named as a constraint.
        if region != "us-east-1" {
            call = call.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match call.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
            {
                Ok(false)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_bucket_already_exists()) =>
            {
                Err(ProviderError::with_code(
                    "BucketAlreadyExists",
                    format!(
                        "the state bucket name {} is taken by another account",
                        self.bucket
                    ),
                )
                .hint("S3 bucket names are global: choose another remote_state config.bucket"))
            }
            Err(e) => Err(self.error(
                &format!("create the state bucket {}", self.bucket),
                sdk_error(e),
            )),
        }
    }

    pub async fn enable_versioning(&self) -> ProviderResult<()> {
        let owner = self.expected_owner().await?;
        let conf = VersioningConfiguration::builder()
            .status(BucketVersioningStatus::Enabled)
            .build();
        retry(
            Backoff::default(),
            |_| false,
            || async {
                self.client
                    .put_bucket_versioning()
                    .bucket(&self.bucket)
                    .set_expected_bucket_owner(owner.clone())
                    .versioning_configuration(conf.clone())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        self.error(
                            &format!("turn on versioning of {}", self.bucket),
                            sdk_error(e),
                        )
                    })
            },
        )
        .await
    }

    /// Whether the bucket is there and keeps versions, in one GetBucketVersioning when that
    /// answers: the state path's only request before the first lock. Any other answer (no
    /// permission to read the versioning, another region, throttling, ...) is left to
    /// HeadBucket, which tells those cases apart; the versioning is then unknown.
    pub async fn probe_versioning(&self) -> ProviderResult<BucketProbe> {
        let owner = self.expected_owner().await?;
        match self
            .client
            .get_bucket_versioning()
            .bucket(&self.bucket)
            .set_expected_bucket_owner(owner.clone())
            .send()
            .await
        {
            Ok(out) => Ok(BucketProbe::Present {
                versioned: Some(out.status == Some(BucketVersioningStatus::Enabled)),
            }),
            Err(e) if e.code() == Some("NoSuchBucket") || http_status(&e) == Some(404) => {
                Ok(BucketProbe::Missing)
            }
            Err(_) => Ok(match self.presence().await? {
                BucketPresence::Missing => BucketProbe::Missing,
                BucketPresence::Present => BucketProbe::Present { versioned: None },
            }),
        }
    }

    pub async fn set_default_encryption(&self, enc: &BucketEncryption) -> ProviderResult<()> {
        let owner = self.expected_owner().await?;
        let build_err = |e: aws_sdk_s3::error::BuildError| {
            ProviderError::new(format!("invalid encryption settings: {e}"))
        };
        let default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(enc.algorithm.as_str()))
            .set_kms_master_key_id(enc.kms_key_id.clone())
            .build()
            .map_err(build_err)?;
        let conf = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(default)
                    .build(),
            )
            .build()
            .map_err(build_err)?;
        retry(
            Backoff::default(),
            |_| false,
            || async {
                self.client
                    .put_bucket_encryption()
                    .bucket(&self.bucket)
                    .set_expected_bucket_owner(owner.clone())
                    .server_side_encryption_configuration(conf.clone())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        self.error(
                            &format!("turn on default encryption of {}", self.bucket),
                            sdk_error(e),
                        )
                    })
            },
        )
        .await
    }

    pub async fn block_public_access(&self) -> ProviderResult<()> {
        let owner = self.expected_owner().await?;
        let conf = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        retry(
            Backoff::default(),
            |_| false,
            || async {
                self.client
                    .put_public_access_block()
                    .bucket(&self.bucket)
                    .set_expected_bucket_owner(owner.clone())
                    .public_access_block_configuration(conf.clone())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        self.error(
                            &format!("block public access to {}", self.bucket),
                            sdk_error(e),
                        )
                    })
            },
        )
        .await
    }

    /// Sets the bucket's policy (the JSON document).
    pub async fn put_policy(&self, policy: &str) -> ProviderResult<()> {
        let owner = self.expected_owner().await?;
        retry(
            Backoff::default(),
            |_| false,
            || async {
                self.client
                    .put_bucket_policy()
                    .bucket(&self.bucket)
                    .set_expected_bucket_owner(owner.clone())
                    .policy(policy)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        self.error(&format!("set the policy of {}", self.bucket), sdk_error(e))
                    })
            },
        )
        .await
    }

    pub async fn tag(
        &self,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> ProviderResult<()> {
        let owner = self.expected_owner().await?;
        let build_err = |e: aws_sdk_s3::error::BuildError| {
            ProviderError::new(format!("invalid bucket tags: {e}"))
        };
        let set = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(build_err))
            .collect::<ProviderResult<Vec<_>>>()?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(set))
            .build()
            .map_err(build_err)?;
        self.client
            .put_bucket_tagging()
            .bucket(&self.bucket)
            .set_expected_bucket_owner(owner.clone())
            .tagging(tagging)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                self.error(
                    &format!("tag the state bucket {}", self.bucket),
                    sdk_error(e),
                )
            })
    }

    /// Prefixes an SDK error with what was being done. The hint is ours: the generic one
    /// names the provider block, but here the settings are in `remote_state`.
    fn error(&self, action: &str, e: ProviderError) -> ProviderError {
        if let Some(owner) = self.owner.as_ref().and_then(|o| o.known())
            && e.code.as_deref() == Some("AccessDenied")
        {
            return ProviderError {
                code: e.code,
                message: format!(
                    "could not {action}: access denied; the state bucket {} must belong to account {owner} (the caller's account, sent as ExpectedBucketOwner), and S3 refused: a bucket of that name in another account, or no permission ({})",
                    self.bucket, e.message
                ),
                hint: Some("bucket names are global: choose a bucket name of your own account in remote_state config.bucket, or run as the account that owns it".to_string()),
            };
        }
        let hint = if e.code.as_deref() == Some("DispatchFailure") {
            "S3 could not be reached: check remote_state config.endpoints.s3 (or AWS_ENDPOINT_URL) and the network"
        } else {
            "check remote_state config.bucket and region, the S3 endpoint (AWS_ENDPOINT_URL or config.endpoints.s3) and the credentials"
        };
        ProviderError {
            code: e.code,
            message: format!("could not {action}: {}", e.message),
            hint: Some(hint.to_string()),
        }
    }
}

/// The hex MD5 of some bytes, as Terraform stores it in the digest item.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// The base64 MD5 of the decoded SSE-C key, which S3 wants beside the key.
fn customer_key_md5(key_b64: &str) -> ProviderResult<String> {
    let engine = base64::engine::general_purpose::STANDARD;
    let raw = engine.decode(key_b64).map_err(|_| {
        ProviderError::new("remote_state config.sse_customer_key is not valid base64")
            .hint("give the base64 encoding of a 256-bit key, as `openssl rand -base64 32` prints")
    })?;
    Ok(engine.encode(Md5::digest(&raw)))
}

fn http_status<E, R: HasStatus>(e: &SdkError<E, R>) -> Option<u16> {
    e.raw_response().map(HasStatus::status_code)
}

/// The HTTP status of a raw response, whatever its type.
trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// A refused conditional write: 412 `PreconditionFailed` (not modelled by the SDK), 409
/// `ConditionalRequestConflict` (a concurrent conditional write won), or, for If-Match,
/// 404 when the object read has been deleted since.
fn is_precondition_refusal<E: ProvideErrorMetadata, R: HasStatus>(
    e: &SdkError<E, R>,
    condition: WriteCondition<'_>,
) -> bool {
    let code = match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    };
    let status = http_status(e);
    matches!(
        code,
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    ) || status == Some(412)
        || (matches!(condition, WriteCondition::Matches(_))
            && (code == Some("NoSuchKey") || status == Some(404)))
}
