//! Creating a missing state bucket or lock table, as Terragrunt does, once per distinct
//! bucket or table per process: many units share one bucket and one table, and open
//! their backends at the same time. Only a command that changes something (or one run
//! with `--backend-bootstrap`) creates them; any other finds them missing and says so.
//!
//! Opening a backend only starts these checks ([`Check::start`]) and returns: the first
//! lock's PutItem does not wait for them. The backend waits for them where it must
//! (`S3Backend`): before a read or write returns, and when a request finds the bucket or
//! table missing (then it waits for the bootstrap and sends the request again).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use forge_aws_dynamodb::LockTable;
use forge_aws_dynamodb::lock_table::{Ensured, LOCK_KEY};
use forge_provider::{ProviderError, ProviderResult};
use tokio::sync::OnceCell;

use super::config::BootstrapSettings;
use super::s3_store::{BucketPresence, BucketProbe, StateBucket};

/// Where the factory gathers notices; checks push into it when they finish.
pub type Notices = Arc<Mutex<Vec<String>>>;

/// The outcome of one bucket's or table's check, shared by every backend on it.
type Outcome = Arc<OnceCell<ProviderResult<()>>>;

/// A check made by this backend's own clients, should it have to run it itself.
type Run = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ProviderResult<()>> + Send>> + Send + Sync>;

/// One bucket's or table's check as a backend sees it: the process-wide outcome, and how
/// to run the check when nobody has (or when the task that ran it was dropped with its
/// runtime, which leaves the outcome unset for the next waiter to fill).
#[derive(Clone)]
pub struct Check {
    outcome: Outcome,
    run: Run,
}

impl Check {
    /// The check of `key`, started now in a task of its own unless already done or under
    /// way in this process.
    fn start(key: String, run: Run) -> Check {
        let check = Check {
            outcome: outcome_for(&key),
            run,
        };
        if check.outcome.get().is_none()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let started = check.clone();
            runtime.spawn(async move {
                let _ = started.wait().await;
            });
        }
        check
    }

    /// The check's outcome, waiting for it (or running it) as needed.
    pub async fn wait(&self) -> ProviderResult<()> {
        self.outcome.get_or_init(|| (self.run)()).await.clone()
    }
}

/// One outcome per bucket or table in this process; concurrent openers of the same one
/// share it instead of racing to create it. A failed check is not kept for later
/// openers: those opening at the same time share the failure, the next one tries again.
fn outcome_for(key: &str) -> Outcome {
    static CELLS: OnceLock<Mutex<HashMap<String, Outcome>>> = OnceLock::new();
    let cells = CELLS.get_or_init(|| Mutex::new(HashMap::new()));
    // A poisoned lock only means another opener panicked; the map is still sound.
    let mut map = cells.lock().unwrap_or_else(|p| p.into_inner());
    let cell = map.entry(key.to_string()).or_default();
    if matches!(cell.get(), Some(Err(_))) {
        *cell = Outcome::default();
    }
    cell.clone()
}

/// Starts making sure the state bucket exists, creating it with versioning, default
/// encryption and public access blocked (each unless skipped). `scope` tells apart the
/// same name on different endpoints or regions.
pub fn start_bucket_check(
    bucket: &StateBucket,
    region: &str,
    scope: &str,
    settings: &BootstrapSettings,
    notices: &Notices,
    sts: &aws_sdk_sts::Client,
) -> Check {
    let (bucket, region, settings, notices, sts) = (
        bucket.clone(),
        region.to_string(),
        settings.clone(),
        notices.clone(),
        sts.clone(),
    );
    let key = format!("s3|{scope}|{region}|{}", bucket.name());
    Check::start(
        key,
        Arc::new(move || {
            let (bucket, region, settings, notices, sts) = (
                bucket.clone(),
                region.clone(),
                settings.clone(),
                notices.clone(),
                sts.clone(),
            );
            Box::pin(
                async move { ensure_bucket(&bucket, &region, &settings, &notices, &sts).await },
            )
        }),
    )
}

/// Starts making sure the lock table exists with Terraform's key schema.
pub fn start_table_check(
    table: &LockTable,
    region: &str,
    scope: &str,
    settings: &BootstrapSettings,
    notices: &Notices,
) -> Check {
    let (table, region, settings, notices) = (
        table.clone(),
        region.to_string(),
        settings.clone(),
        notices.clone(),
    );
    let key = format!("dynamodb|{scope}|{region}|{}", table.name());
    Check::start(
        key,
        Arc::new(move || {
            let (table, region, settings, notices) = (
                table.clone(),
                region.clone(),
                settings.clone(),
                notices.clone(),
            );
            Box::pin(async move { ensure_table(&table, &region, &settings, &notices).await })
        }),
    )
}

async fn ensure_bucket(
    bucket: &StateBucket,
    region: &str,
    settings: &BootstrapSettings,
    notices: &Notices,
    sts: &aws_sdk_sts::Client,
) -> ProviderResult<()> {
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
        if !settings.create_missing {
            return Err(ProviderError::new(format!(
                "the state bucket {} does not exist yet in {region}: nothing has been applied with this remote_state, and this command does not create it",
                bucket.name()
            ))
            .hint(NOT_CREATED_HINT));
        }
        create_bucket(bucket, region, settings, notices, sts).await?;
    }
    Ok(())
}

/// What to do about a missing bucket or table in a command that does not create them.
const NOT_CREATED_HINT: &str = "`forge apply` creates it (and the state) before it changes anything; to create it now and plan, run the command again with --backend-bootstrap";

async fn create_bucket(
    bucket: &StateBucket,
    region: &str,
    settings: &BootstrapSettings,
    notices: &Notices,
    sts: &aws_sdk_sts::Client,
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
    let root_account = if settings.root_access {
        let out = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                forge_aws_common::sdk_error(e).hint(
                    "the state bucket's RootAccess policy needs the account id; set skip_bucket_root_access = true in the remote_state config to leave it out",
                )
            })?;
        out.account
    } else {
        None
    };
    if let Some(policy) = bucket_policy(
        bucket.name(),
        region,
        root_account.as_deref(),
        settings.enforced_tls,
    ) {
        bucket.put_policy(&policy).await?;
        done.push(
            match (settings.enforced_tls, root_account.is_some()) {
                (true, true) => "policy: TLS only, root access",
                (true, false) => "policy: TLS only",
                _ => "policy: root access",
            }
            .to_string(),
        );
    }
    if !settings.bucket_tags.is_empty() {
        bucket.tag(&settings.bucket_tags).await?;
        done.push(format!("{} tags", settings.bucket_tags.len()));
    }
    let detail = if done.is_empty() {
        String::new()
    } else {
        format!(" ({})", done.join(", "))
    };
    push(
        notices,
        format!(
            "created the state bucket {} in {region}{detail}",
            bucket.name()
        ),
    );
    Ok(())
}

/// Terragrunt's policy for a state bucket it creates: `RootAccess` lets the account's
/// root manage the bucket, `EnforcedTLS` denies every request not made over TLS. `None`
/// when both are skipped.
pub fn bucket_policy(
    bucket: &str,
    region: &str,
    root_account: Option<&str>,
    enforced_tls: bool,
) -> Option<String> {
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    let resources = serde_json::json!([
        format!("arn:{partition}:s3:::{bucket}"),
        format!("arn:{partition}:s3:::{bucket}/*"),
    ]);
    let mut statements = Vec::new();
    if let Some(account) = root_account {
        statements.push(serde_json::json!({
            "Sid": "RootAccess",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:{partition}:iam::{account}:root")},
            "Action": "s3:*",
            "Resource": resources,
        }));
    }
    if enforced_tls {
        statements.push(serde_json::json!({
            "Sid": "EnforcedTLS",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }));
    }
    if statements.is_empty() {
        return None;
    }
    Some(serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string())
}

fn warn_unversioned(bucket: &StateBucket, notices: &Notices) {
    push(
        notices,
        format!(
            "warning: versioning is off on the state bucket {}: an overwritten state cannot be recovered; turn it on (aws s3api put-bucket-versioning)",
            bucket.name()
        ),
    );
}

async fn ensure_table(
    table: &LockTable,
    region: &str,
    settings: &BootstrapSettings,
    notices: &Notices,
) -> ProviderResult<()> {
    if !settings.create_missing {
        return match table.existing().await? {
            Some(key_schema) => check_key_schema(table.name(), &key_schema),
            None => Err(ProviderError::new(format!(
                "the DynamoDB lock table {} does not exist yet in {region}, and this command does not create it",
                table.name()
            ))
            .hint(NOT_CREATED_HINT)),
        };
    }
    match table
        .ensure(&settings.table_tags, settings.table_encryption)
        .await?
    {
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
}

/// A table made by hand with another key would refuse every lock with a puzzling error:
/// say what is wrong up front.
fn check_key_schema(table: &str, schema: &[(String, String, String)]) -> ProviderResult<()> {
    let right = schema.len() == 1
        && schema[0] == (LOCK_KEY.to_string(), "HASH".to_string(), "S".to_string());
    if right {
        return Ok(());
    }
    let found = schema
        .iter()
        .map(|(n, k, t)| format!("{n} ({k}, {t})"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(ProviderError::new(format!(
        "the DynamoDB table {table} cannot hold state locks: its key is {found}, not {LOCK_KEY} (HASH, S)"
    ))
    .hint("name another table in remote_state config.dynamodb_table (forge creates it), or recreate this one with hash key LockID of type S"))
}

fn push(notices: &Notices, notice: String) {
    notices
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(notice);
}

#[cfg(test)]
mod tests {
    use super::bucket_policy;

    #[test]
    fn terragrunts_bucket_policy_statements() {
        let policy =
            bucket_policy("state", "us-east-1", Some("111111111111"), true).expect("a policy");
        let json: serde_json::Value = serde_json::from_str(&policy).expect("JSON");
        let statements = json["Statement"].as_array().expect("statements");
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0]["Sid"], "RootAccess");
        assert_eq!(
            statements[0]["Principal"]["AWS"],
            "arn:aws:iam::111111111111:root"
        );
        assert_eq!(statements[1]["Sid"], "EnforcedTLS");
        assert_eq!(statements[1]["Effect"], "Deny");
        assert_eq!(
            statements[1]["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
        assert_eq!(statements[1]["Resource"][1], "arn:aws:s3:::state/*");
        let china = bucket_policy("state", "cn-north-1", None, true).expect("a policy");
        assert!(china.contains("arn:aws-cn:s3:::state"), "{china}");
        assert_eq!(bucket_policy("state", "us-east-1", None, false), None);
    }
}
