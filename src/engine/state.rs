//! The state of one unit, and its wire format: Terraform's state version 4, so that
//! Terraform and forge can read each other's states. The wire types are separate from the
//! engine's model and converted explicitly.

use std::collections::BTreeMap;
use std::fmt;

use forge_config::Mode;
use forge_provider::{PathStep, Value};
use serde::{Deserialize, Serialize};

use crate::addr::{InstanceAddr, InstanceKey, parse_module_prefix};

/// The Terraform version written into state files: the format forge writes is 1.5's.
pub const TERRAFORM_VERSION: &str = "1.5.7";

#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub lineage: String,
    pub serial: u64,
    pub terraform_version: String,
    pub outputs: BTreeMap<String, OutputState>,
    pub instances: BTreeMap<InstanceAddr, InstanceState>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutputState {
    /// Marked sensitive when the output is.
    pub value: Value,
    pub sensitive: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InstanceState {
    /// `provider["registry.terraform.io/hashicorp/aws"]`, with `.alias` when aliased.
    pub provider: String,
    /// Every attribute, sensitive ones marked.
    pub attributes: Value,
    /// Addresses of the resources this one referenced when it was last applied.
    pub dependencies: Vec<String>,
    /// The version of the provider's state shape the attributes follow
    /// (`Schema::version` when forge wrote them; as read otherwise).
    pub schema_version: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StateError {
    /// A value known only after apply reached the state: a bug, refused before writing.
    Unknown { address: String },
    /// The bytes are not a state file forge understands.
    Malformed(String),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Unknown { address } => {
                write!(
                    f,
                    "refusing to write state: {address} holds a value known only after apply"
                )
            }
            StateError::Malformed(m) => write!(f, "the state file cannot be read: {m}"),
        }
    }
}

impl std::error::Error for StateError {}

/// The source address of a provider by its local name: `terraform` is Terraform's
/// built-in provider; every other one is taken to be HashiCorp's on the public registry.
pub fn provider_source(name: &str) -> String {
    match name {
        "terraform" => "terraform.io/builtin/terraform".to_string(),
        _ => format!("registry.terraform.io/hashicorp/{name}"),
    }
}

/// The provider address Terraform writes for a provider's local name.
pub(crate) fn provider_address(name: &str, alias: Option<&str>) -> String {
    let base = format!("provider[\"{}\"]", provider_source(name));
    match alias {
        Some(a) => format!("{base}.{a}"),
        None => base,
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    /// An empty state with a fresh lineage.
    pub fn new() -> State {
        State {
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            terraform_version: TERRAFORM_VERSION.to_string(),
            outputs: BTreeMap::new(),
            instances: BTreeMap::new(),
        }
    }

    /// Outputs as one object of name to value (for dependents' `dependency.x.outputs`).
    pub(crate) fn output_values(&self) -> BTreeMap<String, Value> {
        self.outputs
            .iter()
            .map(|(k, o)| (k.clone(), o.value.clone()))
            .collect()
    }

    /// Encodes to Terraform's JSON format. Refuses a state that holds an unknown.
    pub fn to_bytes(&self) -> Result<Vec<u8>, StateError> {
        let file = to_wire(self)?;
        let mut bytes =
            serde_json::to_vec_pretty(&file).map_err(|e| StateError::Malformed(e.to_string()))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<State, StateError> {
        let file: StateFile =
            serde_json::from_slice(bytes).map_err(|e| StateError::Malformed(e.to_string()))?;
        if file.version != 4 {
            return Err(StateError::Malformed(format!(
                "state format version {} (forge reads version 4)",
                file.version
            )));
        }
        from_wire(file)
    }
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    terraform_version: String,
    serial: u64,
    lineage: String,
    #[serde(default)]
    outputs: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    resources: Vec<ResourceWire>,
    #[serde(default)]
    check_results: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct OutputWire {
    value: serde_json::Value,
    #[serde(rename = "type")]
    ty: serde_json::Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    sensitive: bool,
}

#[derive(Serialize, Deserialize)]
struct ResourceWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    module: Option<String>,
    mode: String,
    #[serde(rename = "type")]
    type_name: String,
    name: String,
    provider: String,
    instances: Vec<InstanceWire>,
}

#[derive(Serialize, Deserialize)]
struct InstanceWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    index_key: Option<serde_json::Value>,
    #[serde(default)]
    schema_version: u64,
    attributes: serde_json::Value,
    #[serde(default)]
    sensitive_attributes: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    dependencies: Vec<String>,
}

fn to_wire(state: &State) -> Result<StateFile, StateError> {
    let mut outputs = serde_json::Map::new();
    for (name, o) in &state.outputs {
        if !o.value.is_wholly_known() {
            return Err(StateError::Unknown {
                address: format!("output.{name}"),
            });
        }
        let wire = OutputWire {
            value: o.value.to_json(),
            ty: cty_type(&o.value),
            sensitive: o.sensitive || o.value.contains_sensitive(),
        };
        outputs.insert(
            name.clone(),
            serde_json::to_value(wire).map_err(|e| StateError::Malformed(e.to_string()))?,
        );
    }
    let mut resources: Vec<ResourceWire> = Vec::new();
    for (addr, inst) in &state.instances {
        if !inst.attributes.is_wholly_known() {
            return Err(StateError::Unknown {
                address: addr.to_string(),
            });
        }
        let wire = InstanceWire {
            index_key: addr.key.as_ref().map(|k| match k {
                InstanceKey::Int(i) => serde_json::Value::from(*i),
                InstanceKey::Str(s) => serde_json::Value::String(s.clone()),
            }),
            schema_version: inst.schema_version,
            attributes: inst.attributes.to_json(),
            sensitive_attributes: inst
                .attributes
                .sensitive_paths()
                .iter()
                .map(|p| path_to_json(&wire_path_out(&inst.attributes, p)))
                .collect(),
            dependencies: inst.dependencies.clone(),
        };
        let mode = match addr.mode {
            Mode::Managed => "managed",
            Mode::Data => "data",
        };
        let module = addr.module_address();
        // Instances are sorted by address, so one resource's instances are adjacent.
        match resources.last_mut() {
            Some(r)
                if r.module == module
                    && r.mode == mode
                    && r.type_name == addr.type_name
                    && r.name == addr.name =>
            {
                r.instances.push(wire)
            }
            _ => resources.push(ResourceWire {
                module,
                mode: mode.to_string(),
                type_name: addr.type_name.clone(),
                name: addr.name.clone(),
                provider: inst.provider.clone(),
                instances: vec![wire],
            }),
        }
    }
    Ok(StateFile {
        version: 4,
        terraform_version: state.terraform_version.clone(),
        serial: state.serial,
        lineage: state.lineage.clone(),
        outputs,
        resources,
        check_results: None,
    })
}

fn from_wire(file: StateFile) -> Result<State, StateError> {
    let mut outputs = BTreeMap::new();
    for (name, raw) in file.outputs {
        let o: OutputWire = serde_json::from_value(raw)
            .map_err(|e| StateError::Malformed(format!("output {name}: {e}")))?;
        let value = Value::from_json(&o.value);
        let value = if o.sensitive {
            value.sensitive()
        } else {
            value
        };
        outputs.insert(
            name,
            OutputState {
                value,
                sensitive: o.sensitive,
            },
        );
    }
    let mut instances = BTreeMap::new();
    for r in file.resources {
        let module = match &r.module {
            None => Vec::new(),
            Some(text) => match parse_module_prefix(text) {
                Some((steps, "")) if !steps.is_empty() => steps,
                _ => {
                    return Err(StateError::Malformed(format!(
                        "module address {text:?} of {}.{}",
                        r.type_name, r.name
                    )));
                }
            },
        };
        let mode = match r.mode.as_str() {
            "managed" => Mode::Managed,
            "data" => Mode::Data,
            other => {
                return Err(StateError::Malformed(format!(
                    "unknown resource mode {other:?}"
                )));
            }
        };
        for i in r.instances {
            let key = match &i.index_key {
                None => None,
                Some(serde_json::Value::Number(n)) => {
                    Some(InstanceKey::Int(n.as_i64().unwrap_or(0)))
                }
                Some(serde_json::Value::String(s)) => Some(InstanceKey::Str(s.clone())),
                Some(other) => {
                    return Err(StateError::Malformed(format!(
                        "index_key {other} of {}.{}",
                        r.type_name, r.name
                    )));
                }
            };
            let raw = Value::from_json(&i.attributes);
            let paths: Vec<Vec<PathStep>> = i
                .sensitive_attributes
                .iter()
                .filter_map(path_from_json)
                .map(|p| wire_path_in(&raw, p))
                .collect();
            let attributes = raw.mark_paths(&paths);
            let addr = InstanceAddr {
                module: module.clone(),
                mode,
                type_name: r.type_name.clone(),
                name: r.name.clone(),
                key,
            };
            instances.insert(
                addr,
                InstanceState {
                    provider: r.provider.clone(),
                    attributes,
                    dependencies: i.dependencies,
                    schema_version: i.schema_version,
                },
            );
        }
    }
    Ok(State {
        lineage: file.lineage,
        serial: file.serial,
        terraform_version: file.terraform_version,
        outputs,
        instances,
    })
}

/// A dynamically typed attribute as state stores it, `{"value": ..., "type": ...}`
/// (`schema_util::to_state`). Terraform's sensitive paths name the value's own members
/// (`input.x`), never the wrapper's `value` key, so paths are translated on the way in and
/// out; otherwise a secret inside such an attribute would lose its mark on reading.
fn wrapped_attribute<'a>(attributes: &'a Value, path: &[PathStep]) -> Option<&'a Value> {
    let Some(PathStep::Attr(name)) = path.first() else {
        return None;
    };
    let w = attributes.get(name)?.as_map()?;
    (w.len() == 2 && w.contains_key("value") && w.contains_key("type"))
        .then_some(attributes.get(name)?)
}

fn wire_path_in(attributes: &Value, mut path: Vec<PathStep>) -> Vec<PathStep> {
    if path.len() > 1 && wrapped_attribute(attributes, &path).is_some() {
        path.insert(1, PathStep::Attr("value".into()));
    }
    path
}

fn wire_path_out(attributes: &Value, path: &[PathStep]) -> Vec<PathStep> {
    let mut path = path.to_vec();
    if path.len() > 2
        && path[1] == PathStep::Attr("value".into())
        && wrapped_attribute(attributes, &path).is_some()
    {
        path.remove(1);
    }
    path
}

/// A path in Terraform's `sensitive_attributes` spelling.
fn path_to_json(path: &[PathStep]) -> serde_json::Value {
    serde_json::Value::Array(
        path.iter()
            .map(|s| match s {
                PathStep::Attr(a) => serde_json::json!({"type": "get_attr", "value": a}),
                PathStep::Index(i) => {
                    serde_json::json!({"type": "index", "value": {"value": i, "type": "number"}})
                }
            })
            .collect(),
    )
}

fn path_from_json(json: &serde_json::Value) -> Option<Vec<PathStep>> {
    json.as_array()?
        .iter()
        .map(|step| match step.get("type")?.as_str()? {
            "get_attr" => Some(PathStep::Attr(step.get("value")?.as_str()?.to_string())),
            "index" => {
                let v = step.get("value")?.get("value")?;
                match v {
                    serde_json::Value::Number(n) => Some(PathStep::Index(n.as_u64()? as usize)),
                    serde_json::Value::String(s) => Some(PathStep::Attr(s.clone())),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}

/// The cty type of a value in Terraform's JSON spelling (`"string"`, `["list","string"]`).
pub fn cty_type(v: &Value) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Null | Value::Unknown => json!("dynamic"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Sensitive(inner) => cty_type(inner),
        Value::Tuple(xs) => json!(["tuple", xs.iter().map(cty_type).collect::<Vec<_>>()]),
        Value::List(xs) => json!(["list", xs.first().map(cty_type).unwrap_or(json!("dynamic"))]),
        Value::Set(xs) => json!(["set", xs.first().map(cty_type).unwrap_or(json!("dynamic"))]),
        Value::Map(m) => json!([
            "map",
            m.values().next().map(cty_type).unwrap_or(json!("dynamic"))
        ]),
        Value::Object(m) => {
            let attrs: serde_json::Map<String, serde_json::Value> =
                m.iter().map(|(k, v)| (k.clone(), cty_type(v))).collect();
            json!(["object", attrs])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        let mut s = State::new();
        s.serial = 3;
        s.outputs.insert(
            "url".into(),
            OutputState {
                value: Value::string("u"),
                sensitive: false,
            },
        );
        s.outputs.insert(
            "pw".into(),
            OutputState {
                value: Value::string("p").sensitive(),
                sensitive: true,
            },
        );
        s.outputs.insert(
            "names".into(),
            OutputState {
                value: Value::List(vec![Value::string("a")]),
                sensitive: false,
            },
        );
        let attrs = Value::object([
            ("id", Value::string("i-1")),
            ("secret", Value::string("s").sensitive()),
        ]);
        s.instances.insert(
            InstanceAddr::managed("aws_instance", "app", Some(InstanceKey::Int(1))),
            InstanceState {
                provider: provider_address("aws", None),
                attributes: attrs,
                dependencies: vec!["aws_iam_role.r".into()],
                schema_version: 1,
            },
        );
        s
    }

    #[test]
    fn round_trips_with_sensitive_marks_and_terraform_shape() {
        let s = sample();
        let bytes = s.to_bytes().expect("encode");
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(json["version"], 4);
        assert_eq!(
            json["outputs"]["names"]["type"],
            serde_json::json!(["list", "string"])
        );
        assert_eq!(json["outputs"]["pw"]["sensitive"], true);
        let inst = &json["resources"][0]["instances"][0];
        assert_eq!(inst["index_key"], 1);
        assert_eq!(
            inst["schema_version"], 1,
            "the instance's schema version is kept"
        );
        assert_eq!(inst["sensitive_attributes"][0][0]["value"], "secret");
        assert_eq!(
            json["resources"][0]["provider"],
            "provider[\"registry.terraform.io/hashicorp/aws\"]"
        );
        let back = State::from_bytes(&bytes).expect("decode");
        let (_, i) = back.instances.iter().next().expect("instance");
        assert!(i.attributes.get("secret").is_some_and(Value::is_sensitive));
        assert_eq!(i.schema_version, 1);
        assert!(back.outputs["pw"].value.is_sensitive());
        assert_eq!(back.lineage, s.lineage);
    }

    #[test]
    fn child_module_resources_carry_terraform_module_field() {
        let mut s = sample();
        let path = vec![
            ("queue".to_string(), Some(InstanceKey::Str("a".into()))),
            ("inner".to_string(), None),
        ];
        let inst = InstanceState {
            provider: provider_address("aws", None),
            attributes: Value::object([("id", Value::string("q"))]),
            dependencies: vec![],
            schema_version: 0,
        };
        s.instances.insert(
            InstanceAddr::managed("aws_sqs_queue", "q", Some(InstanceKey::Int(0)))
                .in_module(path.clone()),
            inst.clone(),
        );
        s.instances.insert(
            InstanceAddr::managed("aws_sqs_queue", "q", Some(InstanceKey::Int(1)))
                .in_module(path.clone()),
            inst.clone(),
        );
        s.instances
            .insert(InstanceAddr::managed("aws_sqs_queue", "q", None), inst);
        let bytes = s.to_bytes().expect("encode");
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let resources = json["resources"].as_array().expect("resources");
        // Root resources first and without the field; one entry per module instance.
        assert_eq!(resources.len(), 3);
        assert!(resources[0].get("module").is_none());
        assert_eq!(resources[2]["module"], "module.queue[\"a\"].module.inner");
        assert_eq!(resources[2]["instances"].as_array().map(Vec::len), Some(2));
        let back = State::from_bytes(&bytes).expect("decode");
        assert_eq!(back.instances, s.instances);
        let bad = String::from_utf8(bytes)
            .expect("utf8")
            .replace("module.queue[\\\"a\\\"].module.inner", "module.queue[a]");
        assert!(
            matches!(
                State::from_bytes(bad.as_bytes()),
                Err(StateError::Malformed(_))
            ),
            "a malformed module address is refused"
        );
    }

    #[test]
    fn refuses_unknown_values() {
        let mut s = sample();
        s.instances.insert(
            InstanceAddr::managed("aws_s3_bucket", "b", None),
            InstanceState {
                provider: provider_address("aws", None),
                attributes: Value::object([("arn", Value::Unknown)]),
                dependencies: vec![],
                schema_version: 0,
            },
        );
        assert_eq!(
            s.to_bytes(),
            Err(StateError::Unknown {
                address: "aws_s3_bucket.b".into()
            })
        );
    }

    #[test]
    fn a_secret_inside_a_dynamic_attribute_keeps_its_mark_both_ways() {
        // As Terraform writes terraform_data with `input = { x = var.secret, y = "plain" }`:
        // the path names `input.x`, not the wrapper's `value` key.
        let mut s = sample();
        let wrapped = Value::object([
            (
                "value",
                Value::object([
                    ("x", Value::string("hush").sensitive()),
                    ("y", Value::string("plain")),
                ]),
            ),
            (
                "type",
                Value::from_json(&serde_json::json!(["object", {"x": "string", "y": "string"}])),
            ),
        ]);
        s.instances.insert(
            InstanceAddr::managed("terraform_data", "c", None),
            InstanceState {
                provider: provider_address("terraform", None),
                attributes: Value::object([("input", wrapped)]),
                dependencies: vec![],
                schema_version: 0,
            },
        );
        let bytes = s.to_bytes().expect("encode");
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let inst = json["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["type"] == "terraform_data")
            .expect("terraform_data");
        let paths = &inst["instances"][0]["sensitive_attributes"];
        assert_eq!(
            paths,
            &serde_json::json!([[{"type": "get_attr", "value": "input"}, {"type": "get_attr", "value": "x"}]])
        );
        let back = State::from_bytes(&bytes).expect("decode");
        let attrs = &back.instances[&InstanceAddr::managed("terraform_data", "c", None)].attributes;
        let x = attrs
            .get("input")
            .and_then(|w| w.get("value"))
            .and_then(|v| v.get("x"))
            .expect("input.value.x");
        assert!(x.is_sensitive(), "{attrs:?}");
        assert_eq!(back.instances, s.instances);
    }
}
