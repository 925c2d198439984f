//! Intent before action, against the emulators: creates whose answer never reached forge.
//!
//! - Killed right after a create returned and before the journal recorded it
//!   (`FORGE_FAULT_ABORT_AFTER_CREATES=1`, as `kill -9` at the worst moment), again and
//!   again: each rerun adopts what the killed run made (found by name, created after the
//!   intent, as configured; the instance by its token) and makes what is missing, for an
//!   IAM role, policy and instance profile, a secret, a queue, a bucket, a security group
//!   and an instance. At the end exactly one of each exists, state matches AWS (the plan
//!   is clean) and no intent is left.
//! - Every create's answer lost after AWS acted (`FORGE_FAULT_LOSE_ANSWERS` on the
//!   providers' clients): the SDK's retry is refused with "already exists" and the create
//!   is settled by its intent, in the same run.
//! - An object of the same name that forge did not create (made before the intent) stays
//!   an error naming it and `forge import`.

use std::collections::BTreeSet;
use std::path::Path;

use super::s3_unit::{Backend, forge};
use crate::emulator::{sdk_config, unique};

fn backend() -> Backend {
    Backend {
        bucket: "forge-cli-create-intents".to_string(),
        table: "forge-cli-create-intents-locks".to_string(),
        use_lockfile: false,
    }
}

/// The resource types `every_type` makes, one each.
const TYPES: [&str; 8] = [
    "aws_iam_role",
    "aws_iam_policy",
    "aws_iam_instance_profile",
    "aws_secretsmanager_secret",
    "aws_sqs_queue",
    "aws_s3_bucket",
    "aws_security_group",
    "aws_instance",
];

/// One unit with one object of each type, all named after `name`.
fn every_type(name: &str) -> String {
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

resource "aws_iam_policy" "app" {{
  name   = "{name}-app"
  policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "sqs:SendMessage", Resource = "*" }}] }})
}}

resource "aws_iam_instance_profile" "app" {{
  name = "{name}-app"
  role = aws_iam_role.app.name
}}

resource "aws_secretsmanager_secret" "app" {{
  name                    = "{name}/app"
  recovery_window_in_days = 0
}}

resource "aws_sqs_queue" "app" {{
  name = "{name}-app"
}}

resource "aws_s3_bucket" "app" {{
  bucket        = "{name}-app"
  force_destroy = true
}}

resource "aws_security_group" "app" {{
  name        = "{name}-app"
  description = "intents"
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
  instance_type          = "t3.micro"
  vpc_security_group_ids = [aws_security_group.app.id]
  iam_instance_profile   = aws_iam_instance_profile.app.name
  tags                   = {{ Name = "{name}-app" }}
}}
"#
    )
}

fn world(prefix: &str) -> (super::World, String) {
    // Short and lowercase: the bucket name is at most 63 characters.
    let name = unique(prefix)[..prefix.len() + 13].to_string();
    let key = format!("{name}/terraform.tfstate");
    let world = super::World::new(&[
        (
            "env/u/terragrunt.hcl",
            &backend().terragrunt_hcl(&key, "inputs = {}\n"),
        ),
        ("env/u/main.tf", &every_type(&name)),
    ]);
    (world, name)
}

/// Instances tagged `Name = name` that are not terminated (or on their way).
async fn live_instances(name: &str) -> Vec<String> {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_config().await);
    let out = ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:Name")
                .values(name)
                .build(),
        )
        .send()
        .await
        .expect("describe instances");
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| {
            !matches!(
                i.state().and_then(|s| s.name()).map(|n| n.as_str()),
                Some("terminated" | "shutting-down")
            )
        })
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect()
}

/// The types named in "adopting ..." notices of a run's output.
fn adopted_types(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter(|l| l.contains(": adopting ") || l.contains("adopted, nothing is created twice"))
        .filter_map(|l| {
            TYPES
                .iter()
                .find(|t| l.contains(&format!("{t}.app:")))
                .map(|t| t.to_string())
        })
        .collect()
}

fn clean_plan_and_destroy(dir: &Path) {
    let plan = forge(dir, &["plan", "env", "--detailed-exitcode"], &[]);
    assert_eq!(plan.code, 0, "state does not match AWS:\n{}", plan.all());
    let destroyed = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
}

#[tokio::test]
async fn cli_creates_killed_before_they_were_recorded_are_adopted_by_the_next_runs() {
    let (world, name) = world("ci");
    let dir = world.dir.path();
    let abort = [("FORGE_FAULT_ABORT_AFTER_CREATES", "1")];
    let mut adopted = BTreeSet::new();
    let mut finished = None;
    let mut last = String::new();
    // Each run dies right after its first create returns; the next adopts what it made.
    for round in 1..=12 {
        let run = forge(dir, &["apply", "env", "--auto-approve"], &abort);
        last = run.all();
        adopted.extend(adopted_types(&run.all()));
        assert!(
            ![
                "EntityAlreadyExists",
                "ResourceExistsException",
                "BucketAlreadyOwnedByYou",
                "InvalidGroup.Duplicate",
            ]
            .iter()
            .any(|code| run.all().contains(code)),
            "round {round}: a create met its own object:\n{}",
            run.all()
        );
        if run.code == 0 {
            finished = Some(round);
            break;
        }
        assert!(
            world.path("env/u/.forge/intents.json").exists(),
            "round {round}: the killed run left no intent:\n{}",
            run.all()
        );
    }
    let rounds =
        finished.unwrap_or_else(|| panic!("the reruns never converged; the last:\n{last}"));
    assert!(rounds >= 2, "no run was killed");
    let expected: BTreeSet<String> = TYPES.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        adopted, expected,
        "every type's object was made by a killed run, so each must have been adopted"
    );
    assert!(
        !world.path("env/u/.forge/intents.json").exists(),
        "intents outlived the run that settled them"
    );
    let instances = live_instances(&format!("{name}-app")).await;
    assert_eq!(instances.len(), 1, "instances made: {instances:?}");
    let state = backend()
        .state(&format!("{name}/terraform.tfstate"))
        .await
        .expect("state");
    let recorded_instance = state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["type"] == "aws_instance")
        .and_then(|r| r["instances"][0]["attributes"]["id"].as_str())
        .map(str::to_string);
    assert_eq!(recorded_instance.as_ref(), instances.first());
    assert!(
        !state.to_string().contains("forge:create-token"),
        "the instance's intent marker reached state"
    );
    clean_plan_and_destroy(dir);
    assert_eq!(live_instances(&format!("{name}-app")).await.len(), 0);
}

#[tokio::test]
async fn cli_creates_whose_answers_are_lost_are_settled_in_the_same_run() {
    let (world, name) = world("la");
    let dir = world.dir.path();
    let creates = "CreateRole,CreatePolicy,CreateInstanceProfile,CreateSecret,CreateQueue,CreateBucket,CreateSecurityGroup,RunInstances";
    let faults = format!("seed=5;rate=1;ops={creates}");
    let applied = forge(
        dir,
        &["apply", "env", "--auto-approve"],
        &[("FORGE_FAULT_LOSE_ANSWERS", &faults)],
    );
    assert_eq!(applied.code, 0, "{}", applied.all());
    for op in creates.split(',') {
        assert!(
            applied
                .stderr
                .contains(&format!(":{op} after the service acted")),
            "{op}'s answer was not lost, so this proves nothing:\n{}",
            applied.all()
        );
    }
    // Those whose retry AWS refuses as "already exists" are settled by their intent.
    let settled = adopted_types(&applied.all());
    for t in [
        "aws_iam_role",
        "aws_iam_policy",
        "aws_iam_instance_profile",
        "aws_secretsmanager_secret",
        "aws_security_group",
    ] {
        assert!(
            settled.contains(t),
            "{t} was not settled by its intent:\n{}",
            applied.all()
        );
    }
    assert_eq!(
        live_instances(&format!("{name}-app")).await.len(),
        1,
        "RunInstances sent twice made two instances"
    );
    clean_plan_and_destroy(dir);
}

#[tokio::test]
async fn cli_an_object_forge_did_not_create_is_never_adopted() {
    let name = unique("ni")[..15].to_string();
    let role = format!("{name}-app");
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("a role made outside forge");
    // Older than any intent of the run below by more than the clock margin.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let key = format!("{name}/terraform.tfstate");
    let main = format!(
        "provider \"aws\" {{\n  region = \"us-east-1\"\n}}\n\nresource \"aws_iam_role\" \"app\" {{\n  name               = \"{role}\"\n  assume_role_policy = {trust:?}\n}}\n"
    );
    let world = super::World::new(&[
        (
            "env/u/terragrunt.hcl",
            &backend().terragrunt_hcl(&key, "inputs = {}\n"),
        ),
        ("env/u/main.tf", &main),
    ]);
    let dir = world.dir.path();

    // No intent: the create is refused, and the error says how to adopt it.
    let refused = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(
        refused.all().contains("EntityAlreadyExists") && refused.all().contains("forge import"),
        "{}",
        refused.all()
    );
    assert!(
        !world.path("env/u/.forge/intents.json").exists(),
        "a refused create left an intent: the next run would look for an object that is not its own"
    );

    // An intent that started after the role was made (as if a run had died during its
    // create): the role is older than the intent, so it is not that create's object.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis()
        + 3_600_000;
    std::fs::create_dir_all(world.path("env/u/.forge")).expect("dir");
    std::fs::write(
        world.path("env/u/.forge/intents.json"),
        format!(
            r#"{{"version": 1, "intents": {{"aws_iam_role.app": {{"action": "create", "type": "aws_iam_role", "token": "forge-test", "started_ms": {later}}}}}}}"#
        ),
    )
    .expect("intent");
    let plan = forge(dir, &["plan", "env"], &[]);
    assert_ne!(plan.code, 0, "{}", plan.all());
    assert!(
        plan.all()
            .contains(&format!("{role} exists, but it is not the object"))
            && plan.all().contains("before this create started")
            && plan.all().contains(&format!("aws_iam_role.app {role}")),
        "{}",
        plan.all()
    );

    iam.delete_role()
        .role_name(&role)
        .send()
        .await
        .expect("clean up");
}

/// A unit of an IAM role, its instance profile and a queue, named after `name`.
fn role_profile_queue(name: &str) -> String {
    format!(
        r#"provider "aws" {{
  region = "us-east-1"
}}

resource "aws_iam_role" "app" {{
  name               = "{name}-app"
  assume_role_policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ Service = "ec2.amazonaws.com" }}, Action = "sts:AssumeRole" }}] }})
}}

resource "aws_iam_instance_profile" "app" {{
  name = "{name}-app"
  role = aws_iam_role.app.name
}}

resource "aws_sqs_queue" "app" {{
  name = "{name}-app"
}}
"#
    )
}

fn unit_world(name: &str, main: &str) -> super::World {
    let key = format!("{name}/terraform.tfstate");
    super::World::new(&[
        (
            "env/u/terragrunt.hcl",
            &backend().terragrunt_hcl(&key, "inputs = {}\n"),
        ),
        ("env/u/main.tf", main),
    ])
}

/// Which of the role, the instance profile and the queue named `name` exist in AWS.
async fn existing(name: &str) -> Vec<&'static str> {
    let config = sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let mut found = Vec::new();
    if iam.get_role().role_name(name).send().await.is_ok() {
        found.push("role");
    }
    if iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .is_ok()
    {
        found.push("profile");
    }
    if sqs.get_queue_url().queue_name(name).send().await.is_ok() {
        found.push("queue");
    }
    found
}

#[tokio::test]
async fn cli_a_destroy_right_after_a_kill_mid_create_deletes_what_the_create_made() {
    // Killed after the first create (state records nothing), then after the second (state
    // records one object, the other is only in the intents).
    for creates in ["1", "2"] {
        let name = unique(&format!("dk{creates}"))[..16].to_string();
        let world = unit_world(&name, &role_profile_queue(&name));
        let dir = world.dir.path();
        let killed = forge(
            dir,
            &["apply", "env", "--auto-approve"],
            &[("FORGE_FAULT_ABORT_AFTER_CREATES", creates)],
        );
        assert_ne!(killed.code, 0, "the run was not killed:\n{}", killed.all());
        let objects = format!("{name}-app");
        assert!(
            !existing(&objects).await.is_empty(),
            "the killed run made nothing, so this proves nothing"
        );
        let destroyed = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
        assert_eq!(destroyed.code, 0, "{}", destroyed.all());
        assert_eq!(
            existing(&objects).await,
            Vec::<&str>::new(),
            "after {creates} create(s) and a kill, the destroy left objects behind:\n{}",
            destroyed.all()
        );
        assert!(
            !world.path("env/u/.forge/intents.json").exists(),
            "the destroy left intents:\n{}",
            destroyed.all()
        );
        let again = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
        assert_eq!(again.code, 0, "{}", again.all());
        assert!(
            again.all().contains("No objects need to be destroyed"),
            "{}",
            again.all()
        );
    }
}

#[tokio::test]
async fn cli_an_unrecorded_create_of_a_resource_removed_meanwhile_is_deleted_by_the_next_apply() {
    let name = unique("rm")[..15].to_string();
    let queue = |resource: &str, suffix: &str| {
        format!(
            "provider \"aws\" {{\n  region = \"us-east-1\"\n}}\n\nresource \"aws_sqs_queue\" \"{resource}\" {{\n  name = \"{name}-{suffix}\"\n}}\n"
        )
    };
    let world = unit_world(&name, &queue("gone", "app"));
    let dir = world.dir.path();
    let killed = forge(
        dir,
        &["apply", "env", "--auto-approve"],
        &[("FORGE_FAULT_ABORT_AFTER_CREATES", "1")],
    );
    assert_ne!(killed.code, 0, "the run was not killed:\n{}", killed.all());
    assert_eq!(existing(&format!("{name}-app")).await, vec!["queue"]);

    // The configuration drops the queue before anyone reruns: the next apply deletes it.
    std::fs::write(world.path("env/u/main.tf"), queue("kept", "kept")).expect("main.tf");
    let plan = forge(dir, &["plan", "env"], &[]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(
        plan.all().contains("aws_sqs_queue.gone will be destroyed"),
        "the plan does not show the left-behind queue going:\n{}",
        plan.all()
    );
    let applied = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert_eq!(
        existing(&format!("{name}-app")).await,
        Vec::<&str>::new(),
        "the queue a killed run made for a resource removed since was orphaned:\n{}",
        applied.all()
    );
    assert_eq!(existing(&format!("{name}-kept")).await, vec!["queue"]);
    assert!(
        !world.path("env/u/.forge/intents.json").exists(),
        "{}",
        applied.all()
    );
    clean_plan_and_destroy(dir);
}

#[tokio::test]
async fn cli_a_create_before_destroy_replacement_killed_mid_create_is_adopted_and_the_old_deleted_once()
 {
    let name = unique("cb")[..15].to_string();
    let role = |suffix: &str| {
        format!(
            r#"provider "aws" {{
  region = "us-east-1"
}}

resource "aws_iam_role" "app" {{
  name               = "{name}-{suffix}"
  assume_role_policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ Service = "ec2.amazonaws.com" }}, Action = "sts:AssumeRole" }}] }})
  lifecycle {{
    create_before_destroy = true
  }}
}}
"#
        )
    };
    let world = unit_world(&name, &role("old"));
    let dir = world.dir.path();
    let first = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(first.code, 0, "{}", first.all());

    // A new name replaces the role, the new one first; the run dies once it is made.
    std::fs::write(world.path("env/u/main.tf"), role("new")).expect("main.tf");
    let killed = forge(
        dir,
        &["apply", "env", "--auto-approve"],
        &[("FORGE_FAULT_ABORT_AFTER_CREATES", "1")],
    );
    assert_ne!(killed.code, 0, "the run was not killed:\n{}", killed.all());
    assert_eq!(existing(&format!("{name}-new")).await, vec!["role"]);
    assert_eq!(existing(&format!("{name}-old")).await, vec!["role"]);

    // A rerun comes later than the clock margin: the new role must be recognised by the
    // killed run's intent, not by one the rerun starts.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let rerun = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(rerun.code, 0, "{}", rerun.all());
    assert!(
        rerun.all().contains("adopted, nothing is created twice"),
        "the replacement was not adopted:\n{}",
        rerun.all()
    );
    assert_eq!(existing(&format!("{name}-new")).await, vec!["role"]);
    assert_eq!(
        existing(&format!("{name}-old")).await,
        Vec::<&str>::new(),
        "the replaced role was not deleted:\n{}",
        rerun.all()
    );
    assert!(
        rerun.all().matches("Destruction complete").count() == 1,
        "the old role must be deleted once:\n{}",
        rerun.all()
    );
    assert!(!world.path("env/u/.forge/intents.json").exists());
    clean_plan_and_destroy(dir);
}

/// The types `settings_and_versions` makes (one each) that only put something on what
/// another resource owns, or that a token or a name finds.
const SETTLED_BY_LOOKING: [&str; 10] = [
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_policy",
    "aws_sqs_queue_policy",
    "aws_secretsmanager_secret_version",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_key_pair",
    "aws_iam_policy",
];

fn settings_and_versions(name: &str) -> String {
    format!(
        r#"provider "aws" {{
  region = "us-east-1"
}}

resource "aws_s3_bucket" "app" {{
  bucket        = "{name}-app"
  force_destroy = true
}}

resource "aws_s3_bucket_versioning" "app" {{
  bucket = aws_s3_bucket.app.id
  versioning_configuration {{
    status = "Enabled"
  }}
}}

resource "aws_s3_bucket_server_side_encryption_configuration" "app" {{
  bucket = aws_s3_bucket.app.id
  rule {{
    apply_server_side_encryption_by_default {{
      sse_algorithm = "AES256"
    }}
  }}
}}

resource "aws_s3_bucket_public_access_block" "app" {{
  bucket                  = aws_s3_bucket.app.id
  block_public_acls       = true
  block_public_policy     = false
  ignore_public_acls      = true
  restrict_public_buckets = false
}}

resource "aws_s3_bucket_policy" "app" {{
  bucket = aws_s3_bucket.app.id
  policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Deny", Principal = "*", Action = "s3:PutObject", Resource = "${{aws_s3_bucket.app.arn}}/*", Condition = {{ Bool = {{ "aws:SecureTransport" = "false" }} }} }}] }})
}}

resource "aws_sqs_queue" "app" {{
  name = "{name}-app"
}}

resource "aws_sqs_queue_policy" "app" {{
  queue_url = aws_sqs_queue.app.id
  policy    = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ Service = "s3.amazonaws.com" }}, Action = "sqs:SendMessage", Resource = aws_sqs_queue.app.arn }}] }})
}}

resource "aws_secretsmanager_secret" "app" {{
  name                    = "{name}/app"
  recovery_window_in_days = 0
}}

resource "aws_secretsmanager_secret_version" "app" {{
  secret_id     = aws_secretsmanager_secret.app.id
  secret_string = "not-shown"
}}

resource "aws_iam_role" "app" {{
  name               = "{name}-app"
  assume_role_policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Principal = {{ Service = "ec2.amazonaws.com" }}, Action = "sts:AssumeRole" }}] }})
}}

resource "aws_iam_role_policy" "app" {{
  name   = "inline"
  role   = aws_iam_role.app.name
  policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "sqs:ReceiveMessage", Resource = "*" }}] }})
}}

resource "aws_iam_policy" "app" {{
  name   = "{name}-app"
  policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "sqs:SendMessage", Resource = "*" }}] }})
}}

resource "aws_iam_role_policy_attachment" "app" {{
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.app.arn
}}

resource "aws_key_pair" "app" {{
  key_name   = "{name}-app"
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1v7KARKi5k32QssHzs3/PdylxySVJZwsh1i0i+SM4n forge-test"
}}
"#
    )
}

#[tokio::test]
async fn cli_settings_secret_versions_and_key_pairs_killed_before_they_were_recorded_are_settled_by_looking()
 {
    let name = unique("sl")[..15].to_string();
    let world = unit_world(&name, &settings_and_versions(&name));
    let dir = world.dir.path();
    let abort = [("FORGE_FAULT_ABORT_AFTER_CREATES", "1")];
    let mut adopted = BTreeSet::new();
    let mut finished = false;
    let mut last = String::new();
    for round in 1..=20 {
        let run = forge(dir, &["apply", "env", "--auto-approve"], &abort);
        last = run.all();
        assert!(
            !run.all()
                .contains("cannot be looked up before they are recorded"),
            "round {round}: a create was made again instead of settled:\n{}",
            run.all()
        );
        for line in run.all().lines().filter(|l| l.contains(": adopting ")) {
            if let Some(t) = SETTLED_BY_LOOKING
                .iter()
                .find(|t| line.contains(&format!("{t}.app:")))
            {
                adopted.insert(t.to_string());
            }
        }
        if run.code == 0 {
            finished = true;
            break;
        }
    }
    assert!(finished, "the reruns never converged; the last:\n{last}");
    let expected: BTreeSet<String> = SETTLED_BY_LOOKING.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        adopted, expected,
        "each of these was made by a killed run, so each must have been adopted"
    );
    // One secret version, the one state records: its token was its version id.
    let sm = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    let versions = sm
        .list_secret_version_ids()
        .secret_id(format!("{name}/app"))
        .send()
        .await
        .expect("versions");
    assert_eq!(versions.versions().len(), 1, "{:?}", versions.versions());
    assert!(!world.path("env/u/.forge/intents.json").exists());
    clean_plan_and_destroy(dir);
}
