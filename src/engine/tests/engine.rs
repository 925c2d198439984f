//! The whole engine on the fake provider: environments written as HCL into a temporary
//! folder, loaded by forge-config, planned and applied against `forge_provider::fake`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use forge_engine::saved_plan::SavedPlan;
use forge_engine::{Action, ApplyTarget, ChangeReason, EnvPlan, PlanMode, UnitOutcome, UnitPlan};
use forge_provider::Value;
use forge_provider::fake::{FakeCloud, FakeOp};
use forge_render::plan_json::env_plan_json;
use forge_render::text::render_unit;

mod support;
use support::{engine, load, plan_apply, state_of, unit_plan, write};

fn action(plan: &UnitPlan, addr: &str) -> Action {
    plan.changes
        .iter()
        .find(|c| c.addr.to_string() == addr)
        .map(|c| c.action)
        .unwrap_or_else(|| panic!("no change for {addr} in {:?}", plan.changes))
}

/// Two units: `b` takes `a`'s output as input.
fn two_units(root: &Path) {
    write(
        root,
        &[
            ("a/terragrunt.hcl", "inputs = {\n  prefix = \"a\"\n}\n"),
            (
                "a/main.tf",
                "variable \"prefix\" {\n  type = string\n}\n\nresource \"fake_thing\" \"main\" {\n  name = \"${var.prefix}-main\"\n}\n\noutput \"arn\" {\n  value = fake_thing.main.arn\n}\n",
            ),
            (
                "b/terragrunt.hcl",
                "dependency \"a\" {\n  config_path = \"../a\"\n}\n\ninputs = {\n  upstream = dependency.a.outputs.arn\n}\n",
            ),
            (
                "b/main.tf",
                "variable \"upstream\" {\n  type = string\n}\n\nresource \"fake_thing\" \"consumer\" {\n  name  = \"b-consumer\"\n  value = var.upstream\n}\n\noutput \"seen\" {\n  value = fake_thing.consumer.value\n}\n",
            ),
        ],
    );
}

#[tokio::test]
async fn never_applied_environment_plans_with_unknown_dependency_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_units(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let plan = engine(&cloud, 4)
        .plan(&env, PlanMode::Normal)
        .await
        .expect("plan");
    assert!(!plan.failed(), "{plan:?}");
    let b = unit_plan(&plan, "b");
    let consumer = b
        .changes
        .iter()
        .find(|c| c.addr.to_string() == "fake_thing.consumer")
        .expect("consumer");
    assert_eq!(consumer.action, Action::Create);
    assert_eq!(
        consumer.after.as_ref().and_then(|a| a.get("value")),
        Some(&Value::Unknown)
    );
    let text = render_unit(b, Default::default());
    assert!(text.contains("value = (known after apply)"), "{text}");
    assert!(
        text.contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    assert_eq!(cloud.count(FakeOp::Create), 0, "planning created something");
}

#[tokio::test]
async fn apply_runs_in_dependency_order_and_converges() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_units(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    let (_, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    let creates: Vec<String> = cloud
        .calls()
        .into_iter()
        .filter(|c| c.op == FakeOp::Create)
        .map(|c| c.name)
        .collect();
    assert_eq!(
        creates,
        vec!["a-main".to_string(), "b-consumer".to_string()]
    );
    let consumer = cloud.objects_named("b-consumer");
    assert_eq!(
        consumer[0].str_attr("value"),
        Some("arn:fake:fake_thing:a-main")
    );
    let b = state_of(dir.path(), "b");
    assert_eq!(
        b.outputs["seen"].value,
        Value::string("arn:fake:fake_thing:a-main")
    );
    assert!(b.serial >= 2, "serial {}", b.serial);
    let again = e.plan(&env, PlanMode::Normal).await.expect("plan");
    assert!(!again.has_changes(), "second plan has changes: {again:?}");
}

#[tokio::test]
async fn parallel_operations_stay_under_the_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                "resource \"fake_thing\" \"many\" {\n  count = 12\n  name  = \"many-${count.index}\"\n}\n",
            ),
        ],
    );
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    cloud.set_delay(Duration::from_millis(40));
    let (_, applied) = plan_apply(&engine(&cloud, 3), &env, PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(cloud.count(FakeOp::Create), 12);
    let peak = cloud.max_concurrency();
    assert!(peak <= 3, "{peak} calls at once with parallelism 3");
    assert!(peak >= 2, "no parallelism observed ({peak})");
}

#[tokio::test]
async fn a_failed_unit_stops_only_its_dependents() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_units(dir.path());
    write(
        dir.path(),
        &[
            ("c/terragrunt.hcl", "inputs = {}\n"),
            (
                "c/main.tf",
                "resource \"fake_thing\" \"solo\" {\n  name = \"c-solo\"\n}\n",
            ),
        ],
    );
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    cloud.fail_name(FakeOp::Create, "a-main");
    let (_, applied) = plan_apply(&engine(&cloud, 4), &env, PlanMode::Normal).await;
    let outcome = |u: &str| {
        applied
            .units
            .iter()
            .find(|(n, _)| n == u)
            .map(|(_, o)| o.clone())
            .expect("unit")
    };
    match outcome("a") {
        UnitOutcome::Failed(es) => assert!(
            es[0]
                .to_string()
                .contains("fake_thing.main: creating failed"),
            "{}",
            es[0]
        ),
        other => panic!("a: {other:?}"),
    }
    assert_eq!(
        outcome("b"),
        UnitOutcome::Skipped {
            because: "a".into()
        }
    );
    assert!(matches!(outcome("c"), UnitOutcome::Done(_)));
    assert_eq!(cloud.objects_named("c-solo").len(), 1);
}

fn replace_unit(root: &Path, name: &str, cbd: bool) {
    let lifecycle = if cbd {
        "\n  lifecycle {\n    create_before_destroy = true\n  }\n"
    } else {
        ""
    };
    write(
        root,
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                &format!("resource \"fake_thing\" \"r\" {{\n  name = \"{name}\"{lifecycle}\n}}\n"),
            ),
        ],
    );
}

async fn replacement_order(cbd: bool) -> Vec<FakeOp> {
    let dir = tempfile::tempdir().expect("tempdir");
    replace_unit(dir.path(), "first", cbd);
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    replace_unit(dir.path(), "second", cbd);
    let env = load(dir.path());
    let before = cloud.calls().len();
    let (plan, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    let want = if cbd {
        Action::CreateThenDelete
    } else {
        Action::DeleteThenCreate
    };
    let u = unit_plan(&plan, "u");
    assert_eq!(action(u, "fake_thing.r"), want);
    let text = render_unit(u, Default::default());
    assert!(text.contains("# forces replacement"), "{text}");
    assert_eq!(cloud.objects().len(), 1);
    assert_eq!(cloud.objects_named("second").len(), 1);
    cloud.calls()[before..]
        .iter()
        .map(|c| c.op)
        .filter(|op| matches!(op, FakeOp::Create | FakeOp::Delete))
        .collect()
}

#[tokio::test]
async fn replacement_deletes_first_by_default() {
    assert_eq!(
        replacement_order(false).await,
        vec![FakeOp::Delete, FakeOp::Create]
    );
}

#[tokio::test]
async fn replacement_creates_first_with_create_before_destroy() {
    assert_eq!(
        replacement_order(true).await,
        vec![FakeOp::Create, FakeOp::Delete]
    );
}

fn valued_unit(root: &Path, ignore: bool) {
    let lifecycle = if ignore {
        "\n  lifecycle {\n    ignore_changes = [value]\n  }\n"
    } else {
        ""
    };
    write(
        root,
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                &format!(
                    "resource \"fake_thing\" \"r\" {{\n  name  = \"drifty\"\n  value = \"configured\"{lifecycle}\n}}\n"
                ),
            ),
        ],
    );
}

#[tokio::test]
async fn drift_is_reported_and_undone() {
    let dir = tempfile::tempdir().expect("tempdir");
    valued_unit(dir.path(), false);
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &env, PlanMode::Normal).await;
    assert!(cloud.set_attr("drifty", "value", Value::string("changed by hand")));
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    let u = unit_plan(&plan, "u");
    assert_eq!(u.drift.len(), 1);
    assert_eq!(action(u, "fake_thing.r"), Action::Update);
    let text = render_unit(u, Default::default());
    assert!(text.contains("changed outside of forge"), "{text}");
    assert!(
        text.contains("\"changed by hand\" -> \"configured\""),
        "{text}"
    );
    let (_, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
    assert!(!applied.failed());
    assert_eq!(
        cloud.objects_named("drifty")[0].str_attr("value"),
        Some("configured")
    );
}

#[tokio::test]
async fn refresh_only_records_drift_without_touching_objects() {
    let dir = tempfile::tempdir().expect("tempdir");
    valued_unit(dir.path(), false);
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &env, PlanMode::Normal).await;
    cloud.set_attr("drifty", "value", Value::string("by hand"));
    let (plan, applied) = plan_apply(&e, &env, PlanMode::RefreshOnly).await;
    assert!(unit_plan(&plan, "u").has_changes());
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(cloud.count(FakeOp::Update), 0);
    let state = state_of(dir.path(), "u");
    let (_, inst) = state.instances.iter().next().expect("instance");
    assert_eq!(inst.attributes.str_attr("value"), Some("by hand"));
}

#[tokio::test]
async fn ignore_changes_keeps_the_live_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    valued_unit(dir.path(), true);
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &env, PlanMode::Normal).await;
    cloud.set_attr("drifty", "value", Value::string("by hand"));
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    assert_eq!(action(unit_plan(&plan, "u"), "fake_thing.r"), Action::NoOp);
    assert!(
        unit_plan(&plan, "u").drift.is_empty(),
        "drift that changes nothing is not reported"
    );
    let refresh = e
        .plan(&env, PlanMode::RefreshOnly)
        .await
        .expect("refresh-only plan");
    assert_eq!(
        unit_plan(&refresh, "u").drift.len(),
        1,
        "refresh-only shows every drift"
    );
}

#[tokio::test]
async fn prevent_destroy_refuses_destroy_and_replacement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = |name: &str| {
        format!(
            "resource \"fake_thing\" \"keep\" {{\n  name = \"{name}\"\n  lifecycle {{\n    prevent_destroy = true\n  }}\n}}\n"
        )
    };
    write(
        dir.path(),
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            ("u/main.tf", &unit("kept")),
        ],
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    let plan = e
        .plan(&load(dir.path()), PlanMode::Destroy)
        .await
        .expect("plan");
    match &plan.units[0].1 {
        UnitOutcome::Failed(es) => assert!(
            es[0]
                .to_string()
                .contains("fake_thing.keep cannot be destroyed"),
            "{}",
            es[0]
        ),
        other => panic!("{other:?}"),
    }
    write(dir.path(), &[("u/main.tf", &unit("renamed"))]);
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    assert!(
        plan.failed(),
        "a replacement of a prevent_destroy resource was planned"
    );
    assert_eq!(cloud.objects_named("kept").len(), 1);
}

#[tokio::test]
async fn a_crash_mid_apply_is_finished_by_a_rerun_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                "resource \"fake_thing\" \"n\" {\n  count = 5\n  name  = \"n-${count.index}\"\n}\n",
            ),
        ],
    );
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 1);
    cloud.fail_nth(FakeOp::Create, 3);
    let (_, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
    assert!(applied.failed());
    assert_eq!(cloud.objects().len(), 4, "the other creates run on");
    assert_eq!(
        state_of(dir.path(), "u").instances.len(),
        4,
        "state records every object that exists"
    );
    cloud.clear_failures();
    let (plan, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(unit_plan(&plan, "u").counts().add, 1);
    assert_eq!(cloud.objects().len(), 5);
    for i in 0..5 {
        assert_eq!(
            cloud.objects_named(&format!("n-{i}")).len(),
            1,
            "n-{i} duplicated or missing"
        );
    }
    let state = state_of(dir.path(), "u");
    assert_eq!(state.instances.len(), 5);
    assert!(
        state
            .instances
            .values()
            .all(|i| i.attributes.is_wholly_known())
    );
}

#[tokio::test]
async fn a_stale_saved_plan_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    valued_unit(dir.path(), false);
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    let saved = SavedPlan::from_plan(dir.path(), &plan).expect("save");
    let file = dir.path().join("plan.json");
    saved.write(&file).expect("write");
    // Someone applies in between.
    plan_apply(&e, &env, PlanMode::Normal).await;
    let reread = SavedPlan::read(&file).expect("read");
    let applied = e
        .apply(&env, reread.mode, &reread.targets().expect("targets"))
        .await
        .expect("apply");
    match &applied.units[0].1 {
        UnitOutcome::Failed(es) => assert!(es[0].to_string().contains("stale"), "{}", es[0]),
        other => panic!("a stale plan was applied: {other:?}"),
    }
    assert_eq!(cloud.objects().len(), 1);
}

#[tokio::test]
async fn sensitive_values_stay_out_of_rendered_plans_and_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            (
                "u/terragrunt.hcl",
                "inputs = {\n  password = \"hunter2-secret\"\n}\n",
            ),
            (
                "u/main.tf",
                "variable \"password\" {\n  type      = string\n  sensitive = true\n}\n\nresource \"fake_thing\" \"s\" {\n  name   = \"s\"\n  value  = var.password\n  secret = \"schema-hidden\"\n}\n\noutput \"pw\" {\n  value     = fake_thing.s.value\n  sensitive = true\n}\n",
            ),
        ],
    );
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    let text = render_unit(unit_plan(&plan, "u"), Default::default());
    let json = env_plan_json(&plan).to_string();
    for secret in ["hunter2-secret", "schema-hidden"] {
        assert!(!text.contains(secret), "{secret} in text:\n{text}");
        assert!(!json.contains(secret), "{secret} in json:\n{json}");
    }
    assert!(text.contains("(sensitive value)"), "{text}");
    assert!(json.contains("\"after_sensitive\""), "{json}");
    plan_apply(&e, &env, PlanMode::Normal).await;
    let state = state_of(dir.path(), "u");
    let (_, inst) = state.instances.iter().next().expect("instance");
    assert!(
        inst.attributes
            .get("value")
            .is_some_and(Value::is_sensitive),
        "sensitive marks lost in state"
    );
    assert!(state.outputs["pw"].sensitive);
}

#[tokio::test]
async fn removed_resources_are_deleted_and_destroy_empties_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_units(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &env, PlanMode::Normal).await;
    assert_eq!(cloud.objects().len(), 2);
    let before = cloud.calls().len();
    let (plan, applied) = plan_apply(&e, &env, PlanMode::Destroy).await;
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(unit_plan(&plan, "a").counts().destroy, 1);
    let deletes: Vec<String> = cloud.calls()[before..]
        .iter()
        .filter(|c| c.op == FakeOp::Delete)
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(
        deletes,
        vec!["b-consumer".to_string(), "a-main".to_string()],
        "destroy runs dependents first"
    );
    assert!(cloud.objects().is_empty());
    assert!(state_of(dir.path(), "a").instances.is_empty());
    assert!(state_of(dir.path(), "a").outputs.is_empty());
}

#[tokio::test]
async fn an_orphan_is_deleted_when_its_block_goes() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                "resource \"fake_thing\" \"keep\" {\n  name = \"keep\"\n}\n\nresource \"fake_thing\" \"drop\" {\n  name = \"drop\"\n}\n",
            ),
        ],
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    write(
        dir.path(),
        &[(
            "u/main.tf",
            "resource \"fake_thing\" \"keep\" {\n  name = \"keep\"\n}\n",
        )],
    );
    let (plan, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed());
    assert_eq!(
        action(unit_plan(&plan, "u"), "fake_thing.drop"),
        Action::Delete
    );
    assert!(cloud.objects_named("drop").is_empty());
    assert_eq!(cloud.objects_named("keep").len(), 1);
}

#[tokio::test]
async fn for_each_instances_are_addressed_by_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                "resource \"fake_thing\" \"q\" {\n  for_each = toset([\"uploads\", \"thumbs\"])\n  name     = \"q-${each.key}\"\n}\n\noutput \"names\" {\n  value = { for k, q in fake_thing.q : k => q.name }\n}\n",
            ),
        ],
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    let (plan, _) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert_eq!(
        action(unit_plan(&plan, "u"), "fake_thing.q[\"uploads\"]"),
        Action::Create
    );
    let state = state_of(dir.path(), "u");
    let names: BTreeMap<String, Value> =
        state.outputs["names"].value.as_map().cloned().expect("map");
    assert_eq!(names.get("thumbs"), Some(&Value::string("q-thumbs")));
}

#[tokio::test]
async fn a_unit_cycle_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            (
                "a/terragrunt.hcl",
                "dependency \"b\" {\n  config_path = \"../b\"\n}\n",
            ),
            ("a/main.tf", ""),
            (
                "b/terragrunt.hcl",
                "dependency \"a\" {\n  config_path = \"../a\"\n}\n",
            ),
            ("b/main.tf", ""),
        ],
    );
    let env = load(dir.path());
    let err = engine(&FakeCloud::new(), 2)
        .plan(&env, PlanMode::Normal)
        .await
        .expect_err("a cycle plans");
    assert!(err.message.contains("a -> b -> a"), "{err}");
}

#[tokio::test]
async fn a_held_lock_is_reported_with_the_force_unlock_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    valued_unit(dir.path(), false);
    let env = load(dir.path());
    let backend = forge_engine::local_backend::LocalBackend::for_unit(&env.units[0].dir);
    let holder = forge_provider::LockInfo {
        id: "lock-123".into(),
        operation: "OperationTypeApply".into(),
        info: String::new(),
        who: "someone@elsewhere".into(),
        version: "0".into(),
        created: "2026-01-01T00:00:00Z".into(),
        path: String::new(),
        process: None,
        lease: None,
    };
    forge_provider::StateBackend::lock(&backend, &holder)
        .await
        .expect("lock");
    let plan = engine(&FakeCloud::new(), 2)
        .plan(&env, PlanMode::Normal)
        .await
        .expect("plan");
    match &plan.units[0].1 {
        UnitOutcome::Failed(es) => {
            let text = es[0].to_string();
            assert!(
                text.contains("someone@elsewhere") && text.contains("2026-01-01T00:00:00Z"),
                "{text}"
            );
            assert!(text.contains("forge force-unlock lock-123"), "{text}");
        }
        other => panic!("planned through a held lock: {other:?}"),
    }
}

#[tokio::test]
async fn refresh_only_after_a_deletion_converges_and_destroy_still_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_units(dir.path());
    write(
        dir.path(),
        &[(
            "b/terragrunt.hcl",
            "dependency \"a\" {\n  config_path = \"../a\"\n  mock_outputs = {\n    arn = \"arn:mock\"\n  }\n  mock_outputs_allowed_terraform_commands = [\"validate\", \"plan\"]\n}\n\ninputs = {\n  upstream = dependency.a.outputs.arn\n}\n",
        )],
    );
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 2);
    let (_, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    assert!(cloud.remove_named("a-main"));
    // Accepting the deletion drops a's output from state (it cannot be known) ...
    let (plan, applied) = plan_apply(&e, &env, PlanMode::RefreshOnly).await;
    assert!(!applied.failed(), "{applied:?}");
    let a = unit_plan(&plan, "a");
    assert!(
        a.output_changes
            .iter()
            .any(|o| o.name == "arn" && o.action == Action::Delete),
        "{:?}",
        a.output_changes
    );
    assert!(state_of(dir.path(), "a").outputs.is_empty());
    // ... so a second refresh-only plan has nothing left to record.
    let plan = e.plan(&env, PlanMode::RefreshOnly).await.expect("plan");
    assert!(
        !unit_plan(&plan, "a").has_changes(),
        "{:?}",
        unit_plan(&plan, "a")
    );
    // Destroying b needs a's outputs, which are gone: the mocks stand in, b's object goes.
    let (_, applied) = plan_apply(&e, &env, PlanMode::Destroy).await;
    assert!(!applied.failed(), "{applied:?}");
    assert!(cloud.objects_named("b-consumer").is_empty());
}

#[tokio::test]
async fn mock_outputs_stand_in_for_an_unapplied_dependency_when_planning_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_units(dir.path());
    write(
        dir.path(),
        &[(
            "b/terragrunt.hcl",
            "dependency \"a\" {\n  config_path = \"../a\"\n  mock_outputs = {\n    arn = \"arn:mock\"\n  }\n}\n\ninputs = {\n  upstream = dependency.a.outputs.arn\n}\n",
        )],
    );
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let mut e = engine(&cloud, 2);
    e.options.include = vec!["b".into()];
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    let b = unit_plan(&plan, "b");
    let consumer = b
        .changes
        .iter()
        .find(|c| c.addr.to_string() == "fake_thing.consumer")
        .expect("consumer");
    assert_eq!(
        consumer.after.as_ref().and_then(|a| a.str_attr("value")),
        Some("arn:mock")
    );
    let targets: Vec<ApplyTarget> = plan
        .units
        .iter()
        .filter_map(|(_, o)| o.done())
        .map(ApplyTarget::from_plan)
        .collect();
    let applied = e
        .apply(&env, PlanMode::Normal, &targets)
        .await
        .expect("apply");
    match &applied.units[0].1 {
        UnitOutcome::Failed(es) => assert!(
            es[0]
                .to_string()
                .contains("has no outputs (it was never applied"),
            "{}",
            es[0]
        ),
        other => panic!("applied with mock outputs: {other:?}"),
    }
    assert!(cloud.objects().is_empty());
}

#[tokio::test]
async fn every_write_keeps_the_lineage_and_raises_the_serial() {
    let dir = tempfile::tempdir().expect("tempdir");
    valued_unit(dir.path(), false);
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 2);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    let first = state_of(dir.path(), "u");
    write(
        dir.path(),
        &[(
            "u/main.tf",
            "resource \"fake_thing\" \"r\" {\n  name  = \"drifty\"\n  value = \"second\"\n}\n",
        )],
    );
    let (plan, _) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert_eq!(
        action(unit_plan(&plan, "u"), "fake_thing.r"),
        Action::Update
    );
    let second = state_of(dir.path(), "u");
    assert_eq!(second.lineage, first.lineage);
    assert!(
        second.serial > first.serial,
        "{} then {}",
        first.serial,
        second.serial
    );
    assert_eq!(
        cloud.objects_named("drifty")[0].str_attr("value"),
        Some("second")
    );
}

#[tokio::test]
async fn a_lock_released_within_the_timeout_is_waited_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    valued_unit(dir.path(), false);
    let env = load(dir.path());
    let backend = Arc::new(forge_engine::local_backend::LocalBackend::for_unit(
        &env.units[0].dir,
    ));
    let holder = support::someone_elses_lock("held");
    forge_provider::StateBackend::lock(backend.as_ref(), &holder)
        .await
        .expect("lock");
    let releaser = {
        let backend = backend.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            forge_provider::StateBackend::unlock(backend.as_ref(), "held", false).await
        })
    };
    let mut e = engine(&FakeCloud::new(), 2);
    e.options.lock_timeout = Duration::from_secs(10);
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    assert!(!plan.failed(), "{plan:?}");
    releaser.await.expect("join").expect("unlock");
    assert!(
        forge_provider::StateBackend::lock_holder(backend.as_ref())
            .await
            .expect("holder")
            .is_none(),
        "the plan left its lock behind"
    );
}

#[tokio::test]
async fn long_operations_report_progress() {
    use forge_engine::{Event, OpStatus};
    let dir = tempfile::tempdir().expect("tempdir");
    valued_unit(dir.path(), false);
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    cloud.set_delay(Duration::from_millis(120));
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut e = engine(&cloud, 2);
    e.options.progress_every = Duration::from_millis(25);
    let sink = events.clone();
    e.events = Arc::new(move |ev| sink.lock().expect("events").push(ev));
    plan_apply(&e, &env, PlanMode::Normal).await;
    let events = events.lock().expect("events").clone();
    let statuses: Vec<OpStatus> = events
        .iter()
        .filter_map(|ev| match ev {
            Event::Op {
                address, status, ..
            } if address == "fake_thing.r" => Some(status.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(statuses.first(), Some(&OpStatus::Started), "{statuses:?}");
    assert!(
        statuses.iter().any(|s| matches!(s, OpStatus::Still(_))),
        "{statuses:?}"
    );
    assert!(
        matches!(statuses.last(), Some(OpStatus::Done(_, Some(id))) if id.starts_with("fake_thing-")),
        "{statuses:?}"
    );
    assert!(events.iter().any(
        |ev| matches!(ev, Event::Schedule { waves } if waves == &vec![vec!["u".to_string()]])
    ));
    assert!(
        events
            .iter()
            .any(|ev| matches!(ev, Event::UnitFinished { unit, ok: true, .. } if unit == "u"))
    );
}

#[tokio::test]
async fn data_sources_are_read_when_known_and_deferred_otherwise() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                "data \"fake_lookup\" \"known\" {\n  name = \"static\"\n}\n\nresource \"fake_thing\" \"r\" {\n  name  = \"r\"\n  value = data.fake_lookup.known.result\n}\n\ndata \"fake_lookup\" \"later\" {\n  name = fake_thing.r.arn\n}\n\noutput \"later\" {\n  value = data.fake_lookup.later.result\n}\n",
            ),
        ],
    );
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 2);
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    let u = unit_plan(&plan, "u");
    assert_eq!(action(u, "data.fake_lookup.later"), Action::Read);
    let r = u
        .changes
        .iter()
        .find(|c| c.addr.to_string() == "fake_thing.r")
        .expect("r");
    assert_eq!(
        r.after.as_ref().and_then(|a| a.str_attr("value")),
        Some("result-of-static"),
        "a known data source is read while planning"
    );
    assert!(render_unit(u, Default::default()).contains("will be read during apply"));
    plan_apply(&e, &env, PlanMode::Normal).await;
    let state = state_of(dir.path(), "u");
    assert_eq!(
        state.outputs["later"].value,
        Value::string("result-of-arn:fake:fake_thing:r")
    );
    assert!(
        state
            .instances
            .keys()
            .any(|a| a.to_string() == "data.fake_lookup.later")
    );
}

#[tokio::test]
async fn independent_units_run_in_parallel_under_the_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..6 {
        write(
            dir.path(),
            &[
                (&format!("u{i}/terragrunt.hcl"), "inputs = {}\n"),
                (
                    &format!("u{i}/main.tf"),
                    &format!("resource \"fake_thing\" \"r\" {{\n  name = \"unit-{i}\"\n}}\n"),
                ),
            ],
        );
    }
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    cloud.set_delay(Duration::from_millis(50));
    let e = engine(&cloud, 2);
    let (_, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(cloud.objects().len(), 6);
    let peak = cloud.max_concurrency();
    assert!(
        (2..=2).contains(&peak),
        "peak concurrency {peak} with parallelism 2"
    );
}

#[tokio::test]
async fn an_interrupt_lets_operations_in_flight_finish_and_releases_the_lock() {
    use forge_engine::{Event, OpStatus};
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                "resource \"fake_thing\" \"n\" {\n  count = 4\n  name  = \"n-${count.index}\"\n}\n",
            ),
        ],
    );
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let mut e = engine(&cloud, 1);
    let flag = e.interrupted.clone();
    e.events = Arc::new(move |ev| {
        if let Event::Op {
            status: OpStatus::Done(..),
            ..
        } = ev
        {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let (_, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
    match &applied.units[0].1 {
        UnitOutcome::Failed(es) => assert!(
            es.iter().all(|e| e.message.contains("interrupted")),
            "{es:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        cloud.objects().len(),
        1,
        "operations kept starting after the interrupt"
    );
    assert_eq!(state_of(dir.path(), "u").instances.len(), 1);
    assert!(
        !dir.path()
            .join("u/.forge/.terraform.tfstate.lock.info")
            .exists(),
        "lock left behind"
    );
}

fn one_unit(root: &Path, inputs: &str, main_tf: &str) {
    write(
        root,
        &[("u/terragrunt.hcl", inputs), ("u/main.tf", main_tf)],
    );
}

fn unit_errors(plan: &EnvPlan) -> String {
    match &plan.units[0].1 {
        UnitOutcome::Failed(es) => es
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn shrinking_count_deletes_the_dropped_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tf = |n: usize| {
        format!(
            "resource \"fake_thing\" \"n\" {{\n  count = {n}\n  name  = \"n-${{count.index}}\"\n}}\n"
        )
    };
    one_unit(dir.path(), "inputs = {}\n", &tf(3));
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    one_unit(dir.path(), "inputs = {}\n", &tf(1));
    let (plan, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed());
    let u = unit_plan(&plan, "u");
    assert_eq!(action(u, "fake_thing.n[2]"), Action::Delete);
    assert!(
        u.changes
            .iter()
            .any(|c| c.reason == Some(ChangeReason::DeleteBecauseCountIndex)
                && forge_render::text::reason_text(c).as_deref()
                    == Some("index [2] is out of range for count"))
    );
    assert_eq!(cloud.objects().len(), 1);
    assert_eq!(cloud.objects_named("n-0").len(), 1);
}

#[tokio::test]
async fn depends_on_orders_operations_without_references() {
    let dir = tempfile::tempdir().expect("tempdir");
    one_unit(
        dir.path(),
        "inputs = {}\n",
        "resource \"fake_thing\" \"second\" {\n  name       = \"second\"\n  depends_on = [fake_thing.first]\n}\n\nresource \"fake_thing\" \"first\" {\n  name = \"first\"\n}\n",
    );
    let cloud = FakeCloud::new();
    cloud.set_delay(Duration::from_millis(20));
    plan_apply(&engine(&cloud, 8), &load(dir.path()), PlanMode::Normal).await;
    let creates: Vec<String> = cloud
        .calls()
        .into_iter()
        .filter(|c| c.op == FakeOp::Create)
        .map(|c| c.name)
        .collect();
    assert_eq!(creates, vec!["first".to_string(), "second".to_string()]);
    let state = state_of(dir.path(), "u");
    let second = state
        .instances
        .iter()
        .find(|(a, _)| a.name == "second")
        .map(|(_, i)| i)
        .expect("second");
    assert_eq!(second.dependencies, vec!["fake_thing.first".to_string()]);
}

#[tokio::test]
async fn variable_validation_and_types_are_enforced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tf = "variable \"size\" {\n  type = number\n  validation {\n    condition     = var.size < 10\n    error_message = \"size must be below 10\"\n  }\n}\n\nresource \"fake_thing\" \"r\" {\n  name = \"r\"\n  size = var.size\n}\n";
    one_unit(dir.path(), "inputs = {\n  size = 12\n}\n", tf);
    let e = engine(&FakeCloud::new(), 2);
    let text = unit_errors(
        &e.plan(&load(dir.path()), PlanMode::Normal)
            .await
            .expect("plan"),
    );
    assert!(text.contains("size must be below 10"), "{text}");
    one_unit(dir.path(), "inputs = {\n  size = \"twelve\"\n}\n", tf);
    let text = unit_errors(
        &e.plan(&load(dir.path()), PlanMode::Normal)
            .await
            .expect("plan"),
    );
    assert!(text.contains("does not fit its type"), "{text}");
    assert!(text.contains("main.tf:1:1"), "no location: {text}");
    one_unit(dir.path(), "inputs = {}\n", tf);
    let text = unit_errors(
        &e.plan(&load(dir.path()), PlanMode::Normal)
            .await
            .expect("plan"),
    );
    assert!(
        text.contains("no value for the required variable `size`"),
        "{text}"
    );
    one_unit(dir.path(), "inputs = {\n  size = \"3\"\n}\n", tf);
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let r = unit_plan(&plan, "u").changes[0]
        .after
        .clone()
        .expect("after");
    assert_eq!(
        r.get("size"),
        Some(&Value::Number(3.0)),
        "\"3\" converts to the number type"
    );
}

/// Terraform 1.9+: a validation may use other variables and locals; and a sensitive value
/// that fails its type is not quoted in the error.
#[tokio::test]
async fn validations_see_other_variables_and_locals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tf = "variable \"max\" {\n  type = number\n}\n\nvariable \"size\" {\n  type = number\n  validation {\n    condition     = var.size <= var.max && var.size >= local.min\n    error_message = \"size must be between ${local.min} and ${var.max}\"\n  }\n}\n\nlocals {\n  min = 2\n}\n\nvariable \"pin\" {\n  type      = number\n  sensitive = true\n  default   = 1\n}\n\nresource \"fake_thing\" \"r\" {\n  name = \"r\"\n  size = var.size\n}\n";
    let e = engine(&FakeCloud::new(), 2);
    one_unit(dir.path(), "inputs = {\n  size = 12\n  max = 10\n}\n", tf);
    let text = unit_errors(
        &e.plan(&load(dir.path()), PlanMode::Normal)
            .await
            .expect("plan"),
    );
    assert!(text.contains("size must be between 2 and 10"), "{text}");
    one_unit(dir.path(), "inputs = {\n  size = 12\n  max = 20\n}\n", tf);
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    assert_eq!(unit_plan(&plan, "u").changes.len(), 1, "12 is within 2..20");
    one_unit(dir.path(), "inputs = {\n  size = 3\n  max = 20\n  pin = \"hunter2-pin\"\n}\n", &tf.replace("default   = 1\n", "default   = 1\n  validation {\n    condition     = var.pin > 0\n    error_message = \"pin must be positive\"\n  }\n"));
    let text = unit_errors(
        &e.plan(&load(dir.path()), PlanMode::Normal)
            .await
            .expect("plan"),
    );
    assert!(text.contains("does not fit its type"), "{text}");
    assert!(
        !text.contains("hunter2"),
        "a sensitive variable's value was quoted: {text}"
    );
}

#[tokio::test]
async fn outputs_showing_sensitive_values_must_say_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    one_unit(
        dir.path(),
        "inputs = {}\n",
        "resource \"fake_thing\" \"r\" {\n  name   = \"r\"\n  secret = \"s3cr3t\"\n}\n\noutput \"leak\" {\n  value = fake_thing.r.secret\n}\n",
    );
    let text = unit_errors(
        &engine(&FakeCloud::new(), 2)
            .plan(&load(dir.path()), PlanMode::Normal)
            .await
            .expect("plan"),
    );
    assert!(
        text.contains("output `leak` refers to sensitive values"),
        "{text}"
    );
    assert!(text.contains("add `sensitive = true`"), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");
}

#[tokio::test]
async fn count_from_unknown_values_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    one_unit(
        dir.path(),
        "inputs = {}\n",
        "resource \"fake_thing\" \"a\" {\n  name = \"a\"\n}\n\nresource \"fake_thing\" \"b\" {\n  count = length(fake_thing.a.arn) > 0 ? 1 : 0\n  name  = \"b\"\n}\n",
    );
    let text = unit_errors(
        &engine(&FakeCloud::new(), 2)
            .plan(&load(dir.path()), PlanMode::Normal)
            .await
            .expect("plan"),
    );
    assert!(
        text.contains("fake_thing.b: count depends on values known only after apply"),
        "{text}"
    );
    assert!(text.contains("main.tf:6:"), "no location: {text}");
}

#[tokio::test]
async fn an_orphan_already_deleted_outside_is_forgotten() {
    let dir = tempfile::tempdir().expect("tempdir");
    one_unit(
        dir.path(),
        "inputs = {}\n",
        "resource \"fake_thing\" \"keep\" {\n  name = \"keep\"\n}\n\nresource \"fake_thing\" \"gone\" {\n  name = \"gone\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 2);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    one_unit(
        dir.path(),
        "inputs = {}\n",
        "resource \"fake_thing\" \"keep\" {\n  name = \"keep\"\n}\n",
    );
    assert!(cloud.remove_named("gone"));
    let (plan, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    let u = unit_plan(&plan, "u");
    assert!(
        u.drift
            .iter()
            .any(|d| d.addr.name == "gone" && d.after.is_none()),
        "{:?}",
        u.drift
    );
    assert!(
        !u.changes.iter().any(|c| c.addr.name == "gone"),
        "a delete was planned for an object that is gone"
    );
    assert_eq!(cloud.count(FakeOp::Delete), 0);
    let state = state_of(dir.path(), "u");
    assert_eq!(
        state
            .instances
            .keys()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        vec!["fake_thing.keep".to_string()]
    );
}

#[tokio::test]
async fn provider_blocks_are_evaluated_and_aliases_bind_resources() {
    let dir = tempfile::tempdir().expect("tempdir");
    one_unit(
        dir.path(),
        "inputs = {\n  region = \"eu-west-1\"\n}\n",
        "variable \"region\" {\n  type = string\n}\n\nprovider \"fake\" {\n  region = var.region\n}\n\nprovider \"fake\" {\n  alias  = \"west\"\n  region = \"us-west-2\"\n}\n\nresource \"fake_thing\" \"home\" {\n  name = \"home\"\n}\n\nresource \"fake_thing\" \"away\" {\n  provider = fake.west\n  name     = \"away\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let (_, applied) = plan_apply(&engine(&cloud, 2), &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    let regions: Vec<Option<String>> = cloud
        .provider_configs()
        .iter()
        .map(|c| c.str_attr("region").map(str::to_string))
        .collect();
    assert!(regions.contains(&Some("eu-west-1".into())), "{regions:?}");
    assert!(regions.contains(&Some("us-west-2".into())), "{regions:?}");
    let state = state_of(dir.path(), "u");
    let away = state
        .instances
        .iter()
        .find(|(a, _)| a.name == "away")
        .map(|(_, i)| i)
        .expect("away");
    assert_eq!(
        away.provider,
        "provider[\"registry.terraform.io/hashicorp/fake\"].west"
    );
}

#[tokio::test]
async fn units_whose_plan_failed_block_only_their_dependents_at_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_units(dir.path());
    write(
        dir.path(),
        &[
            (
                "a/main.tf",
                "resource \"fake_thing\" \"main\" {\n  name = var.missing\n}\n\noutput \"arn\" {\n  value = fake_thing.main.arn\n}\n",
            ),
            ("c/terragrunt.hcl", "inputs = {}\n"),
            (
                "c/main.tf",
                "resource \"fake_thing\" \"solo\" {\n  name = \"c-solo\"\n}\n",
            ),
        ],
    );
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    assert!(plan.failed());
    let applied = e.apply_plan(&env, &plan).await.expect("apply");
    let outcome = |u: &str| {
        applied
            .units
            .iter()
            .find(|(n, _)| n == u)
            .map(|(_, o)| o.clone())
            .unwrap_or_else(|| panic!("no outcome for {u}"))
    };
    assert!(matches!(outcome("a"), UnitOutcome::Failed(_)));
    assert!(matches!(
        outcome("b"),
        UnitOutcome::Failed(_) | UnitOutcome::Skipped { .. }
    ));
    assert!(matches!(outcome("c"), UnitOutcome::Done(_)));
    assert_eq!(cloud.objects().len(), 1);
    assert_eq!(cloud.objects_named("c-solo").len(), 1);
}

#[tokio::test]
async fn plan_json_describes_replacements_and_drift() {
    let dir = tempfile::tempdir().expect("tempdir");
    replace_unit(dir.path(), "old-name", false);
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 2);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    cloud.set_attr("old-name", "value", Value::string("by hand"));
    replace_unit(dir.path(), "new-name", false);
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let json = env_plan_json(&plan);
    let change = &json["resource_changes"][0];
    assert_eq!(
        change["change"]["actions"],
        serde_json::json!(["delete", "create"])
    );
    assert_eq!(
        change["change"]["replace_paths"],
        serde_json::json!([["name"]])
    );
    assert_eq!(change["action_reason"], "replace_because_cannot_update");
    assert_eq!(change["change"]["before"]["name"], "old-name");
    assert_eq!(change["change"]["after"]["name"], "new-name");
    assert_eq!(change["change"]["after_unknown"]["id"], true);
    let drift = &json["resource_drift"][0];
    assert_eq!(drift["address"], "fake_thing.r");
    assert_eq!(drift["change"]["after"]["value"], "by hand");
}

#[tokio::test]
async fn for_each_of_the_wrong_type_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    one_unit(
        dir.path(),
        "inputs = {}\n",
        "resource \"fake_thing\" \"q\" {\n  for_each = 3\n  name     = \"q\"\n}\n",
    );
    let text = unit_errors(
        &engine(&FakeCloud::new(), 2)
            .plan(&load(dir.path()), PlanMode::Normal)
            .await
            .expect("plan"),
    );
    assert!(
        text.contains("for_each needs a map or a set of strings, found a number"),
        "{text}"
    );
    assert!(text.contains("main.tf:2:"), "no location: {text}");
}

/// As Terraform: a data source that reads something the state does not record (here the
/// state's copy is made stale by hand) is no change to show, but an apply, in either walk,
/// writes what it read; a later plan then has nothing to write.
#[tokio::test]
async fn an_apply_records_new_data_source_reads_without_a_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                "data \"fake_lookup\" \"l\" {\n  name = \"x\"\n}\n",
            ),
        ],
    );
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &env, PlanMode::Normal).await;
    let recorded = |root: &Path| {
        let state = state_of(root, "u");
        let (_, inst) = state
            .instances
            .iter()
            .next()
            .expect("the data source is recorded");
        inst.attributes.str_attr("result").map(str::to_string)
    };
    assert_eq!(recorded(dir.path()).as_deref(), Some("result-of-x"));
    let make_stale = || {
        let path = dir.path().join("u/.forge/terraform.tfstate");
        let text = std::fs::read_to_string(&path).expect("state");
        let stale = text.replace("result-of-x", "stale");
        assert_ne!(text, stale, "the read is in the state file");
        std::fs::write(&path, stale).expect("write state");
    };
    for walk in ["plan then apply", "plan_and_apply"] {
        make_stale();
        let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
        let u = unit_plan(&plan, "u");
        assert!(
            !u.has_changes(),
            "{walk}: a new read is not a change: {u:?}"
        );
        assert!(u.writes_state(), "{walk}: {u:?}");
        if walk == "plan_and_apply" {
            let applied = e
                .plan_and_apply(&env, PlanMode::Normal)
                .await
                .expect("apply");
            assert!(!applied.failed(), "{applied:?}");
        } else {
            let (_, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
            assert!(!applied.failed(), "{applied:?}");
        }
        assert_eq!(
            recorded(dir.path()).as_deref(),
            Some("result-of-x"),
            "{walk}: the apply records the read"
        );
        let again = e.plan(&env, PlanMode::Normal).await.expect("plan");
        assert!(!unit_plan(&again, "u").writes_state(), "{walk}: {again:?}");
    }
}

/// A planned replacement whose object is gone by the time it is applied (a change applied
/// just before took it away) is carried out as the replacement's create alone, which the
/// plan showed; nothing is deleted.
#[tokio::test]
async fn a_replacement_whose_object_vanished_before_the_apply_is_only_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    replace_unit(dir.path(), "first", false);
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    replace_unit(dir.path(), "second", false);
    let env = load(dir.path());
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    assert_eq!(
        action(unit_plan(&plan, "u"), "fake_thing.r"),
        Action::DeleteThenCreate
    );
    assert!(cloud.remove_named("first"), "the object to replace exists");
    let before = cloud.calls().len();
    let targets: Vec<ApplyTarget> = plan
        .units
        .iter()
        .filter_map(|(_, o)| o.done())
        .map(ApplyTarget::from_plan)
        .collect();
    let applied = e
        .apply(&env, PlanMode::Normal, &targets)
        .await
        .expect("apply");
    assert!(!applied.failed(), "{applied:?}");
    let ops: Vec<FakeOp> = cloud.calls()[before..]
        .iter()
        .map(|c| c.op)
        .filter(|op| matches!(op, FakeOp::Create | FakeOp::Delete))
        .collect();
    assert_eq!(ops, vec![FakeOp::Create]);
    assert_eq!(cloud.objects_named("second").len(), 1);
    let again = e.plan(&env, PlanMode::Normal).await.expect("plan");
    assert!(!unit_plan(&again, "u").has_changes(), "{again:?}");
}

/// An object changed in place while an object depending on it is replaced (an IAM group
/// renamed while the membership naming it is replaced): the dependent is deleted before
/// the change, and created after it, as Terraform orders them. Deleting it after the
/// change would address the changed object by its old identity.
#[tokio::test]
async fn a_replaced_dependent_is_deleted_before_its_dependency_changes() {
    let config = |value: &str| {
        format!(
            "resource \"fake_thing\" \"group\" {{\n  name  = \"group\"\n  value = \"{value}\"\n}}\n\
             resource \"fake_thing\" \"member\" {{\n  name = \"member-${{fake_thing.group.value}}\"\n}}\n"
        )
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = |value: &str| {
        write(
            dir.path(),
            &[
                ("u/terragrunt.hcl", "inputs = {}\n"),
                ("u/main.tf", &config(value)),
            ],
        )
    };
    unit("one");
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    let (_, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    unit("two");
    let env = load(dir.path());
    let before = cloud.calls().len();
    let (plan, applied) = plan_apply(&e, &env, PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    let u = unit_plan(&plan, "u");
    assert_eq!(action(u, "fake_thing.group"), Action::Update);
    assert_eq!(action(u, "fake_thing.member"), Action::DeleteThenCreate);
    let ops: Vec<(FakeOp, String)> = cloud.calls()[before..]
        .iter()
        .filter(|c| matches!(c.op, FakeOp::Create | FakeOp::Delete | FakeOp::Update))
        .map(|c| (c.op, c.name.clone()))
        .collect();
    assert_eq!(
        ops,
        vec![
            (FakeOp::Delete, "member-one".to_string()),
            (FakeOp::Update, "group".to_string()),
            (FakeOp::Create, "member-two".to_string()),
        ]
    );
    // The apply reports the replacement the plan showed.
    let applied_unit = applied
        .units
        .iter()
        .find(|(name, _)| name == "u")
        .and_then(|(_, o)| o.done())
        .and_then(|a| a.result.as_ref())
        .expect("the unit's apply result");
    assert_eq!(
        action(applied_unit, "fake_thing.member"),
        Action::DeleteThenCreate
    );
    assert_eq!(cloud.objects_named("member-two").len(), 1);
    assert!(cloud.objects_named("member-one").is_empty());
    let again = e.plan(&env, PlanMode::Normal).await.expect("plan");
    assert!(!unit_plan(&again, "u").has_changes(), "{again:?}");
}

/// A destroy of a state that records no dependencies (what `import` writes) still deletes
/// in the configuration's order, as Terraform's does: the attachment before what it
/// names, never both at once.
#[tokio::test]
async fn a_destroy_of_imported_objects_follows_the_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                // `a` before `b` in state's order: without an order, `a` would go first.
                "resource \"fake_thing\" \"a\" {\n  name = \"user\"\n}\n\
                 resource \"fake_thing\" \"b\" {\n  name = \"attachment-${fake_thing.a.name}\"\n}\n",
            ),
        ],
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    let (_, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    // As an import leaves it: no instance records what it depends on.
    let mut state = state_of(dir.path(), "u");
    let recorded = state
        .instances
        .values()
        .filter(|i| !i.dependencies.is_empty())
        .count();
    assert_eq!(recorded, 1, "the attachment recorded its dependency");
    for inst in state.instances.values_mut() {
        inst.dependencies.clear();
    }
    std::fs::write(
        dir.path().join("u/.forge/terraform.tfstate"),
        state.to_bytes().expect("state encodes"),
    )
    .expect("write the state");
    let env = load(dir.path());
    let before = cloud.calls().len();
    let (_, destroyed) = plan_apply(&e, &env, PlanMode::Destroy).await;
    assert!(!destroyed.failed(), "{destroyed:?}");
    let deletes: Vec<String> = cloud.calls()[before..]
        .iter()
        .filter(|c| c.op == FakeOp::Delete)
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(deletes, ["attachment-user", "user"]);
}
