//! One resource graph across units (`forge_engine::cross_unit`) in `Engine::plan_and_apply`:
//! a unit that reads only some outputs of its dependency starts once those are final,
//! while an unrelated slow resource of the dependency is still being created; what forge
//! cannot see through (the outputs as a whole, `dependencies { paths }`) still waits for
//! the whole unit; a failure of what the outputs come from skips the dependent; and the
//! dependent gets the same values it would have got after the whole unit.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forge_engine::{Engine, EnvApply, Event, OpKind, OpStatus, PlanMode, UnitOutcome};
use forge_provider::Value;
use forge_provider::fake::{FakeCloud, FakeOp};

mod support;
use support::{load, state_of, write};

fn engine(cloud: &Arc<FakeCloud>, parallelism: usize) -> (Engine, Arc<Mutex<Vec<Event>>>) {
    let mut e = support::engine(cloud, parallelism);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    e.events = Arc::new(move |ev| sink.lock().expect("events").push(ev));
    (e, events)
}

const SLOW: Duration = Duration::from_millis(600);

/// `up` makes a fast and a slow resource, one output each. `seen` reads only the fast
/// one's output (by attribute), `indexed` the same through a static index; `whole` reads
/// the outputs as a whole, `ordered` only orders itself after `up` with `dependencies`.
fn layout(root: &Path) {
    let consumer = |name: &str| {
        format!(
            "variable \"upstream\" {{\n  type = string\n}}\n\nresource \"fake_thing\" \"consumer\" {{\n  name  = \"{name}\"\n  value = var.upstream\n}}\n"
        )
    };
    write(
        root,
        &[
            ("up/terragrunt.hcl", "inputs = {}\n"),
            (
                "up/main.tf",
                "resource \"fake_thing\" \"fast\" {\n  name = \"up-fast\"\n}\n\nresource \"fake_thing\" \"slow\" {\n  name = \"up-slow\"\n}\n\noutput \"fast_arn\" {\n  value = fake_thing.fast.arn\n}\n\noutput \"slow_arn\" {\n  value = fake_thing.slow.arn\n}\n",
            ),
            (
                "seen/terragrunt.hcl",
                "dependency \"up\" {\n  config_path = \"../up\"\n}\n\ninputs = {\n  upstream = dependency.up.outputs.fast_arn\n}\n",
            ),
            ("seen/main.tf", &consumer("seen-consumer")),
            (
                "indexed/terragrunt.hcl",
                "dependency \"up\" {\n  config_path = \"../up\"\n}\n\ninputs = {\n  upstream = \"${dependency.up.outputs[\"fast_arn\"]}\"\n}\n",
            ),
            ("indexed/main.tf", &consumer("indexed-consumer")),
            (
                "whole/terragrunt.hcl",
                "dependency \"up\" {\n  config_path = \"../up\"\n}\n\ninputs = {\n  upstream = lookup(dependency.up.outputs, \"fast_arn\")\n}\n",
            ),
            ("whole/main.tf", &consumer("whole-consumer")),
            (
                "ordered/terragrunt.hcl",
                "dependencies {\n  paths = [\"../up\"]\n}\n\ninputs = {\n  upstream = \"fixed\"\n}\n",
            ),
            ("ordered/main.tf", &consumer("ordered-consumer")),
        ],
    );
}

/// Where in `events` unit `unit`'s first create starts.
fn create_started(events: &[Event], unit: &str) -> usize {
    events
        .iter()
        .position(|ev| matches!(ev, Event::Op { unit: u, kind: OpKind::Creating, status: OpStatus::Started, .. } if u == unit))
        .unwrap_or_else(|| panic!("{unit} created nothing: {events:#?}"))
}

/// Where in `events` the create of `address` in `unit` ends.
fn create_done(events: &[Event], unit: &str, address: &str) -> usize {
    events
        .iter()
        .position(|ev| matches!(ev, Event::Op { unit: u, address: a, kind: OpKind::Creating, status: OpStatus::Done(..) } if u == unit && a == address))
        .unwrap_or_else(|| panic!("{unit}'s {address} was not created: {events:#?}"))
}

fn outcome(applied: &EnvApply, unit: &str) -> UnitOutcome<forge_engine::UnitApplied> {
    applied
        .units
        .iter()
        .find(|(n, _)| n == unit)
        .map(|(_, o)| o.clone())
        .unwrap_or_else(|| panic!("no outcome for {unit}: {applied:?}"))
}

/// The value the unit's plan gave its `upstream` variable.
fn planned_upstream(events: &[Event], unit: &str) -> Value {
    events
        .iter()
        .find_map(|ev| match ev {
            Event::UnitPlanned { plan } if plan.unit == unit => {
                plan.variables.get("upstream").cloned()
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{unit} was not planned: {events:#?}"))
}

#[tokio::test]
async fn a_unit_reading_some_outputs_starts_before_the_rest_of_its_dependency_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    cloud.set_delay_for("up-slow", SLOW);
    let (e, events) = engine(&cloud, 8);
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    assert!(!applied.failed(), "{applied:?}");
    let events = events.lock().expect("events").clone();
    let slow_done = create_done(&events, "up", "fake_thing.slow");
    let fast_done = create_done(&events, "up", "fake_thing.fast");

    // Seen through: started on the fast output, while the slow resource was being made.
    for unit in ["seen", "indexed"] {
        let started = create_started(&events, unit);
        assert!(
            fast_done < started && started < slow_done,
            "{unit} did not start between the fast and the slow resource: {events:#?}"
        );
    }
    // Barriers: the whole unit first.
    let up_finished = events
        .iter()
        .position(|ev| matches!(ev, Event::UnitFinished { unit, ok: true, .. } if unit == "up"))
        .expect("up finished");
    for unit in ["whole", "ordered"] {
        assert!(
            create_started(&events, unit) > up_finished,
            "{unit} started before up finished: {events:#?}"
        );
    }

    // The same values as after the whole unit (the barrier's), and as up's state records.
    let recorded = state_of(dir.path(), "up").outputs["fast_arn"].value.clone();
    assert_eq!(recorded, Value::string("arn:fake:fake_thing:up-fast"));
    for unit in ["seen", "indexed", "whole"] {
        assert_eq!(planned_upstream(&events, unit), recorded, "{unit}");
        let consumer = &state_of(dir.path(), unit).instances;
        let values: Vec<Option<&str>> = consumer
            .values()
            .map(|i| i.attributes.str_attr("value"))
            .collect();
        assert_eq!(values, vec![Some("arn:fake:fake_thing:up-fast")], "{unit}");
    }
    // Each unit keeps its own state with its outputs, written as before.
    assert_eq!(
        state_of(dir.path(), "up").outputs["slow_arn"].value,
        Value::string("arn:fake:fake_thing:up-slow")
    );
}

/// With room for one unit at a time, a unit waiting for outputs holds no slot: the run
/// neither deadlocks nor changes what it makes.
#[tokio::test]
async fn early_starts_fit_under_a_parallelism_of_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let (e, _) = engine(&cloud, 1);
    let applied = tokio::time::timeout(
        Duration::from_secs(60),
        e.plan_and_apply(&env, PlanMode::Normal),
    )
    .await
    .expect("the run ends")
    .expect("run");
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(cloud.count(FakeOp::Create), 6);
}

#[tokio::test]
async fn a_failure_of_what_the_outputs_come_from_skips_the_dependent() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    cloud.fail_name(FakeOp::Create, "up-fast");
    let (e, _) = engine(&cloud, 8);
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    assert!(
        matches!(outcome(&applied, "up"), UnitOutcome::Failed(_)),
        "{applied:?}"
    );
    for unit in ["seen", "indexed", "whole", "ordered"] {
        assert!(
            matches!(outcome(&applied, unit), UnitOutcome::Skipped { .. }),
            "{unit}: {applied:?}"
        );
    }
    let made: Vec<String> = cloud
        .calls()
        .into_iter()
        .filter(|c| c.op == FakeOp::Create)
        .map(|c| c.name)
        .collect();
    assert!(
        made.iter().all(|n| n.starts_with("up-")),
        "a dependent made something: {made:?}"
    );
}

/// A destroy keeps whole-unit barriers, in reverse: the dependency goes after every
/// dependent.
#[tokio::test]
async fn destroy_waits_for_whole_units() {
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let (e, _) = engine(&cloud, 8);
    assert!(
        !e.plan_and_apply(&env, PlanMode::Normal)
            .await
            .expect("apply")
            .failed()
    );
    let (e, events) = engine(&cloud, 8);
    let destroyed = e
        .plan_and_apply(&env, PlanMode::Destroy)
        .await
        .expect("destroy");
    assert!(!destroyed.failed(), "{destroyed:?}");
    let events = events.lock().expect("events").clone();
    let deleting = |unit: &str| {
        events
            .iter()
            .position(|ev| matches!(ev, Event::Op { unit: u, kind: OpKind::Destroying, status: OpStatus::Started, .. } if u == unit))
            .unwrap_or_else(|| panic!("{unit} deleted nothing: {events:#?}"))
    };
    let last_dependent_done = events
        .iter()
        .rposition(|ev| matches!(ev, Event::UnitFinished { unit, .. } if unit != "up"))
        .expect("dependents finished");
    assert!(deleting("up") > last_dependent_done, "{events:#?}");
    assert!(cloud.objects().is_empty());
}
