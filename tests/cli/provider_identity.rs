//! Who the `provider "aws"` block makes forge act as, end to end on the emulator, where
//! every identity is real: LocalStack keeps one world per account and takes the account
//! from the credentials (a 12-digit access key id is that account; an assumed role's
//! credentials act in the role's account). Each test looks for what forge made in the
//! account it should be in, and not in the one the shell's credentials (`test`, account
//! 000000000000) would have used.

use std::path::Path;
use std::process::Command;

use super::stacks::require_emulators;

struct Out {
    code: Option<i32>,
    text: String,
}

fn forge(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("FORGE_API_STATS")
        .output()
        .expect("run forge");
    Out {
        code: out.status.code(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn write(root: &Path, files: &[(&str, String)]) {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

/// An SQS client acting in `account` (LocalStack maps the access key id to it).
async fn sqs_in(account: &str) -> aws_sdk_sqs::Client {
    let creds = aws_sdk_sqs::config::Credentials::new(account, "test", None, None, "test");
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(creds)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    aws_sdk_sqs::Client::new(&conf)
}

/// The queue's URL when `account` has a queue of that name.
async fn queue_in(account: &str, name: &str) -> Option<String> {
    sqs_in(account)
        .await
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .ok()
        .and_then(|o| o.queue_url)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn unit(main_tf: String) -> Vec<(&'static str, String)> {
    vec![
        ("env/app/terragrunt.hcl", "inputs = {}\n".to_string()),
        ("env/app/main.tf", main_tf),
    ]
}

#[test]
fn cli_profile_static_keys_and_assumed_role_each_deploy_in_their_own_account() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (q_profile, q_keys, q_role) = (
        format!("forge-id-profile-{id}"),
        format!("forge-id-keys-{id}"),
        format!("forge-id-role-{id}"),
    );
    let role = format!("arn:aws:iam::444444444444:role/forge-deployer-{}", &id[..8]);
    // Files of the test's own, so the machine's ~/.aws plays no part; the shell's
    // AWS_ACCESS_KEY_ID=test (account 000000000000) must lose to the named profile.
    let mut files = unit(format!(
        r#"provider "aws" {{
  profile                  = "prod"
  shared_config_files      = ["{root}/aws/config"]
  shared_credentials_files = ["{root}/aws/credentials"]
}}

provider "aws" {{
  alias      = "keys"
  access_key = "333333333333"
  secret_key = "test"
}}

provider "aws" {{
  alias = "role"
  assume_role {{
    role_arn     = "{role}"
    session_name = "forge-test"
    duration     = "15m"
  }}
  allowed_account_ids = ["444444444444"]
}}

resource "aws_sqs_queue" "profile" {{
  name = "{q_profile}"
}}

resource "aws_sqs_queue" "keys" {{
  provider = aws.keys
  name     = "{q_keys}"
}}

resource "aws_sqs_queue" "role" {{
  provider = aws.role
  name     = "{q_role}"
}}

data "aws_caller_identity" "role" {{
  provider = aws.role
}}

output "role_account" {{
  value = data.aws_caller_identity.role.account_id
}}
"#,
        root = root.display()
    ));
    files.push((
        "aws/credentials",
        "[prod]\naws_access_key_id = 222222222222\naws_secret_access_key = test\n".into(),
    ));
    files.push(("aws/config", "[profile prod]\nregion = us-east-1\n".into()));
    write(root, &files);

    let apply = forge(root, &["apply", "env", "--auto-approve"]);
    assert_eq!(apply.code, Some(0), "{}", apply.text);
    assert!(
        apply.text.contains("role_account = \"444444444444\""),
        "{}",
        apply.text
    );
    let rt = runtime();
    rt.block_on(async {
        assert!(
            queue_in("222222222222", &q_profile).await.is_some(),
            "profile queue not in 222222222222"
        );
        assert!(
            queue_in("333333333333", &q_keys).await.is_some(),
            "static-key queue not in 333333333333"
        );
        assert!(
            queue_in("444444444444", &q_role).await.is_some(),
            "role queue not in 444444444444"
        );
        for q in [&q_profile, &q_keys, &q_role] {
            assert!(
                queue_in("000000000000", q).await.is_none(),
                "{q} was made with the shell's credentials"
            );
        }
    });

    // Refreshing reads each queue in its own account: nothing to change.
    let plan = forge(root, &["plan", "env"]);
    assert_eq!(plan.code, Some(0), "{}", plan.text);
    assert!(plan.text.contains("No changes"), "{}", plan.text);

    let destroy = forge(root, &["destroy", "env", "--auto-approve"]);
    assert_eq!(destroy.code, Some(0), "{}", destroy.text);
    rt.block_on(async {
        assert!(queue_in("222222222222", &q_profile).await.is_none());
        assert!(queue_in("333333333333", &q_keys).await.is_none());
        assert!(queue_in("444444444444", &q_role).await.is_none());
    });
}

#[test]
fn cli_forbidden_and_unlisted_accounts_are_refused_before_anything_is_made() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let queue = format!("forge-id-forbidden-{id}");
    write(
        &root,
        &unit(format!(
            r#"provider "aws" {{
  forbidden_account_ids = ["000000000000"]
}}

resource "aws_sqs_queue" "q" {{
  name = "{queue}"
}}
"#
        )),
    );
    let apply = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(apply.code, Some(1), "{}", apply.text);
    assert!(
        apply.text.contains("account 000000000000") && apply.text.contains("forbidden_account_ids"),
        "{}",
        apply.text
    );
    assert!(
        apply.text.contains(&format!(
            "provider block at {}:1:1",
            root.join("env/app/main.tf").display()
        )),
        "{}",
        apply.text
    );
    assert!(
        !root.join("env/app/terraform.tfstate").exists(),
        "a state was written"
    );
    let rt = runtime();
    rt.block_on(async {
        assert!(
            queue_in("000000000000", &queue).await.is_none(),
            "the queue was made"
        );
    });

    // allowed_account_ids that do not list the credentials' account: refused too.
    write(
        &root,
        &unit(format!(
            r#"provider "aws" {{
  access_key          = "555555555555"
  secret_key          = "test"
  allowed_account_ids = ["666666666666"]
}}

resource "aws_sqs_queue" "q" {{
  name = "{queue}"
}}
"#
        )),
    );
    let plan = forge(&root, &["plan", "env"]);
    assert_eq!(plan.code, Some(1), "{}", plan.text);
    assert!(
        plan.text.contains("account 555555555555")
            && plan.text.contains("allowed_account_ids (666666666666)"),
        "{}",
        plan.text
    );
    assert!(
        !plan.text.contains("\"test\""),
        "a secret was shown: {}",
        plan.text
    );
}

#[test]
fn cli_validate_names_a_misspelt_provider_argument_and_warns_about_unused_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    write(
        &root,
        &unit(
            r#"provider "aws" {
  region = "us-east-1"
  profle = "prod"
  token_bucket_rate_limiter_capacity = 100
  assume_role {
    role_arn    = "arn:aws:iam::111111111111:role/x"
    sesion_name = "me"
  }
}
"#
            .to_string(),
        ),
    );
    let out = forge(&root, &["validate", "env"]);
    assert_eq!(out.code, Some(1), "{}", out.text);
    let main = root.join("env/app/main.tf");
    for expected in [
        "provider \"aws\" has no argument named `profle`".to_string(),
        "did you mean `profile`?".to_string(),
        format!("{}:3:3", main.display()),
        "has no argument named `sesion_name`".to_string(),
        "did you mean `session_name`?".to_string(),
        format!("{}:7:5", main.display()),
        "forge does not set the SDK's retry token bucket capacity".to_string(),
        format!("{}:4:3", main.display()),
    ] {
        assert!(
            out.text.contains(&expected),
            "missing {expected:?} in:\n{}",
            out.text
        );
    }

    // Refused settings are errors at validate too, at their argument.
    write(
        &root,
        &unit("provider \"aws\" {\n  region   = \"us-east-1\"\n  insecure = true\n}\n".to_string()),
    );
    let out = forge(&root, &["validate", "env"]);
    assert_eq!(out.code, Some(1), "{}", out.text);
    assert!(
        out.text
            .contains("`insecure`: forge does not turn TLS certificate checks off")
            && out.text.contains(&format!("{}:3:3", main.display())),
        "{}",
        out.text
    );
}

/// An S3 client acting in `account`.
async fn s3_in(account: &str) -> aws_sdk_s3::Client {
    let creds = aws_sdk_s3::config::Credentials::new(account, "test", None, None, "test");
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(creds)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

/// The buckets `account` owns (bucket names are global; listing is per account).
async fn buckets_of(account: &str) -> Vec<String> {
    s3_in(account)
        .await
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .buckets
        .unwrap_or_default()
        .into_iter()
        .filter_map(|b| b.name)
        .collect()
}

#[test]
fn cli_remote_state_uses_its_own_profile_and_refuses_a_forbidden_account_before_the_lock() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let bucket = format!("forge-id-state-{}", &id[..16]);
    let state_config = |extra: &str| {
        format!(
            r#"remote_state {{
  backend = "s3"
  config = {{
    bucket       = "{bucket}"
    key          = "app/terraform.tfstate"
    region       = "us-east-1"
    use_lockfile = true
{extra}  }}
}}
inputs = {{}}
"#
        )
    };
    write(
        &root,
        &[
            (
                "env/app/terragrunt.hcl",
                state_config(&format!(
                    "    profile = \"state\"\n    shared_credentials_files = [\"{}/aws/credentials\"]\n    allowed_account_ids = [\"777777777777\"]\n",
                    root.display()
                )),
            ),
            (
                "env/app/main.tf",
                "output \"x\" {\n  value = 1\n}\n".to_string(),
            ),
            (
                "aws/credentials",
                "[state]\naws_access_key_id = 777777777777\naws_secret_access_key = test\n"
                    .to_string(),
            ),
        ],
    );
    let apply = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(apply.code, Some(0), "{}", apply.text);
    let rt = runtime();
    rt.block_on(async {
        assert!(
            buckets_of("777777777777").await.contains(&bucket),
            "the state bucket is not in the profile's account"
        );
        assert!(
            !buckets_of("000000000000").await.contains(&bucket),
            "the state bucket was made with the shell's credentials"
        );
        // Created with Terragrunt's policy: TLS only, and the account's root may manage it.
        let policy = s3_in("777777777777")
            .await
            .get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketPolicy")
            .policy
            .unwrap_or_default();
        assert!(
            policy.contains("EnforcedTLS")
                && policy.contains("aws:SecureTransport")
                && policy.contains("arn:aws:iam::777777777777:root"),
            "{policy}"
        );
    });

    // The shell's account is forbidden: refused when the backend opens, before its lock.
    let other = format!("{bucket}-x");
    write(
        &root,
        &[(
            "env/app/terragrunt.hcl",
            state_config("    forbidden_account_ids = [\"000000000000\"]\n")
                .replace(&bucket, &other),
        )],
    );
    let plan = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(plan.code, Some(1), "{}", plan.text);
    assert!(
        plan.text.contains("account 000000000000") && plan.text.contains("forbidden_account_ids"),
        "{}",
        plan.text
    );
    rt.block_on(async {
        assert!(
            !buckets_of("000000000000").await.contains(&other),
            "a bucket was made for a forbidden account"
        );
    });

    // Clean up the first state bucket's unit (the outputs only: nothing else was made).
    write(
        &root,
        &[(
            "env/app/terragrunt.hcl",
            state_config(&format!(
                "    profile = \"state\"\n    shared_credentials_files = [\"{}/aws/credentials\"]\n",
                root.display()
            )),
        )],
    );
    let destroy = forge(&root, &["destroy", "env", "--auto-approve"]);
    assert_eq!(destroy.code, Some(0), "{}", destroy.text);
}

/// Terragrunt's `iam_role`: the unit's providers and its state backend run as the role,
/// assumed with the shell's credentials (account 000000000000). A provider block with
/// keys of its own keeps them, as under Terragrunt, where the role's credentials come in
/// the environment that the block's own settings outrank.
#[test]
fn cli_a_units_iam_role_deploys_its_resources_and_keeps_its_state_in_the_roles_account() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (queue, keys_queue) = (
        format!("forge-unit-role-{id}"),
        format!("forge-unit-role-keys-{id}"),
    );
    let bucket = format!("forge-unit-role-{}", &id[..16]);
    let role = format!("arn:aws:iam::444444444444:role/forge-unit-{}", &id[..8]);
    write(
        &root,
        &[
            (
                "env/app/terragrunt.hcl",
                format!(
                    r#"iam_role                     = "{role}"
iam_assume_role_session_name = "forge-unit-test"
iam_assume_role_duration     = 900

# Terragrunt answers these as the unit's role.
locals {{
  account = get_aws_account_id()
}}

# A hook runs with the role's credentials in its environment, as under Terragrunt.
terraform {{
  after_hook "credentials" {{
    commands = ["apply"]
    execute  = ["sh", "-c", "printf '%s\\n%s\\n%s\\n' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\" > hook-credentials.txt"]
  }}
}}

remote_state {{
  backend = "s3"
  config = {{
    bucket       = "{bucket}"
    key          = "app/terraform.tfstate"
    region       = "us-east-1"
    use_lockfile = true
  }}
}}
inputs = {{
  tg_account = local.account
  tg_caller  = get_aws_caller_identity_arn()
}}
"#
                ),
            ),
            (
                "env/app/main.tf",
                format!(
                    r#"provider "aws" {{}}

provider "aws" {{
  alias      = "keys"
  access_key = "333333333333"
  secret_key = "test"
}}

resource "aws_sqs_queue" "q" {{
  name = "{queue}"
}}

resource "aws_sqs_queue" "keys" {{
  provider = aws.keys
  name     = "{keys_queue}"
}}

data "aws_caller_identity" "me" {{}}

output "arn" {{
  value = data.aws_caller_identity.me.arn
}}

variable "tg_account" {{}}
variable "tg_caller" {{}}

output "tg_account" {{
  value = var.tg_account
}}

output "tg_caller" {{
  value = var.tg_caller
}}
"#
                ),
            ),
        ],
    );

    let apply = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(apply.code, Some(0), "{}", apply.text);
    // The caller is the role's session, named as the unit asked.
    assert!(
        apply.text.contains(&format!(
            "arn = \"arn:aws:sts::444444444444:assumed-role/forge-unit-{}/forge-unit-test\"",
            &id[..8]
        )),
        "{}",
        apply.text
    );
    // Terragrunt's account functions answer as the role too.
    assert!(
        apply.text.contains("tg_account = \"444444444444\"")
            && apply.text.contains(&format!(
                "tg_caller = \"arn:aws:sts::444444444444:assumed-role/forge-unit-{}/forge-unit-test\"",
                &id[..8]
            )),
        "{}",
        apply.text
    );
    let hook_credentials =
        std::fs::read_to_string(root.join("env/app/hook-credentials.txt")).expect("the hook ran");
    let mut lines = hook_credentials.lines();
    let (key, secret, token) = (
        lines.next().unwrap_or_default().to_string(),
        lines.next().unwrap_or_default().to_string(),
        lines.next().unwrap_or_default().to_string(),
    );
    assert!(
        !key.is_empty() && !token.is_empty(),
        "the hook got no session credentials: {hook_credentials:?}"
    );
    let rt = runtime();
    rt.block_on(async {
        // The hook's credentials act in the role's account: they find the unit's queue.
        let creds = aws_sdk_sqs::config::Credentials::new(key, secret, Some(token), None, "hook");
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .credentials_provider(creds)
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        assert!(
            aws_sdk_sqs::Client::new(&conf)
                .get_queue_url()
                .queue_name(&queue)
                .send()
                .await
                .is_ok(),
            "the hook's credentials are not the role's"
        );
        assert!(
            queue_in("444444444444", &queue).await.is_some(),
            "the unit's queue is not in the role's account"
        );
        assert!(
            queue_in("000000000000", &queue).await.is_none(),
            "the unit's queue was made with the shell's credentials"
        );
        assert!(
            queue_in("333333333333", &keys_queue).await.is_some(),
            "the provider block's own keys lost to the unit's role"
        );
        assert!(
            buckets_of("444444444444").await.contains(&bucket),
            "the state bucket is not in the role's account"
        );
        assert!(
            !buckets_of("000000000000").await.contains(&bucket),
            "the state bucket was made with the shell's credentials"
        );
        let state = s3_in("444444444444")
            .await
            .get_object()
            .bucket(&bucket)
            .key("app/terraform.tfstate")
            .send()
            .await
            .expect("the state is in the role's bucket");
        let bytes = state.body.collect().await.expect("body").into_bytes();
        assert!(String::from_utf8_lossy(&bytes).contains(&queue));
    });

    // The next run reads the state and every queue as the role: nothing to change.
    let plan = forge(&root, &["plan", "env"]);
    assert_eq!(plan.code, Some(0), "{}", plan.text);
    assert!(plan.text.contains("No changes"), "{}", plan.text);

    let destroy = forge(&root, &["destroy", "env", "--auto-approve"]);
    assert_eq!(destroy.code, Some(0), "{}", destroy.text);
    rt.block_on(async {
        assert!(queue_in("444444444444", &queue).await.is_none());
        assert!(queue_in("333333333333", &keys_queue).await.is_none());
    });
}

/// A forwarding HTTP proxy on a loopback port, as small as a real one can be: each
/// connection's first request line names the server (absolute form, as clients write
/// to a proxy); the connection is joined to that server both ways. Counts connections.
fn start_proxy() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let port = listener.local_addr().expect("addr").port();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = served.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().expect("clone"));
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    return;
                }
                let Some(authority) = first
                    .split_whitespace()
                    .nth(1)
                    .and_then(|t| t.strip_prefix("http://"))
                    .and_then(|t| t.split('/').next())
                else {
                    return;
                };
                let Ok(mut server) = TcpStream::connect(authority) else {
                    return;
                };
                let buffered = reader.buffer().to_vec();
                if server.write_all(first.as_bytes()).is_err()
                    || server.write_all(&buffered).is_err()
                {
                    return;
                }
                let mut back = server.try_clone().expect("clone");
                let mut to_client = client;
                let up = std::thread::spawn(move || {
                    let _ = std::io::copy(reader.get_mut(), &mut server);
                    let _ = server.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut back, &mut to_client);
                let _ = up.join();
            });
        }
    });
    (port, served)
}

/// `http_proxy` routes the provider's calls through the proxy; `no_proxy` reaches the
/// hosts it names directly (there through a proxy address where nothing listens).
#[test]
fn cli_http_proxy_routes_the_providers_calls_and_no_proxy_bypasses_it() {
    require_emulators();
    let (port, served) = start_proxy();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (proxied, direct) = (format!("forge-proxied-{id}"), format!("forge-direct-{id}"));
    write(
        &root,
        &unit(format!(
            r#"provider "aws" {{
  http_proxy = "http://127.0.0.1:{port}"
}}

provider "aws" {{
  alias      = "direct"
  http_proxy = "http://127.0.0.1:{dead}"
  no_proxy   = "127.0.0.1,localhost"
}}

resource "aws_sqs_queue" "proxied" {{
  name = "{proxied}"
}}

resource "aws_sqs_queue" "direct" {{
  provider = aws.direct
  name     = "{direct}"
}}
"#
        )),
    );
    let apply = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(apply.code, Some(0), "{}", apply.text);
    assert!(
        served.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "no call went through the proxy"
    );
    let rt = runtime();
    rt.block_on(async {
        assert!(queue_in("000000000000", &proxied).await.is_some());
        assert!(queue_in("000000000000", &direct).await.is_some());
    });
    let destroy = forge(&root, &["destroy", "env", "--auto-approve"]);
    assert_eq!(destroy.code, Some(0), "{}", destroy.text);
}

/// The provider's `skip_*` flags as the hashicorp/aws provider reads them: the
/// credentials are checked with STS when the provider is configured (an unreachable STS
/// fails the plan at once, naming the flag that skips the check) unless
/// `skip_credentials_validation = true`; `skip_requesting_account_id = true` refuses what
/// needs the account id (a key pair's ARN) instead of recording an ARN without it.
#[test]
fn cli_provider_credentials_are_checked_unless_skipped_and_the_account_id_is_not_asked_when_skipped()
 {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let queue = format!("forge-skip-{id}");
    let provider = |extra: &str| {
        format!(
            "provider \"aws\" {{\n  region = \"us-east-1\"\n  endpoints {{\n    sts = \"http://127.0.0.1:9\"\n  }}\n{extra}}}\n\nresource \"aws_sqs_queue\" \"q\" {{\n  name = \"{queue}\"\n}}\n"
        )
    };
    write(
        &root,
        &[
            ("env/app/terragrunt.hcl", "inputs = {}\n".into()),
            ("env/app/main.tf", provider("")),
        ],
    );
    let plan = forge(&root, &["plan", "env"]);
    assert_eq!(plan.code, Some(1), "{}", plan.text);
    assert!(
        plan.text
            .contains("the provider's credentials are not valid (STS GetCallerIdentity failed)")
            && plan
                .text
                .contains("skip_credentials_validation = true skips this check"),
        "{}",
        plan.text
    );

    write(
        &root,
        &[(
            "env/app/main.tf",
            provider("  skip_credentials_validation = true\n"),
        )],
    );
    let plan = forge(&root, &["plan", "env"]);
    assert_eq!(plan.code, Some(0), "{}", plan.text);
    assert!(plan.text.contains(&queue), "{}", plan.text);

    let key = format!("forge-skip-{}", &id[..12]);
    write(
        &root,
        &[(
            "env/app/main.tf",
            format!(
                "provider \"aws\" {{\n  region                     = \"us-east-1\"\n  skip_requesting_account_id = true\n}}\n\nresource \"aws_key_pair\" \"k\" {{\n  key_name   = \"{key}\"\n  public_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1v7KARKi5k32QssHzs3/PdylxySVJZwsh1i0i+SM4n forge-test\"\n}}\n"
            ),
        )],
    );
    let apply = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(apply.code, Some(1), "{}", apply.text);
    assert!(
        apply.text.contains("this needs the AWS account id (an ARN forge builds), and the provider block sets skip_requesting_account_id = true"),
        "{}",
        apply.text
    );
    // Clean up what the refused create left: the key pair exists, state does not record it.
    runtime().block_on(async {
        let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let _ = aws_sdk_ec2::Client::new(&conf)
            .delete_key_pair()
            .key_name(&key)
            .send()
            .await;
    });
}

/// A profile whose credentials come from `credential_process` (the SDK's own provider
/// runs the program): the queue lands in the account of the key the program prints. An
/// IAM Identity Center (SSO) profile without a signed-in session (no token in the cache;
/// the emulator has no SSO portal) fails before anything is read, naming the profile and
/// saying to run `aws sso login`.
#[test]
fn cli_credential_process_profiles_deploy_as_their_program_says_and_an_sso_profile_needs_a_login() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let queue = format!("forge-process-{id}");
    let script = root.join("creds.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"555555555555\", \"SecretAccessKey\": \"test\"}'\n",
    )
    .expect("script");
    let mut perms = std::fs::metadata(&script).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).expect("chmod");
    let config = root.join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile proc]\ncredential_process = {}\nregion = us-east-1\n\n[profile sso]\nsso_start_url = https://forge-test.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 666666666666\nsso_role_name = Deployer\nregion = us-east-1\n",
            script.display()
        ),
    )
    .expect("config");
    let provider = |profile: &str| {
        format!(
            "provider \"aws\" {{\n  profile             = \"{profile}\"\n  shared_config_files = [\"{}\"]\n}}\n\nresource \"aws_sqs_queue\" \"q\" {{\n  name = \"{queue}\"\n}}\n",
            config.display()
        )
    };
    write(
        &root,
        &[
            ("env/app/terragrunt.hcl", "inputs = {}\n".into()),
            ("env/app/main.tf", provider("proc")),
        ],
    );
    let apply = forge(&root, &["apply", "env", "--auto-approve"]);
    assert_eq!(apply.code, Some(0), "{}", apply.text);
    let rt = runtime();
    rt.block_on(async {
        assert!(
            queue_in("555555555555", &queue).await.is_some(),
            "the queue is not in the account of the key credential_process printed: {}",
            apply.text
        );
    });
    let destroy = forge(&root, &["destroy", "env", "--auto-approve"]);
    assert_eq!(destroy.code, Some(0), "{}", destroy.text);

    write(&root, &[("env/app/main.tf", provider("sso"))]);
    let plan = forge(&root, &["plan", "env"]);
    assert_eq!(plan.code, Some(1), "{}", plan.text);
    assert!(
        plan.text.contains("aws sso login --profile sso"),
        "{}",
        plan.text
    );
}

/// A stand-in for the EC2 instance metadata service on a loopback port (IMDSv2: a
/// session token, then the instance role's name, then its credentials, whose key names
/// account 777777777777 on the emulator). Counts the requests it answers.
fn start_metadata_service() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind metadata");
    let port = listener.local_addr().expect("addr").port();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // The headers, up to the blank line; the requests carry no body.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path = request.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = match path {
                "/latest/api/token" => ("200 OK", "forge-test-token".to_string()),
                "/latest/meta-data/iam/security-credentials/" => {
                    ("200 OK", "forge-instance-role".to_string())
                }
                "/latest/meta-data/iam/security-credentials/forge-instance-role" => (
                    "200 OK",
                    "{\"Code\":\"Success\",\"LastUpdated\":\"2026-01-01T00:00:00Z\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"777777777777\",\"SecretAccessKey\":\"test\",\"Token\":\"forge-test\",\"Expiration\":\"2099-01-01T00:00:00Z\"}".to_string(),
                ),
                _ => ("404 Not Found", String::new()),
            };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, served)
}

/// `skip_metadata_api_check = true` takes the instance metadata step out of the
/// credential chain: with no other credentials, a provider without it deploys with the
/// instance role's (the queue lands in the role key's account), and with it fails for want
/// of credentials without asking the metadata service.
#[test]
fn cli_skip_metadata_api_check_leaves_the_instance_metadata_service_out_of_the_chain() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let queue = format!("forge-imds-{}", uuid::Uuid::new_v4().simple());
    let (port, served) = start_metadata_service();
    let provider = |extra: &str| {
        format!(
            "provider \"aws\" {{\n  region = \"us-east-1\"\n{extra}}}\n\nresource \"aws_sqs_queue\" \"q\" {{\n  name = \"{queue}\"\n}}\n"
        )
    };
    write(
        &root,
        &[
            ("env/app/terragrunt.hcl", "inputs = {}\n".into()),
            ("env/app/main.tf", provider("")),
        ],
    );
    // Only the metadata service has credentials: none in the environment or files.
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_forge"))
            .args(args)
            .current_dir(&root)
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_EC2_METADATA_DISABLED")
            .env("AWS_CONFIG_FILE", root.join("no-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", root.join("no-credentials"))
            .env(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            )
            .output()
            .expect("run forge");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, text) = run(&["apply", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");
    let rt = runtime();
    rt.block_on(async {
        assert!(
            queue_in("777777777777", &queue).await.is_some(),
            "the queue is not in the instance role's account: {text}"
        );
    });
    let (code, text) = run(&["destroy", "env", "--auto-approve"]);
    assert_eq!(code, Some(0), "{text}");

    write(
        &root,
        &[(
            "env/app/main.tf",
            provider("  skip_metadata_api_check = true\n"),
        )],
    );
    let before = served.load(std::sync::atomic::Ordering::SeqCst);
    let (code, text) = run(&["plan", "env"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("the provider's credentials are not valid"),
        "{text}"
    );
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        before,
        "the metadata service was asked: {text}"
    );
}
