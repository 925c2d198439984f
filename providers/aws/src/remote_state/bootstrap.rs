//! Creating a missing state bucket or lock table, as Terragrunt does, once per distinct
//! bucket or table per process: many units share one bucket and one table, and open
//! their backends at the same time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use forge_aws_dynamodb::LockTable;
use forge_aws_dynamodb::lock_table::{Ensured, LOCK_KEY};
use forge_provider::{ProviderError, ProviderResult};
use tokio::sync::OnceCell;

use super::config::BootstrapSettings;
use super::s3_store::{BucketPresence, BucketProbe, StateBucket};

/// One cell per bucket or table already made sure of in this process; concurrent
/// openers of the same one wait on its cell instead of racing to create it.
fn ensured(key: &str) -> Arc<OnceCell<()>> {
    static CELLS: OnceLock<Mutex<HashMap<String, Arc<OnceCell<()>>>>> = OnceLock::new();
    let cells = CELLS.get_or_init(|| Mutex::new(HashMap::new()));
    // A poisoned lock only means another opener panicked; the map is still sound.
    let mut map = cells.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(key.to_string()).or_default().clone()
}

/// Makes sure the state bucket exists, creating it with versioning, default encryption
/// and public access blocked (each unless skipped). `scope` tells apart the same name
/// on different endpoints or regions.
pub async fn ensure_bucket(
    bucket: &StateBucket,
    region: &str,
    scope: &str,
    settings: &BootstrapSettings,
    notices: &Mutex<Vec<String>>,
) -> ProviderResult<()> {
    let cell = ensured(&format!("s3|{scope}|{region}|{}", bucket.name()));
    cell.get_or_try_init(|| async {
        // With versioning wanted, one GetBucketVersioning both finds the bucket and tells
        // whether to warn; without, HeadBucket only finds it.
        let missing = if settings.versioning {
            match bucket.probe_versioning().await? {
                BucketProbe::Missing => true,
                BucketProbe::Present { versioned } => {
                    if versioned == Some(false) {
                        warn_unversioned(bucket, notices);
                    }
                    false
                }
            }
        } else {
            bucket.presence().await? == BucketPresence::Missing
        };
        if missing {
            create_bucket(bucket, region, settings, notices).await?;
        }
        Ok::<(), ProviderError>(())
    })
    .await
    .map(|_| ())
}

async fn create_bucket(
    bucket: &StateBucket,
    region: &str,
    settings: &BootstrapSettings,
    notices: &Mutex<Vec<String>>,
) -> ProviderResult<()> {
    if !bucket.create(region).await? {
        // Another process created it between our look-up and our create: theirs to set up.
        return Ok(());
    }
    let mut done = Vec::new();
    if settings.versioning {
        bucket.enable_versioning().await?;
        done.push("versioning on".to_string());
    }
    if let Some(enc) = &settings.encryption {
        bucket.set_default_encryption(enc).await?;
        done.push(match &enc.kms_key_id {
            Some(key) => format!("encryption {} with key {key}", enc.algorithm),
            None => format!("encryption {}", enc.algorithm),
        });
    }
    if settings.block_public_access {
        bucket.block_public_access().await?;
        done.push("public access blocked".to_string());
    }
    if !settings.bucket_tags.is_empty() {
        bucket.tag(&settings.bucket_tags).await?;
        done.push(format!("{} tags", settings.bucket_tags.len()));
    }
    let detail = if done.is_empty() { String::new() } else { format!(" ({})", done.join(", ")) };
    push(notices, format!("created the state bucket {} in {region}{detail}", bucket.name()));
    Ok(())
}

fn warn_unversioned(bucket: &StateBucket, notices: &Mutex<Vec<String>>) {
    push(
        notices,
        format!(
            "warning: versioning is off on the state bucket {}: an overwritten state cannot be recovered; turn it on (aws s3api put-bucket-versioning)",
            bucket.name()
        ),
    );
}

/// Makes sure the lock table exists with Terraform's key schema.
pub async fn ensure_table(
    table: &LockTable,
    region: &str,
    scope: &str,
    settings: &BootstrapSettings,
    notices: &Mutex<Vec<String>>,
) -> ProviderResult<()> {
    let cell = ensured(&format!("dynamodb|{scope}|{region}|{}", table.name()));
    cell.get_or_try_init(|| async {
        match table.ensure(&settings.table_tags, settings.table_encryption).await? {
            Ensured::Created => {
                push(
                    notices,
                    format!(
                        "created the DynamoDB lock table {} in {region} (hash key {LOCK_KEY} of type S, PAY_PER_REQUEST)",
                        table.name()
                    ),
                );
                Ok(())
            }
            Ensured::Existing { key_schema } => check_key_schema(table.name(), &key_schema),
        }
    })
    .await
    .map(|_| ())
}

/// A table made by hand with another key would refuse every lock with a puzzling error:
/// say what is wrong up front.
fn check_key_schema(table: &str, schema: &[(String, String, String)]) -> ProviderResult<()> {
    let right = schema.len() == 1 && schema[0] == (LOCK_KEY.to_string(), "HASH".to_string(), "S".to_string());
    if right {
        return Ok(());
    }
    let found = schema.iter().map(|(n, k, t)| format!("{n} ({k}, {t})")).collect::<Vec<_>>().join(", ");
    Err(ProviderError::new(format!(
        "the DynamoDB table {table} cannot hold state locks: its key is {found}, not {LOCK_KEY} (HASH, S)"
    ))
    .hint("name another table in remote_state config.dynamodb_table (forge creates it), or recreate this one with hash key LockID of type S"))
}

fn push(notices: &Mutex<Vec<String>>, notice: String) {
    notices.lock().unwrap_or_else(|p| p.into_inner()).push(notice);
}
