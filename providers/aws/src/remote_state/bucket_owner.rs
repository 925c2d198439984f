//! The account a state bucket must belong to: the caller's, sent as `ExpectedBucketOwner`
//! on every state-bucket request so that a bucket of the same name in another account
//! (bucket names are global) is refused by S3 rather than read or written.
//!
//! Asked of STS (GetCallerIdentity) when the first bucket request needs it, not when the
//! backend is opened: a unit's lock, its first request, goes out without waiting for it.
//! Remembered for the process by access key id and STS endpoint, so units sharing
//! credentials ask once.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use forge_provider::{ProviderError, ProviderResult};
use tokio::sync::OnceCell;

#[derive(Debug)]
pub struct BucketOwner {
    sts: aws_sdk_sts::Client,
    /// Access key id and STS endpoint: the same answer for the same pair.
    cache_key: String,
    bucket: String,
    account: OnceCell<String>,
}

/// Accounts already learned in this process, by `cache_key`.
fn learned() -> &'static Mutex<BTreeMap<String, String>> {
    static LEARNED: OnceLock<Mutex<BTreeMap<String, String>>> = OnceLock::new();
    LEARNED.get_or_init(Default::default)
}

impl BucketOwner {
    pub fn new(sts: aws_sdk_sts::Client, cache_key: String, bucket: String) -> Self {
        BucketOwner {
            sts,
            cache_key,
            bucket,
            account: OnceCell::new(),
        }
    }

    /// The account, once known (for messages).
    pub fn known(&self) -> Option<&str> {
        self.account.get().map(String::as_str)
    }

    /// The caller's account, asking STS the first time.
    pub async fn account(&self) -> ProviderResult<String> {
        self.account
            .get_or_try_init(|| async {
                if let Some(a) = learned()
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&self.cache_key)
                {
                    return Ok(a.clone());
                }
                let out = self.sts.get_caller_identity().send().await.map_err(|e| {
                    let e = forge_aws_common::sdk_error(e);
                    ProviderError::new(format!(
                        "cannot learn the caller's account for the state bucket {} (STS GetCallerIdentity): {}",
                        self.bucket, e.message
                    ))
                    .hint("forge sends the account as ExpectedBucketOwner so that a bucket of that name in another account is never used; check the credentials and the STS endpoint")
                })?;
                let account = out.account.filter(|a| !a.is_empty()).ok_or_else(|| {
                    ProviderError::new(format!(
                        "STS GetCallerIdentity named no account for the state bucket {}",
                        self.bucket
                    ))
                })?;
                learned()
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(self.cache_key.clone(), account.clone());
                Ok(account)
            })
            .await
            .cloned()
    }
}
