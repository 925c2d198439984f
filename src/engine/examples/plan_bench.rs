//! Plans generated environments of 25, 50 and 100 units x 10 resources on the fake
//! provider and prints wall time and peak memory (VmHWM). Not a test: numbers to watch.
//!
//!     cargo run -p forge-engine --example plan_bench [sizes...]

use std::path::Path;
use std::time::Instant;

use forge_config::Environment;
use forge_engine::{Engine, PlanMode};
use forge_provider::fake::{FakeCloud, FakeProviderFactory};

const RESOURCES_PER_UNIT: usize = 10;

/// Unit i depends on unit (i-1)/2, so the graph is a tree with real dependency outputs.
fn generate(root: &Path, units: usize) -> std::io::Result<()> {
    for i in 0..units {
        let dir = root.join(format!("unit{i:03}"));
        std::fs::create_dir_all(&dir)?;
        let (dep, input) = if i == 0 {
            (String::new(), "    upstream = \"root\"\n".to_string())
        } else {
            let parent = (i - 1) / 2;
            (
                format!("dependency \"parent\" {{\n  config_path = \"../unit{parent:03}\"\n}}\n\n"),
                "    upstream = dependency.parent.outputs.first_arn\n".to_string(),
            )
        };
        std::fs::write(
            dir.join("terragrunt.hcl"),
            format!("{dep}inputs = {{\n    prefix = \"u{i}\"\n{input}}}\n"),
        )?;
        let mut tf = String::from(
            "variable \"prefix\" {\n  type = string\n}\n\nvariable \"upstream\" {\n  type = string\n}\n\nlocals {\n  tags = { unit = var.prefix }\n}\n\n",
        );
        for r in 0..RESOURCES_PER_UNIT {
            let value = if r == 0 {
                "var.upstream".to_string()
            } else {
                format!("fake_thing.r{}.arn", r - 1)
            };
            tf.push_str(&format!(
                "resource \"fake_thing\" \"r{r}\" {{\n  name  = \"${{var.prefix}}-r{r}\"\n  value = {value}\n  tags  = local.tags\n}}\n\n"
            ));
        }
        tf.push_str("output \"first_arn\" {\n  value = fake_thing.r0.arn\n}\n");
        std::fs::write(dir.join("main.tf"), tf)?;
    }
    Ok(())
}

fn peak_memory_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![25, 50, 100]
    } else {
        sizes
    };
    println!(
        "{:>6} {:>10} {:>8} {:>10} {:>12}",
        "units", "resources", "load", "plan", "peak VmHWM"
    );
    for n in sizes {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: no temporary folder: {e}");
                std::process::exit(1);
            }
        };
        if let Err(e) = generate(dir.path(), n) {
            eprintln!("error: cannot write the environment: {e}");
            std::process::exit(1);
        }
        let start = Instant::now();
        let env = match Environment::load(dir.path(), &forge_config::LoadContext::default()) {
            Ok(e) => e,
            Err(d) => {
                eprintln!("{d}");
                std::process::exit(1);
            }
        };
        let load = start.elapsed();
        let engine = Engine::new(vec![FakeProviderFactory::new(FakeCloud::new())], vec![]);
        let start = Instant::now();
        let plan = match engine.plan(&env, PlanMode::Normal).await {
            Ok(p) => p,
            Err(e) => {
                eprint!("{e}");
                std::process::exit(1);
            }
        };
        let elapsed = start.elapsed();
        if plan.failed() {
            eprintln!(
                "error: the generated environment failed to plan: {:?}",
                plan.units.iter().find(|(_, o)| o.done().is_none())
            );
            std::process::exit(1);
        }
        let resources: usize = plan
            .units
            .iter()
            .filter_map(|(_, o)| o.done())
            .map(|p| p.changes.len())
            .sum();
        println!(
            "{n:>6} {resources:>10} {:>7.0}ms {:>8.0}ms {:>9} MB",
            load.as_secs_f64() * 1000.0,
            elapsed.as_secs_f64() * 1000.0,
            peak_memory_kb()
                .map(|k| (k / 1024).to_string())
                .unwrap_or_else(|| "?".into())
        );
    }
}
