//! A second environment is a copy of the environment folder with one line of env.hcl
//! changed. Against the emulators: the copy gets its own state keys, shares no AWS object
//! with the original, both converge, and destroying the copy leaves the original intact.

use std::collections::BTreeSet;

use super::stacks::{Stacks, UNITS, assert_destroy_order, s3_client, sdk_config, unique_id};

/// Every id and ARN of the managed objects a state records.
fn object_ids(state: &serde_json::Value) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for r in state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        // AWS objects only: a random_password (the JWT key) is state alone, its id
        // always "none".
        .filter(|r| {
            r["mode"] == "managed" && !r["type"].as_str().is_some_and(|t| t.starts_with("random_"))
        })
    {
        for i in r["instances"].as_array().into_iter().flatten() {
            for attr in ["id", "arn"] {
                if let Some(v) = i["attributes"][attr].as_str() {
                    ids.insert(v.to_string());
                }
            }
        }
    }
    ids
}

/// Each unit's (lineage, serial, object ids) in one environment.
async fn states(
    stacks: &Stacks,
    s3: &aws_sdk_s3::Client,
    env: &str,
) -> Vec<(String, u64, BTreeSet<String>)> {
    let mut out = Vec::new();
    for unit in UNITS {
        let s = stacks
            .state(s3, env, unit)
            .await
            .unwrap_or_else(|| panic!("no state at {env}/{unit}/terraform.tfstate"));
        out.push((
            s["lineage"].as_str().unwrap_or_default().to_string(),
            s["serial"].as_u64().unwrap_or_default(),
            object_ids(&s),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_a_copied_environment_is_independent_of_the_original() {
    let stacks = Stacks::new();
    let id = unique_id();
    let (a, b) = (format!("ea{}", &id[..8]), format!("eb{}", &id[..8]));
    stacks.add_production_copy(&a);
    let cfg = sdk_config().await;
    let s3 = s3_client(&cfg);

    let (code, out) = stacks.forge(&["apply", &a, "--auto-approve"]);
    assert_eq!(code, 0, "apply of {a} failed:\n{out}");
    let a_states = states(&stacks, &s3, &a).await;

    stacks.copy_environment(&a, &b);
    let a_hcl = std::fs::read_to_string(stacks.env_dir(&a).join("env.hcl")).expect("env.hcl");
    let b_hcl = std::fs::read_to_string(stacks.env_dir(&b).join("env.hcl")).expect("env.hcl");
    let differing: Vec<(&str, &str)> = a_hcl
        .lines()
        .zip(b_hcl.lines())
        .filter(|(x, y)| x != y)
        .collect();
    assert_eq!(
        differing.len(),
        1,
        "the copy must differ in the environment line only: {differing:?}"
    );
    assert!(
        b_hcl.contains(&format!("environment  = \"{b}\""))
            && b_hcl.contains(&format!("project_name = \"{}\"", stacks.project)),
        "{b_hcl}"
    );
    for unit in UNITS {
        assert!(
            stacks.state(&s3, &b, unit).await.is_none(),
            "{b}/{unit} has state before its first apply"
        );
    }

    let (code, out) = stacks.forge(&["apply", &b, "--auto-approve"]);
    assert_eq!(code, 0, "apply of the copy {b} failed:\n{out}");
    assert!(
        out.contains("Apply complete! Resources: 24 added, 0 changed, 0 destroyed."),
        "the copy did not create its own objects:\n{out}"
    );
    let b_states = states(&stacks, &s3, &b).await;
    assert_eq!(
        states(&stacks, &s3, &a).await,
        a_states,
        "applying {b} changed the state of {a}"
    );
    for (unit, (sa, sb)) in UNITS.iter().zip(a_states.iter().zip(&b_states)) {
        assert_ne!(
            sa.0, sb.0,
            "{unit}: both environments' states have the same lineage"
        );
        let shared: Vec<&String> = sa.2.intersection(&sb.2).collect();
        assert!(
            shared.is_empty(),
            "{unit}: {a} and {b} share AWS objects {shared:?}"
        );
        for name in sb.2.iter().filter(|n| {
            n.starts_with("arn:aws:iam")
                || n.starts_with("arn:aws:s3")
                || n.starts_with("arn:aws:sqs")
        }) {
            assert!(
                name.contains(&b),
                "{unit}: {name} of {b} is not named after its environment"
            );
        }
    }

    for env in [&a, &b] {
        let (code, out) = stacks.forge(&["plan", env, "--detailed-exitcode"]);
        assert_eq!(
            code, 0,
            "{env} does not plan a no-op with both environments applied:\n{out}"
        );
    }

    let (code, out) = stacks.forge(&["destroy", &b, "--auto-approve"]);
    assert_eq!(code, 0, "destroy of {b} failed:\n{out}");
    assert!(
        out.contains("Destroy complete! Resources: 0 added, 0 changed, 24 destroyed."),
        "{out}"
    );
    assert_eq!(
        states(&stacks, &s3, &a).await,
        a_states,
        "destroying {b} changed the state of {a}"
    );
    let (code, out) = stacks.forge(&["plan", &a, "--detailed-exitcode"]);
    assert_eq!(code, 0, "{a} changed when {b} was destroyed:\n{out}");

    let (code, out) = stacks.forge(&["destroy", &a, "--auto-approve"]);
    assert_eq!(code, 0, "destroy of {a} failed:\n{out}");
    assert!(
        out.contains("Destroy complete! Resources: 0 added, 0 changed, 24 destroyed."),
        "{out}"
    );
    assert_destroy_order(&out);
    stacks.forget(&cfg, &b).await;
    stacks.forget(&cfg, &a).await;
}
