//! The real end-to-end target, against the emulators: a copy of `stacks/` whose
//! production environment is renamed (unique project and environment names, so runs never
//! collide) is applied, planned again (no changes), and destroyed, dependents first,
//! through the binary. Fails, never skips, when the emulator variables are missing.

use super::stacks::{Stacks, assert_destroy_order, sdk_config, unique_id};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_production_applies_converges_and_destroys_against_the_emulators() {
    let stacks = Stacks::new();
    let env_name = format!("e2e{}", &unique_id()[..8]);
    stacks.add_production_copy(&env_name);

    let (code, out) = stacks.forge(&["apply", &env_name, "--auto-approve"]);
    assert_eq!(code, 0, "apply failed:\n{out}");
    assert!(
        out.contains("Apply complete! Resources: 24 added, 0 changed, 0 destroyed."),
        "{out}"
    );
    let (code, out) = stacks.forge(&["plan", &env_name, "--detailed-exitcode"]);
    assert_eq!(code, 0, "a second plan has changes or failed:\n{out}");

    // The JWT signing key is generated (random_password), never printed, and rotated by
    // replacing it.
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    let secret_id = format!("{}-{env_name}/fast-api/jwt", stacks.project);
    let signing_key = || async {
        let value = secrets
            .get_secret_value()
            .secret_id(&secret_id)
            .send()
            .await
            .expect("the JWT secret's value");
        let doc: serde_json::Value =
            serde_json::from_str(value.secret_string().expect("a string")).expect("JSON");
        doc["signing_key"]
            .as_str()
            .expect("signing_key")
            .to_string()
    };
    let key = signing_key().await;
    assert!(
        key.len() == 64 && key.chars().all(|c| c.is_ascii_alphanumeric()),
        "not a generated 64-character key: {} characters",
        key.len()
    );
    let (code, out) = stacks.forge(&[
        "apply",
        &env_name,
        "-replace=secret-manager:random_password.jwt[0]",
        "--auto-approve",
    ]);
    assert_eq!(code, 0, "rotation failed:\n{out}");
    assert!(!out.contains(&key), "the old key was printed");
    let rotated = signing_key().await;
    assert_ne!(rotated, key, "the key was not rotated");
    assert!(!out.contains(&rotated), "the new key was printed");
    let (code, out) = stacks.forge(&["plan", &env_name, "--detailed-exitcode"]);
    assert_eq!(code, 0, "the plan after the rotation has changes:\n{out}");
    let (code, out) = stacks.forge(&["output", &env_name, "--json"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = stacks.forge(&["destroy", &env_name, "--auto-approve"]);
    assert_eq!(code, 0, "destroy failed:\n{out}");
    assert!(
        out.contains("Destroy complete! Resources: 0 added, 0 changed, 24 destroyed."),
        "{out}"
    );
    assert_destroy_order(&out);
    stacks.forget(&sdk_config().await, &env_name).await;
}
