//! The differential test against real Terraform: every corpus expression, evaluated by
//! forge and printed as `terraform console` prints it, must equal Terraform's recorded
//! answer (or both must be errors); and the recorded answers must still be what the
//! `terraform` binary on PATH prints.

mod corpus_support;

use corpus_support::*;

/// How many corpus expressions there must be at least (the brief asks for 300).
const MIN_CORPUS: usize = 300;

fn recorded(expr_file: &str, answer_file: &str) -> Vec<(String, Answer)> {
    let exprs = load_expressions(expr_file);
    let answers = load_answers(answer_file);
    let recorded: Vec<&String> = answers.iter().map(|(e, _)| e).collect();
    let missing: Vec<&String> = exprs.iter().filter(|e| !recorded.contains(e)).collect();
    assert!(
        missing.is_empty() && exprs.len() == answers.len(),
        "{answer_file} is out of date with {expr_file} (missing: {missing:?}); run `cargo run -p forge-lang --example record_corpus`"
    );
    answers
}

#[test]
fn forge_matches_recorded_terraform_answers() {
    let answers = recorded("expressions.txt", "answers.json");
    assert!(
        answers.len() >= MIN_CORPUS,
        "the corpus has only {} expressions",
        answers.len()
    );
    let mut failures = Vec::new();
    for (expr, terraform) in &answers {
        let forge = forge_answer(expr);
        if !forge.matches(terraform) {
            failures.push(format!(
                "expression: {expr}\nterraform:  {terraform}\nforge:      {forge}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "forge differs from Terraform on {} of {} expressions:\n\n{}",
        failures.len(),
        answers.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_forge_error_names_a_place_and_what_to_do() {
    let answers = recorded("expressions.txt", "answers.json");
    let mut errors = 0;
    let mut failures = Vec::new();
    for (expr, _) in &answers {
        let Some(diags) = forge_errors(expr) else {
            continue;
        };
        errors += 1;
        for d in diags.iter() {
            if d.location.is_none() || d.hint.is_none() || d.summary.is_empty() {
                failures.push(format!("{expr}\n{d}"));
            }
        }
    }
    assert!(
        errors > 50,
        "the corpus should exercise many errors, found {errors}"
    );
    assert!(
        failures.is_empty(),
        "errors without a location or a hint:\n\n{}",
        failures.join("\n")
    );
}

#[test]
fn known_differences_still_differ() {
    // If forge starts matching one of these, it belongs in expressions.txt instead.
    let answers = recorded("known_differences.txt", "known_answers.json");
    assert!(!answers.is_empty());
    for (expr, terraform) in &answers {
        let forge = forge_answer(expr);
        assert!(
            !forge.matches(terraform),
            "forge now matches Terraform on `{expr}`: move it from known_differences.txt to expressions.txt"
        );
    }
}

#[test]
fn recorded_answers_are_what_terraform_prints_now() {
    let which = std::process::Command::new("terraform")
        .arg("version")
        .env("TF_CLI_CONFIG_FILE", "")
        .output();
    let version = match which {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).to_string(),
        other => panic!(
            "`terraform` (1.11.4) must be on PATH for the differential test, but running it failed: {other:?}"
        ),
    };
    let mut all = recorded("expressions.txt", "answers.json");
    all.extend(recorded("known_differences.txt", "known_answers.json"));
    let exprs: Vec<String> = all.iter().map(|(e, _)| e.clone()).collect();
    let live = terraform_answers(&exprs);
    let mut failures = Vec::new();
    for ((expr, recorded), live) in all.iter().zip(&live) {
        let same = match (recorded, live) {
            (Answer::Ok(a), Answer::Ok(b)) => a == b,
            (Answer::Error(_), Answer::Error(_)) => true,
            _ => false,
        };
        if !same {
            failures.push(format!(
                "expression: {expr}\nrecorded: {recorded}\nlive:     {live}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "terraform ({}) no longer prints the recorded answers for {} expressions:\n\n{}",
        version.lines().next().unwrap_or(""),
        failures.len(),
        failures.join("\n\n")
    );
}

/// `base64gzip` output cannot be byte-identical to Terraform's for most inputs (Go's deflate
/// compressor chooses other blocks than miniz); what must hold is that both decompress to
/// the argument's text and that the gzip header is Go's.
#[test]
fn base64gzip_differences_decompress_to_the_same_text() {
    use base64::Engine as _;
    use std::io::Read as _;
    let gunzip = |printed: &str| -> (Vec<u8>, String) {
        let b64 = printed.trim_matches('"');
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_else(|e| panic!("not base64: {printed}: {e}"));
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("not gzip: {printed}: {e}"));
        (bytes[..10].to_vec(), text)
    };
    let answers = recorded("known_differences.txt", "known_answers.json");
    let mut checked = 0;
    for (expr, terraform) in &answers {
        let Some(inner) = expr
            .strip_prefix("base64gzip(")
            .and_then(|e| e.strip_suffix(')'))
        else {
            continue;
        };
        let Answer::Ok(terraform) = terraform else {
            panic!("terraform failed on {expr}: {terraform}");
        };
        let Answer::Ok(forge) = forge_answer(expr) else {
            panic!("forge failed on {expr}");
        };
        let Answer::Ok(argument) = forge_answer(inner) else {
            panic!("forge failed on the argument {inner}");
        };
        let argument: String = serde_json::from_str(&argument).expect("a quoted string");
        let (tf_header, tf_text) = gunzip(terraform);
        let (forge_header, forge_text) = gunzip(&forge);
        assert_eq!(
            tf_text, argument,
            "terraform's {expr} decompresses to another text"
        );
        assert_eq!(
            forge_text, argument,
            "forge's {expr} decompresses to another text"
        );
        assert_eq!(forge_header, tf_header, "gzip header of {expr}");
        checked += 1;
    }
    assert!(
        checked >= 2,
        "known_differences.txt should hold base64gzip entries"
    );
}
