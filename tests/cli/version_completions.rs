//! `forge version` (text and Terraform's `-json` shape, naming the commit the binary was
//! built from) and the shell completion scripts, loaded by a real bash.

use std::process::Command;

use super::World;

/// The commit of the checkout the test binary (and so forge) was built from.
fn head_commit() -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn cli_version_names_the_version_commit_and_platform() {
    let w = World::new(&[]);
    let commit = head_commit();
    let text = w.forge(&["version"]);
    assert_eq!(text.code, 0, "{}", text.all());
    assert!(
        text.stdout.starts_with(&format!(
            "forge v{} (commit {commit})\non linux_",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        text.stdout
    );
    // Terraform's own spellings of the command give the same.
    assert_eq!(w.forge(&["-version"]).stdout, text.stdout);
    assert_eq!(w.forge(&["--version"]).stdout, text.stdout);
    let json = w.forge(&["-version", "-json"]);
    assert_eq!(json.code, 0, "{}", json.all());
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(doc["terraform_version"], "1.5.7");
    assert_eq!(doc["provider_selections"], serde_json::json!({}));
    assert_eq!(doc["terraform_outdated"], false);
    assert_eq!(doc["forge_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["forge_commit"], commit.as_str());
    let platform = doc["platform"].as_str().unwrap_or_default();
    assert!(
        regex::Regex::new("^[a-z]+_(amd64|arm64|386|arm)$")
            .expect("regex")
            .is_match(platform),
        "{platform}"
    );
}

#[test]
fn cli_completions_load_in_bash_and_name_the_flags() {
    let w = World::new(&[]);
    let bash = w.forge(&["completions", "bash"]);
    assert_eq!(bash.code, 0, "{}", bash.all());
    assert!(bash.stdout.contains("--lock-timeout") && bash.stdout.contains("force-unlock"));
    let script = w.path("forge.bash");
    std::fs::write(&script, &bash.stdout).expect("write");
    // Loaded by bash, the script registers a completion for forge.
    let loaded = Command::new("bash")
        .args([
            "-c",
            &format!("source {} && complete -p forge", script.display()),
        ])
        .output()
        .expect("bash");
    let said = String::from_utf8_lossy(&loaded.stdout);
    assert!(loaded.status.success() && said.contains("forge"), "{said}");
    let zsh = w.forge(&["completions", "zsh"]);
    assert!(zsh.stdout.starts_with("#compdef forge"), "{}", zsh.stdout);
    let fish = w.forge(&["completions", "fish"]);
    assert!(fish.stdout.contains("complete -c forge"), "{}", fish.stdout);
    let other = w.forge(&["completions", "tcsh"]);
    assert_eq!(other.code, 1);
    assert!(
        other.stderr.contains("invalid value 'tcsh'"),
        "{}",
        other.stderr
    );
}
