//! `forge drift --unmanaged` against the emulators: objects that carry the environment's
//! default tags (or a name prefix) and that no state records are listed with an `import`
//! block each; what a state records, and what carries other tags, is not. The import
//! block printed adopts the object, after which it is no longer listed.

use super::World;
use crate::emulator::unique;

fn main_tf(name: &str, adopted: &str) -> String {
    format!(
        r#"provider "aws" {{
  region = "us-east-1"
  default_tags {{
    tags = {{ Env = "{name}" }}
  }}
}}

resource "aws_sqs_queue" "kept" {{
  name = "{name}-kept"
}}
{adopted}"#
    )
}

fn unmanaged_ids(report: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = report["unmanaged"]
        .as_array()
        .unwrap_or_else(|| panic!("no unmanaged list: {report:#}"))
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                o["type"].as_str().unwrap_or(""),
                o["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn cli_drift_unmanaged_lists_marked_objects_no_state_records() {
    let name = unique("um")[..14].to_string();
    let cfg = crate::emulator::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&cfg)
            .force_path_style(true)
            .build(),
    );
    let iam = aws_sdk_iam::Client::new(&cfg);
    let ec2 = aws_sdk_ec2::Client::new(&cfg);

    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        ("env/u/main.tf", &main_tf(&name, "")),
    ]);
    let run = w.forge(&["apply", "env", "-auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.all());

    // Made behind forge's back: five with the environment's tag, one with only the
    // prefix, one with another environment's tag.
    let tagged = |q: aws_sdk_sqs::operation::create_queue::builders::CreateQueueFluentBuilder,
                  env: &str| q.tags("Env", env);
    let stray_queue = tagged(
        sqs.create_queue().queue_name(format!("{name}-stray")),
        &name,
    )
    .send()
    .await
    .expect("CreateQueue")
    .queue_url()
    .expect("url")
    .to_string();
    let prefixed_queue = sqs
        .create_queue()
        .queue_name(format!("{name}-pre"))
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .expect("url")
        .to_string();
    let other_queue = tagged(
        sqs.create_queue().queue_name(format!("{name}-other")),
        "elsewhere",
    )
    .send()
    .await
    .expect("CreateQueue")
    .queue_url()
    .expect("url")
    .to_string();
    let bucket = format!("{name}-stray");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    s3.put_bucket_tagging()
        .bucket(&bucket)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key("Env")
                        .value(&name)
                        .build()
                        .expect("tag"),
                )
                .build()
                .expect("tagging"),
        )
        .send()
        .await
        .expect("PutBucketTagging");
    let role = format!("{name}-stray");
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .tags(aws_sdk_iam::types::Tag::builder().key("Env").value(&name).build().expect("tag"))
        .send()
        .await
        .expect("CreateRole");
    let group = ec2
        .create_security_group()
        .group_name(format!("{name}-stray"))
        .description("unmanaged")
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::SecurityGroup)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Env")
                        .value(&name)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id()
        .expect("group id")
        .to_string();

    let volume = ec2
        .create_volume()
        .availability_zone("us-east-1a")
        .size(1)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Volume)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Env")
                        .value(&name)
                        .build(),
                )
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value(format!("{name}-stray"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateVolume")
        .volume_id()
        .expect("volume id")
        .to_string();

    let report = |extra: &[&str]| {
        let mut args = vec!["drift", "env", "--unmanaged", "--format", "json"];
        args.extend_from_slice(extra);
        let run = w.forge(&args);
        let json: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.all()));
        (run.code, json, run.stdout)
    };
    let (code, first, _) = report(&[]);
    assert_eq!(code, 2, "unmanaged objects are drift: {first:#}");
    let stray = |t: &str| format!("{t} {name}-stray");
    assert_eq!(
        unmanaged_ids(&first),
        [
            stray("aws_ebs_volume"),
            stray("aws_iam_role"),
            stray("aws_s3_bucket"),
            stray("aws_security_group"),
            stray("aws_sqs_queue"),
        ],
        "{first:#}"
    );
    let queue_entry = first["unmanaged"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["type"] == "aws_sqs_queue")
        .expect("the stray queue");
    assert_eq!(queue_entry["id"], stray_queue.as_str());
    assert_eq!(
        queue_entry["marked_by"],
        format!("tags Env={name}").as_str()
    );
    let resource_name = format!("{}_stray", name.replace('-', "_"));
    assert_eq!(
        queue_entry["import"],
        format!("import {{\n  to = aws_sqs_queue.{resource_name}\n  id = \"{stray_queue}\"\n}}\n")
            .as_str()
    );

    // The prefix marks the untagged queue too; the other environment's queue stays out.
    let (code, second, second_text) = report(&["--name-prefix", &format!("{name}-pre")]);
    assert_eq!(code, 2);
    assert!(
        unmanaged_ids(&second).contains(&format!("aws_sqs_queue {name}-pre")),
        "{second:#}"
    );
    assert!(!second_text.contains(&other_queue), "{second:#}");
    // Nothing new since that report: exit 0.
    let earlier = w.path("earlier.json");
    std::fs::write(&earlier, &second_text).expect("write the report");
    let earlier = earlier.to_str().expect("utf-8").to_string();
    let (code, since, _) = report(&["--name-prefix", &format!("{name}-pre"), "--since", &earlier]);
    assert_eq!(code, 0, "{since:#}");
    assert_eq!(since["unmanaged"], serde_json::json!([]));

    // The text report prints the import blocks; adopting the queue with one takes it off
    // the list.
    let text = w.forge(&["drift", "env", "--unmanaged"]);
    assert_eq!(text.code, 2, "{}", text.all());
    assert!(
        text.stdout
            .contains(&format!("to = aws_sqs_queue.{resource_name}")),
        "{}",
        text.stdout
    );
    let adopted = format!(
        "\nimport {{\n  to = aws_sqs_queue.{resource_name}\n  id = \"{stray_queue}\"\n}}\n\nresource \"aws_sqs_queue\" \"{resource_name}\" {{\n  name = \"{name}-stray\"\n}}\n"
    );
    w.write(&[("env/u/main.tf", &main_tf(&name, &adopted))]);
    let run = w.forge(&["apply", "env", "-auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.all().contains("1 imported"), "{}", run.all());
    let (_, after, _) = report(&[]);
    assert!(
        !unmanaged_ids(&after).contains(&stray("aws_sqs_queue")),
        "{after:#}"
    );
    assert!(
        unmanaged_ids(&after).contains(&stray("aws_s3_bucket")),
        "{after:#}"
    );

    let run = w.forge(&["destroy", "env", "-auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.all());
    for url in [&prefixed_queue, &other_queue] {
        sqs.delete_queue()
            .queue_url(url)
            .send()
            .await
            .expect("DeleteQueue");
    }
    s3.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("DeleteBucket");
    iam.delete_role()
        .role_name(&role)
        .send()
        .await
        .expect("DeleteRole");
    ec2.delete_volume()
        .volume_id(&volume)
        .send()
        .await
        .expect("DeleteVolume");
    ec2.delete_security_group()
        .group_id(&group)
        .send()
        .await
        .expect("DeleteSecurityGroup");
}

/// Without default tags and without a prefix nothing tells the environment's objects
/// from others: refused, saying what to add.
#[test]
fn cli_drift_unmanaged_without_marks_is_refused() {
    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        (
            "env/u/main.tf",
            "provider \"aws\" {\n  region = \"us-east-1\"\n}\nresource \"aws_sqs_queue\" \"q\" {\n  name = \"never-made\"\n}\n",
        ),
    ]);
    let run = w.forge(&["drift", "env", "--unmanaged"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("no provider configuration has default_tags"),
        "{}",
        run.all()
    );
    assert!(run.stderr.contains("--name-prefix"), "{}", run.all());
}
