//! forge's schema for each resource type and data source against the provider's, from
//! `terraform providers schema -json` (read once per test process): every attribute and
//! nested block the provider has, with the same required/optional/computed/sensitive
//! flags, the same type, and the same schema version. A cheap check that catches a
//! missing attribute before any emulator call.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use forge_provider::{AttrType, Attribute, BlockType, Provider, ProviderFactory, Schema, Value};
use serde_json::Value as J;

use super::{Oracle, oracle};

/// Resource or data source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Resource,
    Data,
}

/// The provider's schema document for the aws provider (`provider_schemas[...]`).
pub fn provider_schemas(oracle: &Oracle) -> &'static J {
    static SCHEMAS: OnceLock<J> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let run = oracle.terraform(&oracle.init_dir, &["providers", "schema", "-json"]);
        assert_eq!(
            run.code, 0,
            "terraform providers schema -json:\n{}",
            run.stderr
        );
        let mut doc: J = serde_json::from_str(&run.stdout).expect("schema JSON");
        doc["provider_schemas"]["registry.terraform.io/hashicorp/aws"].take()
    })
}

/// The provider's schema of one type: `{version, block}`.
pub fn provider_schema(oracle: &Oracle, kind: Kind, type_name: &str) -> &'static J {
    let key = match kind {
        Kind::Resource => "resource_schemas",
        Kind::Data => "data_source_schemas",
    };
    let s = &provider_schemas(oracle)[key][type_name];
    assert!(s.is_object(), "the provider has no {key} entry {type_name}");
    s
}

/// forge's aws provider, configured with a placeholder region (builds clients, no call).
pub fn forge_provider() -> Arc<dyn Provider> {
    static PROVIDER: OnceLock<Arc<dyn Provider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime
                .block_on(
                    forge_aws::AwsProviderFactory::default()
                        .configure(&Value::object([("region", Value::string("us-east-1"))])),
                )
                .expect("configure forge's aws provider")
        })
        .clone()
}

/// forge's schema of one type, and the schema version it writes to state.
pub fn forge_schema(kind: Kind, type_name: &str) -> Schema {
    let p = forge_provider();
    match kind {
        Kind::Resource => p
            .resource_type(type_name)
            .unwrap_or_else(|| panic!("forge has no resource type {type_name}"))
            .schema()
            .clone(),
        Kind::Data => p
            .data_source(type_name)
            .unwrap_or_else(|| panic!("forge has no data source {type_name}"))
            .schema()
            .clone(),
    }
}

/// Each way forge's schema of `type_name` differs from the provider's, one line each.
pub fn schema_differences(oracle: &Oracle, kind: Kind, type_name: &str) -> Vec<String> {
    let theirs = provider_schema(oracle, kind, type_name);
    let ours = forge_schema(kind, type_name);
    let mut out = Vec::new();
    let version = theirs["version"].as_u64().unwrap_or(0);
    if ours.version != version {
        out.push(format!(
            "schema version: provider {version}, forge {}",
            ours.version
        ));
    }
    compare_block("", &theirs["block"], &ours, &mut out);
    out
}

/// Fails listing every difference of each type, except those `allowed` names (each
/// `(type, line)` with the line as [`schema_differences`] prints it).
pub fn assert_schemas_match(kind: Kind, types: &[&str], allowed: &[(&str, &str)]) {
    let Some(oracle) = oracle() else { return };
    let mut report = Vec::new();
    for t in types {
        for d in schema_differences(oracle, kind, t) {
            if !allowed.iter().any(|(at, line)| at == t && *line == d) {
                report.push(format!("{t}: {d}"));
            }
        }
    }
    assert!(
        report.is_empty(),
        "forge's schemas differ from hashicorp/aws {}:\n{}",
        super::PROVIDER_VERSION,
        report.join("\n")
    );
}

fn compare_block(prefix: &str, theirs: &J, ours: &Schema, out: &mut Vec<String>) {
    let empty = serde_json::Map::new();
    let attrs = theirs["attributes"].as_object().unwrap_or(&empty);
    let blocks = theirs["block_types"].as_object().unwrap_or(&empty);
    for (name, a) in attrs {
        let path = format!("{prefix}{name}");
        match ours.attributes.get(name) {
            None if ours.blocks.contains_key(name) => out.push(format!(
                "{path}: an attribute in the provider, a block in forge"
            )),
            None => out.push(format!("{path}: missing ({})", flags_of_json(a))),
            Some(attr) => compare_attribute(&path, a, attr, out),
        }
    }
    for (name, b) in blocks {
        let path = format!("{prefix}{name}");
        match ours.blocks.get(name) {
            None if ours.attributes.contains_key(name) => {
                out.push(format!(
                    "{path}: a block in the provider, an attribute in forge"
                ));
                // The state diff compares such an attribute as a set when forge's type
                // is one: it must be one exactly when the provider's block is a set.
                let set_here = matches!(ours.attributes[name].ty, AttrType::Set(_));
                let mode = b["nesting_mode"].as_str().unwrap_or("?");
                if (mode == "set") != set_here {
                    out.push(format!(
                        "{path}: nesting {mode} in the provider, {:?} in forge",
                        ours.attributes[name].ty
                    ));
                }
            }
            None => out.push(format!(
                "{path}: block missing ({})",
                b["nesting_mode"].as_str().unwrap_or("?")
            )),
            Some(block) => compare_nested(&path, b, block, out),
        }
    }
    let theirs_names: BTreeSet<&String> = attrs.keys().chain(blocks.keys()).collect();
    for name in ours.attributes.keys().chain(ours.blocks.keys()) {
        if !theirs_names.contains(name) {
            out.push(format!(
                "{prefix}{name}: forge has it, the provider does not"
            ));
        }
    }
}

fn compare_nested(path: &str, theirs: &J, ours: &BlockType, out: &mut Vec<String>) {
    let mode = theirs["nesting_mode"].as_str().unwrap_or("?");
    let unordered = mode == "set";
    if unordered != ours.unordered {
        out.push(format!(
            "{path}: nesting {mode} in the provider, {} in forge",
            if ours.unordered { "set" } else { "list" }
        ));
    }
    let min = theirs["min_items"].as_u64().unwrap_or(0) as usize;
    let max = theirs["max_items"].as_u64().unwrap_or(0) as usize;
    if (mode == "list" || mode == "set") && (min, max) != (ours.min_items, ours.max_items) {
        out.push(format!(
            "{path}: items {min}..{max} in the provider, {}..{} in forge",
            ours.min_items, ours.max_items
        ));
    }
    compare_block(&format!("{path}."), &theirs["block"], &ours.schema, out);
}

fn flags_of_json(a: &J) -> String {
    let flag = |k: &str| a[k].as_bool().unwrap_or(false);
    flags(
        flag("required"),
        flag("optional"),
        flag("computed"),
        flag("sensitive"),
    )
}

fn flags(required: bool, optional: bool, computed: bool, sensitive: bool) -> String {
    let mut words = Vec::new();
    for (on, w) in [
        (required, "required"),
        (optional, "optional"),
        (computed, "computed"),
        (sensitive, "sensitive"),
    ] {
        if on {
            words.push(w);
        }
    }
    words.join("+")
}

fn compare_attribute(path: &str, theirs: &J, ours: &Attribute, out: &mut Vec<String>) {
    let t = flags_of_json(theirs);
    let o = flags(ours.required, ours.optional, ours.computed, ours.sensitive);
    // The plugin SDK publishes `id` and `tags_all` as optional+computed, but setting them
    // in configuration has no effect there; forge publishes them computed only (a
    // configured value is an error rather than silently ignored).
    let sdk_computed_only =
        (path == "id" || path == "tags_all") && t == "optional+computed" && o == "computed";
    if t != o && !sdk_computed_only {
        out.push(format!("{path}: {t} in the provider, {o} in forge"));
    }
    let ty = type_of_json(&theirs["type"]);
    if ty != ours.ty {
        out.push(format!(
            "{path}: type {} in the provider, {:?} in forge",
            theirs["type"], ours.ty
        ));
    }
}

/// The cty type JSON as forge's type (objects and tuples are `Any` for forge).
fn type_of_json(t: &J) -> AttrType {
    match t {
        J::String(s) if s == "string" => AttrType::String,
        J::String(s) if s == "number" => AttrType::Number,
        J::String(s) if s == "bool" => AttrType::Bool,
        J::Array(parts) if parts.len() == 2 => {
            let inner = Box::new(type_of_json(&parts[1]));
            match parts[0].as_str() {
                Some("list") => AttrType::List(inner),
                Some("set") => AttrType::Set(inner),
                Some("map") => AttrType::Map(inner),
                _ => AttrType::Any,
            }
        }
        _ => AttrType::Any,
    }
}
