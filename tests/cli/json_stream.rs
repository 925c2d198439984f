//! `plan -json`, `apply -json` and `destroy -json`: Terraform's machine-readable UI, line
//! by line against what the real `terraform` (on PATH, v1.11.4) prints for the same
//! `terraform_data` configuration, and streamed plan text with its progress lines.

use std::process::Command;

use serde_json::Value as J;

use super::World;
use super::oracle::{TERRAFORM_DATA_CHAIN, terraform};

const CONFIG: &str = TERRAFORM_DATA_CHAIN;

/// Each line as JSON; a line that is not JSON fails the test.
fn lines(stdout: &str) -> Vec<J> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

/// A line with what legitimately differs between two runs made stable: the time, the
/// generated ids and durations, and forge's `unit` field (checked separately).
fn comparable(mut line: J) -> J {
    let o = line.as_object_mut().expect("each line is an object");
    o.remove("@timestamp");
    o.remove("unit");
    let id = regex::Regex::new(r"\[id=[^\]]+\]").expect("regex");
    let after = regex::Regex::new(r"after \d+s").expect("regex");
    if let Some(J::String(m)) = o.get_mut("@message") {
        *m = after
            .replace_all(&id.replace_all(m, "[id=ID]"), "after Ns")
            .into_owned();
    }
    if let Some(hook) = o.get_mut("hook").and_then(J::as_object_mut) {
        if hook.contains_key("id_value") {
            hook.insert("id_value".into(), "ID".into());
        }
        if hook.contains_key("elapsed_seconds") {
            hook.insert("elapsed_seconds".into(), 0.into());
        }
    }
    line
}

/// Both streams, the version line checked and left out, every other line compared.
fn assert_same_stream(what: &str, terraform_out: &str, forge_out: &str) {
    let tf = lines(terraform_out);
    let forge = lines(forge_out);
    assert_eq!(
        tf[0]["type"], "version",
        "{what}: terraform starts with its version"
    );
    assert_eq!(
        forge[0]["type"], "version",
        "{what}: forge starts with its version"
    );
    assert_eq!(forge[0]["ui"], tf[0]["ui"], "{what}: the UI version");
    // The Terraform version whose formats forge writes (not the oracle's own).
    assert!(
        forge[0]["terraform"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{what}: {}",
        forge[0]
    );
    for line in &forge[1..] {
        assert_eq!(
            line["unit"], "u",
            "{what}: every line names its unit: {line}"
        );
        assert_eq!(line["@module"], "terraform.ui", "{what}: {line}");
        assert!(
            line["@timestamp"].as_str().is_some_and(|t| t.len() > 20),
            "{what}: {line}"
        );
    }
    let tf = in_comparable_order(tf[1..].iter().cloned().map(comparable).collect());
    let forge = in_comparable_order(forge[1..].iter().cloned().map(comparable).collect());
    let show = |ls: &[J]| {
        ls.iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        show(&forge),
        show(&tf),
        "{what}: forge's lines (left) differ from terraform's (right)"
    );
}

/// The lines with each run of `planned_change` lines, and each run of apply operations
/// (`apply_*` lines), ordered by resource, each resource's own lines kept in order.
/// Terraform prints both in the order its graph walk reached them (a destroy plan lists
/// dependents first), forge in address order; and where Terraform destroys a replaced
/// dependent before it updates the resource the dependent refers to, forge updates
/// first (both orders are safe for these objects).
fn in_comparable_order(lines: Vec<J>) -> Vec<J> {
    let group = |l: &J| match l["type"].as_str() {
        Some("planned_change") => 1,
        Some(t) if t.starts_with("apply_") => 2,
        _ => 0,
    };
    let resource = |l: &J| {
        let r = if l.get("hook").is_some() {
            &l["hook"]["resource"]["addr"]
        } else {
            &l["change"]["resource"]["addr"]
        };
        r.as_str().unwrap_or("").to_string()
    };
    let mut out = Vec::new();
    let mut run: Vec<J> = Vec::new();
    for line in lines {
        if group(&line) != 0 && run.first().is_none_or(|f| group(f) == group(&line)) {
            run.push(line);
            continue;
        }
        run.sort_by_key(resource);
        out.append(&mut run);
        if group(&line) != 0 {
            run.push(line);
        } else {
            out.push(line);
        }
    }
    run.sort_by_key(resource);
    out.append(&mut run);
    out
}

#[test]
fn plan_and_apply_json_stream_as_terraform_prints_them() {
    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        ("env/u/main.tf", CONFIG),
        ("tf/main.tf", CONFIG),
    ]);
    let tf = w.path("tf");
    terraform(&tf, &["init", "-input=false", "-no-color"]);

    // Creating both.
    let t = terraform(&tf, &["plan", "-json", "-input=false"]);
    let f = w.forge(&["plan", "env/u", "-json"]);
    assert_eq!(f.code, 0, "{}", f.all());
    assert_same_stream("plan of a new configuration", &t, &f.stdout);
    let t = terraform(&tf, &["apply", "-json", "-auto-approve", "-input=false"]);
    let f = w.forge(&["apply", "env/u", "-json", "-auto-approve"]);
    assert_eq!(f.code, 0, "{}", f.all());
    assert_same_stream("apply of a new configuration", &t, &f.stdout);
    assert!(
        !f.stdout.contains("secret-x"),
        "a sensitive output's value is not in the stream:\n{}",
        f.stdout
    );

    // An update of one and the replacement of the other: refreshes, reasons, ids.
    let t = terraform(&tf, &["plan", "-json", "-input=false", "-var", "n=y"]);
    let f = w.forge(&["plan", "env/u", "-json", "-var", "n=y"]);
    assert_eq!(f.code, 0, "{}", f.all());
    assert_same_stream("plan of an update and a replacement", &t, &f.stdout);
    let t = terraform(
        &tf,
        &[
            "apply",
            "-json",
            "-auto-approve",
            "-input=false",
            "-var",
            "n=y",
        ],
    );
    let f = w.forge(&["apply", "env/u", "-json", "-auto-approve", "-var", "n=y"]);
    assert_eq!(f.code, 0, "{}", f.all());
    assert_same_stream("apply of an update and a replacement", &t, &f.stdout);

    // Destroy.
    let t = terraform(
        &tf,
        &[
            "destroy",
            "-json",
            "-auto-approve",
            "-input=false",
            "-var",
            "n=y",
        ],
    );
    let f = w.forge(&["destroy", "env/u", "-json", "-auto-approve", "-var", "n=y"]);
    assert_eq!(f.code, 0, "{}", f.all());
    assert_same_stream("destroy", &t, &f.stdout);
}

#[test]
fn json_errors_are_diagnostic_lines_naming_their_unit() {
    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        (
            "env/u/main.tf",
            "resource \"terraform_data\" \"a\" {\n  input = var.missing\n}\n",
        ),
    ]);
    let run = w.forge(&["plan", "env/u", "-json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let ls = lines(&run.stdout);
    assert_eq!(ls[0]["type"], "version", "{}", run.stdout);
    let diag = ls
        .iter()
        .find(|l| l["type"] == "diagnostic")
        .unwrap_or_else(|| panic!("no diagnostic line:\n{}", run.all()));
    assert_eq!(diag["@level"], "error", "{diag}");
    assert_eq!(diag["diagnostic"]["severity"], "error", "{diag}");
    let text = diag.to_string();
    assert!(
        text.contains("missing"),
        "the diagnostic names the variable: {diag}"
    );

    // A JSON stream cannot ask for confirmation: Terraform refuses it too.
    let run = w.forge(&["apply", "env/u", "-json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let ls = lines(&run.stdout);
    assert!(
        ls.iter().any(|l| l["type"] == "diagnostic"
            && l["diagnostic"]["summary"]
                .as_str()
                .is_some_and(|s| s.contains("-auto-approve"))),
        "{}",
        run.all()
    );
}

#[test]
fn plan_text_streams_each_unit_in_dependency_order_with_progress_on_stderr() {
    let unit = |deps: &[&str]| {
        let mut t = String::new();
        for d in deps {
            t.push_str(&format!(
                "dependency \"{d}\" {{\n  config_path = \"../{d}\"\n  mock_outputs = {{ v = \"m\" }}\n}}\n"
            ));
        }
        t.push_str("inputs = {}\n");
        t
    };
    let main = "resource \"terraform_data\" \"r\" {\n  input = \"v\"\n}\noutput \"v\" {\n  value = terraform_data.r.output\n}\n";
    let (c, b, a) = (unit(&["b"]), unit(&["a"]), unit(&[]));
    let w = World::new(&[
        ("env/a/terragrunt.hcl", &a),
        ("env/a/main.tf", main),
        ("env/b/terragrunt.hcl", &b),
        ("env/b/main.tf", main),
        ("env/c/terragrunt.hcl", &c),
        ("env/c/main.tf", main),
    ]);
    let run = w.forge(&["plan", "env"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let at = |name: &str| {
        run.stdout
            .find(&format!("── unit {name} "))
            .unwrap_or_else(|| panic!("no section for {name}:\n{}", run.stdout))
    };
    assert!(at("a") < at("b") && at("b") < at("c"), "{}", run.stdout);
    assert_eq!(
        run.stdout.matches("── unit ").count(),
        3,
        "each unit's section once:\n{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("Still planning 2 of 3 units: b, c"),
        "progress names the units still being planned:\n{}",
        run.stderr
    );
}

#[test]
fn apply_json_of_a_saved_plan_streams_the_operations_and_the_summary() {
    let w = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        ("env/u/main.tf", CONFIG),
    ]);
    let run = w.forge(&["plan", "env/u", "-out", "p"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = w.forge(&["apply", "-json", "p"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let ls = lines(&run.stdout);
    let types: Vec<&str> = ls.iter().filter_map(|l| l["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"version"), "{}", run.stdout);
    assert_eq!(
        types.iter().filter(|t| **t == "apply_complete").count(),
        2,
        "{}",
        run.stdout
    );
    let summary = ls
        .iter()
        .find(|l| l["type"] == "change_summary" && l["changes"]["operation"] == "apply")
        .unwrap_or_else(|| panic!("no apply summary:\n{}", run.stdout));
    assert_eq!(summary["changes"]["add"], 2, "{summary}");
    assert_eq!(summary["unit"], "u", "{summary}");
}

#[test]
fn a_units_plan_prints_while_a_later_unit_still_waits() {
    use std::io::BufRead;
    let main = "resource \"terraform_data\" \"r\" {\n  input = \"v\"\n}\n";
    let w = World::new(&[
        ("env/a/terragrunt.hcl", "inputs = {}\n"),
        ("env/a/main.tf", main),
        ("env/b/terragrunt.hcl", "inputs = {}\n"),
        ("env/b/main.tf", main),
    ]);
    // b's state is locked by someone else (no process of this machine: never healed),
    // so b waits for its lock while a is planned.
    let lock = w.path("env/b/.forge/.terraform.tfstate.lock.info");
    std::fs::create_dir_all(lock.parent().expect("parent")).expect("mkdir");
    std::fs::write(
        &lock,
        r#"{"ID":"11111111-2222-3333-4444-555555555555","Operation":"OperationTypeApply","Info":"","Who":"alice@ci","Version":"0.1.0","Created":"2026-11-25T10:00:00Z","Path":"x"}"#,
    )
    .expect("lock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(["plan", "env", "-lock-timeout=60s"])
        .current_dir(w.path(""))
        .env("FORGE_FAKE_CLOUD", w.path("fake-cloud.json"))
        .env("NO_COLOR", "1")
        .env("AWS_REGION", "us-east-1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run forge");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = String::new();
    let mut line = String::new();
    while !seen.contains("── unit a") {
        line.clear();
        if stdout.read_line(&mut line).expect("read") == 0 {
            break;
        }
        seen.push_str(&line);
    }
    assert!(seen.contains("── unit a"), "a's section came: {seen}");
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "forge still runs (b waits for its lock) when a's section is printed"
    );
    assert!(!seen.contains("── unit b"), "{seen}");
    std::fs::remove_file(&lock).expect("release the lock");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("read the rest");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{seen}{rest}");
    assert!(rest.contains("── unit b"), "{rest}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Still planning 1 of 2 units: b"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An `import` block's lines, against the real hashicorp/aws provider (skipped without its
/// mirror, as the provider oracle is): the imported object's refresh pair, the
/// `planned_change` with action `import` and its `importing` id, and the summaries that
/// count it; apply prints no operation lines for a pure import.
#[test]
fn import_json_stream_as_terraform_prints_it() {
    use super::provider_oracle::{Fixture, oracle};
    let Some(oracle) = oracle() else { return };
    let f = Fixture::new(oracle, "jsonimp");
    let config = "resource \"aws_sqs_queue\" \"q\" {\n  name = \"@NAME@\"\n}\n";
    f.write_config(config);
    let made = f.forge(&["apply", "env/u", "-auto-approve"]);
    assert_eq!(made.code, 0, "{}", made.all());
    let state: J = serde_json::from_str(
        &std::fs::read_to_string(f.forge_state_path()).expect("forge's state"),
    )
    .expect("state JSON");
    let url = state["resources"][0]["instances"][0]["attributes"]["id"]
        .as_str()
        .expect("the queue's id")
        .to_string();
    // The queue stays in the emulator; forge forgets it, and both tools import it.
    std::fs::remove_file(f.forge_state_path()).expect("forget the queue");
    f.write_config(&format!(
        "{config}import {{\n  to = aws_sqs_queue.q\n  id = \"{url}\"\n}}\n"
    ));

    let t = f.terraform_ok(&["plan", "-json", "-input=false"]);
    let p = f.forge(&["plan", "env/u", "-json"]);
    assert_eq!(p.code, 0, "{}", p.all());
    assert_same_stream("plan of an import", &t, &p.stdout);
    assert!(
        p.stdout.contains("\"action\":\"import\"") && p.stdout.contains("\"refresh_start\""),
        "{}",
        p.stdout
    );

    let t = f.terraform_ok(&["apply", "-json", "-auto-approve", "-input=false"]);
    let a = f.forge(&["apply", "env/u", "-json", "-auto-approve"]);
    assert_eq!(a.code, 0, "{}", a.all());
    assert_same_stream("apply of an import", &t, &a.stdout);
    assert!(a.stdout.contains("1 imported"), "{}", a.stdout);

    let gone = f.forge(&["destroy", "env/u", "-auto-approve"]);
    assert_eq!(gone.code, 0, "{}", gone.all());
}
