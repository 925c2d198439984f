//! The journal (`<unit>/.forge/journal.tfstate`) keeps what a run did when its state
//! writes do not reach the backend, and the next run takes it: no object is made twice,
//! no record is lost, and a journal the stored state moved past is set aside, never taken.
//! The backend here is an in-memory one whose writes can be made to fail.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use forge_engine::state::State;
use forge_engine::{Action, Engine, Event, PlanMode};
use forge_provider::fake::{FakeCloud, FakeOp, FakeProviderFactory};
use forge_provider::{BackendError, BackendFactory, LockInfo, StateBackend, StoredState, Value};

mod support;
use support::{load, unit_plan, write};

/// One state object in memory, with a lock, whose writes fail while `fail_writes` is set.
#[derive(Default)]
struct MemoryBackend {
    object: Mutex<Option<StoredState>>,
    lock: Mutex<Option<LockInfo>>,
    fail_writes: AtomicBool,
    versions: AtomicU64,
    writes: AtomicU64,
}

impl MemoryBackend {
    fn state(&self) -> Option<State> {
        self.object
            .lock()
            .expect("object")
            .as_ref()
            .map(|s| State::from_bytes(&s.bytes).expect("stored state decodes"))
    }

    fn put(&self, state: &State) {
        let version = format!("v{}", self.versions.fetch_add(1, Ordering::SeqCst));
        *self.object.lock().expect("object") = Some(StoredState {
            bytes: state.to_bytes().expect("encode"),
            version,
        });
    }
}

#[async_trait]
impl StateBackend for MemoryBackend {
    fn describe(&self) -> String {
        "memory://state".to_string()
    }

    async fn read(&self) -> Result<Option<StoredState>, BackendError> {
        Ok(self.object.lock().expect("object").clone())
    }

    async fn write(
        &self,
        bytes: &[u8],
        expected_version: Option<&str>,
    ) -> Result<String, BackendError> {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(BackendError::Other(
                "memory://state: writes are switched off".to_string(),
            ));
        }
        let mut object = self.object.lock().expect("object");
        if object.as_ref().map(|s| s.version.as_str()) != expected_version {
            return Err(BackendError::Conflict("memory://state changed".to_string()));
        }
        let version = format!("v{}", self.versions.fetch_add(1, Ordering::SeqCst));
        *object = Some(StoredState {
            bytes: bytes.to_vec(),
            version: version.clone(),
        });
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(version)
    }

    async fn lock(&self, info: &LockInfo) -> Result<(), BackendError> {
        let mut held = self.lock.lock().expect("lock");
        match &*held {
            Some(h) => Err(BackendError::Locked(h.clone())),
            None => {
                *held = Some(info.clone());
                Ok(())
            }
        }
    }

    async fn unlock(&self, id: &str, force: bool) -> Result<(), BackendError> {
        let mut held = self.lock.lock().expect("lock");
        match &*held {
            Some(h) if h.id != id && !force => Err(BackendError::Locked(h.clone())),
            _ => {
                *held = None;
                Ok(())
            }
        }
    }

    async fn lock_holder(&self) -> Result<Option<LockInfo>, BackendError> {
        Ok(self.lock.lock().expect("lock").clone())
    }
}

struct MemoryFactory(Arc<MemoryBackend>);

#[async_trait]
impl BackendFactory for MemoryFactory {
    fn backend_type(&self) -> &'static str {
        "memory"
    }

    async fn open(&self, _config: &Value) -> Result<Arc<dyn StateBackend>, BackendError> {
        Ok(self.0.clone())
    }
}

/// One unit on the memory backend: `base`, `top` (refers to base) and three `side`s.
fn unit(root: &Path) {
    write(
        root,
        &[
            (
                "u/terragrunt.hcl",
                "remote_state {\n  backend = \"memory\"\n  config = {}\n}\n\ninputs = {}\n",
            ),
            (
                "u/main.tf",
                "resource \"fake_thing\" \"base\" {\n  name = \"base\"\n}\n\nresource \"fake_thing\" \"side\" {\n  count = 3\n  name  = \"side-${count.index}\"\n}\n\nresource \"fake_thing\" \"top\" {\n  name  = \"top\"\n  value = fake_thing.base.arn\n}\n\noutput \"top\" {\n  value = fake_thing.top.arn\n}\n",
            ),
        ],
    );
}

fn engine(
    cloud: &Arc<FakeCloud>,
    backend: &Arc<MemoryBackend>,
) -> (Engine, Arc<Mutex<Vec<String>>>) {
    let mut e = Engine::new(
        vec![FakeProviderFactory::new(cloud.clone())],
        vec![Arc::new(MemoryFactory(backend.clone()))],
    );
    e.options.parallelism = 4;
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = notices.clone();
    e.events = Arc::new(move |ev| {
        if let Event::Notice { message, .. } = ev {
            sink.lock().expect("notices").push(message);
        }
    });
    (e, notices)
}

/// The unit applied once on a working backend: its folder, environment, cloud, backend and
/// the stored state.
async fn applied_once() -> (
    tempfile::TempDir,
    forge_config::Environment,
    Arc<FakeCloud>,
    Arc<MemoryBackend>,
    State,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    let backend = Arc::new(MemoryBackend::default());
    let (e, _) = engine(&cloud, &backend);
    assert!(
        !e.plan_and_apply(&env, PlanMode::Normal)
            .await
            .expect("run")
            .failed()
    );
    let stored = backend.state().expect("stored");
    (dir, env, cloud, backend, stored)
}

/// Leaves `state` as the unit's journal, as a stopped run would.
fn put_journal(root: &Path, state: &State) {
    std::fs::create_dir_all(root.join("u/.forge")).expect("mkdir");
    std::fs::write(
        root.join("u/.forge/journal.tfstate"),
        state.to_bytes().expect("encode"),
    )
    .expect("journal");
}

fn journal_of(root: &Path) -> Option<State> {
    std::fs::read(root.join("u/.forge/journal.tfstate"))
        .ok()
        .map(|b| State::from_bytes(&b).expect("journal decodes"))
}

fn names(state: &State) -> Vec<String> {
    let mut v: Vec<String> = state.instances.keys().map(|a| a.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_run_whose_state_writes_fail_leaves_a_journal_that_the_next_run_takes() {
    let dir = tempfile::tempdir().expect("tempdir");
    unit(dir.path());
    let env = load(dir.path());
    let cloud = FakeCloud::new();
    cloud.set_delay(std::time::Duration::from_millis(5));
    let backend = Arc::new(MemoryBackend::default());
    backend.fail_writes.store(true, Ordering::SeqCst);

    let (e, _) = engine(&cloud, &backend);
    let failed = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    assert!(
        failed.failed(),
        "a run whose state cannot be written must fail: {failed:?}"
    );
    assert!(backend.state().is_none(), "nothing reached the backend");
    let made = cloud.objects().len();
    assert!(
        made >= 1,
        "the first operations ran before the write failed"
    );
    let journal = journal_of(dir.path()).expect("the journal is left behind");
    assert_eq!(
        journal.instances.len(),
        made,
        "the journal records exactly what exists: {:?} vs {:?}",
        names(&journal),
        cloud.objects().keys()
    );
    assert!(
        backend.lock.lock().expect("lock").is_none(),
        "the lock was released"
    );

    backend.fail_writes.store(false, Ordering::SeqCst);
    let (e, notices) = engine(&cloud, &backend);
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    assert!(!applied.failed(), "{applied:?}");
    assert!(
        notices
            .lock()
            .expect("notices")
            .iter()
            .any(|n| n.contains("took its local record") && n.contains("journal.tfstate")),
        "the recovery is reported: {notices:?}"
    );
    assert_eq!(
        cloud.count(FakeOp::Create),
        5,
        "an object was made twice: {:?}",
        cloud.calls()
    );
    assert_eq!(cloud.objects().len(), 5);
    let stored = backend.state().expect("stored state");
    assert_eq!(
        names(&stored),
        [
            "fake_thing.base",
            "fake_thing.side[0]",
            "fake_thing.side[1]",
            "fake_thing.side[2]",
            "fake_thing.top"
        ]
    );
    assert_eq!(
        stored.lineage, journal.lineage,
        "the journal's lineage is kept"
    );
    assert!(stored.serial > journal.serial);
    assert!(
        journal_of(dir.path()).is_none(),
        "the journal outlived the run that wrote it"
    );
    assert!(
        !dir.path().join("u/.forge").exists(),
        "an empty .forge folder is left in the unit"
    );
}

/// A run that stopped after its operations but before its last write: the next apply
/// has nothing to change, and still writes what the journal recorded.
#[tokio::test]
async fn a_journal_ahead_of_the_stored_state_is_written_even_when_nothing_changes() {
    let (dir, env, cloud, backend, full) = applied_once().await;
    // The stored state lost `top`'s record; the journal has it, one serial on.
    let mut behind = full.clone();
    behind
        .instances
        .retain(|a, _| a.to_string() != "fake_thing.top");
    backend.put(&behind);
    let mut ahead = full.clone();
    ahead.serial += 1;
    put_journal(dir.path(), &ahead);

    // A plan shows the journal's state and leaves both as they are.
    let (e, notices) = engine(&cloud, &backend);
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    assert!(
        !unit_plan(&plan, "u").has_changes(),
        "{:?}",
        unit_plan(&plan, "u").changes
    );
    assert!(
        notices
            .lock()
            .expect("notices")
            .iter()
            .any(|n| n.contains("journal.tfstate")),
        "{notices:?}"
    );
    assert_eq!(
        names(&backend.state().expect("stored")).len(),
        4,
        "a plan wrote the state"
    );
    assert!(journal_of(dir.path()).is_some());

    let (e, _) = engine(&cloud, &backend);
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(cloud.count(FakeOp::Create), 5, "nothing is made again");
    let stored = backend.state().expect("stored");
    assert_eq!(names(&stored), names(&full));
    assert!(stored.serial > ahead.serial);
    assert!(journal_of(dir.path()).is_none());
}

#[tokio::test]
async fn a_journal_the_stored_state_moved_past_is_set_aside_not_taken() {
    let (dir, env, cloud, backend, full) = applied_once().await;

    for (case, journal) in [
        ("older serial", {
            let mut s = full.clone();
            s.serial -= 1;
            s.instances.clear();
            s
        }),
        ("other lineage", {
            let mut s = full.clone();
            s.lineage = "another-lineage".to_string();
            s.serial += 10;
            s.instances.clear();
            s
        }),
    ] {
        put_journal(dir.path(), &journal);
        let (e, notices) = engine(&cloud, &backend);
        let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
        let changes = &unit_plan(&plan, "u").changes;
        assert!(
            changes.iter().all(|c| c.action == Action::NoOp),
            "{case}: the stale journal was taken: {changes:?}"
        );
        assert!(
            journal_of(dir.path()).is_none(),
            "{case}: the stale journal is still in place"
        );
        let notices = notices.lock().expect("notices").clone();
        let aside = dir
            .path()
            .join(format!("u/.forge/journal.{}.stale.tfstate", journal.serial));
        assert!(
            aside.exists(),
            "{case}: not kept for the user at {}",
            aside.display()
        );
        assert!(
            notices
                .iter()
                .any(|n| n.contains("set aside") && n.contains(&aside.display().to_string())),
            "{case}: {notices:?}"
        );
        assert_eq!(
            names(&backend.state().expect("stored")),
            names(&full),
            "{case}: the stored state changed"
        );
    }
}

/// A journal whose serial the stored state already has (the run stopped after its last
/// write) is simply removed.
#[tokio::test]
async fn a_journal_the_stored_state_already_holds_is_removed() {
    let (dir, env, cloud, backend, full) = applied_once().await;
    put_journal(dir.path(), &full);
    let writes = backend.writes.load(Ordering::SeqCst);
    let (e, notices) = engine(&cloud, &backend);
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    assert!(!unit_plan(&plan, "u").has_changes());
    assert!(
        journal_of(dir.path()).is_none(),
        "a journal the backend holds stays"
    );
    assert!(notices.lock().expect("notices").is_empty(), "{notices:?}");
    assert_eq!(
        backend.writes.load(Ordering::SeqCst),
        writes,
        "a plan wrote the state"
    );
}

/// A record set aside by an earlier run goes once the stored state holds what it
/// recorded (here: the user pushed it, so the stored state is the same objects at a later
/// serial); one that differs stays.
#[tokio::test]
async fn set_aside_records_the_stored_state_holds_are_cleaned_up() {
    let (dir, env, cloud, backend, full) = applied_once().await;
    let forge_dir = dir.path().join("u/.forge");
    std::fs::create_dir_all(&forge_dir).expect("mkdir");
    let mut held = full.clone();
    held.serial -= 1;
    let held_path = forge_dir.join(format!("journal.{}.stale.tfstate", held.serial));
    std::fs::write(&held_path, held.to_bytes().expect("encode")).expect("write");
    let mut differs = full.clone();
    differs.serial -= 1;
    differs.instances.clear();
    let differs_path = forge_dir.join(format!("journal.{}.stale-1.tfstate", differs.serial));
    std::fs::write(&differs_path, differs.to_bytes().expect("encode")).expect("write");

    let (e, notices) = engine(&cloud, &backend);
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    assert!(!unit_plan(&plan, "u").has_changes());
    assert!(!held_path.exists(), "a record the stored state holds stays");
    assert!(
        differs_path.exists(),
        "a record with other contents was removed"
    );
    let notices = notices.lock().expect("notices").clone();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("removed 1 set-aside")
                && n.contains(&held_path.display().to_string())),
        "{notices:?}"
    );
}

/// Leaves an intent to create `addr`, as a run killed during that create would.
fn put_intent(root: &Path, addr: &str) {
    std::fs::create_dir_all(root.join("u/.forge")).expect("mkdir");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    std::fs::write(
        root.join("u/.forge/intents.json"),
        format!(
            r#"{{"version": 1, "intents": {{"{addr}": {{"action": "create", "type": "fake_thing", "token": "forge-t", "started_ms": {now}}}}}}}"#
        ),
    )
    .expect("intents");
}

/// A run killed while `top`'s create was in flight: the object exists, no state records
/// it, only the intent does. The next plan shows it adopted (imported) and the apply
/// records it without creating it again; an intent whose object was never made is created.
#[tokio::test]
async fn a_create_that_was_never_recorded_is_adopted_from_its_intent() {
    let (dir, env, cloud, backend, full) = applied_once().await;
    let mut without_top = full.clone();
    without_top
        .instances
        .retain(|a, _| a.to_string() != "fake_thing.top");
    backend.put(&without_top);
    put_intent(dir.path(), "fake_thing.top");

    let (e, notices) = engine(&cloud, &backend);
    let plan = e.plan(&env, PlanMode::Normal).await.expect("plan");
    let top = unit_plan(&plan, "u")
        .changes
        .iter()
        .find(|c| c.addr.to_string() == "fake_thing.top")
        .expect("a change for top");
    assert_eq!(top.action, Action::NoOp, "{top:?}");
    assert!(
        top.importing.is_some(),
        "the plan does not show the adoption"
    );
    assert!(
        notices
            .lock()
            .expect("notices")
            .iter()
            .any(|n| n.contains("fake_thing.top: adopting")),
        "{notices:?}"
    );

    let (e, _) = engine(&cloud, &backend);
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(cloud.count(FakeOp::Create), 5, "top was made twice");
    assert_eq!(cloud.objects_named("top").len(), 1);
    assert_eq!(names(&backend.state().expect("stored")), names(&full));
    assert!(
        !dir.path().join("u/.forge").exists(),
        "the settled intent outlived the run"
    );

    // Never made (the run died before the call went out): created, once.
    backend.put(&without_top);
    put_intent(dir.path(), "fake_thing.top");
    assert!(cloud.remove_named("top"));
    let (e, _) = engine(&cloud, &backend);
    let applied = e.plan_and_apply(&env, PlanMode::Normal).await.expect("run");
    assert!(!applied.failed(), "{applied:?}");
    assert_eq!(cloud.count(FakeOp::Create), 6);
    assert_eq!(cloud.objects_named("top").len(), 1);
}
