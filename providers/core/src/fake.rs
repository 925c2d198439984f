//! An in-memory provider for engine tests: objects live in a [`FakeCloud`] the test can
//! inspect and change (to simulate drift), every call is logged, and failures and delays
//! can be injected. Not for production use: it exists so the engine's ordering, failure
//! and recovery rules can be tested without a network.
//!
//! Resource types `fake_thing` and `fake_bucket` share one schema (see [`thing_schema`]);
//! the data source `fake_lookup` echoes its `name` with a computed `result`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use crate::provider::{
    DataSourceType, Provider, ProviderError, ProviderFactory, ProviderResult, ProviderSchemas,
    ResourceType,
};
use crate::schema::{AttrType, Attribute, BlockType, Schema};
use crate::value::Value;

/// The operations the fake records and can be told to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeOp {
    Create,
    Read,
    Update,
    Delete,
    Import,
    DataRead,
    Configure,
}

/// One logged call: the operation, the type and the object's `name` attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeCall {
    pub op: FakeOp,
    pub type_name: String,
    pub name: String,
}

#[derive(Clone, Debug)]
struct FailRule {
    op: FakeOp,
    /// Fail the nth call (1-based) of `op`; `None` means every call matching `name`.
    nth: Option<usize>,
    name: Option<String>,
}

#[derive(Default)]
struct CloudInner {
    /// id -> state
    objects: BTreeMap<String, Value>,
    next_id: u64,
    calls: Vec<FakeCall>,
    rules: Vec<FailRule>,
    delay: Duration,
    /// Delays of the calls on one object, by its name, instead of `delay`.
    delays_by_name: BTreeMap<String, Duration>,
    provider_configs: Vec<Value>,
}

/// The fake's world, shared between the test and every configured fake provider.
#[derive(Default)]
pub struct FakeCloud {
    inner: Mutex<CloudInner>,
    active: AtomicUsize,
    max_active: AtomicUsize,
}

impl FakeCloud {
    pub fn new() -> Arc<FakeCloud> {
        Arc::new(FakeCloud::default())
    }

    fn lock(&self) -> MutexGuard<'_, CloudInner> {
        // A test that panicked while holding the lock already failed; keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the `nth` call (1-based, counted from now on) of `op` fail.
    pub fn fail_nth(&self, op: FakeOp, nth: usize) {
        let already = self.count(op);
        self.lock().rules.push(FailRule {
            op,
            nth: Some(already + nth),
            name: None,
        });
    }

    /// Makes every `op` on the object named `name` fail.
    pub fn fail_name(&self, op: FakeOp, name: &str) {
        self.lock().rules.push(FailRule {
            op,
            nth: None,
            name: Some(name.to_string()),
        });
    }

    pub fn clear_failures(&self) {
        self.lock().rules.clear();
    }

    /// Every provider call sleeps this long (to observe concurrency).
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// Every provider call on the object named `name` sleeps this long (a slow resource
    /// among fast ones).
    pub fn set_delay_for(&self, name: &str, delay: Duration) {
        self.lock().delays_by_name.insert(name.to_string(), delay);
    }

    /// The objects that exist, by id.
    pub fn objects(&self) -> BTreeMap<String, Value> {
        self.lock().objects.clone()
    }

    /// Objects whose `name` attribute is `name` (more than one means a duplicate).
    pub fn objects_named(&self, name: &str) -> Vec<Value> {
        self.lock()
            .objects
            .values()
            .filter(|v| v.str_attr("name") == Some(name))
            .cloned()
            .collect()
    }

    /// Changes an attribute of a live object behind the engine's back (drift).
    pub fn set_attr(&self, name: &str, attr: &str, value: Value) -> bool {
        let mut inner = self.lock();
        let found = inner
            .objects
            .values_mut()
            .find(|v| v.str_attr("name") == Some(name));
        match found {
            Some(Value::Object(m)) => {
                m.insert(attr.to_string(), value);
                true
            }
            _ => false,
        }
    }

    /// Deletes a live object behind the engine's back.
    pub fn remove_named(&self, name: &str) -> bool {
        let mut inner = self.lock();
        let id = inner
            .objects
            .iter()
            .find(|(_, v)| v.str_attr("name") == Some(name))
            .map(|(k, _)| k.clone());
        id.map(|id| inner.objects.remove(&id).is_some())
            .unwrap_or(false)
    }

    pub fn calls(&self) -> Vec<FakeCall> {
        self.lock().calls.clone()
    }

    pub fn count(&self, op: FakeOp) -> usize {
        self.lock().calls.iter().filter(|c| c.op == op).count()
    }

    /// The most calls that were in flight at once.
    pub fn max_concurrency(&self) -> usize {
        self.max_active.load(Ordering::SeqCst)
    }

    /// The provider configurations seen, in order.
    pub fn provider_configs(&self) -> Vec<Value> {
        self.lock().provider_configs.clone()
    }

    /// Loads the objects saved by [`FakeCloud::save`] (a missing file is an empty cloud), so
    /// that separate runs of the `forge` binary in CLI tests share one fake world.
    pub fn load(path: &std::path::Path) -> Result<Arc<FakeCloud>, String> {
        let cloud = FakeCloud::new();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(cloud),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        {
            let mut inner = cloud.lock();
            inner.next_id = json.get("next_id").and_then(|n| n.as_u64()).unwrap_or(0);
            if let Some(objects) = json.get("objects").and_then(|o| o.as_object()) {
                for (id, v) in objects {
                    inner.objects.insert(id.clone(), Value::from_json(v));
                }
            }
        }
        Ok(cloud)
    }

    pub fn save(&self, path: &std::path::Path) -> Result<(), String> {
        let inner = self.lock();
        let objects: serde_json::Map<String, serde_json::Value> = inner
            .objects
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        let json = serde_json::json!({"next_id": inner.next_id, "objects": objects});
        std::fs::write(path, json.to_string())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Records the call and decides whether it fails.
    fn record(&self, op: FakeOp, type_name: &str, name: &str) -> ProviderResult<Duration> {
        let mut inner = self.lock();
        inner.calls.push(FakeCall {
            op,
            type_name: type_name.to_string(),
            name: name.to_string(),
        });
        let nth = inner.calls.iter().filter(|c| c.op == op).count();
        let fails = inner.rules.iter().any(|r| {
            r.op == op
                && r.nth.is_none_or(|n| n == nth)
                && r.name.as_deref().is_none_or(|want| want == name)
        });
        if fails {
            return Err(ProviderError::with_code(
                "FakeFailure",
                format!("injected failure of {op:?} on {type_name} {name:?}"),
            ));
        }
        Ok(inner
            .delays_by_name
            .get(name)
            .copied()
            .unwrap_or(inner.delay))
    }

    /// Runs one call: counts concurrency, sleeps the configured delay.
    async fn call<T>(
        &self,
        op: FakeOp,
        type_name: &str,
        name: &str,
        body: impl FnOnce(&mut CloudInner) -> ProviderResult<T>,
    ) -> ProviderResult<T> {
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_active.fetch_max(now, Ordering::SeqCst);
        let result = async {
            let delay = self.record(op, type_name, name)?;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            body(&mut self.lock())
        }
        .await;
        self.active.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

/// The schema of every fake resource type.
pub fn thing_schema() -> Schema {
    Schema::new()
        .attr("name", Attribute::required(AttrType::String).force_new())
        .attr("value", Attribute::optional(AttrType::String))
        .attr("size", Attribute::optional_computed(AttrType::Number))
        .attr(
            "tags",
            Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
        )
        .attr("secret", Attribute::optional(AttrType::String).sensitive())
        .attr("id", Attribute::computed(AttrType::String))
        .attr("arn", Attribute::computed(AttrType::String))
        .block(
            "rule",
            BlockType {
                schema: Schema::new().attr("port", Attribute::required(AttrType::Number)),
                ..BlockType::default()
            },
        )
}

pub const RESOURCE_TYPES: [&str; 2] = ["fake_thing", "fake_bucket"];

struct FakeResource {
    type_name: &'static str,
    schema: Schema,
    cloud: Arc<FakeCloud>,
}

fn name_of(v: &Value) -> String {
    v.str_attr("name").unwrap_or("").to_string()
}

#[async_trait]
impl ResourceType for FakeResource {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let name = name_of(planned);
        let type_name = self.type_name;
        self.cloud
            .call(FakeOp::Create, type_name, &name, |inner| {
                inner.next_id += 1;
                let id = format!("{type_name}-{}", inner.next_id);
                let mut obj = planned
                    .deep_unmarked()
                    .as_map()
                    .cloned()
                    .unwrap_or_default();
                obj.insert("id".into(), Value::string(id.clone()));
                obj.insert(
                    "arn".into(),
                    Value::string(format!("arn:fake:{type_name}:{name}")),
                );
                if obj
                    .get("size")
                    .is_none_or(|v| v.is_null() || v.is_unknown())
                {
                    obj.insert("size".into(), Value::Number(1.0));
                }
                let state = Value::Object(obj);
                if !state.is_wholly_known() {
                    return Err(ProviderError::new(format!(
                        "fake create of {name:?} got unknown values"
                    )));
                }
                inner.objects.insert(id, state.clone());
                Ok(state)
            })
            .await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let id = state.str_attr("id").unwrap_or("").to_string();
        self.cloud
            .call(FakeOp::Read, self.type_name, &name_of(state), |inner| {
                Ok(inner.objects.get(&id).cloned())
            })
            .await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let id = prior.str_attr("id").unwrap_or("").to_string();
        self.cloud
            .call(FakeOp::Update, self.type_name, &name_of(planned), |inner| {
                let Some(Value::Object(existing)) = inner.objects.get(&id).cloned() else {
                    return Err(ProviderError::with_code(
                        "NotFound",
                        format!("no fake object {id}"),
                    ));
                };
                let mut obj = existing;
                if let Some(m) = planned.deep_unmarked().as_map() {
                    for (k, v) in m {
                        if !v.is_unknown() {
                            obj.insert(k.clone(), v.clone());
                        }
                    }
                }
                let state = Value::Object(obj);
                inner.objects.insert(id.clone(), state.clone());
                Ok(state)
            })
            .await
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let id = state.str_attr("id").unwrap_or("").to_string();
        self.cloud
            .call(FakeOp::Delete, self.type_name, &name_of(state), |inner| {
                inner.objects.remove(&id);
                Ok(())
            })
            .await
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.cloud
            .call(FakeOp::Import, self.type_name, id, |inner| {
                Ok(inner.objects.get(id).cloned())
            })
            .await
    }

    /// By name among this type's objects (the fake keeps no creation times).
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &crate::intent::CreateIntent,
    ) -> ProviderResult<crate::intent::Finding> {
        use crate::intent::{Finding, Found, FoundBy};
        let name = name_of(planned);
        let prefix = format!("{}-", self.type_name);
        self.cloud
            .call(FakeOp::Read, self.type_name, &name, |inner| {
                let hit = inner.objects.iter().find(|(id, v)| {
                    id.starts_with(&prefix) && v.str_attr("name") == Some(name.as_str())
                });
                Ok(match hit {
                    None => Finding::Absent,
                    Some((id, v)) => Finding::Found(Found {
                        object: v.clone(),
                        created: None,
                        by: FoundBy::Name,
                        id: id.clone(),
                    }),
                })
            })
            .await
    }
}

struct FakeLookup {
    schema: Schema,
    cloud: Arc<FakeCloud>,
}

#[async_trait]
impl DataSourceType for FakeLookup {
    fn type_name(&self) -> &'static str {
        "fake_lookup"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let name = name_of(config);
        self.cloud
            .call(FakeOp::DataRead, "fake_lookup", &name, |_| {
                Ok(Value::object([
                    ("name", Value::string(name.clone())),
                    ("id", Value::string(format!("lookup-{name}"))),
                    ("result", Value::string(format!("result-of-{name}"))),
                ]))
            })
            .await
    }
}

pub struct FakeProvider {
    resources: BTreeMap<&'static str, Arc<dyn ResourceType>>,
    lookup: Arc<dyn DataSourceType>,
}

impl Provider for FakeProvider {
    fn resource_type(&self, type_name: &str) -> Option<Arc<dyn ResourceType>> {
        self.resources.get(type_name).cloned()
    }
    fn data_source(&self, type_name: &str) -> Option<Arc<dyn DataSourceType>> {
        (type_name == "fake_lookup").then(|| self.lookup.clone())
    }
    fn resource_type_names(&self) -> Vec<&'static str> {
        self.resources.keys().copied().collect()
    }
}

/// The factory for provider blocks named `fake`.
pub struct FakeProviderFactory {
    pub cloud: Arc<FakeCloud>,
}

impl FakeProviderFactory {
    pub fn new(cloud: Arc<FakeCloud>) -> Arc<FakeProviderFactory> {
        Arc::new(FakeProviderFactory { cloud })
    }

    /// A provider without configuration (for schema checks).
    pub fn provider(&self) -> FakeProvider {
        let resources = RESOURCE_TYPES
            .iter()
            .map(|t| {
                let r: Arc<dyn ResourceType> = Arc::new(FakeResource {
                    type_name: t,
                    schema: thing_schema(),
                    cloud: self.cloud.clone(),
                });
                (*t, r)
            })
            .collect();
        let lookup_schema = Schema::new()
            .attr("name", Attribute::required(AttrType::String))
            .attr("id", Attribute::computed(AttrType::String))
            .attr("result", Attribute::computed(AttrType::String));
        FakeProvider {
            resources,
            lookup: Arc::new(FakeLookup {
                schema: lookup_schema,
                cloud: self.cloud.clone(),
            }),
        }
    }
}

#[async_trait]
impl ProviderFactory for FakeProviderFactory {
    fn name(&self) -> &'static str {
        "fake"
    }
    async fn configure(&self, config: &Value) -> ProviderResult<Arc<dyn Provider>> {
        self.cloud.lock().provider_configs.push(config.clone());
        self.cloud.record(FakeOp::Configure, "provider", "fake")?;
        Ok(Arc::new(self.provider()))
    }
    fn schemas(&self) -> ProviderSchemas {
        let provider = self.provider();
        ProviderSchemas {
            resources: provider
                .resources
                .iter()
                .map(|(name, r)| (name.to_string(), r.schema().clone()))
                .collect(),
            data_sources: BTreeMap::from([(
                "fake_lookup".to_string(),
                provider.lookup.schema().clone(),
            )]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_read_delete_and_injected_failure() {
        let cloud = FakeCloud::new();
        let factory = FakeProviderFactory::new(cloud.clone());
        let p = factory
            .configure(&Value::object::<&str>([]))
            .await
            .expect("configure");
        let rt = p.resource_type("fake_thing").expect("type");
        let planned = Value::object([("name", Value::string("a")), ("id", Value::Unknown)]);
        let made = rt.create(&planned).await.expect("create");
        assert_eq!(made.str_attr("arn"), Some("arn:fake:fake_thing:a"));
        assert!(rt.read(&made).await.expect("read").is_some());
        cloud.fail_nth(FakeOp::Create, 1);
        assert!(
            rt.create(&Value::object([("name", Value::string("b"))]))
                .await
                .is_err()
        );
        rt.delete(&made).await.expect("delete");
        assert!(rt.read(&made).await.expect("read").is_none());
    }
}
