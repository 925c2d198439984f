//! Eventual consistency, as real AWS shows it and the emulators do not, simulated by
//! `FORGE_FAULT_EVENTUAL` (the providers' clients answer, for a window after a write, the
//! calls that use what it made as AWS does while it propagates):
//! - RunInstances refuses a just-made instance profile ("Invalid IAM Instance Profile
//!   name"): forge retries it for as long as IAM takes to propagate;
//! - a just-made security group is `InvalidGroup.NotFound` to the calls naming it: forge
//!   waits until it is visible before adding its rules;
//! - GetQueueAttributes reads back the attributes a queue had before SetQueueAttributes:
//!   forge reads until the queue shows what was set, and never records the old values;
//! - a bucket's settings (tags, versioning, ...) read back as they were before a write:
//!   forge reads until the bucket shows what was set.
//! - AssumeRole of a role made a moment ago is AccessDenied: a unit whose provider assumes
//!   the role another unit just made retries until IAM lets it.
//!
//! After each apply, the plan is clean (with the layer still on) and state holds what was
//! configured.

use super::s3_unit::{Backend, forge};
use crate::emulator::unique;

fn backend() -> Backend {
    Backend {
        bucket: "forge-cli-eventual".to_string(),
        table: "forge-cli-eventual-locks".to_string(),
        use_lockfile: false,
    }
}

fn main_tf(name: &str, visibility_timeout: u32) -> String {
    format!(
        r#"provider "aws" {{
  region = "us-east-1"
}}

data "aws_vpc" "default" {{
  default = true
}}

data "aws_ami" "al" {{
  owners      = ["amazon"]
  most_recent = true
  filter {{
    name   = "name"
    values = ["al2023-ami-2023.*-kernel-6.1-x86_64"]
  }}
}}

resource "aws_iam_role" "app" {{
  name               = "{name}-app"
  assume_role_policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ Service = "ec2.amazonaws.com" }}, Action = "sts:AssumeRole" }}] }})
}}

resource "aws_iam_instance_profile" "app" {{
  name = "{name}-app"
  role = aws_iam_role.app.name
}}

resource "aws_security_group" "app" {{
  name        = "{name}-app"
  description = "eventual"
  vpc_id      = data.aws_vpc.default.id
  ingress {{
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }}
}}

resource "aws_instance" "app" {{
  ami                    = data.aws_ami.al.id
  instance_type        = "t3.micro"
  iam_instance_profile = aws_iam_instance_profile.app.name
  tags                 = {{ Name = "{name}-app" }}
}}

resource "aws_sqs_queue" "app" {{
  name                       = "{name}-app"
  visibility_timeout_seconds = {visibility_timeout}
}}
"#
    )
}

fn queue_visibility(state: &serde_json::Value) -> Option<i64> {
    state["resources"]
        .as_array()?
        .iter()
        .find(|r| r["type"] == "aws_sqs_queue")?["instances"][0]["attributes"]
        ["visibility_timeout_seconds"]
        .as_i64()
}

#[tokio::test]
async fn cli_writes_not_yet_visible_are_waited_for_and_never_recorded_stale() {
    let backend = backend();
    let name = unique("ev")[..15].to_string();
    let key = format!("{name}/terraform.tfstate");
    let world = super::World::new(&[
        (
            "env/u/terragrunt.hcl",
            &backend.terragrunt_hcl(&key, "inputs = {}\n"),
        ),
        ("env/u/main.tf", &main_tf(&name, 30)),
    ]);
    let dir = world.dir.path();
    let eventual = [("FORGE_FAULT_EVENTUAL", "window_ms=3000")];

    let applied = forge(dir, &["apply", "env", "--auto-approve"], &eventual);
    assert_eq!(applied.code, 0, "{}", applied.all());
    for refused in [
        "fault injection: refused ec2:RunInstances",
        "fault injection: refused ec2:DescribeSecurityGroups",
    ] {
        assert!(
            applied.all().contains(refused),
            "no `{refused}`: the layer did not act\n{}",
            applied.all()
        );
    }
    assert!(applied.all().contains("5 added"), "{}", applied.all());
    let plan = forge(dir, &["plan", "env", "--detailed-exitcode"], &eventual);
    assert_eq!(plan.code, 0, "state does not match AWS:\n{}", plan.all());

    // An attribute changed: the reads right after the write show the old value.
    world.write(&[("env/u/main.tf", &main_tf(&name, 45))]);
    let updated = forge(dir, &["apply", "env", "--auto-approve"], &eventual);
    assert_eq!(updated.code, 0, "{}", updated.all());
    assert!(
        updated.all().contains(
            "fault injection: sqs:GetQueueAttributes read back the values before the write"
        ),
        "the layer did not act:\n{}",
        updated.all()
    );
    let state = backend.state(&key).await.expect("state in S3");
    assert_eq!(queue_visibility(&state), Some(45), "{state}");
    let plan = forge(dir, &["plan", "env", "--detailed-exitcode"], &eventual);
    assert_eq!(plan.code, 0, "state does not match AWS:\n{}", plan.all());

    let destroyed = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
}

fn bucket_tf(name: &str, versioning: &str, team: &str) -> String {
    format!(
        r#"provider "aws" {{
  region = "us-east-1"
}}

resource "aws_s3_bucket" "data" {{
  bucket = "{name}-data"
  tags   = {{ team = "{team}" }}
}}

resource "aws_s3_bucket_versioning" "data" {{
  bucket = aws_s3_bucket.data.id
  versioning_configuration {{
    status = "{versioning}"
  }}
}}

resource "aws_s3_bucket_public_access_block" "data" {{
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = {restrict}
}}
"#,
        restrict = versioning == "Enabled"
    )
}

fn attribute<'a>(state: &'a serde_json::Value, kind: &str, path: &[&str]) -> &'a serde_json::Value {
    let resource = state["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["type"] == kind))
        .unwrap_or(&serde_json::Value::Null);
    path.iter().fold(
        &resource["instances"][0]["attributes"],
        |v, step| match step.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[*step],
        },
    )
}

#[tokio::test]
async fn cli_bucket_settings_read_back_old_after_a_write_are_waited_for() {
    let backend = backend();
    let name = unique("evs")[..15].to_string();
    let key = format!("{name}/terraform.tfstate");
    let world = super::World::new(&[
        (
            "env/u/terragrunt.hcl",
            &backend.terragrunt_hcl(&key, "inputs = {}\n"),
        ),
        ("env/u/main.tf", &bucket_tf(&name, "Enabled", "a")),
    ]);
    let dir = world.dir.path();
    let eventual = [("FORGE_FAULT_EVENTUAL", "window_ms=2000")];
    let applied = forge(dir, &["apply", "env", "--auto-approve"], &eventual);
    assert_eq!(applied.code, 0, "{}", applied.all());

    // Every setting changed: the plan's refresh reads them first, and the reads right
    // after each write answer what was there before it.
    world.write(&[("env/u/main.tf", &bucket_tf(&name, "Suspended", "b"))]);
    let updated = forge(dir, &["apply", "env", "--auto-approve"], &eventual);
    assert_eq!(updated.code, 0, "{}", updated.all());
    for stale in [
        "fault injection: s3:GetBucketVersioning read back the values before the write",
        "fault injection: s3:GetBucketTagging read back the values before the write",
    ] {
        assert!(
            updated.all().contains(stale),
            "no `{stale}`: the layer did not act\n{}",
            updated.all()
        );
    }
    let state = backend.state(&key).await.expect("state in S3");
    assert_eq!(
        attribute(
            &state,
            "aws_s3_bucket_versioning",
            &["versioning_configuration", "0", "status"]
        ),
        "Suspended",
        "{state}"
    );
    assert_eq!(
        attribute(&state, "aws_s3_bucket", &["tags_all", "team"]),
        "b",
        "{state}"
    );
    assert_eq!(
        attribute(
            &state,
            "aws_s3_bucket_public_access_block",
            &["restrict_public_buckets"]
        ),
        false,
        "{state}"
    );
    let plan = forge(dir, &["plan", "env", "--detailed-exitcode"], &eventual);
    assert_eq!(plan.code, 0, "state does not match AWS:\n{}", plan.all());

    let destroyed = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
}

#[tokio::test]
async fn cli_a_role_assumed_right_after_it_was_made_is_retried_until_usable() {
    let backend = backend();
    let name = unique("evr")[..15].to_string();
    let unit_a = format!(
        r#"provider "aws" {{
  region = "us-east-1"
}}

data "aws_caller_identity" "me" {{}}

resource "aws_iam_role" "deployer" {{
  name               = "{name}-deployer"
  assume_role_policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ AWS = "arn:aws:iam::${{data.aws_caller_identity.me.account_id}}:root" }}, Action = "sts:AssumeRole" }}] }})
}}

output "role_arn" {{
  value = aws_iam_role.deployer.arn
}}
"#
    );
    let unit_b = format!(
        r#"variable "role_arn" {{
  type = string
}}

provider "aws" {{
  region = "us-east-1"
  assume_role {{
    role_arn = var.role_arn
  }}
}}

resource "aws_sqs_queue" "work" {{
  name = "{name}-work"
}}
"#
    );
    let b_hcl = "dependency \"a\" {\n  config_path = \"../a\"\n}\n\ninputs = {\n  role_arn = dependency.a.outputs.role_arn\n}\n";
    let world = super::World::new(&[
        (
            "env/a/terragrunt.hcl",
            &backend.terragrunt_hcl(&format!("{name}/a/terraform.tfstate"), "inputs = {}\n"),
        ),
        ("env/a/main.tf", &unit_a),
        (
            "env/b/terragrunt.hcl",
            &backend.terragrunt_hcl(&format!("{name}/b/terraform.tfstate"), b_hcl),
        ),
        ("env/b/main.tf", &unit_b),
    ]);
    let dir = world.dir.path();
    // The role is refused for 2 s after it is made: unit b's provider assumes it at once.
    let eventual = [("FORGE_FAULT_EVENTUAL", "window_ms=2000")];
    let applied = forge(dir, &["apply", "env", "--auto-approve"], &eventual);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert!(
        applied
            .all()
            .contains("fault injection: refused sts:AssumeRole"),
        "the layer did not act:\n{}",
        applied.all()
    );
    assert!(applied.all().contains("2 added"), "{}", applied.all());
    let plan = forge(dir, &["plan", "env", "--detailed-exitcode"], &eventual);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let destroyed = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
}
