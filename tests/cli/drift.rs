//! Drift against the emulators: after an apply of a copy of `stacks/production`, six
//! objects are changed behind forge's back with the AWS SDK. The plan must name every one
//! with the attribute that moved (apart from what forge would do about it), a refresh-only
//! apply must take the changes into state without touching AWS, and a normal apply must
//! put everything back and converge.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;

use super::stacks::{
    Stacks, assert_destroy_order, drift_part, instance_attrs, s3_client, sdk_config, unique_id,
    unit_section,
};

/// What the test changed outside forge, read back from AWS.
#[derive(Debug, PartialEq)]
struct Live {
    visibility_timeout: String,
    notification_queues: usize,
    storage_policy_attached: bool,
    secret_exists: bool,
    runner_state: String,
    deployer_component_tag: String,
}

struct Clients {
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
    secrets: aws_sdk_secretsmanager::Client,
    ec2: aws_sdk_ec2::Client,
}

/// The names and ids of the objects the test drifts, from the states of the first apply.
struct Targets {
    queue_url: String,
    bucket: String,
    app_role: String,
    storage_policy_arn: String,
    secret_arn: String,
    runner_id: String,
    deployer_role: String,
}

impl Clients {
    async fn live(&self, t: &Targets) -> Live {
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(&t.queue_url)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .send()
            .await
            .expect("GetQueueAttributes");
        let visibility_timeout = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::VisibilityTimeout))
            .cloned()
            .unwrap_or_default();
        let notif = self
            .s3
            .get_bucket_notification_configuration()
            .bucket(&t.bucket)
            .send()
            .await
            .expect("GetBucketNotificationConfiguration");
        let attached = self
            .iam
            .list_attached_role_policies()
            .role_name(&t.app_role)
            .send()
            .await
            .expect("ListAttachedRolePolicies");
        let storage_policy_attached = attached
            .attached_policies()
            .iter()
            .any(|p| p.policy_arn() == Some(t.storage_policy_arn.as_str()));
        // The secret is looked up by name: after a repair it has a new ARN suffix.
        let secret_name = t
            .secret_arn
            .rsplit_once(":secret:")
            .map(|(_, n)| n[..n.len() - 7].to_string())
            .expect("secret ARN");
        let secret_exists = match self
            .secrets
            .describe_secret()
            .secret_id(&secret_name)
            .send()
            .await
        {
            Ok(s) => s.deleted_date().is_none(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                false
            }
            Err(e) => panic!("DescribeSecret {secret_name}: {e:?}"),
        };
        let instances = self
            .ec2
            .describe_instances()
            .instance_ids(&t.runner_id)
            .send()
            .await
            .expect("DescribeInstances");
        let runner_state = instances
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter_map(|i| {
                i.state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_string())
            })
            .next()
            .unwrap_or_else(|| "absent".into());
        let tags = self
            .iam
            .list_role_tags()
            .role_name(&t.deployer_role)
            .send()
            .await
            .expect("ListRoleTags");
        let deployer_component_tag = tags
            .tags()
            .iter()
            .find(|t| t.key() == "Component")
            .map(|t| t.value().to_string())
            .unwrap_or_default();
        Live {
            visibility_timeout,
            notification_queues: notif.queue_configurations().len(),
            storage_policy_attached,
            secret_exists,
            runner_state,
            deployer_component_tag,
        }
    }
}

fn str_attr(state: &serde_json::Value, type_name: &str, name: &str, attr: &str) -> String {
    instance_attrs(state, type_name, name)
        .and_then(|a| a[attr].as_str())
        .unwrap_or_else(|| panic!("{type_name}.{name}.{attr} not in state:\n{state:#}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_drift_is_reported_accepted_with_refresh_only_and_repaired() {
    let stacks = Stacks::new();
    let env = format!("dr{}", &unique_id()[..8]);
    stacks.add_production_copy(&env);
    let cfg = sdk_config().await;
    let aws = Clients {
        sqs: aws_sdk_sqs::Client::new(&cfg),
        s3: s3_client(&cfg),
        iam: aws_sdk_iam::Client::new(&cfg),
        secrets: aws_sdk_secretsmanager::Client::new(&cfg),
        ec2: aws_sdk_ec2::Client::new(&cfg),
    };

    let (code, out) = stacks.forge(&["apply", &env, "--auto-approve"]);
    assert_eq!(code, 0, "apply failed:\n{out}");

    let state = |unit: &'static str| {
        let (stacks, s3, env) = (&stacks, &aws.s3, env.clone());
        async move {
            stacks
                .state(s3, &env, unit)
                .await
                .unwrap_or_else(|| panic!("no state for {unit}"))
        }
    };
    let t = Targets {
        queue_url: str_attr(
            &state("sqs-notifications").await,
            "aws_sqs_queue",
            "file_upload",
            "id",
        ),
        bucket: str_attr(&state("s3-storage").await, "aws_s3_bucket", "files", "id"),
        app_role: str_attr(&state("iam").await, "aws_iam_role", "app", "id"),
        storage_policy_arn: str_attr(&state("iam").await, "aws_iam_policy", "storage", "arn"),
        secret_arn: str_attr(
            &state("secret-manager").await,
            "aws_secretsmanager_secret",
            "jwt",
            "arn",
        ),
        runner_id: str_attr(
            &state("ec2-self-hosted").await,
            "aws_instance",
            "runner",
            "id",
        ),
        deployer_role: str_attr(&state("roles").await, "aws_iam_role", "deployer", "id"),
    };
    let applied = Live {
        visibility_timeout: "60".into(),
        notification_queues: 1,
        storage_policy_attached: true,
        secret_exists: true,
        runner_state: "running".into(),
        deployer_component_tag: "roles".into(),
    };
    assert_eq!(
        aws.live(&t).await,
        applied,
        "the first apply did not make what the configuration says"
    );

    // Six changes made outside forge.
    aws.sqs
        .set_queue_attributes()
        .queue_url(&t.queue_url)
        .attributes(QueueAttributeName::VisibilityTimeout, "45")
        .send()
        .await
        .expect("SetQueueAttributes");
    aws.s3
        .put_bucket_notification_configuration()
        .bucket(&t.bucket)
        .notification_configuration(aws_sdk_s3::types::NotificationConfiguration::builder().build())
        .send()
        .await
        .expect("PutBucketNotificationConfiguration");
    aws.iam
        .detach_role_policy()
        .role_name(&t.app_role)
        .policy_arn(&t.storage_policy_arn)
        .send()
        .await
        .expect("DetachRolePolicy");
    aws.secrets
        .delete_secret()
        .secret_id(&t.secret_arn)
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("DeleteSecret");
    aws.ec2
        .terminate_instances()
        .instance_ids(&t.runner_id)
        .send()
        .await
        .expect("TerminateInstances");
    let tag = aws_sdk_iam::types::Tag::builder()
        .key("Component")
        .value("hand-edited")
        .build()
        .expect("tag");
    aws.iam
        .tag_role()
        .role_name(&t.deployer_role)
        .tags(tag)
        .send()
        .await
        .expect("TagRole");
    let drifted = aws.live(&t).await;
    assert_eq!(drifted.visibility_timeout, "45");
    assert!(
        drifted.runner_state == "terminated" || drifted.runner_state == "shutting-down",
        "{drifted:?}"
    );

    // The plan reports every change, attribute by attribute, before what it would do.
    let (code, out) = stacks.forge(&["plan", &env, "--detailed-exitcode"]);
    assert_eq!(code, 2, "a plan after drift must exit 2:\n{out}");
    let expect_drift = |unit: &str, needles: &[&str]| {
        let section = unit_section(&out, unit);
        let drift = drift_part(section);
        for n in needles {
            let re = regex::Regex::new(n).expect("regex");
            assert!(
                re.is_match(drift),
                "unit {unit}: the drift section lacks /{n}/:\n{section}"
            );
        }
        drift.to_string()
    };
    let sqs = expect_drift(
        "sqs-notifications",
        &[
            r"# aws_sqs_queue\.file_upload has changed",
            r"~ visibility_timeout_seconds\s+= 60 -> 45",
        ],
    );
    // The queue's policy attribute was set by aws_sqs_queue_policy, by forge: not news.
    assert!(
        !sqs.contains("policy"),
        "the queue policy forge set itself is reported as drift:\n{sqs}"
    );
    expect_drift(
        "s3-storage",
        &[
            r"# aws_s3_bucket_notification\.files has changed",
            r#"(?s)~ queue\s+= \[\n\s+- \{\n.*- id\s+= "csv-uploads""#,
        ],
    );
    expect_drift(
        "iam",
        &[
            r"# aws_iam_role_policy_attachment\.storage has been deleted",
            &format!(
                r#"- policy_arn = "{}" -> null"#,
                regex::escape(&t.storage_policy_arn)
            ),
        ],
    );
    let secret = expect_drift(
        "secret-manager",
        &[
            r"# aws_secretsmanager_secret\.jwt has been deleted",
            &format!(r#"- arn\s+= "{}" -> null"#, regex::escape(&t.secret_arn)),
            r"# aws_secretsmanager_secret_version\.jwt has been deleted",
            r"- secret_string\s+= \(sensitive value\) -> null",
        ],
    );
    assert!(
        !secret.contains("signing_key"),
        "the secret's value reached the terminal:\n{secret}"
    );
    expect_drift(
        "ec2-self-hosted",
        &[
            r"# aws_instance\.runner has been deleted",
            &format!(r#"- id\s+= "{}" -> null"#, t.runner_id),
        ],
    );
    expect_drift(
        "roles",
        &[
            r"# aws_iam_role\.deployer has changed",
            r#"~ "Component"\s+= "roles" -> "hand-edited""#,
        ],
    );
    // And, apart from the drift, what forge will do about it.
    for (unit, action) in [
        (
            "sqs-notifications",
            r"(?s)# aws_sqs_queue\.file_upload will be updated in-place.*~ visibility_timeout_seconds\s+= 45 -> 60",
        ),
        (
            "s3-storage",
            r"(?s)# aws_s3_bucket_notification\.files will be updated in-place.*~ queue\s+= \[\n\s+\+ \{",
        ),
        (
            "iam",
            r"# aws_iam_role_policy_attachment\.storage will be created",
        ),
        (
            "secret-manager",
            r"# aws_secretsmanager_secret\.jwt will be created",
        ),
        ("ec2-self-hosted", r"# aws_instance\.runner will be created"),
        (
            "roles",
            r#"(?s)# aws_iam_role\.deployer will be updated in-place.*~ "Component"\s+= "hand-edited" -> "roles""#,
        ),
    ] {
        let section = unit_section(&out, unit);
        let actions = &section[section
            .find("forge will perform the following actions")
            .unwrap_or_else(|| panic!("unit {unit}: no actions:\n{section}"))..];
        assert!(
            regex::Regex::new(action).expect("regex").is_match(actions),
            "unit {unit}: the actions lack /{action}/:\n{section}"
        );
    }
    assert!(
        drift_part(unit_section(&out, "policies")).is_empty(),
        "{out}"
    );

    // `forge drift` reports the same drift, unit by unit, while another run holds a lock
    // (it takes none) and without writing anything (every state stays as it was).
    let root = std::fs::read_to_string(stacks.dir.path().join("stacks/terragrunt.hcl"))
        .expect("root terragrunt.hcl");
    let table = regex::Regex::new(r#"dynamodb_table\s*=\s*"([^"]+)""#)
        .expect("regex")
        .captures(&root)
        .map(|c| c[1].to_string())
        .expect("the lock table");
    let dynamo = aws_sdk_dynamodb::Client::new(&cfg);
    let held = format!(
        "{}/{env}/sqs-notifications/terraform.tfstate",
        stacks.state_bucket
    );
    let holder = r#"{"ID":"9e5b1c7e-0000-4000-8000-000000000001","Operation":"OperationTypeApply","Info":"","Who":"someone@elsewhere","Version":"1.11.4","Created":"2026-12-07T00:00:00Z","Path":"x"}"#;
    dynamo
        .put_item()
        .table_name(&table)
        .item("LockID", AttributeValue::S(held.clone()))
        .item("Info", AttributeValue::S(holder.to_string()))
        .send()
        .await
        .expect("PutItem");
    let mut states_before = Vec::new();
    for unit in super::stacks::UNITS {
        states_before.push(stacks.state(&aws.s3, &env, unit).await);
    }
    let drift = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_forge"))
            .arg("drift")
            .args(args)
            .current_dir(stacks.dir.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("run forge drift");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, json_report, err) = drift(&[&env, "--format", "json"]);
    assert_eq!(code, 2, "drift must exit 2:\n{json_report}{err}");
    let report: serde_json::Value = serde_json::from_str(&json_report).expect("a JSON report");
    let objects = |unit: &str| -> Vec<serde_json::Value> {
        report["units"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| u["unit"] == unit)
            .and_then(|u| u["objects"].as_array().cloned())
            .unwrap_or_else(|| panic!("unit {unit} is not in the report: {report:#}"))
    };
    let queue = objects("sqs-notifications");
    assert_eq!(
        queue,
        vec![serde_json::json!({
            "address": "aws_sqs_queue.file_upload",
            "drift": "changed",
            "attributes": [{"path": "visibility_timeout_seconds", "before": 60, "after": 45}],
        })],
        "{report:#}"
    );
    let drifted = |unit: &str, address: &str, kind: &str| {
        assert!(
            objects(unit)
                .iter()
                .any(|o| o["address"] == address && o["drift"] == kind),
            "{unit}: {address} is not reported {kind}: {report:#}"
        );
    };
    drifted("s3-storage", "aws_s3_bucket_notification.files", "changed");
    drifted("iam", "aws_iam_role_policy_attachment.storage", "deleted");
    drifted("secret-manager", "aws_secretsmanager_secret.jwt", "deleted");
    drifted(
        "secret-manager",
        "aws_secretsmanager_secret_version.jwt",
        "deleted",
    );
    drifted("ec2-self-hosted", "aws_instance.runner", "deleted");
    assert!(
        objects("roles").iter().any(|o| o["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["path"] == "tags.Component" && a["after"] == "hand-edited")),
        "{report:#}"
    );
    assert!(
        report["failed_units"] == serde_json::json!([]) && !json_report.contains("signing_key"),
        "{report:#}"
    );
    for (unit, before) in super::stacks::UNITS.iter().zip(&states_before) {
        assert_eq!(
            &stacks.state(&aws.s3, &env, unit).await,
            before,
            "forge drift changed the state of {unit}"
        );
    }
    let lock = dynamo
        .get_item()
        .table_name(&table)
        .key("LockID", AttributeValue::S(held.clone()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    assert_eq!(
        lock.item
            .and_then(|i| i.get("Info").and_then(|v| v.as_s().ok().cloned())),
        Some(holder.to_string()),
        "forge drift touched another run's lock"
    );
    dynamo
        .delete_item()
        .table_name(&table)
        .key("LockID", AttributeValue::S(held))
        .send()
        .await
        .expect("DeleteItem");
    // Markdown for a ticket; the text says the same.
    let (code, markdown, _) = drift(&[&env, "--format", "markdown"]);
    assert_eq!(code, 2, "{markdown}");
    assert!(
        markdown.contains("| sqs-notifications | `aws_sqs_queue.file_upload` | changed | `visibility_timeout_seconds` | 60 | 45 |"),
        "{markdown}"
    );
    let (code, text, _) = drift(&[&env]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("~ aws_sqs_queue.file_upload changed outside forge")
            && text.contains("- aws_instance.runner was deleted outside forge"),
        "{text}"
    );
    // Against the report just written, nothing is new.
    let earlier = stacks.dir.path().join("drift.json");
    std::fs::write(&earlier, &json_report).expect("write the report");
    let (code, text, err) = drift(&[&env, "--since", &earlier.display().to_string()]);
    assert_eq!(code, 0, "{text}{err}");
    assert!(text.contains("No drift"), "{text}");

    // A refresh-only plan shows the same drift and proposes nothing for AWS.
    let (code, out) = stacks.forge(&["plan", &env, "--refresh-only", "--detailed-exitcode"]);
    assert_eq!(
        code, 2,
        "a refresh-only plan after drift must exit 2:\n{out}"
    );
    assert!(
        !out.contains("forge will perform the following actions"),
        "{out}"
    );
    for unit in [
        "sqs-notifications",
        "s3-storage",
        "iam",
        "secret-manager",
        "ec2-self-hosted",
        "roles",
    ] {
        assert!(
            !drift_part(unit_section(&out, unit)).is_empty(),
            "unit {unit}: no drift in the refresh-only plan:\n{out}"
        );
    }

    // Accepting the drift changes state only.
    let (code, out) = stacks.forge(&["apply", &env, "--refresh-only", "--auto-approve"]);
    assert_eq!(code, 0, "refresh-only apply failed:\n{out}");
    assert!(
        out.contains("Apply complete! Resources: 0 added, 0 changed, 0 destroyed."),
        "{out}"
    );
    assert!(
        out.contains(
            "secret-manager: 0 added, 0 changed, 0 destroyed, 2 drifted object(s) recorded"
        ),
        "{out}"
    );
    // The runner's outputs are gone with it: the report must not claim they will be known.
    assert!(out.contains("  output instance_id: not recorded"), "{out}");
    assert!(
        !out[out.find("\nec2-fast-api-jwt: ").expect("report")..].contains("(known after apply)"),
        "{out}"
    );
    let after_refresh = aws.live(&t).await;
    assert_eq!(
        after_refresh,
        Live {
            visibility_timeout: "45".into(),
            notification_queues: 0,
            storage_policy_attached: false,
            secret_exists: false,
            runner_state: after_refresh.runner_state.clone(),
            deployer_component_tag: "hand-edited".into(),
        },
        "a refresh-only apply changed AWS"
    );
    assert_ne!(
        after_refresh.runner_state, "running",
        "a refresh-only apply started the runner again"
    );
    let sqs_state = state("sqs-notifications").await;
    assert_eq!(
        instance_attrs(&sqs_state, "aws_sqs_queue", "file_upload")
            .map(|a| a["visibility_timeout_seconds"].clone()),
        Some(45.into()),
        "{sqs_state:#}"
    );
    let s3_state = state("s3-storage").await;
    assert_eq!(
        instance_attrs(&s3_state, "aws_s3_bucket_notification", "files")
            .map(|a| a["queue"].clone()),
        Some(serde_json::json!([])),
        "{s3_state:#}"
    );
    assert!(
        instance_attrs(
            &state("iam").await,
            "aws_iam_role_policy_attachment",
            "storage"
        )
        .is_none(),
        "the detached policy is still in state"
    );
    let secret_state = state("secret-manager").await;
    assert!(
        instance_attrs(&secret_state, "aws_secretsmanager_secret", "jwt").is_none(),
        "{secret_state:#}"
    );
    assert!(
        instance_attrs(&secret_state, "aws_secretsmanager_secret_version", "jwt").is_none(),
        "{secret_state:#}"
    );
    assert!(
        instance_attrs(&state("ec2-self-hosted").await, "aws_instance", "runner").is_none(),
        "the terminated runner is still in state"
    );
    let roles_state = state("roles").await;
    assert_eq!(
        instance_attrs(&roles_state, "aws_iam_role", "deployer")
            .map(|a| a["tags"]["Component"].clone()),
        Some("hand-edited".into()),
        "{roles_state:#}"
    );

    // Nothing left to accept; the normal plan now only proposes the repair.
    let (code, out) = stacks.forge(&["plan", &env, "--refresh-only", "--detailed-exitcode"]);
    assert_eq!(
        code, 0,
        "drift remains after the refresh-only apply:\n{out}"
    );
    let (code, out) = stacks.forge(&["plan", &env, "--detailed-exitcode"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        !out.contains("changes made outside of forge"),
        "accepted drift is reported again:\n{out}"
    );
    // Accepted drift is no drift, though the plan still has changes to make.
    let (code, text, err) = drift(&[&env]);
    assert_eq!(code, 0, "accepted drift is reported again:\n{text}{err}");
    assert!(text.contains("No drift"), "{text}");

    // The repair.
    let (code, out) = stacks.forge(&["apply", &env, "--auto-approve"]);
    assert_eq!(code, 0, "the repair failed:\n{out}");
    assert!(out.contains("Apply complete!"), "{out}");
    let (code, out) = stacks.forge(&["plan", &env, "--detailed-exitcode"]);
    assert_eq!(code, 0, "the plan after the repair is not empty:\n{out}");
    for unit in super::stacks::UNITS {
        assert!(
            unit_section(&out, unit)
                .contains("No changes. The infrastructure matches the configuration."),
            "unit {unit}:\n{out}"
        );
    }
    let mut t = t;
    t.runner_id = str_attr(
        &state("ec2-self-hosted").await,
        "aws_instance",
        "runner",
        "id",
    );
    t.secret_arn = str_attr(
        &state("secret-manager").await,
        "aws_secretsmanager_secret",
        "jwt",
        "arn",
    );
    assert_eq!(
        aws.live(&t).await,
        applied,
        "the repair did not restore what the configuration says"
    );

    let (code, out) = stacks.forge(&["destroy", &env, "--auto-approve"]);
    assert_eq!(code, 0, "destroy failed:\n{out}");
    assert!(
        out.contains("Destroy complete! Resources: 0 added, 0 changed, 24 destroyed."),
        "{out}"
    );
    assert_destroy_order(&out);
    stacks.forget(&cfg, &env).await;
}
