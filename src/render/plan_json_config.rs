//! The parts of `terraform show -json` that come from the configuration rather than from
//! the plan: `variables` (the root module's variable values) and `configuration` (every
//! module's resources, module calls, outputs and variables as written, expressions given
//! as a constant or as the references they make, and the provider configurations).
//! Built from the configuration model (forge-config), not from the run: the plan does not
//! carry unevaluated expressions. Checked against Terraform by tests/cli/plan_json_oracle.rs.
//!
//! Sensitive values never appear: Terraform writes a sensitive variable's value and
//! default, and a literal set on a sensitive attribute or output, in clear; forge writes
//! null in their place (README, known incompatibilities).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value as J, json};

use forge_config::{Mode, Module, ProviderBlock, ResourceBlock, Unit};
use forge_lang::{Body, Expr, RefStep, Reference};
use forge_provider::{ProviderFactory, Schema, Value};

use crate::plan_json::visible_json;
use forge_engine::module_graph::{ModuleGraph, NodeKind, provider_key, provider_name_of};
use forge_engine::state::provider_source;

/// A resource type's or data source's schema, by mode and type name; `None` when no
/// provider knows it (its expressions are then written without schema filtering).
pub type SchemaLookup<'a> = &'a dyn Fn(Mode, &str) -> Option<Schema>;

/// The providers' schemas, as each provider gives them without being configured.
pub struct ProviderSchemas {
    providers: Vec<(&'static str, forge_provider::ProviderSchemas)>,
}

impl ProviderSchemas {
    pub async fn load(factories: &[Arc<dyn ProviderFactory>]) -> ProviderSchemas {
        ProviderSchemas {
            providers: factories.iter().map(|f| (f.name(), f.schemas())).collect(),
        }
    }

    pub fn schema(&self, mode: Mode, type_name: &str) -> Option<Schema> {
        let name = provider_name_of(type_name);
        let (_, p) = self.providers.iter().find(|(n, _)| *n == name)?;
        match mode {
            Mode::Managed => p.resources.get(type_name).cloned(),
            Mode::Data => p.data_sources.get(type_name).cloned(),
        }
    }
}

/// The root module's variables as the run set them (`UnitPlan::variables`: given or
/// defaulted, converted, sensitive ones marked); `{"name": {"value": ...}}`. Sensitive and
/// unknown parts are null. `None` when the module declares no variable (Terraform then
/// leaves the key out).
pub fn variables_json(unit: &Unit, values: &BTreeMap<String, Value>) -> Option<J> {
    if unit.module.variables.is_empty() {
        return None;
    }
    Some(J::Object(
        values
            .iter()
            .map(|(name, value)| (name.clone(), json!({"value": visible_json(value)})))
            .collect(),
    ))
}

/// Each resource's and data source's dependencies by configuration address, as the state
/// records them (`ModuleGraph::resource_dependencies`); empty when the graph cannot be
/// built (the plan has failed then).
pub fn resource_dependencies(unit: &Unit) -> BTreeMap<String, Vec<String>> {
    let Ok(graph) = ModuleGraph::build(unit) else {
        return BTreeMap::new();
    };
    graph
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, (_, kind))| matches!(kind, NodeKind::Resource(_) | NodeKind::Data(_)))
        .map(|(i, (name, _))| (name.clone(), graph.resource_dependencies(i)))
        .collect()
}

/// `{"provider_config": ..., "root_module": ...}` for one unit.
pub fn configuration_json(unit: &Unit, schemas: SchemaLookup<'_>) -> J {
    let mut providers: BTreeMap<String, ProviderEntry> = BTreeMap::new();
    let root_blocks: Vec<&ProviderBlock> = unit
        .module
        .providers
        .iter()
        .chain(&unit.generated_providers)
        .collect();
    provider_entries(&unit.module, "", None, &root_blocks, &mut providers);
    let root = module_json(&unit.module, "", schemas, &providers);
    let provider_config: Map<String, J> = providers
        .iter()
        .filter(|(_, e)| e.parent_key.is_empty())
        .map(|(k, e)| (k.clone(), e.to_json()))
        .collect();
    let mut o = Map::new();
    if !provider_config.is_empty() {
        o.insert("provider_config".into(), J::Object(provider_config));
    }
    o.insert("root_module".into(), root);
    J::Object(o)
}

// ----- provider configurations -------------------------------------------------------

/// One entry of `provider_config` while it is built. An entry of a child module that the
/// caller's configuration stands for (inherited or passed in `providers`) names that
/// configuration in `parent_key` and is left out of the document, as Terraform does;
/// resources of that module then point at the caller's key.
struct ProviderEntry {
    name: String,
    full_name: String,
    alias: Option<String>,
    module_address: String,
    expressions: Option<J>,
    parent_key: String,
}

impl ProviderEntry {
    fn to_json(&self) -> J {
        let mut o = Map::new();
        o.insert("name".into(), json!(self.name));
        o.insert("full_name".into(), json!(self.full_name));
        if let Some(a) = &self.alias {
            o.insert("alias".into(), json!(a));
        }
        if !self.module_address.is_empty() {
            o.insert("module_address".into(), json!(self.module_address));
        }
        if let Some(e) = &self.expressions
            && e.as_object().is_some_and(|m| !m.is_empty())
        {
            o.insert("expressions".into(), e.clone());
        }
        J::Object(o)
    }
}

/// Terraform's key of a provider configuration: `aws`, `aws.west`, `module.a:aws`.
fn opaque_key(key: &str, module_address: &str) -> String {
    if module_address.is_empty() {
        key.to_string()
    } else {
        format!("{module_address}:{key}")
    }
}

/// The topmost configuration `start` stands for, following `parent_key`s while the
/// provider is the same; empty when `start` has no entry.
fn source_key(start: &str, full_name: &str, entries: &BTreeMap<String, ProviderEntry>) -> String {
    let mut found = String::new();
    let mut key = start.to_string();
    while let Some(e) = entries.get(&key).filter(|e| e.full_name == full_name) {
        found = key.clone();
        if e.parent_key.is_empty() {
            break;
        }
        key = e.parent_key.clone();
    }
    found
}

/// The entries a module contributes, then its children's. `parent`: the caller's module
/// address and the call's `providers` map (child key to caller key).
fn provider_entries(
    module: &Module,
    address: &str,
    parent: Option<(&str, &[(String, String)])>,
    blocks: &[&ProviderBlock],
    entries: &mut BTreeMap<String, ProviderEntry>,
) {
    for pb in blocks {
        let key = opaque_key(&provider_key(&pb.name, pb.alias.as_deref()), address);
        let entry = ProviderEntry {
            name: pb.name.clone(),
            full_name: provider_source(&pb.name),
            alias: pb.alias.clone(),
            module_address: address.to_string(),
            expressions: Some(provider_expressions(&pb.body)),
            parent_key: String::new(),
        };
        entries.insert(key, entry);
    }
    if let Some((parent_address, passed)) = parent {
        // Configurations passed in `providers = { aws = aws.west }` stand for the caller's.
        for (child, caller) in passed {
            let name = child.split('.').next().unwrap_or(child).to_string();
            let full_name = provider_source(&name);
            let parent_key = source_key(&opaque_key(caller, parent_address), &full_name, entries);
            let entry = ProviderEntry {
                name: child.clone(),
                full_name,
                alias: None,
                module_address: address.to_string(),
                expressions: None,
                parent_key,
            };
            entries.insert(opaque_key(child, address), entry);
        }
    }
    // A provider a resource uses without a configuration block of this module: an
    // implied default configuration, inherited from the caller when it has one.
    for rb in module
        .resources
        .iter()
        .chain(&module.data)
        .chain(module.checks.iter().flat_map(|c| &c.data))
    {
        let name = provider_name_of(&rb.type_name).to_string();
        let key = opaque_key(&name, address);
        if entries.contains_key(&key) {
            continue;
        }
        let full_name = provider_source(&name);
        let parent_key = match parent {
            Some((parent_address, _)) => {
                source_key(&opaque_key(&name, parent_address), &full_name, entries)
            }
            None => String::new(),
        };
        entries.insert(
            key,
            ProviderEntry {
                name,
                full_name,
                alias: None,
                module_address: address.to_string(),
                expressions: None,
                parent_key,
            },
        );
    }
    for call in &module.module_calls {
        let child_address = child_address(address, &call.name);
        provider_entries(
            &call.module,
            &child_address,
            Some((address, &call.providers)),
            &[],
            entries,
        );
    }
}

fn child_address(address: &str, call: &str) -> String {
    if address.is_empty() {
        format!("module.{call}")
    } else {
        format!("{address}.module.{call}")
    }
}

/// The key a resource's `provider_config_key` names: its own module's entry, or the
/// caller's configuration that entry stands for.
fn resource_provider_key(
    rb: &ResourceBlock,
    address: &str,
    entries: &BTreeMap<String, ProviderEntry>,
) -> String {
    let key = opaque_key(
        &provider_key(
            provider_name_of(&rb.type_name),
            rb.provider_alias.as_deref(),
        ),
        address,
    );
    match entries.get(&key) {
        Some(e) if !e.parent_key.is_empty() => e.parent_key.clone(),
        _ => key,
    }
}

// ----- modules -------------------------------------------------------------------------

fn module_json(
    module: &Module,
    address: &str,
    schemas: SchemaLookup<'_>,
    providers: &BTreeMap<String, ProviderEntry>,
) -> J {
    let mut o = Map::new();
    if !module.outputs.is_empty() {
        let outputs: Map<String, J> = module
            .outputs
            .iter()
            .map(|out| {
                let mut j = Map::new();
                if out.sensitive {
                    j.insert("sensitive".into(), json!(true));
                }
                j.insert(
                    "expression".into(),
                    expression_json(&out.expr, out.sensitive),
                );
                if !out.depends_on.is_empty() {
                    j.insert(
                        "depends_on".into(),
                        J::Array(
                            out.depends_on
                                .iter()
                                .map(|r| json!(reference_text(r)))
                                .collect(),
                        ),
                    );
                }
                if let Some(d) = out.description.as_deref().filter(|d| !d.is_empty()) {
                    j.insert("description".into(), json!(d));
                }
                (out.name.clone(), J::Object(j))
            })
            .collect();
        o.insert("outputs".into(), J::Object(sorted(outputs)));
    }
    // A check block's data sources are the module's, as in Terraform; managed resources
    // come first, then data sources, each group by address.
    let data = module
        .data
        .iter()
        .chain(module.checks.iter().flat_map(|c| &c.data));
    let mut resources: Vec<J> = module
        .resources
        .iter()
        .chain(data)
        .map(|rb| resource_json(rb, address, schemas, providers))
        .collect();
    resources.sort_by(|a, b| {
        (a["mode"] == "data", a["address"].as_str())
            .cmp(&(b["mode"] == "data", b["address"].as_str()))
    });
    if !resources.is_empty() {
        o.insert("resources".into(), J::Array(resources));
    }
    if !module.module_calls.is_empty() {
        let calls: Map<String, J> = module
            .module_calls
            .iter()
            .map(|call| {
                let mut j = Map::new();
                j.insert("source".into(), json!(call.source));
                // Arguments are the child's variables: a sensitive one's literal is hidden.
                let args: Map<String, J> = call
                    .arguments
                    .iter()
                    .map(|a| {
                        let hide = call.module.variable(&a.name).is_some_and(|v| v.sensitive);
                        (a.name.clone(), expression_json(&a.expr, hide))
                    })
                    .collect();
                if !args.is_empty() {
                    j.insert("expressions".into(), J::Object(sorted(args)));
                }
                put_repetition(&mut j, "count_expression", call.count.as_ref());
                put_repetition(&mut j, "for_each_expression", call.for_each.as_ref());
                j.insert(
                    "module".into(),
                    module_json(
                        &call.module,
                        &child_address(address, &call.name),
                        schemas,
                        providers,
                    ),
                );
                if !call.depends_on.is_empty() {
                    j.insert(
                        "depends_on".into(),
                        J::Array(
                            call.depends_on
                                .iter()
                                .map(|r| json!(reference_text(r)))
                                .collect(),
                        ),
                    );
                }
                (call.name.clone(), J::Object(j))
            })
            .collect();
        o.insert("module_calls".into(), J::Object(sorted(calls)));
    }
    if !module.variables.is_empty() {
        let vars: Map<String, J> = module
            .variables
            .iter()
            .map(|v| {
                let mut j = Map::new();
                if let Some(d) = &v.default {
                    // Terraform converts a default to the variable's type when it loads it.
                    let d = v.ty.convert(d.clone()).unwrap_or_else(|_| d.clone());
                    j.insert(
                        "default".into(),
                        if v.sensitive {
                            J::Null
                        } else {
                            visible_json(&d)
                        },
                    );
                }
                if let Some(d) = v.description.as_deref().filter(|d| !d.is_empty()) {
                    j.insert("description".into(), json!(d));
                }
                if v.sensitive {
                    j.insert("sensitive".into(), json!(true));
                }
                (v.name.clone(), J::Object(j))
            })
            .collect();
        o.insert("variables".into(), J::Object(sorted(vars)));
    }
    J::Object(o)
}

/// `count_expression` / `for_each_expression`; left out, as Terraform does, when the
/// expression has neither a constant nor references (`toset(["a"])`).
fn put_repetition(o: &mut Map<String, J>, key: &str, e: Option<&Expr>) {
    if let Some(j) = e
        .map(|e| expression_json(e, false))
        .filter(|j| j.as_object().is_some_and(|m| !m.is_empty()))
    {
        o.insert(key.into(), j);
    }
}

fn sorted(m: Map<String, J>) -> Map<String, J> {
    let mut entries: Vec<(String, J)> = m.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

fn resource_json(
    rb: &ResourceBlock,
    address: &str,
    schemas: SchemaLookup<'_>,
    providers: &BTreeMap<String, ProviderEntry>,
) -> J {
    let mut o = Map::new();
    o.insert("address".into(), json!(rb.address()));
    o.insert(
        "mode".into(),
        json!(if rb.mode == Mode::Data {
            "data"
        } else {
            "managed"
        }),
    );
    o.insert("type".into(), json!(rb.type_name));
    o.insert("name".into(), json!(rb.name));
    o.insert(
        "provider_config_key".into(),
        json!(resource_provider_key(rb, address, providers)),
    );
    let schema = schemas(rb.mode, &rb.type_name);
    let expressions = body_expressions(&rb.body, schema.as_ref());
    if expressions.as_object().is_some_and(|m| !m.is_empty()) {
        o.insert("expressions".into(), expressions);
    }
    // forge's providers have no schema upgrades: every schema is version 0.
    o.insert("schema_version".into(), json!(0));
    put_repetition(&mut o, "count_expression", rb.count.as_ref());
    put_repetition(&mut o, "for_each_expression", rb.for_each.as_ref());
    if !rb.depends_on.is_empty() {
        o.insert(
            "depends_on".into(),
            J::Array(
                rb.depends_on
                    .iter()
                    .map(|r| json!(reference_text(r)))
                    .collect(),
            ),
        );
    }
    J::Object(o)
}

/// A body's attributes by name and its nested blocks as lists of bodies, as the schema
/// has them (attributes and blocks it does not know are left out, as are `dynamic`
/// blocks, which Terraform does not expand here). A literal set on a sensitive attribute
/// is hidden.
fn body_expressions(body: &Body, schema: Option<&Schema>) -> J {
    let mut o = Map::new();
    for a in &body.attributes {
        let hide = match schema {
            Some(s) => match s.attributes.get(&a.name) {
                Some(attr) => attr.sensitive,
                None => continue,
            },
            None => false,
        };
        o.insert(a.name.clone(), expression_json(&a.expr, hide));
    }
    for b in &body.blocks {
        let nested = match schema {
            Some(s) => match s.blocks.get(&b.ident) {
                Some(bt) => Some(&bt.schema),
                None => continue,
            },
            None if b.ident == "dynamic" => continue,
            None => None,
        };
        let entry = o
            .entry(b.ident.clone())
            .or_insert_with(|| J::Array(Vec::new()));
        if let J::Array(items) = entry {
            items.push(body_expressions(&b.body, nested));
        }
    }
    J::Object(sorted(o))
}

/// A provider block's expressions. forge's providers publish no configuration schema, so
/// every attribute and block is listed, and a literal credential (`access_key`,
/// `secret_key`, `token`, anything named like a secret or password) is hidden: tools read
/// `region` here, never keys.
fn provider_expressions(body: &Body) -> J {
    let secret = |name: &str| {
        name == "access_key"
            || ["secret", "token", "password"]
                .iter()
                .any(|w| name.contains(w))
    };
    let mut o = Map::new();
    for a in &body.attributes {
        o.insert(a.name.clone(), expression_json(&a.expr, secret(&a.name)));
    }
    for b in body.blocks.iter().filter(|b| b.ident != "dynamic") {
        let entry = o
            .entry(b.ident.clone())
            .or_insert_with(|| J::Array(Vec::new()));
        if let J::Array(items) = entry {
            items.push(provider_expressions(&b.body));
        }
    }
    J::Object(sorted(o))
}

/// `{"constant_value": ...}` for an expression without references or function calls,
/// else `{"references": [...]}` (`{}` when it has neither). `hide`: the value is secret,
/// so a constant is not written.
fn expression_json(e: &Expr, hide: bool) -> J {
    if let Some(v) = e.constant_value() {
        if hide || v.is_sensitive() {
            return json!({});
        }
        return json!({"constant_value": visible_json(&v)});
    }
    let refs: Vec<J> = e
        .references()
        .iter()
        .flat_map(terraform_references)
        .map(J::String)
        .collect();
    if refs.is_empty() {
        json!({})
    } else {
        json!({"references": refs})
    }
}

/// A reference as Terraform lists it: the whole traversal, then each shorter prefix down
/// to the object it names (`var.list[0]`, `var.list`), then that object without its
/// instance key (`aws_s3_bucket.b[0]` -> `aws_s3_bucket.b`; `module.m["k"].o` ->
/// `module.m["k"]`). A traversal stops at a computed index or a splat (what follows is
/// not a static path). Names Terraform does not parse as a reference give nothing.
fn terraform_references(r: &Reference) -> Vec<String> {
    let steps: Vec<&RefStep> = r
        .steps
        .iter()
        .take_while(|s| !matches!(s, RefStep::Index(None)))
        .collect();
    let attr = |i: usize| match steps.get(i) {
        Some(RefStep::Attr(a)) => Some(a.as_str()),
        _ => None,
    };
    let index = |i: usize| match steps.get(i) {
        Some(RefStep::Index(Some(v))) => Some(v),
        _ => None,
    };
    // How many steps the referenced object (the subject) spans, and its unkeyed form.
    let (subject_len, unkeyed): (usize, Option<String>) = match r.root.as_str() {
        "var" | "local" | "path" | "terraform" | "count" | "each" => {
            if attr(0).is_none() {
                return Vec::new();
            }
            (1, None)
        }
        "self" => (0, None),
        "module" => {
            let Some(name) = attr(0) else {
                return Vec::new();
            };
            match (index(1), attr(2)) {
                // module.m["k"].o: the output of an instance; the instance is listed after.
                (Some(_), Some(_)) => (3, Some(format!("module.{name}{}", step_text(steps[1])))),
                (Some(_), None) => (2, Some(format!("module.{name}"))),
                (None, Some(_)) => (2, Some(format!("module.{name}"))),
                (None, None) => (1, None),
            }
        }
        "data" => {
            let (Some(ty), Some(name)) = (attr(0), attr(1)) else {
                return Vec::new();
            };
            match index(2) {
                Some(_) => (3, Some(format!("data.{ty}.{name}"))),
                None => (2, None),
            }
        }
        "resource" | "ephemeral" | "template" | "lazy" | "arg" => return Vec::new(),
        ty => {
            let Some(name) = attr(0) else {
                return Vec::new();
            };
            match index(1) {
                Some(_) => (2, Some(format!("{ty}.{name}"))),
                None => (1, None),
            }
        }
    };
    let text = |n: usize| {
        let mut s = r.root.clone();
        for step in &steps[..n] {
            s.push_str(&step_text(step));
        }
        s
    };
    let mut out: Vec<String> = (subject_len..=steps.len()).rev().map(text).collect();
    if let Some(u) = unkeyed {
        out.push(u);
    }
    out
}

fn step_text(step: &RefStep) -> String {
    match step {
        RefStep::Attr(a) => format!(".{a}"),
        RefStep::Index(Some(v)) => format!("[{}]", index_text(v)),
        RefStep::Index(None) => "[...]".to_string(),
    }
}

/// An index as Terraform prints it in a reference: numbers bare, strings quoted.
fn index_text(v: &Value) -> String {
    match v {
        Value::String(s) => J::String(s.clone()).to_string(),
        other => other.to_json().to_string(),
    }
}

/// A `depends_on` entry as written (`aws_s3_bucket.b`, `module.m`).
fn reference_text(r: &Reference) -> String {
    let mut s = r.root.clone();
    for step in &r.steps {
        s.push_str(&step_text(step));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(text: &str) -> Vec<String> {
        let e = forge_lang::parse_expr_str(std::path::Path::new("t.tf"), text.to_string())
            .expect("parses");
        e.references()
            .iter()
            .flat_map(terraform_references)
            .collect()
    }

    #[test]
    fn references_unwrap_like_terraform() {
        assert_eq!(refs("var.list[0]"), ["var.list[0]", "var.list"]);
        assert_eq!(
            refs("terraform_data.y[0].id"),
            [
                "terraform_data.y[0].id",
                "terraform_data.y[0]",
                "terraform_data.y"
            ]
        );
        assert_eq!(
            refs("module.k[\"a\"].o"),
            ["module.k[\"a\"].o", "module.k[\"a\"]"]
        );
        assert_eq!(refs("module.c.o"), ["module.c.o", "module.c"]);
        assert_eq!(
            refs("data.aws_region.r.name"),
            ["data.aws_region.r.name", "data.aws_region.r"]
        );
        assert_eq!(
            refs("terraform_data.d.output[count.index]"),
            ["terraform_data.d.output", "terraform_data.d", "count.index"]
        );
        assert_eq!(refs("terraform_data.e[*].id"), ["terraform_data.e"]);
        assert_eq!(refs("[for k, v in local.m : v]"), ["local.m"]);
    }

    #[test]
    fn constants_are_literals_without_function_calls() {
        let expr = |t: &str| {
            forge_lang::parse_expr_str(std::path::Path::new("t.tf"), t.to_string()).expect("parses")
        };
        assert_eq!(
            expression_json(&expr("\"a-${\"b\"}\""), false),
            json!({"constant_value": "a-b"})
        );
        assert_eq!(
            expression_json(&expr("null"), false),
            json!({"constant_value": null})
        );
        assert_eq!(expression_json(&expr("upper(\"x\")"), false), json!({}));
        assert_eq!(expression_json(&expr("\"hunter2\""), true), json!({}));
        assert_eq!(
            expression_json(&expr("[for x in [1, 2] : x * 2]"), false),
            json!({"constant_value": [2, 4]})
        );
    }

    #[test]
    fn provider_credentials_are_never_written() {
        let body = forge_lang::parse_str(
            std::path::Path::new("p.tf"),
            "region = \"eu-west-1\"\naccess_key = \"AKIAEXAMPLEKEY\"\nsecret_key = \"very-secret\"\nassume_role {\n  session_token = \"tok-secret\"\n  role_arn = var.role\n}\n".to_string(),
        )
        .expect("parses");
        let j = provider_expressions(&body);
        let text = j.to_string();
        for secret in ["AKIAEXAMPLEKEY", "very-secret", "tok-secret"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(j["region"], json!({"constant_value": "eu-west-1"}));
        assert_eq!(
            j["assume_role"][0]["role_arn"],
            json!({"references": ["var.role"]})
        );
    }
}
