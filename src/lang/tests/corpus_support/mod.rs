//! The differential corpus: expressions, Terraform's recorded answers, and running real
//! `terraform console` over them. Shared by the tests and the `record_corpus` example.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What Terraform (or forge) answers for one expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The value as `terraform console` prints it.
    Ok(String),
    /// An error; the text is informative only (both sides being errors is a match).
    Error(String),
}

impl Answer {
    pub fn matches(&self, other: &Answer) -> bool {
        match (self, other) {
            (Answer::Ok(a), Answer::Ok(b)) => a == b,
            (Answer::Error(_), Answer::Error(_)) => true,
            _ => false,
        }
    }
    pub fn to_json(&self, expr: &str) -> serde_json::Value {
        match self {
            Answer::Ok(v) => serde_json::json!({ "expr": expr, "ok": v }),
            Answer::Error(e) => serde_json::json!({ "expr": expr, "error": e }),
        }
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Ok(v) => write!(f, "{v}"),
            Answer::Error(e) => write!(f, "error: {e}"),
        }
    }
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The folder `file()` and `templatefile()` resolve against, on both sides.
pub fn files_dir() -> PathBuf {
    corpus_dir().join("files")
}

/// Reads a corpus file: one expression per line; `#` starts a comment line; an expression
/// spanning lines (heredocs) goes between a line `<<<` and a line `>>>`.
pub fn load_expressions(name: &str) -> Vec<String> {
    let path = corpus_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in text.lines() {
        match &mut block {
            Some(lines) => {
                if line == ">>>" {
                    out.push(lines.join("\n"));
                    block = None;
                } else {
                    lines.push(line);
                }
            }
            None => {
                if line == "<<<" {
                    block = Some(Vec::new());
                } else if !line.trim().is_empty() && !line.starts_with('#') {
                    out.push(line.to_string());
                }
            }
        }
    }
    assert!(
        block.is_none(),
        "{}: a `<<<` block is not closed with `>>>`",
        path.display()
    );
    out
}

/// Reads recorded answers (a JSON array of `{expr, ok}` / `{expr, error}`).
pub fn load_answers(name: &str) -> Vec<(String, Answer)> {
    let path = corpus_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    json.as_array()
        .unwrap_or_else(|| panic!("{}: expected a JSON array", path.display()))
        .iter()
        .map(|item| {
            let expr = item["expr"].as_str().expect("expr").to_string();
            let answer = match (item.get("ok"), item.get("error")) {
                (Some(v), _) => Answer::Ok(v.as_str().expect("ok is a string").to_string()),
                (_, Some(e)) => Answer::Error(e.as_str().unwrap_or("").to_string()),
                _ => panic!(
                    "{}: entry for {expr} has neither ok nor error",
                    path.display()
                ),
            };
            (expr, answer)
        })
        .collect()
}

pub fn save_answers(name: &str, answers: &[(String, Answer)]) {
    let json = serde_json::Value::Array(answers.iter().map(|(e, a)| a.to_json(e)).collect());
    let path = corpus_dir().join(name);
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&json).expect("json") + "\n",
    )
    .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Runs `terraform console` on one expression in `scratch`, a folder of this worker's own
/// (the console takes a state lock in its folder) holding copies of the fixture files.
/// Single-line expressions go through stdin; multi-line ones (which the non-interactive
/// console cannot read) become `locals { e = ... }` and are read back as `local.e`.
pub fn terraform_answer(expr: &str, scratch: &Path) -> Answer {
    std::fs::create_dir_all(scratch).expect("scratch dir");
    for entry in std::fs::read_dir(files_dir()).expect("fixtures") {
        let entry = entry.expect("fixture");
        std::fs::copy(entry.path(), scratch.join(entry.file_name())).expect("copy fixture");
    }
    let main_tf = scratch.join("main.tf");
    let input = if expr.contains('\n') {
        std::fs::write(&main_tf, format!("locals {{\n  e = {expr}\n}}\n")).expect("write main.tf");
        "local.e\n".to_string()
    } else {
        let _ = std::fs::remove_file(&main_tf);
        format!("{expr}\n")
    };
    let dir = scratch.to_path_buf();
    let mut child = Command::new("terraform")
        .args(["console", "-no-color"])
        .current_dir(&dir)
        .env("TF_CLI_CONFIG_FILE", "")
        .env("TF_IN_AUTOMATION", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `terraform` (it must be on PATH for this test): {e}")
        });
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("terraform output");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if out.status.success() {
        Answer::Ok(stdout.strip_suffix('\n').unwrap_or(&stdout).to_string())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let summary = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Error: "))
            .unwrap_or("terraform failed")
            .to_string();
        let detail: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| {
                !l.is_empty()
                    && !l.starts_with("Error:")
                    && !l.starts_with("on <console-input>")
                    && !l.contains("source code not available")
                    && !l.starts_with("on main.tf")
            })
            .collect();
        Answer::Error(format!("{summary}: {}", detail.join(" ")))
    }
}

/// Terraform's answers for many expressions, four processes at a time.
pub fn terraform_answers(exprs: &[String]) -> Vec<Answer> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Answer>>> = Mutex::new(vec![None; exprs.len()]);
    let base = std::env::temp_dir().join(format!("forge-lang-corpus-{}", std::process::id()));
    std::thread::scope(|s| {
        for worker in 0..4 {
            let (next, results, base) = (&next, &results, &base);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= exprs.len() {
                        break;
                    }
                    let answer = terraform_answer(&exprs[i], &base.join(format!("w{worker}")));
                    results.lock().expect("lock")[i] = Some(answer);
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&base);
    results
        .into_inner()
        .expect("lock")
        .into_iter()
        .map(|a| a.expect("answered"))
        .collect()
}

/// The scope corpus expressions are evaluated in: the fixtures folder and `path`.
pub fn corpus_scope() -> forge_lang::Scope<'static> {
    forge_lang::Scope::new(files_dir()).with_root(
        "path",
        forge_provider::Value::object([
            ("module", forge_provider::Value::string(".")),
            ("root", forge_provider::Value::string(".")),
            (
                "cwd",
                forge_provider::Value::string(files_dir().to_string_lossy()),
            ),
        ]),
    )
}

/// forge's diagnostics for an expression that fails to parse or evaluate.
pub fn forge_errors(expr: &str) -> Option<forge_lang::Diagnostics> {
    match forge_lang::parse_expr_str(Path::new("<corpus>"), expr.to_string()) {
        Err(d) => Some(d),
        Ok(e) => forge_lang::eval(&e, &corpus_scope()).err(),
    }
}

/// forge's answer for an expression, rendered as the console would.
pub fn forge_answer(expr: &str) -> Answer {
    let parsed = forge_lang::parse_expr_str(Path::new("<corpus>"), expr.to_string());
    let expr = match parsed {
        Ok(e) => e,
        Err(d) => return Answer::Error(d.to_string()),
    };
    match forge_lang::eval(&expr, &corpus_scope()) {
        Ok(v) => Answer::Ok(forge_lang::render_console(&v)),
        Err(d) => Answer::Error(d.to_string()),
    }
}
