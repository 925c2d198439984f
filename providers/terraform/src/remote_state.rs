//! `terraform_remote_state`: the root outputs of another configuration's state, read
//! from the `local` backend (a state file). Other backends are refused with a message;
//! forge's own units read each other's outputs through Terragrunt `dependency` blocks.

use std::path::PathBuf;
use std::sync::OnceLock;

use async_trait::async_trait;
use forge_provider::{
    AttrType, Attribute, DataSourceType, ProviderError, ProviderResult, Schema, Value,
};

/// Terraform's schema: `config`, `defaults` and `outputs` are of dynamic type.
pub fn remote_state_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::new()
            .attr("backend", Attribute::required(AttrType::String))
            .attr("config", Attribute::optional(AttrType::Any))
            .attr("defaults", Attribute::optional(AttrType::Any))
            .attr("outputs", Attribute::computed(AttrType::Any))
            .attr("workspace", Attribute::optional(AttrType::String))
    })
}

pub struct RemoteState;

fn attr(v: &Value, name: &str) -> Value {
    v.get(name).cloned().unwrap_or(Value::Null)
}

impl RemoteState {
    /// The state file the configuration names: `config.path`, by default
    /// `terraform.tfstate`; a workspace other than `default` lives under
    /// `terraform.tfstate.d/<workspace>/` as Terraform keeps it. A relative path is read
    /// from the folder forge runs in (Terraform: its working folder, the root module).
    fn path(config: &Value) -> ProviderResult<PathBuf> {
        let settings = attr(config, "config");
        let workspace = attr(config, "workspace");
        let workspace = workspace.as_str().unwrap_or("default");
        if let Some(path) = settings.get("path").filter(|p| !p.is_null()) {
            let path = path.as_str().ok_or_else(|| {
                ProviderError::new("Invalid backend configuration: config.path must be a string")
            })?;
            if workspace != "default" {
                return Err(ProviderError::new(format!("Invalid backend configuration: the workspace {workspace:?} cannot be read from an explicit path"))
                    .hint("remove `workspace`, or `config.path` to read terraform.tfstate.d/<workspace>/terraform.tfstate"));
            }
            return Ok(PathBuf::from(path));
        }
        let dir = settings
            .get("workspace_dir")
            .and_then(Value::as_str)
            .unwrap_or("terraform.tfstate.d");
        Ok(if workspace == "default" {
            PathBuf::from("terraform.tfstate")
        } else {
            PathBuf::from(dir).join(workspace).join("terraform.tfstate")
        })
    }

    /// The root outputs of a state file, a sensitive one marked (Terraform hands it over
    /// unmarked; forge keeps every sensitive value hidden).
    fn outputs(text: &str, path: &std::path::Path) -> ProviderResult<Value> {
        let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            ProviderError::new(format!(
                "Error loading state: {} is not a state file ({e})",
                path.display()
            ))
        })?;
        let mut out = std::collections::BTreeMap::new();
        for (name, o) in doc
            .get("outputs")
            .and_then(|o| o.as_object())
            .into_iter()
            .flatten()
        {
            let value = typed(
                o.get("value").unwrap_or(&serde_json::Value::Null),
                o.get("type"),
            );
            let sensitive = o
                .get("sensitive")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            out.insert(
                name.clone(),
                if sensitive { value.sensitive() } else { value },
            );
        }
        Ok(Value::Object(out))
    }
}

/// A state's output value with the type state records (`["list", "number"]`), so a list
/// stays a list and a map a map, as Terraform reads them.
fn typed(v: &serde_json::Value, ty: Option<&serde_json::Value>) -> Value {
    use serde_json::Value as J;
    let Some(J::Array(t)) = ty else {
        return Value::from_json(v);
    };
    let kind = t.first().and_then(J::as_str).unwrap_or("");
    let inner = t.get(1);
    match (kind, v) {
        ("list", J::Array(xs)) => Value::List(xs.iter().map(|x| typed(x, inner)).collect()),
        ("set", J::Array(xs)) => Value::Set(xs.iter().map(|x| typed(x, inner)).collect()),
        ("tuple", J::Array(xs)) => {
            let types = inner.and_then(J::as_array);
            Value::Tuple(
                xs.iter()
                    .enumerate()
                    .map(|(i, x)| typed(x, types.and_then(|ts| ts.get(i))))
                    .collect(),
            )
        }
        ("map", J::Object(m)) => Value::Map(
            m.iter()
                .map(|(k, x)| (k.clone(), typed(x, inner)))
                .collect(),
        ),
        ("object", J::Object(m)) => {
            let types = inner.and_then(J::as_object);
            Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), typed(x, types.and_then(|ts| ts.get(k)))))
                    .collect(),
            )
        }
        _ => Value::from_json(v),
    }
}

#[async_trait]
impl DataSourceType for RemoteState {
    fn type_name(&self) -> &'static str {
        "terraform_remote_state"
    }

    fn schema(&self) -> &Schema {
        remote_state_schema()
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let backend = attr(config, "backend");
        if backend.as_str() != Some("local") {
            return Err(ProviderError::new(format!(
                "Invalid backend configuration: forge's terraform_remote_state reads the \"local\" backend only, not {}",
                crate::render_string(&backend)
            ))
            .hint("read another forge unit's outputs with a Terragrunt dependency block"));
        }
        let path = Self::path(config)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            // Terraform's words, so a check block's warning reads the same.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ProviderError::new(
                    "Unable to find remote state: No stored state was found for the given workspace in the given backend.",
                ));
            }
            Err(e) => {
                return Err(ProviderError::new(format!(
                    "Error loading state: cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let mut outputs = Self::outputs(&text, &path)?;
        // `defaults` fills the outputs the state does not have.
        if let (Value::Object(out), Some(defaults)) =
            (&mut outputs, attr(config, "defaults").as_map())
        {
            for (k, v) in defaults {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Ok(Value::object([
            ("backend", backend),
            ("config", attr(config, "config")),
            ("defaults", attr(config, "defaults")),
            ("outputs", outputs),
            ("workspace", attr(config, "workspace")),
        ]))
    }
}
