//! Terraform's built-in provider `terraform` (source `terraform.io/builtin/terraform`):
//! the `terraform_data` resource and the `terraform_remote_state` data source
//! (`remote_state.rs`, the local backend). It manages nothing outside state: `input` is copied to
//! `output` on apply, a change of `triggers_replace` replaces the instance (a new `id`).
//! The planning rules follow Terraform's own implementation, so that a state Terraform
//! wrote plans as no change in forge and plan JSON has the same unknowns.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

mod remote_state;
pub use remote_state::{RemoteState, remote_state_schema};

use async_trait::async_trait;
use forge_provider::{
    AttrType, Attribute, DataSourceType, PlannedState, Provider, ProviderFactory, ProviderResult,
    ProviderSchemas, ResourceType, Schema, Value,
};

/// The provider's local name, as in `terraform_data` (no `provider` block is needed).
pub const NAME: &str = "terraform";

/// `terraform_data`'s schema. `input`, `output` and `triggers_replace` take any type
/// (Terraform's dynamic type, written to state as `{"value": ..., "type": ...}`).
pub fn data_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::new()
            .attr("id", Attribute::computed(AttrType::String))
            .attr("input", Attribute::optional(AttrType::Any))
            .attr("output", Attribute::computed(AttrType::Any))
            // Replacement is decided in `plan`, not by the schema's force_new rule: the
            // comparison is of the configured value only (computed attributes play no part).
            .attr("triggers_replace", Attribute::optional(AttrType::Any))
    })
}

/// `terraform_data`.
pub struct TerraformData;

fn attr(v: &Value, name: &str) -> Value {
    v.get(name).cloned().unwrap_or(Value::Null)
}

/// Equal in value and in kind. Terraform compares `input` and `triggers_replace` with
/// cty's RawEquals: a string "1" is not the number 1. `same_as` already tells kinds apart
/// for scalars; tuples and lists (same elements) count as equal, as configuration and a
/// state written by Terraform spell the same list differently.
fn unchanged(prior: &Value, now: &Value) -> bool {
    prior.same_as(now)
}

impl TerraformData {
    /// The `output` a new or re-computed instance will have: null stays null (known),
    /// anything else is only known after apply, as in Terraform.
    fn pending_output(input: &Value) -> Value {
        if input.is_null() {
            Value::Null
        } else {
            Value::Unknown
        }
    }

    fn object(id: Value, input: Value, output: Value, triggers: Value) -> Value {
        Value::object([
            ("id", id),
            ("input", input),
            ("output", output),
            ("triggers_replace", triggers),
        ])
    }

    /// Fills what only apply knows: a fresh id, and `output` as the input.
    fn applied(planned: &Value) -> Value {
        let id = match attr(planned, "id") {
            Value::Unknown | Value::Null => Value::string(uuid::Uuid::new_v4().to_string()),
            known => known,
        };
        let input = attr(planned, "input");
        let output = match attr(planned, "output") {
            Value::Unknown => input.clone(),
            known => known,
        };
        Self::object(id, input, output, attr(planned, "triggers_replace"))
    }
}

#[async_trait]
impl ResourceType for TerraformData {
    fn type_name(&self) -> &'static str {
        "terraform_data"
    }

    fn schema(&self) -> &Schema {
        data_schema()
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        let input = attr(config, "input");
        let triggers = attr(config, "triggers_replace");
        let Some(prior) = prior else {
            let output = Self::pending_output(&input);
            return Ok(PlannedState {
                planned: Self::object(Value::Unknown, input, output, triggers),
                requires_replace: Vec::new(),
            });
        };
        if !triggers.is_wholly_known() || !unchanged(&attr(prior, "triggers_replace"), &triggers) {
            let output = Self::pending_output(&input);
            return Ok(PlannedState {
                planned: Self::object(Value::Unknown, input, output, triggers),
                requires_replace: vec!["triggers_replace".to_string()],
            });
        }
        let output = if input.is_wholly_known() && unchanged(&attr(prior, "input"), &input) {
            attr(prior, "output")
        } else {
            // Terraform re-computes output whenever input changes, even to null.
            Value::Unknown
        };
        Ok(PlannedState {
            planned: Self::object(attr(prior, "id"), input, output, triggers),
            requires_replace: Vec::new(),
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        Ok(Self::applied(planned))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        // Nothing exists outside state: what state says is the truth. Except that `output`
        // is a copy of `input`, so it is as sensitive as `input` is: Terraform records it
        // unmarked (and then shows it in plans); forge hides it.
        let output = attr(state, "output");
        if attr(state, "input").contains_sensitive() && !output.is_null() && !output.is_sensitive()
        {
            let mut v = state.clone();
            if let Value::Object(m) = &mut v {
                m.insert("output".to_string(), output.sensitive());
            }
            return Ok(Some(v));
        }
        Ok(Some(state.clone()))
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        Ok(Self::applied(planned))
    }

    async fn delete(&self, _state: &Value) -> ProviderResult<()> {
        Ok(())
    }

    async fn find_created(
        &self,
        _planned: &Value,
        _intent: &forge_provider::CreateIntent,
    ) -> ProviderResult<forge_provider::Finding> {
        // It lives in state alone: a create that was never recorded made nothing.
        Ok(forge_provider::Finding::Absent)
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        // As Terraform: the imported instance has the id and nothing else.
        Ok(Some(Self::object(
            Value::string(id),
            Value::Null,
            Value::Null,
            Value::Null,
        )))
    }
}

/// The `terraform` provider; it takes no configuration.
pub struct TerraformProvider {
    data: Arc<TerraformData>,
}

impl Provider for TerraformProvider {
    fn resource_type(&self, type_name: &str) -> Option<Arc<dyn ResourceType>> {
        (type_name == "terraform_data").then(|| self.data.clone() as Arc<dyn ResourceType>)
    }

    fn data_source(&self, type_name: &str) -> Option<Arc<dyn DataSourceType>> {
        (type_name == "terraform_remote_state")
            .then(|| Arc::new(RemoteState) as Arc<dyn DataSourceType>)
    }

    fn resource_type_names(&self) -> Vec<&'static str> {
        vec!["terraform_data"]
    }
}

#[derive(Default)]
pub struct TerraformProviderFactory;

#[async_trait]
impl ProviderFactory for TerraformProviderFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Nothing to configure. Whatever is passed is ignored rather than refused: some
    /// callers still configure every provider with a placeholder `region` to load schemas.
    async fn configure(&self, _config: &Value) -> ProviderResult<Arc<dyn Provider>> {
        Ok(Arc::new(TerraformProvider {
            data: Arc::new(TerraformData),
        }))
    }

    fn schemas(&self) -> ProviderSchemas {
        ProviderSchemas {
            resources: BTreeMap::from([(
                "terraform_data".to_string(),
                TerraformData.schema().clone(),
            )]),
            data_sources: BTreeMap::from([(
                "terraform_remote_state".to_string(),
                RemoteState.schema().clone(),
            )]),
        }
    }
}

/// A value in a message: strings quoted, anything else as JSON.
fn render_string(v: &Value) -> String {
    v.to_json().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(input: Value, triggers: Value) -> Value {
        Value::object([
            ("id", Value::Null),
            ("input", input),
            ("output", Value::Null),
            ("triggers_replace", triggers),
        ])
    }

    fn applied(input: Value, triggers: Value) -> Value {
        let planned = TerraformData
            .plan(None, &config(input, triggers))
            .expect("plan")
            .planned;
        TerraformData::applied(&planned)
    }

    #[test]
    fn create_plans_unknown_id_and_output_unless_input_is_null() {
        let p = TerraformData
            .plan(None, &config(Value::string("a"), Value::Null))
            .expect("plan");
        assert_eq!(p.planned.get("id"), Some(&Value::Unknown));
        assert_eq!(p.planned.get("output"), Some(&Value::Unknown));
        let empty = TerraformData
            .plan(None, &config(Value::Null, Value::Null))
            .expect("plan");
        assert_eq!(empty.planned.get("output"), Some(&Value::Null));
    }

    #[test]
    fn same_config_is_no_change_and_input_change_recomputes_output() {
        let prior = applied(Value::string("a"), Value::Tuple(vec![Value::Number(1.0)]));
        assert_eq!(prior.get("output"), Some(&Value::string("a")));
        let same = TerraformData
            .plan(
                Some(&prior),
                &config(Value::string("a"), Value::List(vec![Value::Number(1.0)])),
            )
            .expect("plan");
        assert!(same.planned.same_as(&prior), "{:?}", same.planned);
        assert!(same.requires_replace.is_empty());
        let changed = TerraformData
            .plan(
                Some(&prior),
                &config(Value::string("b"), Value::Tuple(vec![Value::Number(1.0)])),
            )
            .expect("plan");
        assert_eq!(changed.planned.get("output"), Some(&Value::Unknown));
        assert_eq!(changed.planned.get("id"), prior.get("id"));
        assert!(changed.requires_replace.is_empty());
        let to_null = TerraformData
            .plan(
                Some(&prior),
                &config(Value::Null, Value::Tuple(vec![Value::Number(1.0)])),
            )
            .expect("plan");
        assert_eq!(to_null.planned.get("output"), Some(&Value::Unknown));
    }

    #[test]
    fn trigger_change_replaces_and_a_string_is_not_a_number() {
        let prior = applied(Value::string("a"), Value::Number(1.0));
        let p = TerraformData
            .plan(
                Some(&prior),
                &config(Value::string("a"), Value::string("1")),
            )
            .expect("plan");
        assert_eq!(p.requires_replace, vec!["triggers_replace".to_string()]);
        assert_eq!(p.planned.get("id"), Some(&Value::Unknown));
    }

    #[tokio::test]
    async fn ids_are_uuids_and_read_returns_state() {
        let p = TerraformProviderFactory
            .configure(&Value::object::<&str>([]))
            .await
            .expect("empty config");
        assert!(p.resource_type("terraform_remote_state").is_none());
        let rt = p.resource_type("terraform_data").expect("terraform_data");
        let made = rt
            .create(
                &TerraformData
                    .plan(None, &config(Value::string("x"), Value::Null))
                    .expect("plan")
                    .planned,
            )
            .await
            .expect("create");
        let id = made.str_attr("id").expect("id");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        assert_eq!(rt.read(&made).await.expect("read"), Some(made.clone()));
    }

    #[tokio::test]
    async fn output_of_a_sensitive_input_reads_as_sensitive() {
        let recorded = TerraformData::object(
            Value::string("id-1"),
            Value::string("pw").sensitive(),
            Value::string("pw"),
            Value::Null,
        );
        let live = TerraformData
            .read(&recorded)
            .await
            .expect("read")
            .expect("exists");
        assert!(
            live.get("output").is_some_and(Value::is_sensitive),
            "{live:?}"
        );
        assert!(live.same_as(&recorded));
    }
}

#[cfg(test)]
mod remote_state_tests {
    use super::*;

    fn config(path: &std::path::Path) -> Value {
        Value::object([
            ("backend", Value::string("local")),
            (
                "config",
                Value::object([("path", Value::string(path.display().to_string()))]),
            ),
            (
                "defaults",
                Value::object([
                    ("fallback", Value::string("d")),
                    ("name", Value::string("unused")),
                ]),
            ),
            ("outputs", Value::Null),
            ("workspace", Value::Null),
        ])
    }

    #[tokio::test]
    async fn reads_outputs_marks_sensitive_ones_and_fills_defaults() {
        let dir = std::env::temp_dir().join(format!("forge-remote-state-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("terraform.tfstate");
        std::fs::write(&path, r#"{"version":4,"outputs":{"name":{"value":"alpha","type":"string"},"pw":{"value":"s3cr3t","type":"string","sensitive":true},"ports":{"value":[80],"type":["list","number"]}},"resources":[]}"#).expect("write");
        let p = TerraformProviderFactory
            .configure(&Value::object::<&str>([]))
            .await
            .expect("configure");
        let ds = p
            .data_source("terraform_remote_state")
            .expect("terraform_remote_state");
        let read = ds.read(&config(&path)).await.expect("read");
        let outputs = read.get("outputs").expect("outputs");
        assert_eq!(outputs.get("name"), Some(&Value::string("alpha")));
        assert!(
            outputs.get("pw").is_some_and(Value::is_sensitive),
            "{outputs:?}"
        );
        assert_eq!(outputs.get("fallback"), Some(&Value::string("d")));
        assert_eq!(
            outputs.get("ports"),
            Some(&Value::List(vec![Value::Number(80.0)]))
        );
        let missing = ds
            .read(&config(&dir.join("nope.tfstate")))
            .await
            .expect_err("no state");
        assert_eq!(
            missing.message,
            "Unable to find remote state: No stored state was found for the given workspace in the given backend."
        );
        let s3 = Value::object([("backend", Value::string("s3")), ("config", Value::Null)]);
        assert!(
            ds.read(&s3)
                .await
                .expect_err("s3")
                .message
                .contains("\"local\" backend only")
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
