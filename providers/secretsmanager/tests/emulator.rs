//! The Secrets Manager resource types against LocalStack: create, read back, a second
//! plan that changes nothing, a change made outside forge that read reports, the
//! repairing update, import, delete and read -> None.

#![allow(clippy::unwrap_used)]

#[path = "../../testkit/emulator_kit.rs"]
mod kit;

use forge_aws_common::AwsContext;
use forge_aws_secretsmanager::secret::SecretResource;
use forge_aws_secretsmanager::secret_version::SecretVersionResource;
use forge_provider::{ResourceType, Value};
use kit::*;

fn sm(ctx: &AwsContext) -> aws_sdk_secretsmanager::Client {
    forge_aws_secretsmanager::common::client(ctx)
}

async fn create(ty: &dyn ResourceType, config: &Value) -> Value {
    create_as_planned(ty, config, &[]).await
}

fn resource_policy(account: &str, action: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": action,
            "Resource": "*"
        }]
    })
    .to_string()
}

#[tokio::test]
async fn secret_lifecycle_with_drift_repair_import_and_scheduled_deletion() {
    let ctx = context().await;
    let client = sm(&ctx);
    let account = ctx.account_id().await.unwrap();
    let secrets = SecretResource::new(ctx.clone());
    let name = unique("forge/secret");
    let policy = resource_policy(&account, "secretsmanager:GetSecretValue");
    let desired = config(
        secrets.schema(),
        vec![
            ("name", s(&name)),
            ("description", s("db password")),
            ("policy", s(&policy)),
            ("recovery_window_in_days", Value::Number(7.0)),
            ("tags", tags(&[("env", "test")])),
        ],
    );
    let state = create(&secrets, &desired).await;
    let arn = state.str_attr("arn").unwrap().to_string();
    assert!(arn.contains(":secret:"), "{arn}");
    assert_eq!(state.str_attr("id"), Some(arn.as_str()));
    assert_eq!(state.str_attr("policy"), Some(policy.as_str()));
    let live = read(&secrets, &state).await;
    assert!(
        live.same_as(&state),
        "read differs from create:\n{live:?}\n{state:?}"
    );
    assert_no_op(&secrets, &live, &desired);
    assert_replaced_when(&secrets, &live, &desired, "name", s(&unique("forge/other")));

    // Outside forge: description, tags and policy.
    client
        .update_secret()
        .secret_id(&arn)
        .description("edited by hand")
        .send()
        .await
        .unwrap();
    client
        .tag_resource()
        .secret_id(&arn)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("env")
                .value("prod")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let other_policy = resource_policy(&account, "secretsmanager:*");
    client
        .put_resource_policy()
        .secret_id(&arn)
        .resource_policy(&other_policy)
        .send()
        .await
        .unwrap();
    let drifted = read(&secrets, &live).await;
    assert_eq!(drifted.str_attr("description"), Some("edited by hand"));
    assert_eq!(
        drifted.get("tags").and_then(|t| t.str_attr("env")),
        Some("prod")
    );
    assert!(forge_aws_common::policy::policies_equivalent(
        drifted.str_attr("policy").unwrap(),
        &other_policy
    ));

    let plan = secrets.plan(Some(&drifted), &desired).unwrap();
    assert!(plan.requires_replace.is_empty());
    let repaired = secrets
        .update(&drifted, &plan.planned)
        .await
        .expect("update");
    let after = read(&secrets, &repaired).await;
    assert_eq!(after.str_attr("description"), Some("db password"));
    assert_eq!(
        after.get("tags").and_then(|t| t.str_attr("env")),
        Some("test")
    );
    assert_no_op(&secrets, &after, &desired);

    // Leaving the policy out keeps it (it is optional and computed, as in Terraform);
    // removing the description removes it in AWS.
    let bare = config(
        secrets.schema(),
        vec![
            ("name", s(&name)),
            ("recovery_window_in_days", Value::Number(7.0)),
        ],
    );
    let plan = secrets.plan(Some(&after), &bare).unwrap();
    assert_eq!(plan.planned.str_attr("policy"), after.str_attr("policy"));
    let kept = secrets
        .update(&after, &plan.planned)
        .await
        .expect("update to bare");
    assert!(kept.str_attr("policy").is_some(), "the policy was removed");
    assert_eq!(kept.get("description"), Some(&Value::string("")));
    // "{}" removes the policy.
    let no_policy = config(
        secrets.schema(),
        vec![
            ("name", s(&name)),
            ("policy", s("{}")),
            ("recovery_window_in_days", Value::Number(7.0)),
        ],
    );
    let plan = secrets.plan(Some(&kept), &no_policy).unwrap();
    let bare_state = secrets
        .update(&kept, &plan.planned)
        .await
        .expect("remove the policy");
    let bare_live = read(&secrets, &bare_state).await;
    assert_eq!(bare_live.str_attr("policy"), Some("{}"));
    let on_aws = client
        .get_resource_policy()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        on_aws
            .resource_policy()
            .is_none_or(|p| p.trim().is_empty() || p.trim() == "{}"),
        "{:?}",
        on_aws.resource_policy()
    );
    assert_no_op(&secrets, &bare_live, &no_policy);

    let imported = secrets.import(&arn).await.unwrap().expect("imported");
    for attr in ["arn", "name", "description", "kms_key_id", "tags_all"] {
        assert!(
            imported
                .get(attr)
                .unwrap()
                .same_as(bare_live.get(attr).unwrap()),
            "import differs on {attr}"
        );
    }
    assert_eq!(
        imported.get("policy"),
        Some(&Value::string("")),
        "no policy on AWS imports as \"\", as the provider records it"
    );
    assert_eq!(
        imported.get("recovery_window_in_days"),
        Some(&Value::Number(30.0))
    );

    // Deleting with a recovery window schedules the deletion: the secret reads as gone.
    secrets.delete(&bare_live).await.unwrap();
    assert_eq!(secrets.read(&bare_live).await.unwrap(), None);
    secrets
        .delete(&bare_live)
        .await
        .expect("deleting again succeeds");
    let described = client
        .describe_secret()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        described.deleted_date().is_some(),
        "the secret is scheduled, not gone"
    );

    // Creating the same name while it is scheduled: an error with a way out.
    let plan = secrets.plan(None, &bare).unwrap();
    let err = secrets.create(&plan.planned).await.unwrap_err();
    let hint = err.hint.clone().unwrap_or_default();
    assert_eq!(err.code.as_deref(), Some("InvalidRequestException"));
    assert!(
        hint.contains("scheduled for deletion") && hint.contains("restore-secret"),
        "{err}"
    );
    client
        .delete_secret()
        .secret_id(&arn)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn secret_with_zero_recovery_window_is_deleted_at_once() {
    let ctx = context().await;
    let client = sm(&ctx);
    let secrets = SecretResource::new(ctx.clone());
    let name = unique("forge-now");
    let desired = config(
        secrets.schema(),
        vec![
            ("name", s(&name)),
            ("recovery_window_in_days", Value::Number(0.0)),
        ],
    );
    let state = create(&secrets, &desired).await;
    assert_eq!(
        state.get("recovery_window_in_days"),
        Some(&Value::Number(0.0))
    );
    // As the provider's read records a secret without tags.
    assert_eq!(state.get("tags"), Some(&Value::Map(Default::default())));
    secrets.delete(&state).await.unwrap();
    assert_eq!(secrets.read(&state).await.unwrap(), None);
    let err = client.describe_secret().secret_id(&name).send().await;
    assert!(err.is_err(), "the secret should be gone, not scheduled");
    // The name is free again at once.
    let again = create(&secrets, &desired).await;
    secrets.delete(&again).await.unwrap();

    let bad = config(
        secrets.schema(),
        vec![
            ("name", s(&name)),
            ("recovery_window_in_days", Value::Number(3.0)),
        ],
    );
    assert!(
        secrets
            .plan(None, &bad)
            .unwrap_err()
            .hint
            .unwrap_or_default()
            .contains("7 to 30")
    );
}

#[tokio::test]
async fn secret_version_lifecycle_keeps_the_value_sensitive() {
    let ctx = context().await;
    let client = sm(&ctx);
    let secrets = SecretResource::new(ctx.clone());
    let versions = SecretVersionResource::new(ctx.clone());
    let secret = create(
        &secrets,
        &config(
            secrets.schema(),
            vec![
                ("name", s(&unique("forge-ver"))),
                ("recovery_window_in_days", Value::Number(0.0)),
            ],
        ),
    )
    .await;
    let arn = secret.str_attr("arn").unwrap().to_string();
    let value = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let desired = config(
        versions.schema(),
        vec![
            ("secret_id", s(&arn)),
            ("secret_string", s(&value).sensitive()),
        ],
    );
    let state = create(&versions, &desired).await;
    let version_id = state.str_attr("version_id").unwrap().to_string();
    assert_eq!(
        state.str_attr("id"),
        Some(format!("{arn}|{version_id}").as_str())
    );
    assert!(
        state.get("secret_string").unwrap().is_sensitive(),
        "the value must stay marked sensitive"
    );
    assert_eq!(state.str_attr("secret_string"), Some(value.as_str()));
    assert!(!format!("{:?}", state.get("version_stages")).is_empty());
    let stages: Vec<&str> = state
        .get("version_stages")
        .unwrap()
        .as_seq()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(stages.contains(&"AWSCURRENT"), "{stages:?}");
    let live = read(&versions, &state).await;
    assert!(live.same_as(&state));
    assert_no_op(&versions, &live, &desired);

    // Outside forge a newer value is put: ours loses AWSCURRENT.
    client
        .put_secret_value()
        .secret_id(&arn)
        .secret_string("someone else's")
        .send()
        .await
        .unwrap();
    let drifted = read(&versions, &live).await;
    let drifted_stages: Vec<&str> = drifted
        .get("version_stages")
        .unwrap()
        .as_seq()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !drifted_stages.contains(&"AWSCURRENT"),
        "{drifted_stages:?}"
    );
    // The engine passes the stages as configured: asking for AWSCURRENT moves it back.
    let wants_current = config(
        versions.schema(),
        vec![
            ("secret_id", s(&arn)),
            ("secret_string", s(&value).sensitive()),
            ("version_stages", Value::Set(vec![s("AWSCURRENT")])),
        ],
    );
    let plan = versions.plan(Some(&drifted), &wants_current).unwrap();
    assert!(
        plan.requires_replace.is_empty(),
        "{:?}",
        plan.requires_replace
    );
    let repaired = versions
        .update(&drifted, &plan.planned)
        .await
        .expect("move AWSCURRENT back");
    let repaired_stages: Vec<&str> = repaired
        .get("version_stages")
        .unwrap()
        .as_seq()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        repaired_stages.contains(&"AWSCURRENT"),
        "{repaired_stages:?}"
    );
    let current = client
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(current.secret_string(), Some(value.as_str()));
    assert_no_op(&versions, &read(&versions, &repaired).await, &wants_current);

    // A new value replaces the version.
    let changed = config(
        versions.schema(),
        vec![
            ("secret_id", s(&arn)),
            ("secret_string", s("other").sensitive()),
        ],
    );
    assert_eq!(
        versions
            .plan(Some(&repaired), &changed)
            .unwrap()
            .requires_replace,
        vec!["secret_string".to_string()]
    );

    let imported = versions
        .import(&format!("{arn}|{version_id}"))
        .await
        .unwrap()
        .expect("imported");
    assert!(imported.same_as(&repaired));
    assert!(versions.import("no-bar").await.is_err());

    // Binary values round-trip through base64.
    let binary = config(
        versions.schema(),
        vec![
            ("secret_id", s(&arn)),
            ("secret_binary", s("AAECAwQ=").sensitive()),
        ],
    );
    let bin_state = create(&versions, &binary).await;
    assert_eq!(bin_state.str_attr("secret_binary"), Some("AAECAwQ="));
    assert!(bin_state.get("secret_binary").unwrap().is_sensitive());

    versions
        .delete(&repaired)
        .await
        .expect("delete keeps AWSCURRENT");
    versions.delete(&bin_state).await.expect("delete");
    secrets.delete(&secret).await.unwrap();
    // The secret is gone, so is the version.
    assert_eq!(versions.read(&repaired).await.unwrap(), None);
}

#[tokio::test]
async fn secret_version_errors_never_show_the_value() {
    let ctx = context().await;
    let versions = SecretVersionResource::new(ctx.clone());
    let value = "super-secret-value-do-not-print";
    let missing = config(
        versions.schema(),
        vec![
            ("secret_id", s(&unique("forge-missing"))),
            ("secret_string", s(value).sensitive()),
        ],
    );
    let plan = versions.plan(None, &missing).unwrap();
    let err = versions.create(&plan.planned).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(value),
        "the error shows the secret: {shown}"
    );
    assert!(err.hint.unwrap_or_default().contains("create it first"));
}

#[tokio::test]
async fn secret_default_tags_go_to_tags_all_only() {
    let ctx = context_with_default_tags(&[("env", "test")]).await;
    let secrets = SecretResource::new(ctx.clone());
    let desired = config(
        secrets.schema(),
        vec![
            ("name", s(&unique("forge-deftags"))),
            ("recovery_window_in_days", Value::Number(0.0)),
            ("tags", tags(&[("app", "api")])),
        ],
    );
    let state = create(&secrets, &desired).await;
    let live = read(&secrets, &state).await;
    assert!(live.get("tags").unwrap().same_as(&tags(&[("app", "api")])));
    assert!(
        live.get("tags_all")
            .unwrap()
            .same_as(&tags(&[("app", "api"), ("env", "test")]))
    );
    assert_no_op(&secrets, &live, &desired);
    secrets.delete(&live).await.unwrap();
    assert_eq!(secrets.read(&live).await.unwrap(), None);
}

#[tokio::test]
async fn data_sources_find_the_secret_and_its_current_value() {
    use forge_aws_secretsmanager::data_sources::{SecretDataSource, SecretVersionDataSource};
    use forge_provider::DataSourceType;
    let ctx = context().await;
    let secrets = SecretResource::new(ctx.clone());
    let versions = SecretVersionResource::new(ctx.clone());
    let name = unique("forge-ds");
    let secret = create(
        &secrets,
        &config(
            secrets.schema(),
            vec![
                ("name", s(&name)),
                ("description", s("looked up")),
                ("recovery_window_in_days", Value::Number(0.0)),
            ],
        ),
    )
    .await;
    let arn = secret.str_attr("arn").unwrap().to_string();
    let version = create(
        &versions,
        &config(
            versions.schema(),
            vec![
                ("secret_id", s(&arn)),
                ("secret_string", s("v1").sensitive()),
            ],
        ),
    )
    .await;

    let lookup = SecretDataSource::new(ctx.clone());
    let found = lookup
        .read(&config(lookup.schema(), vec![("name", s(&name))]))
        .await
        .unwrap();
    assert_eq!(found.str_attr("arn"), Some(arn.as_str()));
    assert_eq!(found.str_attr("description"), Some("looked up"));

    let values = SecretVersionDataSource::new(ctx.clone());
    let current = values
        .read(&config(values.schema(), vec![("secret_id", s(&arn))]))
        .await
        .unwrap();
    assert_eq!(current.str_attr("secret_string"), Some("v1"));
    assert!(current.get("secret_string").unwrap().is_sensitive());
    assert_eq!(
        current.str_attr("version_id"),
        version.str_attr("version_id")
    );

    secrets.delete(&secret).await.unwrap();
    let err = lookup
        .read(&config(lookup.schema(), vec![("name", s(&name))]))
        .await
        .unwrap_err();
    assert!(err.message.contains(&name), "{err}");
}

/// Deleting a version takes its staging labels away: AWS then treats it as deprecated
/// and forge reads it as gone. The version holding AWSCURRENT keeps that label, as in
/// Terraform, so the secret still has a value.
#[tokio::test]
async fn deleted_secret_version_loses_its_labels_and_reads_as_gone() {
    let ctx = context().await;
    let client = sm(&ctx);
    let secrets = SecretResource::new(ctx.clone());
    let versions = SecretVersionResource::new(ctx.clone());
    let secret = create(
        &secrets,
        &config(
            secrets.schema(),
            vec![
                ("name", s(&unique("forge-vdel"))),
                ("recovery_window_in_days", n(0.0)),
            ],
        ),
    )
    .await;
    let arn = secret.str_attr("arn").unwrap().to_string();
    let version = |value: &str| {
        config(
            versions.schema(),
            vec![
                ("secret_id", s(&arn)),
                ("secret_string", s(value).sensitive()),
            ],
        )
    };
    let first = create(&versions, &version("one")).await;
    let second = create(&versions, &version("two")).await;
    let first = read(&versions, &first).await;
    let stages = |v: &Value| {
        v.get("version_stages")
            .and_then(Value::as_seq)
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(stages(&first), vec!["AWSPREVIOUS".to_string()]);

    versions.delete(&first).await.expect("delete");
    assert_eq!(
        versions.read(&first).await.expect("read after delete"),
        None,
        "an unlabelled version is gone"
    );
    versions
        .delete(&first)
        .await
        .expect("deleting again succeeds");

    versions
        .delete(&second)
        .await
        .expect("delete the current version");
    let current = client
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        current.version_id(),
        second.str_attr("version_id"),
        "AWSCURRENT stays with the version"
    );
    secrets.delete(&secret).await.unwrap();
    assert_eq!(
        versions.read(&second).await.unwrap(),
        None,
        "with the secret gone, so is the version"
    );
}

#[tokio::test]
async fn secret_policy_lifecycle_beside_a_secret_that_leaves_its_policy_out() {
    use forge_aws_common::policy::policies_equivalent;
    use forge_aws_secretsmanager::secret_policy::SecretPolicyResource;

    let ctx = context().await;
    let client = sm(&ctx);
    let account = ctx.account_id().await.unwrap();
    let secrets = SecretResource::new(ctx.clone());
    let secret_cfg = config(
        secrets.schema(),
        vec![
            ("name", s(&unique("forge/spol"))),
            ("recovery_window_in_days", Value::Number(0.0)),
        ],
    );
    let secret = create(&secrets, &secret_cfg).await;
    let arn = secret.str_attr("arn").unwrap().to_string();

    let rt = SecretPolicyResource::new(ctx.clone());
    let policy = resource_policy(&account, "secretsmanager:GetSecretValue");
    let cfg = config(
        rt.schema(),
        vec![("secret_arn", s(&arn)), ("policy", s(&policy))],
    );
    let cycle = Lifecycle::new(&rt, cfg.clone());
    let live = cycle.create().await;
    assert_eq!(live.str_attr("id"), Some(arn.as_str()));
    // Recorded as the provider records it: normalised (compact, keys sorted).
    assert_eq!(
        live.str_attr("policy"),
        Some(forge_aws_common::policy::normalize_json_string(&policy).as_str())
    );
    assert_eq!(live.get("block_public_policy"), Some(&Value::Null));
    assert_replaced_when(
        &rt,
        &live,
        &cfg,
        "secret_arn",
        s("arn:aws:secretsmanager:us-east-1:000000000000:secret:other-AbCdEf"),
    );
    // block_public_policy is sent when set, and kept from the configuration.
    let blocking = config(
        rt.schema(),
        vec![
            ("secret_arn", s(&arn)),
            ("policy", s(&policy)),
            ("block_public_policy", Value::Bool(true)),
        ],
    );
    assert_plan_changes(&rt, &live, &blocking);
    let blocked = update(&rt, &live, &blocking).await;
    assert_eq!(blocked.get("block_public_policy"), Some(&Value::Bool(true)));
    assert_no_op(&rt, &read(&rt, &blocked).await, &blocking);
    let live = update(&rt, &blocked, &cfg).await;
    assert_eq!(live.get("block_public_policy"), Some(&Value::Null));

    // The secret leaves its policy out: it shows this resource's and plans no change.
    let secret_live = read(&secrets, &secret).await;
    assert!(
        policies_equivalent(secret_live.str_attr("policy").unwrap(), &policy),
        "{secret_live:?}"
    );
    assert_no_op(&secrets, &secret_live, &secret_cfg);

    let outside = resource_policy(&account, "secretsmanager:DescribeSecret");
    let repaired = cycle
        .drift_and_repair(
            &live,
            async {
                client
                    .put_resource_policy()
                    .secret_id(&arn)
                    .resource_policy(&outside)
                    .send()
                    .await
                    .unwrap();
            },
            |drifted| {
                assert!(policies_equivalent(
                    drifted.str_attr("policy").unwrap(),
                    &outside
                ))
            },
        )
        .await;
    // Removed outside forge: the provider reads policy "" (not gone), and the plan puts
    // it back in place.
    client
        .delete_resource_policy()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    let removed = read(&rt, &repaired).await;
    assert_eq!(removed.str_attr("policy"), Some(""));
    let plan = rt.plan(Some(&removed), &cfg).unwrap();
    assert!(plan.requires_replace.is_empty(), "{plan:?}");
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now(),
    };
    let planned = rt.plan(None, &cfg).unwrap().planned;
    assert_eq!(
        rt.find_created(&planned, &intent).await.unwrap(),
        forge_provider::Finding::Absent,
        "a secret without a policy is not a create's object"
    );
    let repaired = update(&rt, &removed, &cfg).await;
    assert_no_op(&rt, &read(&rt, &repaired).await, &cfg);
    // A create whose answer was lost finds the policy it put.
    match rt.find_created(&planned, &intent).await.unwrap() {
        forge_provider::Finding::Found(found) => assert_eq!(found.id, arn),
        other => panic!("expected the policy, found {other:?}"),
    }

    cycle.import(&arn, &repaired).await;
    let err = rt
        .import("forge/spol")
        .await
        .expect_err("import takes an ARN");
    assert!(err.message.contains("ARN"), "{err}");

    // Delete removes the policy; the secret stays and reads with none, as the provider's.
    rt.delete(&repaired).await.expect("delete");
    assert_eq!(read(&rt, &repaired).await.str_attr("policy"), Some(""));
    rt.delete(&repaired).await.expect("deleting again succeeds");
    secrets.delete(&secret).await.expect("delete secret");
    assert_eq!(rt.read(&repaired).await.unwrap(), None, "secret gone");
    rt.delete(&repaired)
        .await
        .expect("deleting with the secret gone succeeds");
}
