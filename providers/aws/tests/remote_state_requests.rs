//! What opening an s3 backend sends before the first lock, counted by the process-wide
//! API record (`forge --api-stats`). One test in its own binary: the record is
//! per process, so no other test's calls may mix in.

use std::collections::BTreeMap;

use forge_aws::api_stats::ApiStats;
use forge_aws::remote_state::S3BackendFactory;
use forge_provider::{BackendFactory, LockInfo, Value};

const REGION: &str = "us-east-1";

fn require_emulators() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() || std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() {
        panic!(
            "AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_DYNAMODB are not set: this test needs the emulators. Run \
             `localstack/emulators.sh up` and `source localstack/.run/env.sh`, or use `scripts/test`."
        );
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn config(bucket: &str, key: &str, extra: &[(&str, Value)]) -> Value {
    let mut pairs = vec![("bucket", Value::string(bucket)), ("key", Value::string(key)), ("region", Value::string(REGION))];
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
    }
}

/// Calls per `service:Operation` recorded so far (the test's own setup clients are not
/// recorded: they are built without forge's interceptor).
fn counts() -> BTreeMap<String, usize> {
    ApiStats::global().summary().per_operation
}

/// The calls made since `before`, by operation, the ones not made left out.
fn since(before: &BTreeMap<String, usize>) -> BTreeMap<String, usize> {
    counts()
        .into_iter()
        .map(|(op, n)| {
            let earlier = before.get(&op).copied().unwrap_or(0);
            (op, n - earlier)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn n(calls: &BTreeMap<String, usize>, op: &str) -> usize {
    calls.get(op).copied().unwrap_or(0)
}

async fn sdk() -> aws_types::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new(REGION)).load().await
}

#[tokio::test]
async fn opening_sends_one_request_per_bucket_and_table_once_per_process() {
    require_emulators();
    let sdk = sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);

    // An existing, versioned bucket and an existing lock table, as on every run but the first.
    let bucket = unique("forge-req");
    let table = unique("forge-req-locks");
    s3.create_bucket().bucket(&bucket).send().await.expect("CreateBucket");
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
    ddb.create_table()
        .table_name(&table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("LockID")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .expect("key"),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("LockID")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .send()
        .await
        .expect("CreateTable");

    let before = counts();
    let factory = S3BackendFactory::new();
    let cfg = config(&bucket, "a/terraform.tfstate", &[("dynamodb_table", Value::string(&table))]);
    let backend = factory.open(&cfg).await.expect("open");
    let opening = since(&before);
    // The bucket is found and its versioning read by one request; the table found and
    // its key checked by one.
    assert_eq!(n(&opening, "s3:GetBucketVersioning"), 1, "{opening:?}");
    assert_eq!(n(&opening, "s3:HeadBucket"), 0, "{opening:?}");
    assert_eq!(n(&opening, "dynamodb:DescribeTable"), 1, "{opening:?}");
    assert_eq!(opening.values().sum::<usize>(), 2, "nothing else before the first lock: {opening:?}");
    assert!(factory.take_notices().is_empty(), "a versioned bucket and a right table give no notice");

    // A second unit on the same bucket and table, from another factory: no request at all.
    let before = counts();
    let other = S3BackendFactory::new();
    let second = other.open(&config(&bucket, "b/terraform.tfstate", &[("dynamodb_table", Value::string(&table))])).await.expect("open again");
    assert_eq!(since(&before), BTreeMap::new(), "each bucket and table is checked once per process");

    // The lock is then the first request of the unit.
    let before = counts();
    let info = lock_info(&uuid::Uuid::new_v4().to_string());
    second.lock(&info).await.expect("lock");
    assert_eq!(since(&before), BTreeMap::from([("dynamodb:PutItem".to_string(), 1)]));
    second.unlock(&info.id, false).await.expect("unlock");
    drop(backend);

    // Without versioning wanted, HeadBucket alone finds a missing bucket, which is created
    // without versioning and announced.
    let plain = unique("forge-req-plain");
    let before = counts();
    let factory = S3BackendFactory::new();
    factory
        .open(&config(&plain, "c/terraform.tfstate", &[("skip_bucket_versioning", Value::Bool(true))]))
        .await
        .expect("open with skip_bucket_versioning");
    let opening = since(&before);
    assert_eq!(n(&opening, "s3:HeadBucket"), 1, "{opening:?}");
    assert_eq!(n(&opening, "s3:GetBucketVersioning"), 0, "{opening:?}");
    assert_eq!(n(&opening, "s3:CreateBucket"), 1, "{opening:?}");
    assert_eq!(n(&opening, "s3:PutBucketVersioning"), 0, "{opening:?}");
    let notices = factory.take_notices();
    assert!(
        notices.iter().any(|n| n.starts_with(&format!("created the state bucket {plain}")) && !n.contains("versioning")),
        "{notices:?}"
    );
    s3.head_bucket().bucket(&plain).send().await.expect("the bucket was created");
    let versioning = s3.get_bucket_versioning().bucket(&plain).send().await.expect("GetBucketVersioning");
    assert_eq!(versioning.status(), None, "versioning was skipped");
}
