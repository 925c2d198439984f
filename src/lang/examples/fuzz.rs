//! A fuzzing harness for forge's front ends and evaluator, on the stable toolchain:
//! `scripts/fuzz [SECONDS] [SEED]` (or `cargo run --release -p forge-lang --example fuzz --
//! SECONDS SEED`). Seeded, so a run can be repeated.
//!
//! Each execution takes one of four targets:
//! - `hcl`: a mutated configuration file parsed as HCL native syntax, then every attribute
//!   evaluated;
//! - `json`: a mutated `.tf.json`-shaped text parsed and read as a body, then evaluated;
//! - `expr`: a mutated expression (from the Terraform corpus) parsed and evaluated;
//! - `call`: a built-in function called with generated arguments (huge, negative,
//!   fractional and non-finite numbers, long and odd strings, deep and wide collections,
//!   nulls, unknowns, sensitive values).
//!
//! Mutations: byte flips, deletions, duplications, insertions of HCL's tokens and of odd
//! characters, splices of two inputs. Each execution runs under `catch_unwind`; a panic is
//! a crash, whose input is written to `target/fuzz-crashes/` and listed at the end. An
//! abort (an allocation that fails, which the limits should make impossible) ends the
//! process: rerun with the same seed and `FUZZ_TRACE=1`, which writes each input to
//! `target/fuzz-crashes/last-input` before it runs (the inputs of a seed are always the
//! same sequence). Executions slower than a second are reported as possible hangs. Exits 1
//! when anything crashed.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use forge_lang::functions::{self, FnContext};
use forge_lang::json::{BodySpec, parse_json_str};
use forge_lang::{Body, Scope, eval, parse_expr_str, parse_str};
use forge_provider::Value;

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0x5eed);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let corpus = Corpus::load(&repo);
    let crash_dir = repo.join("target/fuzz-crashes");
    let _ = std::fs::create_dir_all(&crash_dir);
    // Panics are counted, not printed one by one.
    std::panic::set_hook(Box::new(|_| {}));

    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut stats: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut crashes: Vec<PathBuf> = Vec::new();
    let mut slow: Vec<(String, Duration)> = Vec::new();
    let trace = std::env::var_os("FUZZ_TRACE").is_some();
    let mut executions: u64 = 0;
    let started = Instant::now();
    while Instant::now() < deadline {
        // Check the clock once per batch: it costs more than a parse.
        for _ in 0..256 {
            let (target, input) = next_input(&mut rng, &corpus);
            executions += 1;
            if trace {
                let _ = std::fs::write(crash_dir.join("last-input"), input.describe());
            }
            let begun = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| run(target, &input)));
            let took = begun.elapsed();
            let entry = stats.entry(target).or_default();
            entry.0 += 1;
            if outcome.is_err() {
                entry.1 += 1;
                let path = crash_dir.join(format!("{target}-{executions}.txt"));
                let _ = std::fs::write(&path, input.describe());
                crashes.push(path);
            }
            if took > Duration::from_secs(1) && slow.len() < 20 {
                slow.push((input.describe(), took));
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "fuzz: {executions} executions in {elapsed:.1} s ({:.0}/s), seed {seed}",
        executions as f64 / elapsed
    );
    for (target, (runs, crashed)) in &stats {
        println!("  {target:5} {runs:>10} executions, {crashed} crashes");
    }
    for (input, took) in &slow {
        println!(
            "  slow ({took:?}): {}",
            input.chars().take(200).collect::<String>()
        );
    }
    if crashes.is_empty() {
        println!("no crashes");
    } else {
        println!("{} crashes, inputs in:", crashes.len());
        for c in crashes.iter().take(20) {
            println!("  {}", c.display());
        }
        std::process::exit(1);
    }
}

/// One input for one target.
enum Input {
    Hcl(String),
    Json(String),
    Expr(String),
    Call(String, Vec<Value>),
}

impl Input {
    fn describe(&self) -> String {
        match self {
            Input::Hcl(t) | Input::Json(t) | Input::Expr(t) => t.clone(),
            Input::Call(name, args) => format!("{name}({args:?})"),
        }
    }
}

fn run(target: &str, input: &Input) {
    let path = Path::new("fuzz.tf");
    let scope = scope();
    match input {
        Input::Hcl(text) => {
            if let Ok(body) = parse_str(path, text.clone()) {
                eval_body(&body, &scope);
            }
        }
        Input::Json(text) => {
            if let Ok(file) = parse_json_str(Path::new("fuzz.tf.json"), text.clone()) {
                let spec = BodySpec::default()
                    .block("locals", 0, |_| BodySpec::default())
                    .block("resource", 2, |_| BodySpec::default());
                if let Ok(body) = file.body(&spec) {
                    eval_body(&body, &scope);
                }
            }
        }
        Input::Expr(text) => {
            if let Ok(expr) = parse_expr_str(path, text.clone()) {
                let _ = eval(&expr, &scope);
            }
        }
        Input::Call(name, args) => {
            let ctx = FnContext {
                base_dir: Path::new("/nonexistent-fuzz-dir"),
            };
            let _ = functions::call(name, args.clone(), &ctx);
        }
    }
    let _ = target;
}

fn eval_body(body: &Body, scope: &Scope<'_>) {
    for attr in &body.attributes {
        let _ = eval(&attr.expr, scope);
    }
    for block in &body.blocks {
        eval_body(&block.body, scope);
    }
}

/// Names an expression may refer to, with a secret and an unknown among them.
fn scope() -> Scope<'static> {
    Scope::new("/nonexistent-fuzz-dir")
        .with_root(
            "var",
            Value::object([
                ("name", Value::string("app")),
                ("n", Value::Number(3.0)),
                (
                    "list",
                    Value::Tuple(vec![Value::string("a"), Value::string("b")]),
                ),
                ("secret", Value::string("hunter2").sensitive()),
                ("pending", Value::Unknown),
                ("nothing", Value::Null),
            ]),
        )
        .with_root("local", Value::object([("x", Value::Number(1.0))]))
        .with_root(
            "each",
            Value::object([("key", Value::string("k")), ("value", Value::Unknown)]),
        )
        .with_root("count", Value::object([("index", Value::Number(0.0))]))
}

struct Corpus {
    hcl: Vec<String>,
    json: Vec<String>,
    exprs: Vec<String>,
}

impl Corpus {
    fn load(repo: &Path) -> Corpus {
        let mut hcl = Vec::new();
        let mut json = Vec::new();
        for dir in ["stacks", "src/config/tests", "src/lang/tests/corpus"] {
            collect(&repo.join(dir), &mut hcl, &mut json);
        }
        let exprs: Vec<String> =
            std::fs::read_to_string(repo.join("src/lang/tests/corpus/expressions.txt"))
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect();
        if hcl.is_empty() {
            hcl.push("locals {\n  a = \"${var.name}-x\"\n}\n".into());
        }
        if json.is_empty() {
            json.push("{\"locals\": {\"a\": \"${var.name}\"}}".into());
        }
        Corpus {
            hcl,
            json,
            exprs: if exprs.is_empty() {
                vec!["1 + 2".into()]
            } else {
                exprs
            },
        }
    }
}

fn collect(dir: &Path, hcl: &mut Vec<String>, json: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, hcl, json);
            continue;
        }
        let name = path.to_string_lossy().into_owned();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if text.len() > 64 * 1024 {
            continue;
        }
        if name.ends_with(".tf.json") {
            json.push(text);
        } else if name.ends_with(".tf") || name.ends_with(".hcl") {
            hcl.push(text);
        } else if name.ends_with(".txtar") {
            // Each section of a test case is a file of its own.
            for section in text.split("\n-- ") {
                let body = section.split_once(" --\n").map_or(section, |(_, b)| b);
                hcl.push(body.to_string());
            }
        }
    }
}

/// HCL's tokens and odd characters, for insertions.
const TOKENS: &[&str] = &[
    "${",
    "}",
    "%{",
    "~}",
    "{",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "\\",
    "\n",
    "=",
    "==",
    "=>",
    ":",
    "?",
    "...",
    "*",
    ".",
    ",",
    "<<EOT\n",
    "\nEOT\n",
    "<<-EOT\n",
    "for x in ",
    " : ",
    " if ",
    "#",
    "//",
    "/*",
    "*/",
    "var.",
    "local.",
    "each.",
    "count.",
    "[*]",
    ".*",
    "null",
    "true",
    "-",
    "1e308",
    "0x",
    "\u{0}",
    "\u{feff}",
    "é",
    "𝔘",
    "\t",
    "\r\n",
    "format(\"%.9999f\", 1)",
    "indent(999999999, \"x\")",
    "range(1e9)",
    "setproduct(",
    "jsondecode(",
    "yamldecode(",
    "templatestring(",
    "try(",
    "can(",
    "tolist(",
    "toset(",
    "merge(",
    "flatten(",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: fast and good enough to pick mutations.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

fn next_input(rng: &mut Rng, corpus: &Corpus) -> (&'static str, Input) {
    match rng.below(8) {
        0..=2 => (
            "hcl",
            Input::Hcl({
                let text = rng_pick_text(rng, &corpus.hcl);
                mutate(rng, text, corpus)
            }),
        ),
        3 => (
            "json",
            Input::Json({
                let text = rng_pick_text(rng, &corpus.json);
                mutate(rng, text, corpus)
            }),
        ),
        4..=5 => (
            "expr",
            Input::Expr({
                let text = rng_pick_text(rng, &corpus.exprs);
                mutate(rng, text, corpus)
            }),
        ),
        _ => {
            let name = *rng.pick(functions::NAMES);
            let n = rng.below(4);
            let args = (0..n).map(|_| value(rng, 0)).collect();
            ("call", Input::Call(name.to_string(), args))
        }
    }
}

fn rng_pick_text(rng: &mut Rng, xs: &[String]) -> String {
    rng.pick(xs).clone()
}

/// One to four mutations of a text, at character boundaries.
fn mutate(rng: &mut Rng, text: String, corpus: &Corpus) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(6) {
            0 if !chars.is_empty() => {
                let i = at.min(chars.len() - 1);
                chars[i] = char::from_u32(chars[i] as u32 ^ (1 << rng.below(7))).unwrap_or('x');
            }
            1 if !chars.is_empty() => {
                let end = (at + rng.below(16)).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            2 if !chars.is_empty() => {
                let end = (at + rng.below(32)).min(chars.len());
                let piece: Vec<char> = chars[at.min(end)..end].to_vec();
                let to = rng.below(chars.len() + 1);
                chars.splice(to..to, piece);
            }
            3 => {
                let other = rng.pick(&corpus.exprs).chars().collect::<Vec<_>>();
                chars.splice(at..at, other);
            }
            _ => {
                let token: Vec<char> = rng.pick(TOKENS).chars().collect();
                chars.splice(at..at, token);
            }
        }
    }
    chars.into_iter().collect()
}

/// A generated argument: the values that stress conversions and limits.
fn value(rng: &mut Rng, depth: usize) -> Value {
    let leaf_only = depth >= 3;
    match rng.below(if leaf_only { 6 } else { 9 }) {
        0 => Value::Null,
        1 => Value::Unknown,
        2 => Value::Number(*rng.pick(&[
            0.0,
            -1.0,
            1.5,
            1e300,
            -1e300,
            2f64.powi(53),
            255.0,
            65536.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e9,
            -0.0,
        ])),
        3 => Value::Bool(rng.below(2) == 0),
        4 => Value::string(
            rng.pick(&[
                "",
                "a",
                "hello, world",
                "%.99999f",
                "${x}",
                "10.0.0.0/8",
                "::1/128",
                "a,b,c",
                "{\"a\":[1,2,{\"b\":null}]}",
                "- a\n- b: &x [1]\n- *x",
                "2024-01-01T00:00:00Z",
                "\u{0}\u{ffff}",
                "é𝔘",
                "**/{a,b}/*",
                "dGVzdA==",
                "0x1F",
                "1e400",
            ])
            .to_string(),
        ),
        5 => Value::string("x".repeat(rng.below(4096))),
        6 => Value::Tuple((0..rng.below(6)).map(|_| value(rng, depth + 1)).collect()),
        7 => Value::object(
            (0..rng.below(5))
                .map(|i| (format!("k{i}"), value(rng, depth + 1)))
                .collect::<Vec<_>>(),
        ),
        _ => value(rng, depth + 1).sensitive(),
    }
}
