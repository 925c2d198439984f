//! The `s3` state backend: a unit's state in an S3 object, locked in DynamoDB and/or by
//! an S3 lock object, in the exact shapes Terraform's S3 backend uses, so that forge and
//! Terraform read each other's states and exclude each other's runs.
//!
//! - State: the object at `key`, read with its ETag; written with `If-Match` on the ETag
//!   read (`If-None-Match: *` when there was none), so a lost update is refused.
//! - Digest: after each write, `{LockID: "<bucket>/<key>-md5", Digest: <md5 hex>}` in the
//!   lock table. A read whose bytes do not match it is retried, then refused as stale.
//! - Lock: `{LockID: "<bucket>/<key>", Info: <lock JSON>}` put only when absent; with
//!   `use_lockfile`, the object `<key>.tflock` written only when absent.

// `BackendError` is the engine's contract type; its size is not ours to change.
#![allow(clippy::result_large_err)]

mod bootstrap;
mod config;
mod lock_info;
mod role;
mod s3_store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use forge_aws_dynamodb::LockTable;
use forge_provider::{BackendError, BackendFactory, LockInfo, ProviderError, StateBackend, StoredState, Value};

pub use config::{BootstrapSettings, BucketEncryption, ObjectEncryption, S3BackendConfig};
pub use role::RoleSettings;
pub use lock_info::{from_json as lock_info_from_json, to_json as lock_info_to_json};
pub use s3_store::md5_hex;
use s3_store::{ObjectRead, StateBucket, WriteCondition, WriteOutcome};

/// How long a read waits for S3 to catch up with the digest item before calling the
/// state stale. Terraform polls every 2 s for 10 s.
#[derive(Clone, Copy, Debug)]
pub struct ConsistencyRetry {
    pub attempts: u32,
    pub delay: Duration,
}

impl Default for ConsistencyRetry {
    fn default() -> Self {
        ConsistencyRetry { attempts: 6, delay: Duration::from_secs(2) }
    }
}

/// The attribute of the lock item that holds the lock JSON.
const INFO_ATTR: &str = "Info";
/// The attribute of the digest item that holds the md5.
const DIGEST_ATTR: &str = "Digest";

/// One unit's state in S3.
pub struct S3Backend {
    config: S3BackendConfig,
    bucket: StateBucket,
    table: Option<LockTable>,
    consistency: ConsistencyRetry,
}

impl S3Backend {
    pub fn config(&self) -> &S3BackendConfig {
        &self.config
    }

    fn url(&self) -> String {
        format!("s3://{}/{}", self.config.bucket, self.config.key)
    }

    /// Reads the object once and compares it with the digest item.
    async fn read_once(&self) -> Result<(Option<ObjectRead>, DigestCheck), BackendError> {
        let object = self.bucket.get(&self.config.key).await.map_err(other)?;
        let Some(table) = &self.table else { return Ok((object, DigestCheck::Match)) };
        // As Terraform does, a digest that cannot be read does not block the read: the
        // object itself is the truth; the digest only catches S3 serving an old copy.
        let expected = table.get_string(&self.config.digest_id(), DIGEST_ATTR).await.ok().flatten();
        let check = match expected {
            Some(expected) if !expected.is_empty() => {
                let actual = object.as_ref().map(|o| md5_hex(&o.bytes));
                if actual.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&expected)) {
                    DigestCheck::Match
                } else {
                    DigestCheck::Mismatch { expected, actual }
                }
            }
            _ => DigestCheck::Match,
        };
        Ok((object, check))
    }

    fn stale_error(&self, table: &str, expected: &str, actual: Option<&str>) -> BackendError {
        let found = match actual {
            Some(a) => format!("its MD5 is {a}"),
            None => "there is no such object".to_string(),
        };
        BackendError::Other(format!(
            "stale read of the state {url}: {found}, but the lock table {table} records MD5 {expected} (item LockID {digest:?}), so S3 is not serving the latest state. \
             S3 may still be processing a recent write: wait a minute and try again. If the object was changed or removed on purpose outside forge and Terraform, \
             set that item's Digest to the object's MD5 (or delete the item).",
            url = self.url(),
            digest = self.config.digest_id(),
        ))
    }

    async fn lock_with_file(&self, info: &LockInfo, body: &str) -> Result<(), BackendError> {
        let key = self.config.lockfile_key();
        match self.bucket.put(&key, body.as_bytes(), WriteCondition::Absent).await.map_err(other)? {
            WriteOutcome::Written(_) => Ok(()),
            WriteOutcome::Refused => {
                let holder = self.file_holder().await?;
                Err(BackendError::Locked(holder.unwrap_or_else(|| vanished_holder(info))))
            }
        }
    }

    async fn lock_with_table(&self, table: &LockTable, info: &LockInfo, body: &str) -> Result<(), BackendError> {
        let lock_id = self.config.lock_path();
        // A refused put whose holder is gone by the time we look was released in between:
        // try again a few times rather than report a lock nobody holds.
        for _ in 0..3 {
            if table.put_if_absent(&lock_id, INFO_ATTR, body).await.map_err(other)? {
                return Ok(());
            }
            if let Some(holder) = self.table_holder(table).await? {
                return Err(BackendError::Locked(holder));
            }
        }
        Err(BackendError::Locked(vanished_holder(info)))
    }

    async fn table_holder(&self, table: &LockTable) -> Result<Option<LockInfo>, BackendError> {
        let text = table.get_string(&self.config.lock_path(), INFO_ATTR).await.map_err(other)?;
        Ok(text.map(|t| lock_info::from_json(&t, &self.config.lock_path())))
    }

    async fn file_holder(&self) -> Result<Option<LockInfo>, BackendError> {
        let object = self.bucket.get(&self.config.lockfile_key()).await.map_err(other)?;
        Ok(object.map(|o| lock_info::from_json(&String::from_utf8_lossy(&o.bytes), &self.config.lock_path())))
    }

    /// Releases the DynamoDB lock: only the exact item we checked is deleted, so a lock
    /// taken by someone else in the meantime survives.
    async fn release_table(&self, table: &LockTable, id: &str, force: bool) -> Result<(), BackendError> {
        let lock_id = self.config.lock_path();
        if force {
            return table.delete(&lock_id).await.map_err(other);
        }
        let Some(text) = table.get_string(&lock_id, INFO_ATTR).await.map_err(other)? else { return Ok(()) };
        let holder = lock_info::from_json(&text, &lock_id);
        if holder.id != id {
            return Err(BackendError::Locked(holder));
        }
        if table.delete_if(&lock_id, INFO_ATTR, &text).await.map_err(other)? {
            return Ok(());
        }
        match self.table_holder(table).await? {
            Some(other_holder) if other_holder.id != id => Err(BackendError::Locked(other_holder)),
            Some(_) => table.delete(&lock_id).await.map_err(other),
            None => Ok(()),
        }
    }

    /// Fails with `Locked` when either lock is held under another id.
    async fn refuse_other_owner(&self, id: &str) -> Result<(), BackendError> {
        let table_holder = match &self.table {
            Some(table) => self.table_holder(table).await?,
            None => None,
        };
        let file_holder = if self.config.use_lockfile { self.file_holder().await? } else { None };
        match table_holder.into_iter().chain(file_holder).find(|h| h.id != id) {
            Some(holder) => Err(BackendError::Locked(holder)),
            None => Ok(()),
        }
    }

    async fn release_file(&self, id: &str, force: bool) -> Result<(), BackendError> {
        if !force {
            match self.file_holder().await? {
                None => return Ok(()),
                Some(holder) if holder.id != id => return Err(BackendError::Locked(holder)),
                Some(_) => {}
            }
        }
        self.bucket.delete(&self.config.lockfile_key()).await.map_err(other)
    }
}

enum DigestCheck {
    Match,
    Mismatch { expected: String, actual: Option<String> },
}

#[async_trait]
impl StateBackend for S3Backend {
    fn describe(&self) -> String {
        self.url()
    }

    async fn read(&self) -> Result<Option<StoredState>, BackendError> {
        let mut attempt = 1;
        loop {
            let (object, check) = self.read_once().await?;
            match check {
                DigestCheck::Match => {
                    return Ok(object.map(|o| StoredState { bytes: o.bytes, version: o.etag }));
                }
                DigestCheck::Mismatch { expected, actual } => {
                    if attempt >= self.consistency.attempts.max(1) {
                        let table = self.table.as_ref().map(LockTable::name).unwrap_or_default();
                        return Err(self.stale_error(table, &expected, actual.as_deref()));
                    }
                    attempt += 1;
                    tokio::time::sleep(self.consistency.delay).await;
                }
            }
        }
    }

    async fn write(&self, bytes: &[u8], expected_version: Option<&str>) -> Result<String, BackendError> {
        let condition = match expected_version {
            Some(v) => WriteCondition::Matches(v),
            None => WriteCondition::Absent,
        };
        let etag = match self.bucket.put(&self.config.key, bytes, condition).await.map_err(other)? {
            WriteOutcome::Written(etag) => etag,
            WriteOutcome::Refused => {
                let why = match expected_version {
                    Some(v) => format!(
                        "{} is no longer the version read ({v}): another run wrote it since; read the state again and re-plan",
                        self.url()
                    ),
                    None => format!(
                        "{} did not exist when read but exists now: another run created it; read the state again and re-plan",
                        self.url()
                    ),
                };
                return Err(BackendError::Conflict(why));
            }
        };
        if let Some(table) = &self.table {
            table.put(&self.config.digest_id(), DIGEST_ATTR, &md5_hex(bytes)).await.map_err(|e| {
                BackendError::Other(format!(
                    "the state {} was written, but its digest item in {} could not be updated ({e}); \
                     until it is, reads will call the state stale: set item {:?} Digest to {}",
                    self.url(),
                    table.name(),
                    self.config.digest_id(),
                    md5_hex(bytes)
                ))
            })?;
        }
        Ok(etag)
    }

    async fn lock(&self, info: &LockInfo) -> Result<(), BackendError> {
        if info.id.is_empty() {
            return Err(BackendError::Other(format!("cannot lock {}: the lock has no ID", self.url())));
        }
        let info = normalized(info, &self.config.lock_path());
        let body = lock_info::to_json(&info);
        if self.config.use_lockfile {
            self.lock_with_file(&info, &body).await?;
        }
        if let Some(table) = &self.table
            && let Err(e) = self.lock_with_table(table, &info, &body).await
        {
            if self.config.use_lockfile {
                // Do not leave half a lock behind; the table's refusal is what matters.
                let _ = self.release_file(&info.id, false).await;
            }
            return Err(e);
        }
        Ok(())
    }

    async fn unlock(&self, id: &str, force: bool) -> Result<(), BackendError> {
        // Check every lock's owner before removing any, so a refused unlock changes nothing.
        if !force {
            self.refuse_other_owner(id).await?;
        }
        if let Some(table) = &self.table {
            self.release_table(table, id, force).await?;
        }
        if self.config.use_lockfile {
            self.release_file(id, force).await?;
        }
        Ok(())
    }

    async fn lock_holder(&self) -> Result<Option<LockInfo>, BackendError> {
        if let Some(table) = &self.table
            && let Some(holder) = self.table_holder(table).await?
        {
            return Ok(Some(holder));
        }
        if self.config.use_lockfile {
            return self.file_holder().await;
        }
        Ok(None)
    }
}

/// The lock as stored: the path is always `<bucket>/<key>` (what Terraform shows), and a
/// creation time Terraform could not parse is replaced by now, since Terraform refuses
/// to describe a lock whose `Created` is not RFC 3339.
fn normalized(info: &LockInfo, path: &str) -> LockInfo {
    let mut info = info.clone();
    info.path = path.to_string();
    if chrono::DateTime::parse_from_rfc3339(&info.created).is_err() {
        info.created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    }
    info
}

/// A lock refused by a holder that released it before we could read who it was.
fn vanished_holder(info: &LockInfo) -> LockInfo {
    LockInfo {
        id: String::new(),
        operation: String::new(),
        info: "the lock was taken and released by another run while this one tried to take it; try again".to_string(),
        who: "another run".to_string(),
        version: String::new(),
        created: String::new(),
        path: info.path.clone(),
    }
}

fn other(e: ProviderError) -> BackendError {
    BackendError::Other(e.to_string())
}

/// Opens `s3` backends. Clients are shared between units configured alike, and each
/// bucket and table is made sure of once per process.
pub struct S3BackendFactory {
    clients: tokio::sync::Mutex<HashMap<String, Clients>>,
    notices: Mutex<Vec<String>>,
    /// Configuration notes already given: many units share one config shape.
    noted: Mutex<std::collections::HashSet<String>>,
    consistency: ConsistencyRetry,
}

#[derive(Clone)]
struct Clients {
    sdk: aws_types::SdkConfig,
    region: String,
    s3: aws_sdk_s3::Client,
}

impl Default for S3BackendFactory {
    fn default() -> Self {
        Self::new()
    }
}

impl S3BackendFactory {
    pub fn new() -> Self {
        S3BackendFactory {
            clients: tokio::sync::Mutex::new(HashMap::new()),
            notices: Mutex::new(Vec::new()),
            noted: Mutex::new(std::collections::HashSet::new()),
            consistency: ConsistencyRetry::default(),
        }
    }

    /// Changes how long reads wait for S3 to match the digest item.
    pub fn with_consistency_retry(mut self, consistency: ConsistencyRetry) -> Self {
        self.consistency = consistency;
        self
    }

    /// Opens the backend as its concrete type (`open` hands out the trait object).
    pub async fn open_s3(&self, config: &Value) -> Result<Arc<S3Backend>, BackendError> {
        let config = S3BackendConfig::from_value(config)?;
        for note in &config.ignored_notes {
            self.notice_once(note.clone());
        }
        let clients = self.clients_for(&config).await?;
        let bucket = StateBucket::new(
            clients.s3.clone(),
            config.bucket.clone(),
            config.object_encryption.clone(),
            config.acl.clone(),
        );
        let s3_scope = config.s3_endpoint.clone().or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()).unwrap_or_default();
        bootstrap::ensure_bucket(&bucket, &clients.region, &s3_scope, &config.bootstrap, &self.notices)
            .await
            .map_err(other)?;
        let table = match &config.dynamodb_table {
            Some(name) => {
                let table = LockTable::new(&clients.sdk, config.dynamodb_endpoint.as_deref(), name.clone());
                let ddb_scope = config
                    .dynamodb_endpoint
                    .clone()
                    .or_else(|| std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok())
                    .unwrap_or_default();
                bootstrap::ensure_table(&table, &clients.region, &ddb_scope, &config.bootstrap, &self.notices)
                    .await
                    .map_err(other)?;
                Some(table)
            }
            None => None,
        };
        Ok(Arc::new(S3Backend { config, bucket, table, consistency: self.consistency }))
    }

    /// The SDK clients for this config's region, credentials and endpoints, built once.
    async fn clients_for(&self, config: &S3BackendConfig) -> Result<Clients, BackendError> {
        let cache_key = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
            config.region,
            config.profile,
            config.role,
            config.sts_endpoint,
            config.static_credentials.as_ref().map(|c| (c.access_key.clone(), md5_hex(c.secret_key.as_bytes()))),
            config.s3_endpoint,
            config.dynamodb_endpoint,
            config.needs_path_style()
        );
        let mut cache = self.clients.lock().await;
        if let Some(c) = cache.get(&cache_key) {
            return Ok(c.clone());
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &config.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &config.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(creds) = &config.static_credentials {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                &creds.access_key,
                &creds.secret_key,
                creds.token.clone(),
                None,
                "remote_state config",
            ));
        }
        let mut sdk = loader.load().await;
        let Some(region) = sdk.region().map(|r| r.to_string()) else {
            return Err(BackendError::Other(format!(
                "remote_state config.region: no region for the state bucket {}; set `region` in the remote_state config or export AWS_REGION",
                config.bucket
            )));
        };
        if let Some(role) = &config.role {
            sdk = with_assumed_role(sdk, role, config.sts_endpoint.as_deref()).await;
        }
        check_credentials(&sdk, config).await?;
        let mut s3_conf = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(config.needs_path_style());
        if let Some(url) = &config.s3_endpoint {
            s3_conf = s3_conf.endpoint_url(url);
        }
        let clients = Clients { s3: aws_sdk_s3::Client::from_conf(s3_conf.build()), sdk, region };
        cache.insert(cache_key, clients.clone());
        Ok(clients)
    }

    fn notice_once(&self, notice: String) {
        let first_time = self.noted.lock().unwrap_or_else(|p| p.into_inner()).insert(notice.clone());
        if first_time {
            self.notices.lock().unwrap_or_else(|p| p.into_inner()).push(notice);
        }
    }
}

/// The same configuration with credentials of the assumed role; the role is assumed
/// with the configuration's own credentials, through `sts_endpoint` when one is given.
async fn with_assumed_role(sdk: aws_types::SdkConfig, role: &RoleSettings, sts_endpoint: Option<&str>) -> aws_types::SdkConfig {
    let mut sts_sdk = sdk.clone();
    if let Some(url) = sts_endpoint {
        // The environment's endpoint variables outrank the configuration's endpoint in
        // the SDK; the config's `endpoints.sts` must win here, as it does in Terraform.
        let inner = sdk.service_config().map(|_| sdk.clone());
        sts_sdk = sts_sdk
            .into_builder()
            .endpoint_url(url)
            .service_config(WithoutEndpointOverride { inner })
            .build();
    }
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(role.role_arn.clone())
        .configure(&sts_sdk)
        .session_name(role.session_name.clone().unwrap_or_else(|| "forge".to_string()));
    if let Some(id) = &role.external_id {
        builder = builder.external_id(id);
    }
    if let Some(duration) = role.duration {
        builder = builder.session_length(duration);
    }
    if let Some(policy) = &role.policy {
        builder = builder.policy(policy);
    }
    if !role.policy_arns.is_empty() {
        builder = builder.policy_arns(role.policy_arns.clone());
    }
    if !role.tags.is_empty() {
        builder = builder.tags(role.tags.clone());
    }
    let provider = builder.build().await;
    sdk.into_builder()
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(provider))
        .build()
}

/// Fetches the credentials once up front, so that a missing credential or a role that
/// cannot be assumed is reported as such, not as an unreachable S3.
async fn check_credentials(sdk: &aws_types::SdkConfig, config: &S3BackendConfig) -> Result<(), BackendError> {
    use aws_sdk_s3::config::ProvideCredentials;
    let Some(provider) = sdk.credentials_provider() else {
        return Err(BackendError::Other(format!(
            "no AWS credentials for the state bucket {}: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or set access_key/secret_key or profile in the remote_state config",
            config.bucket
        )));
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let what = match &config.role {
                Some(role) => format!("could not assume the role {} for the state bucket {}", role.role_arn, config.bucket),
                None => format!("could not load AWS credentials for the state bucket {}", config.bucket),
            };
            let hint = match &config.role {
                Some(_) => "check remote_state config.assume_role (role_arn, external_id), the STS endpoint (config.endpoints.sts or AWS_ENDPOINT_URL) and that the base credentials may assume it",
                None => "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or set access_key/secret_key or profile in the remote_state config",
            };
            Err(BackendError::Other(format!("{what}: {}\nhint: {hint}", error_chain(&e))))
        }
    }
}

/// An error and its causes on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The environment's per-service settings minus the endpoint URL variables.
#[derive(Debug)]
struct WithoutEndpointOverride {
    inner: Option<aws_types::SdkConfig>,
}

impl aws_types::service_config::LoadServiceConfig for WithoutEndpointOverride {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        if key.profile() == "endpoint_url" {
            return None;
        }
        self.inner.as_ref()?.service_config()?.load_config(key)
    }
}

#[async_trait]
impl BackendFactory for S3BackendFactory {
    fn backend_type(&self) -> &'static str {
        "s3"
    }

    async fn open(&self, config: &Value) -> Result<Arc<dyn StateBackend>, BackendError> {
        let backend: Arc<dyn StateBackend> = self.open_s3(config).await?;
        Ok(backend)
    }

    fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(created: &str) -> LockInfo {
        LockInfo {
            id: "id".into(),
            operation: "OperationTypePlan".into(),
            info: String::new(),
            who: "me@host".into(),
            version: "0.1.0".into(),
            created: created.into(),
            path: "s3://bucket/key".into(),
        }
    }

    #[test]
    fn stored_lock_has_terraform_path_and_parseable_time() {
        let kept = normalized(&info("2026-11-25T21:07:10.123456Z"), "bucket/key");
        assert_eq!(kept.path, "bucket/key");
        assert_eq!(kept.created, "2026-11-25T21:07:10.123456Z");
        let replaced = normalized(&info("yesterday"), "bucket/key");
        assert!(chrono::DateTime::parse_from_rfc3339(&replaced.created).is_ok(), "{}", replaced.created);
    }
}
