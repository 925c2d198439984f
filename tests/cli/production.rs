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
        out.contains("Apply complete! Resources: 23 added, 0 changed, 0 destroyed."),
        "{out}"
    );
    let (code, out) = stacks.forge(&["plan", &env_name, "--detailed-exitcode"]);
    assert_eq!(code, 0, "a second plan has changes or failed:\n{out}");
    let (code, out) = stacks.forge(&["output", &env_name, "--json"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = stacks.forge(&["destroy", &env_name, "--auto-approve"]);
    assert_eq!(code, 0, "destroy failed:\n{out}");
    assert!(
        out.contains("Destroy complete! Resources: 0 added, 0 changed, 23 destroyed."),
        "{out}"
    );
    assert_destroy_order(&out);
    stacks.forget(&sdk_config().await, &env_name).await;
}
