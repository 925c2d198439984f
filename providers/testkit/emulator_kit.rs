//! What every provider crate's emulator tests share: the emulator context, configuration
//! values shaped by a schema, and the eight steps issue 5 asks of every resource type
//! (create, read back equal to the desired values, a second plan that is a no-op, a change
//! made outside forge that the next plan shows, the repairing update, import by id,
//! delete, and the object gone) as one helper, [`Lifecycle`].
//!
//! It is not a crate: each `providers/<service>/tests/emulator.rs` includes this file with
//! `#[path = "../../testkit/emulator_kit.rs"] mod kit;`, so it needs no workspace entry and
//! uses only what those test binaries already depend on (forge-provider,
//! forge-aws-common, uuid).

// Each test binary uses a different part of the kit.
#![allow(dead_code)]
// Tests may unwrap: a panic there is a test failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use forge_aws_common::AwsContext;
use forge_provider::{ResourceType, Schema, Value};

/// Fails (never skips) when the emulator variables are missing, saying how to get them.
pub fn require_emulators() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        panic!(
            "AWS_ENDPOINT_URL is not set: these tests need the emulators. Run \
             `localstack/emulators.sh up` and `source localstack/.run/env.sh`, or use `scripts/test`."
        );
    }
}

/// A provider context for the emulators in us-east-1.
pub async fn context() -> Arc<AwsContext> {
    context_with(Vec::new()).await
}

/// A provider context whose `default_tags` block holds `pairs`.
pub async fn context_with_default_tags(pairs: &[(&str, &str)]) -> Arc<AwsContext> {
    let block = Value::List(vec![Value::object([("tags", tags(pairs))])]);
    context_with(vec![("default_tags", block)]).await
}

/// A provider context from `region = "us-east-1"` plus the given provider-block settings.
pub async fn context_with(settings: Vec<(&str, Value)>) -> Arc<AwsContext> {
    require_emulators();
    let mut provider = vec![("region", Value::string("us-east-1"))];
    provider.extend(settings);
    let ctx = AwsContext::from_provider_config(&Value::object(provider))
        .await
        .expect("provider context");
    Arc::new(ctx)
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A configuration value with every schema attribute (null unless set) and every block
/// (empty unless set), as the engine hands it to a provider.
pub fn config(schema: &Schema, set: Vec<(&str, Value)>) -> Value {
    let mut m: BTreeMap<String, Value> = schema
        .attributes
        .keys()
        .map(|k| (k.clone(), Value::Null))
        .collect();
    for name in schema.blocks.keys() {
        m.insert(name.clone(), Value::List(Vec::new()));
    }
    for (k, v) in set {
        assert!(
            m.contains_key(k),
            "test config sets {k}, which is not in the schema"
        );
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

/// One nested block object (same rule as [`config`]).
pub fn block(schema: &Schema, set: Vec<(&str, Value)>) -> Value {
    config(schema, set)
}

pub fn s(v: &str) -> Value {
    Value::string(v)
}

pub fn n(v: f64) -> Value {
    Value::Number(v)
}

pub fn strings(xs: &[&str]) -> Value {
    Value::List(xs.iter().map(|x| s(x)).collect())
}

pub fn tags(pairs: &[(&str, &str)]) -> Value {
    Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), s(v))).collect())
}

/// Plans and creates; the state has every schema attribute and no unknowns.
pub async fn create(rt: &dyn ResourceType, cfg: &Value) -> Value {
    let plan = rt.plan(None, cfg).expect("plan for create");
    let state = rt.create(&plan.planned).await.expect("create");
    assert!(state.is_wholly_known(), "create left unknowns: {state:?}");
    for name in rt.schema().attributes.keys() {
        assert!(
            state.get(name).is_some(),
            "{}: state lacks {name}",
            rt.type_name()
        );
    }
    state
}

/// [`create`], and every attribute the plan knew (but those in `except`) has that value
/// afterwards: what dependants planned with holds.
pub async fn create_as_planned(rt: &dyn ResourceType, cfg: &Value, except: &[&str]) -> Value {
    let plan = rt.plan(None, cfg).expect("plan for create");
    let state = create(rt, cfg).await;
    for name in rt
        .schema()
        .attributes
        .keys()
        .filter(|n| !except.contains(&n.as_str()))
    {
        let planned = plan.planned.get(name).unwrap_or(&Value::Null);
        let got = state.get(name).unwrap_or(&Value::Null);
        // Terraform accepts from the AWS provider (a legacy-SDK provider) an empty value
        // where the plan said null: an unset optional argument reads back as "", {}, []
        // or false. Anything else must be as planned.
        let null_read_as_empty = planned.is_null() && is_empty_value(got);
        let same_document = same_json_document(planned, got);
        if planned.is_wholly_known() && !null_read_as_empty && !same_document {
            assert!(
                planned.same_as(got),
                "{}: {name} planned {planned:?}, created {got:?}",
                rt.type_name()
            );
        }
    }
    state
}

/// Two JSON documents (policies) that mean the same: the provider records a document in
/// its own spelling (IAM inline policies in its legacy key order) and plans by meaning.
fn same_json_document(a: &Value, b: &Value) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) => matches!(
            (
                serde_json::from_str::<serde_json::Value>(x),
                serde_json::from_str::<serde_json::Value>(y),
            ),
            (Ok(p @ serde_json::Value::Object(_)), Ok(q)) if p == q
        ),
        _ => false,
    }
}

/// The legacy SDK's zero values: "", false, 0 and empty collections.
fn is_empty_value(v: &Value) -> bool {
    match v.unmarked() {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => *n == 0.0,
        Value::Map(m) | Value::Object(m) => m.is_empty(),
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => xs.is_empty(),
        _ => false,
    }
}

pub async fn read(rt: &dyn ResourceType, state: &Value) -> Value {
    rt.read(state)
        .await
        .expect("read")
        .expect("the object exists")
}

/// Every value the configuration sets is in `state`; blocks item by item, comparing the
/// attributes the configuration sets.
pub fn assert_matches_config(state: &Value, cfg: &Value) {
    for (k, v) in cfg.as_map().expect("config is an object") {
        if v.is_null() {
            continue;
        }
        let got = state.get(k).unwrap_or(&Value::Null);
        match (v.as_seq(), got.as_seq()) {
            (Some(want), Some(have))
                if !want.is_empty() && want.iter().all(|w| w.as_map().is_some()) =>
            {
                assert_eq!(
                    want.len(),
                    have.len(),
                    "{k}: configured {want:?}, state has {have:?}"
                );
                for (w, h) in want.iter().zip(have) {
                    assert_matches_config(h, w);
                }
            }
            _ => assert!(
                got.same_as(v) || same_json_document(got, v),
                "{k}: configured {v:?}, state has {got:?}"
            ),
        }
    }
}

/// A plan against `live` changes nothing.
pub fn assert_no_op(rt: &dyn ResourceType, live: &Value, cfg: &Value) {
    let plan = rt.plan(Some(live), cfg).expect("second plan");
    assert!(
        plan.requires_replace.is_empty(),
        "{}: replace asked: {:?}",
        rt.type_name(),
        plan.requires_replace
    );
    assert!(
        plan.planned.same_as(live),
        "{}: second plan is not a no-op:\nplanned {:?}\nlive    {:?}",
        rt.type_name(),
        plan.planned,
        live
    );
}

/// A plan against `live` changes something (the drift shows).
pub fn assert_plan_changes(rt: &dyn ResourceType, live: &Value, cfg: &Value) {
    let plan = rt.plan(Some(live), cfg).expect("repair plan");
    assert!(
        !plan.planned.same_as(live),
        "{}: the plan must repair the drift: {live:?}",
        rt.type_name()
    );
}

/// State as the engine stores it (JSON: lists become tuples, maps objects) reads back
/// as no drift and plans as no change.
pub async fn assert_stored_state_plans_no_op(rt: &dyn ResourceType, state: &Value, cfg: &Value) {
    let stored = Value::from_json(&state.to_json());
    let live = rt
        .read(&stored)
        .await
        .expect("read stored state")
        .expect("exists");
    assert!(
        live.same_as(&stored),
        "{}: stored state reads as drift:\n{live:?}\n{stored:?}",
        rt.type_name()
    );
    assert_no_op(rt, &stored, cfg);
}

/// Plans from `prior` and applies the change in place.
pub async fn update(rt: &dyn ResourceType, prior: &Value, cfg: &Value) -> Value {
    let plan = rt.plan(Some(prior), cfg).expect("plan for update");
    assert!(
        plan.requires_replace.is_empty(),
        "{}: update should be in place: {:?}",
        rt.type_name(),
        plan.requires_replace
    );
    rt.update(prior, &plan.planned).await.expect("update")
}

/// Setting `attribute` to `value` in the configuration cannot be done in place: the plan
/// asks to replace the object, for that attribute alone (as Terraform's ForceNew).
pub fn assert_replaced_when(
    rt: &dyn ResourceType,
    live: &Value,
    cfg: &Value,
    attribute: &str,
    value: Value,
) {
    let mut changed = cfg.clone();
    if let Value::Object(m) = &mut changed {
        m.insert(attribute.to_string(), value);
    }
    let plan = rt
        .plan(Some(live), &changed)
        .expect("plan with a changed force-new attribute");
    assert_eq!(
        plan.requires_replace,
        vec![attribute.to_string()],
        "{}: changing {attribute}",
        rt.type_name()
    );
}

/// Two values mean the same: equal, or both policy documents with the same meaning.
pub fn same_meaning(a: &Value, b: &Value) -> bool {
    a.same_as(b)
        || matches!((a.unmarked().as_str(), b.unmarked().as_str()),
            (Some(x), Some(y)) if forge_aws_common::policy::policies_equivalent(x, y))
}

/// The eight steps of issue 5 for one resource type. Each step is a method, so a test can
/// put its own checks between them; `import_ignores` names the attributes import cannot
/// know (as Terraform's `ImportStateVerifyIgnore`: `force_destroy`, a recovery window).
pub struct Lifecycle<'a> {
    pub rt: &'a dyn ResourceType,
    pub config: Value,
    pub import_ignores: &'a [&'a str],
}

impl<'a> Lifecycle<'a> {
    pub fn new(rt: &'a dyn ResourceType, config: Value) -> Self {
        Lifecycle {
            rt,
            config,
            import_ignores: &[],
        }
    }

    pub fn ignoring_on_import(mut self, attributes: &'a [&'a str]) -> Self {
        self.import_ignores = attributes;
        self
    }

    /// Steps 1-3: creates; reads back the state create returned, holding every configured
    /// value; a second plan is a no-op, also from the state as the engine stores it.
    pub async fn create(&self) -> Value {
        let state = create(self.rt, &self.config).await;
        assert_matches_config(&state, &self.config);
        let live = read(self.rt, &state).await;
        assert!(
            live.same_as(&state),
            "{}: read differs from create:\n{live:?}\n{state:?}",
            self.rt.type_name()
        );
        assert_matches_config(&live, &self.config);
        assert_no_op(self.rt, &live, &self.config);
        assert_stored_state_plans_no_op(self.rt, &live, &self.config).await;
        live
    }

    /// Steps 4-5: after `outside` changed the object, the next read differs from `live`
    /// (and `shows` checks how), the next plan changes it in place, the update brings it
    /// back to the configuration and a plan after that is a no-op. Returns the repaired state.
    pub async fn drift_and_repair(
        &self,
        live: &Value,
        outside: impl Future<Output = ()>,
        shows: impl FnOnce(&Value),
    ) -> Value {
        outside.await;
        let drifted = read(self.rt, live).await;
        assert!(
            !drifted.same_as(live),
            "{}: the change made outside forge does not show",
            self.rt.type_name()
        );
        shows(&drifted);
        assert_plan_changes(self.rt, &drifted, &self.config);
        let repaired = update(self.rt, &drifted, &self.config).await;
        let reread = read(self.rt, &repaired).await;
        assert_matches_config(&reread, &self.config);
        assert_no_op(self.rt, &reread, &self.config);
        assert_stored_state_plans_no_op(self.rt, &reread, &self.config).await;
        reread
    }

    /// Step 6: importing by `id` (the id Terraform uses) finds the object with the same
    /// attributes as `live`, policy documents compared by meaning.
    pub async fn import(&self, id: &str, live: &Value) -> Value {
        let imported = self
            .rt
            .import(id)
            .await
            .expect("import")
            .expect("import finds the object");
        for name in self
            .rt
            .schema()
            .attributes
            .keys()
            .chain(self.rt.schema().blocks.keys())
        {
            if self.import_ignores.contains(&name.as_str()) {
                continue;
            }
            let want = live.get(name).unwrap_or(&Value::Null);
            let got = imported.get(name).unwrap_or(&Value::Null);
            assert!(
                same_meaning(got, want),
                "{}: import differs on {name}:\n{got:?}\n{want:?}",
                self.rt.type_name()
            );
        }
        imported
    }

    /// Steps 7-8: deletes; a read says the object is gone and deleting again succeeds.
    pub async fn delete(&self, live: &Value) {
        self.rt.delete(live).await.expect("delete");
        assert_eq!(
            self.rt.read(live).await.expect("read after delete"),
            None,
            "{} still there",
            self.rt.type_name()
        );
        self.rt
            .delete(live)
            .await
            .expect("deleting what is gone succeeds");
    }
}
