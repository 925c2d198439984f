//! What opening an s3 backend sends, and when, beside the first lock: the calls and
//! their start and end times from the process-wide API record (`forge --api-stats`).
//! One test in its own binary: the record is per process, so no other test's calls may
//! mix in.

mod support;

use std::collections::BTreeMap;

use forge_aws::api_stats::{ApiCall, ApiStats};
use forge_aws::remote_state::S3BackendFactory;
use forge_provider::{BackendFactory, LockInfo, Value};

const REGION: &str = "us-east-1";

use support::{require_emulators, unique};

fn config(bucket: &str, key: &str, extra: &[(&str, Value)]) -> Value {
    let mut pairs = vec![
        ("bucket", Value::string(bucket)),
        ("key", Value::string(key)),
        ("region", Value::string(REGION)),
    ];
    pairs.extend(extra.iter().cloned());
    Value::object(pairs)
}

fn lock_info(id: &str) -> LockInfo {
    LockInfo {
        id: id.to_string(),
        operation: "OperationTypeApply".to_string(),
        info: String::new(),
        who: "forge@test".to_string(),
        version: "forge-test".to_string(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        path: String::new(),
        process: None,
        lease: None,
    }
}

/// The calls recorded after the first `from` (the test's own setup clients are not
/// recorded: they are built without forge's interceptor), by start.
fn calls_since(from: usize) -> Vec<ApiCall> {
    let mut calls: Vec<ApiCall> = ApiStats::global().calls().into_iter().skip(from).collect();
    calls.sort_by_key(|c| c.start);
    calls
}

fn mark() -> usize {
    ApiStats::global().calls().len()
}

fn name(c: &ApiCall) -> String {
    format!("{}:{}", c.service, c.operation)
}

/// Calls per `service:Operation`.
fn per_operation(calls: &[ApiCall]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for c in calls {
        *counts.entry(name(c)).or_insert(0) += 1;
    }
    counts
}

fn n(calls: &[ApiCall], op: &str) -> usize {
    calls.iter().filter(|c| name(c) == op).count()
}

fn only<'a>(calls: &'a [ApiCall], op: &str) -> &'a ApiCall {
    let found: Vec<&ApiCall> = calls.iter().filter(|c| name(c) == op).collect();
    assert_eq!(found.len(), 1, "one {op}: {:?}", per_operation(calls));
    found[0]
}

fn end(c: &ApiCall) -> std::time::Duration {
    c.start + c.elapsed
}

async fn sdk() -> aws_types::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .load()
        .await
}

async fn create_lock_table(ddb: &aws_sdk_dynamodb::Client, table: &str) {
    support::create_table_keyed(ddb, table, "LockID").await;
}

/// One unit's turn at the state: open, lock, read, unlock.
async fn lock_read_unlock(
    factory: &S3BackendFactory,
    cfg: &Value,
) -> Option<forge_provider::StoredState> {
    let backend = factory.open(cfg).await.expect("open");
    let info = lock_info(&uuid::Uuid::new_v4().to_string());
    backend.lock(&info).await.expect("lock");
    let read = backend.read().await.expect("read");
    backend.unlock(&info.id, false).await.expect("unlock");
    read
}

#[tokio::test]
async fn opening_checks_each_bucket_and_table_once_per_process_beside_the_first_lock() {
    require_emulators();
    let sdk = sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);

    // An existing, versioned bucket and an existing lock table, as on every run but the first.
    let bucket = unique("forge-req");
    let table = unique("forge-req-locks");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("PutBucketVersioning");
    create_lock_table(&ddb, &table).await;

    let before = mark();
    let factory = S3BackendFactory::new().creating_missing(true);
    let cfg = config(
        &bucket,
        "a/terraform.tfstate",
        &[("dynamodb_table", Value::string(&table))],
    );
    assert_eq!(lock_read_unlock(&factory, &cfg).await, None);
    let unit = calls_since(before);
    // The bucket is found and its versioning read by one request, the table found and its
    // key checked by one; besides them only the unit's own lock, read and unlock, and
    // (once per process and credentials, when the first bucket request needs it) the
    // caller's account, which every bucket request sends as ExpectedBucketOwner.
    assert_eq!(
        per_operation(&unit),
        BTreeMap::from([
            ("sts:GetCallerIdentity".to_string(), 1),
            ("s3:GetBucketVersioning".to_string(), 1),
            ("dynamodb:DescribeTable".to_string(), 1),
            ("dynamodb:PutItem".to_string(), 1),
            ("s3:GetObject".to_string(), 1),
            ("dynamodb:GetItem".to_string(), 1),
            ("dynamodb:DeleteItem".to_string(), 1),
        ])
    );
    // The lock does not wait for the checks: it goes out before either has its answer,
    // and no request of the unit had finished when it started.
    let lock = only(&unit, "dynamodb:PutItem");
    for check in ["s3:GetBucketVersioning", "dynamodb:DescribeTable"] {
        assert!(
            lock.start < end(only(&unit, check)),
            "the lock waited for {check}: {unit:#?}"
        );
    }
    assert!(
        unit.iter().all(|c| end(c) > lock.start),
        "a request finished before the lock went out: {unit:#?}"
    );
    assert!(
        factory.take_notices().is_empty(),
        "a versioned bucket and a right table give no notice"
    );

    // A second unit on the same bucket and table, from another factory: no check at all;
    // the lock is its first request.
    let before = mark();
    let other = S3BackendFactory::new().creating_missing(true);
    let cfg = config(
        &bucket,
        "b/terraform.tfstate",
        &[("dynamodb_table", Value::string(&table))],
    );
    assert_eq!(lock_read_unlock(&other, &cfg).await, None);
    let unit = calls_since(before);
    assert_eq!(
        per_operation(&unit),
        BTreeMap::from([
            ("dynamodb:PutItem".to_string(), 1),
            ("s3:GetObject".to_string(), 1),
            ("dynamodb:GetItem".to_string(), 1),
            ("dynamodb:DeleteItem".to_string(), 1),
        ]),
        "each bucket and table is checked once per process"
    );
    assert_eq!(name(&unit[0]), "dynamodb:PutItem");

    // A new bucket and table, eight units at once (an apply's first wave): each lock goes
    // out at once and finds no table, waits for the one bootstrap and is sent again.
    let fresh_bucket = unique("forge-req-new");
    let fresh_table = unique("forge-req-new-locks");
    let before = mark();
    let factory = std::sync::Arc::new(S3BackendFactory::new().creating_missing(true));
    let units = (0..8).map(|i| {
        let factory = factory.clone();
        let cfg = config(
            &fresh_bucket,
            &format!("u{i}/terraform.tfstate"),
            &[("dynamodb_table", Value::string(&fresh_table))],
        );
        tokio::spawn(async move { lock_read_unlock(&factory, &cfg).await })
    });
    for unit in units {
        assert_eq!(unit.await.expect("task"), None);
    }
    let wave = calls_since(before);
    assert_eq!(
        n(&wave, "s3:GetBucketVersioning"),
        1,
        "{:?}",
        per_operation(&wave)
    );
    assert_eq!(n(&wave, "s3:CreateBucket"), 1, "{:?}", per_operation(&wave));
    assert_eq!(
        n(&wave, "dynamodb:CreateTable"),
        1,
        "{:?}",
        per_operation(&wave)
    );
    let create_table = only(&wave, "dynamodb:CreateTable");
    let refused: Vec<&ApiCall> = wave
        .iter()
        .filter(|c| name(c) == "dynamodb:PutItem" && !c.ok)
        .collect();
    let taken: Vec<&ApiCall> = wave
        .iter()
        .filter(|c| name(c) == "dynamodb:PutItem" && c.ok)
        .collect();
    assert_eq!(
        taken.len(),
        8,
        "every unit's lock is taken: {:?}",
        per_operation(&wave)
    );
    assert!(
        !refused.is_empty() && refused.iter().all(|c| c.start < end(create_table)),
        "locks sent before the table existed: {wave:#?}"
    );
    assert!(
        taken.iter().all(|c| c.start >= end(create_table)),
        "{wave:#?}"
    );
    let notices = factory.take_notices();
    assert_eq!(
        notices
            .iter()
            .filter(|m| m.starts_with(&format!("created the state bucket {fresh_bucket}")))
            .count(),
        1,
        "{notices:?}"
    );
    assert_eq!(
        notices
            .iter()
            .filter(|m| m.starts_with(&format!("created the DynamoDB lock table {fresh_table}")))
            .count(),
        1,
        "{notices:?}"
    );

    // Without a table nothing is locked and the read is the first request: it finds no
    // bucket, waits for the bootstrap and reads again.
    let no_table = unique("forge-req-read");
    let before = mark();
    let factory = S3BackendFactory::new().creating_missing(true);
    let backend = factory
        .open(&config(&no_table, "r/terraform.tfstate", &[]))
        .await
        .expect("open");
    assert_eq!(backend.read().await.expect("read"), None);
    let unit = calls_since(before);
    assert_eq!(name(&unit[0]), "s3:GetObject", "{unit:#?}");
    assert_eq!(n(&unit, "s3:GetObject"), 2, "{unit:#?}");
    let create = only(&unit, "s3:CreateBucket");
    assert!(unit[0].start < end(create), "{unit:#?}");
    assert!(
        factory
            .take_notices()
            .iter()
            .any(|m| m.starts_with(&format!("created the state bucket {no_table}")))
    );

    // Without versioning wanted, HeadBucket alone finds a missing bucket, which is created
    // without versioning and announced.
    let plain = unique("forge-req-plain");
    let before = mark();
    let factory = S3BackendFactory::new().creating_missing(true);
    let backend = factory
        .open(&config(
            &plain,
            "c/terraform.tfstate",
            &[("skip_bucket_versioning", Value::Bool(true))],
        ))
        .await
        .expect("open with skip_bucket_versioning");
    backend.read().await.expect("read");
    let opening = calls_since(before);
    assert_eq!(n(&opening, "s3:HeadBucket"), 1, "{opening:?}");
    assert_eq!(n(&opening, "s3:GetBucketVersioning"), 0, "{opening:?}");
    assert_eq!(n(&opening, "s3:CreateBucket"), 1, "{opening:?}");
    assert_eq!(n(&opening, "s3:PutBucketVersioning"), 0, "{opening:?}");
    let notices = factory.take_notices();
    assert!(
        notices.iter().any(
            |n| n.starts_with(&format!("created the state bucket {plain}"))
                && !n.contains("versioning")
        ),
        "{notices:?}"
    );
    s3.head_bucket()
        .bucket(&plain)
        .send()
        .await
        .expect("the bucket was created");
    let versioning = s3
        .get_bucket_versioning()
        .bucket(&plain)
        .send()
        .await
        .expect("GetBucketVersioning");
    assert_eq!(versioning.status(), None, "versioning was skipped");
}
