//! Hostile or mistaken input to functions ends in an error that names the call's place and
//! the limit met, never in a panic, an abort, a hang or exhausted memory (README "Limits").

use std::path::Path;

use forge_lang::{Scope, eval, parse_expr_str};
use forge_provider::Value;

/// The error `src` evaluates to (its whole text, location included), in `dir`.
fn error_in(dir: &Path, src: &str) -> String {
    let e = parse_expr_str(Path::new("limits.tf"), src.to_string())
        .unwrap_or_else(|d| panic!("{src}: {d}"));
    match eval(&e, &Scope::new(dir.to_path_buf())) {
        Ok(v) => panic!("{src} evaluated to {v:?}, expected an error"),
        Err(d) => d.to_string(),
    }
}

fn error(src: &str) -> String {
    error_in(Path::new("."), src)
}

fn assert_mentions(got: &str, parts: &[&str]) {
    for part in parts {
        assert!(got.contains(part), "expected {part:?} in:\n{got}");
    }
}

#[test]
fn format_precision_and_width_are_bounded() {
    assert_mentions(
        &error(r#"format("%.70000f", 1)"#),
        &["limits.tf:1:", "precision", "more than 10000"],
    );
    assert_mentions(
        &error(r#"format("%70000d", 1)"#),
        &["limits.tf:1:", "width", "more than 10000"],
    );
}

#[test]
fn indent_is_checked_before_it_allocates() {
    assert_mentions(
        &error("indent(1e300, \"a\\nb\")"),
        &["limits.tf:1:", "over forge's limit of 67108864 bytes"],
    );
}

#[test]
fn setproduct_size_is_checked_before_it_is_built() {
    assert_mentions(
        &error("setproduct(range(100), range(100), range(100), range(100), range(100))"),
        &["limits.tf:1:", "10000000000 elements", "limit of 1000000"],
    );
}

#[test]
fn yaml_alias_bombs_and_deep_nesting_are_errors() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        let row = [prev.as_str(); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{row}]\n"));
    }
    let src = format!(
        "yamldecode({})",
        serde_json::to_string(&bomb).expect("json")
    );
    assert_mentions(&error(&src), &["limits.tf:1:", "more than 1000000 values"]);

    // Deep nesting stops at the parser's own recursion limit, not the stack's.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let src = format!("yamldecode(\"{deep}\")");
    assert_mentions(&error(&src), &["limits.tf:1:", "recursion limit exceeded"]);
}

#[test]
fn a_small_alias_use_still_decodes() {
    let e = parse_expr_str(
        Path::new("limits.tf"),
        r#"yamldecode("base: &b {x: 1}\nuse: *b\n")"#.to_string(),
    )
    .expect("parse");
    let v = eval(&e, &Scope::new(std::path::PathBuf::from("."))).expect("eval");
    let x = v.get("use").and_then(|u| u.get("x")).cloned();
    assert_eq!(x, Some(Value::Number(1.0)));
}

#[test]
fn file_reads_regular_files_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("folder")).expect("mkdir");
    assert_mentions(
        &error_in(dir.path(), r#"file("folder")"#),
        &["limits.tf:1:", "not a regular file"],
    );
    // A FIFO would block a plain read forever.
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    assert_mentions(
        &error_in(dir.path(), r#"file("pipe")"#),
        &["limits.tf:1:", "not a regular file"],
    );
    assert_mentions(
        &error_in(dir.path(), r#"filemd5("pipe")"#),
        &["not a regular file"],
    );
}

#[test]
fn fileset_brace_expansion_is_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = format!("fileset(\".\", \"{}\")", "{a,b}".repeat(40));
    assert_mentions(
        &error_in(dir.path(), &src),
        &["limits.tf:1:", "more than 10000 patterns"],
    );
}

#[test]
fn set_functions_keep_terraform_equality() {
    let e = parse_expr_str(
        Path::new("limits.tf"),
        r#"[length(toset(["a", "b", "a"])), length(distinct([1, 1, 2, 0, -0])), length(setintersection(["a", "b", "c"], ["c", "a"])), length(setsubtract(["a", "b"], ["a"]))]"#
            .to_string(),
    )
    .expect("parse");
    let v = eval(&e, &Scope::new(std::path::PathBuf::from("."))).expect("eval");
    assert_eq!(
        v,
        Value::Tuple(vec![
            Value::Number(2.0),
            Value::Number(3.0),
            Value::Number(2.0),
            Value::Number(1.0),
        ])
    );
}
