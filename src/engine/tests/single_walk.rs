//! `Engine::plan_and_apply` (`forge apply --auto-approve`) on the fake provider: one walk in
//! which each unit is locked and read once, planned with its dependencies' real outputs,
//! shown (`Event::UnitPlanned`) and applied; every operation is recorded (journal, then
//! state file) before anything that depends on it starts.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forge_engine::state::State;
use forge_engine::{Action, Engine, EnvApply, Event, OpKind, OpStatus, PlanMode, UnitOutcome};
use forge_provider::fake::{FakeCloud, FakeOp, FakeProviderFactory};
use forge_provider::{StateBackend, Value};

mod support;
use support::{load, state_of, write};

/// An engine whose events are kept, in order.
fn engine(cloud: &Arc<FakeCloud>, parallelism: usize) -> (Engine, Arc<Mutex<Vec<Event>>>) {
    let mut e = support::engine(cloud, parallelism);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    e.events = Arc::new(move |ev| sink.lock().expect("events").push(ev));
    (e, events)
}

fn lock_file(root: &Path, unit: &str) -> std::path::PathBuf {
    root.join(unit).join(".forge/.terraform.tfstate.lock.info")
}

fn outcome(applied: &EnvApply, unit: &str) -> UnitOutcome<forge_engine::UnitApplied> {
    applied
        .units
        .iter()
        .find(|(n, _)| n == unit)
        .map(|(_, o)| o.clone())
        .unwrap_or_else(|| panic!("no outcome for {unit}: {applied:?}"))
}

/// `b` takes `a`'s output; `c` stands alone.
fn three_units(root: &Path) {
    write(
        root,
        &[
            ("a/terragrunt.hcl", "inputs = {}\n"),
            (
                "a/main.tf",
                "resource \"fake_thing\" \"main\" {\n  name = \"a-main\"\n}\n\noutput \"arn\" {\n  value = fake_thing.main.arn\n}\n",
            ),
            (
                "b/terragrunt.hcl",
                "dependency \"a\" {\n  config_path = \"../a\"\n}\n\ninputs = {\n  upstream = dependency.a.outputs.arn\n}\n",
            ),
            (
                "b/main.tf",
                "variable \"upstream\" {\n  type = string\n}\n\nresource \"fake_thing\" \"consumer\" {\n  name  = \"b-consumer\"\n  value = var.upstream\n}\n\noutput \"seen\" {\n  value = fake_thing.consumer.value\n}\n",
            ),
            ("c/terragrunt.hcl", "inputs = {}\n"),
            (
                "c/main.tf",
                "resource \"fake_thing\" \"solo\" {\n  name = \"c-solo\"\n}\n",
            ),
        ],
    );
}

/// Where in the event list the first event matching `f` is.
fn position(events: &[Event], f: impl Fn(&Event) -> bool) -> usize {
    events
        .iter()
        .position(f)
        .unwrap_or_else(|| panic!("no such event in {events:#?}"))
}

#[tokio::test]
async fn each_unit_is_planned_with_real_outputs_shown_then_applied_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    three_units(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let (e, events) = engine(&cloud, 4);
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    assert!(!applied.failed(), "{applied:?}");
    let events = events.lock().expect("events").clone();

    // b is planned only after the resource its input comes from is applied (b reads only
    // that output, so a's unit need not have finished), with a's real output (never
    // "known after apply").
    let planned = |u: &str| {
        position(
            &events,
            |ev| matches!(ev, Event::UnitPlanned { plan } if plan.unit == u),
        )
    };
    let started = |u: &str| {
        position(
            &events,
            |ev| matches!(ev, Event::UnitStarted { unit, .. } if unit == u),
        )
    };
    let finished = |u: &str| {
        position(
            &events,
            |ev| matches!(ev, Event::UnitFinished { unit, ok: true, .. } if unit == u),
        )
    };
    let main_created = position(
        &events,
        |ev| matches!(ev, Event::Op { unit, address, kind: OpKind::Creating, status: OpStatus::Done(..) } if unit == "a" && address == "fake_thing.main"),
    );
    assert!(
        planned("a") < started("a")
            && started("a") < main_created
            && main_created < planned("b")
            && started("a") < finished("a"),
        "{events:#?}"
    );
    assert!(planned("b") < started("b"));
    let b_plan = events
        .iter()
        .find_map(|ev| match ev {
            Event::UnitPlanned { plan } if plan.unit == "b" => Some(plan.clone()),
            _ => None,
        })
        .expect("b's plan");
    let consumer = b_plan
        .changes
        .iter()
        .find(|c| c.addr.to_string() == "fake_thing.consumer")
        .expect("consumer");
    assert_eq!(consumer.action, Action::Create);
    assert_eq!(
        consumer.after.as_ref().and_then(|a| a.str_attr("value")),
        Some("arn:fake:fake_thing:a-main")
    );

    // Each unit's progress lines come after its plan.
    let a_create = position(
        &events,
        |ev| matches!(ev, Event::Op { unit, kind: OpKind::Creating, status: OpStatus::Started, .. } if unit == "a"),
    );
    assert!(planned("a") < a_create);

    let creates: Vec<String> = cloud
        .calls()
        .into_iter()
        .filter(|c| c.op == FakeOp::Create)
        .map(|c| c.name)
        .collect();
    let pos = |n: &str| {
        creates
            .iter()
            .position(|c| c == n)
            .unwrap_or_else(|| panic!("{n} not created: {creates:?}"))
    };
    assert!(pos("a-main") < pos("b-consumer"));
    assert_eq!(creates.len(), 3);
    assert_eq!(
        state_of(dir.path(), "b").outputs["seen"].value,
        Value::string("arn:fake:fake_thing:a-main")
    );

    // The run reports every unit's plan for the summary table, and leaves no lock behind.
    let plan = applied.plan.as_ref().expect("plans");
    assert_eq!(
        plan.units
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        vec!["a", "b", "c"]
    );
    assert_eq!(
        plan.units
            .iter()
            .filter_map(|(_, o)| o.done())
            .map(|p| p.counts().add)
            .sum::<usize>(),
        3
    );
    for u in ["a", "b", "c"] {
        assert!(!lock_file(dir.path(), u).exists(), "{u}'s lock left behind");
    }

    // Run again: every unit plans no change and nothing is called but reads.
    let (again, _) = engine(&cloud, 4);
    let second = again
        .plan_and_apply(&env, PlanMode::Normal)
        .await
        .expect("run");
    assert!(!second.failed(), "{second:?}");
    assert!(
        !second.plan.as_ref().expect("plans").has_changes(),
        "{second:?}"
    );
    assert_eq!(cloud.count(FakeOp::Create), 3);
    assert_eq!(cloud.count(FakeOp::Update), 0);
}

#[tokio::test]
async fn a_failed_unit_stops_only_its_dependents_and_every_lock_is_released() {
    let dir = tempfile::tempdir().expect("tempdir");
    three_units(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    cloud.fail_name(FakeOp::Create, "a-main");
    let (e, events) = engine(&cloud, 4);
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    match outcome(&applied, "a") {
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
        outcome(&applied, "b"),
        UnitOutcome::Skipped {
            because: "a".into()
        }
    );
    assert!(matches!(outcome(&applied, "c"), UnitOutcome::Done(_)));
    assert_eq!(cloud.objects_named("c-solo").len(), 1);
    assert!(cloud.objects_named("b-consumer").is_empty());
    // b's lock was taken ahead of its turn, which never came: it is released all the same.
    for u in ["a", "b", "c"] {
        assert!(!lock_file(dir.path(), u).exists(), "{u}'s lock left behind");
    }
    let events = events.lock().expect("events").clone();
    assert!(
        !events
            .iter()
            .any(|ev| matches!(ev, Event::UnitPlanned { plan } if plan.unit == "b")),
        "b was planned"
    );
    // a's plan was shown before it failed; the table says which units failed and why b was skipped.
    let plan = applied.plan.as_ref().expect("plans");
    assert!(
        plan.units
            .iter()
            .any(|(n, o)| n == "a" && o.done().is_some())
    );
    assert!(
        plan.units
            .iter()
            .any(|(n, o)| n == "b"
                && matches!(o, UnitOutcome::Skipped { because } if because == "a"))
    );
}

#[tokio::test]
async fn a_unit_locked_by_someone_else_fails_alone_and_keeps_their_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    three_units(dir.path());
    let env = load(dir.path());
    let c = env.units.iter().find(|u| u.name == "c").expect("c");
    let backend = forge_engine::local_backend::LocalBackend::for_unit(&c.dir);
    let holder = support::someone_elses_lock("theirs");
    backend.lock(&holder).await.expect("lock");
    let cloud = FakeCloud::new();
    let (e, _) = engine(&cloud, 4);
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    match outcome(&applied, "c") {
        UnitOutcome::Failed(es) => assert!(
            es[0].to_string().contains("forge force-unlock theirs"),
            "{}",
            es[0]
        ),
        other => panic!("c ran through a held lock: {other:?}"),
    }
    assert!(matches!(outcome(&applied, "b"), UnitOutcome::Done(_)));
    assert_eq!(
        backend.lock_holder().await.expect("holder").map(|h| h.id),
        Some("theirs".to_string())
    );
    assert!(cloud.objects_named("c-solo").is_empty());
}

/// An operation's address, what the state file recorded when it started, and which
/// operations had finished by then.
type Seen = (String, Vec<String>, Vec<String>);

/// What a crash would leave of a unit's state: the journal when there is one (the run's
/// record ahead of the state file), else the state file.
fn durable_record(unit_dir: &Path) -> Vec<String> {
    let journal = unit_dir.join(".forge/journal.tfstate");
    let state_file = unit_dir.join(".forge/terraform.tfstate");
    std::fs::read(&journal)
        .or_else(|_| std::fs::read(&state_file))
        .ok()
        .and_then(|b| State::from_bytes(&b).ok())
        .map(|s| s.instances.keys().map(|a| a.to_string()).collect())
        .unwrap_or_default()
}

/// At every provider call of the unit, every operation that finished before it is already
/// recorded durably (in the journal, the state file following behind), and a resource
/// whose dependency was just made starts only once that dependency is recorded. At the
/// end the state file has everything and the journal is gone.
#[tokio::test]
async fn every_operation_is_recorded_before_dependents_start() {
    for parallelism in [1, 4] {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            &[
                ("u/terragrunt.hcl", "inputs = {}\n"),
                (
                    "u/main.tf",
                    "resource \"fake_thing\" \"base\" {\n  name = \"base\"\n}\n\nresource \"fake_thing\" \"side\" {\n  count = 3\n  name  = \"side-${count.index}\"\n}\n\nresource \"fake_thing\" \"top\" {\n  name  = \"top\"\n  value = fake_thing.base.arn\n}\n",
                ),
            ],
        );
        let env = load(dir.path());
        let cloud = FakeCloud::new();
        cloud.set_delay(Duration::from_millis(5));
        let mut e = Engine::new(vec![FakeProviderFactory::new(cloud.clone())], vec![]);
        e.options.parallelism = parallelism;
        // At each start: what the state on disk records, and which creates had finished.
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let done: Arc<Mutex<Vec<String>>> = Arc::default();
        let unit_dir = dir.path().join("u");
        let (sink_seen, sink_done) = (seen.clone(), done.clone());
        e.events = Arc::new(move |ev| {
            if let Event::Op {
                address, status, ..
            } = &ev
            {
                match status {
                    OpStatus::Started => {
                        let recorded = durable_record(&unit_dir);
                        let finished = sink_done.lock().expect("done").clone();
                        sink_seen
                            .lock()
                            .expect("seen")
                            .push((address.clone(), recorded, finished));
                    }
                    OpStatus::Done(..) => sink_done.lock().expect("done").push(address.clone()),
                    _ => {}
                }
            }
        });
        let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
        assert!(!applied.failed(), "{applied:?}");
        let seen = seen.lock().expect("seen").clone();
        assert_eq!(seen.len(), 5, "{seen:?}");
        for (address, recorded, finished) in &seen {
            if address == "fake_thing.top" {
                assert!(
                    recorded.contains(&"fake_thing.base".to_string()),
                    "top started before base was in state: {recorded:?}"
                );
            }
            if parallelism == 1 {
                // One node at a time: each start sees every operation of the nodes before it
                // recorded. (The instances of one resource run together, so a sibling's
                // record may still be on its way.)
                let resource = |a: &str| a.split('[').next().unwrap_or(a).to_string();
                let mut f: Vec<String> = finished
                    .iter()
                    .filter(|a| resource(a) != resource(address))
                    .cloned()
                    .collect();
                f.sort();
                let mut r: Vec<String> = recorded
                    .iter()
                    .filter(|a| resource(a) != resource(address))
                    .cloned()
                    .collect();
                r.sort();
                assert_eq!(r, f, "at the start of {address} (parallelism 1)");
            }
        }
        assert_eq!(state_of(dir.path(), "u").instances.len(), 5);
        assert!(
            !dir.path().join("u/.forge/journal.tfstate").exists(),
            "the journal outlived the run"
        );
    }
}

#[tokio::test]
async fn destroy_runs_dependents_first_in_one_walk() {
    let dir = tempfile::tempdir().expect("tempdir");
    three_units(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let (e, _) = engine(&cloud, 4);
    assert!(
        !e.plan_and_apply(&env, PlanMode::Normal)
            .await
            .expect("apply")
            .failed()
    );
    let (e, events) = engine(&cloud, 4);
    let destroyed = e
        .plan_and_apply(&env, PlanMode::Destroy)
        .await
        .expect("destroy");
    assert!(!destroyed.failed(), "{destroyed:?}");
    assert!(cloud.objects().is_empty(), "{:?}", cloud.objects());
    let deletes: Vec<String> = cloud
        .calls()
        .into_iter()
        .filter(|c| c.op == FakeOp::Delete)
        .map(|c| c.name)
        .collect();
    let pos = |n: &str| {
        deletes
            .iter()
            .position(|c| c == n)
            .unwrap_or_else(|| panic!("{n} not deleted: {deletes:?}"))
    };
    assert!(pos("b-consumer") < pos("a-main"), "{deletes:?}");
    let events = events.lock().expect("events").clone();
    assert!(events.iter().any(|ev| matches!(ev, Event::UnitPlanned { plan } if plan.unit == "a" && plan.counts().destroy == 1)));
    for u in ["a", "b", "c"] {
        assert!(
            state_of(dir.path(), u).instances.is_empty(),
            "{u} still records objects"
        );
        assert!(!lock_file(dir.path(), u).exists(), "{u}'s lock left behind");
    }
}

#[tokio::test]
async fn an_interrupt_starts_no_further_unit_and_releases_every_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    three_units(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let mut e = Engine::new(vec![FakeProviderFactory::new(cloud.clone())], vec![]);
    e.options.parallelism = 1;
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
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    assert!(applied.failed());
    assert_eq!(
        cloud.count(FakeOp::Create),
        1,
        "operations kept starting after the interrupt"
    );
    for u in ["a", "b", "c"] {
        assert!(!lock_file(dir.path(), u).exists(), "{u}'s lock left behind");
    }
}

/// A dependent starts once every operation of its dependency is recorded durably (the
/// dependency's journal, or its state file); the state file's last write may still be in
/// flight (the dependent takes the outputs from the run), and it has landed when the run
/// ends.
#[tokio::test]
async fn dependents_start_after_the_dependency_records_its_operations() {
    let dir = tempfile::tempdir().expect("tempdir");
    three_units(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let mut e = Engine::new(vec![FakeProviderFactory::new(cloud.clone())], vec![]);
    e.options.parallelism = 4;
    let a_dir = dir.path().join("a");
    let seen: Arc<Mutex<Option<Vec<String>>>> = Arc::default();
    let sink = seen.clone();
    e.events = Arc::new(move |ev| {
        if let Event::Op {
            unit,
            status: OpStatus::Started,
            ..
        } = &ev
            && unit == "b"
        {
            let recorded = durable_record(&a_dir);
            sink.lock().expect("seen").get_or_insert(recorded);
        }
    });
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(
        seen.lock().expect("seen").clone(),
        Some(vec!["fake_thing.main".to_string()])
    );
    assert_eq!(
        state_of(dir.path(), "a").outputs["arn"].value,
        Value::string("arn:fake:fake_thing:a-main")
    );
}

/// The providers are configured (and plain data sources read) while the unit's lock is
/// still on its way, and no resource is touched before the lock is held.
#[tokio::test]
async fn providers_are_configured_while_the_lock_is_awaited() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            (
                "u/terragrunt.hcl",
                "inputs = {\n  region = \"eu-west-1\"\n}\n",
            ),
            (
                "u/main.tf",
                "variable \"region\" {\n  type = string\n}\n\nprovider \"fake\" {\n  region = var.region\n}\n\ndata \"fake_lookup\" \"l\" {\n  name = \"static\"\n}\n\nresource \"fake_thing\" \"r\" {\n  name  = \"r\"\n  value = data.fake_lookup.l.result\n}\n",
            ),
        ],
    );
    let env = load(dir.path());
    let backend = Arc::new(forge_engine::local_backend::LocalBackend::for_unit(
        &env.units[0].dir,
    ));
    let holder = support::someone_elses_lock("held");
    backend.lock(&holder).await.expect("lock");
    let cloud = FakeCloud::new();
    let releaser = {
        let (backend, cloud) = (backend.clone(), cloud.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let before = (
                cloud.provider_configs(),
                cloud.count(FakeOp::DataRead),
                cloud.count(FakeOp::Create),
            );
            backend.unlock("held", false).await.expect("unlock");
            before
        })
    };
    let (mut e, _) = engine(&cloud, 2);
    e.options.lock_timeout = Duration::from_secs(10);
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    assert!(!applied.failed(), "{applied:?}");
    let (configs, reads, creates) = releaser.await.expect("join");
    assert!(
        configs
            .iter()
            .any(|c| c.str_attr("region") == Some("eu-west-1")),
        "not configured while the lock was held: {configs:?}"
    );
    assert_eq!(
        reads, 1,
        "the data source was not read while the lock was held"
    );
    assert_eq!(
        creates, 0,
        "a resource was created before the lock was held"
    );
    assert_eq!(
        cloud.objects_named("r")[0].str_attr("value"),
        Some("result-of-static")
    );
}
