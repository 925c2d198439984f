//! AWS answers lost after the service acted (`FORGE_FAULT_LOSE_ANSWERS`: the request is
//! carried out, the SDK sees a 500 and sends it again): forge must recognise its own
//! writes when the retry is refused because of them. Its lock PutItem (and the S3 lock
//! object) refused by the lock it just took is its lock; its conditional state write
//! answered 412 by the object it just wrote succeeded; a conditional lock delete refused
//! because its first attempt already deleted the item succeeded. Every answer of those
//! calls is lost once here, in an apply, a plan and a destroy of two dependent units.

use super::s3_unit::{Backend, forge, resources};
use crate::emulator::unique;

const LOSE_EVERY_WRITE: &str = "seed=18;rate=1;ops=PutItem,DeleteItem,PutObject,DeleteObject";

#[tokio::test]
async fn cli_runs_recognise_their_own_writes_when_answers_are_lost() {
    let backend = Backend {
        bucket: "forge-cli-lost-answers".to_string(),
        table: "forge-cli-lost-answers-locks".to_string(),
        use_lockfile: true,
    };
    let name = unique("lost");
    let key_a = format!("{name}/a/terraform.tfstate");
    let key_b = format!("{name}/b/terraform.tfstate");
    let world = super::World::new(&[
        ("env/a/terragrunt.hcl", &backend.terragrunt_hcl(&key_a, "inputs = {}\n")),
        (
            "env/a/main.tf",
            "resource \"terraform_data\" \"first\" {\n  input = \"one\"\n}\n\n\
             resource \"terraform_data\" \"second\" {\n  input = terraform_data.first.output\n}\n\n\
             output \"value\" {\n  value = terraform_data.second.output\n}\n",
        ),
        (
            "env/b/terragrunt.hcl",
            &backend.terragrunt_hcl(
                &key_b,
                "dependency \"a\" {\n  config_path = \"../a\"\n}\n\ninputs = {\n  value = dependency.a.outputs.value\n}\n",
            ),
        ),
        (
            "env/b/main.tf",
            "variable \"value\" {\n  type = string\n}\n\n\
             resource \"terraform_data\" \"third\" {\n  input = var.value\n}\n",
        ),
    ]);
    let dir = world.dir.path();
    let faults = [("FORGE_FAULT_LOSE_ANSWERS", LOSE_EVERY_WRITE)];

    let applied = forge(dir, &["apply", "env", "--auto-approve"], &faults);
    assert_eq!(applied.code, 0, "{}", applied.all());
    // Each kind of write really lost its answer (else this test proves nothing).
    for call in [
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "s3:PutObject",
        "s3:DeleteObject",
    ] {
        assert!(
            applied.stderr.contains(&format!(
                "lost the answer of {call} after the service acted"
            )),
            "no answer of {call} was lost:\n{}",
            applied.all()
        );
    }
    for (key, expected) in [
        (
            &key_a,
            vec!["terraform_data.first", "terraform_data.second"],
        ),
        (&key_b, vec!["terraform_data.third"]),
    ] {
        let state = backend.state(key).await.expect("state in S3");
        assert_eq!(resources(&state), expected, "{}", applied.all());
        assert_eq!(
            backend.lock_item(key).await,
            None,
            "the lock of {key} is left"
        );
        assert_eq!(
            backend.object(&format!("{key}.tflock")).await,
            None,
            "the lock object of {key} is left"
        );
        let bytes = backend.object(key).await.expect("state bytes");
        assert_eq!(
            backend.digest(key).await,
            Some(forge_aws::remote_state::md5_hex(&bytes)),
            "the digest of {key} is not the stored state's"
        );
    }

    let planned = forge(dir, &["plan", "env", "--detailed-exitcode"], &faults);
    assert_eq!(
        planned.code,
        0,
        "the plan after the apply is not clean:\n{}",
        planned.all()
    );

    let destroyed = forge(dir, &["destroy", "env", "--auto-approve"], &faults);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
    for key in [&key_a, &key_b] {
        let state = backend.state(key).await.expect("state in S3");
        assert!(resources(&state).is_empty(), "{key}: {state}");
        assert_eq!(
            backend.lock_item(key).await,
            None,
            "the lock of {key} is left"
        );
    }
}
