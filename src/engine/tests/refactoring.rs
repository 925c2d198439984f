//! `moved`, `removed` and `import` blocks on the fake provider: what the plan says (text
//! and JSON), what the apply does in the cloud, and what the state holds afterwards.

use std::path::Path;
use std::sync::Arc;

use forge_engine::{
    Action, Engine, EnvPlan, Event, OpKind, OpStatus, PlanMode, ResourceChange, UnitOutcome,
    UnitPlan,
};
use forge_provider::fake::{FakeCloud, FakeOp};
use forge_render::plan_json::unit_plan_json;
use forge_render::text::render_unit;

mod support;
use support::{engine, load, plan_apply, state_of, unit_plan, write};

fn change<'a>(plan: &'a UnitPlan, addr: &str) -> &'a ResourceChange {
    plan.changes
        .iter()
        .find(|c| c.addr.to_string() == addr)
        .unwrap_or_else(|| panic!("no change for {addr} in {:?}", plan.changes))
}

fn addresses(root: &Path) -> Vec<String> {
    state_of(root, "u")
        .instances
        .keys()
        .map(|a| a.to_string())
        .collect()
}

/// One unit `u` with `main` as its module.
fn unit(root: &Path, main: &str) {
    write(
        root,
        &[("u/terragrunt.hcl", "inputs = {}\n"), ("u/main.tf", main)],
    );
}

/// The errors of the unit's failed plan, as one text.
async fn plan_errors(e: &Engine, root: &Path) -> String {
    let plan: EnvPlan = e.plan(&load(root), PlanMode::Normal).await.expect("plan");
    match &plan.units[0].1 {
        UnitOutcome::Failed(es) => es
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
        other => panic!("the plan should have failed: {other:?}"),
    }
}

/// Applies the configuration and checks that the cloud saw no create nor delete since
/// `before` calls.
async fn apply_without_replacement(e: &Engine, root: &Path, cloud: &Arc<FakeCloud>) {
    let (creates, deletes) = (cloud.count(FakeOp::Create), cloud.count(FakeOp::Delete));
    let (_, applied) = plan_apply(e, &load(root), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(
        (cloud.count(FakeOp::Create), cloud.count(FakeOp::Delete)),
        (creates, deletes),
        "the apply created or deleted objects"
    );
}

#[tokio::test]
async fn a_moved_resource_keeps_its_object_and_the_plan_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(
        dir.path(),
        "resource \"fake_thing\" \"old\" {\n  name = \"q\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    let id = state_of(dir.path(), "u")
        .instances
        .values()
        .next()
        .and_then(|i| i.attributes.str_attr("id").map(str::to_string))
        .expect("id");

    unit(
        dir.path(),
        "resource \"fake_thing\" \"new\" {\n  name = \"q\"\n}\n\nmoved {\n  from = fake_thing.old\n  to   = fake_thing.new\n}\n",
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let p = unit_plan(&plan, "u");
    let c = change(p, "fake_thing.new");
    assert_eq!(
        (c.action, c.moved_from.as_ref().map(|a| a.to_string())),
        (Action::NoOp, Some("fake_thing.old".to_string()))
    );
    assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
    assert!(p.has_changes(), "a move is a change the apply records");
    let text = render_unit(p, Default::default());
    assert!(text.contains("  # fake_thing.old has moved to fake_thing.new\n    resource \"fake_thing\" \"new\" {\n"), "{text}");
    assert!(
        text.contains("Plan: 0 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    let json = unit_plan_json(p);
    assert_eq!(
        json["resource_changes"][0]["previous_address"], "fake_thing.old",
        "{json}"
    );
    assert_eq!(
        json["resource_changes"][0]["change"]["actions"],
        serde_json::json!(["no-op"])
    );
    assert_eq!(json["applyable"], true);
    assert_eq!(
        addresses(dir.path()),
        vec!["fake_thing.old"],
        "a plan wrote the state"
    );

    apply_without_replacement(&e, dir.path(), &cloud).await;
    let state = state_of(dir.path(), "u");
    assert_eq!(addresses(dir.path()), vec!["fake_thing.new"]);
    assert_eq!(
        state
            .instances
            .values()
            .next()
            .and_then(|i| i.attributes.str_attr("id")),
        Some(id.as_str()),
        "the same object"
    );
    let again = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    assert!(!again.has_changes(), "{again:?}");
}

#[tokio::test]
async fn a_moved_and_changed_resource_is_updated_in_place_with_its_old_address_noted() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(
        dir.path(),
        "resource \"fake_thing\" \"old\" {\n  name  = \"q\"\n  value = \"1\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    unit(
        dir.path(),
        "resource \"fake_thing\" \"new\" {\n  name  = \"q\"\n  value = \"2\"\n}\n\nmoved {\n  from = fake_thing.old\n  to   = fake_thing.new\n}\n",
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let text = render_unit(unit_plan(&plan, "u"), Default::default());
    assert!(text.contains("  # fake_thing.new will be updated in-place\n  # (moved from fake_thing.old)\n  ~ resource"), "{text}");
    assert!(
        text.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{text}"
    );
    let (_, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(
        (
            cloud.count(FakeOp::Create),
            cloud.count(FakeOp::Update),
            cloud.count(FakeOp::Delete)
        ),
        (1, 1, 0)
    );
    assert_eq!(cloud.objects_named("q")[0].str_attr("value"), Some("2"));
}

#[tokio::test]
async fn count_keys_move_to_for_each_keys_and_chains_end_at_the_last_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(
        dir.path(),
        "resource \"fake_thing\" \"q\" {\n  count = 2\n  name  = \"q${count.index}\"\n}\n\nresource \"fake_thing\" \"a\" {\n  name = \"chained\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    unit(
        dir.path(),
        "locals {\n  names = { x = \"q0\", y = \"q1\" }\n}\n\nresource \"fake_thing\" \"q\" {\n  for_each = local.names\n  name     = each.value\n}\n\n\
         moved {\n  from = fake_thing.q[0]\n  to   = fake_thing.q[\"x\"]\n}\n\nmoved {\n  from = fake_thing.q[1]\n  to   = fake_thing.q[\"y\"]\n}\n\n\
         resource \"fake_thing\" \"c\" {\n  name = \"chained\"\n}\n\nmoved {\n  from = fake_thing.a\n  to   = fake_thing.b\n}\n\nmoved {\n  from = fake_thing.b\n  to   = fake_thing.c\n}\n",
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let p = unit_plan(&plan, "u");
    assert_eq!(
        change(p, "fake_thing.q[\"y\"]")
            .moved_from
            .as_ref()
            .map(|a| a.to_string())
            .as_deref(),
        Some("fake_thing.q[1]")
    );
    assert_eq!(
        change(p, "fake_thing.c")
            .moved_from
            .as_ref()
            .map(|a| a.to_string())
            .as_deref(),
        Some("fake_thing.a")
    );
    assert!(
        p.changes.iter().all(|c| c.action == Action::NoOp),
        "{:?}",
        p.changes
    );
    apply_without_replacement(&e, dir.path(), &cloud).await;
    assert_eq!(
        addresses(dir.path()),
        vec!["fake_thing.c", "fake_thing.q[\"x\"]", "fake_thing.q[\"y\"]"]
    );
}

#[tokio::test]
async fn a_module_call_moves_with_everything_in_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[(
            "modules/q/main.tf",
            "variable \"name\" {\n  type = string\n}\n\nresource \"fake_thing\" \"q\" {\n  name = var.name\n}\n",
        )],
    );
    unit(
        dir.path(),
        "module \"old\" {\n  source = \"../modules/q\"\n  name   = \"m\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    unit(
        dir.path(),
        "module \"new\" {\n  source = \"../modules/q\"\n  name   = \"m\"\n}\n\nmoved {\n  from = module.old\n  to   = module.new\n}\n",
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let text = render_unit(unit_plan(&plan, "u"), Default::default());
    assert!(
        text.contains("# module.old.fake_thing.q has moved to module.new.fake_thing.q"),
        "{text}"
    );
    apply_without_replacement(&e, dir.path(), &cloud).await;
    assert_eq!(addresses(dir.path()), vec!["module.new.fake_thing.q"]);
}

#[tokio::test]
async fn moves_that_cannot_be_made_are_errors_naming_the_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(
        dir.path(),
        "resource \"fake_thing\" \"a\" {\n  name = \"a\"\n}\n\nresource \"fake_thing\" \"b\" {\n  name = \"b\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;

    // Onto an address state already has.
    unit(
        dir.path(),
        "resource \"fake_thing\" \"b\" {\n  name = \"b\"\n}\n\nmoved {\n  from = fake_thing.a\n  to   = fake_thing.b\n}\n",
    );
    let text = plan_errors(&e, dir.path()).await;
    assert!(
        text.contains(
            "cannot move fake_thing.a to fake_thing.b: state already has an object there"
        ),
        "{text}"
    );
    assert!(
        text.contains("main.tf:5:1"),
        "names the moved block: {text}"
    );

    // A cycle.
    unit(
        dir.path(),
        "resource \"fake_thing\" \"b\" {\n  name = \"b\"\n}\n\nmoved {\n  from = fake_thing.x\n  to   = fake_thing.y\n}\n\nmoved {\n  from = fake_thing.y\n  to   = fake_thing.x\n}\n",
    );
    let text = plan_errors(&e, dir.path()).await;
    assert!(text.contains("moved blocks form a cycle"), "{text}");
    assert!(
        text.contains("main.tf:5:1: fake_thing.x -> fake_thing.y")
            && text.contains("main.tf:10:1: fake_thing.y -> fake_thing.x"),
        "{text}"
    );

    // From something still declared.
    unit(
        dir.path(),
        "resource \"fake_thing\" \"a\" {\n  name = \"a\"\n}\n\nresource \"fake_thing\" \"b\" {\n  name = \"b\"\n}\n\nmoved {\n  from = fake_thing.a\n  to   = fake_thing.c\n}\n",
    );
    let text = plan_errors(&e, dir.path()).await;
    assert!(
        text.contains("moved block: fake_thing.a is still declared at")
            && text.contains("main.tf:9:1"),
        "{text}"
    );

    // An instance key still in count.
    unit(
        dir.path(),
        "resource \"fake_thing\" \"a\" {\n  count = 1\n  name  = \"a\"\n}\n\nresource \"fake_thing\" \"c\" {\n  name = \"b\"\n}\n\nmoved {\n  from = fake_thing.a[0]\n  to   = fake_thing.c\n}\n",
    );
    let text = plan_errors(&e, dir.path()).await;
    assert!(
        text.contains(
            "a moved block moves fake_thing.a[0] away, but the configuration still declares it"
        ) && text.contains("main.tf:10:1"),
        "{text}"
    );

    // Across resource types: refused when the configuration is read.
    unit(
        dir.path(),
        "resource \"fake_bucket\" \"a\" {\n  name = \"a\"\n}\n\nmoved {\n  from = fake_thing.a\n  to   = fake_bucket.a\n}\n",
    );
    let err = forge_config::Environment::load(dir.path(), &forge_config::LoadContext::default())
        .expect_err("a type change is refused")
        .to_string();
    assert!(
        err.contains("cannot change the resource type") && err.contains("main.tf:5:1"),
        "{err}"
    );
    assert_eq!(cloud.count(FakeOp::Delete), 0, "nothing was deleted");
}

#[tokio::test]
async fn removed_with_destroy_false_forgets_the_object_and_leaves_it_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(
        dir.path(),
        "resource \"fake_thing\" \"keep\" {\n  for_each = toset([\"x\", \"y\"])\n  name     = \"keep-${each.key}\"\n}\n\nresource \"fake_thing\" \"gone\" {\n  name = \"gone\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    unit(
        dir.path(),
        "removed {\n  from = fake_thing.keep\n  lifecycle {\n    destroy = false\n  }\n}\n\nremoved {\n  from = fake_thing.gone\n}\n",
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let p = unit_plan(&plan, "u");
    assert_eq!(change(p, "fake_thing.keep[\"x\"]").action, Action::Forget);
    assert_eq!(
        change(p, "fake_thing.gone").action,
        Action::Delete,
        "removed without lifecycle destroys"
    );
    let text = render_unit(p, Default::default());
    assert!(
        text.contains(" # fake_thing.keep[\"x\"] will no longer be managed by forge, but will not be destroyed\n # (destroy = false is set in the configuration)\n . resource \"fake_thing\" \"keep\" {\n"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to add, 0 to change, 1 to destroy."),
        "{text}"
    );
    assert!(
        text.contains("Warning: Some objects will no longer be managed by forge")
            && text.contains(" - fake_thing.keep[\"y\"]\n"),
        "{text}"
    );
    let json = unit_plan_json(p);
    let forget = json["resource_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["address"] == "fake_thing.keep[\"x\"]")
        .expect("forget")
        .clone();
    assert_eq!(
        forget["change"]["actions"],
        serde_json::json!(["forget"]),
        "{forget}"
    );

    let (_, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(
        cloud.count(FakeOp::Delete),
        1,
        "only the object without destroy = false is deleted"
    );
    assert_eq!(
        (
            cloud.objects_named("keep-x").len(),
            cloud.objects_named("keep-y").len(),
            cloud.objects_named("gone").len()
        ),
        (1, 1, 0)
    );
    assert!(
        addresses(dir.path()).is_empty(),
        "{:?}",
        addresses(dir.path())
    );
    let again = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    assert!(!again.has_changes(), "{again:?}");
}

#[tokio::test]
async fn a_removed_block_for_a_declared_resource_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(
        dir.path(),
        "resource \"fake_thing\" \"a\" {\n  name = \"a\"\n}\n\nremoved {\n  from = fake_thing.a\n  lifecycle {\n    destroy = false\n  }\n}\n",
    );
    let text = plan_errors(&engine(&FakeCloud::new(), 4), dir.path()).await;
    assert!(
        text.contains("removed block: fake_thing.a is still declared in the configuration")
            && text.contains("main.tf:1:1"),
        "{text}"
    );
    unit(dir.path(), "removed {\n  from = fake_thing.a[0]\n}\n");
    let err = forge_config::Environment::load(dir.path(), &forge_config::LoadContext::default())
        .expect_err("keys are refused")
        .to_string();
    assert!(
        err.contains("takes no instance keys") && err.contains("main.tf:2:"),
        "{err}"
    );
}

#[tokio::test]
async fn an_import_block_brings_an_existing_object_into_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    // An object made outside this unit: by another unit whose state is then dropped.
    write(
        dir.path(),
        &[
            ("outside/terragrunt.hcl", "inputs = {}\n"),
            (
                "outside/main.tf",
                "resource \"fake_thing\" \"o\" {\n  name  = \"adopted\"\n  value = \"old\"\n}\n",
            ),
        ],
    );
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    std::fs::remove_dir_all(dir.path().join("outside")).expect("drop the other unit");
    let id = cloud.objects().keys().next().cloned().expect("object");

    unit(
        dir.path(),
        &format!(
            "variable \"id\" {{\n  default = \"{id}\"\n}}\n\nresource \"fake_thing\" \"a\" {{\n  name  = \"adopted\"\n  value = \"new\"\n}}\n\nimport {{\n  to = fake_thing.a\n  id = var.id\n}}\n"
        ),
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let p = unit_plan(&plan, "u");
    let c = change(p, "fake_thing.a");
    assert_eq!(
        (c.action, c.importing.as_deref()),
        (Action::Update, Some(id.as_str()))
    );
    let text = render_unit(p, Default::default());
    assert!(
        text.contains(&format!(
            "  # fake_thing.a will be updated in-place\n  # (imported from \"{id}\")\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("Plan: 1 to import, 0 to add, 1 to change, 0 to destroy."),
        "{text}"
    );
    assert_eq!(
        unit_plan_json(p)["resource_changes"][0]["change"]["importing"],
        serde_json::json!({"id": id})
    );

    let creates = cloud.count(FakeOp::Create);
    let (_, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(
        cloud.count(FakeOp::Create),
        creates,
        "an import creates nothing"
    );
    assert_eq!(
        cloud.objects_named("adopted")[0].str_attr("value"),
        Some("new")
    );
    assert_eq!(
        state_of(dir.path(), "u")
            .instances
            .values()
            .next()
            .and_then(|i| i.attributes.str_attr("id")),
        Some(id.as_str())
    );
    // The block stays; the object is in state, so there is nothing left to import.
    let imports = cloud.count(FakeOp::Import);
    let again = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    assert!(!again.has_changes(), "{again:?}");
    assert_eq!(cloud.count(FakeOp::Import), imports);
}

#[tokio::test]
async fn an_import_matching_the_configuration_is_shown_as_imported_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    write(
        dir.path(),
        &[
            ("outside/terragrunt.hcl", "inputs = {}\n"),
            (
                "outside/main.tf",
                "resource \"fake_thing\" \"o\" {\n  name = \"same\"\n}\n",
            ),
        ],
    );
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    std::fs::remove_dir_all(dir.path().join("outside")).expect("drop the other unit");
    let id = cloud.objects().keys().next().cloned().expect("object");
    unit(
        dir.path(),
        &format!(
            "resource \"fake_thing\" \"a\" {{\n  name = \"same\"\n  size = 1\n}}\n\nimport {{\n  to = fake_thing.a\n  id = \"{id}\"\n}}\n"
        ),
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let text = render_unit(unit_plan(&plan, "u"), Default::default());
    assert!(
        text.contains("  # fake_thing.a will be imported\n    resource \"fake_thing\" \"a\" {\n"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    let (_, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(addresses(dir.path()), vec!["fake_thing.a"]);
    assert_eq!(
        (cloud.count(FakeOp::Update), cloud.count(FakeOp::Create)),
        (0, 1)
    );
}

#[tokio::test]
async fn import_blocks_that_cannot_work_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = engine(&FakeCloud::new(), 4);
    unit(
        dir.path(),
        "resource \"fake_thing\" \"a\" {\n  name = \"a\"\n}\n\nimport {\n  to = fake_thing.a\n  id = \"fake_thing-404\"\n}\n",
    );
    let text = plan_errors(&e, dir.path()).await;
    assert!(
        text.contains(
            "fake_thing.a: cannot import: no fake_thing with id \"fake_thing-404\" exists"
        ) && text.contains("main.tf:5:1"),
        "{text}"
    );

    unit(
        dir.path(),
        "import {\n  to = fake_thing.nowhere\n  id = \"x\"\n}\n",
    );
    let text = plan_errors(&e, dir.path()).await;
    assert!(
        text.contains("the configuration has no resource block for fake_thing.nowhere")
            && text.contains("main.tf:2:8"),
        "{text}"
    );

    write(
        dir.path(),
        &[(
            "modules/c/main.tf",
            "resource \"fake_thing\" \"a\" {\n  name = \"a\"\n}\n\nimport {\n  to = fake_thing.a\n  id = \"x\"\n}\n",
        )],
    );
    unit(
        dir.path(),
        "module \"c\" {\n  source = \"../modules/c\"\n}\n",
    );
    let err = forge_config::Environment::load(dir.path(), &forge_config::LoadContext::default())
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("import blocks are allowed in the root module only")
            && err.contains("main.tf:5:1"),
        "{err}"
    );
}

/// Rewrites the unit's local state through `f` (to make states only hand edits make).
fn edit_state(root: &Path, f: impl FnOnce(&mut forge_engine::state::State)) {
    let mut state = state_of(root, "u");
    f(&mut state);
    std::fs::write(
        root.join("u/.forge/terraform.tfstate"),
        state.to_bytes().expect("encode"),
    )
    .expect("write state");
}

#[tokio::test]
async fn adding_count_moves_the_object_to_key_zero_and_removing_it_moves_it_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(
        dir.path(),
        "resource \"fake_thing\" \"a\" {\n  name = \"a\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;

    unit(
        dir.path(),
        "resource \"fake_thing\" \"a\" {\n  count = 2\n  name  = \"a\"\n}\n",
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let p = unit_plan(&plan, "u");
    let c = change(p, "fake_thing.a[0]");
    assert_eq!(
        (c.action, c.moved_from.as_ref().map(|a| a.to_string())),
        (Action::NoOp, Some("fake_thing.a".to_string()))
    );
    assert_eq!(change(p, "fake_thing.a[1]").action, Action::Create);
    assert!(
        !p.changes
            .iter()
            .any(|c| c.addr.to_string() == "fake_thing.a"),
        "the object at the old address is not destroyed: {:?}",
        p.changes
    );
    let text = render_unit(p, Default::default());
    assert!(
        text.contains(
            "  # fake_thing.a has moved to fake_thing.a[0]\n    resource \"fake_thing\" \"a\" {\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    let json = unit_plan_json(p);
    let moved = json["resource_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["address"] == "fake_thing.a[0]")
        .expect("a[0]")
        .clone();
    assert_eq!(moved["previous_address"], "fake_thing.a", "{moved}");
    let (_, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(
        (cloud.count(FakeOp::Create), cloud.count(FakeOp::Delete)),
        (2, 0),
        "one object kept, one created"
    );
    assert_eq!(
        addresses(dir.path()),
        vec!["fake_thing.a[0]", "fake_thing.a[1]"]
    );

    // Without count again: key 0 moves back, key 1 goes.
    unit(
        dir.path(),
        "resource \"fake_thing\" \"a\" {\n  name = \"a\"\n}\n",
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let p = unit_plan(&plan, "u");
    assert_eq!(
        change(p, "fake_thing.a")
            .moved_from
            .as_ref()
            .map(|a| a.to_string())
            .as_deref(),
        Some("fake_thing.a[0]")
    );
    assert_eq!(change(p, "fake_thing.a[1]").action, Action::Delete);
    let text = render_unit(p, Default::default());
    assert!(
        text.contains("  # fake_thing.a[0] has moved to fake_thing.a\n"),
        "{text}"
    );
    let (_, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(
        (cloud.count(FakeOp::Create), cloud.count(FakeOp::Delete)),
        (2, 1)
    );
    assert_eq!(addresses(dir.path()), vec!["fake_thing.a"]);
    let again = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    assert!(!again.has_changes(), "{again:?}");
}

#[tokio::test]
async fn for_each_module_calls_and_moved_blocks_get_no_implied_move() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[(
            "modules/q/main.tf",
            "resource \"fake_thing\" \"q\" {\n  name = \"in-module\"\n}\n",
        )],
    );
    unit(
        dir.path(),
        "resource \"fake_thing\" \"f\" {\n  name = \"f\"\n}\n\nresource \"fake_thing\" \"m\" {\n  count = 2\n  name  = \"m${count.index}\"\n}\n\nmodule \"c\" {\n  source = \"../modules/q\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    // for_each: Terraform destroys and creates. A module call given count: the same. A
    // moved block naming the resource: it decides, key 0 is not moved by default.
    unit(
        dir.path(),
        "resource \"fake_thing\" \"f\" {\n  for_each = toset([\"x\"])\n  name     = \"f\"\n}\n\n\
         resource \"fake_thing\" \"m\" {\n  name = \"m1\"\n}\n\nmoved {\n  from = fake_thing.m[1]\n  to   = fake_thing.m\n}\n\n\
         module \"c\" {\n  source = \"../modules/q\"\n  count  = 1\n}\n",
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let p = unit_plan(&plan, "u");
    let actions: Vec<(String, Action, Option<String>)> = p
        .changes
        .iter()
        .map(|c| {
            (
                c.addr.to_string(),
                c.action,
                c.moved_from.as_ref().map(|a| a.to_string()),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("fake_thing.f".to_string(), Action::Delete, None),
            ("fake_thing.f[\"x\"]".to_string(), Action::Create, None),
            (
                "fake_thing.m".to_string(),
                Action::NoOp,
                Some("fake_thing.m[1]".to_string())
            ),
            ("fake_thing.m[0]".to_string(), Action::Delete, None),
            ("module.c.fake_thing.q".to_string(), Action::Delete, None),
            ("module.c[0].fake_thing.q".to_string(), Action::Create, None),
        ]
    );
}

#[tokio::test]
async fn an_implied_move_onto_an_object_state_already_has_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(
        dir.path(),
        "resource \"fake_thing\" \"a\" {\n  count = 2\n  name  = \"a${count.index}\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    // A hand-edited state with both `a` and `a[0]`.
    edit_state(dir.path(), |s| {
        let one = s
            .instances
            .keys()
            .find(|a| a.to_string() == "fake_thing.a[1]")
            .cloned()
            .expect("a[1]");
        let inst = s.instances.remove(&one).expect("a[1]");
        s.instances
            .insert(forge_engine::InstanceAddr { key: None, ..one }, inst);
    });
    let text = plan_errors(&e, dir.path()).await;
    assert!(
        text.contains(
            "cannot move fake_thing.a to fake_thing.a[0]: state already has an object there"
        ),
        "{text}"
    );
    assert!(
        text.contains("the resource now has count (at ") && text.contains("main.tf:2:11"),
        "names the count: {text}"
    );
    assert_eq!(cloud.count(FakeOp::Delete), 0);
}

/// Two objects made outside the unit (by a unit whose state is then dropped): their ids.
async fn outside_objects(
    e: &Engine,
    root: &Path,
    cloud: &Arc<FakeCloud>,
    names: &[&str],
) -> Vec<String> {
    let blocks: String = names
        .iter()
        .map(|n| format!("resource \"fake_thing\" \"{n}\" {{\n  name = \"{n}\"\n}}\n\n"))
        .collect();
    write(
        root,
        &[
            ("outside/terragrunt.hcl", "inputs = {}\n"),
            ("outside/main.tf", &blocks),
        ],
    );
    let (_, applied) = plan_apply(e, &load(root), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    std::fs::remove_dir_all(root.join("outside")).expect("drop the other unit");
    names
        .iter()
        .map(|n| {
            cloud.objects_named(n)[0]
                .str_attr("id")
                .expect("id")
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn an_import_block_with_for_each_imports_one_object_per_element() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cloud = FakeCloud::new();
    let mut e = engine(&cloud, 4);
    let ids = outside_objects(&e, dir.path(), &cloud, &["x", "y", "z"]).await;
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    e.events = Arc::new(move |ev| sink.lock().expect("events").push(ev));
    unit(
        dir.path(),
        &format!(
            "locals {{\n  ids = {{ x = \"{}\", y = \"{}\" }}\n  zs  = [\"{}\"]\n}}\n\n\
             resource \"fake_thing\" \"a\" {{\n  for_each = toset([\"x\", \"y\", \"w\"])\n  name     = each.key\n}}\n\n\
             import {{\n  for_each = local.ids\n  to       = fake_thing.a[each.key]\n  id       = each.value\n}}\n\n\
             resource \"fake_thing\" \"z\" {{\n  count = 1\n  name  = \"z\"\n}}\n\n\
             import {{\n  for_each = local.zs\n  to       = fake_thing.z[each.key]\n  id       = each.value\n}}\n",
            ids[0], ids[1], ids[2]
        ),
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let p = unit_plan(&plan, "u");
    let imported: Vec<(String, Option<String>)> = p
        .changes
        .iter()
        .map(|c| (c.addr.to_string(), c.importing.clone()))
        .collect();
    assert_eq!(
        imported,
        vec![
            ("fake_thing.a[\"w\"]".to_string(), None),
            ("fake_thing.a[\"x\"]".to_string(), Some(ids[0].clone())),
            ("fake_thing.a[\"y\"]".to_string(), Some(ids[1].clone())),
            ("fake_thing.z[0]".to_string(), Some(ids[2].clone())),
        ]
    );
    let text = render_unit(p, Default::default());
    assert!(
        text.contains("  # fake_thing.a[\"x\"] will be imported\n"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 3 to import, 1 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    let imports = |events: &[Event], wanted: OpKind| -> Vec<(String, OpStatus)> {
        events
            .iter()
            .filter_map(|ev| match ev {
                Event::Op {
                    address,
                    kind,
                    status,
                    ..
                } if *kind == wanted && !matches!(status, OpStatus::Still(_)) => Some((
                    address.clone(),
                    if let OpStatus::Done(_, id) = status {
                        OpStatus::Done(Default::default(), id.clone())
                    } else {
                        status.clone()
                    },
                )),
                _ => None,
            })
            .collect()
    };
    // As Terraform's "Preparing import... [id=...]" lines while planning.
    let mut prepared: Vec<(String, OpStatus)> =
        imports(&events.lock().expect("events"), OpKind::PreparingImport)
            .into_iter()
            .filter(|(_, s)| *s != OpStatus::Started)
            .collect();
    prepared.sort_by(|a, b| a.0.cmp(&b.0));
    let done = |a: &str, id: &str| {
        (
            a.to_string(),
            OpStatus::Done(Default::default(), Some(id.to_string())),
        )
    };
    assert_eq!(
        prepared,
        vec![
            done("fake_thing.a[\"x\"]", &ids[0]),
            done("fake_thing.a[\"y\"]", &ids[1]),
            done("fake_thing.z[0]", &ids[2])
        ]
    );
    assert_eq!(
        imports(&events.lock().expect("events"), OpKind::Importing),
        vec![],
        "a plan imports nothing"
    );
    let (_, applied) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert!(!applied.failed(), "{applied:?}");
    // As Terraform's "Importing... / Import complete [id=...]" lines.
    let mut reported = imports(&events.lock().expect("events"), OpKind::Importing);
    reported.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then((a.1 != OpStatus::Started).cmp(&(b.1 != OpStatus::Started)))
    });
    let started = |a: &str| (a.to_string(), OpStatus::Started);
    assert_eq!(
        reported,
        vec![
            started("fake_thing.a[\"x\"]"),
            done("fake_thing.a[\"x\"]", &ids[0]),
            started("fake_thing.a[\"y\"]"),
            done("fake_thing.a[\"y\"]", &ids[1]),
            started("fake_thing.z[0]"),
            done("fake_thing.z[0]", &ids[2])
        ]
    );
    let state = state_of(dir.path(), "u");
    let recorded: Vec<(String, String)> = state
        .instances
        .iter()
        .map(|(a, i)| {
            (
                a.to_string(),
                i.attributes.str_attr("id").unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        &recorded[1..],
        &[
            ("fake_thing.a[\"x\"]".to_string(), ids[0].clone()),
            ("fake_thing.a[\"y\"]".to_string(), ids[1].clone()),
            ("fake_thing.z[0]".to_string(), ids[2].clone())
        ]
    );
    let again = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    assert!(!again.has_changes(), "{again:?}");
}

#[tokio::test]
async fn import_blocks_with_for_each_that_cannot_work_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = engine(&FakeCloud::new(), 4);
    let resource = "resource \"fake_thing\" \"a\" {\n  for_each = toset([\"x\", \"y\"])\n  name     = each.key\n}\n\n";
    // Two elements onto one address.
    unit(
        dir.path(),
        &format!(
            "{resource}import {{\n  for_each = {{ p = \"x\", q = \"x\" }}\n  to       = fake_thing.a[each.value]\n  id       = each.key\n}}\n"
        ),
    );
    let text = plan_errors(&e, dir.path()).await;
    assert!(
        text.contains("two imports into fake_thing.a[\"x\"]") && text.contains("main.tf:8:14"),
        "{text}"
    );
    // Not a collection.
    unit(
        dir.path(),
        &format!(
            "{resource}import {{\n  for_each = \"x\"\n  to       = fake_thing.a[each.value]\n  id       = each.key\n}}\n"
        ),
    );
    let text = plan_errors(&e, dir.path()).await;
    assert!(
        text.contains("for_each needs a map, a set or a list, found a string")
            && text.contains("main.tf:7:14"),
        "{text}"
    );
    // A key the resource does not have.
    unit(
        dir.path(),
        &format!(
            "{resource}import {{\n  for_each = toset([\"v\"])\n  to       = fake_thing.a[each.key]\n  id       = \"fake_thing-1\"\n}}\n"
        ),
    );
    let text = plan_errors(&e, dir.path()).await;
    assert!(text.contains("the import block's target fake_thing.a[\"v\"] is not an instance the configuration declares") && text.contains("main.tf:8:14"), "{text}");
    // A key that is not each.key/each.value, and each without for_each: refused on reading.
    unit(
        dir.path(),
        &format!(
            "{resource}import {{\n  for_each = toset([\"x\"])\n  to       = fake_thing.a[local.k]\n  id       = each.key\n}}\n"
        ),
    );
    let err = forge_config::Environment::load(dir.path(), &forge_config::LoadContext::default())
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("`local` in the instance key of an import block's `to`")
            && err.contains("main.tf:8:27"),
        "{err}"
    );
    unit(
        dir.path(),
        &format!("{resource}import {{\n  to = fake_thing.a[\"x\"]\n  id = each.key\n}}\n"),
    );
    let err = forge_config::Environment::load(dir.path(), &forge_config::LoadContext::default())
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("`each` in an import block without for_each") && err.contains("main.tf:8:8"),
        "{err}"
    );
}

#[tokio::test]
async fn implied_moves_apply_in_every_instance_of_a_child_module() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = |body: &str| {
        format!(
            "variable \"n\" {{\n  type = string\n}}\n\nresource \"fake_thing\" \"q\" {{\n{body}  name = var.n\n}}\n"
        )
    };
    write(dir.path(), &[("modules/q/main.tf", &module(""))]);
    unit(
        dir.path(),
        "module \"c\" {\n  source = \"../modules/q\"\n  count  = 2\n  n      = \"c${count.index}\"\n}\n",
    );
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    write(
        dir.path(),
        &[("modules/q/main.tf", &module("  count = 1\n"))],
    );
    let plan = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let p = unit_plan(&plan, "u");
    let moved: Vec<(String, Option<String>)> = p
        .changes
        .iter()
        .map(|c| {
            (
                c.addr.to_string(),
                c.moved_from.as_ref().map(|a| a.to_string()),
            )
        })
        .collect();
    assert_eq!(
        moved,
        vec![
            (
                "module.c[0].fake_thing.q[0]".to_string(),
                Some("module.c[0].fake_thing.q".to_string())
            ),
            (
                "module.c[1].fake_thing.q[0]".to_string(),
                Some("module.c[1].fake_thing.q".to_string())
            ),
        ]
    );
    apply_without_replacement(&e, dir.path(), &cloud).await;
    assert_eq!(
        addresses(dir.path()),
        vec!["module.c[0].fake_thing.q[0]", "module.c[1].fake_thing.q[0]"]
    );
}
