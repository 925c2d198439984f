//! Where a unit's state lives and how it is locked: the contract between the engine and
//! a state backend (local files in the engine; S3 + DynamoDB in `forge-aws`).
//!
//! Backends move bytes and locks; the engine owns the state format (serial, lineage).

use std::fmt;

use async_trait::async_trait;

/// Who holds a lock, in the fields Terraform writes (`Info` of the DynamoDB lock item),
/// so that forge and Terraform can read each other's locks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockInfo {
    pub id: String,
    /// `OperationTypePlan`, `OperationTypeApply`, ...
    pub operation: String,
    pub info: String,
    pub who: String,
    pub version: String,
    /// RFC 3339.
    pub created: String,
    /// `<bucket>/<key>` for S3, the state file path for local state.
    pub path: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BackendError {
    /// The lock is held by someone else.
    Locked(LockInfo),
    /// A conditional write found a newer state than the one read (a lost update refused).
    Conflict(String),
    /// Anything else: the message names the backend object and the cause.
    Other(String),
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Locked(l) => write!(
                f,
                "the state is locked by {} since {} for {} (lock ID {}, path {})",
                l.who, l.created, l.operation, l.id, l.path
            ),
            BackendError::Conflict(m) => write!(f, "the state changed since it was read: {m}"),
            BackendError::Other(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for BackendError {}

/// A state object as read: its bytes and a version token (S3 ETag, file digest) for the
/// next conditional write.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredState {
    pub bytes: Vec<u8>,
    pub version: String,
}

#[async_trait]
pub trait StateBackend: Send + Sync {
    /// A short description for messages (`s3://bucket/production/iam/terraform.tfstate`).
    fn describe(&self) -> String;

    /// The current state object, `None` when there is none yet.
    async fn read(&self) -> Result<Option<StoredState>, BackendError>;

    /// Writes the state atomically. With `expected_version`, refuses (`Conflict`) when the
    /// stored object is no longer that version; with `None`, refuses when one exists.
    /// Returns the new version token.
    async fn write(
        &self,
        bytes: &[u8],
        expected_version: Option<&str>,
    ) -> Result<String, BackendError>;

    /// Takes the lock, or fails with `Locked` naming the holder.
    async fn lock(&self, info: &LockInfo) -> Result<(), BackendError>;

    /// Releases the lock with this id. Refuses when the lock is held under another id
    /// unless `force` (force-unlock).
    async fn unlock(&self, id: &str, force: bool) -> Result<(), BackendError>;

    /// The current lock holder, if any (for force-unlock messages).
    async fn lock_holder(&self) -> Result<Option<LockInfo>, BackendError>;
}

/// Opens the backend a unit's `remote_state` names (`s3`), with its evaluated `config`
/// object. Bootstrapping (creating a missing bucket or lock table) happens here, once per
/// distinct bucket/table, and is reported through `notices`.
#[async_trait]
pub trait BackendFactory: Send + Sync {
    /// The backend type this factory opens (`s3`).
    fn backend_type(&self) -> &'static str;

    async fn open(
        &self,
        config: &crate::Value,
    ) -> Result<std::sync::Arc<dyn StateBackend>, BackendError>;

    /// Messages for the user gathered so far ("created state bucket ..."), drained.
    fn take_notices(&self) -> Vec<String> {
        Vec::new()
    }
}
