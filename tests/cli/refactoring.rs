//! `moved`, `removed` and `import` blocks through the `forge` binary: against the emulators
//! (a queue renamed in configuration keeps its URL, a queue made outside forge is adopted
//! and then let go without being deleted), and against the real Terraform as oracle for
//! the plan's wording and JSON on `terraform_data`.

use std::process::Command;

use serde_json::Value as J;

use super::oracle::terraform;
use super::stacks::require_emulators;
use super::{Run, World};
use crate::emulator::{sdk_config, unique};

fn forge(world: &World, args: &[&str]) -> Run {
    // Without FORGE_FAKE_CLOUD: the real providers, on the emulators' endpoints.
    let out = Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(args)
        .current_dir(world.dir.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run forge");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn local_state(world: &World) -> J {
    serde_json::from_slice(
        &std::fs::read(world.path("env/u/.forge/terraform.tfstate")).expect("state file"),
    )
    .expect("state is JSON")
}

/// `type.name` -> the `id` of its single instance, for every managed resource in state.
fn ids(state: &J) -> Vec<(String, String)> {
    state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["mode"] == "managed")
        .flat_map(|r| {
            let addr = format!(
                "{}.{}",
                r["type"].as_str().unwrap_or(""),
                r["name"].as_str().unwrap_or("")
            );
            r["instances"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |i| {
                    (
                        addr.clone(),
                        i["attributes"]["id"].as_str().unwrap_or("").to_string(),
                    )
                })
        })
        .collect()
}

#[tokio::test]
async fn cli_moved_import_and_removed_blocks_on_sqs_queues() {
    require_emulators();
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let name = unique("refactor");
    let provider = "provider \"aws\" {\n  region = \"us-east-1\"\n}\n\n";
    let world = World::new(&[
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
        (
            "env/u/main.tf",
            &format!(
                "{provider}resource \"aws_sqs_queue\" \"jobs\" {{\n  name = \"{name}-jobs\"\n}}\n"
            ),
        ),
    ]);
    let applied = forge(&world, &["apply", "env", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let jobs_url = ids(&local_state(&world))[0].1.clone();
    // A queue made outside forge.
    let adopted_url = sqs
        .create_queue()
        .queue_name(format!("{name}-adopted"))
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .expect("url")
        .to_string();

    // Renamed in configuration, and the other queue brought in.
    let renamed = format!(
        "{provider}resource \"aws_sqs_queue\" \"work\" {{\n  name = \"{name}-jobs\"\n}}\n\nmoved {{\n  from = aws_sqs_queue.jobs\n  to   = aws_sqs_queue.work\n}}\n\n\
         resource \"aws_sqs_queue\" \"adopted\" {{\n  name = \"{name}-adopted\"\n}}\n\nimport {{\n  to = aws_sqs_queue.adopted\n  id = \"{adopted_url}\"\n}}\n"
    );
    world.write(&[("env/u/main.tf", &renamed)]);
    let plan = forge(&world, &["plan", "env"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let text = plan.all();
    assert!(
        text.contains("# aws_sqs_queue.jobs has moved to aws_sqs_queue.work"),
        "{text}"
    );
    assert!(
        text.contains("# aws_sqs_queue.adopted will be imported")
            || text.contains(&format!("# (imported from \"{adopted_url}\")")),
        "{text}"
    );
    assert!(
        text.contains("Plan: 1 to import, 0 to add,") && text.contains("to change, 0 to destroy."),
        "{text}"
    );
    assert!(
        !text.contains("must be replaced") && !text.contains("will be destroyed"),
        "{text}"
    );

    let applied = forge(&world, &["apply", "env", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let out = applied.all();
    assert!(
        out.contains("aws_sqs_queue.adopted: Importing...")
            && out.contains("aws_sqs_queue.adopted: Import complete after")
            && out.contains(&format!("[id={adopted_url}]")),
        "{out}"
    );
    assert!(
        out.contains("Apply complete! Resources: 1 imported, 0 added, "),
        "{out}"
    );
    let mut recorded = ids(&local_state(&world));
    recorded.sort();
    assert_eq!(
        recorded,
        vec![
            ("aws_sqs_queue.adopted".to_string(), adopted_url.clone()),
            ("aws_sqs_queue.work".to_string(), jobs_url.clone())
        ],
        "the same queues, at the new addresses"
    );
    let clean = forge(&world, &["plan", "env", "--detailed-exitcode"]);
    assert_eq!(
        clean.code,
        0,
        "the plan after the import is not clean:\n{}",
        clean.all()
    );

    // Let go of the adopted queue without deleting it.
    let released = format!(
        "{provider}resource \"aws_sqs_queue\" \"work\" {{\n  name = \"{name}-jobs\"\n}}\n\nremoved {{\n  from = aws_sqs_queue.adopted\n  lifecycle {{\n    destroy = false\n  }}\n}}\n"
    );
    world.write(&[("env/u/main.tf", &released)]);
    let applied = forge(&world, &["apply", "env", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    assert!(
        applied.all().contains(
            "# aws_sqs_queue.adopted will no longer be managed by forge, but will not be destroyed"
        ),
        "{}",
        applied.all()
    );
    assert_eq!(
        ids(&local_state(&world)),
        vec![("aws_sqs_queue.work".to_string(), jobs_url.clone())]
    );
    let still = sqs
        .get_queue_url()
        .queue_name(format!("{name}-adopted"))
        .send()
        .await;
    assert!(still.is_ok(), "the released queue was deleted: {still:?}");

    let destroyed = forge(&world, &["destroy", "env", "--auto-approve"]);
    assert_eq!(destroyed.code, 0, "{}", destroyed.all());
    sqs.delete_queue()
        .queue_url(&adopted_url)
        .send()
        .await
        .expect("DeleteQueue");
}

/// The `# ...` title lines of a plan's text, Terraform's name made forge's.
fn titles(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("# ") && !l.contains("unchanged attribute"))
        .map(|l| l.replace("by Terraform", "by forge"))
        .collect();
    out.sort();
    out
}

/// Each resource change's identity and change, for comparing the two documents.
fn changes(doc: &J) -> Vec<J> {
    doc["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| serde_json::json!({"address": c["address"], "previous_address": c.get("previous_address"), "action_reason": c.get("action_reason"), "change": c["change"]}))
        .collect()
}

/// Moved (whole resource, count keys to for_each keys), implied moves (count added to a
/// resource, count removed from one; none when for_each is added), removed with
/// destroy = false, an import and an import with for_each, planned on Terraform's state by
/// Terraform and by forge: the same titles in the text, the same resource changes in the
/// JSON, and the same apply summary.
#[test]
fn cli_refactoring_plans_match_terraform_on_terraform_data() {
    let before = "resource \"terraform_data\" \"a\" {\n  input = \"hello\"\n}\n\nresource \"terraform_data\" \"c\" {\n  count = 2\n  input = \"c${count.index}\"\n}\n\n\
                  resource \"terraform_data\" \"gone\" {\n  input = \"kept outside\"\n}\n\n\
                  resource \"terraform_data\" \"i\" {\n  input = \"i\"\n}\n\n\
                  resource \"terraform_data\" \"k\" {\n  count = 2\n  input = \"k\"\n}\n\n\
                  resource \"terraform_data\" \"f\" {\n  input = \"f\"\n}\n";
    let after = "resource \"terraform_data\" \"b\" {\n  input = \"hello\"\n}\n\nmoved {\n  from = terraform_data.a\n  to   = terraform_data.b\n}\n\n\
                 resource \"terraform_data\" \"c\" {\n  for_each = { x = 0, y = 1 }\n  input    = \"c${each.value}\"\n}\n\n\
                 moved {\n  from = terraform_data.c[0]\n  to   = terraform_data.c[\"x\"]\n}\n\nmoved {\n  from = terraform_data.c[1]\n  to   = terraform_data.c[\"y\"]\n}\n\n\
                 removed {\n  from = terraform_data.gone\n  lifecycle {\n    destroy = false\n  }\n}\n\n\
                 resource \"terraform_data\" \"n\" {\n  input = \"new\"\n}\n\nimport {\n  to = terraform_data.n\n  id = \"imported-id\"\n}\n\n\
                 resource \"terraform_data\" \"i\" {\n  count = 1\n  input = \"i\"\n}\n\n\
                 resource \"terraform_data\" \"k\" {\n  input = \"k\"\n}\n\n\
                 resource \"terraform_data\" \"f\" {\n  for_each = toset([\"x\", \"y\"])\n  input    = \"f\"\n}\n\n\
                 import {\n  for_each = { x = \"f-x\", y = \"f-y\" }\n  to       = terraform_data.f[each.key]\n  id       = each.value\n}\n";
    let w = World::new(&[
        ("tf/main.tf", before),
        ("env/u/terragrunt.hcl", "inputs = {}\n"),
    ]);
    let tf = w.path("tf");
    terraform(&tf, &["init", "-input=false", "-no-color"]);
    terraform(
        &tf,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
    );
    std::fs::create_dir_all(w.path("env/u/.forge")).expect("mkdir");
    std::fs::copy(
        tf.join("terraform.tfstate"),
        w.path("env/u/.forge/terraform.tfstate"),
    )
    .expect("copy state");
    w.write(&[("tf/main.tf", after), ("env/u/main.tf", after)]);
    let tf_text = terraform(&tf, &["plan", "-out", "p", "-input=false", "-no-color"]);
    let tf_json: J = serde_json::from_str(&terraform(&tf, &["show", "-json", "p"]))
        .expect("terraform show -json");

    let run = w.forge(&["plan", "env/u"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        titles(&run.stdout),
        titles(&tf_text),
        "--- terraform\n{tf_text}\n--- forge\n{}",
        run.stdout
    );
    for seen in [
        "# terraform_data.i has moved to terraform_data.i[0]",
        "# terraform_data.k[0] has moved to terraform_data.k",
        "# (imported from \"f-x\")",
        "# terraform_data.f will be destroyed",
    ] {
        assert!(
            titles(&tf_text).iter().any(|t| t.trim() == seen),
            "the comparison must see {seen:?}: {tf_text}"
        );
    }
    // Terraform's "<address>: Preparing import... [id=...]"; forge's lines start with the unit.
    let preparing = |t: &str| -> Vec<String> {
        let mut v: Vec<String> = t
            .lines()
            .filter(|l| l.contains("Preparing import"))
            .map(|l| l.split_once(" | ").map_or(l, |(_, r)| r).to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(preparing(&run.stdout), preparing(&tf_text));
    assert_eq!(preparing(&tf_text).len(), 3, "{tf_text}");
    let plan_line = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Plan:"))
            .map(str::to_string)
    };
    assert_eq!(plan_line(&run.stdout), plan_line(&tf_text));

    let run = w.forge(&["plan", "env/u", "--json-plan"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let forge_json: J = serde_json::from_str(&run.stdout).expect("forge plan --json");
    assert_eq!(
        changes(&forge_json),
        changes(&tf_json),
        "--- terraform\n{tf_json:#}\n--- forge\n{forge_json:#}"
    );
    assert_eq!(forge_json["applyable"], tf_json["applyable"]);

    // Applied by forge, the state holds what Terraform's apply of the same plan holds.
    let applied = w.forge(&["apply", "env/u", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let tf_applied = terraform(
        &tf,
        &["apply", "-auto-approve", "-input=false", "-no-color", "p"],
    );
    let summary = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Apply complete!"))
            .and_then(|l| l.split_once(" destroyed").map(|(s, _)| s.to_string()))
    };
    assert_eq!(
        summary(&applied.stdout),
        summary(&tf_applied),
        "--- terraform\n{tf_applied}\n--- forge\n{}",
        applied.stdout
    );
    assert!(
        summary(&tf_applied).is_some_and(|s| s.contains(" imported, ")),
        "{tf_applied}"
    );
    let forge_state: J = serde_json::from_slice(
        &std::fs::read(w.path("env/u/.forge/terraform.tfstate")).expect("state"),
    )
    .expect("json");
    let tf_state: J =
        serde_json::from_slice(&std::fs::read(tf.join("terraform.tfstate")).expect("state"))
            .expect("json");
    let mut f = ids(&forge_state);
    let mut t = ids(&tf_state);
    f.sort();
    t.sort();
    assert_eq!(f, t);
    let clean = w.forge(&["plan", "env/u", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}", clean.all());
}
