//! What the engine's test files share: environments written as HCL into a temporary
//! folder, loaded by forge-config, and an engine on the fake provider. Each test file is
//! its own binary and uses a subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use forge_config::Environment;
use forge_engine::state::State;
use forge_engine::{ApplyTarget, Engine, EnvApply, EnvPlan, PlanMode, UnitOutcome, UnitPlan};
use forge_provider::fake::{FakeCloud, FakeProviderFactory};

pub fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

pub fn load(root: &Path) -> Environment {
    match Environment::load(root, &forge_config::LoadContext::default()) {
        Ok(e) => e,
        Err(d) => panic!("the test environment does not load:\n{d}"),
    }
}

pub fn engine(cloud: &Arc<FakeCloud>, parallelism: usize) -> Engine {
    let mut e = Engine::new(vec![FakeProviderFactory::new(cloud.clone())], vec![]);
    e.options.parallelism = parallelism;
    e
}

pub fn unit_plan<'a>(plan: &'a EnvPlan, unit: &str) -> &'a UnitPlan {
    match plan.units.iter().find(|(n, _)| n == unit) {
        Some((_, UnitOutcome::Done(p))) => p,
        other => panic!("unit {unit} has no plan: {other:?}"),
    }
}

/// Plans, then applies what the plan says for every unit that planned.
pub async fn plan_apply(e: &Engine, env: &Environment, mode: PlanMode) -> (EnvPlan, EnvApply) {
    let plan = e.plan(env, mode).await.expect("plan");
    let targets: Vec<ApplyTarget> = plan
        .units
        .iter()
        .filter_map(|(_, o)| o.done())
        .map(ApplyTarget::from_plan)
        .collect();
    let applied = e.apply(env, mode, &targets).await.expect("apply");
    (plan, applied)
}

/// A unit's local state file, decoded.
pub fn state_of(root: &Path, unit: &str) -> State {
    let bytes =
        std::fs::read(root.join(unit).join(".forge/terraform.tfstate")).expect("state file");
    State::from_bytes(&bytes).expect("state decodes")
}

/// A lock as another run (`other@host`) holds it, under `id`.
pub fn someone_elses_lock(id: &str) -> forge_provider::LockInfo {
    forge_provider::LockInfo {
        id: id.into(),
        operation: "OperationTypeApply".into(),
        info: String::new(),
        who: "other@host".into(),
        version: "0".into(),
        created: "2026-01-01T00:00:00Z".into(),
        path: String::new(),
        process: None,
        lease: None,
    }
}
