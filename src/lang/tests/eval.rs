//! Evaluation beyond what `terraform console` can show: scopes and references, unknown and
//! sensitive propagation, bodies and dynamic blocks, type constraints, diagnostics, the
//! function host, and robustness against broken input.

use std::path::Path;

use forge_lang::eval::eval_body;
use forge_lang::types::TypeConstraint;
use forge_lang::{FunctionHost, RefStep, Scope, eval, parse_expr_str, parse_str, render_console};
use forge_provider::Value;

fn expr(src: &str) -> forge_lang::Expr {
    parse_expr_str(Path::new("test.tf"), src.to_string())
        .unwrap_or_else(|d| panic!("{src} does not parse:\n{d}"))
}

fn scope() -> Scope<'static> {
    Scope::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/files"))
        .with_root(
            "var",
            Value::object([
                ("environment", Value::string("production")),
                ("count", Value::Number(3.0)),
                (
                    "names",
                    Value::Tuple(vec![Value::string("a"), Value::string("b")]),
                ),
                ("pending", Value::Unknown),
                ("password", Value::string("hunter2").sensitive()),
                (
                    "tags",
                    Value::Map([("team".to_string(), Value::string("core"))].into()),
                ),
                ("nothing", Value::Null),
            ]),
        )
        .with_root(
            "aws_sqs_queue",
            Value::object([(
                "jobs",
                Value::object([
                    ("arn", Value::Unknown),
                    ("name", Value::string("jobs-queue")),
                ]),
            )]),
        )
        .with_root("local", Value::object([("prefix", Value::string("app"))]))
}

fn ok(src: &str) -> Value {
    eval(&expr(src), &scope()).unwrap_or_else(|d| panic!("{src} failed:\n{d}"))
}

fn err(src: &str) -> String {
    match eval(&expr(src), &scope()) {
        Ok(v) => panic!("{src} should fail but gave {}", render_console(&v)),
        Err(d) => d.to_string(),
    }
}

// --- references and scope -------------------------------------------------------------

#[test]
fn roots_resolve_through_the_scope() {
    assert_eq!(ok("var.environment"), Value::string("production"));
    assert_eq!(
        ok("\"${local.prefix}-${var.environment}\""),
        Value::string("app-production")
    );
    assert_eq!(ok("aws_sqs_queue.jobs.name"), Value::string("jobs-queue"));
    assert_eq!(ok("var.names[1]"), Value::string("b"));
    assert_eq!(ok("var.tags[\"team\"]"), Value::string("core"));
}

#[test]
fn missing_root_says_where_and_suggests_a_name() {
    let text = err("vr.environment");
    assert!(text.contains("unknown name `vr`"), "{text}");
    assert!(text.contains("test.tf:1:1"), "{text}");
    assert!(text.contains("did you mean `var`?"), "{text}");
}

#[test]
fn missing_attribute_points_at_it_and_suggests_the_closest() {
    let text = err("var.enviroment");
    assert!(text.contains("no variable named `enviroment`"), "{text}");
    assert!(
        text.contains("= the module declares: count, environment,"),
        "{text}"
    );
    assert!(text.contains("did you mean `environment`?"), "{text}");
    assert!(
        text.contains("test.tf:1:5"),
        "the marker points at the attribute: {text}"
    );
}

#[test]
fn missing_names_are_described_in_their_own_terms() {
    let text = err("aws_sqs_queue.jbs.arn");
    assert!(
        text.contains("no `aws_sqs_queue` resource named `jbs` is declared"),
        "{text}"
    );
    assert!(text.contains("did you mean `jobs`?"), "{text}");
    let text = err("local.prefx");
    assert!(
        text.contains("no local value named `prefx`") && text.contains("did you mean `prefix`?"),
        "{text}"
    );
    let text = err("each.value");
    assert!(
        text.contains("unknown name `each`") && text.contains("sets for_each"),
        "{text}"
    );
}

#[test]
fn errors_point_at_the_offending_sub_expression() {
    let text = err("[1, 2, 1 + \"x\"]");
    assert!(text.contains("test.tf:1:12"), "{text}");
    assert!(text.contains("must be a number"), "{text}");
    assert!(text.contains("hint:"), "{text}");
    let text = err("upper(\"a\", 2)");
    assert!(text.contains("upper"), "{text}");
    let text = err("uper(\"a\")");
    assert!(text.contains("did you mean `upper`?"), "{text}");
}

#[test]
fn references_list_traversals_with_static_steps() {
    let e = expr(
        "\"${var.environment}-${aws_sqs_queue.jobs.arn}\" == local.names[0] ? each.value : data.x.y[var.i]",
    );
    let refs: Vec<(String, Vec<RefStep>)> = e
        .references()
        .into_iter()
        .map(|r| (r.root, r.steps))
        .collect();
    let roots: Vec<&str> = refs.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        roots,
        ["var", "aws_sqs_queue", "local", "each", "data", "var"]
    );
    assert_eq!(
        refs[1].1,
        vec![RefStep::Attr("jobs".into()), RefStep::Attr("arn".into())]
    );
    assert_eq!(
        refs[2].1,
        vec![
            RefStep::Attr("names".into()),
            RefStep::Index(Some(Value::Number(0.0)))
        ]
    );
    assert_eq!(
        refs[4].1,
        vec![
            RefStep::Attr("x".into()),
            RefStep::Attr("y".into()),
            RefStep::Index(None)
        ]
    );
}

#[test]
fn references_skip_names_bound_by_for() {
    let e = expr("[for k, v in var.m : \"${k}${v.name}${local.x}\" if v != null]");
    let roots: Vec<String> = e.references().into_iter().map(|r| r.root).collect();
    assert_eq!(roots, ["var", "local"]);
    let e = expr("\"%{ for s in var.list }${s}${var.sep}%{ endfor }\"");
    let roots: Vec<String> = e.references().into_iter().map(|r| r.root).collect();
    assert_eq!(roots, ["var", "var"]);
}

#[test]
fn traversal_and_list_helpers() {
    let t = expr("aws_s3_bucket.files")
        .as_traversal()
        .expect("a traversal");
    assert_eq!(t.root, "aws_s3_bucket");
    assert_eq!(t.first_attr(), Some("files"));
    assert!(expr("upper(\"x\")").as_traversal().is_none());
    let items = expr("[aws_s3_bucket.a, tags]").as_list().expect("a list");
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].source_text(), "tags");
    let body = parse_str(Path::new("x.tf"), "a =   1 + 2\n".to_string()).expect("parses");
    assert_eq!(body.attributes[0].expr.location().col, 7);
}

// --- unknown values ---------------------------------------------------------------------

#[test]
fn unknown_propagates_through_every_construct() {
    for src in [
        "var.pending + 1",
        "var.pending == 1",
        "!var.pending",
        "-var.pending",
        "upper(var.pending)",
        "\"x-${var.pending}\"",
        "var.pending ? 1 : 2",
        "[for x in var.pending : x]",
        "var.pending[0]",
        "var.pending.attr",
        "var.pending[*].id",
        "aws_sqs_queue.jobs.arn",
        "jsonencode({ a = var.pending })",
        "format(\"%s\", var.pending)",
        "\"%{ if var.pending }yes%{ endif }\"",
        "try(var.pending, \"x\")",
        "can(var.pending)",
        "tostring(var.pending)",
        "{ (var.pending) = 1 }",
        "[for x in [1, var.pending] : x if x > 0]",
        "{for x in [1, var.pending] : \"k\" => x if x > 0}",
        "[for x in [1, 2] : x if var.pending]",
    ] {
        assert_eq!(ok(src), Value::Unknown, "{src}");
    }
}

#[test]
fn known_parts_stay_known_next_to_unknown_ones() {
    assert_eq!(ok("aws_sqs_queue.jobs.name"), Value::string("jobs-queue"));
    assert_eq!(ok("length([var.pending, 1])"), Value::Number(2.0));
    assert_eq!(ok("[var.pending, 1][1]"), Value::Number(1.0));
    assert_eq!(ok("false && var.pending"), Value::Bool(false));
    assert_eq!(ok("true || var.pending"), Value::Bool(true));
    assert_eq!(ok("true ? 1 : var.pending"), Value::Number(1.0));
    assert_eq!(
        render_console(&ok("[for x in [1, var.pending] : x]")),
        "[\n  1,\n  (known after apply),\n]"
    );
    assert_eq!(
        render_console(&ok("{ a = var.pending, b = 1 }")),
        "{\n  \"a\" = (known after apply)\n  \"b\" = 1\n}"
    );
}

// --- sensitive values -------------------------------------------------------------------

#[test]
fn sensitive_marks_spread_to_results() {
    for src in [
        "var.password",
        "upper(var.password)",
        "\"pw=${var.password}\"",
        "var.password == \"x\"",
        "length(var.password)",
        "var.password != null ? 1 : 0",
        "jsonencode({ p = var.password })",
        "[for c in [var.password] : c][0]",
    ] {
        let v = ok(src);
        assert!(v.is_sensitive(), "{src} should be sensitive, got {v:?}");
        assert_eq!(render_console(&v), "(sensitive value)");
    }
    assert!(!ok("nonsensitive(var.password)").contains_sensitive());
    // A collection holding a secret is not wholly secret: its other parts stay visible.
    let v = ok("{ a = var.password, b = 1 }");
    assert!(!v.is_sensitive() && v.contains_sensitive());
    assert_eq!(
        render_console(&v),
        "{\n  \"a\" = (sensitive value)\n  \"b\" = 1\n}"
    );
}

/// As `terraform console` answers (checked with terraform 1.11.4): `length` and `keys`
/// keep only the collection's own mark, so a count of items or the key names of a map
/// holding a secret stay usable (`count = length(...)`), while the secret itself stays
/// hidden.
#[test]
fn length_and_keys_see_only_the_collections_own_mark() {
    assert_eq!(ok("length([var.password, \"b\"])"), Value::Number(2.0));
    assert_eq!(ok("length({ a = var.password })"), Value::Number(1.0));
    assert_eq!(
        render_console(&ok("keys({ a = var.password })")),
        "[\n  \"a\",\n]"
    );
    assert!(ok("length(sensitive([1, 2]))").is_sensitive());
    assert!(ok("keys(sensitive({ a = 1 }))").is_sensitive());
    // Other functions are still conservative: the secret's element makes the result secret.
    assert!(ok("concat([var.password], [\"b\"])").contains_sensitive());
}

// --- bodies -----------------------------------------------------------------------------

#[test]
fn bodies_evaluate_attributes_blocks_and_dynamic_blocks() {
    let body = parse_str(
        Path::new("main.tf"),
        r#"
name = "${local.prefix}-sg"
ingress {
  port = 22
}
dynamic "ingress" {
  for_each = { http = 80, https = 443 }
  iterator = rule
  content {
    port = rule.value
    desc = rule.key
  }
}
dynamic "egress" {
  for_each = var.names
  content {
    to = egress.value
  }
}
"#
        .to_string(),
    )
    .expect("parses");
    let v = eval_body(&body, &scope()).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(v.get("name"), Some(&Value::string("app-sg")));
    let ingress = v
        .get("ingress")
        .and_then(Value::as_seq)
        .expect("ingress blocks");
    assert_eq!(ingress.len(), 3);
    assert_eq!(ingress[1].get("desc"), Some(&Value::string("http")));
    assert_eq!(ingress[2].get("port"), Some(&Value::Number(443.0)));
    let egress = v
        .get("egress")
        .and_then(Value::as_seq)
        .expect("egress blocks");
    assert_eq!(egress[1].get("to"), Some(&Value::string("b")));
}

#[test]
fn dynamic_blocks_over_unknown_or_null_collections() {
    let body = parse_str(
        Path::new("main.tf"),
        "dynamic \"rule\" {\n  for_each = var.pending\n  content {\n    x = rule.value\n  }\n}\nsetting {\n  a = 1\n}\n".to_string(),
    )
    .expect("parses");
    let v = eval_body(&body, &scope()).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(
        v.get("rule"),
        Some(&Value::Unknown),
        "how many blocks is not known yet"
    );
    assert_eq!(
        v.get("setting").and_then(Value::as_seq).map(<[Value]>::len),
        Some(1)
    );
    let body = parse_str(
        Path::new("main.tf"),
        "dynamic \"rule\" {\n  for_each = var.nothing\n  content {}\n}\ndynamic \"x\" {\n  content {}\n}\n".to_string(),
    )
    .expect("parses");
    let text = eval_body(&body, &scope())
        .expect_err("null for_each and missing for_each")
        .to_string();
    assert!(
        text.contains("for_each is null") && text.contains("main.tf:2:3"),
        "{text}"
    );
    assert!(text.contains("dynamic \"x\" has no for_each"), "{text}");
}

#[test]
fn body_errors_are_all_reported_with_locations() {
    let body = parse_str(
        Path::new("main.tf"),
        "a = var.nope\nb = 1\nc = nofn()\n".to_string(),
    )
    .expect("parses");
    let d = eval_body(&body, &scope()).expect_err("two errors");
    assert_eq!(d.0.len(), 2, "{d}");
    let text = d.to_string();
    assert!(
        text.contains("main.tf:1:") && text.contains("main.tf:3:"),
        "{text}"
    );
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let d = parse_str(
        Path::new("stacks/app/main.tf"),
        "a = 1\nb = [1, 2\n".to_string(),
    )
    .expect_err("broken");
    let text = d.to_string();
    assert!(text.contains("stacks/app/main.tf:"), "{text}");
    assert!(text.contains("invalid HCL syntax"), "{text}");
    let body = parse_str(
        Path::new("x.tf"),
        "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"x\"\n}\n".to_string(),
    )
    .expect("ok");
    assert_eq!(body.blocks[0].labels, ["aws_s3_bucket", "b"]);
    assert_eq!(body.blocks[0].body.attributes[0].location.line, 2);
}

// --- files and templates ------------------------------------------------------------------

#[test]
fn pathological_function_input_is_an_error_not_a_crash() {
    for src in [
        "cidrsubnet(\"::/0\", 0, 0)",
        "cidrsubnets(\"::/0\", 1, 1, 1)",
        "cidrsubnets(\"8000::/1\", 1, 1)",
        "cidrhost(\"::/0\", -1)",
        "format(\"%99999999999999999999d\", 1)",
        "format(\"%[0]d\", 1)",
        "substr(\"abc\", -10, 2)",
        "range(0, 1e9)",
        "parseint(\"zzzzzzzzzzzzzzzzzzzzzzzzzzzz\", 36)",
    ] {
        let e = expr(src);
        let _ = eval(&e, &scope());
    }
    assert_eq!(ok("cidrsubnet(\"::/0\", 0, 0)"), Value::string("::/0"));
    assert_eq!(
        render_console(&ok("cidrsubnets(\"::/0\", 1, 1)")),
        "tolist([\n  \"::/1\",\n  \"8000::/1\",\n])"
    );
    assert!(err("cidrsubnets(\"::/0\", 1, 1, 1)").contains("not enough remaining address space"));
}

#[test]
fn templatestring_renders_a_string_value_with_its_own_variables() {
    let s = scope().with_root(
        "local",
        Value::object([(
            "tpl",
            Value::string("Hi ${name}!%{ for x in xs } ${x}%{ endfor }"),
        )]),
    );
    let v = eval(
        &expr("templatestring(local.tpl, { name = var.environment, xs = [1, 2] })"),
        &s,
    )
    .expect("renders");
    assert_eq!(v, Value::string("Hi production! 1 2"));
    let d = eval(&expr("templatestring(local.tpl, { name = 1 })"), &s).expect_err("xs is missing");
    assert!(d.to_string().contains("unknown name `xs`"), "{d}");
    assert_eq!(
        eval(
            &expr("templatestring(local.tpl, { name = var.pending, xs = [] })"),
            &s
        )
        .expect("unknown"),
        Value::Unknown
    );
}

#[test]
fn templatefile_cannot_recurse() {
    let dir = std::env::temp_dir().join(format!("forge-lang-tpl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("self.tpl"), "x${templatefile(\"self.tpl\", {})}")
        .expect("write template");
    let d =
        eval(&expr("templatefile(\"self.tpl\", {})"), &Scope::new(&dir)).expect_err("recursion");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        d.to_string()
            .contains("templatefile cannot be called from inside a template file"),
        "{d}"
    );
}

#[test]
fn file_and_templatefile_resolve_against_base_dir() {
    assert_eq!(ok("file(\"hello.txt\")"), Value::string("Hello, file!\n"));
    assert_eq!(
        ok("templatefile(\"greeting.tpl\", { name = var.environment, items = [\"x\"] })"),
        Value::string("Hello, production!\n- 0: x\nend\n")
    );
    let text = err("templatefile(\"greeting.tpl\", { name = \"x\" })");
    assert!(
        text.contains("items"),
        "the error names the missing variable: {text}"
    );
    let text = err("file(\"nope.txt\")");
    assert!(text.contains("nope.txt"), "{text}");
}

// --- function host --------------------------------------------------------------------------

struct Terragrunt;

impl FunctionHost for Terragrunt {
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match name {
            "find_in_parent_folders" => Some(Ok(Value::string(format!(
                "../{}",
                args.first().and_then(Value::as_str).unwrap_or("root.hcl")
            )))),
            "get_env" => Some(Err("variable not set".into())),
            _ => None,
        }
    }
}

#[test]
fn the_host_gets_first_refusal_on_function_names() {
    let host = Terragrunt;
    let mut s = scope();
    s.host = Some(&host);
    let v = eval(&expr("find_in_parent_folders(\"env.hcl\")"), &s).expect("host function");
    assert_eq!(v, Value::string("../env.hcl"));
    let d = eval(&expr("get_env(\"X\")"), &s).expect_err("host error");
    assert!(d.to_string().contains("get_env: variable not set"), "{d}");
    assert_eq!(
        eval(&expr("upper(\"a\")"), &s).expect("builtin"),
        Value::string("A")
    );
}

// --- type constraints ----------------------------------------------------------------------

fn ty(src: &str) -> TypeConstraint {
    TypeConstraint::parse(&expr(src)).unwrap_or_else(|d| panic!("{src}: {d}"))
}

#[test]
fn type_constraints_parse_and_convert() {
    let t = ty(
        "list(object({ name = string, port = optional(number, 80), tags = optional(map(string)) }))",
    );
    let v = t
        .convert(ok(
            "[{ name = \"a\" }, { name = \"b\", port = \"8080\", extra = true }]",
        ))
        .expect("converts");
    assert_eq!(
        render_console(&v),
        "tolist([\n  {\n    \"name\" = \"a\"\n    \"port\" = 80\n    \"tags\" = null\n  },\n  {\n    \"name\" = \"b\"\n    \"port\" = 8080\n    \"tags\" = null\n  },\n])"
    );
    assert_eq!(
        ty("set(string)")
            .convert(ok("[\"b\", \"a\", \"b\"]"))
            .expect("set"),
        Value::Set(vec![Value::string("a"), Value::string("b")])
    );
    assert_eq!(
        ty("map(number)").convert(ok("{ a = \"1\" }")).expect("map"),
        Value::Map([("a".into(), Value::Number(1.0))].into())
    );
    assert_eq!(
        ty("tuple([string, bool])")
            .convert(ok("[1, \"true\"]"))
            .expect("tuple"),
        Value::Tuple(vec![Value::string("1"), Value::Bool(true)])
    );
    assert_eq!(
        ty("any").convert(ok("[1]")).expect("any"),
        Value::Tuple(vec![Value::Number(1.0)])
    );
    assert_eq!(
        ty("string").convert(Value::Unknown).expect("unknown"),
        Value::Unknown
    );
    assert!(
        ty("string")
            .convert(Value::string("s").sensitive())
            .expect("sensitive")
            .is_sensitive()
    );
}

#[test]
fn type_conversion_errors_say_what_was_expected() {
    let e = ty("object({ name = string })")
        .convert(ok("{ other = 1 }"))
        .expect_err("missing attribute");
    assert!(e.contains("attribute \"name\" is required"), "{e}");
    let e = ty("number")
        .convert(Value::string("abc"))
        .expect_err("not a number");
    assert!(e.contains("\"abc\" is not a number"), "{e}");
    let e = ty("list(number)")
        .convert(ok("[1, \"x\"]"))
        .expect_err("bad element");
    assert!(e.contains("[1]"), "the error names the element: {e}");
    for bad in [
        "strin",
        "list",
        "list(string, number)",
        "optional(string)",
        "object(string)",
        "\"string\"",
    ] {
        let d = TypeConstraint::parse(&expr(bad)).expect_err(bad);
        assert!(
            d.to_string().contains("invalid type constraint"),
            "{bad}: {d}"
        );
    }
}

// --- robustness ----------------------------------------------------------------------------

/// A small deterministic generator (xorshift) so the fuzz test is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

#[test]
fn random_and_broken_input_never_panics() {
    let atoms = [
        "1",
        "-0",
        "\"s\"",
        "null",
        "true",
        "var.names",
        "var.pending",
        "var.password",
        "var.nothing",
        "[]",
        "{}",
        "[1, \"a\"]",
        "{ a = 1 }",
        "local.prefix",
        "var.tags",
        "\"${",
        "%{",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "?",
        ":",
        "...",
        "[*]",
        ".*",
        ".a",
        "[0]",
        "[-1]",
        "for",
        "in",
        "if",
        "=>",
        "+",
        "-",
        "*",
        "/",
        "%",
        "==",
        "&&",
        "||",
        "!",
        ",",
        "upper(",
        "length(",
        "merge(",
        "tolist(",
        "jsondecode(",
        "cidrsubnet(",
        "format(",
        "\"%d\"",
        "regex(",
        "\"[\"",
        "range(",
        "1e308",
        "/0",
        "try(",
        "can(",
        "x",
        "<<EOT\n",
        "\nEOT",
        "\"\\u{0}\"",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    let s = scope();
    let mut evaluated = 0;
    for _ in 0..3000 {
        let n = 1 + rng.next() % 8;
        let src: String = (0..n)
            .map(|_| rng.pick(&atoms))
            .collect::<Vec<_>>()
            .join(" ");
        let parsed = parse_expr_str(Path::new("fuzz.tf"), src.clone());
        if let Ok(e) = parsed {
            match eval(&e, &s) {
                Ok(v) => {
                    let _ = render_console(&v);
                }
                Err(d) => {
                    for one in d.iter() {
                        assert!(one.location.is_some() && one.hint.is_some(), "{src}\n{one}");
                    }
                }
            }
            evaluated += 1;
        }
        let _ = parse_str(Path::new("fuzz.tf"), format!("a = {src}\n"));
    }
    assert!(
        evaluated > 100,
        "the generator should produce some valid expressions, got {evaluated}"
    );
    // Deep nesting gives a diagnostic, not a stack overflow: from the parser when the
    // brackets are absurdly deep, from the evaluator when the expression is merely deep.
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let d = parse_expr_str(Path::new("deep.tf"), deep).expect_err("too deep to parse");
    assert!(d.to_string().contains("nesting depth"), "{d}");
    assert!(
        parse_str(
            Path::new("deep.tf"),
            format!("a = {}1{}\n", "(".repeat(300), ")".repeat(300))
        )
        .is_err()
    );
    // hcl-edit caps brackets at 64 levels and operator chains at 128; the deepest
    // expression it accepts must evaluate without exhausting a test thread's stack.
    let chain = vec!["1"; 120].join(" + ");
    let deep = format!("{}{chain}{}", "[".repeat(62), "]".repeat(62));
    let e = parse_expr_str(Path::new("deep.tf"), deep).expect("deep but legal");
    let mut v = eval(&e, &s)
        .map_err(|d| d.0[0].summary.clone())
        .expect("evaluates");
    for _ in 0..62 {
        v = v
            .as_seq()
            .and_then(|xs| xs.first().cloned())
            .expect("a one-element tuple");
    }
    assert_eq!(v, Value::Number(120.0));
}

/// A secret that does not fit its variable's type must not be quoted in the error, which
/// reaches the terminal; a plain value still is, so the user sees what was wrong.
#[test]
fn a_failed_conversion_never_quotes_a_sensitive_value() {
    let secret = Value::string("hunter2-not-a-number").sensitive();
    let err = TypeConstraint::Number
        .convert(secret)
        .expect_err("not a number");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(
        err.contains("number required") && err.contains("sensitive"),
        "{err}"
    );
    let nested = Value::Object([("port".to_string(), Value::string("hunter2").sensitive())].into());
    let ty = TypeConstraint::Map(Box::new(TypeConstraint::Bool));
    let err = ty.convert(nested).expect_err("not a bool");
    assert!(
        !err.contains("hunter2") && err.contains("at [\"port\"]"),
        "{err}"
    );
    let plain = TypeConstraint::Number
        .convert(Value::string("abc"))
        .expect_err("not a number");
    assert!(plain.contains("\"abc\""), "{plain}");
    assert_eq!(
        TypeConstraint::Number.convert(Value::string("7").sensitive()),
        Ok(Value::Number(7.0).sensitive())
    );
}

/// The keys of a secret map are secret too: a missing key's "did you mean" does not offer
/// one of them.
#[test]
fn a_missing_key_of_a_secret_map_offers_none_of_its_keys() {
    let scope = scope().with_root(
        "secret",
        Value::object([(
            "keys",
            Value::object([("passphrase", Value::Number(1.0))]).sensitive(),
        )]),
    );
    for src in [
        "secret.keys[\"passphrse\"]",
        "secret.keys.passphrse",
        "lookup(secret.keys, \"passphrse\")",
    ] {
        let e = match eval(&expr(src), &scope) {
            Ok(v) => panic!("{src} should fail but gave {}", render_console(&v)),
            Err(d) => d.to_string(),
        };
        assert!(
            !e.contains("passphrase"),
            "{src} offered a secret key:\n{e}"
        );
        assert!(
            e.contains("sensitive"),
            "{src} says why nothing is offered:\n{e}"
        );
    }
    // Not secret: the hint is still given.
    let e = err("{ passphrase = 1 }[\"passphrse\"]");
    assert!(e.contains("did you mean \"passphrase\""), "{e}");
}

/// Errors from functions, operators and conditions handed a secret do not quote it either.
#[test]
fn errors_from_expressions_over_a_secret_never_quote_it() {
    for src in [
        "tonumber(var.password)",
        "tobool(var.password)",
        "var.password + 1",
        "var.password ? 1 : 2",
        "jsondecode(var.password)",
        "base64decode(var.password)",
        "regex(\"^x\", var.password)",
        "cidrsubnet(var.password, 8, 1)",
        "var.password[0]",
        "var.password.x",
        "[for c in var.password : c]",
        "file(var.password)",
        // A secret used as a key or an index, and the keys of a secret map, which a
        // "did you mean" hint would otherwise offer.
        "{ a = 1 }[var.password]",
        "{ hunter = 1 }[var.password]",
        "[1, 2][length(var.password)]",
        "lookup({ a = 1 }, var.password)",
    ] {
        let e = err(src);
        assert!(
            !e.replace("var.password", "").contains("hunter2"),
            "{src} quoted the secret:\n{e}"
        );
    }
}
