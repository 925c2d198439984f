//! The s3 state backend against the emulators (S3 on LocalStack, the lock table on
//! moto), and against real Terraform: locks that exclude each other both ways, states
//! each reads from the other, the digest item Terraform checks.

mod support;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use forge_aws::remote_state::{ConsistencyRetry, S3Backend, S3BackendFactory, md5_hex};
use forge_provider::{BackendError, BackendFactory, LockInfo, StateBackend, Value};

const REGION: &str = "us-east-1";

use support::{require_emulators, unique};

/// One bucket and one table for this test binary's run; each test uses its own key.
fn shared_names() -> &'static (String, String) {
    static NAMES: OnceLock<(String, String)> = OnceLock::new();
    NAMES.get_or_init(|| (unique("forge-state"), unique("forge-locks")))
}

fn s(v: &str) -> Value {
    Value::string(v)
}

fn config(bucket: &str, key: &str, extra: &[(&str, Value)]) -> Value {
    let mut pairs = vec![
        ("bucket", s(bucket)),
        ("key", s(key)),
        ("region", s(REGION)),
    ];
    pairs.extend(extra.iter().cloned());
    Value::object(pairs)
}

/// A backend on the shared bucket and table for a fresh key.
async fn backend_for(key: &str) -> Arc<S3Backend> {
    require_emulators();
    let (bucket, table) = shared_names();
    S3BackendFactory::new()
        .creating_missing(true)
        .open_s3(&config(
            bucket,
            key,
            &[("dynamodb_table", s(table)), ("encrypt", Value::Bool(true))],
        ))
        .await
        .expect("open the s3 backend")
}

fn lock_info(id: &str, who: &str) -> LockInfo {
    LockInfo {
        id: id.to_string(),
        operation: "OperationTypeApply".to_string(),
        info: String::new(),
        who: who.to_string(),
        version: "forge-test".to_string(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        path: String::new(),
        process: None,
        lease: None,
    }
}

async fn s3() -> aws_sdk_s3::Client {
    require_emulators();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    )
}

async fn dynamodb() -> aws_sdk_dynamodb::Client {
    require_emulators();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&sdk)
}

/// The string attribute `attr` of the lock-table item `lock_id`, read directly.
async fn table_item(table: &str, lock_id: &str, attr: &str) -> Option<String> {
    let out = dynamodb()
        .await
        .get_item()
        .table_name(table)
        .key("LockID", AttributeValue::S(lock_id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    out.item
        .and_then(|i| i.get(attr).and_then(|v| v.as_s().ok().cloned()))
}

/// The object's bytes and ETag, read directly.
async fn object(bucket: &str, key: &str) -> Option<(Vec<u8>, String)> {
    match s3().await.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let etag = out.e_tag.clone().unwrap_or_default();
            Some((
                out.body
                    .collect()
                    .await
                    .expect("object body")
                    .into_bytes()
                    .to_vec(),
                etag,
            ))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => None,
        Err(e) => panic!("GetObject s3://{bucket}/{key}: {e:?}"),
    }
}

fn locked(result: Result<(), BackendError>) -> LockInfo {
    match result {
        Err(BackendError::Locked(holder)) => holder,
        other => panic!("expected Locked, got {other:?}"),
    }
}

fn state_json(serial: u64, lineage: &str) -> Vec<u8> {
    serde_json::to_vec_pretty(&serde_json::json!({
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": serial,
        "lineage": lineage,
        "outputs": {},
        "resources": [],
        "check_results": null
    }))
    .expect("state JSON")
}

#[tokio::test]
async fn lock_unlock_round_trip() {
    let key = format!("{}/terraform.tfstate", unique("round-trip"));
    let backend = backend_for(&key).await;
    let (bucket, table) = shared_names();
    let info = lock_info(&uuid::Uuid::new_v4().to_string(), "alice@laptop");

    match backend.lock(&lock_info("", "nobody@host")).await {
        Err(BackendError::Other(m)) => assert!(m.contains("no ID"), "{m}"),
        other => panic!("a lock without an ID must be refused, got {other:?}"),
    }
    backend.lock(&info).await.expect("lock");
    let holder = backend
        .lock_holder()
        .await
        .expect("holder")
        .expect("a holder while locked");
    assert_eq!(holder.id, info.id);
    assert_eq!(holder.who, "alice@laptop");
    assert_eq!(
        holder.path,
        format!("{bucket}/{key}"),
        "the path is <bucket>/<key>, as Terraform writes it"
    );

    let raw = table_item(table, &format!("{bucket}/{key}"), "Info")
        .await
        .expect("the lock item");
    let json: serde_json::Value = serde_json::from_str(&raw).expect("Info is JSON");
    let fields: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "ID",
            "Operation",
            "Info",
            "Who",
            "Version",
            "Created",
            "Path"
        ]
    );
    assert_eq!(json["ID"], info.id.as_str());
    assert_eq!(json["Operation"], "OperationTypeApply");

    backend.unlock(&info.id, false).await.expect("unlock");
    assert_eq!(backend.lock_holder().await.expect("holder"), None);
    assert_eq!(
        table_item(table, &format!("{bucket}/{key}"), "Info").await,
        None,
        "no lock item left"
    );
    // The lock can be taken again once released.
    backend.lock(&info).await.expect("lock again");
    backend.unlock(&info.id, false).await.expect("unlock again");
}

#[tokio::test]
async fn many_concurrent_lock_attempts_exactly_one_wins() {
    let key = format!("{}/terraform.tfstate", unique("crowd"));
    let attempts = (0..6).map(|n| {
        let key = key.clone();
        tokio::spawn(async move {
            let backend = backend_for(&key).await;
            let info = lock_info(&format!("crowd-{n}"), &format!("run{n}@host"));
            (info.clone(), backend.lock(&info).await)
        })
    });
    let mut winners = Vec::new();
    let mut holders = Vec::new();
    for attempt in attempts {
        let (info, result) = attempt.await.expect("task");
        match result {
            Ok(()) => winners.push(info),
            Err(BackendError::Locked(holder)) => holders.push(holder),
            Err(e) => panic!("a lock attempt failed with something else than Locked: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner: {winners:?}");
    assert_eq!(holders.len(), 5);
    assert!(
        holders
            .iter()
            .all(|h| h.id == winners[0].id && h.who == winners[0].who),
        "{holders:?}"
    );
    backend_for(&key)
        .await
        .unlock(&winners[0].id, false)
        .await
        .expect("unlock");
}

#[tokio::test]
async fn concurrent_lock_attempts_exactly_one_wins() {
    let key = format!("{}/terraform.tfstate", unique("race"));
    let (first, second) = tokio::join!(backend_for(&key), backend_for(&key));
    let a = lock_info(&uuid::Uuid::new_v4().to_string(), "a@host");
    let b = lock_info(&uuid::Uuid::new_v4().to_string(), "b@host");
    let (ra, rb) = tokio::join!(first.lock(&a), second.lock(&b));
    let (winner, holder) = match (ra, rb) {
        (Ok(()), Err(BackendError::Locked(h))) => (&a, h),
        (Err(BackendError::Locked(h)), Ok(())) => (&b, h),
        other => {
            panic!("expected exactly one lock to succeed and the other to be Locked, got {other:?}")
        }
    };
    assert_eq!(holder.id, winner.id);
    assert_eq!(holder.who, winner.who);
    assert_eq!(holder.operation, winner.operation);
    assert_eq!(holder.created, winner.created);
    let message = BackendError::Locked(holder.clone()).to_string();
    assert!(
        message.contains(&winner.id) && message.contains(&winner.who),
        "{message}"
    );
    first.unlock(&winner.id, false).await.expect("unlock");
}

#[tokio::test]
async fn unlock_by_another_id_is_refused() {
    let key = format!("{}/terraform.tfstate", unique("not-yours"));
    let backend = backend_for(&key).await;
    let owner = lock_info("owner-id", "owner@host");
    backend.lock(&owner).await.expect("lock");
    let holder = locked(backend.unlock("someone-else", false).await);
    assert_eq!(holder.id, "owner-id");
    assert!(
        backend.lock_holder().await.expect("holder").is_some(),
        "a refused unlock leaves the lock"
    );
    backend
        .unlock("owner-id", false)
        .await
        .expect("the owner unlocks");
}

#[tokio::test]
async fn lock_left_by_a_killed_process_is_force_unlocked_and_state_survives() {
    let key = format!("{}/terraform.tfstate", unique("killed"));
    let lineage = uuid::Uuid::new_v4().to_string();
    {
        let dead = backend_for(&key).await;
        dead.write(&state_json(1, &lineage), None)
            .await
            .expect("first write");
        dead.lock(&lock_info("dead-run", "gone@host"))
            .await
            .expect("lock");
        // The process "dies" here: the backend is dropped with the lock still held.
    }
    let backend = backend_for(&key).await;
    let holder = locked(backend.lock(&lock_info("new-run", "me@host")).await);
    assert_eq!(holder.id, "dead-run");
    locked(backend.unlock("new-run", false).await);
    // Even forced, only the lock named is released (force-unlock names the one it showed).
    assert_eq!(locked(backend.unlock("new-run", true).await).id, "dead-run");

    backend
        .unlock("dead-run", true)
        .await
        .expect("force unlock");
    assert_eq!(backend.lock_holder().await.expect("holder"), None);
    backend
        .lock(&lock_info("new-run", "me@host"))
        .await
        .expect("lock after force unlock");

    let read = backend
        .read()
        .await
        .expect("read")
        .expect("the state is still there");
    assert_eq!(read.bytes, state_json(1, &lineage), "the state is intact");
    backend
        .write(&state_json(2, &lineage), Some(&read.version))
        .await
        .expect("write after recovery");
    let again = backend.read().await.expect("read").expect("state");
    assert_eq!(again.bytes, state_json(2, &lineage));
    backend.unlock("new-run", false).await.expect("unlock");
}

/// The lease attribute of the lock item, as RFC 3339 parsed.
async fn lease_of(lock_id: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let (_, table) = shared_names();
    table_item(table, lock_id, "ForgeLeaseExpires")
        .await
        .map(|t| chrono::DateTime::parse_from_rfc3339(&t).expect("an RFC 3339 lease"))
}

fn leased(id: &str, who: &str, term: Duration) -> LockInfo {
    LockInfo {
        lease: Some(forge_provider::LockLease {
            term,
            expires: None,
        }),
        ..lock_info(id, who)
    }
}

#[tokio::test]
async fn a_held_lease_is_renewed_and_only_the_exact_lapsed_item_is_taken_over() {
    let key = format!("{}/terraform.tfstate", unique("lease"));
    let (bucket, table) = shared_names();
    let lock_id = format!("{bucket}/{key}");
    let term = Duration::from_millis(900);
    let first = backend_for(&key).await;
    first
        .lock(&leased("first-run", "first@host", term))
        .await
        .expect("lock");
    let leased_until = lease_of(&lock_id).await.expect("the lock item has a lease");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let renewed = lease_of(&lock_id).await.expect("still leased");
    assert!(
        renewed > leased_until,
        "not renewed: {leased_until} then {renewed}"
    );

    // Another run read the lock, then the holder renewed it: the take-over of what was
    // read is refused and the holder keeps its lock.
    let second = backend_for(&key).await;
    let seen = second.lock_holder().await.expect("holder").expect("locked");
    assert!(
        seen.lease.as_ref().and_then(|l| l.expires).is_some(),
        "{seen:?}"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let next = leased("second-run", "second@host", term);
    assert_eq!(locked(second.take_over(&seen, &next).await).id, "first-run");
    assert_eq!(
        second
            .lock_holder()
            .await
            .expect("holder")
            .map(|h| h.id)
            .as_deref(),
        Some("first-run")
    );

    // The holder "dies": its backend goes without unlocking, its renewals stop.
    drop(first);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let lapsed = second
        .lock_holder()
        .await
        .expect("holder")
        .expect("still locked");
    let expires = lapsed
        .lease
        .as_ref()
        .and_then(|l| l.expires)
        .expect("a lease");
    assert!(
        expires < std::time::SystemTime::now(),
        "the lease did not lapse"
    );
    second.take_over(&lapsed, &next).await.expect("take over");
    let info = table_item(table, &lock_id, "Info")
        .await
        .expect("the lock item");
    assert!(info.contains("second-run"), "{info}");
    // The new holder's lease runs and is renewed.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(lease_of(&lock_id).await.expect("leased") > renewed);
    // The old lock ID releases nothing any more.
    let late = backend_for(&key).await;
    assert_eq!(
        locked(late.unlock("first-run", false).await).id,
        "second-run"
    );
    second.unlock("second-run", false).await.expect("unlock");
    assert_eq!(table_item(table, &lock_id, "Info").await, None);
    assert_eq!(lease_of(&lock_id).await, None);
}

#[tokio::test]
async fn a_lock_without_a_lease_is_never_taken_over() {
    let key = format!("{}/terraform.tfstate", unique("no-lease"));
    let (bucket, table) = shared_names();
    let lock_id = format!("{bucket}/{key}");
    // Terraform's lock: Info only.
    let terraform = backend_for(&key).await;
    terraform
        .lock(&lock_info("terraform-run", "ops@laptop"))
        .await
        .expect("lock");
    assert_eq!(lease_of(&lock_id).await, None);
    let other = backend_for(&key).await;
    let seen = other.lock_holder().await.expect("holder").expect("locked");
    assert_eq!(seen.lease, None);
    let next = leased("forge-run", "me@host", Duration::from_secs(60));
    assert_eq!(
        locked(other.take_over(&seen, &next).await).id,
        "terraform-run"
    );
    let info = table_item(table, &lock_id, "Info").await.expect("kept");
    assert!(info.contains("terraform-run"), "{info}");
    terraform
        .unlock("terraform-run", false)
        .await
        .expect("unlock");
}

#[tokio::test]
async fn lost_update_is_refused() {
    let key = format!("{}/terraform.tfstate", unique("lost-update"));
    let lineage = uuid::Uuid::new_v4().to_string();
    let backend = backend_for(&key).await;
    assert_eq!(backend.read().await.expect("read"), None, "no state yet");
    backend
        .write(&state_json(1, &lineage), None)
        .await
        .expect("create");

    let reader_one = backend.read().await.expect("read").expect("state");
    let reader_two = backend_for(&key)
        .await
        .read()
        .await
        .expect("read")
        .expect("state");
    assert_eq!(reader_one.version, reader_two.version);

    let first = state_json(2, &lineage);
    let v2 = backend
        .write(&first, Some(&reader_one.version))
        .await
        .expect("first writer");
    assert_ne!(v2, reader_one.version);
    match backend
        .write(&state_json(2, "someone-else"), Some(&reader_two.version))
        .await
    {
        Err(BackendError::Conflict(m)) => {
            assert!(m.contains(&key), "the conflict names the object: {m}")
        }
        other => panic!("the second writer's stale write must be a Conflict, got {other:?}"),
    }
    match backend.write(&state_json(9, &lineage), None).await {
        Err(BackendError::Conflict(_)) => {}
        other => panic!("creating over an existing state must be a Conflict, got {other:?}"),
    }
    let (bytes, _) = object(&shared_names().0, &key).await.expect("object");
    assert_eq!(bytes, first, "the object is the first writer's");
}

/// Under our own lock the digest item is removed before the first write (so no reader
/// sees a new object with an old digest, and a crash leaves no wrong digest) and set to
/// the last write's MD5 as the lock is released; every read in between is accepted.
#[tokio::test]
async fn under_our_lock_the_digest_is_set_once_at_unlock() {
    let key = format!("{}/terraform.tfstate", unique("digest-held"));
    let backend = backend_for(&key).await;
    let (bucket, table) = shared_names();
    let digest_id = format!("{bucket}/{key}-md5");
    let first = state_json(1, "held-lineage");
    let v1 = backend
        .write(&first, None)
        .await
        .expect("write without a lock");
    assert_eq!(
        table_item(table, &digest_id, "Digest").await,
        Some(md5_hex(&first)),
        "a write without our lock sets the digest at once"
    );

    let info = lock_info(&uuid::Uuid::new_v4().to_string(), "digest@test");
    backend.lock(&info).await.expect("lock");
    let second = state_json(2, "held-lineage");
    let v2 = backend
        .write(&second, Some(&v1))
        .await
        .expect("first write under the lock");
    assert_eq!(
        table_item(table, &digest_id, "Digest").await,
        None,
        "the old digest must not outlive the object it describes"
    );
    let third = state_json(3, "held-lineage");
    backend
        .write(&third, Some(&v2))
        .await
        .expect("second write under the lock");
    assert_eq!(table_item(table, &digest_id, "Digest").await, None);
    // Another reader (a fresh backend, as another process) reads the new state unchecked.
    let read = backend_for(&key)
        .await
        .read()
        .await
        .expect("read while locked")
        .expect("state");
    assert_eq!(read.bytes, third);

    backend.unlock(&info.id, false).await.expect("unlock");
    assert_eq!(
        table_item(table, &digest_id, "Digest").await,
        Some(md5_hex(&third)),
        "the unlock sets the last write's digest"
    );
    assert_eq!(
        table_item(table, &format!("{bucket}/{key}"), "Info").await,
        None,
        "the lock is released"
    );
    let read = backend_for(&key)
        .await
        .read()
        .await
        .expect("read after unlock")
        .expect("state");
    assert_eq!(read.bytes, third);

    // A lock under which nothing was written leaves the digest alone.
    let info = lock_info(&uuid::Uuid::new_v4().to_string(), "digest@test");
    backend.lock(&info).await.expect("lock again");
    backend.unlock(&info.id, false).await.expect("unlock again");
    assert_eq!(
        table_item(table, &digest_id, "Digest").await,
        Some(md5_hex(&third))
    );
}

#[tokio::test]
async fn digest_item_is_the_md5_of_the_object() {
    let key = format!("{}/terraform.tfstate", unique("digest"));
    let backend = backend_for(&key).await;
    let (bucket, table) = shared_names();
    let bytes = state_json(1, "digest-lineage");
    let version = backend.write(&bytes, None).await.expect("write");

    let (stored, etag) = object(bucket, &key).await.expect("object");
    assert_eq!(stored, bytes);
    assert_eq!(etag, version, "the version token is the object's ETag");
    let digest = table_item(table, &format!("{bucket}/{key}-md5"), "Digest")
        .await
        .expect("digest item");
    assert_eq!(digest, md5_hex(&stored));
    assert_eq!(digest.len(), 32);

    let head = s3()
        .await
        .head_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(
        head.server_side_encryption().map(|e| e.as_str()),
        Some("AES256"),
        "encrypt = true sends the SSE header"
    );
}

#[tokio::test]
async fn stale_read_is_retried_then_refused() {
    require_emulators();
    let key = format!("{}/terraform.tfstate", unique("stale"));
    let (bucket, table) = shared_names();
    let factory = S3BackendFactory::new()
        .creating_missing(true)
        .with_consistency_retry(ConsistencyRetry {
            attempts: 3,
            delay: Duration::from_millis(300),
        });
    let backend = factory
        .open_s3(&config(bucket, &key, &[("dynamodb_table", s(table))]))
        .await
        .expect("open");
    let bytes = state_json(1, "stale-lineage");
    backend.write(&bytes, None).await.expect("write");

    // A digest from a newer write S3 "has not caught up with".
    let digest_id = format!("{bucket}/{key}-md5");
    dynamodb()
        .await
        .put_item()
        .table_name(table)
        .item("LockID", AttributeValue::S(digest_id.clone()))
        .item(
            "Digest",
            AttributeValue::S("0123456789abcdef0123456789abcdef".into()),
        )
        .send()
        .await
        .expect("PutItem");
    let started = Instant::now();
    match backend.read().await {
        Err(BackendError::Other(m)) => {
            assert!(
                m.contains("stale read") && m.contains("0123456789abcdef0123456789abcdef"),
                "{m}"
            );
            assert!(
                m.contains(&md5_hex(&bytes)),
                "the message gives the object's md5: {m}"
            );
        }
        other => panic!("expected a stale-read error, got {other:?}"),
    }
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "the read was retried before giving up"
    );

    // S3 "catches up" while a read is retrying: the read then succeeds.
    let fixer = {
        let table = table.clone();
        let digest = md5_hex(&bytes);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(350)).await;
            dynamodb()
                .await
                .put_item()
                .table_name(table)
                .item("LockID", AttributeValue::S(digest_id))
                .item("Digest", AttributeValue::S(digest))
                .send()
                .await
                .expect("PutItem");
        })
    };
    let read = backend
        .read()
        .await
        .expect("read once the digest matches")
        .expect("state");
    assert_eq!(read.bytes, bytes);
    fixer.await.expect("fixer task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bootstrap_creates_bucket_and_table_once() {
    require_emulators();
    let bucket = unique("forge-boot");
    let table = unique("forge-boot-locks");
    let factory = Arc::new(S3BackendFactory::new().creating_missing(true));
    let cfg = |unit: usize| {
        config(
            &bucket,
            &format!("env/app{unit}/terraform.tfstate"),
            &[
                ("dynamodb_table", s(&table)),
                ("encrypt", Value::Bool(true)),
                ("s3_bucket_tags", Value::object([("team", s("platform"))])),
            ],
        )
    };
    // Eight units open, lock and read at once, as an apply's first wave does: opening
    // returns before the bucket and table exist, so the locks find no table and the reads
    // may find no bucket; each waits for the one bootstrap and tries again.
    let units = (0..8).map(|unit| {
        let factory = factory.clone();
        let cfg = cfg(unit);
        tokio::spawn(async move {
            let backend = factory.open(&cfg).await.expect("open");
            let id = format!("boot-{unit}");
            backend
                .lock(&lock_info(&id, "boot@host"))
                .await
                .expect("lock the missing table");
            let read = backend.read().await.expect("read the missing bucket");
            (backend, id, read)
        })
    });
    let mut opened = Vec::new();
    for unit in units {
        opened.push(unit.await.expect("task"));
    }
    for (unit, (backend, id, read)) in opened.iter().enumerate() {
        assert_eq!(
            backend.describe(),
            format!("s3://{bucket}/env/app{unit}/terraform.tfstate")
        );
        assert_eq!(read, &None, "a new unit has no state");
        // The lock item as Terraform writes it, in the table the bootstrap made.
        let info = table_item(
            &table,
            &format!("{bucket}/env/app{unit}/terraform.tfstate"),
            "Info",
        )
        .await
        .expect("lock item");
        let json: serde_json::Value = serde_json::from_str(&info).expect("lock JSON");
        assert_eq!(
            (json["ID"].as_str(), json["Path"].as_str()),
            (
                Some(id.as_str()),
                Some(format!("{bucket}/env/app{unit}/terraform.tfstate").as_str())
            )
        );
        backend.unlock(id, false).await.expect("unlock");
    }
    let notices = factory.take_notices();
    let bucket_notices: Vec<_> = notices
        .iter()
        .filter(|n| n.contains(&format!("state bucket {bucket}")))
        .collect();
    let table_notices: Vec<_> = notices
        .iter()
        .filter(|n| n.contains(&format!("lock table {table}")))
        .collect();
    assert_eq!(
        bucket_notices.len(),
        1,
        "one creation notice for the bucket: {notices:?}"
    );
    assert_eq!(
        table_notices.len(),
        1,
        "one creation notice for the table: {notices:?}"
    );
    assert!(
        bucket_notices[0].starts_with("created") && bucket_notices[0].contains("versioning on"),
        "{notices:?}"
    );
    assert!(factory.take_notices().is_empty(), "notices are drained");

    let s3 = s3().await;
    let versioning = s3
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .expect("versioning");
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let encryption = s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .expect("encryption");
    let algorithm = encryption
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .map(|d| d.sse_algorithm().as_str().to_string());
    assert_eq!(algorithm.as_deref(), Some("AES256"));
    let block = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .expect("public access block");
    let block = block
        .public_access_block_configuration()
        .expect("configuration");
    assert_eq!(
        (
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let tags = s3
        .get_bucket_tagging()
        .bucket(&bucket)
        .send()
        .await
        .expect("tags");
    assert!(
        tags.tag_set()
            .iter()
            .any(|t| t.key() == "team" && t.value() == "platform")
    );

    let described = dynamodb()
        .await
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("table");
    let t = described.table().expect("table description");
    let keys: Vec<(String, String)> = t
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(keys, [("LockID".to_string(), "HASH".to_string())]);
    let attrs: Vec<(String, String)> = t
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                a.attribute_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(attrs, [("LockID".to_string(), "S".to_string())]);
    assert_eq!(
        t.billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str()),
        Some("PAY_PER_REQUEST")
    );

    // A second factory in the same process does not create again.
    let later = S3BackendFactory::new().creating_missing(true);
    later
        .open(&cfg(0))
        .await
        .expect("open again")
        .read()
        .await
        .expect("read again");
    assert!(
        later
            .take_notices()
            .iter()
            .all(|n| !n.starts_with("created"))
    );
}

#[tokio::test]
async fn table_with_the_wrong_key_is_refused() {
    require_emulators();
    let table = unique("forge-wrong-key");
    support::create_table_keyed(&dynamodb().await, &table, "id").await;
    let backend = S3BackendFactory::new()
        .creating_missing(true)
        .open(&config(
            &shared_names().0,
            "wrong/terraform.tfstate",
            &[("dynamodb_table", s(&table))],
        ))
        .await
        .expect("opening does not wait for the table check");
    // The lock item is refused by the table; the check says why, and its error wins.
    let err = backend
        .lock(&lock_info("wrong-key", "me@host"))
        .await
        .expect_err("a table without LockID cannot hold locks");
    let m = err.to_string();
    assert!(
        m.contains(&table) && m.contains("LockID") && m.contains("id (HASH, S)"),
        "{m}"
    );
    let err = backend
        .read()
        .await
        .expect_err("nor can a state be read under it");
    assert!(err.to_string().contains("id (HASH, S)"), "{err}");
}

#[tokio::test]
async fn lockfile_is_created_refused_and_removed() {
    require_emulators();
    let key = format!("{}/terraform.tfstate", unique("lockfile"));
    let bucket = &shared_names().0;
    let backend = S3BackendFactory::new()
        .creating_missing(true)
        .open_s3(&config(
            bucket,
            &key,
            &[("use_lockfile", Value::Bool(true))],
        ))
        .await
        .expect("open");
    let first = lock_info("file-lock-1", "one@host");
    backend.lock(&first).await.expect("lock");
    let (body, _) = object(bucket, &format!("{key}.tflock"))
        .await
        .expect("the .tflock object");
    let json: serde_json::Value = serde_json::from_slice(&body).expect("lock JSON");
    assert_eq!(json["ID"], "file-lock-1");
    assert_eq!(json["Path"], format!("{bucket}/{key}"));

    let holder = locked(backend.lock(&lock_info("file-lock-2", "two@host")).await);
    assert_eq!(
        (holder.id.as_str(), holder.who.as_str()),
        ("file-lock-1", "one@host")
    );
    assert_eq!(
        backend.lock_holder().await.expect("holder").map(|h| h.id),
        Some("file-lock-1".into())
    );

    backend.unlock("file-lock-1", false).await.expect("unlock");
    assert_eq!(
        object(bucket, &format!("{key}.tflock")).await,
        None,
        "the lock object is removed"
    );
    backend
        .lock(&lock_info("file-lock-2", "two@host"))
        .await
        .expect("lock by the next run");
    backend.unlock("file-lock-2", false).await.expect("unlock");
}

#[tokio::test]
async fn both_locks_release_the_lockfile_when_the_table_refuses() {
    require_emulators();
    let key = format!("{}/terraform.tfstate", unique("both"));
    let (bucket, table) = shared_names();
    let cfg = config(
        bucket,
        &key,
        &[
            ("use_lockfile", Value::Bool(true)),
            ("dynamodb_table", s(table)),
        ],
    );
    let backend = S3BackendFactory::new()
        .creating_missing(true)
        .open_s3(&cfg)
        .await
        .expect("open");
    // Someone (an older Terraform that only knows the table) holds the DynamoDB lock.
    let table_only = S3BackendFactory::new()
        .creating_missing(true)
        .open_s3(&config(bucket, &key, &[("dynamodb_table", s(table))]))
        .await
        .expect("open");
    table_only
        .lock(&lock_info("table-holder", "old@host"))
        .await
        .expect("table lock");

    let holder = locked(backend.lock(&lock_info("both-run", "new@host")).await);
    assert_eq!(holder.id, "table-holder");
    assert_eq!(
        object(bucket, &format!("{key}.tflock")).await,
        None,
        "the lock object taken first is released"
    );

    table_only
        .unlock("table-holder", false)
        .await
        .expect("unlock");
    backend
        .lock(&lock_info("both-run", "new@host"))
        .await
        .expect("both locks");
    assert!(object(bucket, &format!("{key}.tflock")).await.is_some());
    assert!(
        table_item(table, &format!("{bucket}/{key}"), "Info")
            .await
            .is_some()
    );
    backend
        .unlock("both-run", false)
        .await
        .expect("unlock both");
    assert_eq!(object(bucket, &format!("{key}.tflock")).await, None);
    assert_eq!(
        table_item(table, &format!("{bucket}/{key}"), "Info").await,
        None
    );
}

#[tokio::test]
async fn endpoints_from_the_config() {
    require_emulators();
    let key = format!("{}/terraform.tfstate", unique("endpoints"));
    let (bucket, table) = shared_names();
    let s3_url = std::env::var("AWS_ENDPOINT_URL").expect("checked above");
    let ddb_url = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("checked above");
    let backend = S3BackendFactory::new()
        .creating_missing(true)
        .open_s3(&config(
            bucket,
            &key,
            &[
                ("dynamodb_table", s(table)),
                ("use_path_style", Value::Bool(true)),
                (
                    "endpoints",
                    Value::object([("s3", s(&s3_url)), ("dynamodb", s(&ddb_url))]),
                ),
                ("skip_credentials_validation", Value::Bool(true)),
                ("skip_requesting_account_id", Value::Bool(true)),
            ],
        ))
        .await
        .expect("open");
    backend.write(b"{}", None).await.expect("write");
    assert_eq!(
        table_item(table, &format!("{bucket}/{key}-md5"), "Digest").await,
        Some(md5_hex(b"{}"))
    );

    // A wrong endpoint in the config is used (not the environment's): the error says so.
    let nowhere = S3BackendFactory::new()
        .creating_missing(true)
        .open(&config(
            &unique("forge-nowhere"),
            "k",
            &[(
                "endpoints",
                Value::object([("s3", s("http://127.0.0.1:9"))]),
            )],
        ))
        .await
        .expect("opening does not wait for the bucket check");
    let err = nowhere.read().await.expect_err("nothing listens on port 9");
    assert!(err.to_string().contains("endpoint"), "{err}");
}

#[tokio::test]
async fn bad_config_is_explained() {
    let err = S3BackendFactory::new()
        .creating_missing(true)
        .open(&Value::object([("key", s("k"))]))
        .await
        .err()
        .expect("no bucket");
    assert!(err.to_string().contains("config.bucket"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Interop with real Terraform (the oracle: /work/shared/notes/terraform-as-oracle.md).

/// A Terraform working directory whose backend is the shared bucket and table.
struct Terraform {
    dir: tempfile::TempDir,
}

impl Terraform {
    async fn new(key: &str, body: &str) -> Terraform {
        let table = &shared_names().1;
        Terraform::with_locking(key, &format!("dynamodb_table = \"{table}\""), body).await
    }

    /// `locking` is the backend's lock setting (`dynamodb_table = ...`, `use_lockfile = true`).
    async fn with_locking(key: &str, locking: &str, body: &str) -> Terraform {
        require_emulators();
        let bucket = &shared_names().0;
        // The shared bucket and table exist once a backend has been opened.
        backend_for(key).await;
        let s3_url = std::env::var("AWS_ENDPOINT_URL").expect("checked above");
        let ddb_url = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("checked above");
        let dir = tempfile::tempdir().expect("temp dir");
        let main = format!(
            r#"terraform {{
  backend "s3" {{
    bucket                      = "{bucket}"
    key                         = "{key}"
    region                      = "{REGION}"
    {locking}
    use_path_style              = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    endpoints = {{
      s3       = "{s3_url}"
      dynamodb = "{ddb_url}"
    }}
  }}
}}

{body}
"#
        );
        std::fs::write(dir.path().join("main.tf"), main).expect("write main.tf");
        let tf = Terraform { dir };
        let out = tf.run(&["init", "-input=false", "-no-color"]).await;
        assert!(
            out.status.success(),
            "terraform init failed:\n{}",
            text(&out)
        );
        tf
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("terraform");
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("TF_CLI_CONFIG_FILE", "")
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .kill_on_drop(true);
        cmd
    }

    async fn run(&self, args: &[&str]) -> std::process::Output {
        match self.command(args).output().await {
            Ok(out) => out,
            Err(e) => panic!(
                "could not run `terraform {}`: {e}. These tests need Terraform 1.11 on PATH (the oracle); install it, do not skip them.",
                args.join(" ")
            ),
        }
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn wait_for_lock_item(table: &str, lock_id: &str, limit: Duration) -> String {
    let started = Instant::now();
    loop {
        if let Some(info) = table_item(table, lock_id, "Info").await {
            return info;
        }
        assert!(
            started.elapsed() < limit,
            "no lock item {lock_id} appeared within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn terraform_holds_the_lock_and_forge_is_refused() {
    let key = format!("{}/terraform.tfstate", unique("tf-holds"));
    let (bucket, table) = shared_names();
    let tf = Terraform::new(
        &key,
        r#"resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 8"
  }
}"#,
    )
    .await;
    let apply = tf
        .command(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start terraform apply");
    let lock_id = format!("{bucket}/{key}");
    let raw = wait_for_lock_item(table, &lock_id, Duration::from_secs(60)).await;
    let terraform_lock: serde_json::Value =
        serde_json::from_str(&raw).expect("Terraform's Info is JSON");

    let backend = backend_for(&key).await;
    let holder = locked(
        backend
            .lock(&lock_info(&uuid::Uuid::new_v4().to_string(), "forge@test"))
            .await,
    );
    assert_eq!(holder.id, terraform_lock["ID"].as_str().expect("ID"));
    assert!(!holder.id.is_empty());
    assert_eq!(holder.operation, "OperationTypeApply");
    assert_eq!(holder.version, "1.11.4");
    assert_eq!(holder.who, terraform_lock["Who"].as_str().expect("Who"));
    assert!(
        holder.who.contains('@'),
        "Terraform's Who is user@host: {}",
        holder.who
    );
    assert_eq!(holder.path, lock_id);
    assert!(
        chrono::DateTime::parse_from_rfc3339(&holder.created).is_ok(),
        "Created: {}",
        holder.created
    );
    assert_eq!(backend.lock_holder().await.expect("holder"), Some(holder));

    let out = apply.wait_with_output().await.expect("terraform apply");
    assert!(
        out.status.success(),
        "terraform apply failed:\n{}",
        text(&out)
    );
    assert_eq!(
        table_item(table, &lock_id, "Info").await,
        None,
        "Terraform released its lock"
    );
    // And forge can take it now.
    let info = lock_info("after-terraform", "forge@test");
    backend.lock(&info).await.expect("lock after Terraform");
    backend.unlock(&info.id, false).await.expect("unlock");
}

#[tokio::test]
async fn forge_holds_the_lock_and_terraform_is_refused() {
    let key = format!("{}/terraform.tfstate", unique("forge-holds"));
    let (bucket, table) = shared_names();
    let tf = Terraform::new(&key, r#"resource "terraform_data" "x" { input = "v1" }"#).await;
    let backend = backend_for(&key).await;
    let ours = lock_info(&uuid::Uuid::new_v4().to_string(), "forge@test");
    backend.lock(&ours).await.expect("lock");

    let out = tf
        .run(&["plan", "-input=false", "-no-color", "-lock-timeout=0s"])
        .await;
    let shown = text(&out);
    assert!(
        !out.status.success(),
        "terraform plan must fail while forge holds the lock:\n{shown}"
    );
    assert!(shown.contains("Error acquiring the state lock"), "{shown}");
    assert!(
        shown.contains(&ours.id),
        "Terraform shows our lock ID:\n{shown}"
    );
    assert!(
        shown.contains("forge@test") && shown.contains("OperationTypeApply"),
        "{shown}"
    );

    backend.unlock(&ours.id, false).await.expect("unlock");
    assert_eq!(
        table_item(table, &format!("{bucket}/{key}"), "Info").await,
        None
    );
    let out = tf
        .run(&["plan", "-input=false", "-no-color", "-lock-timeout=0s"])
        .await;
    assert!(
        out.status.success(),
        "terraform plan after release:\n{}",
        text(&out)
    );
    assert_eq!(
        table_item(table, &format!("{bucket}/{key}"), "Info").await,
        None,
        "no lock item left behind"
    );
}

#[tokio::test]
async fn terraform_state_is_read_and_forge_writes_are_accepted_by_terraform() {
    let key = format!("{}/terraform.tfstate", unique("tf-state"));
    let (bucket, table) = shared_names();
    let tf = Terraform::new(
        &key,
        r#"resource "terraform_data" "x" { input = "v1" }

output "greeting" { value = "hello from terraform" }"#,
    )
    .await;
    let out = tf
        .run(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .await;
    assert!(
        out.status.success(),
        "terraform apply failed:\n{}",
        text(&out)
    );

    let backend = backend_for(&key).await;
    let read = backend
        .read()
        .await
        .expect("read")
        .expect("Terraform's state");
    let (bytes, etag) = object(bucket, &key).await.expect("object");
    assert_eq!(read.bytes, bytes, "exact bytes of Terraform's state");
    assert_eq!(read.version, etag, "the version is the ETag");
    let digest = table_item(table, &format!("{bucket}/{key}-md5"), "Digest")
        .await
        .expect("Terraform's digest item");
    assert_eq!(digest, md5_hex(&read.bytes));

    let mut state: serde_json::Value = serde_json::from_slice(&read.bytes).expect("state JSON");
    assert_eq!(state["version"], 4);
    let serial = state["serial"].as_u64().expect("serial");
    let lineage = state["lineage"].as_str().expect("lineage").to_string();
    assert_eq!(state["resources"][0]["type"], "terraform_data");
    state["serial"] = serde_json::json!(serial + 1);
    state["outputs"]["greeting"]["value"] = serde_json::json!("hello from forge");
    let mut modified = serde_json::to_vec_pretty(&state).expect("JSON");
    modified.push(b'\n');
    backend
        .write(&modified, Some(&read.version))
        .await
        .expect("write over Terraform's state");

    let out = tf.run(&["state", "pull"]).await;
    assert!(
        out.status.success(),
        "terraform state pull failed (digest mismatch?):\n{}",
        text(&out)
    );
    let pulled: serde_json::Value = serde_json::from_slice(&out.stdout).expect("pulled state");
    assert_eq!(pulled["serial"].as_u64(), Some(serial + 1));
    assert_eq!(pulled["lineage"].as_str(), Some(lineage.as_str()));
    let out = tf.run(&["output", "-raw", "greeting"]).await;
    assert!(
        out.status.success(),
        "terraform output failed:\n{}",
        text(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from forge");
}

#[tokio::test]
async fn lockfile_locks_exclude_terraform_and_forge_both_ways() {
    let key = format!("{}/terraform.tfstate", unique("tf-lockfile"));
    let bucket = &shared_names().0;
    let tf = Terraform::with_locking(
        &key,
        "use_lockfile = true",
        r#"resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 6"
  }
}"#,
    )
    .await;
    let backend = S3BackendFactory::new()
        .creating_missing(true)
        .open_s3(&config(
            bucket,
            &key,
            &[("use_lockfile", Value::Bool(true))],
        ))
        .await
        .expect("open");

    // forge holds the .tflock: Terraform is refused and names us.
    let ours = lock_info(&uuid::Uuid::new_v4().to_string(), "forge@test");
    backend.lock(&ours).await.expect("lock");
    let out = tf
        .run(&["plan", "-input=false", "-no-color", "-lock-timeout=0s"])
        .await;
    let shown = text(&out);
    assert!(
        !out.status.success() && shown.contains("Error acquiring the state lock"),
        "{shown}"
    );
    assert!(
        shown.contains(&ours.id),
        "Terraform shows our lock ID:\n{shown}"
    );
    backend.unlock(&ours.id, false).await.expect("unlock");

    // Terraform holds the .tflock: forge is refused and names Terraform.
    let apply = tf
        .command(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start terraform apply");
    let started = Instant::now();
    let lockfile = loop {
        if let Some((body, _)) = object(bucket, &format!("{key}.tflock")).await {
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Terraform's .tflock never appeared"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let terraform_lock: serde_json::Value =
        serde_json::from_slice(&lockfile).expect("Terraform's lock JSON");
    let holder = locked(backend.lock(&lock_info("forge-second", "forge@test")).await);
    assert_eq!(holder.id, terraform_lock["ID"].as_str().expect("ID"));
    assert_eq!(holder.operation, "OperationTypeApply");
    assert_eq!(holder.version, "1.11.4");
    let out = apply.wait_with_output().await.expect("terraform apply");
    assert!(
        out.status.success(),
        "terraform apply failed:\n{}",
        text(&out)
    );
    assert_eq!(
        object(bucket, &format!("{key}.tflock")).await,
        None,
        "Terraform removed its .tflock"
    );
}

#[tokio::test]
async fn lock_of_a_killed_terraform_is_force_unlocked_by_forge() {
    let key = format!("{}/terraform.tfstate", unique("tf-killed"));
    let (bucket, table) = shared_names();
    let tf = Terraform::new(
        &key,
        r#"resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 8"
  }
}"#,
    )
    .await;
    let mut apply = tf
        .command(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start terraform apply");
    let lock_id = format!("{bucket}/{key}");
    let raw = wait_for_lock_item(table, &lock_id, Duration::from_secs(60)).await;
    let terraform_id = serde_json::from_str::<serde_json::Value>(&raw).expect("JSON")["ID"]
        .as_str()
        .expect("ID")
        .to_string();
    // SIGKILL: Terraform gets no chance to release its lock.
    apply.kill().await.expect("kill terraform");
    assert!(
        table_item(table, &lock_id, "Info").await.is_some(),
        "the killed run's lock stays"
    );

    let backend = backend_for(&key).await;
    let ours = lock_info("after-kill", "forge@test");
    assert_eq!(locked(backend.lock(&ours).await).id, terraform_id);
    backend
        .unlock(&terraform_id, true)
        .await
        .expect("force unlock");
    backend
        .lock(&ours)
        .await
        .expect("lock once the dead lock is gone");
    backend.unlock(&ours.id, false).await.expect("unlock");
    assert_eq!(table_item(table, &lock_id, "Info").await, None);
}

#[tokio::test]
async fn terraform_force_unlock_releases_a_forge_lock() {
    let key = format!("{}/terraform.tfstate", unique("tf-force"));
    let (bucket, table) = shared_names();
    let tf = Terraform::new(&key, r#"resource "terraform_data" "x" { input = "v1" }"#).await;
    let backend = backend_for(&key).await;
    let ours = lock_info(&uuid::Uuid::new_v4().to_string(), "forge@test");
    backend.lock(&ours).await.expect("lock");
    // Terraform's force-unlock compares the ID it is given with the stored Info's ID.
    let out = tf
        .run(&["force-unlock", "-force", "-no-color", &ours.id])
        .await;
    assert!(
        out.status.success(),
        "terraform force-unlock of our lock failed:\n{}",
        text(&out)
    );
    assert_eq!(
        table_item(table, &format!("{bucket}/{key}"), "Info").await,
        None
    );
    assert_eq!(backend.lock_holder().await.expect("holder"), None);
}

#[tokio::test]
async fn existing_unversioned_bucket_is_used_with_a_warning() {
    require_emulators();
    let bucket = unique("forge-plain");
    s3().await
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    let factory = S3BackendFactory::new().creating_missing(true);
    let backend = factory
        .open(&config(&bucket, "k/terraform.tfstate", &[]))
        .await
        .expect("open");
    // Without a lock table or lock file there is nothing to lock, as in Terraform.
    backend
        .lock(&lock_info("no-locking", "me@host"))
        .await
        .expect("lock is a no-op");
    assert_eq!(backend.read().await.expect("read"), None);
    // The bucket check has finished by the time the read returns: its warning is there.
    let notices = factory.take_notices();
    assert!(
        notices.iter().all(|n| !n.starts_with("created")),
        "an existing bucket is not created: {notices:?}"
    );
    assert!(
        notices
            .iter()
            .any(|n| n.contains("versioning is off") && n.contains(&bucket)),
        "the user is told the bucket keeps no history: {notices:?}"
    );
    assert_eq!(backend.lock_holder().await.expect("holder"), None);
    backend.write(b"{}", None).await.expect("write");
    assert_eq!(
        backend.read().await.expect("read").map(|s| s.bytes),
        Some(b"{}".to_vec())
    );
}

#[tokio::test]
async fn customer_key_encryption_round_trip() {
    require_emulators();
    let key = format!("{}/terraform.tfstate", unique("sse-c"));
    let bucket = &shared_names().0;
    // A fixed 256-bit test key (base64 of 32 bytes 0x01..0x20); not a secret of anything.
    let customer_key = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    let backend = S3BackendFactory::new()
        .creating_missing(true)
        .open_s3(&config(
            bucket,
            &key,
            &[("sse_customer_key", s(customer_key).sensitive())],
        ))
        .await
        .expect("open");
    let bytes = state_json(1, "sse-c");
    let version = backend.write(&bytes, None).await.expect("write");
    let read = backend.read().await.expect("read").expect("state");
    assert_eq!((read.bytes, read.version), (bytes, version));
    let head = s3()
        .await
        .head_object()
        .bucket(bucket)
        .key(&key)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(customer_key)
        .sse_customer_key_md5(base64_md5_of_key(customer_key))
        .send()
        .await
        .expect("HeadObject with the key");
    assert_eq!(head.sse_customer_algorithm(), Some("AES256"));
}

fn base64_md5_of_key(key_b64: &str) -> String {
    use base64::Engine;
    use md5::Digest;
    let engine = base64::engine::general_purpose::STANDARD;
    engine.encode(md5::Md5::digest(engine.decode(key_b64).expect("base64")))
}

/// Bucket names visible to a client (LocalStack keeps buckets per account).
async fn bucket_names(client: &aws_sdk_s3::Client) -> Vec<String> {
    let out = client.list_buckets().send().await.expect("ListBuckets");
    out.buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn assume_role_is_used_for_the_state_bucket() {
    require_emulators();
    let bucket = unique("forge-role");
    let role_arn = "arn:aws:iam::111111111111:role/state-writer";
    let factory = S3BackendFactory::new().creating_missing(true);
    let backend = factory
        .open(&config(
            &bucket,
            "role/terraform.tfstate",
            &[(
                "assume_role",
                Value::object([
                    ("role_arn", s(role_arn)),
                    ("session_name", s("forge-test")),
                    ("duration", s("15m")),
                ]),
            )],
        ))
        .await
        .expect("open with an assumed role");
    backend.write(b"{}", None).await.expect("write as the role");

    // LocalStack files what the role creates under the role's account, not ours.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .load()
        .await;
    let role_provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .configure(&sdk)
        .session_name("check")
        .build()
        .await;
    let as_role = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .credentials_provider(role_provider)
            .force_path_style(true)
            .build(),
    );
    assert!(
        bucket_names(&as_role).await.contains(&bucket),
        "the bucket belongs to the role's account"
    );
    assert!(
        !bucket_names(&s3().await).await.contains(&bucket),
        "not to the caller's own account"
    );

    // The role is assumed through the STS endpoint the config names.
    let err = S3BackendFactory::new()
        .creating_missing(true)
        .open(&config(
            &unique("forge-role"),
            "k",
            &[
                ("role_arn", s(role_arn)),
                (
                    "endpoints",
                    Value::object([("sts", s("http://127.0.0.1:9"))]),
                ),
            ],
        ))
        .await
        .err()
        .expect("STS is unreachable on port 9");
    let m = err.to_string();
    assert!(
        m.contains("could not assume the role")
            && m.contains(role_arn)
            && m.contains("config.endpoints.sts"),
        "{m}"
    );
}

#[tokio::test]
async fn kms_key_encrypts_the_new_bucket_and_every_write() {
    require_emulators();
    let bucket = unique("forge-kms");
    let table = &shared_names().1;
    // LocalStack takes any well-formed key ARN for S3; real AWS needs the key to exist.
    let kms_key = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555";
    let key = "kms/terraform.tfstate";
    let factory = S3BackendFactory::new().creating_missing(true);
    let backend = factory
        .open(&config(
            &bucket,
            key,
            &[
                ("encrypt", Value::Bool(true)),
                ("kms_key_id", s(kms_key)),
                ("dynamodb_table", s(table)),
            ],
        ))
        .await
        .expect("open");
    let bytes = state_json(1, "kms");
    // The first write waits for the bucket bootstrap, so its notice is there after it.
    backend.write(&bytes, None).await.expect("write");
    let notices = factory.take_notices();
    assert!(
        notices
            .iter()
            .any(|n| n.contains(&bucket) && n.contains("aws:kms") && n.contains(kms_key)),
        "{notices:?}"
    );

    let s3 = s3().await;
    let encryption = s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .expect("encryption");
    let default = encryption
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .expect("a default encryption rule");
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(default.kms_master_key_id(), Some(kms_key));

    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(
        head.server_side_encryption().map(|e| e.as_str()),
        Some("aws:kms")
    );
    assert_eq!(head.ssekms_key_id(), Some(kms_key));
    // The digest is the md5 of the bytes even where the ETag is not.
    let digest = table_item(table, &format!("{bucket}/{key}-md5"), "Digest")
        .await
        .expect("digest");
    assert_eq!(digest, md5_hex(&bytes));
    assert_eq!(
        backend.read().await.expect("read").map(|s| s.bytes),
        Some(bytes)
    );
}

#[tokio::test]
async fn an_error_of_the_bucket_check_wins_over_the_read() {
    require_emulators();
    let bucket = unique("forge-bad-tags");
    let table = &shared_names().1;
    let key = "bad-tags/terraform.tfstate";
    // S3 refuses tags in the aws: namespace: the bootstrap creates the bucket, then fails
    // to tag it, after opening has returned.
    let backend = S3BackendFactory::new()
        .creating_missing(true)
        .open(&config(
            &bucket,
            key,
            &[
                ("dynamodb_table", s(table)),
                (
                    "s3_bucket_tags",
                    Value::object([("aws:team", s("platform"))]),
                ),
            ],
        ))
        .await
        .expect("opening does not wait for the bucket check");
    // The lock is in the table, which is fine: taken without waiting for the bucket.
    backend
        .lock(&lock_info("bad-tags", "me@host"))
        .await
        .expect("lock");
    // The GetObject itself may well succeed (no state yet); the check's error wins.
    let err = backend.read().await.expect_err("the bucket check failed");
    let m = err.to_string();
    assert!(
        m.contains(&format!("could not tag the state bucket {bucket}"))
            && m.contains("System tags"),
        "{m}"
    );
    let err = backend
        .write(b"{}", None)
        .await
        .expect_err("nor may the state be written");
    assert!(
        err.to_string()
            .contains(&format!("could not tag the state bucket {bucket}")),
        "{err}"
    );
    assert_eq!(object(&bucket, key).await, None, "nothing was written");
    // The lock taken before the check failed is still released.
    backend.unlock("bad-tags", false).await.expect("unlock");
    assert_eq!(
        table_item(table, &format!("{bucket}/{key}"), "Info").await,
        None
    );
}

#[tokio::test]
async fn lockfile_on_a_new_bucket_is_written_once_the_bootstrap_made_it() {
    require_emulators();
    let bucket = unique("forge-new-lockfile");
    let key = "lockfile/terraform.tfstate";
    let factory = S3BackendFactory::new().creating_missing(true);
    let backend = factory
        .open(&config(
            &bucket,
            key,
            &[("use_lockfile", Value::Bool(true))],
        ))
        .await
        .expect("open");
    // The lock object goes out before the bucket exists; it is written again once the
    // bucket check has made the bucket.
    backend
        .lock(&lock_info("new-lockfile", "me@host"))
        .await
        .expect("lock");
    let (body, _) = object(&bucket, &format!("{key}.tflock"))
        .await
        .expect("the .tflock object");
    let json: serde_json::Value = serde_json::from_slice(&body).expect("lock JSON");
    assert_eq!(json["ID"], "new-lockfile");
    assert_eq!(backend.read().await.expect("read"), None);
    let notices = factory.take_notices();
    assert_eq!(
        notices
            .iter()
            .filter(|n| n.starts_with(&format!("created the state bucket {bucket}")))
            .count(),
        1,
        "{notices:?}"
    );
    backend.unlock("new-lockfile", false).await.expect("unlock");
    assert_eq!(object(&bucket, &format!("{key}.tflock")).await, None);
}

/// Every state-bucket request carries the caller's account as ExpectedBucketOwner, and
/// S3's refusal of a bucket of another account (403 AccessDenied) is an error naming it.
/// LocalStack ignores the header (measured: any ExpectedBucketOwner is accepted), so S3 is
/// a local stand-in here that records the header and refuses as S3 does; the caller's
/// account comes from the emulators' STS.
#[tokio::test]
async fn every_state_bucket_request_names_the_callers_account_and_a_refusal_says_so() {
    use std::io::{BufRead, BufReader, Read, Write};
    require_emulators();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    /// Each request's line and its ExpectedBucketOwner header.
    type Seen = std::sync::Mutex<Vec<(String, Option<String>)>>;
    let seen: Arc<Seen> = Default::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let (mut owner, mut length) = (None, 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap_or((&line, ""));
                let value = value.trim().to_string();
                match name.to_ascii_lowercase().as_str() {
                    "x-amz-expected-bucket-owner" => owner = Some(value),
                    "content-length" => length = value.parse().unwrap_or(0),
                    _ => {}
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            record
                .lock()
                .expect("record")
                .push((request_line.trim().to_string(), owner));
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
            let _ = write!(
                stream,
                "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            );
        }
    });
    let bucket = unique("someone-elses");
    let factory = S3BackendFactory::new();
    let cfg = config(
        &bucket,
        "k/terraform.tfstate",
        &[(
            "endpoints",
            Value::object(vec![("s3", s(&format!("http://{addr}")))]),
        )],
    );
    let backend = factory.open(&cfg).await.expect("open");
    let err = backend
        .read()
        .await
        .expect_err("another account's bucket was read");
    let text = err.to_string();
    assert!(
        text.contains("000000000000") && text.contains("ExpectedBucketOwner"),
        "{text}"
    );
    let seen = seen.lock().expect("seen").clone();
    assert!(!seen.is_empty(), "no request reached S3");
    assert!(
        seen.iter()
            .all(|(_, owner)| owner.as_deref() == Some("000000000000")),
        "a request without the caller's account: {seen:?}"
    );
}
