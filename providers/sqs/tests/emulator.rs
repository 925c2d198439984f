//! The SQS resource types against LocalStack: create, read back, a second plan that
//! changes nothing, a change made outside forge that read reports, the repairing update,
//! import, delete and read -> None.

// Tests may unwrap: a panic there is a test failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../testkit/emulator_kit.rs"]
mod kit;

use aws_sdk_sqs::types::QueueAttributeName;
use forge_aws_common::AwsContext;
use forge_aws_sqs::queue::QueueResource;
use forge_aws_sqs::queue_policy::QueuePolicyResource;
use forge_provider::{ResourceType, Value};
use kit::*;

fn sqs(ctx: &AwsContext) -> aws_sdk_sqs::Client {
    forge_aws_sqs::common::client(ctx)
}

#[tokio::test]
async fn queue_with_dead_letter_queue_full_lifecycle() {
    let ctx = context().await;
    let rt = QueueResource::new(ctx.clone());
    let dlq_cfg = config(
        rt.schema(),
        vec![
            ("name", s(&unique("forge-dlq"))),
            ("message_retention_seconds", n(1_209_600.0)),
        ],
    );
    let dlq = create(&rt, &dlq_cfg).await;
    let dlq_arn = dlq.str_attr("arn").expect("dlq arn").to_string();
    assert!(dlq_arn.starts_with("arn:aws:sqs:us-east-1:"), "{dlq_arn}");

    let name = unique("forge-q");
    let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":5}}"#);
    let cfg = config(
        rt.schema(),
        vec![
            ("name", s(&name)),
            ("visibility_timeout_seconds", n(120.0)),
            ("message_retention_seconds", n(86_400.0)),
            ("receive_wait_time_seconds", n(10.0)),
            ("redrive_policy", s(&redrive)),
            ("tags", tags(&[("Component", "sqs-notifications")])),
        ],
    );
    let state = create(&rt, &cfg).await;
    assert_matches_config(&state, &cfg);
    let url = state.str_attr("url").expect("url").to_string();
    assert_eq!(state.str_attr("id"), Some(url.as_str()));
    assert!(url.ends_with(&format!("/{name}")), "{url}");
    assert_eq!(state.get("fifo_queue"), Some(&Value::Bool(false)));

    let live = read(&rt, &state).await;
    assert_matches_config(&live, &cfg);
    assert!(
        live.same_as(&state),
        "read differs from create:\n{live:?}\n{state:?}"
    );
    assert_no_op(&rt, &live, &cfg);

    // Changed outside forge: the visibility timeout, a tag and the redrive count.
    let client = sqs(&ctx);
    let outside_redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":9}}"#);
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "45")
        .attributes(QueueAttributeName::RedrivePolicy, &outside_redrive)
        .send()
        .await
        .expect("outside change");
    client
        .tag_queue()
        .queue_url(&url)
        .tags("Component", "changed")
        .send()
        .await
        .expect("outside tag");
    let drifted = read(&rt, &live).await;
    assert_eq!(drifted.get("visibility_timeout_seconds"), Some(&n(45.0)));
    assert_eq!(
        drifted.get("tags").and_then(|t| t.str_attr("Component")),
        Some("changed")
    );
    assert!(
        !drifted.get("redrive_policy").unwrap().same_as(&s(&redrive)),
        "redrive drift not seen"
    );
    let repair = rt.plan(Some(&drifted), &cfg).expect("repair plan");
    assert!(
        !repair.planned.same_as(&drifted),
        "the plan must repair the drift"
    );

    let repaired = update(&rt, &drifted, &cfg).await;
    assert_matches_config(&repaired, &cfg);
    let reread = read(&rt, &repaired).await;
    assert_stored_state_plans_no_op(&rt, &reread, &cfg).await;
    assert_matches_config(&reread, &cfg);
    assert_no_op(&rt, &reread, &cfg);

    let imported = rt
        .import(&url)
        .await
        .expect("import")
        .expect("import finds the queue");
    let imported_redrive = imported
        .str_attr("redrive_policy")
        .expect("imported redrive");
    assert!(forge_aws_sqs::redrive::redrives_equivalent(
        imported_redrive,
        &redrive
    ));
    for attr in [
        "id",
        "url",
        "arn",
        "name",
        "visibility_timeout_seconds",
        "message_retention_seconds",
        "tags",
        "tags_all",
    ] {
        assert!(
            imported
                .get(attr)
                .unwrap()
                .same_as(reread.get(attr).unwrap()),
            "import differs on {attr}"
        );
    }

    rt.delete(&reread).await.expect("delete");
    assert_eq!(rt.read(&reread).await.expect("read after delete"), None);
    rt.delete(&reread).await.expect("deleting twice succeeds");
    rt.delete(&dlq).await.expect("delete dlq");
}

#[tokio::test]
async fn queue_left_to_defaults_reads_them_back_and_plans_no_op() {
    let ctx = context().await;
    let rt = QueueResource::new(ctx.clone());
    let cfg = config(rt.schema(), vec![("name", s(&unique("forge-defaults")))]);
    let state = create(&rt, &cfg).await;
    assert_eq!(state.get("delay_seconds"), Some(&n(0.0)));
    // SQS raised its own default to 1 MiB in 2025, but the provider (5.100.0) sends its
    // default of 256 KiB when the argument is left out, and forge plans the provider's.
    assert_eq!(state.get("max_message_size"), Some(&n(262_144.0)));
    // New queues get SQS-managed encryption unless told otherwise, as on AWS since 2022.
    assert_eq!(
        state.get("sqs_managed_sse_enabled"),
        Some(&Value::Bool(true))
    );
    assert_eq!(state.get("message_retention_seconds"), Some(&n(345_600.0)));
    assert_eq!(state.get("receive_wait_time_seconds"), Some(&n(0.0)));
    assert_eq!(state.get("visibility_timeout_seconds"), Some(&n(30.0)));
    // The provider records a document the queue lacks as "".
    assert_eq!(state.get("policy"), Some(&s("")));
    assert_eq!(state.get("redrive_policy"), Some(&s("")));
    // As the provider's read records a queue without tags.
    assert_eq!(state.get("tags"), Some(&Value::Map(Default::default())));
    let live = read(&rt, &state).await;
    assert_no_op(&rt, &live, &cfg);
    rt.delete(&live).await.expect("delete");
}

#[tokio::test]
async fn fifo_queue_and_name_change_forces_replacement() {
    let ctx = context().await;
    let rt = QueueResource::new(ctx.clone());
    let name = format!("{}.fifo", unique("forge-fifo"));
    let cfg = config(
        rt.schema(),
        vec![
            ("name", s(&name)),
            ("fifo_queue", Value::Bool(true)),
            ("content_based_deduplication", Value::Bool(true)),
        ],
    );
    let state = create(&rt, &cfg).await;
    assert_matches_config(&state, &cfg);
    let live = read(&rt, &state).await;
    assert_no_op(&rt, &live, &cfg);

    let renamed = config(
        rt.schema(),
        vec![
            ("name", s(&format!("x{name}"))),
            ("fifo_queue", Value::Bool(true)),
            ("content_based_deduplication", Value::Bool(true)),
        ],
    );
    let plan = rt.plan(Some(&live), &renamed).expect("plan rename");
    assert_eq!(plan.requires_replace, vec!["name".to_string()]);

    // Turning content-based deduplication off is an in-place update.
    let off = config(
        rt.schema(),
        vec![("name", s(&name)), ("fifo_queue", Value::Bool(true))],
    );
    let off = match off {
        Value::Object(mut m) => {
            m.insert("content_based_deduplication".into(), Value::Bool(false));
            Value::Object(m)
        }
        other => other,
    };
    let updated = update(&rt, &live, &off).await;
    assert_eq!(
        read(&rt, &updated).await.get("content_based_deduplication"),
        Some(&Value::Bool(false))
    );
    rt.delete(&updated).await.expect("delete");
}

#[tokio::test]
async fn default_tags_reach_tags_all_and_aws_but_not_tags() {
    let ctx = context_with_default_tags(&[("Environment", "test"), ("Component", "default")]).await;
    let rt = QueueResource::new(ctx.clone());
    let cfg = config(
        rt.schema(),
        vec![
            ("name", s(&unique("forge-tags"))),
            ("tags", tags(&[("Component", "own")])),
        ],
    );
    let plan = rt.plan(None, &cfg).expect("plan");
    let expected_all = tags(&[("Environment", "test"), ("Component", "own")]);
    assert!(
        plan.planned.get("tags_all").unwrap().same_as(&expected_all),
        "planned tags_all {:?}",
        plan.planned.get("tags_all")
    );
    let state = rt.create(&plan.planned).await.expect("create");
    assert!(
        state
            .get("tags")
            .unwrap()
            .same_as(&tags(&[("Component", "own")]))
    );
    assert!(state.get("tags_all").unwrap().same_as(&expected_all));
    let url = state.str_attr("url").unwrap().to_string();
    let live_tags = sqs(&ctx)
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .expect("list tags");
    assert_eq!(
        live_tags
            .tags()
            .and_then(|t| t.get("Environment"))
            .map(String::as_str),
        Some("test")
    );
    let live = read(&rt, &state).await;
    assert_no_op(&rt, &live, &cfg);

    // Dropping the resource's own tag leaves the default one.
    let untagged = config(
        rt.schema(),
        vec![("name", s(state.str_attr("name").unwrap()))],
    );
    let updated = update(&rt, &live, &untagged).await;
    let reread = read(&rt, &updated).await;
    assert!(
        reread
            .get("tags_all")
            .unwrap()
            .same_as(&tags(&[("Environment", "test"), ("Component", "default")]))
    );
    assert_no_op(&rt, &reread, &untagged);
    rt.delete(&reread).await.expect("delete");
}

#[tokio::test]
async fn queue_already_existing_with_other_attributes_gives_a_hint() {
    let ctx = context().await;
    let rt = QueueResource::new(ctx.clone());
    let name = unique("forge-taken");
    let first = create(
        &rt,
        &config(
            rt.schema(),
            vec![("name", s(&name)), ("delay_seconds", n(5.0))],
        ),
    )
    .await;
    let second = config(
        rt.schema(),
        vec![("name", s(&name)), ("delay_seconds", n(7.0))],
    );
    let plan = rt.plan(None, &second).expect("plan");
    let err = rt
        .create(&plan.planned)
        .await
        .expect_err("a queue of that name exists with another delay");
    assert!(
        err.hint.as_deref().unwrap_or("").contains("import"),
        "{err}"
    );
    rt.delete(&first).await.expect("delete");
}

fn send_policy(queue_arn: &str, sid: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Principal":{{"Service":"s3.amazonaws.com"}},"Action":"sqs:SendMessage","Resource":"{queue_arn}","Condition":{{"ArnLike":{{"aws:SourceArn":"arn:aws:s3:::forge-*"}}}}}}]}}"#
    )
}

#[tokio::test]
async fn queue_policy_full_lifecycle() {
    let ctx = context().await;
    let queues = QueueResource::new(ctx.clone());
    let queue = create(
        &queues,
        &config(queues.schema(), vec![("name", s(&unique("forge-pol")))]),
    )
    .await;
    let url = queue.str_attr("url").unwrap().to_string();
    let arn = queue.str_attr("arn").unwrap().to_string();

    let rt = QueuePolicyResource::new(ctx.clone());
    let policy = send_policy(&arn, "AllowS3");
    let cfg = config(
        rt.schema(),
        vec![("queue_url", s(&url)), ("policy", s(&policy))],
    );
    let state = create(&rt, &cfg).await;
    assert_eq!(state.str_attr("id"), Some(url.as_str()));
    let live = read(&rt, &state).await;
    assert_matches_config(&live, &cfg);
    assert_no_op(&rt, &live, &cfg);
    assert_replaced_when(
        &rt,
        &live,
        &cfg,
        "queue_url",
        s("http://x/000000000000/other"),
    );

    // The queue's own policy attribute is computed: it shows the policy and plans no-op.
    let queue_cfg = config(
        queues.schema(),
        vec![("name", s(queue.str_attr("name").unwrap()))],
    );
    let queue_live = read(&queues, &queue).await;
    assert!(
        queue_live.str_attr("policy").is_some(),
        "aws_sqs_queue.policy should show the attached policy"
    );
    assert_no_op(&queues, &queue_live, &queue_cfg);

    let outside = send_policy(&arn, "ChangedOutside");
    sqs(&ctx)
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, &outside)
        .send()
        .await
        .expect("outside change");
    let drifted = read(&rt, &live).await;
    assert!(
        drifted
            .str_attr("policy")
            .unwrap()
            .contains("ChangedOutside")
    );
    let repaired = update(&rt, &drifted, &cfg).await;
    let reread = read(&rt, &repaired).await;
    assert_stored_state_plans_no_op(&rt, &reread, &cfg).await;
    // Recorded as the provider records it: the same document, compact, keys sorted.
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(reread.str_attr("policy").expect("policy"))
            .expect("JSON"),
        serde_json::from_str::<serde_json::Value>(&policy).expect("JSON")
    );
    assert_no_op(&rt, &reread, &cfg);

    let imported = rt.import(&url).await.expect("import").expect("found");
    assert_eq!(imported.str_attr("id"), Some(url.as_str()));
    assert!(forge_aws_common::policy::policies_equivalent(
        imported.str_attr("policy").unwrap(),
        &policy
    ));

    rt.delete(&reread).await.expect("delete");
    assert_eq!(rt.read(&reread).await.expect("read after delete"), None);
    queues.delete(&queue).await.expect("delete queue");
    assert_eq!(
        rt.read(&reread).await.expect("read with the queue gone"),
        None
    );
    rt.delete(&reread)
        .await
        .expect("deleting with the queue gone succeeds");
}

#[tokio::test]
async fn broken_policy_is_refused_at_plan_with_position() {
    let ctx = context().await;
    let rt = QueuePolicyResource::new(ctx);
    let cfg = config(
        rt.schema(),
        vec![
            ("queue_url", s("http://x/000000000000/q")),
            ("policy", s("{\"Version\": }")),
        ],
    );
    let err = rt.plan(None, &cfg).expect_err("bad JSON");
    assert!(
        err.message.contains("policy") && err.message.contains("column"),
        "{err}"
    );
}

#[tokio::test]
async fn removed_settings_return_to_the_sqs_defaults() {
    let ctx = context().await;
    let rt = QueueResource::new(ctx.clone());
    let name = unique("forge-reset");
    let tuned = config(
        rt.schema(),
        vec![
            ("name", s(&name)),
            ("visibility_timeout_seconds", n(300.0)),
            ("delay_seconds", n(5.0)),
        ],
    );
    let state = create(&rt, &tuned).await;
    assert_matches_config(&state, &tuned);
    let plain = config(rt.schema(), vec![("name", s(&name))]);
    let plan = rt.plan(Some(&state), &plain).expect("plan");
    assert_eq!(
        plan.planned.get("visibility_timeout_seconds"),
        Some(&n(30.0))
    );
    assert_eq!(plan.planned.get("delay_seconds"), Some(&n(0.0)));
    let updated = rt.update(&state, &plan.planned).await.expect("update");
    let live = read(&rt, &updated).await;
    assert_eq!(live.get("visibility_timeout_seconds"), Some(&n(30.0)));
    assert_eq!(live.get("delay_seconds"), Some(&n(0.0)));
    assert_no_op(&rt, &live, &plain);
    rt.delete(&live).await.expect("delete");
}

#[tokio::test]
async fn kms_key_replaces_sqs_managed_encryption_and_can_be_removed() {
    let ctx = context().await;
    let rt = QueueResource::new(ctx.clone());
    let name = unique("forge-kms");
    let with_kms = config(
        rt.schema(),
        vec![
            ("name", s(&name)),
            ("kms_master_key_id", s("alias/aws/sqs")),
        ],
    );
    let plan = rt.plan(None, &with_kms).expect("plan");
    assert_eq!(
        plan.planned.get("sqs_managed_sse_enabled"),
        Some(&Value::Bool(false))
    );
    let state = rt.create(&plan.planned).await.expect("create");
    assert_eq!(state.str_attr("kms_master_key_id"), Some("alias/aws/sqs"));
    assert_eq!(
        state.get("sqs_managed_sse_enabled"),
        Some(&Value::Bool(false))
    );
    let live = read(&rt, &state).await;
    assert_no_op(&rt, &live, &with_kms);

    let without = config(rt.schema(), vec![("name", s(&name))]);
    let updated = update(&rt, &live, &without).await;
    let reread = read(&rt, &updated).await;
    assert_eq!(reread.get("kms_master_key_id"), Some(&s("")));
    rt.delete(&reread).await.expect("delete");
}

#[tokio::test]
async fn queue_data_source_finds_a_queue_by_name() {
    use forge_aws_sqs::queue_data::QueueDataSource;
    use forge_provider::DataSourceType;
    let ctx = context().await;
    let rt = QueueResource::new(ctx.clone());
    let name = unique("forge-data");
    let state = create(
        &rt,
        &config(
            rt.schema(),
            vec![("name", s(&name)), ("tags", tags(&[("Team", "data")]))],
        ),
    )
    .await;
    let ds = QueueDataSource::new(ctx.clone());
    let found = ds
        .read(&config(ds.schema(), vec![("name", s(&name))]))
        .await
        .expect("data source");
    assert_eq!(found.str_attr("url"), state.str_attr("url"));
    assert_eq!(found.str_attr("id"), state.str_attr("url"));
    assert_eq!(found.str_attr("arn"), state.str_attr("arn"));
    assert!(
        found
            .get("tags")
            .unwrap()
            .same_as(&tags(&[("Team", "data")]))
    );
    rt.delete(&state).await.expect("delete");

    let err = ds
        .read(&config(ds.schema(), vec![("name", s(&name))]))
        .await
        .expect_err("queue is gone");
    assert!(err.message.contains(&name) && err.hint.is_some(), "{err}");
}

#[tokio::test]
async fn name_prefix_generates_a_name_that_stays_put() {
    let ctx = context().await;
    let rt = QueueResource::new(ctx.clone());
    let prefix = format!("{}-", unique("fpx"));
    let cfg = config(rt.schema(), vec![("name_prefix", s(&prefix))]);
    let plan = rt.plan(None, &cfg).expect("plan");
    assert!(
        plan.planned.get("name").unwrap().is_unknown(),
        "the name is known only after apply"
    );
    let state = rt.create(&plan.planned).await.expect("create");
    let name = state.str_attr("name").unwrap();
    assert!(name.starts_with(&prefix) && name.len() <= 80, "{name}");
    let live = read(&rt, &state).await;
    assert_eq!(live.str_attr("name_prefix"), Some(prefix.as_str()));
    assert_no_op(&rt, &live, &cfg);
    rt.delete(&live).await.expect("delete");
}

#[tokio::test]
async fn policy_for_a_missing_queue_says_to_create_the_queue_first() {
    let ctx = context().await;
    let rt = QueuePolicyResource::new(ctx.clone());
    let queues = QueueResource::new(ctx.clone());
    // A real URL of a queue that no longer exists.
    let queue = create(
        &queues,
        &config(queues.schema(), vec![("name", s(&unique("forge-gone")))]),
    )
    .await;
    queues.delete(&queue).await.expect("delete queue");
    let url = queue.str_attr("url").unwrap();
    let policy = send_policy(queue.str_attr("arn").unwrap(), "X");
    let cfg = config(
        rt.schema(),
        vec![("queue_url", s(url)), ("policy", s(&policy))],
    );
    let err = rt
        .create(&rt.plan(None, &cfg).unwrap().planned)
        .await
        .expect_err("no queue");
    assert!(
        err.hint
            .as_deref()
            .unwrap_or("")
            .contains("create the queue first"),
        "{err}"
    );
    assert_eq!(
        rt.import(url).await.expect("import of a missing queue"),
        None
    );
    assert_eq!(
        queues.import(url).await.expect("import of a missing queue"),
        None
    );
}

/// A queue left to defaults, for the redrive documents' tests: its URL and ARN.
async fn plain_queue(queues: &QueueResource, prefix: &str) -> Value {
    create(
        queues,
        &config(queues.schema(), vec![("name", s(&unique(prefix)))]),
    )
    .await
}

#[tokio::test]
async fn queue_redrive_policy_full_lifecycle_beside_a_queue_that_leaves_it_out() {
    let ctx = context().await;
    let queues = QueueResource::new(ctx.clone());
    let dlq = plain_queue(&queues, "forge-rdlq").await;
    let queue = plain_queue(&queues, "forge-rsrc").await;
    let url = queue.str_attr("url").unwrap().to_string();
    let dlq_arn = dlq.str_attr("arn").unwrap().to_string();

    let rt = forge_aws_sqs::queue_redrive_policy::resource(&ctx);
    // As `jsonencode` writes it: keys sorted, the count a number.
    let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":4}}"#);
    let cfg = config(
        rt.schema(),
        vec![("queue_url", s(&url)), ("redrive_policy", s(&redrive))],
    );
    let cycle = Lifecycle::new(&rt, cfg.clone());
    let live = cycle.create().await;
    assert_eq!(live.str_attr("id"), Some(url.as_str()));
    assert_eq!(live.str_attr("redrive_policy"), Some(redrive.as_str()));
    assert_replaced_when(
        &rt,
        &live,
        &cfg,
        "queue_url",
        s("http://x/000000000000/other"),
    );
    // Spelled another way (keys re-ordered, spaces, the count a string): no change.
    let respelled = format!(r#"{{ "maxReceiveCount": "4", "deadLetterTargetArn": "{dlq_arn}" }}"#);
    let respelled_cfg = config(
        rt.schema(),
        vec![("queue_url", s(&url)), ("redrive_policy", s(&respelled))],
    );
    assert_no_op(&rt, &live, &respelled_cfg);

    // The queue leaves redrive_policy out: it shows the separate resource's document and
    // plans no change (no perpetual diff between the two).
    let queue_cfg = config(
        queues.schema(),
        vec![("name", s(queue.str_attr("name").unwrap()))],
    );
    let queue_live = read(&queues, &queue).await;
    assert!(
        forge_aws_sqs::redrive::redrives_equivalent(
            queue_live.str_attr("redrive_policy").unwrap(),
            &redrive
        ),
        "{queue_live:?}"
    );
    assert_no_op(&queues, &queue_live, &queue_cfg);

    let outside = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":9}}"#);
    let client = sqs(&ctx);
    let repaired = cycle
        .drift_and_repair(
            &live,
            async {
                client
                    .set_queue_attributes()
                    .queue_url(&url)
                    .attributes(QueueAttributeName::RedrivePolicy, &outside)
                    .send()
                    .await
                    .expect("outside change");
            },
            |drifted| {
                let doc = drifted.str_attr("redrive_policy").unwrap();
                assert!(
                    forge_aws_sqs::redrive::redrives_equivalent(doc, &outside),
                    "{doc}"
                );
            },
        )
        .await;
    cycle.import(&url, &repaired).await;

    // A create whose answer was lost finds the document it set.
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now(),
    };
    let planned = rt.plan(None, &cfg).unwrap().planned;
    match rt.find_created(&planned, &intent).await.expect("find") {
        forge_provider::Finding::Found(found) => {
            assert_eq!(found.id, url);
            assert_eq!(
                found.object.str_attr("redrive_policy"),
                Some(redrive.as_str())
            );
        }
        other => panic!("expected the document, found {other:?}"),
    }

    cycle.delete(&repaired).await;
    assert_eq!(
        rt.find_created(&planned, &intent).await.expect("find"),
        forge_provider::Finding::Absent
    );
    let queue_after = read(&queues, &queue).await;
    assert_eq!(queue_after.str_attr("redrive_policy"), Some(""));
    queues.delete(&queue).await.expect("delete queue");
    assert_eq!(rt.read(&repaired).await.expect("read, queue gone"), None);
    rt.delete(&repaired)
        .await
        .expect("delete with the queue gone");
    queues.delete(&dlq).await.expect("delete dlq");
}

#[tokio::test]
async fn queue_redrive_allow_policy_full_lifecycle() {
    let ctx = context().await;
    let queues = QueueResource::new(ctx.clone());
    let dlq = plain_queue(&queues, "forge-adlq").await;
    let source = plain_queue(&queues, "forge-asrc").await;
    let url = dlq.str_attr("url").unwrap().to_string();
    let source_arn = source.str_attr("arn").unwrap().to_string();

    let rt = forge_aws_sqs::queue_redrive_allow_policy::resource(&ctx);
    let allow = format!(r#"{{"redrivePermission":"byQueue","sourceQueueArns":["{source_arn}"]}}"#);
    let cfg = config(
        rt.schema(),
        vec![("queue_url", s(&url)), ("redrive_allow_policy", s(&allow))],
    );
    let cycle = Lifecycle::new(&rt, cfg.clone());
    let live = cycle.create().await;
    assert_eq!(live.str_attr("id"), Some(url.as_str()));
    assert_eq!(live.str_attr("redrive_allow_policy"), Some(allow.as_str()));
    assert_replaced_when(
        &rt,
        &live,
        &cfg,
        "queue_url",
        s("http://x/000000000000/other"),
    );
    let dlq_cfg = config(
        queues.schema(),
        vec![("name", s(dlq.str_attr("name").unwrap()))],
    );
    assert_no_op(&queues, &read(&queues, &dlq).await, &dlq_cfg);

    let client = sqs(&ctx);
    let repaired = cycle
        .drift_and_repair(
            &live,
            async {
                client
                    .set_queue_attributes()
                    .queue_url(&url)
                    .attributes(
                        QueueAttributeName::RedriveAllowPolicy,
                        r#"{"redrivePermission":"denyAll"}"#,
                    )
                    .send()
                    .await
                    .expect("outside change");
            },
            |drifted| {
                let doc = drifted.str_attr("redrive_allow_policy").unwrap();
                assert!(doc.contains("denyAll"), "{doc}");
            },
        )
        .await;
    cycle.import(&url, &repaired).await;
    let bad = config(
        rt.schema(),
        vec![
            ("queue_url", s(&url)),
            ("redrive_allow_policy", s("{\"a\": }")),
        ],
    );
    let err = rt
        .plan(None, &bad)
        .expect_err("broken JSON is refused at plan");
    assert!(err.message.contains("redrive_allow_policy"), "{err}");
    let err = rt
        .import("forge-not-a-url")
        .await
        .expect_err("import takes a URL");
    assert!(err.message.contains("queue URL"), "{err}");

    cycle.delete(&repaired).await;
    queues.delete(&dlq).await.expect("delete dlq");
    queues.delete(&source).await.expect("delete source");
}
