//! `data "aws_iam_policy_document"`: builds a policy document from HCL blocks, spelled
//! exactly as Terraform spells it, so that plans and state agree with Terraform's.
//!
//! Terraform's rules, which this reproduces: `Version` then `Id` then `Statement`; in a
//! statement `Sid`, `Effect`, `Action`, `NotAction`, `Resource`, `NotResource`,
//! `Principal`, `NotPrincipal`, `Condition`, empty ones left out; a set with one element
//! is a bare string, a longer one is sorted in reverse; principals are grouped by type
//! and conditions by test and variable (keys sorted, condition values kept in order);
//! `&{var}` becomes `${var}`; `json` is indented by two spaces, `minified_json` is not;
//! `<`, `>` and `&` are escaped as `\u003c` and friends (Go's encoder does so), and the
//! id is the CRC-32 of `json`. Pure: no AWS calls.

use async_trait::async_trait;
use forge_provider::{
    AttrType, Attribute, BlockType, DataSourceType, ProviderError, ProviderResult, Schema, Value,
};
use serde_json::{Map, Value as Json};

const TYPE: &str = "aws_iam_policy_document";
const STATEMENT_KEYS: [&str; 9] = [
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
];

pub struct PolicyDocumentDataSource {
    schema: Schema,
}

impl Default for PolicyDocumentDataSource {
    fn default() -> Self {
        Self::new()
    }
}

impl PolicyDocumentDataSource {
    pub fn new() -> Self {
        let strings = || AttrType::Set(Box::new(AttrType::String));
        let principals = || BlockType {
            schema: Schema::new()
                .attr("type", Attribute::required(AttrType::String))
                .attr("identifiers", Attribute::required(strings())),
            unordered: true,
            ..Default::default()
        };
        let condition = BlockType {
            schema: Schema::new()
                .attr("test", Attribute::required(AttrType::String))
                .attr("variable", Attribute::required(AttrType::String))
                .attr(
                    "values",
                    Attribute::required(AttrType::List(Box::new(AttrType::String))),
                ),
            unordered: true,
            ..Default::default()
        };
        let statement = BlockType {
            schema: Schema::new()
                .attr("sid", Attribute::optional(AttrType::String))
                .attr("effect", Attribute::optional(AttrType::String))
                .attr("actions", Attribute::optional(strings()))
                .attr("not_actions", Attribute::optional(strings()))
                .attr("resources", Attribute::optional(strings()))
                .attr("not_resources", Attribute::optional(strings()))
                .block("principals", principals())
                .block("not_principals", principals())
                .block("condition", condition),
            ..Default::default()
        };
        let schema = Schema::new()
            .attr("version", Attribute::optional(AttrType::String))
            .attr("policy_id", Attribute::optional(AttrType::String))
            .attr(
                "source_policy_documents",
                Attribute::optional(AttrType::List(Box::new(AttrType::String))),
            )
            .attr(
                "override_policy_documents",
                Attribute::optional(AttrType::List(Box::new(AttrType::String))),
            )
            // The provider's deprecated single-document forms, still in its 5.x schema:
            // `source_json` is merged first, `override_json` last.
            .attr("source_json", Attribute::optional(AttrType::String))
            .attr("override_json", Attribute::optional(AttrType::String))
            .attr("json", Attribute::computed(AttrType::String))
            .attr("minified_json", Attribute::computed(AttrType::String))
            .attr("id", Attribute::computed(AttrType::String))
            .block("statement", statement);
        PolicyDocumentDataSource { schema }
    }
}

/// A policy document being assembled: Terraform's merge works on Sids.
#[derive(Debug, Default)]
struct Document {
    version: String,
    id: String,
    statements: Vec<Map<String, Json>>,
}

impl Document {
    /// Terraform's merge: a later document's Id wins, its Version wins when higher, and
    /// its statements replace ours with the same Sid or are appended.
    fn merge(&mut self, other: Document) {
        if !other.id.is_empty() {
            self.id = other.id;
        }
        if other.version > self.version {
            self.version = other.version;
        }
        for statement in other.statements {
            let sid = statement
                .get("Sid")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            let existing = (!sid.is_empty())
                .then(|| {
                    self.statements
                        .iter()
                        .position(|s| s.get("Sid").and_then(Json::as_str) == Some(&sid))
                })
                .flatten();
            match existing {
                Some(i) => self.statements[i] = statement,
                None => self.statements.push(statement),
            }
        }
    }

    fn to_json(&self) -> Json {
        let mut doc = Map::new();
        if !self.version.is_empty() {
            doc.insert("Version".into(), Json::String(self.version.clone()));
        }
        if !self.id.is_empty() {
            doc.insert("Id".into(), Json::String(self.id.clone()));
        }
        if !self.statements.is_empty() {
            doc.insert(
                "Statement".into(),
                Json::Array(self.statements.iter().cloned().map(Json::Object).collect()),
            );
        }
        Json::Object(doc)
    }
}

fn err(msg: impl Into<String>) -> ProviderError {
    ProviderError::new(format!("{TYPE}: {}", msg.into()))
}

/// The strings of a set/list attribute, skipping nulls.
fn strings_of(v: &Value, name: &str) -> Vec<String> {
    v.get(name)
        .and_then(Value::as_seq)
        .map(|xs| {
            xs.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn blocks<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name).and_then(Value::as_seq).unwrap_or(&[])
}

/// A set as Terraform writes it: one element bare, more reverse-sorted, none omitted.
fn set_json(mut items: Vec<String>) -> Option<Json> {
    items.sort();
    items.dedup();
    match items.len() {
        0 => None,
        1 => items.pop().map(Json::String),
        _ => Some(Json::Array(
            items.into_iter().rev().map(Json::String).collect(),
        )),
    }
}

/// `&{aws:username}` is how HCL users write IAM's `${aws:username}` without Terraform
/// interpolating it; version 2008-10-17 has no policy variables.
fn replace_vars(s: &str, version: &str) -> ProviderResult<String> {
    if version == "2008-10-17" && s.contains("&{") {
        return Err(err(format!(
            "{s:?} uses &{{...}}, which version 2008-10-17 does not support"
        ))
        .hint("set version = \"2012-10-17\" or remove the policy variable"));
    }
    Ok(s.replace("&{", "${"))
}

fn replace_vars_all(items: Vec<String>, version: &str) -> ProviderResult<Vec<String>> {
    items.iter().map(|s| replace_vars(s, version)).collect()
}

/// Principal blocks grouped by type; a lone `type = "*"`, `identifiers = ["*"]` is `"*"`.
fn principals_json(items: &[Value], version: &str) -> ProviderResult<Option<Json>> {
    if items.is_empty() {
        return Ok(None);
    }
    let parsed: Vec<(String, Vec<String>)> = items
        .iter()
        .map(|p| {
            let kind = p
                .str_attr("type")
                .ok_or_else(|| err("a principals block has no `type`"))?
                .to_string();
            Ok((
                kind,
                replace_vars_all(strings_of(p, "identifiers"), version)?,
            ))
        })
        .collect::<ProviderResult<_>>()?;
    if let [(kind, ids)] = parsed.as_slice()
        && kind == "*"
        && ids.len() == 1
        && ids[0] == "*"
    {
        return Ok(Some(Json::String("*".into())));
    }
    let mut grouped: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (kind, ids) in parsed {
        let entry = grouped.entry(kind).or_default();
        let mut ids = ids;
        ids.sort();
        ids.dedup();
        // Terraform writes a multi-identifier block reversed, a single one as it is.
        entry.extend(ids.into_iter().rev());
    }
    let map: Map<String, Json> = grouped
        .into_iter()
        .map(|(kind, ids)| {
            let value = if ids.len() == 1 {
                Json::String(ids[0].clone())
            } else {
                Json::Array(ids.into_iter().map(Json::String).collect())
            };
            (kind, value)
        })
        .collect();
    Ok(Some(Json::Object(map)))
}

/// Condition blocks grouped by test, then variable; values keep their order.
fn conditions_json(items: &[Value], version: &str) -> ProviderResult<Option<Json>> {
    if items.is_empty() {
        return Ok(None);
    }
    let mut grouped: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, Vec<String>>,
    > = Default::default();
    for c in items {
        let test = c
            .str_attr("test")
            .ok_or_else(|| err("a condition block has no `test`"))?;
        let variable = c
            .str_attr("variable")
            .ok_or_else(|| err("a condition block has no `variable`"))?;
        let values = replace_vars_all(strings_of(c, "values"), version)?;
        grouped
            .entry(test.to_string())
            .or_default()
            .entry(variable.to_string())
            .or_default()
            .extend(values);
    }
    let map: Map<String, Json> = grouped
        .into_iter()
        .map(|(test, vars)| {
            let inner: Map<String, Json> = vars
                .into_iter()
                .map(|(var, values)| {
                    let v = if values.len() == 1 {
                        Json::String(values[0].clone())
                    } else {
                        Json::Array(values.into_iter().map(Json::String).collect())
                    };
                    (var, v)
                })
                .collect();
            (test, Json::Object(inner))
        })
        .collect();
    Ok(Some(Json::Object(map)))
}

fn statement_from_block(block: &Value, version: &str) -> ProviderResult<Map<String, Json>> {
    let effect = block.str_attr("effect").unwrap_or("Allow");
    if effect != "Allow" && effect != "Deny" {
        return Err(err(format!(
            "statement effect {effect:?} is neither \"Allow\" nor \"Deny\""
        )));
    }
    let mut s = Map::new();
    if let Some(sid) = block.str_attr("sid").filter(|s| !s.is_empty()) {
        s.insert("Sid".into(), Json::String(sid.to_string()));
    }
    s.insert("Effect".into(), Json::String(effect.to_string()));
    let mut put = |key: &str, value: Option<Json>| {
        if let Some(v) = value {
            s.insert(key.to_string(), v);
        }
    };
    put("Action", set_json(strings_of(block, "actions")));
    put("NotAction", set_json(strings_of(block, "not_actions")));
    put(
        "Resource",
        set_json(replace_vars_all(strings_of(block, "resources"), version)?),
    );
    put(
        "NotResource",
        set_json(replace_vars_all(
            strings_of(block, "not_resources"),
            version,
        )?),
    );
    put(
        "Principal",
        principals_json(blocks(block, "principals"), version)?,
    );
    put(
        "NotPrincipal",
        principals_json(blocks(block, "not_principals"), version)?,
    );
    put(
        "Condition",
        conditions_json(blocks(block, "condition"), version)?,
    );
    Ok(s)
}

/// A document given as JSON (source or override), re-spelled the way Terraform re-spells
/// it when it decodes and encodes it again.
fn document_from_json(text: &str, what: &str) -> ProviderResult<Document> {
    let parsed: Json = serde_json::from_str(text).map_err(|e| {
        err(format!("{what} is not valid JSON: {e}"))
            .hint("pass a policy document such as data.aws_iam_policy_document.x.json")
    })?;
    let Json::Object(doc) = parsed else {
        return Err(err(format!("{what} is not a JSON object")));
    };
    let text_of = |k: &str| {
        doc.get(k)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let statements = match doc.get("Statement") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(xs)) => xs
            .iter()
            .map(|s| respell_statement(s, what))
            .collect::<ProviderResult<_>>()?,
        Some(single @ Json::Object(_)) => vec![respell_statement(single, what)?],
        Some(_) => return Err(err(format!("{what}: Statement must be a list of objects"))),
    };
    Ok(Document {
        version: text_of("Version"),
        id: text_of("Id"),
        statements,
    })
}

fn respell_statement(s: &Json, what: &str) -> ProviderResult<Map<String, Json>> {
    let Json::Object(m) = s else {
        return Err(err(format!("{what}: a statement is not an object")));
    };
    let mut out = Map::new();
    for key in STATEMENT_KEYS {
        let Some(v) = m.get(key) else { continue };
        let v = match key {
            "Principal" | "NotPrincipal" => respell_principal(v),
            "Condition" => respell_condition(v),
            _ => v.clone(),
        };
        let empty = matches!(&v, Json::Null)
            || v.as_str() == Some("")
            || v.as_array().is_some_and(Vec::is_empty);
        if !empty {
            out.insert(key.to_string(), v);
        }
    }
    Ok(out)
}

fn respell_principal(v: &Json) -> Json {
    match v {
        Json::Object(m) => {
            if m.len() == 1
                && m.get("*")
                    .is_some_and(|x| x == "*" || x == &serde_json::json!(["*"]))
            {
                return Json::String("*".into());
            }
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let out: Map<String, Json> = keys
                .into_iter()
                .map(|k| {
                    let value = match &m[k] {
                        Json::Array(xs) => {
                            let mut ids: Vec<String> = xs
                                .iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect();
                            ids.sort();
                            Json::Array(ids.into_iter().rev().map(Json::String).collect())
                        }
                        other => other.clone(),
                    };
                    (k.clone(), value)
                })
                .collect();
            Json::Object(out)
        }
        other => other.clone(),
    }
}

fn respell_condition(v: &Json) -> Json {
    let Json::Object(tests) = v else {
        return v.clone();
    };
    let mut test_keys: Vec<&String> = tests.keys().collect();
    test_keys.sort();
    let out: Map<String, Json> = test_keys
        .into_iter()
        .map(|t| {
            let inner = match &tests[t] {
                Json::Object(vars) => {
                    let mut var_keys: Vec<&String> = vars.keys().collect();
                    var_keys.sort();
                    let m: Map<String, Json> = var_keys
                        .into_iter()
                        .map(|k| {
                            let value = match &vars[k] {
                                Json::Array(xs) if xs.len() == 1 => xs[0].clone(),
                                Json::Bool(b) => Json::String(b.to_string()),
                                other => other.clone(),
                            };
                            (k.clone(), value)
                        })
                        .collect();
                    Json::Object(m)
                }
                other => other.clone(),
            };
            (t.clone(), inner)
        })
        .collect();
    Json::Object(out)
}

/// Escapes as Go's JSON encoder does, which Terraform's output inherits.
fn go_escape(json: String) -> String {
    if !json.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return json;
    }
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// CRC-32 (IEEE), Terraform's string hash for data source ids.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// Builds the document from the data source's configuration: (json, minified_json).
pub fn render(config: &Value) -> ProviderResult<(String, String)> {
    // An unknown element would silently drop out of the document: refuse instead (the
    // engine reads data sources only once their configuration is known).
    if !config.is_wholly_known() {
        return Err(err("the configuration is not known yet")
            .hint("read the data source after apply resolves its inputs"));
    }
    let config = config.deep_unmarked();
    let version = config
        .str_attr("version")
        .unwrap_or("2012-10-17")
        .to_string();
    if version != "2012-10-17" && version != "2008-10-17" {
        return Err(err(format!("version {version:?} is not one IAM knows"))
            .hint("use \"2012-10-17\" (or the old \"2008-10-17\")"));
    }
    let mut merged = Document::default();
    // As the provider: an empty deprecated document counts as not given.
    if let Some(source) = config.str_attr("source_json").filter(|t| !t.is_empty()) {
        merged.merge(document_from_json(source, "source_json")?);
    }
    for (i, source) in strings_of(&config, "source_policy_documents")
        .iter()
        .enumerate()
    {
        // Terraform skips empty documents in these lists.
        if source.trim().is_empty() {
            continue;
        }
        let doc = document_from_json(source, &format!("source_policy_documents[{i}]"))?;
        let mut seen = std::collections::BTreeSet::new();
        for s in merged.statements.iter().chain(&doc.statements) {
            if let Some(sid) = s
                .get("Sid")
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
                && !seen.insert(sid.to_string())
            {
                return Err(err(format!(
                    "duplicate Sid {sid:?} in source_policy_documents[{i}]"
                ))
                .hint("remove the Sid or make the Sids unique"));
            }
        }
        merged.merge(doc);
    }
    let mut own = Document {
        version: version.clone(),
        id: config.str_attr("policy_id").unwrap_or_default().to_string(),
        statements: Vec::new(),
    };
    let mut sids = std::collections::BTreeSet::new();
    for block in blocks(&config, "statement") {
        let statement = statement_from_block(block, &version)?;
        if let Some(sid) = statement.get("Sid").and_then(Json::as_str)
            && !sids.insert(sid.to_string())
        {
            return Err(
                err(format!("duplicate Sid {sid:?} among the statement blocks"))
                    .hint("remove the Sid or make it unique"),
            );
        }
        own.statements.push(statement);
    }
    merged.merge(own);
    for (i, text) in strings_of(&config, "override_policy_documents")
        .iter()
        .enumerate()
    {
        if text.trim().is_empty() {
            continue;
        }
        merged.merge(document_from_json(
            text,
            &format!("override_policy_documents[{i}]"),
        )?);
    }
    if let Some(text) = config.str_attr("override_json").filter(|t| !t.is_empty()) {
        merged.merge(document_from_json(text, "override_json")?);
    }
    let doc = merged.to_json();
    let pretty = serde_json::to_string_pretty(&doc)
        .map_err(|e| err(format!("could not write JSON: {e}")))?;
    let minified =
        serde_json::to_string(&doc).map_err(|e| err(format!("could not write JSON: {e}")))?;
    Ok((go_escape(pretty), go_escape(minified)))
}

#[async_trait]
impl DataSourceType for PolicyDocumentDataSource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, config: &Value) -> ProviderResult<Value> {
        let (json, minified) = render(config)?;
        let mut out = match config.deep_unmarked() {
            Value::Object(m) => m,
            _ => Default::default(),
        };
        for name in self.schema.attributes.keys() {
            out.entry(name.clone()).or_insert(Value::Null);
        }
        for name in self.schema.blocks.keys() {
            out.entry(name.clone()).or_insert(Value::List(Vec::new()));
        }
        if let Some(Value::List(statements)) = out.get_mut("statement") {
            for statement in statements.iter_mut() {
                recorded_statement(statement);
            }
        }
        if out.get("version").is_none_or(Value::is_null) {
            out.insert("version".into(), Value::string("2012-10-17"));
        }
        out.insert(
            "id".into(),
            Value::String(crc32(json.as_bytes()).to_string()),
        );
        out.insert("json".into(), Value::String(json));
        out.insert("minified_json".into(), Value::String(minified));
        Ok(Value::Object(out))
    }
}

/// A statement block as the provider records it (its SDK writes a nested block's unset
/// arguments as their empty values): `sid` "", `effect` its default "Allow", the action and
/// resource sets [], the nested blocks [].
fn recorded_statement(statement: &mut Value) {
    let Value::Object(m) = statement else {
        return;
    };
    let mut fill = |name: &str, empty: Value| {
        let slot = m.entry(name.to_string()).or_insert(Value::Null);
        if slot.is_null() {
            *slot = empty;
        }
    };
    fill("sid", Value::string(""));
    fill("effect", Value::string("Allow"));
    for name in ["actions", "not_actions", "resources", "not_resources"] {
        fill(name, Value::Set(Vec::new()));
    }
    for name in ["principals", "not_principals", "condition"] {
        fill(name, Value::List(Vec::new()));
    }
}

#[cfg(test)]
#[path = "policy_document_tests.rs"]
mod tests;
