//! Snapshot and exit-code tests of each subcommand.

use super::{World, assert_snapshot};

const A_MAIN: &str = r#"variable "prefix" {
  type = string
}

variable "password" {
  type      = string
  sensitive = true
}

resource "fake_thing" "main" {
  name   = "${var.prefix}-main"
  secret = var.password
  tags = {
    team = "platform"
  }
}

output "arn" {
  value = fake_thing.main.arn
}
"#;

const B_MAIN: &str = r#"variable "upstream" {
  type = string
}

resource "fake_thing" "consumer" {
  count = 2
  name  = "b-consumer-${count.index}"
  value = var.upstream
}

output "first" {
  value = fake_thing.consumer[0].name
}
"#;

fn env() -> World {
    World::new(&[
        (
            "stacks/dev/a/terragrunt.hcl",
            "inputs = {\n  prefix   = \"a\"\n  password = \"hunter2-secret\"\n}\n",
        ),
        ("stacks/dev/a/main.tf", A_MAIN),
        (
            "stacks/dev/b/terragrunt.hcl",
            "dependency \"a\" {\n  config_path = \"../a\"\n}\n\ninputs = {\n  upstream = dependency.a.outputs.arn\n}\n",
        ),
        ("stacks/dev/b/main.tf", B_MAIN),
    ])
}

#[test]
fn cli_plan_apply_output_destroy_round_trip() {
    let w = env();
    let plan = w.forge(&["plan", "dev", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        !plan.all().contains("hunter2-secret"),
        "secret printed:\n{}",
        plan.all()
    );
    assert_snapshot("plan_fresh", &w.redact(&plan.stdout));

    let cancelled = w.forge_with_input(&["apply", "dev"], "no\n");
    assert_eq!(cancelled.code, 1, "{}", cancelled.all());
    assert!(
        cancelled.stdout.contains("Apply cancelled."),
        "{}",
        cancelled.stdout
    );

    let apply = w.forge(&["apply", "dev", "--auto-approve", "--parallelism", "1"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert!(!apply.all().contains("hunter2-secret"));
    let after_plan = apply.stdout.split("Schedule:").nth(1).unwrap_or("");
    assert_snapshot("apply", &w.redact(&format!("Schedule:{after_plan}")));

    let again = w.forge(&["plan", "stacks/dev", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);

    let output = w.forge(&["output", "dev"]);
    assert_eq!(output.code, 0, "{}", output.all());
    assert_snapshot("output", &w.redact(&output.stdout));

    let destroy = w.forge(&["destroy", "dev", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.all());
    assert!(
        destroy
            .stdout
            .contains("Destroy complete! Resources: 0 added, 0 changed, 3 destroyed."),
        "{}",
        destroy.stdout
    );
    let cloud = std::fs::read_to_string(w.path("fake-cloud.json")).expect("cloud");
    assert!(
        cloud.contains("\"objects\":{}"),
        "objects left after destroy: {cloud}"
    );
}

#[test]
fn cli_plan_json_has_terraform_shape_without_secrets() {
    let w = env();
    let run = w.forge(&["plan", "dev", "--json-plan"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stdout.contains("hunter2-secret"));
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan JSON");
    assert_eq!(json["format_version"], "1.2");
    let changes = json["resource_changes"]
        .as_array()
        .expect("resource_changes");
    let main = changes
        .iter()
        .find(|c| c["address"] == "fake_thing.main")
        .expect("fake_thing.main");
    assert_eq!(main["change"]["actions"], serde_json::json!(["create"]));
    assert_eq!(main["change"]["after_sensitive"]["secret"], true);
    assert_eq!(main["change"]["after_unknown"]["arn"], true);
    let consumer = changes
        .iter()
        .find(|c| c["address"] == "fake_thing.consumer[1]")
        .expect("consumer[1]");
    assert_eq!(consumer["index"], 1);
    assert_eq!(consumer["unit"], "b");
}

#[test]
fn cli_saved_plan_applies_once_and_is_then_stale() {
    let w = env();
    let plan = w.forge(&["plan", "dev", "-out", "dev.plan", "--include-unit", "a"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let apply = w.forge(&["apply", "dev.plan"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert!(
        apply.stdout.contains("a: 1 added, 0 changed, 0 destroyed"),
        "{}",
        apply.stdout
    );
    let stale = w.forge(&["apply", "dev.plan"]);
    assert_eq!(stale.code, 1, "{}", stale.all());
    assert_snapshot("stale_plan", &w.redact(&stale.stderr));
}

#[test]
fn cli_validate_reports_schema_errors_with_locations() {
    let w = env();
    let ok = w.forge(&["validate", "dev"]);
    assert_eq!(ok.code, 0, "{}", ok.all());
    w.write(&[
        (
            "stacks/dev/a/main.tf",
            &A_MAIN.replace("resource \"fake_thing\"", "resource \"fake_thinng\""),
        ),
        (
            "stacks/dev/b/main.tf",
            &B_MAIN.replace(
                "  value = var.upstream",
                "  valeu = var.upstream\n  rule {\n    prot = 80\n  }",
            ),
        ),
    ]);
    let bad = w.forge(&["validate", "dev"]);
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert_snapshot("validate_errors", &w.redact(&bad.stderr));
}

#[test]
fn cli_missing_folder_is_a_clear_error() {
    let w = env();
    let run = w.forge(&["plan", "nowhere"]);
    assert_eq!(run.code, 1);
    assert_snapshot("missing_folder", &w.redact(&run.stderr));
}

#[test]
fn cli_graph_prints_dot_and_mermaid() {
    let w = env();
    let dot = w.forge(&["graph", "dev"]);
    assert_eq!(dot.code, 0, "{}", dot.all());
    assert_snapshot("graph_dot", &dot.stdout);
    let mermaid = w.forge(&["graph", "dev", "--format", "mermaid", "--resources"]);
    assert_eq!(mermaid.code, 0, "{}", mermaid.all());
    assert_snapshot("graph_resources_mermaid", &mermaid.stdout);
}

/// `graph --resources` joins the units' graphs: the dependent's variable to the output it
/// reads, and a dashed unit-to-unit edge where forge waits for the whole unit
/// (`dependencies { paths }`).
#[test]
fn cli_graph_resources_draws_the_edges_between_units() {
    let w = World::new(&[
        (
            "stacks/dev/a/terragrunt.hcl",
            "inputs = {\n  prefix   = \"a\"\n  password = \"p\"\n}\n",
        ),
        ("stacks/dev/a/main.tf", A_MAIN),
        (
            "stacks/dev/b/terragrunt.hcl",
            "dependency \"a\" {\n  config_path = \"../a\"\n}\n\ninputs = {\n  upstream = dependency.a.outputs.arn\n}\n",
        ),
        ("stacks/dev/b/main.tf", B_MAIN),
        (
            "stacks/dev/c/terragrunt.hcl",
            "dependencies {\n  paths = [\"../a\"]\n}\n\ninputs = {\n  upstream = \"x\"\n}\n",
        ),
        (
            "stacks/dev/c/main.tf",
            B_MAIN.replace("b-consumer", "c-consumer").as_str(),
        ),
    ]);
    let dot = w.forge(&["graph", "dev", "--resources"]);
    assert_eq!(dot.code, 0, "{}", dot.all());
    // Node ids by (cluster, label), from `uXnY [label = "..."]` lines.
    let id_of = |unit: usize, label: &str| {
        dot.stdout
            .lines()
            .map(str::trim)
            .find(|l| {
                l.starts_with(&format!("u{unit}n"))
                    && l.ends_with(&format!("[label = \"{label}\"];"))
            })
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("no {label} in unit {unit}:\n{}", dot.stdout))
            .to_string()
    };
    let edge = format!(
        "{} -> {};",
        id_of(1, "var.upstream"),
        id_of(0, "output.arn")
    );
    assert!(
        dot.stdout.lines().any(|l| l.trim() == edge),
        "no edge {edge}:\n{}",
        dot.stdout
    );
    assert!(
        dot.stdout
            .lines()
            .any(|l| l.trim() == "u2 -> u0 [style = dashed];"),
        "no barrier edge from c to a:\n{}",
        dot.stdout
    );
    assert!(
        !dot.stdout.lines().any(|l| l.trim().starts_with("u1 -> u0")),
        "b waits for a whole:\n{}",
        dot.stdout
    );
}

#[test]
fn cli_state_list_show_mv_rm() {
    let w = env();
    assert_eq!(w.forge(&["apply", "dev", "--auto-approve"]).code, 0);
    let list = w.forge(&["state", "list", "dev"]);
    assert_eq!(
        list.stdout,
        "a: fake_thing.main\nb: fake_thing.consumer[0]\nb: fake_thing.consumer[1]\n",
        "{}",
        list.all()
    );
    let show = w.forge(&["state", "show", "dev/a", "fake_thing.main"]);
    assert_eq!(show.code, 0, "{}", show.all());
    assert!(
        show.stdout.contains("secret = (sensitive value)"),
        "{}",
        show.stdout
    );
    assert!(!show.stdout.contains("hunter2-secret"));
    let mv = w.forge(&[
        "state",
        "mv",
        "dev/b",
        "fake_thing.consumer[1]",
        "fake_thing.consumer[5]",
    ]);
    assert_eq!(mv.code, 0, "{}", mv.all());
    let rm = w.forge(&["state", "rm", "dev/b", "fake_thing.consumer[5]"]);
    assert_eq!(rm.code, 0, "{}", rm.all());
    let missing = w.forge(&["state", "rm", "dev/b", "fake_thing.consumer[5]"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("fake_thing.consumer[5] is not in the state of unit b"),
        "{}",
        missing.stderr
    );
    let pulled = w.forge(&["state", "pull", "dev/b"]);
    assert_eq!(pulled.code, 0, "{}", pulled.all());
    let before: serde_json::Value = serde_json::from_str(&pulled.stdout).expect("state JSON");
    std::fs::write(w.path("b.tfstate"), &pulled.stdout).expect("write");
    let pushed = w.forge(&["state", "push", "dev/b", "b.tfstate"]);
    assert_eq!(pushed.code, 0, "{}", pushed.all());
    let after: serde_json::Value =
        serde_json::from_str(&w.forge(&["state", "pull", "dev/b"]).stdout).expect("state JSON");
    assert_eq!(after["lineage"], before["lineage"]);
    assert!(
        after["serial"].as_u64() > before["serial"].as_u64(),
        "{} then {}",
        before["serial"],
        after["serial"]
    );
    let foreign = pulled.stdout.replace(
        before["lineage"].as_str().expect("lineage"),
        "another-lineage",
    );
    std::fs::write(w.path("foreign.tfstate"), foreign).expect("write");
    let refused = w.forge(&["state", "push", "dev/b", "foreign.tfstate"]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused.stderr.contains("another lineage"),
        "{}",
        refused.stderr
    );
    // The forgotten object is re-created by the next apply (it is no longer managed).
    let plan = w.forge(&["plan", "dev/b", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
}

#[test]
fn cli_refuses_a_held_lock_naming_the_holder() {
    let w = env();
    let lock = w.path("stacks/dev/a/.forge/.terraform.tfstate.lock.info");
    std::fs::create_dir_all(lock.parent().expect("parent")).expect("mkdir");
    std::fs::write(
        &lock,
        r#"{"ID":"11111111-2222-3333-4444-555555555555","Operation":"OperationTypeApply","Info":"","Who":"alice@ci","Version":"0.1.0","Created":"2026-11-25T10:00:00Z","Path":"x"}"#,
    )
    .expect("lock");
    let run = w.forge(&["plan", "dev/a"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("alice@ci"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("forge force-unlock 11111111-2222-3333-4444-555555555555"),
        "{}",
        run.stderr
    );
    let unlock = w.forge(&[
        "force-unlock",
        "11111111-2222-3333-4444-555555555555",
        "dev/a",
    ]);
    assert_eq!(unlock.code, 0, "{}", unlock.all());
    assert_eq!(w.forge(&["plan", "dev/a"]).code, 0);
}

#[test]
fn cli_import_adopts_an_existing_object() {
    let w = env();
    assert_eq!(
        w.forge(&["apply", "dev", "--auto-approve", "--include-unit", "a"])
            .code,
        0
    );
    assert_eq!(
        w.forge(&["state", "rm", "dev/a", "fake_thing.main"]).code,
        0
    );
    let orphaned = w.forge(&["plan", "dev/a", "--detailed-exitcode"]);
    assert_eq!(
        orphaned.code,
        2,
        "a forgotten object is planned anew:\n{}",
        orphaned.all()
    );
    let missing = w.forge(&["import", "dev/a", "fake_thing.main", "fake_thing-99"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("no fake_thing with id \"fake_thing-99\" exists"),
        "{}",
        missing.stderr
    );
    let import = w.forge(&["import", "dev/a", "fake_thing.main", "fake_thing-1"]);
    assert_eq!(import.code, 0, "{}", import.all());
    assert!(
        import
            .stdout
            .contains("fake_thing.main: Import complete [id=fake_thing-1]"),
        "{}",
        import.stdout
    );
    let again = w.forge(&["import", "dev/a", "fake_thing.main", "fake_thing-1"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("already in the state"),
        "{}",
        again.stderr
    );
    let plan = w.forge(&["plan", "dev/a", "--detailed-exitcode"]);
    assert_eq!(
        plan.code,
        0,
        "imported object still differs:\n{}",
        plan.all()
    );
}

#[test]
fn cli_drift_is_shown_and_refresh_only_accepts_it() {
    let w = env();
    assert_eq!(w.forge(&["apply", "dev/a", "--auto-approve"]).code, 0);
    let cloud_file = w.path("fake-cloud.json");
    let cloud = std::fs::read_to_string(&cloud_file).expect("cloud");
    std::fs::write(
        &cloud_file,
        cloud.replace("\"platform\"", "\"changed-by-hand\""),
    )
    .expect("drift");
    let plan = w.forge(&["plan", "dev/a", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert_snapshot("plan_drift", &w.redact(&plan.stdout));
    let refresh = w.forge(&["apply", "dev/a", "--refresh-only", "--auto-approve"]);
    assert_eq!(refresh.code, 0, "{}", refresh.all());
    assert!(
        refresh.stdout.contains("1 drifted object(s) recorded"),
        "{}",
        refresh.stdout
    );
    let state = w.forge(&["state", "show", "dev/a", "fake_thing.main"]);
    assert!(state.stdout.contains("changed-by-hand"), "{}", state.stdout);
    let json = w.forge(&["plan", "dev/a", "--json-plan"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(
        doc["resource_changes"][0]["change"]["actions"],
        serde_json::json!(["update"])
    );
}

/// Terraform itself (on the machine image, see /work/shared/notes/terraform-as-oracle.md)
/// reads the state forge writes: addresses with index keys, outputs, sensitive outputs.
#[test]
fn cli_terraform_reads_the_state_forge_writes() {
    let w = env();
    assert_eq!(w.forge(&["apply", "dev", "--auto-approve"]).code, 0);
    let terraform = |args: &[&str], dir: &str| {
        let out = std::process::Command::new("terraform")
            .args(args)
            .current_dir(w.path(dir))
            .env("TF_CLI_CONFIG_FILE", "")
            .output()
            .unwrap_or_else(|e| panic!("terraform is needed as the oracle for this test (it is on the machine image): {e}"));
        assert!(
            out.status.success(),
            "terraform {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list = terraform(
        &["state", "list", "-state=terraform.tfstate"],
        "stacks/dev/b/.forge",
    );
    assert_eq!(list, "fake_thing.consumer[0]\nfake_thing.consumer[1]\n");
    let outputs = terraform(
        &["output", "-state=terraform.tfstate", "-json"],
        "stacks/dev/a/.forge",
    );
    let json: serde_json::Value = serde_json::from_str(&outputs).expect("terraform output JSON");
    assert_eq!(json["arn"]["value"], "arn:fake:fake_thing:a-main");
    assert_eq!(json["arn"]["type"], "string");
}

/// And forge reads the state Terraform writes (built-in `terraform_data`, offline).
#[test]
fn cli_forge_reads_the_state_terraform_writes() {
    let w = World::new(&[
        (
            "tf/main.tf",
            "resource \"terraform_data\" \"x\" {\n  input = \"hello\"\n}\n\noutput \"o\" {\n  value = terraform_data.x.output\n}\n\noutput \"pw\" {\n  value     = \"hunter2-secret\"\n  sensitive = true\n}\n",
        ),
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        ("env/u/main.tf", ""),
    ]);
    for args in [
        &["init", "-input=false"][..],
        &["apply", "-auto-approve", "-input=false"][..],
    ] {
        let out = std::process::Command::new("terraform")
            .args(args)
            .current_dir(w.path("tf"))
            .env("TF_CLI_CONFIG_FILE", "")
            .output()
            .unwrap_or_else(|e| panic!("terraform is needed as the oracle for this test (it is on the machine image): {e}"));
        assert!(
            out.status.success(),
            "terraform {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::create_dir_all(w.path("env/u/.forge")).expect("mkdir");
    std::fs::copy(
        w.path("tf/terraform.tfstate"),
        w.path("env/u/.forge/terraform.tfstate"),
    )
    .expect("copy");
    let list = w.forge(&["state", "list", "env/u"]);
    assert_eq!(list.stdout, "terraform_data.x\n", "{}", list.all());
    let output = w.forge(&["output", "env/u"]);
    assert_eq!(
        output.stdout,
        "o = \"hello\"\npw = (sensitive value)\n",
        "{}",
        output.all()
    );
    // The same configuration plans no change: nothing is re-created on switching to forge.
    std::fs::copy(w.path("tf/main.tf"), w.path("env/u/main.tf")).expect("copy config");
    let plan = w.forge(&["plan", "env/u", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

/// `forge state show` prints what `terraform state show` prints for the same state:
/// terraform_data's dynamic `input`/`output` as values (not their stored
/// `{"value","type"}` form), JSON strings as `jsonencode(...)`, maps and lists over lines,
/// and a secret hidden.
#[test]
fn cli_state_show_matches_terraform_state_show() {
    let config = r#"variable "secret" {
  default   = "hunter2-secret"
  sensitive = true
}

resource "terraform_data" "policy" {
  input = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = ["sqs:SendMessage"], Resource = "*" }] })
}

resource "terraform_data" "mixed" {
  input            = { name = "x", secret = var.secret, doc = jsonencode([1, { a = null }]), list = ["a", 2, true] }
  triggers_replace = ["one", "two\nlines"]
}
"#;
    let w = World::new(&[
        ("tf/main.tf", config),
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        ("env/u/main.tf", ""),
    ]);
    let terraform = |args: &[&str]| {
        let out = std::process::Command::new("terraform")
            .args(args)
            .current_dir(w.path("tf"))
            .env("TF_CLI_CONFIG_FILE", "")
            .output()
            .unwrap_or_else(|e| panic!("terraform is needed as the oracle for this test (it is on the machine image, v1.11.4): {e}"));
        assert!(
            out.status.success(),
            "terraform {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    terraform(&["init", "-input=false"]);
    terraform(&["apply", "-auto-approve", "-input=false"]);
    std::fs::create_dir_all(w.path("env/u/.forge")).expect("mkdir");
    std::fs::copy(
        w.path("tf/terraform.tfstate"),
        w.path("env/u/.forge/terraform.tfstate"),
    )
    .expect("copy");
    for addr in ["terraform_data.policy", "terraform_data.mixed"] {
        let expected = terraform(&["state", "show", "-no-color", addr]);
        let shown = w.forge(&["state", "show", "env/u", addr]);
        assert_eq!(shown.code, 0, "{}", shown.all());
        assert_eq!(
            shown.stdout, expected,
            "forge state show {addr} differs from terraform state show"
        );
        assert!(
            shown.stdout.contains("jsonencode(") && !shown.stdout.contains("\"type\""),
            "{}",
            shown.stdout
        );
    }
    // `input.secret` is recorded sensitive and hidden by both. (Terraform records the
    // `output` copy unmarked and both show it, README "Known incompatibilities".)
    let mixed = w
        .forge(&["state", "show", "env/u", "terraform_data.mixed"])
        .stdout;
    let input = &mixed[mixed.find("input").expect("input")..mixed.find("output").expect("output")];
    assert!(
        input.contains("secret = (sensitive value)") && !input.contains("hunter2"),
        "{mixed}"
    );
}

/// The reference environment validates with no AWS variables at all (no network, no state).
#[test]
fn cli_validate_the_reference_environment_offline() {
    let stacks = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/production");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(["validate", &stacks.to_string_lossy()])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run forge");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("Success! The configuration is valid (8 unit(s)"),
        "{text}"
    );
}

#[test]
fn cli_files_that_hold_state_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let w = env();
    let plan = w.forge(&["plan", "dev", "-out", "dev.plan", "--include-unit", "a"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert_eq!(mode(&w.path("dev.plan")), 0o600, "saved plan");
    let apply = w.forge(&["apply", "dev.plan"]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert_eq!(mode(&w.path("stacks/dev/a/.forge")), 0o700, ".forge folder");
    assert_eq!(
        mode(&w.path("stacks/dev/a/.forge/terraform.tfstate")),
        0o600,
        "local state"
    );
}

/// `forge validate` evaluates what a plan would, with what only AWS knows left unknown:
/// each of these configurations passed validate and failed only at plan. Each case is one
/// unit's `main.tf` (inputs give `name = "ab"`) or `terragrunt.hcl`, and a phrase of the
/// error expected at the given line.
#[test]
fn cli_validate_evaluates_what_a_plan_would() {
    const UNIT: &str = "inputs = {\n  name = \"ab\"\n}\n";
    const VAR: &str = "variable \"name\" {\n  type = string\n}\n";
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "unknown function",
            "locals {\n  x = nosuchfn(1)\n}\n",
            "no function named `nosuchfn`",
            "main.tf:5:7",
        ),
        (
            "wrong arity",
            "locals {\n  x = upper(\"a\", \"b\")\n}\n",
            "takes 1 argument, but 2 were given",
            "main.tf:5:7",
        ),
        (
            "bad JSON literal",
            "locals {\n  x = jsondecode(\"{bad\")\n}\n",
            "not valid JSON",
            "main.tf:5:18",
        ),
        (
            "validation fails for the unit's input",
            "variable \"size\" {\n  type    = string\n  default = \"x\"\n}\nlocals {\n  y = var.name\n}\nvariable \"other\" {\n  type = number\n  default = 1\n  validation {\n    condition     = var.other > 5\n    error_message = \"other must be over 5.\"\n  }\n}\n",
            "other must be over 5.",
            "main.tf:15:21",
        ),
        (
            "for_each over a list",
            "resource \"terraform_data\" \"a\" {\n  for_each = [\"a\", \"b\"]\n}\n",
            "and this is a list",
            "main.tf:5:14",
        ),
        (
            "negative count",
            "resource \"terraform_data\" \"a\" {\n  count = -1\n}\n",
            "count must be zero or more",
            "main.tf:5:11",
        ),
        (
            "depends_on names an attribute",
            "resource \"terraform_data\" \"b\" {}\nresource \"terraform_data\" \"a\" {\n  depends_on = [terraform_data.b.id]\n}\n",
            "`id` is an attribute",
            "main.tf:6:17",
        ),
        (
            "a provider argument of the wrong type",
            "provider \"aws\" {\n  region = [\"us-east-1\"]\n}\n",
            "a string is required, not a tuple",
            "main.tf:5:12",
        ),
    ];
    for (what, body, phrase, at) in cases {
        let w = World::new(&[
            ("env/u/terragrunt.hcl", UNIT),
            ("env/u/main.tf", &format!("{VAR}{body}")),
        ]);
        let out = w.forge(&["validate", "env"]);
        assert_eq!(out.code, 1, "{what}: validate passed:\n{}", out.all());
        assert!(
            out.stderr.contains(phrase) && out.stderr.contains(at),
            "{what}: expected {phrase:?} at {at}:\n{}",
            out.stderr
        );
    }
    // An unsupported state backend, at its block.
    let w = World::new(&[
        (
            "env/u/terragrunt.hcl",
            &format!(
                "remote_state {{\n  backend = \"gcs\"\n  config = {{ bucket = \"b\" }}\n}}\n{UNIT}"
            ),
        ),
        ("env/u/main.tf", VAR),
    ]);
    let out = w.forge(&["validate", "env"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr
            .contains("remote_state backend \"gcs\" is not supported")
            && out.stderr.contains("terragrunt.hcl:1:1"),
        "{}",
        out.stderr
    );
    // The same unit with every problem fixed is valid: the checks are not just noisy.
    let w = World::new(&[
        ("env/u/terragrunt.hcl", UNIT),
        (
            "env/u/main.tf",
            &format!(
                "{VAR}resource \"terraform_data\" \"a\" {{\n  for_each = toset([\"a\"])\n  input    = jsondecode(\"{{\\\"k\\\": 1}}\")\n}}\nresource \"terraform_data\" \"b\" {{\n  count      = length(var.name)\n  depends_on = [terraform_data.a]\n}}\n"
            ),
        ),
    ]);
    let out = w.forge(&["validate", "env"]);
    assert_eq!(out.code, 0, "{}", out.all());
}

/// A saved plan is a promise: `apply FILE` performs what was reviewed or refuses with
/// "Saved plan is stale" and changes nothing. Here an input changes between plan and
/// apply; a value unknown at review (an output of the unit applied first) may
/// be anything, and the plan applies once the input is back to what was reviewed.
#[test]
fn cli_a_saved_plan_applies_what_was_reviewed_or_nothing() {
    let upstream = "variable \"v\" {\n  type = string\n}\nresource \"terraform_data\" \"a\" {\n  input = var.v\n}\noutput \"id\" {\n  value = terraform_data.a.id\n}\n";
    let downstream = "variable \"upstream_id\" {\n  type = string\n}\nresource \"terraform_data\" \"b\" {\n  input = var.upstream_id\n}\n";
    let w = World::new(&[
        (
            "env/a/terragrunt.hcl",
            "inputs = {\n  v = \"seen-at-review\"\n}\n",
        ),
        ("env/a/main.tf", upstream),
        (
            "env/b/terragrunt.hcl",
            "dependency \"a\" {\n  config_path = \"../a\"\n}\ninputs = {\n  upstream_id = dependency.a.outputs.id\n}\n",
        ),
        ("env/b/main.tf", downstream),
    ]);
    let plan = w.forge(&["plan", "env", "-out", "env.plan"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    // The promises are digests: the values are compared without being kept there.
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("env.plan")).expect("plan file"))
            .expect("plan JSON");
    let promises = saved["units"][0]["promises"].to_string();
    assert!(
        promises.contains("terraform_data.a") && !promises.contains("seen-at-review"),
        "{promises}"
    );

    w.write(&[(
        "env/a/terragrunt.hcl",
        "inputs = {\n  v = \"changed-later\"\n}\n",
    )]);
    let stale = w.forge(&["apply", "env.plan"]);
    assert_ne!(stale.code, 0, "{}", stale.all());
    assert!(
        stale.all().contains("Saved plan is stale")
            && stale
                .all()
                .contains("terraform_data.a: the planned value differs at input"),
        "{}",
        stale.all()
    );
    let outputs = w.forge(&["output", "env"]);
    assert!(
        !outputs.all().contains("id ="),
        "something was applied:\n{}",
        outputs.all()
    );

    w.write(&[(
        "env/a/terragrunt.hcl",
        "inputs = {\n  v = \"seen-at-review\"\n}\n",
    )]);
    // The digests are keyed with the environment's plan key (private, not in the plan
    // file): under another key they cannot be checked, and nothing is applied.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(w.path("env/.forge/plan.key"))
            .expect("the plan key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let fake_cloud = w.path("fake-cloud.json");
    let other_key = super::s3_unit::forge(
        w.dir.path(),
        &["apply", "env.plan"],
        &[
            ("FORGE_FAKE_CLOUD", fake_cloud.to_str().expect("path")),
            ("AWS_REGION", "us-east-1"),
            ("FORGE_PLAN_KEY", "another-plan-key-entirely"),
        ],
    );
    assert_ne!(other_key.code, 0, "{}", other_key.all());
    assert!(
        other_key.all().contains("another plan key"),
        "{}",
        other_key.all()
    );
    assert!(!w.forge(&["output", "env"]).all().contains("id ="));
    let applied = w.forge(&["apply", "env.plan"]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert!(
        applied
            .stdout
            .contains("Resources: 2 added, 0 changed, 0 destroyed"),
        "{}",
        applied.all()
    );
}
