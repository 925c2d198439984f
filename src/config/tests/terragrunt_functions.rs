//! Terragrunt's `run_cmd` and AWS identity functions through `Environment::load`: where a
//! command runs, that it runs once, how failures are reported; that the AWS lookup the
//! load context carries is asked only when a configuration uses the functions, and once
//! per context.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use forge_config::{AwsIdentity, AwsIdentityLookup, CallerIdentity, Environment, LoadContext};
use forge_provider::Value;

fn write(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

/// Every unit's evaluated inputs, by unit name.
fn inputs_of(
    env: &Path,
    context: &LoadContext,
) -> Result<BTreeMap<String, BTreeMap<String, Value>>, String> {
    let loaded = Environment::load(env, context).map_err(|d| d.to_string())?;
    let mut out = BTreeMap::new();
    for unit in &loaded.units {
        out.insert(
            unit.name.clone(),
            unit.eval_inputs(&BTreeMap::new())
                .map_err(|d| d.to_string())?,
        );
    }
    Ok(out)
}

const MODULE: &str = "variable \"x\" {\n  default = null\n}\n";

struct CountingSts {
    calls: AtomicUsize,
    alias_calls: AtomicUsize,
    fail: bool,
}

impl AwsIdentityLookup for CountingSts {
    fn caller_identity(
        &self,
        role: Option<&forge_provider::UnitRole>,
    ) -> Result<CallerIdentity, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            return Err(
                "could not reach the AWS endpoint: connection refused; check AWS_ENDPOINT_URL"
                    .to_string(),
            );
        }
        // As STS answers for an assumed role: the role's account.
        if let Some(role) = role {
            let account = role.role_arn.split(':').nth(4).unwrap_or("").to_string();
            return Ok(CallerIdentity {
                arn: format!("arn:aws:sts::{account}:assumed-role/r/s"),
                account,
                user_id: "AROAEXAMPLE:s".to_string(),
            });
        }
        Ok(CallerIdentity {
            account: "123456789012".to_string(),
            arn: "arn:aws:iam::123456789012:user/ci".to_string(),
            user_id: "AIDAEXAMPLE".to_string(),
        })
    }

    fn account_alias(&self, _role: Option<&forge_provider::UnitRole>) -> Result<String, String> {
        self.alias_calls.fetch_add(1, Ordering::SeqCst);
        Ok("acme".to_string())
    }
}

#[test]
fn aws_functions_ask_the_context_lookup_once_and_only_when_used() {
    let sts = Arc::new(CountingSts {
        calls: AtomicUsize::new(0),
        alias_calls: AtomicUsize::new(0),
        fail: false,
    });
    let context = LoadContext::new().with_aws_identity(AwsIdentity::Lookup(sts.clone()));
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");

    // An environment that does not use them never asks.
    write(
        &root,
        &[
            (
                "plain/terragrunt.hcl",
                "locals {\n  region = \"us-east-1\"\n}\n",
            ),
            (
                "plain/a/terragrunt.hcl",
                "include \"root\" {\n  path = find_in_parent_folders()\n}\ninputs = { x = \"a\" }\n",
            ),
            ("plain/a/main.tf", MODULE),
        ],
    );
    inputs_of(&root.join("plain"), &context).expect("loads");
    assert_eq!(sts.calls.load(Ordering::SeqCst), 0);

    // Two units, the root's locals and the inputs all use them: STS is asked once.
    write(
        &root,
        &[
            (
                "aws/terragrunt.hcl",
                "locals {\n  bucket = \"state-${get_aws_account_id()}\"\n}\ninputs = {\n  bucket = local.bucket\n}\n",
            ),
            (
                "aws/a/terragrunt.hcl",
                "include \"root\" {\n  path = find_in_parent_folders()\n}\ninputs = {\n  x     = get_aws_account_id()\n  arn   = get_aws_caller_identity_arn()\n  user  = get_aws_caller_identity_user_id()\n  alias = get_aws_account_alias()\n}\n",
            ),
            ("aws/a/main.tf", MODULE),
            (
                "aws/b/terragrunt.hcl",
                "include \"root\" {\n  path = find_in_parent_folders()\n}\ninputs = { x = get_aws_account_id() }\n",
            ),
            ("aws/b/main.tf", MODULE),
        ],
    );
    let all = inputs_of(&root.join("aws"), &context).expect("loads");
    let a = &all["a"];
    assert_eq!(a["x"], Value::string("123456789012"));
    assert_eq!(a["bucket"], Value::string("state-123456789012"));
    assert_eq!(a["arn"], Value::string("arn:aws:iam::123456789012:user/ci"));
    assert_eq!(a["user"], Value::string("AIDAEXAMPLE"));
    assert_eq!(a["alias"], Value::string("acme"));
    assert_eq!(all["b"]["x"], Value::string("123456789012"));
    inputs_of(&root.join("aws"), &context).expect("loads again");
    assert_eq!(
        sts.calls.load(Ordering::SeqCst),
        1,
        "one GetCallerIdentity per load context"
    );
    assert_eq!(sts.alias_calls.load(Ordering::SeqCst), 1);

    // A failing lookup: the call is reported at its file:line:col, with the hint;
    // the lookup is still asked once.
    let down = Arc::new(CountingSts {
        calls: AtomicUsize::new(0),
        alias_calls: AtomicUsize::new(0),
        fail: true,
    });
    let context = LoadContext::new().with_aws_identity(AwsIdentity::Lookup(down.clone()));
    let err = inputs_of(&root.join("aws"), &context).expect_err("STS is down");
    let root_file = root.join("aws/terragrunt.hcl");
    assert!(
        err.contains(
            "error: get_aws_account_id: could not reach the AWS endpoint: connection refused"
        ),
        "{err}"
    );
    assert!(
        err.contains(&format!("--> {}:2:21", root_file.display())),
        "{err}"
    );
    assert!(err.contains("hint: check AWS_ENDPOINT_URL"), "{err}");
    assert_eq!(down.calls.load(Ordering::SeqCst), 1);

    // Offline (forge validate): unknown, nothing asked.
    let offline = LoadContext::new().with_aws_identity(AwsIdentity::Offline);
    let all = inputs_of(&root.join("aws"), &offline).expect("loads offline");
    assert_eq!(all["b"]["x"], Value::Unknown);
    assert_eq!(down.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn run_cmd_runs_in_the_unit_folder_once_and_failures_name_the_call() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    let count = root.join("count");
    // One context for both loads: a command runs once per context.
    let context = LoadContext::new();
    let append = format!("echo run >> {0}; wc -l < {0} | tr -d ' '", count.display());
    // The root file's call runs in each including unit's folder (Terragrunt's working
    // directory); the unit's locals and inputs call the same command, which runs once.
    write(
        &root,
        &[
            (
                "env/terragrunt.hcl",
                "inputs = {\n  where = run_cmd(\"pwd\")\n}\n",
            ),
            (
                "env/a/terragrunt.hcl",
                &format!(
                    "include \"root\" {{\n  path = find_in_parent_folders()\n}}\nlocals {{\n  n = run_cmd(\"sh\", \"-c\", \"{append}\")\n}}\ninputs = {{\n  x     = local.n\n  again = run_cmd(\"--terragrunt-quiet\", \"sh\", \"-c\", \"{append}\")\n}}\n"
                ),
            ),
            ("env/a/main.tf", MODULE),
            (
                "env/b/terragrunt.hcl",
                "include \"root\" {\n  path = find_in_parent_folders()\n}\n",
            ),
            ("env/b/main.tf", MODULE),
        ],
    );
    let all = inputs_of(&root.join("env"), &context).expect("loads");
    assert_eq!(
        all["a"]["where"],
        Value::string(root.join("env/a").to_string_lossy())
    );
    assert_eq!(
        all["b"]["where"],
        Value::string(root.join("env/b").to_string_lossy())
    );
    assert_eq!(all["a"]["x"], Value::string("1"));
    assert_eq!(all["a"]["again"], Value::string("1"));
    inputs_of(&root.join("env"), &context).expect("loads again");
    assert_eq!(
        std::fs::read_to_string(&count).expect("count"),
        "run\n",
        "the command ran once"
    );

    write(
        &root,
        &[
            (
                "broken/terragrunt.hcl",
                "locals {\n  token = run_cmd(\"sh\", \"-c\", \"echo no credentials >&2; exit 7\")\n}\n",
            ),
            ("broken/main.tf", MODULE),
        ],
    );
    let err = inputs_of(&root.join("broken"), &context).expect_err("fails");
    let file = root.join("broken/terragrunt.hcl");
    assert!(
        err.contains(&format!(
            "error: run_cmd: `sh -c echo no credentials >&2; exit 7` exited with code 7 in {}, its stderr ending: no credentials",
            root.join("broken").display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("--> {}:2:11", file.display())),
        "{err}"
    );
    assert!(
        err.contains("hint: fix the command or what it reads, then run again"),
        "{err}"
    );
}

/// Under Terragrunt's `iam_role` the AWS functions answer as the role (Terragrunt assumes
/// it before evaluating the unit): the unit's locals and inputs name the role's account,
/// while a unit without a role keeps the program's own; each identity is asked once.
#[test]
fn aws_functions_answer_as_the_units_iam_role() {
    let sts = Arc::new(CountingSts {
        calls: AtomicUsize::new(0),
        alias_calls: AtomicUsize::new(0),
        fail: false,
    });
    let context = LoadContext::new().with_aws_identity(AwsIdentity::Lookup(sts.clone()));
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical");
    write(
        &root,
        &[
            (
                "env/role/terragrunt.hcl",
                "iam_role = \"arn:aws:iam::444444444444:role/deployer\"\nlocals {\n  account = get_aws_account_id()\n}\ninputs = {\n  x   = local.account\n  arn = get_aws_caller_identity_arn()\n}\n",
            ),
            ("env/role/main.tf", MODULE),
            // No function in its files: the role's context still answers its inputs.
            (
                "env/late/terragrunt.hcl",
                "iam_role = \"arn:aws:iam::444444444444:role/deployer\"\ninputs = { x = get_aws_account_id() }\n",
            ),
            ("env/late/main.tf", MODULE),
            (
                "env/own/terragrunt.hcl",
                "inputs = { x = get_aws_account_id() }\n",
            ),
            ("env/own/main.tf", MODULE),
        ],
    );
    let all = inputs_of(&root.join("env"), &context).expect("loads");
    assert_eq!(all["role"]["x"], Value::string("444444444444"));
    assert_eq!(
        all["role"]["arn"],
        Value::string("arn:aws:sts::444444444444:assumed-role/r/s")
    );
    assert_eq!(all["late"]["x"], Value::string("444444444444"));
    assert_eq!(all["own"]["x"], Value::string("123456789012"));
    // The role's account once, the program's own once (the unit without a role).
    assert_eq!(sts.calls.load(Ordering::SeqCst), 2);
}
