//! State in a file beside the unit (`<unit>/.forge/terraform.tfstate`) for units without
//! `remote_state`: written atomically (temp file + rename), locked with an exclusive lock
//! file holding the holder's LockInfo as JSON (Terraform's field names).

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use forge_provider::{BackendError, LockInfo, StateBackend, StoredState};
use md5::{Digest, Md5};

pub struct LocalBackend {
    path: PathBuf,
}

#[allow(clippy::result_large_err)] // BackendError is the contract's type
impl LocalBackend {
    /// The backend of the unit in `unit_dir`.
    pub fn for_unit(unit_dir: &Path) -> LocalBackend {
        LocalBackend {
            path: unit_dir.join(".forge").join("terraform.tfstate"),
        }
    }

    pub fn at(path: PathBuf) -> LocalBackend {
        LocalBackend { path }
    }

    /// `.terraform.tfstate.lock.info`: where Terraform's local backend keeps its lock info.
    fn lock_path(&self) -> PathBuf {
        let mut name = std::ffi::OsString::from(".");
        name.push(self.path.file_name().unwrap_or_default());
        name.push(".lock.info");
        self.path.with_file_name(name)
    }

    fn ensure_dir(&self) -> Result<(), BackendError> {
        if let Some(dir) = self.path.parent() {
            crate::private_file::create_private_dir(dir).map_err(|e| {
                BackendError::Other(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        Ok(())
    }
}

fn digest(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

fn lock_to_json(l: &LockInfo) -> serde_json::Value {
    let mut json = serde_json::json!({
        "ID": l.id, "Operation": l.operation, "Info": l.info, "Who": l.who,
        "Version": l.version, "Created": l.created, "Path": l.path,
    });
    if let (Some(process), Some(object)) = (&l.process, json.as_object_mut())
        && let Ok(value) = serde_json::to_value(process)
    {
        object.insert(forge_provider::LOCK_PROCESS_MEMBER.to_string(), value);
    }
    json
}

fn lock_from_json(v: &serde_json::Value) -> LockInfo {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    LockInfo {
        id: s("ID"),
        operation: s("Operation"),
        info: s("Info"),
        who: s("Who"),
        version: s("Version"),
        created: s("Created"),
        path: s("Path"),
        // A member that does not read as a process is as good as none: never healed.
        process: v
            .get(forge_provider::LOCK_PROCESS_MEMBER)
            .and_then(|p| serde_json::from_value(p.clone()).ok()),
        // A local lock file keeps no lease: only its holder's process tells it is gone.
        lease: None,
    }
}

#[async_trait]
impl StateBackend for LocalBackend {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    async fn read(&self) -> Result<Option<StoredState>, BackendError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                let version = digest(&bytes);
                Ok(Some(StoredState { bytes, version }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BackendError::Other(format!(
                "cannot read {}: {e}",
                self.path.display()
            ))),
        }
    }

    async fn write(
        &self,
        bytes: &[u8],
        expected_version: Option<&str>,
    ) -> Result<String, BackendError> {
        self.ensure_dir()?;
        let current = self.read().await?;
        match (
            current.as_ref().map(|c| c.version.as_str()),
            expected_version,
        ) {
            (None, None) => {}
            (Some(have), Some(want)) if have == want => {}
            (have, want) => {
                return Err(BackendError::Conflict(format!(
                    "{} is at version {} but {} was expected",
                    self.path.display(),
                    have.unwrap_or("(none)"),
                    want.unwrap_or("(none)")
                )));
            }
        }
        let tmp = self
            .path
            .with_extension(format!("tfstate.tmp-{}", uuid::Uuid::new_v4()));
        if let Err(e) = crate::private_file::write_atomic(&self.path, &tmp, bytes) {
            return Err(BackendError::Other(format!(
                "cannot write {}: {e}",
                self.path.display()
            )));
        }
        Ok(digest(bytes))
    }

    async fn lock(&self, info: &LockInfo) -> Result<(), BackendError> {
        self.ensure_dir()?;
        let path = self.lock_path();
        match crate::private_file::create_new_private(&path) {
            Ok(mut f) => {
                let mut info = info.clone();
                info.path = self.path.display().to_string();
                let text = lock_to_json(&info).to_string();
                f.write_all(text.as_bytes()).map_err(|e| {
                    BackendError::Other(format!("cannot write {}: {e}", path.display()))
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                match self.lock_holder().await? {
                    Some(holder) => Err(BackendError::Locked(holder)),
                    // The holder released it between our two calls: try once more.
                    None => Box::pin(self.lock(info)).await,
                }
            }
            Err(e) => Err(BackendError::Other(format!(
                "cannot create lock file {}: {e}",
                path.display()
            ))),
        }
    }

    #[allow(clippy::result_large_err)]
    /// A lock file holds no more than its JSON: forced or not, it is checked and
    /// removed alike.
    async fn unlock(&self, id: &str, _force: bool) -> Result<(), BackendError> {
        let path = self.lock_path();
        match self.lock_holder().await? {
            None => Ok(()),
            // Forced or not, only the lock named: force-unlock shows the holder first, and
            // a lock taken since under another ID is not the one it showed.
            Some(holder) if holder.id != id => Err(BackendError::Locked(holder)),
            Some(_) => std::fs::remove_file(&path).or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(BackendError::Other(format!(
                        "cannot remove {}: {e}",
                        path.display()
                    )))
                }
            }),
        }
    }

    async fn lock_holder(&self) -> Result<Option<LockInfo>, BackendError> {
        let path = self.lock_path();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let json: serde_json::Value =
                    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                Ok(Some(lock_from_json(&json)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BackendError::Other(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(id: &str) -> LockInfo {
        LockInfo {
            id: id.into(),
            operation: "OperationTypeApply".into(),
            info: String::new(),
            who: "me@host".into(),
            version: "0.1.0".into(),
            created: "2026-01-01T00:00:00Z".into(),
            path: String::new(),
            process: None,
            lease: None,
        }
    }

    #[tokio::test]
    async fn conditional_writes_and_exclusive_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = LocalBackend::for_unit(dir.path());
        assert!(b.read().await.expect("read").is_none());
        let v1 = b.write(b"one", None).await.expect("first write");
        assert!(matches!(
            b.write(b"two", None).await,
            Err(BackendError::Conflict(_))
        ));
        let v2 = b.write(b"two", Some(&v1)).await.expect("second write");
        assert!(matches!(
            b.write(b"three", Some(&v1)).await,
            Err(BackendError::Conflict(_))
        ));
        assert_eq!(b.read().await.expect("read").map(|s| s.version), Some(v2));

        b.lock(&lock("a")).await.expect("lock");
        match b.lock(&lock("b")).await {
            Err(BackendError::Locked(holder)) => assert_eq!(holder.id, "a"),
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(b.unlock("b", false).await.is_err());
        b.unlock("a", false).await.expect("unlock");
        b.lock(&lock("b")).await.expect("relock");
        assert!(matches!(
            b.unlock("x", true).await,
            Err(BackendError::Locked(holder)) if holder.id == "b"
        ));
        b.unlock("b", true).await.expect("force unlock");
        assert!(b.lock_holder().await.expect("holder").is_none());
    }
}
