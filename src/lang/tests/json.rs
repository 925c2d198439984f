//! The JSON front-end (`*.tf.json`): every JSON value read as an expression gives what the
//! native-syntax equivalent gives, strings are templates (or literals, or references, as
//! the spec says), and every diagnostic names `file:line:col` in the JSON.

use std::path::Path;

use forge_lang::eval::eval_body;
use forge_lang::{
    BodySpec, Diagnostics, Scope, ValueMode, parse_json_str, parse_str, render_console,
};
use forge_provider::Value;

fn scope() -> Scope<'static> {
    Scope::new(".")
        .with_root(
            "var",
            Value::object([
                ("name", Value::string("jobs")),
                ("n", Value::Number(3.0)),
                (
                    "names",
                    Value::Tuple(vec![Value::string("a"), Value::string("b")]),
                ),
                ("on", Value::Bool(true)),
            ]),
        )
        .with_root("local", Value::object([("k", Value::string("key"))]))
}

fn json(text: &str, spec: &BodySpec) -> Result<forge_lang::Body, Diagnostics> {
    parse_json_str(Path::new("m/main.tf.json"), text.to_string()).and_then(|f| f.body(spec))
}

/// The body of a JSON file read with `spec`, evaluated, against the native file's.
fn assert_same_with(spec: &BodySpec, json_text: &str, hcl_text: &str) {
    let j = json(json_text, spec).unwrap_or_else(|d| panic!("{json_text} does not read:\n{d}"));
    let h = parse_str(Path::new("m/main.tf"), hcl_text.to_string())
        .unwrap_or_else(|d| panic!("{hcl_text} does not parse:\n{d}"));
    let jv =
        eval_body(&j, &scope()).unwrap_or_else(|d| panic!("{json_text} does not evaluate:\n{d}"));
    let hv =
        eval_body(&h, &scope()).unwrap_or_else(|d| panic!("{hcl_text} does not evaluate:\n{d}"));
    assert_eq!(
        render_console(&jv),
        render_console(&hv),
        "JSON:\n{json_text}\nHCL:\n{hcl_text}"
    );
    assert_eq!(jv, hv);
}

fn assert_same(json_text: &str, hcl_text: &str) {
    assert_same_with(&BodySpec::default(), json_text, hcl_text);
}

fn errors(text: &str, spec: &BodySpec) -> String {
    match json(text, spec) {
        Ok(_) => panic!("{text} was read without an error"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn literals_arrays_and_objects() {
    assert_same(
        r#"{"a": 1, "b": -2.5, "c": 1e3, "d": true, "e": false, "f": null, "g": [1, "x", [true]], "h": {"k": "v", "n": {"m": 0}}}"#,
        r#"
a = 1
b = -2.5
c = 1e3
d = true
e = false
f = null
g = [1, "x", [true]]
h = { k = "v", n = { m = 0 } }
"#,
    );
}

#[test]
fn strings_are_templates() {
    assert_same(
        r#"{
  "plain": "hello",
  "interp": "${var.name}-queue",
  "alone": "${var.n}",
  "list": "${var.names}",
  "arith": "${var.n * 2 + 1}",
  "cond": "%{ if var.on }yes%{ else }no%{ endif }",
  "loop": "%{ for x in var.names }<${x}>%{ endfor }",
  "strip": "a %{~ if var.on ~} b %{~ endif ~} c",
  "nested": "${upper(\"inner ${var.name}\")}",
  "escaped": "$${not} %%{ nor } ${var.n}",
  "funcs": "${join(\",\", [for s in var.names : upper(s)])}",
  "keys": {"${local.k}": 1, "plain-key": 2}
}"#,
        r#"
plain = "hello"
interp = "${var.name}-queue"
alone = "${var.n}"
list = "${var.names}"
arith = "${var.n * 2 + 1}"
cond = "%{ if var.on }yes%{ else }no%{ endif }"
loop = "%{ for x in var.names }<${x}>%{ endfor }"
strip = "a %{~ if var.on ~} b %{~ endif ~} c"
nested = "${upper("inner ${var.name}")}"
escaped = "$${not} %%{ nor } ${var.n}"
funcs = "${join(",", [for s in var.names : upper(s)])}"
keys = { "${local.k}" = 1, "plain-key" = 2 }
"#,
    );
}

#[test]
fn json_escapes_reach_the_value_as_characters() {
    // In JSON a backslash is JSON's escape; the template itself has no escapes of its own.
    assert_same(
        r#"{"q": "say \"hi\"", "path": "C:\\dir\\file", "nl": "a\nb\tc", "u": "\u00e9\u2603 \ud83d\ude00", "slash": "a\/b", "raw": "é☃"}"#,
        "q = \"say \\\"hi\\\"\"\npath = \"C:\\\\dir\\\\file\"\nnl = \"a\\nb\\tc\"\nu = \"é☃ 😀\"\nslash = \"a/b\"\nraw = \"é☃\"\n",
    );
}

#[test]
fn strip_markers_next_to_line_breaks_trim_as_in_template_text() {
    // Terraform 1.11 gives "a \n b" and "x\nyz": before a marker the trim stops at the line
    // break, after one it takes the line break.
    let body = json(r#"{"s": "a \n  %{~ if var.on ~}  \n b%{ endif }", "t": ["x\n  ${~ \"y\" ~}  \nz"], "JSON": "JSON\n ${~ 1}\nJSON"}"#, &BodySpec::default()).expect("reads");
    let v = eval_body(&body, &scope()).expect("evaluates");
    assert_eq!(v.get("s"), Some(&Value::string("a \n b")));
    assert_eq!(
        v.get("t"),
        Some(&Value::Tuple(vec![Value::string("x\nyz")]))
    );
    assert_eq!(
        v.get("JSON"),
        Some(&Value::string("JSON\n1\nJSON")),
        "a line equal to the heredoc marker does not end it"
    );
}

#[test]
fn literal_mode_keeps_template_sequences() {
    let spec = BodySpec::default().default_mode(ValueMode::Literal);
    assert_same_with(
        &spec,
        r#"{"d": "${var.name} %{ x }", "o": {"${k}": ["${v}"]}}"#,
        r#"
d = "$${var.name} %%{ x }"
o = { "$${k}" = ["$${v}"] }
"#,
    );
}

#[test]
fn reference_mode_reads_the_string_as_native_syntax() {
    let spec = BodySpec::default()
        .mode("provider", ValueMode::Reference)
        .mode("depends_on", ValueMode::Reference)
        .mode("type", ValueMode::Reference);
    let body = json(r#"{"provider": "aws.west", "depends_on": ["aws_s3_bucket.b", "module.m"], "type": "map(list(string))"}"#, &spec).expect("reads");
    let provider = body
        .attribute("provider")
        .expect("provider")
        .expr
        .as_traversal()
        .expect("a traversal");
    assert_eq!(
        (provider.root.as_str(), provider.first_attr()),
        ("aws", Some("west"))
    );
    let deps: Vec<String> = body
        .attribute("depends_on")
        .expect("depends_on")
        .expr
        .as_list()
        .expect("a list")
        .iter()
        .map(|e| e.as_traversal().expect("a traversal").root)
        .collect();
    assert_eq!(deps, ["aws_s3_bucket", "module"]);
    let ty = forge_lang::TypeConstraint::parse(&body.attribute("type").expect("type").expr)
        .expect("a type");
    let hcl = parse_str(Path::new("t.tf"), "type = map(list(string))\n".into()).expect("parses");
    assert_eq!(
        ty,
        forge_lang::TypeConstraint::parse(&hcl.attribute("type").expect("type").expr)
            .expect("a type")
    );
}

#[test]
fn blocks_with_labels_and_arrays() {
    let inner = BodySpec::default().block("rule", 0, |_| BodySpec::default());
    let spec = BodySpec::default()
        .block("thing", 2, move |_| inner.clone())
        .block("single", 0, |_| BodySpec::default());
    let body = json(
        r#"{
  "//": "generated",
  "thing": {"a": {"one": {"x": 1, "rule": [{"p": 1}, {"p": 2}]}, "two": [{"x": 2}]}},
  "single": [{"y": 1}, {"y": 2}],
  "z": "${var.n}"
}"#,
        &spec,
    )
    .expect("reads");
    let things: Vec<(String, Vec<String>)> = body
        .blocks
        .iter()
        .map(|b| (b.ident.clone(), b.labels.clone()))
        .collect();
    assert_eq!(
        things,
        [
            (
                "thing".to_string(),
                vec!["a".to_string(), "one".to_string()]
            ),
            (
                "thing".to_string(),
                vec!["a".to_string(), "two".to_string()]
            ),
            ("single".to_string(), vec![]),
            ("single".to_string(), vec![]),
        ]
    );
    assert_eq!(body.blocks[0].body.blocks_of("rule").count(), 2);
    assert!(
        body.attribute("//").is_none(),
        "the comment property is ignored"
    );
    // The block stands where its name is written.
    assert_eq!(
        (body.blocks[1].location.line, body.blocks[1].location.col),
        (3, 67)
    );
    assert_eq!(
        (
            body.blocks[0].body.attributes[0].location.line,
            body.blocks[0].body.attributes[0].location.col
        ),
        (3, 28)
    );
}

#[test]
fn evaluation_errors_point_into_the_json() {
    let body = json(
        "{\n  \"a\": \"x\",\n  \"b\": \"id-${var.missing}\"\n}",
        &BodySpec::default(),
    )
    .expect("reads");
    let err = eval_body(&body, &scope())
        .expect_err("var.missing is not declared")
        .to_string();
    assert!(err.contains("m/main.tf.json:3:"), "{err}");
    assert!(
        err.contains("\"b\": \"id-${var.missing}\""),
        "the JSON line is shown: {err}"
    );
    let at = err
        .split("m/main.tf.json:3:")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|c| c.parse::<usize>().ok());
    assert_eq!(at, Some(18), "the name that is missing: {err}");
}

#[test]
fn wrong_json_is_located() {
    let err = errors("{\n  \"a\": 1,\n}", &BodySpec::default());
    assert!(
        err.contains("invalid JSON: expected a property name in double quotes"),
        "{err}"
    );
    assert!(err.contains("m/main.tf.json:3:1"), "{err}");
    let err = errors("{\"a\": tru}", &BodySpec::default());
    assert!(err.contains("m/main.tf.json:1:7"), "{err}");
    let err = errors("{\"a\": \"x\ny\"}", &BodySpec::default());
    assert!(
        err.contains("control character") && err.contains("m/main.tf.json:1:9"),
        "{err}"
    );
    let err = errors("[1]", &BodySpec::default());
    assert!(
        err.contains("must be an object, not an array") && err.contains("m/main.tf.json:1:1"),
        "{err}"
    );
}

#[test]
fn wrong_shapes_are_located_and_say_what_to_write() {
    let spec = BodySpec::default()
        .block("resource", 2, |_| BodySpec::default())
        .block("lifecycle", 0, |_| BodySpec::default())
        .mode("depends_on", ValueMode::Reference);
    let err = errors("{\n  \"resource\": {\"t\": \"oops\"}\n}", &spec);
    assert!(
        err.contains("`resource` blocks take label here")
            && err.contains("m/main.tf.json:2:21")
            && err.contains("\"<type>\""),
        "{err}"
    );
    let err = errors("{\"lifecycle\": true}", &spec);
    assert!(
        err.contains("`lifecycle` is a block here")
            && err.contains("not a bool")
            && err.contains("m/main.tf.json:1:15"),
        "{err}"
    );
    let err = errors("{\"depends_on\": [\"${a.b}\"]}", &spec);
    assert!(
        err.contains("without ${ }")
            && err.contains("write \"a.b\"")
            && err.contains("m/main.tf.json:1:17"),
        "{err}"
    );
    let err = errors("{\"depends_on\": [1]}", &spec);
    assert!(
        err.contains("must be a string holding a reference, not a number"),
        "{err}"
    );
    let err = errors("{\"x\": 1,\n \"x\": 2}", &spec);
    assert!(
        err.contains("argument `x` is given twice")
            && err.contains("m/main.tf.json:2:2")
            && err.contains("first given at m/main.tf.json:1:2"),
        "{err}"
    );
    let err = errors("{\"bad name\": 1}", &spec);
    assert!(err.contains("not a valid argument name"), "{err}");
    let err = errors("{\"a\": \"ok ${var.x\"}", &spec);
    assert!(
        err.contains("invalid template") && err.contains("m/main.tf.json:1:"),
        "{err}"
    );
}

#[test]
fn robust_against_deep_and_odd_input() {
    let deep = format!("{{\"a\": {}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(errors(&deep, &BodySpec::default()).contains("nested more than"));
    for text in [
        "",
        "{",
        "{\"a\"",
        "{\"a\":",
        "{\"a\": \"\\u12\"}",
        "{\"a\": \"\\ud800\"}",
        "{\"a\": 01}",
        "{\"a\": -}",
        "{\"a\": 1} x",
    ] {
        assert!(
            json(text, &BodySpec::default()).is_err(),
            "{text:?} should be refused"
        );
    }
}
