//! The real end-to-end target, against the emulators: a copy of `stacks/` whose
//! production environment is renamed (unique project and environment names, so runs never
//! collide) is applied, planned again (no changes), and destroyed through the binary.
//! Fails, never skips, when the emulator variables are missing.

use std::path::Path;
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            if entry.file_name() != ".forge" && entry.file_name() != ".terragrunt-cache" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn forge(cwd: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_forge")).args(args).current_dir(cwd).env("NO_COLOR", "1").output().expect("run forge");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn cli_production_applies_converges_and_destroys_against_the_emulators() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: run the tests with `scripts/test` (it starts the emulators), \
         or `source localstack/.run/env.sh` after `localstack/emulators.sh up`"
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let env_name = format!("e2e{}", &id[..8]);
    let stacks = dir.path().join("stacks");
    std::fs::create_dir_all(&stacks).expect("mkdir");
    std::fs::copy(repo.join("stacks/terragrunt.hcl"), stacks.join("terragrunt.hcl")).expect("root file");
    copy_dir(&repo.join("stacks/modules"), &stacks.join("modules"));
    copy_dir(&repo.join("stacks/production"), &stacks.join(&env_name));
    let env_hcl = stacks.join(&env_name).join("env.hcl");
    let text = std::fs::read_to_string(&env_hcl).expect("env.hcl");
    let text = text.replace("\"production\"", &format!("\"{env_name}\"")).replace("\"fast-api-jwt\"", &format!("\"fj{}\"", &id[..6]));
    std::fs::write(&env_hcl, text).expect("env.hcl");

    let (code, out) = forge(dir.path(), &["apply", &env_name, "--auto-approve"]);
    assert_eq!(code, 0, "apply failed:\n{out}");
    assert!(out.contains("Apply complete! Resources: 23 added, 0 changed, 0 destroyed."), "{out}");
    let (code, out) = forge(dir.path(), &["plan", &env_name, "--detailed-exitcode"]);
    assert_eq!(code, 0, "a second plan has changes or failed:\n{out}");
    let (code, out) = forge(dir.path(), &["output", &env_name, "--json"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = forge(dir.path(), &["destroy", &env_name, "--auto-approve"]);
    assert_eq!(code, 0, "destroy failed:\n{out}");
    assert!(out.contains("Destroy complete! Resources: 0 added, 0 changed, 23 destroyed."), "{out}");
}
