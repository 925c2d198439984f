//! Where a unit's state lives and how it is locked: the contract between the engine and
//! a state backend (local files in the engine; S3 + DynamoDB in `forge-aws`).
//!
//! Backends move bytes and locks; the engine owns the state format (serial, lineage).

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Who holds a lock, in the fields Terraform writes (`Info` of the DynamoDB lock item),
/// so that forge and Terraform can read each other's locks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
    /// The forge process that took the lock; `None` for a lock Terraform (or a forge
    /// that cannot tell) took. Boxed: `BackendError::Locked` carries a `LockInfo`.
    pub process: Option<Box<LockProcess>>,
    /// The lease of a lock forge holds: the holder renews it while it runs, so a lease
    /// that lapsed says the holder stopped (or lost its connection) long ago. `None` for a
    /// lock Terraform took, or on a backend that keeps no lease: such a lock is never
    /// taken over.
    pub lease: Option<LockLease>,
}

/// A lock's lease. Taking a lock, `term` is how long each renewal extends it (the
/// backend renews it every third of that while the lock is held); read back from a
/// backend, `expires` is when it lapses unless renewed (the holder's clock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockLease {
    pub term: std::time::Duration,
    pub expires: Option<std::time::SystemTime>,
}

/// The member of the lock JSON that holds [`LockProcess`], after Terraform's fields
/// (Terraform ignores members it does not know).
pub const LOCK_PROCESS_MEMBER: &str = "ForgeProcess";

/// The process holding a lock, precisely enough for a forge on the same machine to tell
/// whether it still runs: the host's name, its boot (a PID means nothing after a reboot),
/// the PID namespace (a PID means nothing in another container), the PID, and the
/// process's start time (a PID is reused once its process is gone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockProcess {
    #[serde(rename = "Host")]
    pub host: String,
    /// `/proc/sys/kernel/random/boot_id`.
    #[serde(rename = "BootID")]
    pub boot_id: String,
    /// The target of `/proc/self/ns/pid` (`pid:[4026531836]`).
    #[serde(rename = "PIDNamespace")]
    pub pid_namespace: String,
    #[serde(rename = "PID")]
    pub pid: u32,
    /// Clock ticks from boot to the process's start (`/proc/<pid>/stat`, field 22).
    #[serde(rename = "StartTime")]
    pub start_time: u64,
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

    /// Releases the lock held under this id: only that lock, with a conditional delete
    /// where the store has one, so that a lock taken by another run a moment later is
    /// never removed. Refuses (`Locked`) when the lock is held under another id. `force`
    /// releases a lock this process did not take (force-unlock, a holder that is gone);
    /// without it, a backend may rely on what it wrote when it took the lock.
    async fn unlock(&self, id: &str, force: bool) -> Result<(), BackendError>;

    /// The current lock holder, if any (for force-unlock messages).
    async fn lock_holder(&self) -> Result<Option<LockInfo>, BackendError>;

    /// Replaces `stale`, a lock whose lease lapsed, by `info`: a conditional write on the
    /// exact lock item read (its Info and its lease), so a lock renewed, released or taken
    /// by another run in between is never replaced; that refusal is `Locked` with the
    /// current holder. A backend that keeps no leases never reports one, so the engine
    /// never asks it; it refuses.
    async fn take_over(&self, stale: &LockInfo, info: &LockInfo) -> Result<(), BackendError> {
        let _ = info;
        Err(BackendError::Locked(stale.clone()))
    }
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

    /// Opens the backend of a unit that runs as `role` (Terragrunt's `iam_role`): its
    /// requests use the role's credentials where the environment's would be used. A
    /// backend that cannot act as a role refuses rather than use other credentials.
    async fn open_as(
        &self,
        config: &crate::Value,
        role: Option<&crate::UnitRole>,
    ) -> Result<std::sync::Arc<dyn StateBackend>, BackendError> {
        match role {
            None => self.open(config).await,
            Some(role) => Err(BackendError::Other(format!(
                "the {} backend cannot assume the unit's iam_role {}",
                self.backend_type(),
                role.role_arn
            ))),
        }
    }

    /// Messages for the user gathered so far ("created state bucket ..."), drained.
    fn take_notices(&self) -> Vec<String> {
        Vec::new()
    }
}
