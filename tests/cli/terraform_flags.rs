//! Terraform's flags as a CI script writes them (one dash or two, `=` or a space), each
//! checked by what it does: on Terraform's built-in `terraform_data` with the local state
//! backend (no network), and `-refresh=false` against the emulator's SQS, where an object
//! can change behind forge's back.

use std::process::Command;

use super::World;
use super::stacks::require_emulators;

/// A unit where `b` depends on `a`, `c` stands alone and `n` has two instances.
const MODULE: &str = r#"
variable "name" {
  type    = string
  default = "from-default"
}

resource "terraform_data" "a" {
  input = var.name
}

resource "terraform_data" "b" {
  input = terraform_data.a.output
}

resource "terraform_data" "c" {
  input = "c"
}

resource "terraform_data" "n" {
  count = 2
  input = "n${count.index}"
}

output "b" {
  value = terraform_data.b.output
}

output "c" {
  value = terraform_data.c.output
}
"#;

fn unit() -> World {
    World::new(&[("env/u/terragrunt.hcl", ""), ("env/u/main.tf", MODULE)])
}

/// The `# <address> will be ...` titles of a plan, in order.
fn titles(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("# "))
        .filter(|l| l.contains(" will be ") || l.contains(" must be "))
        .map(str::to_string)
        .collect()
}

fn state_list(w: &World, dir: &str) -> String {
    let run = w.forge(&["state", "list", dir]);
    assert_eq!(run.code, 0, "{}", run.all());
    run.stdout
}

#[test]
fn cli_target_plans_and_applies_only_the_target_and_what_it_needs() {
    let w = unit();
    let plan = w.forge(&["plan", "env/u", "-target=terraform_data.b"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert_eq!(
        titles(&plan.stdout),
        [
            "terraform_data.a will be created",
            "terraform_data.b will be created"
        ],
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Warning: Resource targeting is in effect"),
        "{}",
        plan.stdout
    );
    // Only the output whose references are all planned.
    assert!(
        plan.stdout.contains("+ b = (known after apply)") && !plan.stdout.contains("+ c ="),
        "{}",
        plan.stdout
    );
    // One instance of a counted resource, with two dashes and a space.
    let one = w.forge(&["plan", "env/u", "--target", "terraform_data.n[1]"]);
    assert_eq!(
        titles(&one.stdout),
        ["terraform_data.n[1] will be created"],
        "{}",
        one.all()
    );
    let apply = w.forge(&[
        "apply",
        "env/u",
        "-target=terraform_data.b",
        "-auto-approve",
    ]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert_eq!(
        state_list(&w, "env/u"),
        "terraform_data.a\nterraform_data.b\n"
    );
    // The rest is still to do, and the targeted apply kept the output it did not touch
    // out of state rather than writing it unknown.
    let rest = w.forge(&["plan", "env/u"]);
    assert_eq!(
        titles(&rest.stdout),
        [
            "terraform_data.c will be created",
            "terraform_data.n[0] will be created",
            "terraform_data.n[1] will be created"
        ],
        "{}",
        rest.all()
    );
    // An object the configuration lost is destroyed only when a target names it.
    assert_eq!(
        w.forge(&["apply", "env/u", "-auto-approve"]).code,
        0,
        "full apply"
    );
    w.write(&[(
        "env/u/main.tf",
        &MODULE
            .replace("\"c\" {", "\"c2\" {")
            .replace("terraform_data.c.output", "terraform_data.c2.output"),
    )]);
    let other = w.forge(&["plan", "env/u", "-target=terraform_data.n"]);
    assert_eq!(
        titles(&other.stdout),
        Vec::<String>::new(),
        "{}",
        other.all()
    );
    let named = w.forge(&["plan", "env/u", "-target=terraform_data.c"]);
    assert_eq!(
        titles(&named.stdout),
        ["terraform_data.c will be destroyed"],
        "{}",
        named.all()
    );
}

#[test]
fn cli_exclude_leaves_out_the_address_and_its_dependents() {
    let w = unit();
    let plan = w.forge(&["plan", "env/u", "-exclude=terraform_data.a"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert_eq!(
        titles(&plan.stdout),
        [
            "terraform_data.c will be created",
            "terraform_data.n[0] will be created",
            "terraform_data.n[1] will be created"
        ],
        "{}",
        plan.stdout
    );
    let both = w.forge(&[
        "plan",
        "env/u",
        "-exclude=terraform_data.a",
        "-target=terraform_data.c",
    ]);
    assert_eq!(both.code, 1);
    assert!(
        both.stderr
            .contains("-target and -exclude cannot be used together"),
        "{}",
        both.stderr
    );
    let bad = w.forge(&["plan", "env/u", "-target=terraform_data"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("\"terraform_data\" is not a resource or module address"),
        "{}",
        bad.stderr
    );
}

#[test]
fn cli_targets_in_an_environment_name_their_unit() {
    let w = World::new(&[
        ("env/one/terragrunt.hcl", ""),
        ("env/one/main.tf", MODULE),
        ("env/two/terragrunt.hcl", ""),
        ("env/two/main.tf", MODULE),
    ]);
    let plan = w.forge(&["plan", "env", "-target=two:terraform_data.c"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(!plan.stdout.contains("── unit one"), "{}", plan.stdout);
    assert_eq!(
        titles(&plan.stdout),
        ["terraform_data.c will be created"],
        "{}",
        plan.stdout
    );
    let unprefixed = w.forge(&["plan", "env", "-target=terraform_data.c"]);
    assert_eq!(unprefixed.code, 1);
    assert!(
        unprefixed
            .stderr
            .contains("this run has 2 units; say which one")
            && unprefixed.stderr.contains("-target=UNIT:terraform_data.c"),
        "{}",
        unprefixed.stderr
    );
    let unknown = w.forge(&["plan", "env", "-exclude=three:terraform_data.c"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("no unit \"three\""),
        "{}",
        unknown.stderr
    );
    // A unit's resources left out of an apply are still to do in the next plan.
    let apply = w.forge(&[
        "apply",
        "env",
        "-exclude",
        "one:terraform_data.n",
        "-auto-approve",
    ]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert!(!state_list(&w, "env/one").contains("terraform_data.n"));
    assert!(state_list(&w, "env/two").contains("terraform_data.n[1]"));
}

#[test]
fn cli_replace_replaces_an_unchanged_instance() {
    let w = unit();
    assert_eq!(w.forge(&["apply", "env/u", "-auto-approve"]).code, 0);
    let id = |w: &World| {
        let show = w.forge(&["state", "show", "env/u", "terraform_data.c"]);
        show.stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("id").map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let before = id(&w);
    let plan = w.forge(&[
        "plan",
        "env/u",
        "-replace=terraform_data.c",
        "-detailed-exitcode",
    ]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert_eq!(
        titles(&plan.stdout),
        ["terraform_data.c will be replaced, as requested"],
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 1 to destroy."),
        "{}",
        plan.stdout
    );
    let json = w.forge(&[
        "plan",
        "env/u",
        "-replace",
        "terraform_data.c",
        "-json-plan",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan JSON");
    let change = doc["resource_changes"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["address"] == "terraform_data.c"))
        .expect("change of c");
    assert_eq!(change["action_reason"], "replace_by_request");
    assert_eq!(
        change["change"]["actions"],
        serde_json::json!(["delete", "create"])
    );
    // Through a saved plan: the file carries the request.
    let out = w.path("replace.plan");
    let out = out.to_str().expect("path");
    assert_eq!(
        w.forge(&["plan", "env/u", "-replace=terraform_data.c", "-out", out])
            .code,
        0
    );
    let apply = w.forge(&["apply", out]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    assert!(
        apply.stdout.contains("1 added, 0 changed, 1 destroyed"),
        "{}",
        apply.stdout
    );
    let after = id(&w);
    assert!(!before.is_empty() && before != after, "{before} -> {after}");
    // A saved plan decides its own replacements.
    let again = w.forge(&["apply", out, "-replace=terraform_data.c"]);
    assert_eq!(again.code, 1);
    assert!(
        again
            .stderr
            .contains("-replace cannot be used when applying a saved plan"),
        "{}",
        again.stderr
    );
    let data = w.forge(&["plan", "env/u", "-replace=data.x.y"]);
    assert!(
        data.stderr.contains("not a managed resource instance"),
        "{}",
        data.stderr
    );
}

#[test]
fn cli_var_and_var_file_win_in_command_line_order() {
    let w = unit();
    w.write(&[
        ("env/u/terraform.tfvars", "name = \"from-tfvars\"\n"),
        ("first.tfvars", "name = \"from-first-file\"\n"),
        ("second.tfvars.json", "{\"name\": \"from-second-file\"}"),
    ]);
    let input_of_a = |args: &[&str]| {
        let mut all = vec!["plan", "env/u", "-target=terraform_data.a"];
        all.extend_from_slice(args);
        let run = w.forge(&all);
        assert_eq!(run.code, 0, "{args:?}: {}", run.all());
        run.stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("+ input  = ").map(str::to_string))
            .unwrap_or_else(|| panic!("no input in {}", run.stdout))
    };
    assert_eq!(input_of_a(&[]), "\"from-tfvars\"");
    assert_eq!(
        input_of_a(&["-var-file=first.tfvars"]),
        "\"from-first-file\""
    );
    assert_eq!(
        input_of_a(&["-var-file=first.tfvars", "-var", "name=from-var"]),
        "\"from-var\""
    );
    assert_eq!(
        input_of_a(&["--var=name=from-var", "-var-file", "second.tfvars.json"]),
        "\"from-second-file\""
    );
    // A value holding `=` keeps it; TF_VAR_ loses to -var.
    assert_eq!(input_of_a(&["-var", "name=a=b"]), "\"a=b\"");
    let undeclared = w.forge(&["plan", "env/u", "-var", "nmae=x"]);
    assert_eq!(undeclared.code, 1);
    assert!(
        undeclared
            .stderr
            .contains("no unit of this run declares a variable \"nmae\""),
        "{}",
        undeclared.stderr
    );
    let missing = w.forge(&["plan", "env/u", "-var-file=nope.tfvars"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("cannot read the variable file nope.tfvars"),
        "{}",
        missing.stderr
    );
    let shapeless = w.forge(&["plan", "env/u", "-var", "name"]);
    assert_eq!(shapeless.code, 1);
    assert!(
        shapeless
            .stderr
            .contains("is not a variable name and a value separated by an equals sign"),
        "{}",
        shapeless.stderr
    );
}

#[test]
fn cli_lock_false_takes_no_lock_and_lock_timeout_waits_for_one() {
    let w = unit();
    let lock = w.path("env/u/.forge/.terraform.tfstate.lock.info");
    std::fs::create_dir_all(lock.parent().expect("parent")).expect("mkdir");
    let held = r#"{"ID":"11111111-2222-3333-4444-555555555555","Operation":"OperationTypeApply","Info":"","Who":"alice@ci","Version":"0.1.0","Created":"2026-11-25T10:00:00Z","Path":"x"}"#;
    std::fs::write(&lock, held).expect("lock");
    let refused = w.forge(&["plan", "env/u"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("the state is locked"),
        "{}",
        refused.stderr
    );
    // Waiting: at least the timeout, then the same refusal.
    let started = std::time::Instant::now();
    let waited = w.forge(&["plan", "env/u", "-lock-timeout=1s"]);
    assert_eq!(waited.code, 1);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert!(
        waited
            .stdout
            .contains("waiting for the state lock held by alice@ci"),
        "{}",
        waited.all()
    );
    let unlocked = w.forge(&["apply", "env/u", "-lock=false", "-auto-approve"]);
    assert_eq!(unlocked.code, 0, "{}", unlocked.all());
    assert!(state_list(&w, "env/u").contains("terraform_data.c"));
    // The other run's lock is untouched: forge neither took nor released it.
    assert_eq!(std::fs::read_to_string(&lock).expect("lock"), held);
    let bad = w.forge(&["plan", "env/u", "-lock-timeout=5x"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("\"5x\" is not a duration"),
        "{}",
        bad.stderr
    );
    assert_eq!(
        w.forge(&["plan", "env/u", "-lock=false", "-lock-timeout", "1m30s"])
            .code,
        0
    );
    // Terraform's force-unlock -force (forge never asks first).
    let unlock = w.forge(&[
        "force-unlock",
        "-force",
        "11111111-2222-3333-4444-555555555555",
        "env/u",
    ]);
    assert_eq!(unlock.code, 0, "{}", unlock.all());
    assert!(!lock.exists());
}

#[test]
fn cli_input_false_refuses_to_ask_for_approval() {
    let w = unit();
    let asked = w.forge(&["apply", "env/u", "-input=false"]);
    assert_eq!(asked.code, 1);
    assert!(
        asked.stderr.contains("-input=false forbids asking"),
        "{}",
        asked.all()
    );
    assert_eq!(state_list(&w, "env/u"), "");
    let destroy = w.forge(&["destroy", "env/u", "-input=false"]);
    assert_eq!(destroy.code, 1, "{}", destroy.all());
    let approved = w.forge(&["apply", "env/u", "-input=false", "-auto-approve"]);
    assert_eq!(approved.code, 0, "{}", approved.all());
    // A plan never asks: -input=false changes nothing there.
    assert_eq!(w.forge(&["plan", "env/u", "-input=false"]).code, 0);
}

#[test]
fn cli_compact_warnings_show_one_line_each() {
    let w = World::new(&[
        ("env/u/terragrunt.hcl", ""),
        (
            "env/u/main.tf",
            "resource \"terraform_data\" \"a\" {\n  input = \"alpha\"\n}\n\ncheck \"health\" {\n  assert {\n    condition     = terraform_data.a.input == \"beta\"\n    error_message = \"input must be beta\"\n  }\n}\n",
        ),
    ]);
    let full = w.forge(&["plan", "env/u"]);
    assert!(
        full.stdout.contains("input must be beta"),
        "{}",
        full.stdout
    );
    let compact = w.forge(&["plan", "env/u", "-compact-warnings"]);
    assert_eq!(compact.code, 0, "{}", compact.all());
    assert!(
        compact.stdout.contains(
            "Warnings:\n\n- Check block assertion failed\n  on main.tf line 7\n\nTo see the full warning notes, run forge without -compact-warnings.\n"
        ),
        "{}",
        compact.stdout
    );
    assert!(
        !compact.stdout.contains("input must be beta"),
        "{}",
        compact.stdout
    );
}

#[test]
fn cli_chdir_colour_parallelism_and_unsupported_flags() {
    let w = unit();
    let chdir = w.forge(&["-chdir=env", "plan", "u", "-target=terraform_data.c"]);
    assert_eq!(chdir.code, 0, "{}", chdir.all());
    assert_eq!(titles(&chdir.stdout), ["terraform_data.c will be created"]);
    let late = w.forge(&["plan", "-chdir=env", "u"]);
    assert_eq!(late.code, 1);
    assert!(
        late.stderr.contains("-chdir must come before the command"),
        "{}",
        late.stderr
    );
    let missing = w.forge(&["-chdir=nowhere", "plan"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("-chdir=nowhere: cannot switch to it"),
        "{}",
        missing.stderr
    );
    // The tests' NO_COLOR=1 gives plain text; -color=always forces ANSI into the pipe.
    let esc = '\u{1b}';
    assert!(!w.forge(&["plan", "env/u"]).stdout.contains(esc));
    assert!(
        w.forge(&["plan", "env/u", "-color=always"])
            .stdout
            .contains(esc)
    );
    assert!(
        !w.forge(&["plan", "env/u", "-color=always", "-no-color"])
            .stdout
            .contains(esc)
    );
    let forced = Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(["plan", "env/u"])
        .current_dir(w.dir.path())
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .expect("run forge");
    assert!(String::from_utf8_lossy(&forced.stdout).contains(esc));
    assert_eq!(w.forge(&["plan", "env/u", "-parallelism=1"]).code, 0);
    let zero = w.forge(&["plan", "env/u", "-parallelism=0"]);
    assert_eq!(zero.code, 1, "{}", zero.all());
    let state = w.forge(&["plan", "env/u", "-state=old.tfstate"]);
    assert_eq!(state.code, 1);
    assert!(
        state
            .stderr
            .contains("forge does not support Terraform's -state here"),
        "{}",
        state.stderr
    );
    let unknown = w.forge(&["plan", "env/u", "-frobnicate"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("unknown flag -frobnicate"),
        "{}",
        unknown.stderr
    );
    // Go's flag package needs `=` for a boolean: `-lock false` makes `false` the folder.
    let spaced = w.forge(&["plan", "-lock", "false"]);
    assert!(
        spaced.stderr.contains("false is not a folder"),
        "{}",
        spaced.stderr
    );
}

/// -refresh=false plans from state alone: a queue changed behind forge's back shows no
/// change until forge reads it again (LocalStack's SQS, changed with the SDK).
#[test]
fn cli_refresh_false_does_not_read_the_live_objects() {
    require_emulators();
    let tmp = tempfile::tempdir().expect("tempdir");
    let name = format!("forge-refresh-{}", uuid::Uuid::new_v4().simple());
    let unit = tmp.path().join("env/q");
    std::fs::create_dir_all(&unit).expect("mkdir");
    std::fs::write(unit.join("terragrunt.hcl"), "").expect("write");
    std::fs::write(
        unit.join("main.tf"),
        format!("resource \"aws_sqs_queue\" \"q\" {{\n  name                       = \"{name}\"\n  visibility_timeout_seconds = 60\n}}\n"),
    )
    .expect("write");
    let forge = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_forge"))
            .args(args)
            .current_dir(tmp.path())
            .env("NO_COLOR", "1")
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
    let (code, out) = forge(&["apply", "env/q", "-auto-approve"]);
    assert_eq!(code, Some(0), "{out}");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let sqs = aws_sdk_sqs::Client::new(&conf);
        let url = sqs
            .get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .expect("GetQueueUrl");
        sqs.set_queue_attributes()
            .queue_url(url.queue_url().unwrap_or_default())
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "45",
            )
            .send()
            .await
            .expect("SetQueueAttributes");
    });
    let (code, out) = forge(&["plan", "env/q", "-refresh=false", "-detailed-exitcode"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("Reading"), "{out}");
    let (code, out) = forge(&["plan", "env/q", "--refresh", "-detailed-exitcode"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("visibility_timeout_seconds  = 45 -> 60") || out.contains("45 -> 60"),
        "{out}"
    );
    let (code, out) = forge(&["destroy", "env/q", "-auto-approve"]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn cli_destroy_target_takes_what_depends_on_it() {
    let w = unit();
    assert_eq!(w.forge(&["apply", "env/u", "-auto-approve"]).code, 0);
    let destroy = w.forge(&[
        "destroy",
        "env/u",
        "-target=terraform_data.a",
        "-auto-approve",
    ]);
    assert_eq!(destroy.code, 0, "{}", destroy.all());
    assert_eq!(
        state_list(&w, "env/u"),
        "terraform_data.c\nterraform_data.n[0]\nterraform_data.n[1]\n"
    );
    let one = w.forge(&[
        "destroy",
        "env/u",
        "-target=terraform_data.n[0]",
        "-auto-approve",
    ]);
    assert_eq!(one.code, 0, "{}", one.all());
    assert_eq!(
        state_list(&w, "env/u"),
        "terraform_data.c\nterraform_data.n[1]\n"
    );
}

#[test]
fn cli_target_a_module_and_misspelt_addresses_are_named() {
    let w = World::new(&[
        ("env/u/terragrunt.hcl", ""),
        (
            "env/u/main.tf",
            "module \"m\" {\n  source = \"./m\"\n  count  = 2\n}\n\nresource \"terraform_data\" \"top\" {\n  input = \"top\"\n}\n",
        ),
        (
            "env/u/m/main.tf",
            "resource \"terraform_data\" \"inner\" {\n  input = \"inner\"\n}\n",
        ),
    ]);
    let all = w.forge(&["plan", "env/u", "-target=module.m"]);
    assert_eq!(
        titles(&all.stdout),
        [
            "module.m[0].terraform_data.inner will be created",
            "module.m[1].terraform_data.inner will be created"
        ],
        "{}",
        all.all()
    );
    let one = w.forge(&["plan", "env/u", "-target=module.m[1].terraform_data.inner"]);
    assert_eq!(
        titles(&one.stdout),
        ["module.m[1].terraform_data.inner will be created"],
        "{}",
        one.all()
    );
    let typo = w.forge(&[
        "plan",
        "env/u",
        "-target=terraform_data.tpo",
        "-replace=terraform_data.top",
    ]);
    assert_eq!(typo.code, 0, "{}", typo.all());
    assert_eq!(
        titles(&typo.stdout),
        Vec::<String>::new(),
        "{}",
        typo.stdout
    );
    for flag in ["-target=terraform_data.tpo", "-replace=terraform_data.top"] {
        assert!(
            typo.stdout.contains(&format!(
                "note: u: {flag} matches no resource instance of this unit: nothing is done for it"
            )),
            "{flag}: {}",
            typo.stdout
        );
    }
}

#[test]
fn cli_unit_filters_take_globs() {
    let unit = "resource \"terraform_data\" \"x\" {\n  input = \"x\"\n}\n";
    let w = World::new(&[
        ("env/app-a/terragrunt.hcl", ""),
        ("env/app-a/main.tf", unit),
        ("env/app-b/terragrunt.hcl", ""),
        ("env/app-b/main.tf", unit),
        ("env/db/terragrunt.hcl", ""),
        ("env/db/main.tf", unit),
    ]);
    let units = |args: &[&str]| {
        let mut all = vec!["plan", "env"];
        all.extend_from_slice(args);
        let run = w.forge(&all);
        assert_eq!(run.code, 0, "{args:?}: {}", run.all());
        run.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("── unit "))
            .map(|l| l.trim().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(units(&["--include-unit", "app-*"]), ["app-a", "app-b"]);
    assert_eq!(units(&["-exclude-unit=app-?"]), ["db"]);
    assert_eq!(units(&["-include-unit={db,app-b}"]), ["app-b", "db"]);
    let none = w.forge(&["plan", "env", "--include-unit", "web-*"]);
    assert_eq!(none.code, 1);
    assert!(
        none.stderr
            .contains("no unit named \"web-*\" (or matching it)"),
        "{}",
        none.stderr
    );
}

#[test]
fn cli_include_dependents_takes_the_units_that_depend_on_the_included() {
    let unit = "resource \"terraform_data\" \"x\" {\n  input = \"x\"\n}\n\noutput \"o\" {\n  value = terraform_data.x.output\n}\n";
    let depends_on =
        |dep: &str| format!("dependency \"{dep}\" {{\n  config_path = \"../{dep}\"\n}}\n");
    let (b, c) = (depends_on("a"), depends_on("b"));
    let w = World::new(&[
        ("env/a/terragrunt.hcl", ""),
        ("env/a/main.tf", unit),
        ("env/b/terragrunt.hcl", &b),
        ("env/b/main.tf", unit),
        ("env/c/terragrunt.hcl", &c),
        ("env/c/main.tf", unit),
        ("env/d/terragrunt.hcl", ""),
        ("env/d/main.tf", unit),
    ]);
    let units = |args: &[&str]| {
        let mut all = vec!["plan", "env"];
        all.extend_from_slice(args);
        let run = w.forge(&all);
        assert_eq!(run.code, 0, "{args:?}: {}", run.all());
        run.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("── unit "))
            .map(|l| l.trim().to_string())
            .collect::<Vec<_>>()
    };
    // The units left out give their dependents the outputs their state records.
    assert_eq!(w.forge(&["apply", "env", "-auto-approve"]).code, 0);
    assert_eq!(units(&["-include-unit=b"]), ["b"]);
    assert_eq!(
        units(&["-include-unit=b", "-include-dependents"]),
        ["b", "c"]
    );
    assert_eq!(
        units(&["-include-unit=a", "-include-dependents", "-exclude-unit=c"]),
        ["a", "b"]
    );
    let alone = w.forge(&["plan", "env", "-include-dependents"]);
    assert_eq!(alone.code, 1);
    assert!(
        alone.stderr.contains("name the units with --include-unit"),
        "{}",
        alone.stderr
    );
}

#[test]
fn cli_changed_since_takes_the_units_a_git_change_touches() {
    let unit = "resource \"terraform_data\" \"x\" {\n  input = \"x\"\n}\n";
    let w = World::new(&[
        (
            "env/a/terragrunt.hcl",
            "terraform {\n  source = \"../../modules/shared\"\n}\n",
        ),
        ("modules/shared/main.tf", unit),
        ("env/b/terragrunt.hcl", ""),
        ("env/b/main.tf", unit),
        ("env/c/terragrunt.hcl", ""),
        ("env/c/main.tf", unit),
        // What runs leave behind is not a change to the configuration.
        (".gitignore", "fake-cloud.json\n.forge/\n"),
    ]);
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(w.dir.path())
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "start"]);
    let units = |rev: &str| {
        let run = w.forge(&["plan", "env", "--changed-since", rev]);
        assert_eq!(run.code, 0, "{}", run.all());
        let names: Vec<String> = run
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("── unit "))
            .map(|l| l.trim().to_string())
            .collect();
        (names, run.stdout)
    };
    let (none, text) = units("HEAD");
    assert!(
        none.is_empty() && text.contains("No unit changed since HEAD: nothing to plan."),
        "{text}"
    );
    // A unit's own file, uncommitted.
    w.write(&[("env/b/main.tf", &unit.replace("\"x\"\n}", "\"y\"\n}"))]);
    assert_eq!(units("HEAD").0, ["b"]);
    // A module a unit uses, committed since the revision.
    w.write(&[(
        "modules/shared/extra.tf",
        unit.replace("\"x\" {", "\"z\" {").as_str(),
    )]);
    git(&["add", "."]);
    git(&["commit", "-qm", "module"]);
    assert_eq!(units("HEAD~1").0, ["a", "b"]);
    // A new file in the environment's folder (env.hcl) touches every unit.
    w.write(&[("env/env.hcl", "locals {}\n")]);
    assert_eq!(units("HEAD").0, ["a", "b", "c"]);
    let bad = w.forge(&["plan", "env", "--changed-since", "no-such-ref"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("--changed-since no-such-ref: git diff"),
        "{}",
        bad.stderr
    );
}
