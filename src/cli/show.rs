//! `forge show [-json] [FILE|DIR]`: a plan saved with `plan -out` (each unit's plan text,
//! or Terraform's plan document), or the state of a unit or of every unit of an
//! environment (`terraform show`'s text, or its state document), as Terraform's show.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use forge_config::Mode;
use forge_engine::saved_plan::{SavedPlan, is_plan_file};
use forge_engine::state::State;
use forge_engine::{EngineError, ErrorKind, InstanceAddr};
use forge_provider::{Schema, Value};
use forge_render::text::{Style, inline};
use serde_json::Value as J;

use super::common::{Factories, Outcome, factories, load_env, resolve_target};

#[derive(Args)]
pub struct ShowArgs {
    /// A plan file saved with `forge plan -out`, or a unit or environment folder (its state).
    #[arg(default_value = ".", value_name = "FILE|DIR")]
    pub path: PathBuf,
    /// Terraform's JSON: a saved plan's plan document, or the state document; one line
    /// per unit, with a `unit` field, when there are several.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ShowArgs, style: Style) -> Outcome {
    // Any file is taken for a plan, so another file (a plan Terraform wrote) gets
    // "not a forge plan file" rather than "not a folder".
    if is_plan_file(&args.path) || args.path.is_file() {
        show_plan(&args).await
    } else {
        show_state(&args, style).await
    }
}

async fn show_plan(args: &ShowArgs) -> Outcome {
    if !is_plan_file(&args.path) {
        return Err(EngineError::new(
            ErrorKind::Request,
            format!("{} is not a forge plan file", args.path.display()),
        )
        .hint("forge shows plans saved with forge plan -out FILE; a plan Terraform wrote is read by terraform show")
        .into());
    }
    let mut saved = SavedPlan::read(&args.path)?;
    if !saved.shown_encrypted.is_empty() {
        // Encrypted with each unit's plan key: the environment's settings give them.
        let env = load_env(&saved.dir)?;
        let engine = forge_engine::Engine::new(Vec::new(), Vec::new())
            .with_key_services(crate::cli::common::key_services());
        saved.decrypt_shown(&|name: &str| engine.plan_cipher(&env, name))?;
    }
    if saved.shown.is_empty() && !saved.units.is_empty() {
        return Err(EngineError::new(
            ErrorKind::Request,
            format!(
                "{} holds no presentation of its plan (it was saved by an earlier forge)",
                args.path.display()
            ),
        )
        .hint("save the plan again with forge plan -out FILE")
        .into());
    }
    let many = saved.shown.len() > 1;
    for (name, shown) in &saved.shown {
        if args.json {
            println!("{}", one_line(&shown.document, many.then_some(name)));
        } else {
            if many {
                println!("── unit {name} ");
            }
            print!("{}", shown.text);
            if many {
                println!();
            }
        }
    }
    Ok(0)
}

async fn show_state(args: &ShowArgs, style: Style) -> Outcome {
    let dir = resolve_target(&args.path)?;
    let env = load_env(&dir)?;
    let (factories, _fake) = factories()?;
    let engine = forge_engine::Engine::new(
        factories.clone(),
        vec![std::sync::Arc::new(
            forge_aws::remote_state::S3BackendFactory::new(),
        )],
    )
    .with_key_services(crate::cli::common::key_services());
    let schemas = Schemas::new(&factories);
    let many = env.units.len() > 1;
    for unit in &env.units {
        let store = engine.read_state(unit).await?;
        let state = &store.state;
        if args.json {
            let doc = forge_render::state_json::state_json(state, &|addr, inst| {
                schemas.plain(addr, &inst.attributes)
            });
            println!("{}", one_line(&doc, many.then_some(&unit.name)));
            continue;
        }
        if many {
            println!("{}", style.bold(&format!("── unit {} ", unit.name)));
        }
        print!("{}", state_text(state, &schemas));
        if many {
            println!();
        }
    }
    Ok(0)
}

/// `terraform show`'s text of a state: each resource as `state show` lays it out, then
/// the outputs (sensitive ones hidden).
fn state_text(state: &State, schemas: &Schemas) -> String {
    if state.instances.is_empty() && state.outputs.is_empty() {
        return "No state.\n".into();
    }
    let mut sections: Vec<String> = state
        .instances
        .iter()
        .map(|(addr, inst)| {
            let schema = schemas.of(addr);
            let attrs = schemas.plain(addr, &inst.attributes);
            forge_render::text::state_resource(addr, &attrs, schema.as_ref())
        })
        .collect();
    if !state.outputs.is_empty() {
        let mut outputs = String::from("\nOutputs:\n\n");
        for (name, o) in &state.outputs {
            let shown = if o.sensitive || o.value.contains_sensitive() {
                "(sensitive value)".to_string()
            } else {
                inline(&o.value)
            };
            outputs.push_str(&format!("{name} = {shown}\n"));
        }
        sections.push(outputs);
    }
    sections.join("\n")
}

/// A document on one line, with the unit's name added when there are several.
fn one_line(doc: &J, unit: Option<&String>) -> String {
    let mut doc = doc.clone();
    if let (Some(unit), Some(o)) = (unit, doc.as_object_mut()) {
        o.insert("unit".into(), J::String(unit.clone()));
    }
    serde_json::to_string(&doc).unwrap_or_default()
}

/// The providers' schemas, asked once per provider: which attributes are nested blocks
/// and which are dynamic (stored in their `{"value", "type"}` wire form).
pub(super) struct Schemas {
    by_provider: BTreeMap<String, forge_provider::ProviderSchemas>,
}

impl Schemas {
    /// The built-in providers' schemas (console reads state the same way).
    pub(super) fn for_console() -> Schemas {
        match factories() {
            Ok((f, _fake)) => Schemas::new(&f),
            Err(_) => Schemas {
                by_provider: BTreeMap::new(),
            },
        }
    }

    fn new(factories: &Factories) -> Schemas {
        Schemas {
            by_provider: factories
                .iter()
                .map(|f| (f.name().to_string(), f.schemas()))
                .collect(),
        }
    }

    fn of(&self, addr: &InstanceAddr) -> Option<Schema> {
        let provider = forge_engine::module_graph::provider_name_of(&addr.type_name);
        let schemas = self.by_provider.get(provider)?;
        if addr.mode == Mode::Data {
            schemas.data_sources.get(&addr.type_name).cloned()
        } else {
            schemas.resources.get(&addr.type_name).cloned()
        }
    }

    /// The attributes out of the state's wire form; as stored for a type no provider knows.
    pub(super) fn plain(&self, addr: &InstanceAddr, attributes: &Value) -> Value {
        match self.of(addr) {
            Some(s) => forge_engine::schema_util::from_state(&s, attributes),
            None => attributes.clone(),
        }
    }
}
