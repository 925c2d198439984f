//! The S3 resource types against LocalStack: create, read back, a second plan that
//! changes nothing, a change made outside forge that read reports, the repairing update,
//! import, delete and read -> None; and a notification that really delivers an
//! object-created message to an SQS queue.

// Tests may unwrap: a panic there is a test failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../testkit/emulator_kit.rs"]
mod kit;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, NotificationConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use forge_aws_common::AwsContext;
use forge_aws_s3::bucket::BucketResource;
use forge_aws_s3::bucket_encryption::BucketEncryptionResource;
use forge_aws_s3::bucket_notification::BucketNotificationResource;
use forge_aws_s3::bucket_policy::BucketPolicyResource;
use forge_aws_s3::bucket_versioning::BucketVersioningResource;
use forge_aws_s3::public_access_block::PublicAccessBlockResource;
use forge_aws_sqs::queue::QueueResource;
use forge_aws_sqs::queue_policy::QueuePolicyResource;
use forge_provider::{ResourceType, Value};
use kit::*;

fn s3(ctx: &AwsContext) -> aws_sdk_s3::Client {
    forge_aws_s3::common::client(ctx)
}

/// A bucket for a sub-resource test, destroyed with everything in it by `drop_bucket`.
async fn scratch_bucket(ctx: &Arc<AwsContext>) -> (BucketResource, Value) {
    let rt = BucketResource::new(ctx.clone());
    let cfg = config(
        rt.schema(),
        vec![
            ("bucket", s(&unique("forge-t"))),
            ("force_destroy", Value::Bool(true)),
        ],
    );
    let state = create(&rt, &cfg).await;
    (rt, state)
}

async fn drop_bucket(rt: &BucketResource, state: &Value) {
    rt.delete(state).await.expect("delete scratch bucket");
}

async fn put_object(ctx: &AwsContext, bucket: &str, key: &str) {
    let body = ByteStream::from(b"id,name\n1,forge\n".to_vec());
    s3(ctx)
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body)
        .send()
        .await
        .expect("put object");
}

#[tokio::test]
async fn bucket_full_lifecycle() {
    let ctx = context().await;
    let rt = BucketResource::new(ctx.clone());
    let name = unique("forge-b");
    let cfg = config(
        rt.schema(),
        vec![
            ("bucket", s(&name)),
            ("tags", tags(&[("Component", "s3-storage")])),
        ],
    );
    let plan = rt.plan(None, &cfg).expect("plan");
    assert_eq!(
        plan.planned.str_attr("arn"),
        Some(format!("arn:aws:s3:::{name}").as_str()),
        "arn known at plan time"
    );
    assert_eq!(plan.planned.get("force_destroy"), Some(&Value::Bool(false)));
    let state = rt.create(&plan.planned).await.expect("create");
    assert_matches_config(&state, &cfg);
    assert_eq!(state.str_attr("id"), Some(name.as_str()));
    assert_eq!(state.str_attr("region"), Some("us-east-1"));
    assert_eq!(
        state.str_attr("bucket_domain_name"),
        Some(format!("{name}.s3.amazonaws.com").as_str())
    );
    assert_eq!(
        state.str_attr("bucket_regional_domain_name"),
        Some(format!("{name}.s3.us-east-1.amazonaws.com").as_str())
    );
    assert_eq!(state.str_attr("hosted_zone_id"), Some("Z3AQBSTGFYJSTF"));
    assert_eq!(state.get("object_lock_enabled"), Some(&Value::Bool(false)));
    // What the plan knew holds; the settings the provider reads back from the bucket
    // (acl, grant, versioning, ...) are known only after the create.
    for (name, planned) in plan.planned.as_map().into_iter().flatten() {
        if planned.is_wholly_known() {
            assert!(
                state.get(name).is_some_and(|got| got.same_as(planned)),
                "the plan predicted {name} = {planned:?}, the state has {:?}",
                state.get(name)
            );
        }
    }

    let live = read(&rt, &state).await;
    assert!(
        live.same_as(&state),
        "read differs from create:\n{live:?}\n{state:?}"
    );
    assert_no_op(&rt, &live, &cfg);
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));

    let tagging = Tagging::builder()
        .tag_set(
            Tag::builder()
                .key("Component")
                .value("changed")
                .build()
                .unwrap(),
        )
        .tag_set(
            Tag::builder()
                .key("Owner")
                .value("someone")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    s3(&ctx)
        .put_bucket_tagging()
        .bucket(&name)
        .tagging(tagging)
        .send()
        .await
        .expect("outside tag change");
    let drifted = read(&rt, &live).await;
    assert!(
        drifted
            .get("tags")
            .unwrap()
            .same_as(&tags(&[("Component", "changed"), ("Owner", "someone")]))
    );
    assert_plan_changes(&rt, &drifted, &cfg);
    let repaired = update(&rt, &drifted, &cfg).await;
    let reread = read(&rt, &repaired).await;
    assert_stored_state_plans_no_op(&rt, &reread, &cfg).await;
    assert_matches_config(&reread, &cfg);
    assert_no_op(&rt, &reread, &cfg);

    let imported = rt.import(&name).await.expect("import").expect("found");
    assert!(
        imported.same_as(&reread),
        "import differs:\n{imported:?}\n{reread:?}"
    );

    // A tag removed from the configuration is removed from the bucket.
    let untagged = config(rt.schema(), vec![("bucket", s(&name))]);
    let updated = update(&rt, &reread, &untagged).await;
    assert!(
        read(&rt, &updated)
            .await
            .get("tags_all")
            .unwrap()
            .same_as(&tags(&[]))
    );

    rt.delete(&updated).await.expect("delete");
    assert_eq!(rt.read(&updated).await.expect("read after delete"), None);
    rt.delete(&updated).await.expect("deleting twice succeeds");
}

#[tokio::test]
async fn force_destroy_removes_every_version_and_delete_marker() {
    let ctx = context().await;
    let (rt, state) = scratch_bucket(&ctx).await;
    let bucket = state.str_attr("id").unwrap().to_string();
    let conf = VersioningConfiguration::builder()
        .status(BucketVersioningStatus::Enabled)
        .build();
    s3(&ctx)
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(conf)
        .send()
        .await
        .expect("versioning");
    for i in 0..3 {
        put_object(&ctx, &bucket, "uploads/a.csv").await;
        put_object(&ctx, &bucket, &format!("uploads/b{i}.csv")).await;
    }
    s3(&ctx)
        .delete_object()
        .bucket(&bucket)
        .key("uploads/a.csv")
        .send()
        .await
        .expect("delete marker");
    let versions = s3(&ctx)
        .list_object_versions()
        .bucket(&bucket)
        .send()
        .await
        .expect("list versions");
    assert!(versions.versions().len() >= 6 && !versions.delete_markers().is_empty());
    drop_bucket(&rt, &state).await;
    assert_eq!(rt.read(&state).await.expect("read after delete"), None);
}

#[tokio::test]
async fn non_empty_bucket_without_force_destroy_fails_with_a_hint() {
    let ctx = context().await;
    let rt = BucketResource::new(ctx.clone());
    let name = unique("forge-full");
    let state = create(&rt, &config(rt.schema(), vec![("bucket", s(&name))])).await;
    put_object(&ctx, &name, "keep.txt").await;
    let err = rt
        .delete(&state)
        .await
        .expect_err("a bucket with objects is not deleted");
    assert_eq!(err.code.as_deref(), Some("BucketNotEmpty"), "{err}");
    assert!(
        err.hint.as_deref().unwrap_or("").contains("force_destroy"),
        "{err}"
    );
    assert!(
        rt.read(&state).await.expect("read").is_some(),
        "the bucket is still there"
    );

    // Setting force_destroy is an in-place change of state only; then delete works.
    let forced_cfg = config(
        rt.schema(),
        vec![("bucket", s(&name)), ("force_destroy", Value::Bool(true))],
    );
    let forced = update(&rt, &state, &forced_cfg).await;
    assert_eq!(forced.get("force_destroy"), Some(&Value::Bool(true)));
    rt.delete(&forced).await.expect("force destroy");
    assert_eq!(rt.read(&forced).await.expect("read"), None);
}

#[tokio::test]
async fn existing_bucket_is_not_adopted_and_bad_names_fail_at_plan() {
    let ctx = context().await;
    let (rt, state) = scratch_bucket(&ctx).await;
    let name = state.str_attr("id").unwrap();
    let again = config(rt.schema(), vec![("bucket", s(name))]);
    let plan = rt.plan(None, &again).expect("plan");
    let err = rt.create(&plan.planned).await.expect_err("bucket exists");
    assert!(
        err.hint.as_deref().unwrap_or("").contains("import"),
        "{err}"
    );

    let bad = config(rt.schema(), vec![("bucket", s("Forge_Files"))]);
    let err = rt.plan(None, &bad).expect_err("invalid name");
    assert!(
        err.message.contains("Forge_Files") && err.message.contains("lowercase"),
        "{err}"
    );
    drop_bucket(&rt, &state).await;
}

#[tokio::test]
async fn versioning_full_lifecycle() {
    let ctx = context().await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    let rt = BucketVersioningResource::new(ctx.clone());
    let inner = &rt.schema().blocks["versioning_configuration"].schema;
    let cfg = config(
        rt.schema(),
        vec![
            ("bucket", s(&bucket)),
            (
                "versioning_configuration",
                Value::List(vec![block(inner, vec![("status", s("Enabled"))])]),
            ),
        ],
    );
    let state = create(&rt, &cfg).await;
    assert_matches_config(&state, &cfg);
    let live = read(&rt, &state).await;
    assert_matches_config(&live, &cfg);
    assert_no_op(&rt, &live, &cfg);
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));

    let conf = VersioningConfiguration::builder()
        .status(BucketVersioningStatus::Suspended)
        .build();
    s3(&ctx)
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(conf)
        .send()
        .await
        .expect("outside");
    let drifted = read(&rt, &live).await;
    assert_eq!(
        drifted
            .get("versioning_configuration")
            .unwrap()
            .as_seq()
            .unwrap()[0]
            .str_attr("status"),
        Some("Suspended")
    );
    assert_plan_changes(&rt, &drifted, &cfg);
    let repaired = update(&rt, &drifted, &cfg).await;
    let reread = read(&rt, &repaired).await;
    assert_stored_state_plans_no_op(&rt, &reread, &cfg).await;
    assert_matches_config(&reread, &cfg);
    assert_no_op(&rt, &reread, &cfg);

    let imported = rt.import(&bucket).await.expect("import").expect("found");
    assert!(
        imported.same_as(&reread),
        "import differs:\n{imported:?}\n{reread:?}"
    );

    // Going back to Disabled is refused with a hint; destroying suspends.
    let disabled = config(
        rt.schema(),
        vec![
            ("bucket", s(&bucket)),
            (
                "versioning_configuration",
                Value::List(vec![block(inner, vec![("status", s("Disabled"))])]),
            ),
        ],
    );
    let plan = rt.plan(Some(&reread), &disabled).expect("plan");
    let err = rt
        .update(&reread, &plan.planned)
        .await
        .expect_err("Disabled after Enabled");
    assert!(
        err.hint.as_deref().unwrap_or("").contains("Suspended"),
        "{err}"
    );
    rt.delete(&reread).await.expect("delete");
    let after = s3(&ctx)
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .expect("get versioning");
    assert_eq!(after.status(), Some(&BucketVersioningStatus::Suspended));
    drop_bucket(&buckets, &bucket_state).await;
    assert_eq!(
        rt.read(&reread).await.expect("read with the bucket gone"),
        None
    );
    rt.delete(&reread)
        .await
        .expect("deleting with the bucket gone succeeds");
}

#[tokio::test]
async fn encryption_full_lifecycle() {
    let ctx = context().await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    let rt = BucketEncryptionResource::new(ctx.clone());
    let rule_schema = &rt.schema().blocks["rule"].schema;
    let default_schema = &rule_schema.blocks["apply_server_side_encryption_by_default"].schema;
    let by_default = block(default_schema, vec![("sse_algorithm", s("AES256"))]);
    let rule = block(
        rule_schema,
        vec![(
            "apply_server_side_encryption_by_default",
            Value::List(vec![by_default]),
        )],
    );
    let cfg = config(
        rt.schema(),
        vec![("bucket", s(&bucket)), ("rule", Value::List(vec![rule]))],
    );
    let state = create(&rt, &cfg).await;
    assert_matches_config(&state, &cfg);
    let live = read(&rt, &state).await;
    assert_matches_config(&live, &cfg);
    assert_no_op(&rt, &live, &cfg);
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));

    let kms = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::AwsKms)
                        .build()
                        .unwrap(),
                )
                .bucket_key_enabled(true)
                .build(),
        )
        .build()
        .unwrap();
    s3(&ctx)
        .put_bucket_encryption()
        .bucket(&bucket)
        .server_side_encryption_configuration(kms)
        .send()
        .await
        .expect("outside");
    let drifted = read(&rt, &live).await;
    let drifted_rule = &drifted.get("rule").unwrap().as_seq().unwrap()[0];
    assert_eq!(
        drifted_rule.get("bucket_key_enabled"),
        Some(&Value::Bool(true))
    );
    assert_plan_changes(&rt, &drifted, &cfg);
    let repaired = update(&rt, &drifted, &cfg).await;
    let reread = read(&rt, &repaired).await;
    assert_stored_state_plans_no_op(&rt, &reread, &cfg).await;
    assert_matches_config(&reread, &cfg);

    let imported = rt.import(&bucket).await.expect("import").expect("found");
    assert_matches_config(&imported, &cfg);

    rt.delete(&reread).await.expect("delete");
    // AWS (and LocalStack) fall back to SSE-S3 once the configuration is deleted; either
    // way nothing of ours (a KMS key, a bucket key) is left.
    match rt.read(&reread).await.expect("read after delete") {
        None => {}
        Some(v) => {
            let rule = &v.get("rule").unwrap().as_seq().unwrap()[0];
            let d = &rule
                .get("apply_server_side_encryption_by_default")
                .unwrap()
                .as_seq()
                .unwrap()[0];
            assert_eq!(d.str_attr("sse_algorithm"), Some("AES256"));
        }
    }
    drop_bucket(&buckets, &bucket_state).await;
    assert_eq!(
        rt.read(&reread).await.expect("read with the bucket gone"),
        None
    );
}

#[tokio::test]
async fn public_access_block_full_lifecycle() {
    let ctx = context().await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    let rt = PublicAccessBlockResource::new(ctx.clone());
    let on = Value::Bool(true);
    let cfg = config(
        rt.schema(),
        vec![
            ("bucket", s(&bucket)),
            ("block_public_acls", on.clone()),
            ("block_public_policy", on.clone()),
            ("ignore_public_acls", on.clone()),
            ("restrict_public_buckets", on.clone()),
        ],
    );
    let state = create(&rt, &cfg).await;
    assert_matches_config(&state, &cfg);
    let live = read(&rt, &state).await;
    assert_no_op(&rt, &live, &cfg);
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));

    let open = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .block_public_policy(false)
        .ignore_public_acls(true)
        .restrict_public_buckets(false)
        .build();
    s3(&ctx)
        .put_public_access_block()
        .bucket(&bucket)
        .public_access_block_configuration(open)
        .send()
        .await
        .expect("outside");
    let drifted = read(&rt, &live).await;
    assert_eq!(
        drifted.get("block_public_policy"),
        Some(&Value::Bool(false))
    );
    assert_plan_changes(&rt, &drifted, &cfg);
    let repaired = update(&rt, &drifted, &cfg).await;
    let reread = read(&rt, &repaired).await;
    assert_stored_state_plans_no_op(&rt, &reread, &cfg).await;
    assert_matches_config(&reread, &cfg);
    assert_no_op(&rt, &reread, &cfg);
    let imported = rt.import(&bucket).await.expect("import").expect("found");
    assert!(imported.same_as(&reread));

    // Unset switches plan as false, as in Terraform.
    let partial = config(
        rt.schema(),
        vec![("bucket", s(&bucket)), ("block_public_acls", on)],
    );
    let plan = rt.plan(Some(&reread), &partial).expect("plan");
    assert_eq!(
        plan.planned.get("restrict_public_buckets"),
        Some(&Value::Bool(false))
    );

    rt.delete(&reread).await.expect("delete");
    assert_eq!(rt.read(&reread).await.expect("read after delete"), None);
    drop_bucket(&buckets, &bucket_state).await;
}

fn deny_insecure(bucket: &str, sid: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]}}"#
    )
}

#[tokio::test]
async fn bucket_policy_full_lifecycle() {
    let ctx = context().await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    let rt = BucketPolicyResource::new(ctx.clone());
    let policy = deny_insecure(&bucket, "DenyInsecureTransport");
    let cfg = config(
        rt.schema(),
        vec![("bucket", s(&bucket)), ("policy", s(&policy))],
    );
    let state = create(&rt, &cfg).await;
    assert_matches_config(&state, &cfg);
    let live = read(&rt, &state).await;
    // The provider records the document compact with its keys sorted (what it reads
    // back, normalised), the same document as the configured one.
    let recorded = live.str_attr("policy").expect("a recorded policy");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(recorded).expect("JSON"),
        serde_json::from_str::<serde_json::Value>(&policy).expect("JSON"),
        "{recorded}"
    );
    assert!(
        !recorded.contains(": ") && !recorded.contains('\n'),
        "{recorded}"
    );
    assert_no_op(&rt, &live, &cfg);
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));

    let outside = deny_insecure(&bucket, "ChangedOutside");
    s3(&ctx)
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(&outside)
        .send()
        .await
        .expect("outside");
    let drifted = read(&rt, &live).await;
    assert!(
        drifted
            .str_attr("policy")
            .unwrap()
            .contains("ChangedOutside")
    );
    assert_plan_changes(&rt, &drifted, &cfg);
    let repaired = update(&rt, &drifted, &cfg).await;
    let reread = read(&rt, &repaired).await;
    assert_stored_state_plans_no_op(&rt, &reread, &cfg).await;
    assert!(forge_aws_common::policy::policies_equivalent(
        reread.str_attr("policy").expect("policy"),
        &policy
    ));
    assert_no_op(&rt, &reread, &cfg);
    let imported = rt.import(&bucket).await.expect("import").expect("found");
    assert!(forge_aws_common::policy::policies_equivalent(
        imported.str_attr("policy").unwrap(),
        &policy
    ));

    let broken = config(
        rt.schema(),
        vec![("bucket", s(&bucket)), ("policy", s("{\"Statement\": ["))],
    );
    let err = rt.plan(Some(&reread), &broken).expect_err("broken JSON");
    assert!(
        err.message.contains("policy") && err.message.contains("line 1"),
        "{err}"
    );

    rt.delete(&reread).await.expect("delete");
    assert_eq!(rt.read(&reread).await.expect("read after delete"), None);
    rt.delete(&reread).await.expect("deleting twice succeeds");
    drop_bucket(&buckets, &bucket_state).await;
}

/// A queue that S3 may send to, as the sqs-notifications unit builds it.
async fn notified_queue(ctx: &Arc<AwsContext>) -> (QueueResource, Value) {
    let queues = QueueResource::new(ctx.clone());
    let queue = create(
        &queues,
        &config(queues.schema(), vec![("name", s(&unique("forge-uploads")))]),
    )
    .await;
    let arn = queue.str_attr("arn").unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"AllowS3UploadEvents","Effect":"Allow","Principal":{{"Service":"s3.amazonaws.com"}},"Action":"sqs:SendMessage","Resource":"{arn}","Condition":{{"ArnLike":{{"aws:SourceArn":"arn:aws:s3:::forge-*"}}}}}}]}}"#
    );
    let policies = QueuePolicyResource::new(ctx.clone());
    let url = queue.str_attr("url").unwrap();
    create(
        &policies,
        &config(
            policies.schema(),
            vec![("queue_url", s(url)), ("policy", s(&policy))],
        ),
    )
    .await;
    (queues, queue)
}

/// Receives (and deletes) messages until one mentions `needle` or `wait` runs out;
/// returns every body received, so callers can also check what must not have arrived.
async fn receive_until(ctx: &AwsContext, url: &str, needle: &str, wait: Duration) -> Vec<String> {
    let sqs = forge_aws_sqs::common::client(ctx);
    let start = Instant::now();
    let mut bodies = Vec::new();
    while start.elapsed() < wait {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for m in out.messages() {
            bodies.push(m.body().unwrap_or_default().to_string());
            if let Some(handle) = m.receipt_handle() {
                let delete = sqs.delete_message().queue_url(url).receipt_handle(handle);
                delete.send().await.expect("delete message");
            }
        }
        if bodies.iter().any(|b| b.contains(needle)) {
            break;
        }
    }
    bodies
}

#[tokio::test]
async fn notification_full_lifecycle_and_delivery_to_sqs() {
    let ctx = context().await;
    let (queues, queue) = notified_queue(&ctx).await;
    let queue_arn = queue.str_attr("arn").unwrap().to_string();
    let queue_url = queue.str_attr("url").unwrap().to_string();
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();

    let rt = BucketNotificationResource::new(ctx.clone());
    let queue_schema = &rt.schema().blocks["queue"].schema;
    let queue_block = block(
        queue_schema,
        vec![
            ("id", s("csv-uploads")),
            ("queue_arn", s(&queue_arn)),
            ("events", Value::Set(vec![s("s3:ObjectCreated:*")])),
            ("filter_prefix", s("uploads/")),
            ("filter_suffix", s(".csv")),
        ],
    );
    let cfg = config(
        rt.schema(),
        vec![
            ("bucket", s(&bucket)),
            ("queue", Value::List(vec![queue_block])),
        ],
    );
    let state = create(&rt, &cfg).await;
    assert_matches_config(&state, &cfg);
    assert_eq!(state.str_attr("id"), Some(bucket.as_str()));
    let live = read(&rt, &state).await;
    assert_matches_config(&live, &cfg);
    assert_no_op(&rt, &live, &cfg);
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));

    // End to end: an upload under the prefix with the suffix is announced on the queue;
    // one that misses the filter is not.
    put_object(&ctx, &bucket, "other/skip.txt").await;
    put_object(&ctx, &bucket, "uploads/report.csv").await;
    let mut received = receive_until(
        &ctx,
        &queue_url,
        "uploads/report.csv",
        Duration::from_secs(10),
    )
    .await;
    let messages: Vec<&String> = received
        .iter()
        .filter(|b| b.contains("uploads/report.csv"))
        .collect();
    assert_eq!(
        messages.len(),
        1,
        "expected one object-created message, got {received:?}"
    );
    let event: serde_json::Value = serde_json::from_str(messages[0]).expect("the message is JSON");
    let record = &event["Records"][0];
    assert!(
        record["eventName"]
            .as_str()
            .unwrap_or("")
            .starts_with("ObjectCreated"),
        "{event}"
    );
    assert_eq!(
        record["s3"]["bucket"]["name"].as_str(),
        Some(bucket.as_str())
    );
    assert_eq!(
        record["s3"]["configurationId"].as_str(),
        Some("csv-uploads")
    );
    // Anything still on its way for the filtered-out key shows up within a second or two.
    received
        .extend(receive_until(&ctx, &queue_url, "other/skip.txt", Duration::from_secs(2)).await);
    assert!(
        !received.iter().any(|b| b.contains("other/skip.txt")),
        "a key outside the filter was announced: {received:?}"
    );

    // Emptied outside forge: drift (no queue blocks), not gone; the update puts it back.
    let empty = NotificationConfiguration::builder().build();
    s3(&ctx)
        .put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(empty)
        .send()
        .await
        .expect("outside");
    let drifted = rt
        .read(&live)
        .await
        .expect("read")
        .expect("an emptied configuration is not gone");
    assert_eq!(
        drifted
            .get("queue")
            .and_then(Value::as_seq)
            .map(<[Value]>::len),
        Some(0)
    );
    assert_plan_changes(&rt, &drifted, &cfg);
    let repaired = update(&rt, &drifted, &cfg).await;
    let reread = read(&rt, &repaired).await;
    assert_stored_state_plans_no_op(&rt, &reread, &cfg).await;
    assert_matches_config(&reread, &cfg);
    assert_no_op(&rt, &reread, &cfg);

    let imported = rt.import(&bucket).await.expect("import").expect("found");
    assert!(
        imported.same_as(&reread),
        "import differs:\n{imported:?}\n{reread:?}"
    );

    rt.delete(&reread).await.expect("delete");
    let after = rt
        .read(&reread)
        .await
        .expect("read after delete")
        .expect("bucket still there");
    assert_eq!(
        after
            .get("queue")
            .and_then(Value::as_seq)
            .map(<[Value]>::len),
        Some(0)
    );
    drop_bucket(&buckets, &bucket_state).await;
    assert_eq!(
        rt.read(&reread).await.expect("read with the bucket gone"),
        None
    );
    rt.delete(&reread)
        .await
        .expect("deleting with the bucket gone succeeds");
    queues.delete(&queue).await.expect("delete queue");
}

#[tokio::test]
async fn notifications_without_ids_keep_the_generated_ones_in_order() {
    let ctx = context().await;
    let (queues, queue) = notified_queue(&ctx).await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    let rt = BucketNotificationResource::new(ctx.clone());
    let queue_schema = &rt.schema().blocks["queue"].schema;
    let arn = queue.str_attr("arn").unwrap();
    // Two blocks without ids: S3 names them, and read keeps them in configuration order.
    let removed = block(
        queue_schema,
        vec![
            ("queue_arn", s(arn)),
            ("events", Value::Set(vec![s("s3:ObjectRemoved:*")])),
        ],
    );
    let put = block(
        queue_schema,
        vec![
            ("queue_arn", s(arn)),
            ("events", Value::Set(vec![s("s3:ObjectCreated:Put")])),
        ],
    );
    let cfg = config(
        rt.schema(),
        vec![
            ("bucket", s(&bucket)),
            ("queue", Value::List(vec![removed, put])),
        ],
    );
    let state = create(&rt, &cfg).await;
    assert_matches_config(&state, &cfg);
    for item in state.get("queue").unwrap().as_seq().unwrap() {
        assert!(
            item.str_attr("id").is_some_and(|i| !i.is_empty()),
            "S3 generates an id: {state:?}"
        );
    }
    let live = read(&rt, &state).await;
    assert_matches_config(&live, &cfg);
    assert_no_op(&rt, &live, &cfg);
    drop_bucket(&buckets, &bucket_state).await;
    queues.delete(&queue).await.expect("delete queue");
}

#[tokio::test]
async fn object_lock_is_set_at_creation_and_forces_replacement() {
    let ctx = context().await;
    let rt = BucketResource::new(ctx.clone());
    let name = unique("forge-lock");
    let cfg = config(
        rt.schema(),
        vec![
            ("bucket", s(&name)),
            ("object_lock_enabled", Value::Bool(true)),
            ("force_destroy", Value::Bool(true)),
        ],
    );
    let state = create(&rt, &cfg).await;
    assert_eq!(state.get("object_lock_enabled"), Some(&Value::Bool(true)));
    let live = read(&rt, &state).await;
    assert_no_op(&rt, &live, &cfg);
    let off = config(
        rt.schema(),
        vec![
            ("bucket", s(&name)),
            ("object_lock_enabled", Value::Bool(false)),
        ],
    );
    let plan = rt.plan(Some(&live), &off).expect("plan");
    assert!(
        plan.requires_replace
            .contains(&"object_lock_enabled".to_string()),
        "{:?}",
        plan.requires_replace
    );
    rt.delete(&live).await.expect("delete");
}

#[tokio::test]
async fn default_tags_reach_the_bucket_but_not_its_tags() {
    let ctx = context_with_default_tags(&[("Environment", "test"), ("ManagedBy", "forge")]).await;
    let rt = BucketResource::new(ctx.clone());
    let name = unique("forge-dt");
    let cfg = config(
        rt.schema(),
        vec![
            ("bucket", s(&name)),
            ("tags", tags(&[("Component", "s3-storage")])),
        ],
    );
    let plan = rt.plan(None, &cfg).expect("plan");
    let all = tags(&[
        ("Environment", "test"),
        ("ManagedBy", "forge"),
        ("Component", "s3-storage"),
    ]);
    assert!(plan.planned.get("tags_all").unwrap().same_as(&all));
    let state = rt.create(&plan.planned).await.expect("create");
    assert!(
        state
            .get("tags")
            .unwrap()
            .same_as(&tags(&[("Component", "s3-storage")])),
        "{state:?}"
    );
    assert!(state.get("tags_all").unwrap().same_as(&all));
    let live_tags = s3(&ctx)
        .get_bucket_tagging()
        .bucket(&name)
        .send()
        .await
        .expect("tags");
    assert_eq!(live_tags.tag_set().len(), 3);
    let live = read(&rt, &state).await;
    assert_no_op(&rt, &live, &cfg);
    rt.delete(&live).await.expect("delete");
}

#[tokio::test]
async fn bucket_data_source_finds_a_bucket_by_name() {
    use forge_aws_s3::bucket_data::BucketDataSource;
    use forge_provider::DataSourceType;
    let ctx = context().await;
    let (buckets, state) = scratch_bucket(&ctx).await;
    let name = state.str_attr("id").unwrap().to_string();
    let ds = BucketDataSource::new(ctx.clone());
    let found = ds
        .read(&config(ds.schema(), vec![("bucket", s(&name))]))
        .await
        .expect("data source");
    for attr in [
        "id",
        "arn",
        "bucket_domain_name",
        "bucket_regional_domain_name",
        "hosted_zone_id",
        "region",
    ] {
        assert_eq!(found.get(attr), state.get(attr), "{attr}");
    }
    drop_bucket(&buckets, &state).await;
    let err = ds
        .read(&config(ds.schema(), vec![("bucket", s(&name))]))
        .await
        .expect_err("bucket is gone");
    assert_eq!(err.code.as_deref(), Some("NoSuchBucket"), "{err}");
    assert!(err.message.contains(&name), "{err}");
}

#[tokio::test]
async fn bucket_prefix_generates_a_name_that_stays_put() {
    let ctx = context().await;
    let rt = BucketResource::new(ctx.clone());
    let prefix = format!("fpx-{}-", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let cfg = config(rt.schema(), vec![("bucket_prefix", s(&prefix))]);
    let plan = rt.plan(None, &cfg).expect("plan");
    assert!(
        plan.planned.get("bucket").unwrap().is_unknown(),
        "the name is known only after apply"
    );
    let state = rt.create(&plan.planned).await.expect("create");
    let name = state.str_attr("bucket").unwrap();
    assert!(name.starts_with(&prefix) && name.len() <= 63, "{name}");
    let live = read(&rt, &state).await;
    assert_no_op(&rt, &live, &cfg);
    rt.delete(&live).await.expect("delete");
}

#[tokio::test]
async fn sub_resources_of_a_missing_bucket_say_to_create_the_bucket_first() {
    let ctx = context().await;
    let missing = unique("forge-none");
    let policies = BucketPolicyResource::new(ctx.clone());
    let cfg = config(
        policies.schema(),
        vec![
            ("bucket", s(&missing)),
            ("policy", s(&deny_insecure(&missing, "X"))),
        ],
    );
    let err = policies
        .create(&policies.plan(None, &cfg).unwrap().planned)
        .await
        .expect_err("no bucket");
    assert_eq!(err.code.as_deref(), Some("NoSuchBucket"), "{err}");
    assert!(err.message.contains(&missing), "{err}");
    assert!(
        err.hint
            .as_deref()
            .unwrap_or("")
            .contains("aws_s3_bucket.<name>.id"),
        "{err}"
    );

    let versioning = BucketVersioningResource::new(ctx.clone());
    let inner = &versioning.schema().blocks["versioning_configuration"].schema;
    let cfg = config(
        versioning.schema(),
        vec![
            ("bucket", s(&missing)),
            (
                "versioning_configuration",
                Value::List(vec![block(inner, vec![("status", s("Enabled"))])]),
            ),
        ],
    );
    let err = versioning
        .create(&versioning.plan(None, &cfg).unwrap().planned)
        .await
        .expect_err("no bucket");
    assert_eq!(err.code.as_deref(), Some("NoSuchBucket"), "{err}");
    assert!(err.hint.is_some(), "{err}");

    let pab = PublicAccessBlockResource::new(ctx.clone());
    let cfg = config(pab.schema(), vec![("bucket", s(&missing))]);
    assert_eq!(
        pab.import(&missing)
            .await
            .expect("import of a missing bucket"),
        None
    );
    let err = pab
        .create(&pab.plan(None, &cfg).unwrap().planned)
        .await
        .expect_err("no bucket");
    assert_eq!(err.code.as_deref(), Some("NoSuchBucket"), "{err}");
}

/// A bucket name another account owns: AWS's code reaches the user with a hint to choose
/// another name (not to import it). The other account is LocalStack's account
/// 111111111111, which it derives from a 12-digit access key id.
#[tokio::test]
async fn bucket_name_taken_by_another_account_says_choose_another_name() {
    let ctx = context().await;
    let other_account = aws_sdk_s3::config::Builder::from(&ctx.sdk)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "111111111111",
            "test",
            None,
            None,
            "other-account",
        ))
        .force_path_style(true)
        .build();
    let other = aws_sdk_s3::Client::from_conf(other_account);
    let name = unique("forge-taken");
    other
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("the other account's bucket");

    let rt = BucketResource::new(ctx.clone());
    let plan = rt
        .plan(None, &config(rt.schema(), vec![("bucket", s(&name))]))
        .expect("plan");
    let err = rt
        .create(&plan.planned)
        .await
        .expect_err("the name is taken");
    assert_eq!(err.code.as_deref(), Some("BucketAlreadyExists"), "{err}");
    assert!(err.message.contains(&name), "{err}");
    let hint = err.hint.clone().unwrap_or_default();
    assert!(
        hint.contains("another name") && !hint.contains("import"),
        "{err}"
    );
    other
        .delete_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("clean up");
}

/// With an endpoint set, S3 is addressed path-style: `<bucket>.localhost` does not
/// resolve, so with virtual-hosted addressing every call below would fail on DNS.
#[tokio::test]
async fn an_endpoint_by_host_name_is_addressed_path_style() {
    require_emulators();
    let url = std::env::var("AWS_ENDPOINT_URL")
        .unwrap()
        .replace("127.0.0.1", "localhost");
    assert!(
        url.contains("://localhost"),
        "expected the emulator on 127.0.0.1 or localhost, got {url}"
    );
    let endpoints = Value::List(vec![Value::object([("s3", s(&url))])]);
    let ctx = context_with(vec![("endpoints", endpoints)]).await;
    let rt = BucketResource::new(ctx.clone());
    let name = unique("forge-path");
    let cfg = config(
        rt.schema(),
        vec![
            ("bucket", s(&name)),
            ("force_destroy", Value::Bool(true)),
            ("tags", tags(&[("Component", "path-style")])),
        ],
    );
    let cycle = Lifecycle::new(&rt, cfg).ignoring_on_import(&["force_destroy"]);
    let live = cycle.create().await;
    put_object(&ctx, &name, "uploads/a.csv").await;
    cycle.import(&name, &live).await;
    cycle.delete(&live).await;
}

fn ownership_rule(ownership: &str) -> Value {
    Value::List(vec![Value::object([("object_ownership", s(ownership))])])
}

#[tokio::test]
async fn ownership_controls_full_lifecycle() {
    use forge_aws_s3::bucket_ownership_controls::BucketOwnershipControlsResource;

    let ctx = context().await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    let rt = BucketOwnershipControlsResource::new(ctx.clone());
    let cfg = config(
        rt.schema(),
        vec![
            ("bucket", s(&bucket)),
            ("rule", ownership_rule("BucketOwnerEnforced")),
        ],
    );
    let cycle = Lifecycle::new(&rt, cfg.clone());
    let live = cycle.create().await;
    assert_eq!(live.str_attr("id"), Some(bucket.as_str()));
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));
    // Another ownership is an update in place.
    let writer = config(
        rt.schema(),
        vec![
            ("bucket", s(&bucket)),
            ("rule", ownership_rule("ObjectWriter")),
        ],
    );
    let plan = rt.plan(Some(&live), &writer).expect("plan");
    assert!(plan.requires_replace.is_empty(), "{plan:?}");

    let client = s3(&ctx);
    let repaired = cycle
        .drift_and_repair(
            &live,
            async {
                let rule = aws_sdk_s3::types::OwnershipControlsRule::builder()
                    .object_ownership(aws_sdk_s3::types::ObjectOwnership::BucketOwnerPreferred)
                    .build()
                    .unwrap();
                client
                    .put_bucket_ownership_controls()
                    .bucket(&bucket)
                    .ownership_controls(
                        aws_sdk_s3::types::OwnershipControls::builder()
                            .rules(rule)
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .expect("outside change");
            },
            |drifted| {
                assert_eq!(
                    drifted.get("rule"),
                    Some(&ownership_rule("BucketOwnerPreferred"))
                )
            },
        )
        .await;
    cycle.import(&bucket, &repaired).await;

    // A create whose answer was lost finds the controls it put.
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now(),
    };
    let planned = rt.plan(None, &cfg).unwrap().planned;
    assert!(matches!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Found(_)
    ));
    let bad = config(
        rt.schema(),
        vec![("bucket", s(&bucket)), ("rule", ownership_rule("Owner"))],
    );
    let err = rt.plan(None, &bad).expect_err("unknown ownership refused");
    assert!(err.hint.unwrap_or_default().contains("BucketOwnerEnforced"));

    cycle.delete(&repaired).await;
    assert_eq!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Absent
    );
    drop_bucket(&buckets, &bucket_state).await;
    assert_eq!(rt.read(&repaired).await.unwrap(), None, "bucket gone");
    rt.delete(&repaired)
        .await
        .expect("deleting with the bucket gone succeeds");
}

/// A set of strings, as the engine hands a set argument to a provider.
fn string_set(xs: &[&str]) -> Value {
    Value::Set(Value::sort_set(xs.iter().map(|x| s(x)).collect()))
}

fn cors_rule(methods: &[&str], origins: &[&str], extra: Vec<(&str, Value)>) -> Value {
    let mut pairs = vec![
        ("allowed_methods", string_set(methods)),
        ("allowed_origins", string_set(origins)),
    ];
    pairs.extend(extra);
    Value::object(pairs)
}

#[tokio::test]
async fn cors_configuration_full_lifecycle() {
    use forge_aws_s3::bucket_cors_configuration::BucketCorsConfigurationResource;

    let ctx = context().await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    let rt = BucketCorsConfigurationResource::new(ctx.clone());
    // In Terraform's set order, as the engine hands a set of blocks over.
    let rules = Value::Set(Value::sort_set(vec![
        cors_rule(
            &["PUT", "POST"],
            &["https://app.example.com"],
            vec![
                ("allowed_headers", string_set(&["*"])),
                ("expose_headers", string_set(&["ETag"])),
                ("max_age_seconds", n(3000.0)),
            ],
        ),
        // Leaves out expose_headers and max_age_seconds (allowed_headers is given
        // empty only so that the configured rules sort as the recorded ones do).
        cors_rule(
            &["GET"],
            &["*"],
            vec![
                ("id", s("read-anywhere")),
                ("allowed_headers", string_set(&[])),
            ],
        ),
    ]));
    let cfg = config(
        rt.schema(),
        vec![("bucket", s(&bucket)), ("cors_rule", rules)],
    );
    let cycle = Lifecycle::new(&rt, cfg.clone());
    let live = cycle.create().await;
    assert_eq!(live.str_attr("id"), Some(bucket.as_str()));
    assert_eq!(live.str_attr("expected_bucket_owner"), Some(""));
    // The rule that leaves arguments out records the provider's empty values.
    let recorded = live.get("cors_rule").and_then(Value::as_seq).unwrap();
    assert_eq!(recorded.len(), 2);
    let get_rule = recorded
        .iter()
        .find(|r| r.str_attr("id") == Some("read-anywhere"))
        .expect("the GET rule");
    assert_eq!(get_rule.get("max_age_seconds"), Some(&n(0.0)));
    assert_eq!(get_rule.get("expose_headers"), Some(&Value::Set(vec![])));
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));
    // The rules in another order are the same set: no change.
    let reordered = config(
        rt.schema(),
        vec![
            ("bucket", s(&bucket)),
            (
                "cors_rule",
                Value::List(
                    cfg.get("cors_rule")
                        .and_then(Value::as_seq)
                        .unwrap()
                        .iter()
                        .rev()
                        .cloned()
                        .collect(),
                ),
            ),
        ],
    );
    assert_no_op(&rt, &live, &reordered);

    let client = s3(&ctx);
    let repaired = cycle
        .drift_and_repair(
            &live,
            async {
                let rule = aws_sdk_s3::types::CorsRule::builder()
                    .allowed_methods("DELETE")
                    .allowed_origins("https://evil.example.com")
                    .build()
                    .unwrap();
                client
                    .put_bucket_cors()
                    .bucket(&bucket)
                    .cors_configuration(
                        aws_sdk_s3::types::CorsConfiguration::builder()
                            .cors_rules(rule)
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .expect("outside change");
            },
            |drifted| {
                let rules = drifted.get("cors_rule").and_then(Value::as_seq).unwrap();
                assert_eq!(rules.len(), 1, "{drifted:?}");
            },
        )
        .await;
    cycle.import(&bucket, &repaired).await;
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now(),
    };
    let planned = rt.plan(None, &cfg).unwrap().planned;
    assert!(matches!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Found(_)
    ));

    cycle.delete(&repaired).await;
    assert_eq!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Absent
    );
    drop_bucket(&buckets, &bucket_state).await;
    assert_eq!(rt.read(&repaired).await.unwrap(), None, "bucket gone");
}

// aws_s3_bucket_lifecycle_configuration
fn lifecycle_rule(id: &str, blocks: Vec<(&str, Value)>) -> Value {
    let mut pairs = vec![("id", s(id)), ("status", s("Enabled"))];
    pairs.extend(blocks);
    Value::object(pairs)
}

fn one(pairs: Vec<(&str, Value)>) -> Value {
    Value::List(vec![Value::object(pairs)])
}

#[tokio::test]
async fn lifecycle_configuration_full_lifecycle() {
    use forge_aws_s3::bucket_lifecycle_configuration::BucketLifecycleConfigurationResource;

    let ctx = context().await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    let rt = BucketLifecycleConfigurationResource::new(ctx.clone());
    let rules = Value::List(vec![
        // An empty filter: the provider sends and records `prefix = ""`.
        lifecycle_rule(
            "expire",
            vec![
                ("filter", one(vec![])),
                ("expiration", one(vec![("days", n(30.0))])),
            ],
        ),
        // No filter at all: sent as an empty filter, read back as none.
        lifecycle_rule(
            "archive",
            vec![(
                "transition",
                Value::Set(vec![Value::object([("storage_class", s("GLACIER"))])]),
            )],
        ),
        lifecycle_rule(
            "logs",
            vec![
                (
                    "filter",
                    one(vec![(
                        "and",
                        one(vec![
                            ("prefix", s("logs/")),
                            ("object_size_greater_than", n(10.0)),
                            ("tags", tags(&[("class", "log")])),
                        ]),
                    )]),
                ),
                (
                    "noncurrent_version_expiration",
                    one(vec![("noncurrent_days", n(5.0))]),
                ),
                (
                    "abort_incomplete_multipart_upload",
                    one(vec![("days_after_initiation", n(7.0))]),
                ),
            ],
        ),
        lifecycle_rule(
            "tmp",
            vec![
                ("filter", one(vec![("prefix", s("tmp/"))])),
                (
                    "noncurrent_version_transition",
                    Value::Set(vec![Value::object([
                        ("noncurrent_days", n(30.0)),
                        ("storage_class", s("STANDARD_IA")),
                    ])]),
                ),
            ],
        ),
    ]);
    let cfg = config(rt.schema(), vec![("bucket", s(&bucket)), ("rule", rules)]);
    let cycle = Lifecycle::new(&rt, cfg.clone());
    let live = cycle.create().await;
    assert_eq!(live.str_attr("id"), Some(bucket.as_str()));
    assert_eq!(
        live.str_attr("transition_default_minimum_object_size"),
        Some("all_storage_classes_128K")
    );
    let recorded = live.get("rule").and_then(Value::as_seq).unwrap();
    assert_eq!(recorded.len(), 4);
    // The provider's empty values for what the configuration leaves out.
    let expire = &recorded[0];
    assert_eq!(expire.str_attr("prefix"), Some(""));
    let filter = &expire.get("filter").and_then(Value::as_seq).unwrap()[0];
    assert_eq!(filter.str_attr("prefix"), Some(""));
    let expiration = &expire.get("expiration").and_then(Value::as_seq).unwrap()[0];
    assert_eq!(
        expiration.get("expired_object_delete_marker"),
        Some(&Value::Bool(false))
    );
    assert_eq!(recorded[1].get("filter"), Some(&Value::List(vec![])));
    let transition = &recorded[1]
        .get("transition")
        .and_then(Value::as_seq)
        .unwrap()[0];
    assert_eq!(transition.get("days"), Some(&n(0.0)));
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));

    let client = s3(&ctx);
    let repaired = cycle
        .drift_and_repair(
            &live,
            async {
                let rule = aws_sdk_s3::types::LifecycleRule::builder()
                    .id("outside")
                    .status(aws_sdk_s3::types::ExpirationStatus::Disabled)
                    .filter(
                        aws_sdk_s3::types::LifecycleRuleFilter::builder()
                            .prefix("x/")
                            .build(),
                    )
                    .expiration(
                        aws_sdk_s3::types::LifecycleExpiration::builder()
                            .days(1)
                            .build(),
                    )
                    .build()
                    .unwrap();
                client
                    .put_bucket_lifecycle_configuration()
                    .bucket(&bucket)
                    .lifecycle_configuration(
                        aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
                            .rules(rule)
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .expect("outside change");
            },
            |drifted| {
                let rules = drifted.get("rule").and_then(Value::as_seq).unwrap();
                assert_eq!(rules.len(), 1, "{drifted:?}");
                assert_eq!(rules[0].str_attr("id"), Some("outside"));
            },
        )
        .await;
    cycle.import(&bucket, &repaired).await;
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now(),
    };
    let planned = rt.plan(None, &cfg).unwrap().planned;
    assert!(matches!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Found(_)
    ));

    cycle.delete(&repaired).await;
    assert_eq!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Absent
    );
    drop_bucket(&buckets, &bucket_state).await;
    assert_eq!(rt.read(&repaired).await.unwrap(), None, "bucket gone");
}

// aws_s3_bucket_logging
#[tokio::test]
async fn logging_full_lifecycle() {
    use forge_aws_s3::bucket_logging::BucketLoggingResource;

    let ctx = context().await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let (_, target_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    let target = target_state.str_attr("id").unwrap().to_string();
    let rt = BucketLoggingResource::new(ctx.clone());
    let cfg = config(
        rt.schema(),
        vec![
            ("bucket", s(&bucket)),
            ("target_bucket", s(&target)),
            ("target_prefix", s("access/")),
            (
                "target_object_key_format",
                Value::List(vec![Value::object([
                    (
                        "partitioned_prefix",
                        Value::List(vec![Value::object([(
                            "partition_date_source",
                            s("EventTime"),
                        )])]),
                    ),
                    ("simple_prefix", Value::List(vec![])),
                ])]),
            ),
        ],
    );
    let cycle = Lifecycle::new(&rt, cfg.clone());
    let live = cycle.create().await;
    assert_eq!(live.str_attr("id"), Some(bucket.as_str()));
    assert_eq!(live.str_attr("expected_bucket_owner"), Some(""));
    assert_eq!(live.get("target_grant"), Some(&Value::Set(vec![])));
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));
    // The prefix changes in place.
    let mut moved = cfg.clone();
    set_attr_for_test(&mut moved, "target_prefix", s("moved/"));
    let plan = rt.plan(Some(&live), &moved).unwrap();
    assert!(plan.requires_replace.is_empty());
    assert!(!plan.planned.same_as(&live));

    let client = s3(&ctx);
    let repaired = cycle
        .drift_and_repair(
            &live,
            async {
                client
                    .put_bucket_logging()
                    .bucket(&bucket)
                    .bucket_logging_status(
                        aws_sdk_s3::types::BucketLoggingStatus::builder()
                            .logging_enabled(
                                aws_sdk_s3::types::LoggingEnabled::builder()
                                    .target_bucket(&target)
                                    .target_prefix("elsewhere/")
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .expect("outside change");
            },
            |drifted| {
                assert_eq!(drifted.str_attr("target_prefix"), Some("elsewhere/"));
                assert_eq!(
                    drifted.get("target_object_key_format"),
                    Some(&Value::List(vec![]))
                );
            },
        )
        .await;
    cycle.import(&bucket, &repaired).await;
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now(),
    };
    let planned = rt.plan(None, &cfg).unwrap().planned;
    assert!(matches!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Found(_)
    ));

    cycle.delete(&repaired).await;
    assert_eq!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Absent
    );
    drop_bucket(&buckets, &bucket_state).await;
    drop_bucket(&buckets, &target_state).await;
    assert_eq!(rt.read(&repaired).await.unwrap(), None, "bucket gone");
}

fn set_attr_for_test(v: &mut Value, name: &str, value: Value) {
    if let Value::Object(m) = v {
        m.insert(name.to_string(), value);
    }
}

// aws_s3_bucket_website_configuration
#[tokio::test]
async fn website_configuration_full_lifecycle() {
    use forge_aws_s3::bucket_website_configuration::BucketWebsiteConfigurationResource;

    let ctx = context().await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    let rt = BucketWebsiteConfigurationResource::new(ctx.clone());
    let schema = rt.schema().clone();
    let rule_schema = &schema.blocks["routing_rule"].schema;
    let redirect_schema = &rule_schema.blocks["redirect"].schema;
    let condition_schema = &rule_schema.blocks["condition"].schema;
    let rules = Value::List(vec![
        block(
            rule_schema,
            vec![
                (
                    "condition",
                    Value::List(vec![block(
                        condition_schema,
                        vec![("key_prefix_equals", s("docs/"))],
                    )]),
                ),
                (
                    "redirect",
                    Value::List(vec![block(
                        redirect_schema,
                        vec![("replace_key_prefix_with", s("documents/"))],
                    )]),
                ),
            ],
        ),
        block(
            rule_schema,
            vec![(
                "redirect",
                Value::List(vec![block(
                    redirect_schema,
                    vec![
                        ("host_name", s("example.com")),
                        ("http_redirect_code", s("301")),
                        ("protocol", s("https")),
                    ],
                )]),
            )],
        ),
    ]);
    let cfg = config(
        &schema,
        vec![
            ("bucket", s(&bucket)),
            (
                "index_document",
                Value::List(vec![Value::object([("suffix", s("index.html"))])]),
            ),
            (
                "error_document",
                Value::List(vec![Value::object([("key", s("error.html"))])]),
            ),
            ("routing_rule", rules),
        ],
    );
    let cycle = Lifecycle::new(&rt, cfg.clone());
    let live = cycle.create().await;
    assert_eq!(live.str_attr("id"), Some(bucket.as_str()));
    assert_eq!(live.str_attr("expected_bucket_owner"), Some(""));
    // The provider's spellings (its own state for the same rules, on the same emulator).
    assert_eq!(
        live.str_attr("routing_rules"),
        Some(
            r#"[{"Condition":{"KeyPrefixEquals":"docs/"},"Redirect":{"ReplaceKeyPrefixWith":"documents/"}},{"Redirect":{"HostName":"example.com","HttpRedirectCode":"301","Protocol":"https"}}]"#
        )
    );
    assert_eq!(
        live.str_attr("website_endpoint"),
        Some(format!("{bucket}.s3-website-us-east-1.amazonaws.com").as_str())
    );
    assert_eq!(
        live.str_attr("website_domain"),
        Some("s3-website-us-east-1.amazonaws.com")
    );
    // The bucket records the same settings in its inline `website` block, as the provider.
    let bucket_live = read(&buckets, &bucket_state).await;
    let inline = bucket_live.get("website").and_then(Value::as_seq).unwrap();
    assert_eq!(inline.len(), 1, "{bucket_live:?}");
    assert_eq!(inline[0].str_attr("index_document"), Some("index.html"));
    assert_eq!(inline[0].str_attr("redirect_all_requests_to"), Some(""));
    assert_eq!(
        inline[0].str_attr("routing_rules"),
        live.str_attr("routing_rules")
    );
    assert_eq!(
        bucket_live.get("website_endpoint"),
        live.get("website_endpoint")
    );
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));
    // The same rules written as the JSON document plan no change.
    let as_document = config(
        &schema,
        vec![
            ("bucket", s(&bucket)),
            ("index_document", cfg.get("index_document").unwrap().clone()),
            ("error_document", cfg.get("error_document").unwrap().clone()),
            (
                "routing_rules",
                s(
                    r#"[{"Redirect":{"ReplaceKeyPrefixWith":"documents/"},"Condition":{"KeyPrefixEquals":"docs/"}},
                      {"Redirect":{"Protocol":"https","HostName":"example.com","HttpRedirectCode":"301"}}]"#,
                ),
            ),
        ],
    );
    assert_no_op(&rt, &live, &as_document);

    let client = s3(&ctx);
    let repaired = cycle
        .drift_and_repair(
            &live,
            async {
                client
                    .put_bucket_website()
                    .bucket(&bucket)
                    .website_configuration(
                        aws_sdk_s3::types::WebsiteConfiguration::builder()
                            .index_document(
                                aws_sdk_s3::types::IndexDocument::builder()
                                    .suffix("home.html")
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .expect("outside change");
            },
            |drifted| {
                assert_eq!(drifted.str_attr("routing_rules"), Some(""), "{drifted:?}");
                assert_eq!(
                    drifted.get("error_document"),
                    Some(&Value::List(vec![])),
                    "{drifted:?}"
                );
            },
        )
        .await;
    cycle.import(&bucket, &repaired).await;
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now(),
    };
    let planned = rt.plan(None, &cfg).unwrap().planned;
    assert!(matches!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Found(_)
    ));

    // Redirecting every request instead: an update in place, the rules removed.
    let redirect_all = config(
        &schema,
        vec![
            ("bucket", s(&bucket)),
            (
                "redirect_all_requests_to",
                Value::List(vec![Value::object([
                    ("host_name", s("example.org")),
                    ("protocol", Value::Null),
                ])]),
            ),
        ],
    );
    let redirected = update(&rt, &repaired, &redirect_all).await;
    assert_eq!(redirected.str_attr("routing_rules"), Some(""));
    assert_eq!(redirected.get("index_document"), Some(&Value::List(vec![])));
    let to = redirected
        .get("redirect_all_requests_to")
        .and_then(Value::as_seq)
        .unwrap();
    assert_eq!(to[0].str_attr("protocol"), Some(""), "{redirected:?}");
    assert_no_op(&rt, &read(&rt, &redirected).await, &redirect_all);
    let bucket_live = read(&buckets, &bucket_state).await;
    let inline = bucket_live.get("website").and_then(Value::as_seq).unwrap();
    assert_eq!(
        inline[0].str_attr("redirect_all_requests_to"),
        Some("example.org")
    );

    cycle.delete(&redirected).await;
    assert_eq!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Absent
    );
    // Without a website the bucket records none, and no endpoint (null, as the provider).
    let bucket_live = read(&buckets, &bucket_state).await;
    assert_eq!(bucket_live.get("website"), Some(&Value::List(vec![])));
    assert_eq!(bucket_live.get("website_endpoint"), Some(&Value::Null));
    drop_bucket(&buckets, &bucket_state).await;
    assert_eq!(rt.read(&redirected).await.unwrap(), None, "bucket gone");
}

/// `aws_s3_object`: created from `content`, read back, unchanged on a second plan; an
/// object overwritten outside forge shows (metadata, tags, headers) and is uploaded
/// again; a new body is uploaded in place (a new ETag), a file `source` relative to the
/// unit's module folder is read from there; imported by `bucket/key` and
/// `s3://bucket/key`; deleted with its versions.
#[tokio::test]
async fn object_full_lifecycle() {
    use forge_aws_s3::object::ObjectResource;

    let ctx = context().await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    // The unit's root module folder, where a relative `source` is read from.
    let module_dir = std::env::temp_dir().join(unique("forge-s3obj"));
    std::fs::create_dir_all(&module_dir).unwrap();
    std::fs::write(module_dir.join("body.txt"), "from a file\n").unwrap();
    let in_module = Arc::new(ctx.in_module_dir(&module_dir));
    let rt = ObjectResource::new(in_module.clone());
    let schema = rt.schema().clone();
    let key = "docs/readme.txt";
    let cfg = config(
        &schema,
        vec![
            ("bucket", s(&bucket)),
            ("key", s(key)),
            ("content", s("hello")),
            ("content_type", s("text/plain")),
            ("cache_control", s("max-age=60")),
            ("metadata", tags(&[("owner", "forge")])),
            ("tags", tags(&[("env", "test")])),
        ],
    );
    let plan = rt.plan(None, &cfg).unwrap();
    // The provider's id is the key alone.
    assert_eq!(plan.planned.str_attr("id"), Some(key));
    let cycle = Lifecycle::new(&rt, cfg.clone()).ignoring_on_import(&["content"]);
    let live = cycle.create().await;
    // The MD5 of "hello": S3's ETag of a single-part, non-KMS object.
    assert_eq!(
        live.str_attr("etag"),
        Some("5d41402abc4b2a76b9719d911017c592")
    );
    assert_eq!(
        live.str_attr("arn"),
        Some(format!("arn:aws:s3:::{bucket}/{key}").as_str())
    );
    assert_eq!(live.str_attr("storage_class"), Some("STANDARD"));
    assert_eq!(live.get("force_destroy"), Some(&Value::Bool(false)));
    assert_replaced_when(&rt, &live, &cfg, "key", s("other.txt"));
    assert_replaced_when(&rt, &live, &cfg, "bucket", s(&unique("forge-other")));

    // Overwritten outside forge: another body, no metadata, no tags, another header.
    let repaired = cycle
        .drift_and_repair(
            &live,
            async {
                s3(&ctx)
                    .put_object()
                    .bucket(&bucket)
                    .key(key)
                    .body(ByteStream::from(b"changed".to_vec()))
                    .cache_control("no-cache")
                    .send()
                    .await
                    .expect("overwrite outside forge");
            },
            |drifted| {
                assert_eq!(drifted.str_attr("cache_control"), Some("no-cache"));
                assert_eq!(drifted.get("metadata"), Some(&tags(&[])));
                assert_eq!(drifted.get("tags"), Some(&tags(&[])));
            },
        )
        .await;
    assert_eq!(
        repaired.str_attr("etag"),
        Some("5d41402abc4b2a76b9719d911017c592")
    );

    // Tags alone change in place without an upload: the ETag and version stay.
    let retagged_cfg = config(
        &schema,
        vec![
            ("bucket", s(&bucket)),
            ("key", s(key)),
            ("content", s("hello")),
            ("content_type", s("text/plain")),
            ("cache_control", s("max-age=60")),
            ("metadata", tags(&[("owner", "forge")])),
            ("tags", tags(&[("env", "test"), ("tier", "2")])),
        ],
    );
    let plan = rt.plan(Some(&repaired), &retagged_cfg).unwrap();
    assert_eq!(plan.planned.get("version_id"), repaired.get("version_id"));
    let retagged = update(&rt, &repaired, &retagged_cfg).await;
    assert_eq!(retagged.get("tags"), retagged_cfg.get("tags"));
    assert_eq!(retagged.get("version_id"), repaired.get("version_id"));
    assert_no_op(&rt, &read(&rt, &retagged).await, &retagged_cfg);

    // A new body from a file beside the module: in place, uploaded again, new ETag.
    let from_file = config(
        &schema,
        vec![
            ("bucket", s(&bucket)),
            ("key", s(key)),
            ("source", s("./body.txt")),
            ("content_type", s("text/plain")),
            ("tags", tags(&[("env", "test")])),
        ],
    );
    let plan = rt.plan(Some(&retagged), &from_file).unwrap();
    assert!(
        plan.requires_replace.is_empty(),
        "{:?}",
        plan.requires_replace
    );
    assert!(plan.planned.get("etag").unwrap().is_unknown());
    assert!(plan.planned.get("version_id").unwrap().is_unknown());
    let uploaded = update(&rt, &retagged, &from_file).await;
    assert_eq!(
        uploaded.str_attr("etag"),
        Some(format!("{:x}", <md5::Md5 as md5::Digest>::digest(b"from a file\n")).as_str())
    );
    assert_eq!(uploaded.get("content"), Some(&Value::Null));
    assert_eq!(uploaded.get("metadata"), Some(&tags(&[])));
    assert_matches_config(&uploaded, &from_file);
    assert_no_op(&rt, &read(&rt, &uploaded).await, &from_file);
    // Without the module folder the same relative path is not found, and the error
    // names the file and says where relative paths are read from.
    let elsewhere = ObjectResource::new(ctx.clone());
    let plan = elsewhere.plan(Some(&uploaded), &from_file).unwrap();
    let mut touched = plan.planned.clone();
    if let Value::Object(m) = &mut touched {
        m.insert("source_hash".into(), s("x"));
    }
    let err = elsewhere
        .update(&uploaded, &touched)
        .await
        .expect_err("./body.txt is not in the test's working folder");
    assert!(err.message.contains("body.txt"), "{err}");
    assert!(err.hint.unwrap_or_default().contains("path.module"));

    // Import by Terraform's ids: the body's arguments cannot be read back.
    let file_cycle = Lifecycle::new(&rt, from_file.clone()).ignoring_on_import(&["source"]);
    let imported = file_cycle
        .import(&format!("{bucket}/{key}"), &uploaded)
        .await;
    assert_eq!(imported.get("source"), Some(&Value::Null));
    file_cycle
        .import(&format!("s3://{bucket}/{key}"), &uploaded)
        .await;
    assert!(rt.import("no-key-here").await.is_err());

    let planned = rt.plan(None, &from_file).unwrap().planned;
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now() - Duration::from_secs(60),
    };
    assert!(matches!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Found(_)
    ));
    file_cycle.delete(&uploaded).await;
    assert_eq!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Absent
    );
    // Refused or conflicting arguments fail at plan, naming them.
    let mut locked = from_file.clone();
    if let Value::Object(m) = &mut locked {
        m.insert("object_lock_mode".into(), s("GOVERNANCE"));
    }
    let err = rt.plan(None, &locked).expect_err("object lock refused");
    assert!(err.message.contains("object_lock_mode"), "{err}");
    let _ = std::fs::remove_dir_all(&module_dir);
    drop_bucket(&buckets, &bucket_state).await;
}

/// In a versioned bucket each upload is a version; the delete removes every version of
/// the key (as the provider, which deletes all versions when state records one).
#[tokio::test]
async fn object_in_a_versioned_bucket_is_deleted_with_all_its_versions() {
    use forge_aws_s3::object::ObjectResource;

    let ctx = context().await;
    let (buckets, bucket_state) = scratch_bucket(&ctx).await;
    let bucket = bucket_state.str_attr("id").unwrap().to_string();
    s3(&ctx)
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let rt = ObjectResource::new(ctx.clone());
    let first = config(
        rt.schema(),
        vec![
            ("bucket", s(&bucket)),
            ("key", s("v.txt")),
            ("content_base64", s("aGVsbG8=")),
        ],
    );
    let state = create(&rt, &first).await;
    assert_eq!(
        state.str_attr("etag"),
        Some("5d41402abc4b2a76b9719d911017c592")
    );
    let v1 = state.str_attr("version_id").unwrap().to_string();
    assert!(!v1.is_empty());
    let second = config(
        rt.schema(),
        vec![
            ("bucket", s(&bucket)),
            ("key", s("v.txt")),
            ("content", s("hello again")),
        ],
    );
    let updated = update(&rt, &state, &second).await;
    let v2 = updated.str_attr("version_id").unwrap().to_string();
    assert_ne!(v1, v2, "an upload makes a new version");
    rt.delete(&updated).await.expect("delete");
    let versions = s3(&ctx)
        .list_object_versions()
        .bucket(&bucket)
        .prefix("v.txt")
        .send()
        .await
        .unwrap();
    assert!(versions.versions().is_empty(), "{versions:?}");
    assert!(versions.delete_markers().is_empty(), "{versions:?}");
    drop_bucket(&buckets, &bucket_state).await;
}
