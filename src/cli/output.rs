//! `forge output`: the outputs recorded in state. Sensitive values are never printed.

use clap::Args;
use forge_provider::Value;
use forge_render::text::inline;

use super::common::{Outcome, factories, load_env, resolve_target};
use std::path::PathBuf;

#[derive(Args)]
pub struct OutputArgs {
    /// The environment or unit folder.
    #[arg(default_value = ".")]
    pub target: PathBuf,
    /// Only this output.
    pub name: Option<String>,
    /// Print JSON (sensitive values as null with "sensitive": true).
    #[arg(long)]
    pub json: bool,
    /// Print a string output bare, for scripts.
    #[arg(long)]
    pub raw: bool,
}

pub async fn run(args: OutputArgs) -> Outcome {
    let dir = resolve_target(&args.target)?;
    let env = load_env(&dir)?;
    let (factories, _fake) = factories()?;
    let engine = forge_engine::Engine::new(
        factories,
        vec![std::sync::Arc::new(
            forge_aws::remote_state::S3BackendFactory::new(),
        )],
    )
    .with_key_services(crate::cli::common::key_services());
    let many = env.units.len() > 1;
    let mut json = serde_json::Map::new();
    let mut found = false;
    for unit in &env.units {
        let store = engine.read_state(unit).await?;
        let mut unit_json = serde_json::Map::new();
        for (name, o) in &store.state.outputs {
            if args.name.as_ref().is_some_and(|n| n != name) {
                continue;
            }
            found = true;
            let sensitive = o.sensitive || o.value.contains_sensitive();
            if args.json {
                let value = if sensitive {
                    serde_json::Value::Null
                } else {
                    o.value.to_json()
                };
                unit_json.insert(name.clone(), serde_json::json!({"value": value, "type": forge_engine::state::cty_type(&o.value), "sensitive": sensitive}));
            } else if args.raw && args.name.is_some() {
                // As Terraform's -raw: the text alone, no newline after it (so
                // `forge output -raw x > file` writes the value exactly); strings, numbers
                // and booleans only. A sensitive value stays hidden.
                match (&o.value, sensitive) {
                    (_, true) => println!("(sensitive value)"),
                    (Value::String(s), false) => print!("{s}"),
                    (v @ (Value::Number(_) | Value::Bool(_)), false) => print!("{}", inline(v)),
                    (v, false) => {
                        return Err(forge_engine::EngineError::new(
                            forge_engine::ErrorKind::Request,
                            format!("output {name:?} is a {}, and -raw prints strings, numbers and booleans only", v.kind_name()),
                        )
                        .hint("use -json for outputs of complex types")
                        .into());
                    }
                }
            } else {
                let prefix = if many {
                    format!("{}.", unit.name)
                } else {
                    String::new()
                };
                println!(
                    "{prefix}{name} = {}",
                    if sensitive {
                        "(sensitive value)".into()
                    } else {
                        inline(&o.value)
                    }
                );
            }
        }
        if many {
            json.insert(unit.name.clone(), serde_json::Value::Object(unit_json));
        } else {
            json = unit_json;
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    }
    if let Some(n) = &args.name
        && !found
    {
        return Err(forge_engine::EngineError::new(forge_engine::ErrorKind::Request, format!("no output named {n:?} in the state of {}", dir.display()))
                .hint("run forge output without a name to list the outputs; a unit that was never applied has none")
                .into());
    }
    Ok(0)
}
