//! A state backend seen through the unit's state encryption: what the engine writes is
//! encrypted before the backend stores it, what the backend holds is decrypted (or, when
//! not encrypted, taken only if the settings allow unencrypted state) before the engine
//! reads it. Locks and version tokens pass through untouched.

use std::sync::Arc;

use async_trait::async_trait;
use forge_provider::{BackendError, LockInfo, StateBackend, StoredState};

use crate::encryption::TargetCipher;

pub(crate) struct EncryptedBackend {
    inner: Arc<dyn StateBackend>,
    cipher: Arc<TargetCipher>,
}

impl EncryptedBackend {
    pub(crate) fn new(inner: Arc<dyn StateBackend>, cipher: Arc<TargetCipher>) -> Self {
        EncryptedBackend { inner, cipher }
    }
}

#[async_trait]
impl StateBackend for EncryptedBackend {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn read(&self) -> Result<Option<StoredState>, BackendError> {
        let Some(stored) = self.inner.read().await? else {
            return Ok(None);
        };
        let bytes = self
            .cipher
            .decrypt(&stored.bytes)
            .map_err(|e| BackendError::Other(e.to_string()))?;
        Ok(Some(StoredState {
            bytes,
            version: stored.version,
        }))
    }

    async fn write(
        &self,
        bytes: &[u8],
        expected_version: Option<&str>,
    ) -> Result<String, BackendError> {
        let sealed = self
            .cipher
            .encrypt(bytes)
            .map_err(|e| BackendError::Other(e.to_string()))?;
        self.inner.write(&sealed, expected_version).await
    }

    async fn lock(&self, info: &LockInfo) -> Result<(), BackendError> {
        self.inner.lock(info).await
    }

    async fn unlock(&self, id: &str, force: bool) -> Result<(), BackendError> {
        self.inner.unlock(id, force).await
    }

    async fn lock_holder(&self) -> Result<Option<LockInfo>, BackendError> {
        self.inner.lock_holder().await
    }
}
