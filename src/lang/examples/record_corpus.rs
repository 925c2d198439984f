//! Records real Terraform's answers for the differential corpus:
//! `cargo run -p forge-lang --example record_corpus` (needs `terraform` on PATH).
//! Writes tests/corpus/answers.json and known_answers.json, then prints how forge compares.

#[path = "../tests/corpus_support/mod.rs"]
mod corpus_support;

use corpus_support::*;

fn main() {
    for (source, target) in [
        ("expressions.txt", "answers.json"),
        ("known_differences.txt", "known_answers.json"),
    ] {
        let exprs = load_expressions(source);
        let answers = terraform_answers(&exprs);
        let pairs: Vec<(String, Answer)> = exprs.into_iter().zip(answers).collect();
        save_answers(target, &pairs);
        let mut differ = 0;
        for (expr, tf) in &pairs {
            let forge = forge_answer(expr);
            if !forge.matches(tf) {
                differ += 1;
                println!("--- {expr}\nterraform: {tf}\nforge:     {forge}\n");
            }
        }
        println!(
            "{source}: {} expressions recorded in {target}; forge differs on {differ}",
            pairs.len()
        );
    }
}
