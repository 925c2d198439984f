//! A unit's state as `terraform show -json` prints it without a plan: `format_version`,
//! the state's `terraform_version`, and `values` with the outputs and the root module's
//! resources (child modules nested), each with its values and `sensitive_values` mask.
//! Unlike Terraform, sensitive values are written as null (forge never puts a secret in
//! JSON output; the mask says where they are), and a sensitive output has no `value`.

use serde_json::{Map, Value as J, json};

use forge_config::Mode;
use forge_engine::InstanceAddr;
use forge_engine::state::{InstanceState, State};
use forge_provider::Value;

use crate::plan_json::{known_json, output_value, provider_name, put_key, sensitive_mask, values};

/// `attributes` turns an instance's stored attributes into plain values (the CLI takes
/// dynamic attributes out of their `{"value", "type"}` wire form with the schema).
pub fn state_json(state: &State, attributes: &dyn Fn(&InstanceAddr, &InstanceState) -> Value) -> J {
    let mut doc = Map::new();
    doc.insert("format_version".into(), json!("1.0"));
    if state.instances.is_empty() && state.outputs.is_empty() {
        return J::Object(doc);
    }
    doc.insert("terraform_version".into(), json!(state.terraform_version));
    let resources = state
        .instances
        .iter()
        .map(|(addr, inst)| resource(addr, inst, &attributes(addr, inst)))
        .collect();
    let outputs: Map<String, J> = state
        .outputs
        .iter()
        .map(|(name, o)| (name.clone(), output_value(&o.value, o.sensitive)))
        .collect();
    doc.insert("values".into(), values(resources, outputs));
    J::Object(doc)
}

fn resource(addr: &InstanceAddr, inst: &InstanceState, attrs: &Value) -> J {
    let mut o = Map::new();
    o.insert("address".into(), json!(addr.to_string()));
    o.insert(
        "mode".into(),
        json!(if addr.mode == Mode::Data {
            "data"
        } else {
            "managed"
        }),
    );
    o.insert("type".into(), json!(addr.type_name));
    o.insert("name".into(), json!(addr.name));
    put_key(&mut o, &addr.key);
    o.insert(
        "provider_name".into(),
        json!(provider_name(&addr.type_name)),
    );
    o.insert("schema_version".into(), json!(inst.schema_version));
    o.insert("values".into(), known_json(attrs).unwrap_or(J::Null));
    o.insert("sensitive_values".into(), sensitive_mask(attrs));
    if !inst.dependencies.is_empty() {
        let mut deps = inst.dependencies.clone();
        deps.sort();
        o.insert("depends_on".into(), json!(deps));
    }
    J::Object(o)
}
