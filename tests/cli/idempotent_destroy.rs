//! Destroy is idempotent: a second `forge destroy` of an environment already destroyed
//! says "No objects need to be destroyed" for every unit and exits 0, even though the
//! dependents' inputs need outputs their destroyed dependencies no longer have; and a
//! destroy killed half-way is finished by the next one.

use super::s3_unit::{Backend, forge, resources};
use crate::emulator::unique;

fn backend() -> Backend {
    Backend {
        bucket: "forge-cli-idempotent-destroy".to_string(),
        table: "forge-cli-idempotent-destroy-locks".to_string(),
        use_lockfile: false,
    }
}

/// Two units: `b` takes `a`'s output as an input (no mock outputs: a destroyed `a` has
/// nothing to give it).
fn two_units(backend: &Backend, prefix: &str) -> super::World {
    super::World::new(&[
        (
            "env/a/terragrunt.hcl",
            &backend.terragrunt_hcl(&format!("{prefix}/a/terraform.tfstate"), "inputs = {}\n"),
        ),
        (
            "env/a/main.tf",
            "resource \"terraform_data\" \"first\" {\n  input = \"one\"\n}\n\n\
             resource \"terraform_data\" \"second\" {\n  input = terraform_data.first.output\n}\n\n\
             output \"value\" {\n  value = terraform_data.second.output\n}\n",
        ),
        (
            "env/b/terragrunt.hcl",
            &backend.terragrunt_hcl(
                &format!("{prefix}/b/terraform.tfstate"),
                "dependency \"a\" {\n  config_path = \"../a\"\n}\n\ninputs = {\n  value = dependency.a.outputs.value\n}\n",
            ),
        ),
        (
            "env/b/main.tf",
            "variable \"value\" {\n  type = string\n}\n\n\
             resource \"terraform_data\" \"third\" {\n  input = var.value\n}\n",
        ),
    ])
}

fn nothing_to_destroy_count(text: &str) -> usize {
    text.matches("No objects need to be destroyed").count()
}

#[tokio::test]
async fn cli_destroy_twice_says_nothing_to_destroy_and_exits_zero() {
    let backend = backend();
    let prefix = unique("destroy-twice");
    let world = two_units(&backend, &prefix);
    let dir = world.dir.path();

    let applied = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let destroyed = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
    assert!(
        destroyed.all().contains("3 destroyed"),
        "{}",
        destroyed.all()
    );

    // Again, in one walk and through the environment-wide plan (the confirmation flow).
    for args in [
        &["destroy", "env", "--auto-approve"][..],
        &["destroy", "env"][..],
        &["plan", "env", "--destroy", "--detailed-exitcode"][..],
    ] {
        let again = forge(dir, args, &[]);
        assert_eq!(again.code, 0, "forge {args:?}:\n{}", again.all());
        assert_eq!(
            nothing_to_destroy_count(&again.stdout),
            2,
            "forge {args:?} does not say it for each unit:\n{}",
            again.all()
        );
        assert!(
            !again.all().contains("error"),
            "forge {args:?}:\n{}",
            again.all()
        );
    }
    for unit in ["a", "b"] {
        let key = format!("{prefix}/{unit}/terraform.tfstate");
        let state = backend.state(&key).await.expect("state in S3");
        assert!(resources(&state).is_empty(), "{unit}: {state}");
        assert_eq!(
            backend.lock_item(&key).await,
            None,
            "{unit} is still locked"
        );
    }
}

#[tokio::test]
async fn cli_a_destroy_killed_half_way_is_finished_by_the_next_one() {
    let backend = backend();
    let prefix = unique("destroy-half");
    let world = two_units(&backend, &prefix);
    let dir = world.dir.path();
    let applied = forge(dir, &["apply", "env", "--auto-approve"], &[]);
    assert_eq!(applied.code, 0, "{}", applied.all());

    // Killed right after its second deletion: b's object and one of a's are gone.
    let killed = forge(
        dir,
        &["destroy", "env", "--auto-approve"],
        &[("FORGE_FAULT_ABORT_AFTER_OPS", "2")],
    );
    assert_ne!(
        killed.code,
        0,
        "the destroy was not killed:\n{}",
        killed.all()
    );

    // The kill left both units' locks (taken ahead as the walk starts): the next run
    // releases them itself, since their holder is gone.
    let finished = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
    assert_eq!(finished.code, 0, "{}", finished.all());
    assert_eq!(
        finished
            .all()
            .matches("released the state lock of a forge run that is gone")
            .count(),
        2,
        "{}",
        finished.all()
    );
    assert!(
        finished.all().contains("1 destroyed"),
        "only a's last object was left:\n{}",
        finished.all()
    );
    for unit in ["a", "b"] {
        let key = format!("{prefix}/{unit}/terraform.tfstate");
        let state = backend.state(&key).await.expect("state in S3");
        assert!(resources(&state).is_empty(), "{unit}: {state}");
        assert_eq!(
            backend.lock_item(&key).await,
            None,
            "{unit} is still locked"
        );
    }
    let again = forge(dir, &["destroy", "env", "--auto-approve"], &[]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert_eq!(
        nothing_to_destroy_count(&again.stdout),
        2,
        "{}",
        again.all()
    );
}
