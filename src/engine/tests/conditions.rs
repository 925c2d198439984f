//! Custom conditions and check blocks on the fake provider: a failed precondition stops
//! the plan before anything is done, a failed postcondition stops the apply after the
//! object is recorded, an output's precondition guards its value, and a check block only
//! warns (its scoped data source too). Data sources read while planning reach plan JSON's
//! prior state with their sensitive parts hidden.

use std::path::Path;

use forge_engine::checks::CheckStatus;
use forge_engine::{Action, PlanMode, UnitOutcome, UnitPlan};
use forge_provider::fake::{FakeCloud, FakeOp};
use forge_render::plan_json::unit_plan_json;
use forge_render::text::render_unit;

mod support;
use support::{engine, load, plan_apply, state_of, unit_plan, write};

fn unit(root: &Path, main_tf: &str) {
    write(
        root,
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            ("u/main.tf", main_tf),
        ],
    );
}

fn errors(outcome: &UnitOutcome<impl std::fmt::Debug>) -> String {
    match outcome {
        UnitOutcome::Failed(es) => es
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("the unit did not fail: {other:?}"),
    }
}

fn status(plan: &UnitPlan, display: &str) -> CheckStatus {
    plan.checks
        .iter()
        .find(|c| c.display == display)
        .map(|c| c.status())
        .unwrap_or_else(|| panic!("no check result for {display}: {:?}", plan.checks))
}

const GUARDED: &str = r#"variable "size" {
  type    = number
  default = 3
}

resource "fake_thing" "a" {
  count = 2
  name  = "thing-${count.index}"
  size  = var.size
  lifecycle {
    precondition {
      condition     = var.size < 10
      error_message = "size ${var.size} is too big"
    }
    postcondition {
      condition     = self.arn != "arn:fake:fake_thing:thing-1"
      error_message = "thing-1 got the reserved arn"
    }
  }
}

output "size" {
  value = var.size
  precondition {
    condition     = var.size > 0
    error_message = "size must be positive"
  }
}
"#;

#[tokio::test]
async fn a_failed_precondition_stops_the_plan_before_any_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(dir.path(), &GUARDED.replace("default = 3", "default = 12"));
    let cloud = FakeCloud::new();
    let plan = engine(&cloud, 4)
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let text = errors(&plan.units[0].1);
    assert!(
        text.contains("fake_thing.a[0]: resource precondition failed: size 12 is too big"),
        "{text}"
    );
    assert!(
        text.contains("main.tf:12:23"),
        "the error points at the condition: {text}"
    );
    assert!(
        text.contains("var.size is 12"),
        "the error shows the value the condition read: {text}"
    );
    assert_eq!(cloud.count(FakeOp::Create), 0);
}

#[tokio::test]
async fn a_failed_output_precondition_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(dir.path(), &GUARDED.replace("default = 3", "default = 0"));
    let cloud = FakeCloud::new();
    let plan = engine(&cloud, 4)
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let text = errors(&plan.units[0].1);
    assert!(
        text.contains(
            "output.size: module output value precondition failed: size must be positive"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_postcondition_is_unknown_while_planning_and_fails_the_apply_after_the_object_is_recorded()
 {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(dir.path(), GUARDED);
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    let env = load(dir.path());
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    let p = unit_plan(&plan, "u");
    // The arn is known only after apply; the preconditions and the output's pass.
    assert_eq!(status(p, "fake_thing.a"), CheckStatus::Unknown);
    assert_eq!(status(p, "output.size"), CheckStatus::Pass);
    let (_, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
    let text = errors(&applied.units[0].1);
    assert!(
        text.contains(
            "fake_thing.a[1]: resource postcondition failed: thing-1 got the reserved arn"
        ),
        "{text}"
    );
    assert!(
        text.contains("self.arn is \"arn:fake:fake_thing:thing-1\""),
        "{text}"
    );
    // Both objects were made and recorded: the failure comes after the operation.
    let state = state_of(dir.path(), "u");
    assert_eq!(
        state
            .instances
            .keys()
            .filter(|a| a.to_string().starts_with("fake_thing.a["))
            .count(),
        2,
        "{:?}",
        state.instances.keys()
    );
    assert_eq!(cloud.objects_named("thing-1").len(), 1);
}

const CHECKED: &str = r#"resource "fake_thing" "a" {
  name = "a"
}

data "fake_lookup" "secret" {
  name = sensitive("hidden-lookup-name")
}

check "name" {
  data "fake_lookup" "probe" {
    name = "probe"
  }
  assert {
    condition     = data.fake_lookup.probe.result == "result-of-other"
    error_message = "the probe reads ${data.fake_lookup.probe.result}"
  }
}

check "arn" {
  assert {
    condition     = fake_thing.a.arn == "arn:fake:fake_thing:b"
    error_message = "a's arn is ${fake_thing.a.arn}"
  }
}
"#;

#[tokio::test]
async fn check_blocks_warn_while_planning_and_after_applying() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(dir.path(), CHECKED);
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    let env = load(dir.path());
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    assert!(
        !plan.failed(),
        "a check block never fails the plan: {plan:?}"
    );
    let p = unit_plan(&plan, "u");
    assert_eq!(status(p, "check.name"), CheckStatus::Fail);
    assert_eq!(status(p, "check.arn"), CheckStatus::Unknown);
    let text = render_unit(p, Default::default());
    assert!(text.contains("Warning: Check block assertion failed\n\n  on main.tf line 14, in check \"name\":\n  14:     condition     = data.fake_lookup.probe.result == \"result-of-other\"\n    ├────────────────\n    │ data.fake_lookup.probe.result is \"result-of-probe\"\n\nthe probe reads result-of-probe\n"), "{text}");
    assert!(
        text.contains("Warning: Check block assertion known after apply"),
        "{text}"
    );
    // The scoped data source is read now and planned to be read again during apply.
    assert_eq!(
        p.changes
            .iter()
            .find(|c| c.addr.to_string() == "data.fake_lookup.probe")
            .map(|c| c.action),
        Some(Action::Read)
    );
    assert!(
        text.contains("# (config will be reloaded to verify a check block)"),
        "{text}"
    );
    // Both data sources are in the prior state; the sensitive one stays hidden.
    let json = unit_plan_json(p);
    let prior: Vec<&str> = json["prior_state"]["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["address"].as_str())
        .collect();
    assert_eq!(
        prior,
        ["data.fake_lookup.probe", "data.fake_lookup.secret"],
        "{json}"
    );
    // (The fake echoes the name into `id` and `result`, which its schema does not mark.)
    let secret = &json["prior_state"]["values"]["root_module"]["resources"][1];
    assert_eq!(secret["values"]["name"], serde_json::Value::Null, "{json}");
    assert_eq!(secret["sensitive_values"]["name"], true, "{json}");
    assert_eq!(
        json["checks"][1]["address"]["to_display"], "check.name",
        "{json}"
    );
    assert_eq!(
        json["checks"][1]["instances"][0]["problems"][0]["message"],
        "the probe reads result-of-probe",
        "{json}"
    );
    // Applying: the arn is known now, and the check fails as a warning; the apply succeeds.
    let (_, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
    let UnitOutcome::Done(a) = &applied.units[0].1 else {
        panic!("apply failed: {applied:?}")
    };
    let result = a.result.as_ref().expect("applied");
    let arn = result
        .checks
        .iter()
        .find(|c| c.display == "check.arn")
        .expect("check.arn");
    assert_eq!(arn.status(), CheckStatus::Fail);
    assert_eq!(
        arn.instances[0].problems,
        ["a's arn is arn:fake:fake_thing:a"]
    );
    assert!(
        result
            .warnings
            .iter()
            .all(|w| w.summary != "Check block assertion known after apply"),
        "{:?}",
        result.warnings
    );
}

#[tokio::test]
async fn a_check_blocks_failing_data_source_is_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(dir.path(), CHECKED);
    let cloud = FakeCloud::new();
    cloud.fail_name(FakeOp::DataRead, "probe");
    let plan = engine(&cloud, 4)
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    assert!(!plan.failed(), "{plan:?}");
    let p = unit_plan(&plan, "u");
    let name = p
        .checks
        .iter()
        .find(|c| c.display == "check.name")
        .expect("check.name");
    assert_eq!(name.status(), CheckStatus::Fail);
    assert_eq!(
        name.instances[0].problems.len(),
        1,
        "the asserts are not evaluated without the data: {name:?}"
    );
    let text = render_unit(p, Default::default());
    assert!(text.contains("  with data.fake_lookup.probe,\n  on main.tf line 10, in check \"name\":\n  10:   data \"fake_lookup\" \"probe\" {\n"), "{text}");
    // A data source outside check blocks failing is still an error.
    cloud.clear_failures();
    cloud.fail_name(FakeOp::DataRead, "hidden-lookup-name");
    let plan = engine(&cloud, 4)
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    assert!(plan.failed(), "{plan:?}");
}

#[tokio::test]
async fn a_data_sources_postcondition_checks_what_was_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = "data \"fake_lookup\" \"l\" {\n  name = \"x\"\n  lifecycle {\n    postcondition {\n      condition     = self.result == \"something else\"\n      error_message = \"unexpected ${self.result}\"\n    }\n  }\n}\n";
    unit(dir.path(), main);
    let cloud = FakeCloud::new();
    let plan = engine(&cloud, 4)
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let text = errors(&plan.units[0].1);
    assert!(
        text.contains("data.fake_lookup.l: resource postcondition failed: unexpected result-of-x"),
        "{text}"
    );
}
