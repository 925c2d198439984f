//! The `s3` state backend: a unit's state in an S3 object, locked in DynamoDB and/or by
//! an S3 lock object, in the exact shapes Terraform's S3 backend uses, so that forge and
//! Terraform read each other's states and exclude each other's runs.
//!
//! - State: the object at `key`, read with its ETag; written with `If-Match` on the ETag
//!   read (`If-None-Match: *` when there was none), so a lost update is refused.
//! - Digest: `{LockID: "<bucket>/<key>-md5", Digest: <md5 hex>}` in the lock table. A read
//!   whose bytes do not match it is retried, then refused as stale. A write without our
//!   lock sets it at once. Under the lock this backend took, the first write deletes the
//!   item (a state without a digest is read unchecked, by Terraform too) and the unlock
//!   sets it to the last write's MD5 before releasing the lock: an apply writes the state
//!   after every operation, and one call per write is the apply's longest wait. No other
//!   writer can run while the lock is held; a crash leaves no digest, never a wrong one.
//! - Lock: `{LockID: "<bucket>/<key>", Info: <lock JSON>}` put only when absent; with
//!   `use_lockfile`, the object `<key>.tflock` written only when absent.
//! - Lease (`lease`): forge's table lock item also has `ForgeLeaseExpires` (RFC 3339),
//!   an attribute Terraform never reads. While the lock is held a task renews it every
//!   third of its term, conditional on the item's Info being this lock's; `take_over`
//!   replaces a lapsed lease's exact item (Info and lease) in one conditional PutItem.
//!   With `use_lockfile` the lock keeps no lease (the lock object would have to be
//!   rewritten too): such a lock is never taken over.
//! - Opening (`S3BackendFactory`): a missing bucket or table is created as Terragrunt
//!   does; `assume_role` is honoured; endpoints come from the config or the standard
//!   variables. Opening starts the bucket and table checks and returns: the lock's
//!   PutItem is the unit's first request. A request that finds the table or bucket
//!   missing waits for the check (which creates it) and is sent again; a read or write
//!   returns only once both checks have, and a check's error wins over the request's
//!   result, so a bucket or table forge cannot use fails the unit as before.

// `BackendError` is the engine's contract type; its size is not ours to change.
#![allow(clippy::result_large_err)]

mod bootstrap;
mod bucket_owner;
mod config;
mod factory;
mod lease;
mod lock_info;
mod role;
mod s3_store;

use std::time::Duration;

use async_trait::async_trait;
use forge_aws_dynamodb::LockTable;
use forge_provider::{
    BackendError, LockInfo, ProviderError, ProviderResult, StateBackend, StoredState,
};

pub use config::{BootstrapSettings, BucketEncryption, ObjectEncryption, S3BackendConfig};
pub use factory::S3BackendFactory;
pub use lock_info::{from_json as lock_info_from_json, to_json as lock_info_to_json};
pub use role::RoleSettings;
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
        ConsistencyRetry {
            attempts: 6,
            delay: Duration::from_secs(2),
        }
    }
}

/// The attribute of the lock item that holds the lock JSON.
const INFO_ATTR: &str = "Info";
/// The attribute of forge's lock item that holds its lease's end (see `lease`).
const LEASE_ATTR: &str = "ForgeLeaseExpires";
/// The attribute of the digest item that holds the md5.
const DIGEST_ATTR: &str = "Digest";
/// The error codes of a request to a bucket or table that does not exist (yet).
const NO_SUCH_BUCKET: &str = "NoSuchBucket";
const NO_SUCH_TABLE: &str = "ResourceNotFoundException";

/// One unit's state in S3.
pub struct S3Backend {
    config: S3BackendConfig,
    bucket: StateBucket,
    table: Option<LockTable>,
    /// The bucket and table checks opening started.
    checks: Checks,
    consistency: ConsistencyRetry,
    /// The digest while this backend holds its lock (see the module's doc).
    held: std::sync::Mutex<HeldDigest>,
}

/// The bucket and table checks of one backend (shared per bucket and table, see
/// `bootstrap`).
struct Checks {
    bucket: bootstrap::Check,
    table: Option<bootstrap::Check>,
}

impl Checks {
    /// Waits for both; the bucket's error first, as when opening awaited them.
    async fn all(&self) -> Result<(), BackendError> {
        let table = async {
            match &self.table {
                Some(t) => t.wait().await,
                None => Ok(()),
            }
        };
        let (bucket, table) = tokio::join!(self.bucket.wait(), table);
        bucket.map_err(other)?;
        table.map_err(other)
    }

    async fn table(&self) -> Result<(), BackendError> {
        match &self.table {
            Some(t) => t.wait().await.map_err(other),
            None => Ok(()),
        }
    }
}

/// What the digest item looks like while this backend holds the lock.
#[derive(Default)]
struct HeldDigest {
    /// The ID of the lock this backend took; `None` when it holds none.
    lock_id: Option<String>,
    /// The lock item's Info as this backend wrote it: the unlock deletes exactly that
    /// item without reading it first (a refused delete means it is not ours any more).
    lock_body: Option<String>,
    /// The item was deleted by the first write under the lock.
    deleted: bool,
    /// The MD5 of the last write under the lock, set at unlock.
    pending: Option<String>,
    /// The task renewing the lock's lease, stopped when the lock is released.
    renewal: Option<lease::Renewal>,
}

impl S3Backend {
    pub fn config(&self) -> &S3BackendConfig {
        &self.config
    }

    fn url(&self) -> String {
        format!("s3://{}/{}", self.config.bucket, self.config.key)
    }

    /// Reads the object once and compares it with the digest item.
    async fn read_once(&self) -> ProviderResult<(Option<ObjectRead>, DigestCheck)> {
        let Some(table) = &self.table else {
            let object = self.bucket.get(&self.config.key).await?;
            return Ok((object, DigestCheck::Match));
        };
        // Both at once: a write landing in between shows as a mismatch, which is retried.
        let digest_id = self.config.digest_id();
        let (object, expected) = tokio::join!(
            self.bucket.get(&self.config.key),
            table.get_string(&digest_id, DIGEST_ATTR)
        );
        let object = object?;
        // As Terraform does, a digest that cannot be read does not block the read: the
        // object itself is the truth; the digest only catches S3 serving an old copy.
        let expected = expected.ok().flatten();
        let check = match expected {
            Some(expected) if !expected.is_empty() => {
                let actual = object.as_ref().map(|o| md5_hex(&o.bytes));
                if actual
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(&expected))
                {
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
        let put = match self
            .bucket
            .put(&key, body.as_bytes(), WriteCondition::Absent)
            .await
        {
            Err(e) if e.code.as_deref() == Some(NO_SUCH_BUCKET) => {
                // Sent before the bucket check opening started: wait for it (it creates
                // the bucket), then lock.
                self.checks.bucket.wait().await.map_err(other)?;
                self.bucket
                    .put(&key, body.as_bytes(), WriteCondition::Absent)
                    .await
            }
            put => put,
        };
        match put.map_err(other)? {
            WriteOutcome::Written(_) => Ok(()),
            WriteOutcome::Refused => match self.file_holder().await? {
                // Our own put, carried out but its answer lost: the SDK sent it again
                // and the object the first attempt wrote refused the retry.
                Some(holder) if holder.id == info.id => Ok(()),
                holder => Err(BackendError::Locked(
                    holder.unwrap_or_else(|| vanished_holder(info)),
                )),
            },
        }
    }

    async fn lock_with_table(
        &self,
        table: &LockTable,
        info: &LockInfo,
        body: &str,
    ) -> Result<(), BackendError> {
        let lock_id = self.config.lock_path();
        let lease = self
            .leased(info)
            .map(|term| lease::expiry_text(std::time::SystemTime::now() + term));
        let mut attrs = vec![(INFO_ATTR, body)];
        if let Some(lease) = &lease {
            attrs.push((LEASE_ATTR, lease.as_str()));
        }
        // A refused put whose holder is gone by the time we look was released in between:
        // try again a few times rather than report a lock nobody holds.
        for _ in 0..3 {
            let put = match table.put_item_if_absent(&lock_id, &attrs).await {
                Err(e) if e.code.as_deref() == Some(NO_SUCH_TABLE) => {
                    // Sent before the table check opening started: wait for it (it
                    // creates the table), then lock.
                    self.checks.table().await?;
                    table.put_item_if_absent(&lock_id, &attrs).await
                }
                put => put,
            };
            if put.map_err(other)? {
                return Ok(());
            }
            match self.table_holder(table).await? {
                // Our own put, carried out but its answer lost: the SDK sent it again
                // and the item the first attempt wrote refused the retry. Lock IDs are
                // random per run, so no other run holds this one.
                Some(holder) if holder.id == info.id => return Ok(()),
                Some(holder) => return Err(BackendError::Locked(holder)),
                None => {}
            }
        }
        Err(BackendError::Locked(vanished_holder(info)))
    }

    /// After a refused conditional write: the version token of the stored state when it
    /// is byte for byte what this write sent. That is our own write, carried out but its
    /// answer lost: the SDK sent it again and the object the first attempt wrote no
    /// longer matched the condition. Identical bytes carry the same lineage and serial,
    /// so even another writer's identical object is the state we meant to store.
    async fn stored_as_written(&self, bytes: &[u8]) -> Result<Option<String>, BackendError> {
        let stored = self.bucket.get(&self.config.key).await.map_err(other)?;
        Ok(stored
            .filter(|object| object.bytes == bytes)
            .map(|object| object.etag))
    }

    async fn table_holder(&self, table: &LockTable) -> Result<Option<LockInfo>, BackendError> {
        Ok(self.table_item(table).await?.map(|item| item.holder))
    }

    /// The lock item as stored: its Info and lease texts, and the holder they describe.
    async fn table_item(&self, table: &LockTable) -> Result<Option<LockItem>, BackendError> {
        let lock_id = self.config.lock_path();
        let Some(mut attrs) = table.get_strings(&lock_id).await.map_err(other)? else {
            return Ok(None);
        };
        // An item without Info is not a lock anyone can describe; reads as Terraform's
        // unreadable lock does.
        let info = attrs.remove(INFO_ATTR).unwrap_or_default();
        let lease = attrs.remove(LEASE_ATTR);
        let mut holder = lock_info::from_json(&info, &lock_id);
        holder.lease = lease.as_deref().map(lease::read);
        Ok(Some(LockItem {
            info,
            lease,
            holder,
        }))
    }

    /// The lease term `info` asks for, when this backend keeps leases (a table and no
    /// lock object: see the module's doc).
    fn leased(&self, info: &LockInfo) -> Option<std::time::Duration> {
        if self.table.is_none() || self.config.use_lockfile {
            return None;
        }
        info.lease.as_ref().map(|l| l.term).filter(|t| !t.is_zero())
    }

    /// Records the lock as this backend's and starts renewing its lease, if it has one.
    fn hold(&self, info: &LockInfo, body: &str) {
        let renewal = match (&self.table, self.leased(info)) {
            (Some(table), Some(term)) => Some(lease::Renewal::start(
                table.clone(),
                self.config.lock_path(),
                (INFO_ATTR, body.to_string()),
                LEASE_ATTR,
                term,
            )),
            _ => None,
        };
        let mut held = self.held();
        if let Some(old) = held.renewal.take() {
            old.stop();
        }
        *held = HeldDigest {
            lock_id: Some(info.id.clone()),
            lock_body: Some(body.to_string()),
            renewal,
            ..HeldDigest::default()
        };
    }

    /// Fails when the lease of the lock this backend holds was lost (its renewal found the
    /// item changed: taken over or force-unlocked): another run may be writing now.
    fn refuse_lost_lease(&self) -> Result<(), BackendError> {
        let held = self.held();
        match &held.renewal {
            Some(renewal) if renewal.lost() => Err(BackendError::Other(format!(
                "the state lock {} (ID {}) is no longer this run's: its lease could not be renewed because the lock item changed (taken over by another run after the lease lapsed, or force-unlocked); nothing more is written to {}. \
                 Run again: the unit's journal keeps what this run recorded",
                self.config.lock_path(),
                held.lock_id.as_deref().unwrap_or_default(),
                self.url()
            ))),
            _ => Ok(()),
        }
    }

    async fn file_holder(&self) -> Result<Option<LockInfo>, BackendError> {
        let object = self
            .bucket
            .get(&self.config.lockfile_key())
            .await
            .map_err(other)?;
        Ok(object.map(|o| {
            lock_info::from_json(&String::from_utf8_lossy(&o.bytes), &self.config.lock_path())
        }))
    }

    /// Releases the DynamoDB lock held under `id`: only the exact item read is deleted
    /// (a conditional delete on its Info, which holds the ID), so a lock taken by someone
    /// else in the meantime survives, force-unlock's too.
    /// `read` is the lock item as the owner check just read it (`None`: not read yet),
    /// so an unlock reads the item once.
    async fn release_table(
        &self,
        table: &LockTable,
        id: &str,
        read: Option<Option<String>>,
    ) -> Result<(), BackendError> {
        let lock_id = self.config.lock_path();
        let mut text = match read {
            Some(text) => text,
            None => table.get_string(&lock_id, INFO_ATTR).await.map_err(other)?,
        };
        // The item can change between the read and the delete only by another run
        // releasing and taking the lock (then its ID differs) or by our own lock
        // rewritten: a few rounds settle it.
        for _ in 0..3 {
            // Gone already (a delete whose answer was lost and was sent again finds
            // nothing): released.
            let Some(current) = text else { return Ok(()) };
            let holder = lock_info::from_json(&current, &lock_id);
            if holder.id != id {
                return Err(BackendError::Locked(holder));
            }
            if table
                .delete_if(&lock_id, INFO_ATTR, &current)
                .await
                .map_err(other)?
            {
                return Ok(());
            }
            text = table.get_string(&lock_id, INFO_ATTR).await.map_err(other)?;
        }
        Err(BackendError::Other(format!(
            "cannot release the lock {lock_id} in {}: its item kept changing while forge deleted it; read it with forge force-unlock and try again",
            table.name()
        )))
    }

    /// Fails with `Locked` when either lock is held under another id; returns the table's
    /// lock item as read (`None` when there is no table).
    async fn refuse_other_owner(&self, id: &str) -> Result<Option<Option<String>>, BackendError> {
        let table_text = match &self.table {
            Some(table) => Some(
                table
                    .get_string(&self.config.lock_path(), INFO_ATTR)
                    .await
                    .map_err(other)?,
            ),
            None => None,
        };
        let table_holder = table_text
            .clone()
            .flatten()
            .map(|t| lock_info::from_json(&t, &self.config.lock_path()));
        let file_holder = if self.config.use_lockfile {
            self.file_holder().await?
        } else {
            None
        };
        match table_holder
            .into_iter()
            .chain(file_holder)
            .find(|h| h.id != id)
        {
            Some(holder) => Err(BackendError::Locked(holder)),
            None => Ok(table_text),
        }
    }

    /// Releases the S3 lock object held under `id`: deleted only while it is the object
    /// read (If-Match on its ETag), so a lock taken meanwhile by another run survives.
    async fn release_file(&self, id: &str) -> Result<(), BackendError> {
        let key = self.config.lockfile_key();
        for _ in 0..3 {
            let Some(object) = self.bucket.get(&key).await.map_err(other)? else {
                return Ok(());
            };
            let holder = lock_info::from_json(
                &String::from_utf8_lossy(&object.bytes),
                &self.config.lock_path(),
            );
            if holder.id != id {
                return Err(BackendError::Locked(holder));
            }
            if self
                .bucket
                .delete_if_match(&key, &object.etag)
                .await
                .map_err(other)?
            {
                return Ok(());
            }
        }
        Err(BackendError::Other(format!(
            "cannot release the lock object s3://{}/{key}: it kept changing while forge deleted it; read it with forge force-unlock and try again",
            self.config.bucket
        )))
    }
}

/// The lock item of the table as read.
struct LockItem {
    /// Its Info, exactly as stored.
    info: String,
    /// Its lease attribute, exactly as stored.
    lease: Option<String>,
    holder: LockInfo,
}

impl Drop for S3Backend {
    fn drop(&mut self) {
        if let Some(renewal) = self.held().renewal.take() {
            renewal.stop();
        }
    }
}

impl S3Backend {
    fn held(&self) -> std::sync::MutexGuard<'_, HeldDigest> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn held_lock(&self) -> Option<String> {
        self.held().lock_id.clone()
    }
}

enum DigestCheck {
    Match,
    Mismatch {
        expected: String,
        actual: Option<String>,
    },
}

#[async_trait]
impl StateBackend for S3Backend {
    fn describe(&self) -> String {
        self.url()
    }

    async fn read(&self) -> Result<Option<StoredState>, BackendError> {
        // The GetObject goes out beside the checks still running; the read returns only
        // once they have, and their error wins.
        let (first, checked) = tokio::join!(self.read_once(), self.checks.all());
        checked?;
        let mut once = match first {
            // Read before the bucket check made the bucket: it is there now.
            Err(e) if e.code.as_deref() == Some(NO_SUCH_BUCKET) => self.read_once().await,
            first => first,
        };
        let mut attempt = 1;
        loop {
            let (object, check) = once.map_err(other)?;
            match check {
                DigestCheck::Match => {
                    return Ok(object.map(|o| StoredState {
                        bytes: o.bytes,
                        version: o.etag,
                    }));
                }
                DigestCheck::Mismatch { expected, actual } => {
                    if attempt >= self.consistency.attempts.max(1) {
                        let table = self.table.as_ref().map(LockTable::name).unwrap_or_default();
                        return Err(self.stale_error(table, &expected, actual.as_deref()));
                    }
                    attempt += 1;
                    tokio::time::sleep(self.consistency.delay).await;
                    once = self.read_once().await;
                }
            }
        }
    }

    async fn write(
        &self,
        bytes: &[u8],
        expected_version: Option<&str>,
    ) -> Result<String, BackendError> {
        // Done long ago when the state was read first; a first write waits for them, so
        // the bucket is there and set up, and a check's error is reported.
        self.checks.all().await?;
        self.refuse_lost_lease()?;
        if let Some(table) = &self.table
            && self.held_lock().is_some()
            && !self.held().deleted
        {
            // Before the object changes: a reader never sees the new object with the old digest.
            table.delete(&self.config.digest_id()).await.map_err(|e| {
                BackendError::Other(format!(
                    "cannot write the state {}: its digest item in {} could not be removed ({e})",
                    self.url(),
                    table.name()
                ))
            })?;
            self.held().deleted = true;
        }
        let condition = match expected_version {
            Some(v) => WriteCondition::Matches(v),
            None => WriteCondition::Absent,
        };
        let outcome = self
            .bucket
            .put(&self.config.key, bytes, condition)
            .await
            .map_err(other)?;
        let own_write = match outcome {
            WriteOutcome::Written(_) => None,
            WriteOutcome::Refused => self.stored_as_written(bytes).await?,
        };
        let etag = match (outcome, own_write) {
            (WriteOutcome::Written(etag), _) | (WriteOutcome::Refused, Some(etag)) => etag,
            (WriteOutcome::Refused, None) => {
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
            if self.held_lock().is_some() {
                self.held().pending = Some(md5_hex(bytes));
                return Ok(etag);
            }
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
            return Err(BackendError::Other(format!(
                "cannot lock {}: the lock has no ID",
                self.url()
            )));
        }
        let info = normalized(info, &self.config.lock_path());
        let body = lock_info::to_json(&info);
        let locked = self.take_locks(&info, &body).await;
        if let Err(e) = locked {
            // A check's error says what is wrong (a table with another key refuses the
            // lock item with a puzzling validation error): it wins over the lock's.
            self.checks.all().await?;
            return Err(e);
        }
        Ok(())
    }

    async fn unlock(&self, id: &str, force: bool) -> Result<(), BackendError> {
        // Only so that a missing table is there (force-unlock of a fresh config); a
        // check's error must not keep a lock taken before the check failed.
        let _ = self.checks.all().await;
        self.release_locks(id, force).await
    }

    async fn lock_holder(&self) -> Result<Option<LockInfo>, BackendError> {
        self.checks.all().await?;
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

    async fn take_over(&self, stale: &LockInfo, info: &LockInfo) -> Result<(), BackendError> {
        let (Some(table), Some(term)) = (&self.table, self.leased(info)) else {
            return Err(BackendError::Locked(stale.clone()));
        };
        let info = normalized(info, &self.config.lock_path());
        let body = lock_info::to_json(&info);
        let Some(current) = self.table_item(table).await? else {
            // Released meanwhile: the caller takes it the ordinary way.
            return Err(BackendError::Locked(vanished_holder(&info)));
        };
        // Only the lock the caller judged, with the lease it saw lapse: a renewal since
        // means its holder runs.
        if current.holder.id != stale.id
            || current.lease.is_none()
            || current.holder.lease.as_ref().map(|l| l.expires)
                != stale.lease.as_ref().map(|l| l.expires)
        {
            return Err(BackendError::Locked(current.holder));
        }
        let lease = lease::expiry_text(std::time::SystemTime::now() + term);
        let lock_id = self.config.lock_path();
        let replaced = table
            .replace_if(
                &lock_id,
                &[
                    (INFO_ATTR, Some(current.info.as_str())),
                    (LEASE_ATTR, current.lease.as_deref()),
                ],
                &[(INFO_ATTR, body.as_str()), (LEASE_ATTR, lease.as_str())],
            )
            .await
            .map_err(other)?;
        if !replaced {
            match self.table_item(table).await? {
                // Our own replacement, carried out but its answer lost: the SDK sent it
                // again and the item it wrote refused the retry.
                Some(item) if item.info == body => {}
                Some(item) => return Err(BackendError::Locked(item.holder)),
                None => return Err(BackendError::Locked(vanished_holder(&info))),
            }
        }
        self.hold(&info, &body);
        Ok(())
    }
}

impl S3Backend {
    /// Takes the lock file and/or the table lock (the backend's `lock`, less the checks).
    async fn take_locks(&self, info: &LockInfo, body: &str) -> Result<(), BackendError> {
        if self.config.use_lockfile {
            self.lock_with_file(info, body).await?;
        }
        if let Some(table) = &self.table
            && let Err(e) = self.lock_with_table(table, info, body).await
        {
            if self.config.use_lockfile {
                // Do not leave half a lock behind; the table's refusal is what matters.
                let _ = self.release_file(&info.id).await;
            }
            return Err(e);
        }
        self.hold(info, body);
        Ok(())
    }

    /// Releases the locks (the backend's `unlock`, less the checks).
    async fn release_locks(&self, id: &str, force: bool) -> Result<(), BackendError> {
        // Check every lock's owner before removing any, so a refused unlock changes nothing.
        let own_body = {
            let held = self.held();
            held.lock_body
                .clone()
                .filter(|_| held.lock_id.as_deref() == Some(id))
        };
        let read = match own_body {
            // Only the table lock, taken by this backend: `release_table` deletes the item
            // only if it is still exactly ours, and reads it only when it is not.
            Some(body) if !force && !self.config.use_lockfile && self.table.is_some() => {
                Some(Some(body))
            }
            _ if force => None,
            _ => self.refuse_other_owner(id).await?,
        };
        if self.held_lock().as_deref() == Some(id) {
            let pending = self.held().pending.clone();
            if let (Some(table), Some(md5)) = (&self.table, pending) {
                // The digest before the lock goes, so the next holder reads a checked state.
                table.put(&self.config.digest_id(), DIGEST_ATTR, &md5).await.map_err(|e| {
                    BackendError::Other(format!(
                        "the state {} was written, but its digest item in {} could not be set ({e}); the lock is kept: \
                         set item {:?} Digest to {md5}, then release the lock",
                        self.url(),
                        table.name(),
                        self.config.digest_id(),
                    ))
                })?;
            }
            let renewal = std::mem::take(&mut *self.held()).renewal;
            // Stopped before the item goes: a renewal never races the delete.
            if let Some(renewal) = renewal {
                renewal.stop();
            }
        }
        if let Some(table) = &self.table {
            self.release_table(table, id, read).await?;
        }
        if self.config.use_lockfile {
            self.release_file(id).await?;
        }
        Ok(())
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
        process: None,
        lease: None,
    }
}

fn other(e: ProviderError) -> BackendError {
    BackendError::Other(e.to_string())
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
            process: None,
            lease: None,
        }
    }

    #[test]
    fn stored_lock_has_terraform_path_and_parseable_time() {
        let kept = normalized(&info("2026-11-25T21:07:10.123456Z"), "bucket/key");
        assert_eq!(kept.path, "bucket/key");
        assert_eq!(kept.created, "2026-11-25T21:07:10.123456Z");
        let replaced = normalized(&info("yesterday"), "bucket/key");
        assert!(
            chrono::DateTime::parse_from_rfc3339(&replaced.created).is_ok(),
            "{}",
            replaced.created
        );
    }
}
