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

/// A stored (uncompressed) zip archive holding one file, as Lambda takes code.
fn one_file_zip(name: &str, body: &[u8]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let crc = crc32(body);
    let (n, size) = (name.len() as u16, body.len() as u32);
    let mut out = Vec::new();
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(body);
    let central_at = out.len() as u32;
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    let central_size = out.len() as u32 - central_at;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A Lambda function on the emulator (CreateFunction over plain HTTP: forge has no Lambda
/// client), returning its ARN. LocalStack creates it without Docker but cannot run it;
/// its `lambda` service must be enabled (SERVICES in localstack/emulators.sh).
fn rotation_function(account: &str, name: &str) -> String {
    use base64::Engine as _;
    use std::io::{Read, Write};
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let host = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let zip = one_file_zip("index.py", b"def handler(event, context):\n    return {}\n");
    let body = serde_json::json!({
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": format!("arn:aws:iam::{account}:role/forge-rotation"),
        "Handler": "index.handler",
        "Code": {"ZipFile": base64::engine::general_purpose::STANDARD.encode(zip)},
    })
    .to_string();
    let request = format!(
        "POST /2015-03-31/functions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(&host).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "CreateFunction on the emulator failed (is `lambda` in LocalStack's SERVICES?):\n{answer}"
    );
    format!("arn:aws:lambda:us-east-1:{account}:function:{name}")
}

/// What a rotation function's last step does: the AWSPENDING label leaves the new
/// version. LocalStack cannot run the function (no Docker), so a rotation started at
/// once stays pending, and the next RotateSecret is refused as "still in progress".
async fn finish_rotation(client: &aws_sdk_secretsmanager::Client, arn: &str) {
    let out = client
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .unwrap();
    for (version, stages) in out.version_ids_to_stages().into_iter().flatten() {
        if stages.iter().any(|s| s == "AWSPENDING") {
            client
                .update_secret_version_stage()
                .secret_id(arn)
                .version_stage("AWSPENDING")
                .remove_from_version_id(version)
                .send()
                .await
                .unwrap();
        }
    }
}

fn rotation_rules(ty: &dyn ResourceType, days: f64) -> Value {
    let rule = block(
        &ty.schema().blocks["rotation_rules"].schema,
        vec![("automatically_after_days", Value::Number(days))],
    );
    Value::List(vec![rule])
}

/// `aws_secretsmanager_secret_rotation` on LocalStack: RotateSecret with the function and
/// rules, read back from DescribeSecret, a second plan that changes nothing, rules changed
/// outside forge read as drift and repaired, new rules in place and another secret
/// replacing, import by the secret's ARN, CancelRotateSecret on delete and the rotation
/// read as gone. Every rotation here starts at once (`rotate_immediately` true, the
/// default): LocalStack 4.14 answers RotateSecret with `RotateImmediately=false` with an
/// InternalError after applying it (a bug in its handler), so that setting is only
/// checked at plan.
#[tokio::test]
async fn secret_rotation_lifecycle() {
    use forge_aws_secretsmanager::secret_rotation::SecretRotationResource;

    let ctx = context().await;
    let client = sm(&ctx);
    let account = ctx.account_id().await.unwrap();
    let name = unique("forge/rotated");
    let arn = client
        .create_secret()
        .name(&name)
        .secret_string("initial")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let function = rotation_function(&account, &unique("forge-rotate"));
    let rt = SecretRotationResource::new(ctx.clone());
    let cfg = config(
        rt.schema(),
        vec![
            ("secret_id", s(&arn)),
            ("rotation_lambda_arn", s(&function)),
            ("rotation_rules", rotation_rules(&rt, 7.0)),
        ],
    );
    let plan = rt.plan(None, &cfg).unwrap();
    assert_eq!(
        plan.planned.get("rotate_immediately"),
        Some(&Value::Bool(true))
    );
    let cycle = Lifecycle::new(&rt, cfg.clone());
    let live = cycle.create().await;
    assert_eq!(live.str_attr("id"), Some(arn.as_str()));
    assert_eq!(live.get("rotation_enabled"), Some(&Value::Bool(true)));
    assert_replaced_when(
        &rt,
        &live,
        &cfg,
        "secret_id",
        s("arn:aws:secretsmanager:us-east-1:000000000000:secret:other-AbCdEf"),
    );
    finish_rotation(&client, &arn).await;

    let repaired = cycle
        .drift_and_repair(
            &live,
            async {
                client
                    .rotate_secret()
                    .secret_id(&arn)
                    .rotation_rules(
                        aws_sdk_secretsmanager::types::RotationRulesType::builder()
                            .automatically_after_days(30)
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
                finish_rotation(&client, &arn).await;
            },
            |drifted| {
                let rules = drifted
                    .get("rotation_rules")
                    .and_then(Value::as_seq)
                    .unwrap();
                assert_eq!(
                    rules[0].get("automatically_after_days"),
                    Some(&Value::Number(30.0))
                );
            },
        )
        .await;
    finish_rotation(&client, &arn).await;

    // New rules: in place, one RotateSecret.
    let fortnightly = config(
        rt.schema(),
        vec![
            ("secret_id", s(&arn)),
            ("rotation_lambda_arn", s(&function)),
            ("rotation_rules", rotation_rules(&rt, 14.0)),
        ],
    );
    let updated = update(&rt, &repaired, &fortnightly).await;
    let rules = updated
        .get("rotation_rules")
        .and_then(Value::as_seq)
        .unwrap();
    assert_eq!(
        rules[0].get("automatically_after_days"),
        Some(&Value::Number(14.0))
    );
    assert_no_op(&rt, &read(&rt, &updated).await, &fortnightly);
    // rotate_immediately alone changes state only: no call (a pending rotation would
    // refuse one).
    let later = config(
        rt.schema(),
        vec![
            ("secret_id", s(&arn)),
            ("rotation_lambda_arn", s(&function)),
            ("rotation_rules", rotation_rules(&rt, 14.0)),
            ("rotate_immediately", Value::Bool(false)),
        ],
    );
    let recorded = update(&rt, &updated, &later).await;
    assert_eq!(
        recorded.get("rotate_immediately"),
        Some(&Value::Bool(false))
    );

    let imported = Lifecycle::new(&rt, fortnightly.clone())
        .ignoring_on_import(&["rotate_immediately"])
        .import(&arn, &updated)
        .await;
    assert_eq!(imported.get("rotate_immediately"), Some(&Value::Bool(true)));
    let intent = forge_provider::CreateIntent {
        token: "t".into(),
        started: std::time::SystemTime::now(),
    };
    assert!(matches!(
        rt.find_created(&fortnightly, &intent).await.unwrap(),
        forge_provider::Finding::Found(_)
    ));
    cycle.delete(&updated).await;
    assert_eq!(
        rt.find_created(&fortnightly, &intent).await.unwrap(),
        forge_provider::Finding::Absent
    );
    assert_eq!(
        rt.import(&arn).await.unwrap(),
        None,
        "no rotation to import"
    );

    // Both schedules at once, or none, are refused at plan.
    let rule_schema = &rt.schema().blocks["rotation_rules"].schema;
    let both = config(
        rt.schema(),
        vec![
            ("secret_id", s(&arn)),
            (
                "rotation_rules",
                Value::List(vec![block(
                    rule_schema,
                    vec![
                        ("automatically_after_days", Value::Number(7.0)),
                        ("schedule_expression", s("rate(7 days)")),
                    ],
                )]),
            ),
        ],
    );
    assert!(rt.plan(None, &both).is_err());
    client
        .delete_secret()
        .secret_id(&arn)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
}
