//! Child modules (`module` blocks with local sources) on the fake provider: addresses,
//! inputs and outputs across the module boundary, count/for_each on calls, nesting,
//! ordering of apply and destroy, state's `module` field, and errors.

use std::path::Path;

use forge_config::Environment;
use forge_engine::state::State;
use forge_engine::{
    Action, ChangeReason, Engine, EnvApply, EnvPlan, PlanMode, UnitOutcome, UnitPlan,
};
use forge_provider::Value;
use forge_provider::fake::{FakeCloud, FakeOp};
use forge_render::plan_json::unit_plan_json;
use forge_render::text::render_unit;

mod support;
use support::{engine, load, unit_plan, write};

fn actions(plan: &UnitPlan) -> Vec<(String, Action)> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.addr.to_string(), c.action))
        .collect()
}

/// Plans and applies; the apply must succeed.
async fn plan_apply(e: &Engine, env: &Environment, mode: PlanMode) -> (EnvPlan, EnvApply) {
    let (plan, applied) = support::plan_apply(e, env, mode).await;
    assert!(!applied.failed(), "apply failed: {applied:?}");
    (plan, applied)
}

fn state_json(root: &Path, unit: &str) -> serde_json::Value {
    let bytes =
        std::fs::read(root.join(unit).join(".forge/terraform.tfstate")).expect("state file");
    serde_json::from_slice(&bytes).expect("state json")
}

fn state_of(root: &Path, unit: &str) -> State {
    let bytes =
        std::fs::read(root.join(unit).join(".forge/terraform.tfstate")).expect("state file");
    State::from_bytes(&bytes).expect("state decodes")
}

/// The names of the objects the fake created or deleted, in call order, from `from` on.
fn ops(cloud: &FakeCloud, op: FakeOp, from: usize) -> Vec<String> {
    cloud.calls()[from..]
        .iter()
        .filter(|c| c.op == op)
        .map(|c| c.name.clone())
        .collect()
}

/// `first` (root) -> module "queue" (input) -> its fake_thing.q -> output -> `last` (root).
fn chained(root: &Path) {
    write(
        root,
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                r#"resource "fake_thing" "first" {
  name = "first"
}

module "queue" {
  source   = "./modules/queue"
  name     = "q-after-${fake_thing.first.id}"
  label    = "jobs"
}

resource "fake_thing" "last" {
  name  = "last"
  value = module.queue.arn
}

output "queue_arn" {
  value = module.queue.arn
}

output "queue_module" {
  value = module.queue.label
}
"#,
            ),
            (
                "u/modules/queue/main.tf",
                r#"variable "name" {
  type = string
}

variable "label" {
  type = string
  validation {
    condition     = length(var.label) > 2
    error_message = "label is too short"
  }
}

locals {
  full = "${var.name}"
}

resource "fake_thing" "q" {
  name  = "queue"
  value = local.full
}

output "arn" {
  value = fake_thing.q.arn
}

output "label" {
  value = "${var.label}@${basename(path.module)}"
}
"#,
            ),
        ],
    );
}

#[tokio::test]
async fn a_child_module_is_planned_applied_and_read_back_with_module_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    chained(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);

    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    let p = unit_plan(&plan, "u");
    assert_eq!(
        actions(p),
        vec![
            ("fake_thing.first".to_string(), Action::Create),
            ("fake_thing.last".to_string(), Action::Create),
            ("module.queue.fake_thing.q".to_string(), Action::Create),
        ]
    );
    // The child's output is unknown at plan: its resource does not exist yet.
    let last = p
        .changes
        .iter()
        .find(|c| c.addr.to_string() == "fake_thing.last")
        .expect("last");
    assert_eq!(
        last.after.as_ref().and_then(|a| a.get("value")),
        Some(&Value::Unknown)
    );
    let text = render_unit(p, forge_render::text::Style::default());
    assert!(
        text.contains("# module.queue.fake_thing.q will be created"),
        "{text}"
    );
    let json = unit_plan_json(p);
    let change = json["resource_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["address"] == "module.queue.fake_thing.q")
        .expect("change")
        .clone();
    assert_eq!(change["module_address"], "module.queue");
    assert_eq!(change["name"], "q");
    let child = &json["planned_values"]["root_module"]["child_modules"][0];
    assert_eq!(child["address"], "module.queue");
    assert_eq!(
        child["resources"][0]["address"],
        "module.queue.fake_thing.q"
    );

    let before = cloud.calls().len();
    plan_apply(&e, &env, PlanMode::Normal).await;
    assert_eq!(
        ops(&cloud, FakeOp::Create, before),
        vec!["first", "queue", "last"],
        "inputs and outputs order the operations"
    );
    let queue = &cloud.objects_named("queue")[0];
    let first_id = cloud.objects_named("first")[0]
        .str_attr("id")
        .expect("id")
        .to_string();
    assert_eq!(
        queue.str_attr("value"),
        Some(format!("q-after-{first_id}").as_str())
    );
    assert_eq!(
        cloud.objects_named("last")[0].str_attr("value"),
        queue.str_attr("arn")
    );

    let state = state_of(dir.path(), "u");
    assert_eq!(
        state.outputs["queue_arn"].value.as_str(),
        queue.str_attr("arn")
    );
    assert_eq!(
        state.outputs["queue_module"].value.as_str(),
        Some("jobs@queue"),
        "path.module is the child's folder"
    );
    let json = state_json(dir.path(), "u");
    let entry = json["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "q")
        .expect("q")
        .clone();
    assert_eq!(entry["module"], "module.queue");
    assert_eq!(
        entry["provider"], "provider[\"registry.terraform.io/hashicorp/fake\"]",
        "the child uses the root's provider"
    );
    let last = json["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "last")
        .expect("last")
        .clone();
    let deps: Vec<&str> = last["instances"][0]["dependencies"]
        .as_array()
        .expect("deps")
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert_eq!(
        deps,
        vec!["fake_thing.first", "module.queue.fake_thing.q"],
        "dependencies run through the module's variables and outputs"
    );

    let again = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    assert!(
        actions(unit_plan(&again, "u")).is_empty(),
        "{:?}",
        actions(unit_plan(&again, "u"))
    );

    // Destroy runs the chain backwards.
    let before = cloud.calls().len();
    plan_apply(&e, &load(dir.path()), PlanMode::Destroy).await;
    assert_eq!(
        ops(&cloud, FakeOp::Delete, before),
        vec!["last", "queue", "first"]
    );
    assert!(state_of(dir.path(), "u").instances.is_empty());
}

fn nested(root: &Path, envs: &str, copies: usize) {
    write(
        root,
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                &format!(
                    r#"module "env" {{
  for_each = toset([{envs}])
  source   = "./env"
  prefix   = each.key
  copies   = {copies}
}}

output "names" {{
  value = {{ for k, m in module.env : k => m.names }}
}}
"#
                ),
            ),
            (
                "u/env/main.tf",
                r#"variable "prefix" {
  type = string
}

variable "copies" {
  type = number
}

module "q" {
  count  = var.copies
  source = "../queue"
  name   = "${var.prefix}-${count.index}"
}

output "names" {
  value = module.q[*].name
}
"#,
            ),
            (
                "u/queue/main.tf",
                r#"variable "name" {
  type = string
}

resource "fake_thing" "q" {
  name = var.name
}

output "name" {
  value = fake_thing.q.name
}
"#,
            ),
        ],
    );
}

#[tokio::test]
async fn nested_modules_with_for_each_and_count_are_addressed_by_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    nested(dir.path(), "\"a\", \"b\"", 2);
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    let (plan, _) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    let addrs: Vec<String> = actions(unit_plan(&plan, "u"))
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        addrs,
        vec![
            "module.env[\"a\"].module.q[0].fake_thing.q",
            "module.env[\"a\"].module.q[1].fake_thing.q",
            "module.env[\"b\"].module.q[0].fake_thing.q",
            "module.env[\"b\"].module.q[1].fake_thing.q",
        ]
    );
    assert_eq!(cloud.objects_named("b-1").len(), 1);
    let state = state_of(dir.path(), "u");
    let names = state.outputs["names"].value.clone();
    assert_eq!(
        names.get("a"),
        Some(&Value::Tuple(vec![
            Value::string("a-0"),
            Value::string("a-1")
        ]))
    );
    let json = state_json(dir.path(), "u");
    let modules: Vec<&str> = json["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["module"].as_str())
        .collect();
    assert_eq!(
        modules,
        vec![
            "module.env[\"a\"].module.q[0]",
            "module.env[\"a\"].module.q[1]",
            "module.env[\"b\"].module.q[0]",
            "module.env[\"b\"].module.q[1]"
        ]
    );

    // Fewer copies and one environment less: those module instances' objects go.
    nested(dir.path(), "\"a\"", 1);
    let (plan, _) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    let p = unit_plan(&plan, "u");
    assert_eq!(
        actions(p),
        vec![
            (
                "module.env[\"a\"].module.q[1].fake_thing.q".to_string(),
                Action::Delete
            ),
            (
                "module.env[\"b\"].module.q[0].fake_thing.q".to_string(),
                Action::Delete
            ),
            (
                "module.env[\"b\"].module.q[1].fake_thing.q".to_string(),
                Action::Delete
            ),
        ]
    );
    let reasons: Vec<Option<String>> = p
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(forge_render::text::reason_text)
        .collect();
    assert!(reasons.iter().all(Option::is_some), "{reasons:?}");
    let left: Vec<String> = cloud
        .objects()
        .values()
        .filter_map(|v| v.str_attr("name").map(str::to_string))
        .collect();
    assert_eq!(left, vec!["a-0".to_string()]);
    let again = e
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    assert!(actions(unit_plan(&again, "u")).is_empty());
}

#[tokio::test]
async fn depends_on_a_module_waits_for_all_of_it_and_removing_the_call_deletes_its_objects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = r#"resource "fake_thing" "gate" {
  name = "gate"
}

module "m" {
  source     = "./m"
  depends_on = [fake_thing.gate]
}

resource "fake_thing" "after" {
  name       = "after"
  depends_on = [module.m]
}
"#;
    write(
        dir.path(),
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            ("u/main.tf", main),
            (
                "u/m/main.tf",
                "resource \"fake_thing\" \"inner\" {\n  name = \"inner\"\n}\n",
            ),
        ],
    );
    let cloud = FakeCloud::new();
    cloud.set_delay(std::time::Duration::from_millis(20));
    let e = engine(&cloud, 4);
    plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    assert_eq!(
        ops(&cloud, FakeOp::Create, 0),
        vec!["gate", "inner", "after"]
    );

    write(
        dir.path(),
        &[(
            "u/main.tf",
            "resource \"fake_thing\" \"gate\" {\n  name = \"gate\"\n}\n",
        )],
    );
    let (plan, _) = plan_apply(&e, &load(dir.path()), PlanMode::Normal).await;
    let p = unit_plan(&plan, "u");
    assert_eq!(
        actions(p),
        vec![
            ("fake_thing.after".to_string(), Action::Delete),
            ("module.m.fake_thing.inner".to_string(), Action::Delete)
        ]
    );
    let inner = p
        .changes
        .iter()
        .find(|c| c.addr.to_string() == "module.m.fake_thing.inner")
        .expect("inner");
    assert_eq!(inner.reason, Some(ChangeReason::DeleteBecauseNoModule));
    assert_eq!(
        forge_render::text::reason_text(inner).as_deref(),
        Some("its module instance is no longer in the configuration")
    );
    assert_eq!(cloud.objects_named("inner").len(), 0);
    assert_eq!(cloud.objects_named("gate").len(), 1);
}

#[tokio::test]
async fn errors_inside_a_module_name_the_module_instance_and_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    chained(dir.path());
    let main = std::fs::read_to_string(dir.path().join("u/main.tf"))
        .expect("read")
        .replace("label    = \"jobs\"", "label    = \"j\"");
    write(dir.path(), &[("u/main.tf", &main)]);
    let cloud = FakeCloud::new();
    let plan = engine(&cloud, 4)
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let Some((_, UnitOutcome::Failed(errors))) = plan.units.iter().find(|(n, _)| n == "u") else {
        panic!("the unit should fail: {plan:?}")
    };
    let text: String = errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("unit u: module.queue: invalid value for variable `label`"),
        "{text}"
    );
    assert!(text.contains("label is too short"), "{text}");
    assert!(
        text.contains("modules/queue/main.tf:"),
        "the location is in the child's file: {text}"
    );

    // A count that is unknown at plan time cannot expand a module.
    write(
        dir.path(),
        &[(
            "u/main.tf",
            "resource \"fake_thing\" \"n\" {\n  name = \"n\"\n}\n\nmodule \"queue\" {\n  source = \"./modules/queue\"\n  count  = length(fake_thing.n.arn)\n  name   = \"x\"\n  label  = \"long\"\n}\n",
        )],
    );
    let plan = engine(&cloud, 4)
        .plan(&load(dir.path()), PlanMode::Normal)
        .await
        .expect("plan");
    let Some((_, UnitOutcome::Failed(errors))) = plan.units.iter().find(|(n, _)| n == "u") else {
        panic!("the unit should fail: {plan:?}")
    };
    let text: String = errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("unit u: module.queue: count depends on values known only after apply"),
        "{text}"
    );
    assert!(text.contains("u/main.tf:7:"), "{text}");
}

/// `path.*` as Terraform gives them (checked against `terraform plan` 1.11): `path.root` is
/// `.`, `path.module` the module's folder relative to the root module's, and relative
/// paths given to `file` are read from the root module's folder, in children too.
#[tokio::test]
async fn paths_are_relative_to_the_root_module_as_in_terraform() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            ("u/terragrunt.hcl", "inputs = {}\n"),
            (
                "u/main.tf",
                "module \"q\" {\n  source = \"./modules/q\"\n}\n\nmodule \"r\" {\n  source = \"../shared/r\"\n}\n\noutput \"root\" {\n  value = [path.module, path.root]\n}\n\noutput \"q\" {\n  value = module.q.p\n}\n\noutput \"r\" {\n  value = module.r.p\n}\n",
            ),
            ("u/top.txt", "from the root\n"),
            (
                "u/modules/q/main.tf",
                "output \"p\" {\n  value = [path.module, path.root, file(\"${path.module}/f.txt\"), file(\"top.txt\")]\n}\n",
            ),
            ("u/modules/q/f.txt", "beside q\n"),
            (
                "shared/r/main.tf",
                "output \"p\" {\n  value = [path.module, path.root]\n}\n",
            ),
        ],
    );
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let e = engine(&cloud, 4);
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    let outputs = &unit_plan(&plan, "u").outputs;
    let strings = |name: &str| -> Vec<String> {
        match outputs.get(name) {
            Some(Value::List(items)) | Some(Value::Tuple(items)) => items
                .iter()
                .map(|v| v.as_str().unwrap_or("?").to_string())
                .collect(),
            other => panic!("output {name}: {other:?}"),
        }
    };
    assert_eq!(strings("root"), [".", "."]);
    assert_eq!(
        strings("q"),
        ["modules/q", ".", "beside q\n", "from the root\n"]
    );
    assert_eq!(strings("r"), ["../shared/r", "."]);
}
