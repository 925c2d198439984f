//! The contract behind key providers that ask a key service for data keys (OpenTofu's
//! `aws_kms`): the service makes a fresh data key, returned in the clear and wrapped (the
//! wrapped form is stored beside the encrypted data), and later unwraps a stored one.
//! The engine holds the encryption logic and never talks to AWS; `forge-aws` implements
//! this with AWS KMS.
//!
//! The calls block: the engine's encryption runs where no async context can be assumed
//! (the journal is written and read synchronously), and a key is asked for once per run
//! and target, so an implementation runs its requests on a thread of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{ProviderError, UnitRole, Value};

/// A fresh data key: `plaintext` encrypts, `wrapped` is what the key service returns it
/// from (KMS's `CiphertextBlob`). Debug never shows the plaintext.
#[derive(Clone)]
pub struct DataKey {
    pub plaintext: Vec<u8>,
    pub wrapped: Vec<u8>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("plaintext", &"(redacted)")
            .field("wrapped_len", &self.wrapped.len())
            .finish()
    }
}

/// One configured key provider's service: its key id and key length are fixed at opening.
pub trait DataKeyService: Send + Sync {
    /// A fresh data key (KMS GenerateDataKey).
    fn generate(&self) -> Result<DataKey, ProviderError>;
    /// The plaintext of a stored wrapped key (KMS Decrypt).
    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Vec<u8>, ProviderError>;
}

/// An opened service with the notices its arguments call for (settings accepted but not
/// acted on), for the engine to report.
pub struct OpenedKeyService {
    pub service: Arc<dyn DataKeyService>,
    pub notices: Vec<String>,
}

/// Opens the services of one key provider type (`aws_kms`) from the key provider's
/// evaluated arguments, as the unit's identity (Terragrunt's `iam_role`) unless the
/// arguments name their own credentials.
pub trait KeyServiceFactory: Send + Sync {
    fn key_provider_type(&self) -> &'static str;
    fn open(
        &self,
        arguments: &BTreeMap<String, Value>,
        role: Option<&UnitRole>,
    ) -> Result<OpenedKeyService, ProviderError>;
}
