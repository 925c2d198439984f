//! `*.tf.json` modules against their `.tf` equivalents: for each block kind, the module
//! written in JSON and in native syntax is loaded and the two models are compared through
//! a description that evaluates every expression (so a template that reads differently
//! shows), lists every body's attributes and nested blocks, references, lifecycle and
//! meta-arguments. Also: `.tf` and `.tf.json` in one module, override files refused.
//!
//! One test binary of its own: the schema lookup is process-wide.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use forge_config::{LoadContext, Mode, Module, SchemaLookup};
use forge_lang::eval::eval_body;
use forge_lang::{Body, Expr, Reference, Scope, render_console};
use forge_provider::Value;
use forge_provider::schema::{AttrType, Attribute, BlockType, Schema};

/// `test_thing` has a nested block `rule` (itself holding a block `match`) and a map
/// argument `tags`: only the schema tells a JSON reader which `{...}` is which.
struct TestSchemas;

impl SchemaLookup for TestSchemas {
    fn schema(&self, mode: Mode, type_name: &str) -> Option<Schema> {
        let inner = Schema::new().attr("value", Attribute::optional(AttrType::String));
        let rule = Schema::new()
            .attr("port", Attribute::optional(AttrType::Number))
            .block(
                "match",
                BlockType {
                    schema: inner,
                    ..Default::default()
                },
            );
        match (mode, type_name) {
            (Mode::Managed, "test_thing") => Some(
                Schema::new()
                    .attr("name", Attribute::required(AttrType::String))
                    .attr(
                        "tags",
                        Attribute::optional(AttrType::Map(Box::new(AttrType::String))),
                    )
                    .block(
                        "rule",
                        BlockType {
                            schema: rule,
                            ..Default::default()
                        },
                    ),
            ),
            (Mode::Data, "test_lookup") => Some(
                Schema::new()
                    .attr("key", Attribute::required(AttrType::String))
                    .block("filter", BlockType::default()),
            ),
            _ => None,
        }
    }
}

/// What the tests load modules with: the test schemas.
fn context() -> LoadContext {
    LoadContext::new().with_schemas(Arc::new(TestSchemas))
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

/// References resolve to stand-ins, so that every expression evaluates.
fn scope(module: &Module) -> Scope<'static> {
    let vars: Vec<(String, Value)> = module
        .variables
        .iter()
        .map(|v| (v.name.clone(), v.default.clone().unwrap_or(Value::Null)))
        .collect();
    let thing = |name: &str| {
        Value::object([
            ("id", Value::string(format!("id-{name}"))),
            ("output", Value::string(format!("out-{name}"))),
        ])
    };
    let mut base = Scope::new(module.dir.clone())
        .with_root("var", Value::Object(vars.into_iter().collect()))
        .with_root(
            "terraform_data",
            Value::object([("a", thing("a")), ("b", thing("b"))]),
        )
        .with_root("test_thing", Value::object([("a", thing("ta"))]))
        .with_root(
            "data",
            Value::object([("test_lookup", Value::object([("l", thing("l"))]))]),
        )
        .with_root(
            "module",
            Value::object([(
                "child",
                Value::object([("out", Value::string("child-out"))]),
            )]),
        )
        .with_root("count", Value::object([("index", Value::Number(0.0))]))
        .with_root(
            "each",
            Value::object([("key", Value::string("k")), ("value", Value::string("v"))]),
        );
    // Locals may use each other: evaluate in rounds until all that can be are.
    let mut locals: BTreeMap<String, Value> = BTreeMap::new();
    for _ in 0..=module.locals.len() {
        let s = base
            .clone()
            .with_root("local", Value::Object(locals.clone()));
        for l in &module.locals {
            if let Ok(v) = forge_lang::eval(&l.expr, &s) {
                locals.insert(l.name.clone(), v);
            }
        }
    }
    base = base.with_root("local", Value::Object(locals));
    base
}

fn value(expr: &Expr, scope: &Scope<'_>) -> String {
    match forge_lang::eval(expr, scope) {
        Ok(v) => render_console(&v),
        Err(d) => format!(
            "error: {}",
            d.0.first().map(|x| x.summary.clone()).unwrap_or_default()
        ),
    }
}

fn refs(rs: &[Reference]) -> String {
    rs.iter()
        .map(|r| format!("{}{:?}", r.root, r.steps))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The shape of a body (attribute names; blocks with labels, recursively) and its value.
fn body(b: &Body, scope: &Scope<'_>, indent: &str, out: &mut String) {
    let mut names: Vec<&str> = b.attributes.iter().map(|a| a.name.as_str()).collect();
    names.sort();
    out.push_str(&format!("{indent}attributes: {names:?}\n"));
    for block in &b.blocks {
        out.push_str(&format!(
            "{indent}block {} {:?}\n",
            block.ident, block.labels
        ));
        body(&block.body, scope, &format!("{indent}  "), out);
    }
    match eval_body(b, scope) {
        Ok(v) => out.push_str(&format!("{indent}value: {}\n", render_console(&v))),
        Err(d) => out.push_str(&format!(
            "{indent}value error: {}\n",
            d.0.first().map(|x| x.summary.clone()).unwrap_or_default()
        )),
    }
}

fn describe(m: &Module) -> String {
    let s = scope(m);
    let mut out = String::new();
    for v in &m.variables {
        out.push_str(&format!(
            "variable {}: type {:?} default {:?} sensitive {} nullable {} description {:?}\n",
            v.name,
            v.ty,
            v.default.as_ref().map(render_console),
            v.sensitive,
            v.nullable,
            v.description
        ));
        for val in &v.validations {
            out.push_str(&format!(
                "  validation: {} / {}\n",
                value(&val.condition, &s),
                value(&val.error_message, &s)
            ));
        }
    }
    for l in &m.locals {
        out.push_str(&format!("local {} = {}\n", l.name, value(&l.expr, &s)));
    }
    for r in m.resources.iter().chain(&m.data) {
        out.push_str(&format!(
            "{}: count {:?} for_each {:?} depends_on [{}] lifecycle {:?} provider {:?}\n",
            r.address(),
            r.count.as_ref().map(|e| value(e, &s)),
            r.for_each.as_ref().map(|e| value(e, &s)),
            refs(&r.depends_on),
            r.lifecycle,
            r.provider_alias
        ));
        body(&r.body, &s, "  ", &mut out);
    }
    for o in &m.outputs {
        out.push_str(&format!(
            "output {} = {} sensitive {} description {:?} depends_on [{}]\n",
            o.name,
            value(&o.expr, &s),
            o.sensitive,
            o.description,
            refs(&o.depends_on)
        ));
    }
    for p in &m.providers {
        out.push_str(&format!("provider {} alias {:?}\n", p.name, p.alias));
        body(&p.body, &s, "  ", &mut out);
    }
    for c in &m.module_calls {
        let mut args: Vec<String> = c
            .arguments
            .iter()
            .map(|a| format!("{} = {}", a.name, value(&a.expr, &s)))
            .collect();
        args.sort();
        out.push_str(&format!(
            "module {}: source {} count {:?} for_each {:?} depends_on [{}] providers {:?} arguments {args:?}\n",
            c.name,
            c.source,
            c.count.as_ref().map(|e| value(e, &s)),
            c.for_each.as_ref().map(|e| value(e, &s)),
            refs(&c.depends_on),
            c.providers
        ));
        for line in describe(&c.module).lines() {
            out.push_str(&format!("  | {line}\n"));
        }
    }
    out
}

/// Loads `main.tf` and `main.tf.json` (with the same other files) as two modules and
/// compares them; returns the description for further checks.
fn assert_equivalent(hcl: &str, json: &str, others: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    for (sub, file, text) in [("hcl", "main.tf", hcl), ("json", "main.tf.json", json)] {
        write(&dir.path().join(sub), &[(file, text)]);
        write(&dir.path().join(sub), others);
    }
    let load = |sub: &str| {
        Module::load(&dir.path().join(sub), &context())
            .unwrap_or_else(|d| panic!("the {sub} module does not load:\n{d}"))
    };
    let (h, j) = (describe(&load("hcl")), describe(&load("json")));
    assert_eq!(
        j, h,
        "the JSON module differs from the HCL one\n--- JSON:\n{j}\n--- HCL:\n{h}"
    );
    h
}

#[test]
fn variables() {
    let d = assert_equivalent(
        r#"
variable "plain" {}
variable "name" {
  type        = string
  default     = "jobs-$${literal}"
  description = "The $${name} of it"
  nullable    = false
  validation {
    condition     = length(var.name) > 2
    error_message = "Too short: ${var.name}."
  }
}
variable "shape" {
  type    = list(object({ a = string, b = optional(number, 1) }))
  default = [{ a = "x" }]
}
variable "m" {
  type    = map(number)
  default = { one = 1, two = 2.5 }
}
variable "secret" {
  default   = "s"
  sensitive = true
}
"#,
        r#"{
  "//": "generated by a test",
  "variable": {
    "plain": {},
    "name": {
      "type": "string",
      "default": "jobs-${literal}",
      "description": "The ${name} of it",
      "nullable": false,
      "validation": {
        "condition": "${length(var.name) > 2}",
        "error_message": "Too short: ${var.name}."
      }
    },
    "shape": {"type": "list(object({ a = string, b = optional(number, 1) }))", "default": [{"a": "x"}]},
    "m": {"type": "map(number)", "default": {"one": 1, "two": 2.5}},
    "secret": {"default": "s", "sensitive": true}
  }
}"#,
        &[],
    );
    assert!(
        d.contains("variable secret: type Any default Some(\"(sensitive value)\") sensitive true"),
        "{d}"
    );
    assert!(
        d.contains("The ${name} of it")
            && d.contains("validation: true / \"Too short: jobs-${literal}.\""),
        "{d}"
    );
    assert!(
        d.contains("\\\"b\\\" = 1"),
        "optional() default applied: {d}"
    );
}

#[test]
fn locals_and_outputs() {
    let d = assert_equivalent(
        r#"
variable "env" {
  default = "prod"
}
locals {
  name    = "app-${var.env}"
  n       = 3
  ratio   = 0.25
  on      = true
  nothing = null
  list    = [1, "two", local.n]
  object  = { a = local.name, "b-c" = [local.on] }
  upper   = upper(local.name)
  cond    = local.on ? "yes" : "no"
  loop    = "%{ for i in range(local.n) }${i}%{ endfor }"
  escaped = "$${keep} ${local.n}"
  quote   = "say \"${local.name}\"\n"
}
output "name" {
  value       = local.name
  description = "the $${name}"
  sensitive   = true
  depends_on  = [terraform_data.a]
}
output "object" {
  value = local.object
}
"#,
        r#"{
  "variable": {"env": {"default": "prod"}},
  "locals": {
    "name": "app-${var.env}",
    "n": 3,
    "ratio": 0.25,
    "on": true,
    "nothing": null,
    "list": [1, "two", "${local.n}"],
    "object": {"a": "${local.name}", "b-c": ["${local.on}"]},
    "upper": "${upper(local.name)}",
    "cond": "${local.on ? \"yes\" : \"no\"}",
    "loop": "%{ for i in range(local.n) }${i}%{ endfor }",
    "escaped": "$${keep} ${local.n}",
    "quote": "say \"${local.name}\"\n"
  },
  "output": {
    "name": {"value": "${local.name}", "description": "the ${name}", "sensitive": true, "depends_on": ["terraform_data.a"]},
    "object": {"value": "${local.object}"}
  }
}"#,
        &[],
    );
    assert!(
        d.contains("local loop = \"012\"") && d.contains("local escaped = \"${keep} 3\""),
        "{d}"
    );
    assert!(
        d.contains("depends_on [terraform_data[Attr(\"a\")]]"),
        "{d}"
    );
}

#[test]
fn resources_and_data_with_meta_arguments() {
    let d = assert_equivalent(
        r#"
resource "terraform_data" "a" {
  count            = 2
  input            = { name = "a-${count.index}", list = [1, 2] }
  triggers_replace = ["x"]
  provider         = terraform.other
  depends_on       = [terraform_data.b, data.test_lookup.l]
  lifecycle {
    create_before_destroy = true
    prevent_destroy       = false
    ignore_changes        = [input, triggers_replace]
  }
}
resource "terraform_data" "b" {
  for_each = toset(["k"])
  input    = each.value
  lifecycle {
    ignore_changes = all
  }
}
data "test_lookup" "l" {
  key = "k"
  filter {
    name = "x"
  }
}
"#,
        r#"{
  "resource": {
    "terraform_data": {
      "a": {
        "count": 2,
        "input": {"name": "a-${count.index}", "list": [1, 2]},
        "triggers_replace": ["x"],
        "provider": "terraform.other",
        "depends_on": ["terraform_data.b", "data.test_lookup.l"],
        "lifecycle": {"create_before_destroy": true, "prevent_destroy": false, "ignore_changes": ["input", "triggers_replace"]}
      },
      "b": {
        "for_each": "${toset([\"k\"])}",
        "input": "${each.value}",
        "lifecycle": {"ignore_changes": "all"}
      }
    }
  },
  "data": {"test_lookup": {"l": {"key": "k", "filter": {"name": "x"}}}}
}"#,
        &[],
    );
    assert!(
        d.contains("terraform_data.a: count Some(\"2\")")
            && d.contains("ignore_changes: Attributes([\"input\", \"triggers_replace\"])"),
        "{d}"
    );
    assert!(
        d.contains("ignore_changes: All") && d.contains("provider Some(\"other\")"),
        "{d}"
    );
    assert!(
        d.contains("block filter []"),
        "a data source's nested block from the schema: {d}"
    );
}

#[test]
fn nested_blocks_come_from_the_schema() {
    let d = assert_equivalent(
        r#"
variable "ports" {
  default = [80, 443]
}
resource "test_thing" "a" {
  name = "a"
  tags = { Team = "core", "with space" = "x" }
  rule {
    port = 22
    match {
      value = "one"
    }
    match {
      value = "two"
    }
  }
  rule {
    port = 23
  }
  dynamic "rule" {
    for_each = var.ports
    iterator = p
    content {
      port = p.value
      dynamic "match" {
        for_each = [p.key]
        content {
          value = "m${match.value}"
        }
      }
    }
  }
}
"#,
        r#"{
  "variable": {"ports": {"default": [80, 443]}},
  "resource": {
    "test_thing": {
      "a": {
        "name": "a",
        "tags": {"Team": "core", "with space": "x"},
        "rule": [
          {"port": 22, "match": [{"value": "one"}, {"value": "two"}]},
          {"port": 23}
        ],
        "dynamic": {
          "rule": {
            "for_each": "${var.ports}",
            "iterator": "p",
            "content": {
              "port": "${p.value}",
              "dynamic": {"match": {"for_each": "${[p.key]}", "content": {"value": "m${match.value}"}}}
            }
          }
        }
      }
    }
  }
}"#,
        &[],
    );
    assert!(
        d.contains("attributes: [\"name\", \"tags\"]")
            && d.contains("block rule []")
            && d.contains("block dynamic [\"rule\"]"),
        "{d}"
    );
    assert!(
        d.contains("\"port\" = 443") && d.contains("\"value\" = \"m1\""),
        "the dynamic blocks expand: {d}"
    );
}

#[test]
fn providers_terraform_and_module_calls() {
    let child = r#"
variable "name" {
  type = string
}
output "out" {
  value = "child-${var.name}"
}
"#;
    let d = assert_equivalent(
        r#"
terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
  backend "s3" {
    bucket = "b"
  }
}
provider "aws" {
  region = "us-east-1"
  default_tags {
    tags = { Owner = "me" }
  }
  endpoints {
    sqs = "http://localhost:4566"
  }
}
provider "aws" {
  alias  = "west"
  region = "us-west-2"
}
module "child" {
  source     = "./child"
  count      = 2
  name       = "c${count.index}"
  providers  = { aws = aws.west }
  depends_on = [terraform_data.a]
}
"#,
        r#"{
  "terraform": {
    "required_version": ">= 1.5",
    "required_providers": {"aws": {"source": "hashicorp/aws", "version": "~> 5.0"}},
    "backend": {"s3": {"bucket": "b"}}
  },
  "provider": {
    "aws": [
      {"region": "us-east-1", "default_tags": {"tags": {"Owner": "me"}}, "endpoints": {"sqs": "http://localhost:4566"}},
      {"alias": "west", "region": "us-west-2"}
    ]
  },
  "module": {
    "child": {
      "source": "./child",
      "count": 2,
      "name": "c${count.index}",
      "providers": {"aws": "aws.west"},
      "depends_on": ["terraform_data.a"]
    }
  }
}"#,
        &[("child/main.tf", child)],
    );
    assert!(
        d.contains("block default_tags []") && d.contains("provider aws alias Some(\"west\")"),
        "{d}"
    );
    assert!(
        d.contains("providers [(\"aws\", \"aws.west\")]") && d.contains(r#"name = \"c0\""#),
        "{d}"
    );
}

#[test]
fn tf_and_tf_json_files_share_one_module() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[
            ("vars.tf", "variable \"name\" {\n  default = \"x\"\n}\n"),
            (
                "main.tf.json",
                r#"{"locals": {"upper": "${upper(var.name)}"}, "output": {"o": {"value": "${local.upper}-${local.from_hcl}"}}}"#,
            ),
            ("more.tf", "locals {\n  from_hcl = \"${local.upper}!\"\n}\n"),
        ],
    );
    let m = Module::load(dir.path(), &context()).unwrap_or_else(|d| panic!("{d}"));
    let d = describe(&m);
    assert!(d.contains("output o = \"X-X!\""), "{d}");
    assert_eq!(m.files.len(), 3);
    // A name declared in both syntaxes is a duplicate, located in each file.
    write(
        dir.path(),
        &[("dup.tf.json", "{\"variable\": {\"name\": {}}}")],
    );
    let err = Module::load(dir.path(), &context())
        .expect_err("declared twice")
        .to_string();
    assert!(
        err.contains("variable `name` is declared twice")
            && err.contains("dup.tf.json:1:16")
            && err.contains("vars.tf:1:1"),
        "{err}"
    );
}

#[test]
fn override_files_are_refused() {
    for name in [
        "override.tf",
        "main_override.tf",
        "override.tf.json",
        "main_override.tf.json",
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = if name.ends_with(".json") { "{}" } else { "" };
        write(
            dir.path(),
            &[("main.tf", "variable \"x\" {}\n"), (name, text)],
        );
        let err = Module::load(dir.path(), &context())
            .expect_err("an override file")
            .to_string();
        assert!(
            err.contains(&format!(
                "{name} is an override file, which forge does not merge"
            )) && err.contains(&format!("{name}:1:1")),
            "{err}"
        );
        assert!(
            err.contains("make the changes in the file that declares those blocks"),
            "{err}"
        );
    }
}

#[test]
fn json_errors_name_the_json_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[(
            "main.tf.json",
            "{\n  \"resource\": {\"terraform_data\": {\"a\": {\"provider\": 1}}},\n  \"variable\": {\"v\": {\"type\": \"lisst(string)\"}},\n  \"outputs\": {}\n}\n",
        )],
    );
    let err = Module::load(dir.path(), &context())
        .expect_err("broken")
        .to_string();
    assert!(
        err.contains(
            "`provider` must be given as a string holding a reference or keyword, not a number"
        ) && err.contains("main.tf.json:2:53"),
        "{err}"
    );
    // With the shape fixed, the next problems are the model's, still located in the JSON.
    write(
        dir.path(),
        &[(
            "main.tf.json",
            "{\n  \"variable\": {\"v\": {\"type\": \"lisst(string)\"}},\n  \"outputs\": {}\n}\n",
        )],
    );
    let err = Module::load(dir.path(), &context())
        .expect_err("broken")
        .to_string();
    assert!(err.contains("main.tf.json:2:"), "{err}");
    assert!(
        err.contains("unknown block type `outputs`")
            && err.contains("did you mean `output`?")
            && err.contains("main.tf.json:3:4"),
        "{err}"
    );
}
