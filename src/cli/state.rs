//! `forge state list|show|rm|mv|pull|push`: inspect and edit a unit's state. Edits run
//! under the unit's lock and write a new serial under the same lineage.

use std::path::PathBuf;

use clap::Subcommand;
use forge_engine::state::State;
use forge_engine::{Engine, EngineError, InstanceAddr};

use super::common::{Failure, Outcome, factories, load_env, resolve_target, single_unit};

#[derive(Subcommand)]
pub enum StateCommand {
    /// List the resource instances in state.
    List {
        #[arg(default_value = ".")]
        target: PathBuf,
    },
    /// Show one instance's attributes (sensitive ones hidden).
    Show { target: PathBuf, address: String },
    /// Forget instances without deleting the objects.
    Rm {
        target: PathBuf,
        #[arg(required = true)]
        addresses: Vec<String>,
    },
    /// Rename an instance in state.
    Mv {
        target: PathBuf,
        from: String,
        to: String,
    },
    /// Print the state as stored (Terraform's JSON).
    Pull { target: PathBuf },
    /// Replace the state with a file (same lineage, newer serial), as Terraform's push.
    Push {
        target: PathBuf,
        file: PathBuf,
        /// Write even when the lineage differs or the serial is older.
        #[arg(long)]
        force: bool,
    },
}

/// The engine for a state command; only one that writes the state (`changes`: push,
/// rm, mv) creates a missing state bucket or lock table.
fn engine(changes: bool) -> Result<Engine, Failure> {
    let (factories, _fake) = factories()?;
    Ok(Engine::new(
        factories,
        vec![std::sync::Arc::new(
            forge_aws::remote_state::S3BackendFactory::new().creating_missing(changes),
        )],
    )
    .with_key_services(crate::cli::common::key_services()))
}

fn parse(addr: &str) -> Result<InstanceAddr, Failure> {
    InstanceAddr::parse(addr).ok_or_else(|| {
        Failure::Engine(EngineError::new(forge_engine::ErrorKind::Request, format!("{addr:?} is not a resource address")).hint("write it as type.name, type.name[0] or type.name[\"key\"], after module.name. (or module.name[0].) for a child module's resource"))
    })
}

/// The schema of `addr`'s type from the provider that offers it, which the provider
/// gives without being configured.
async fn schema_of(addr: &InstanceAddr) -> Option<forge_provider::Schema> {
    let (factories, _fake) = factories().ok()?;
    let provider = forge_engine::module_graph::provider_name_of(&addr.type_name);
    let schemas = factories.iter().find(|f| f.name() == provider)?.schemas();
    if addr.mode == forge_config::Mode::Data {
        schemas.data_sources.get(&addr.type_name).cloned()
    } else {
        schemas.resources.get(&addr.type_name).cloned()
    }
}

fn missing(addr: &InstanceAddr, unit: &str) -> EngineError {
    EngineError::new(
        forge_engine::ErrorKind::Request,
        format!("{addr} is not in the state of unit {unit}"),
    )
    .hint(format!("forge state list {unit} shows what is there"))
}

pub async fn run(cmd: StateCommand) -> Outcome {
    let changes = matches!(
        cmd,
        StateCommand::Rm { .. } | StateCommand::Mv { .. } | StateCommand::Push { .. }
    );
    let engine = engine(changes)?;
    match cmd {
        StateCommand::List { target } => {
            let dir = resolve_target(&target)?;
            let env = load_env(&dir)?;
            let many = env.units.len() > 1;
            for unit in &env.units {
                let store = engine.read_state(unit).await?;
                for addr in store.state.instances.keys() {
                    if many {
                        println!("{}: {addr}", unit.name);
                    } else {
                        println!("{addr}");
                    }
                }
            }
            Ok(0)
        }
        StateCommand::Show { target, address } => {
            let dir = resolve_target(&target)?;
            let env = load_env(&dir)?;
            let unit = single_unit(&env, &dir)?;
            let addr = parse(&address)?;
            let store = engine.read_state(unit).await?;
            let inst = store
                .state
                .instances
                .get(&addr)
                .ok_or_else(|| missing(&addr, &unit.name))?;
            // The schema says which attributes are nested blocks and which are dynamic,
            // stored in their `{"value", "type"}` wire form; without it (a type no
            // provider here knows) the attributes are shown as stored.
            let schema = schema_of(&addr).await;
            let attrs = match &schema {
                Some(s) => forge_engine::schema_util::from_state(s, &inst.attributes),
                None => inst.attributes.clone(),
            };
            print!(
                "{}",
                forge_render::text::state_resource(&addr, &attrs, schema.as_ref())
            );
            Ok(0)
        }
        StateCommand::Rm { target, addresses } => {
            let dir = resolve_target(&target)?;
            let env = load_env(&dir)?;
            let unit = single_unit(&env, &dir)?;
            let addrs: Vec<InstanceAddr> = addresses
                .iter()
                .map(|a| parse(a))
                .collect::<Result<_, _>>()?;
            let name = unit.name.clone();
            let removed = addrs.clone();
            engine
                .edit_state(unit, move |state| {
                    for a in &addrs {
                        state.instances.remove(a).ok_or_else(|| missing(a, &name))?;
                    }
                    Ok(())
                })
                .await?;
            for a in removed {
                println!("Removed {a} (the object itself was not deleted)");
            }
            Ok(0)
        }
        StateCommand::Mv { target, from, to } => {
            let dir = resolve_target(&target)?;
            let env = load_env(&dir)?;
            let unit = single_unit(&env, &dir)?;
            let (f, t) = (parse(&from)?, parse(&to)?);
            let name = unit.name.clone();
            let (f2, t2) = (f.clone(), t.clone());
            engine
                .edit_state(unit, move |state| {
                    if state.instances.contains_key(&t2) {
                        return Err(EngineError::new(
                            forge_engine::ErrorKind::Request,
                            format!("{t2} is already in the state of unit {name}"),
                        )
                        .hint("remove it first or pick another address"));
                    }
                    if f2.type_name != t2.type_name {
                        return Err(EngineError::new(
                            forge_engine::ErrorKind::Request,
                            format!("cannot move {f2} to {t2}: the resource types differ"),
                        ));
                    }
                    let inst = state
                        .instances
                        .remove(&f2)
                        .ok_or_else(|| missing(&f2, &name))?;
                    state.instances.insert(t2, inst);
                    Ok(())
                })
                .await?;
            println!("Moved {f} to {t}");
            Ok(0)
        }
        StateCommand::Pull { target } => {
            let dir = resolve_target(&target)?;
            let env = load_env(&dir)?;
            let unit = single_unit(&env, &dir)?;
            let store = engine.read_state(unit).await?;
            if !store.exists() {
                return Err(EngineError::new(
                    forge_engine::ErrorKind::Request,
                    format!("unit {} has no state yet", unit.name),
                )
                .hint("apply it first")
                .into());
            }
            // The raw state holds secrets in plain, as Terraform's does: never onto a screen.
            if std::io::IsTerminal::is_terminal(&std::io::stdout())
                && (store
                    .state
                    .instances
                    .values()
                    .any(|i| i.attributes.contains_sensitive())
                    || store.state.outputs.values().any(|o| o.sensitive))
            {
                return Err(EngineError::new(
                    forge_engine::ErrorKind::Request,
                    format!(
                        "the state of unit {} holds sensitive values and the output is a terminal",
                        unit.name
                    ),
                )
                .hint(format!(
                    "redirect it to a file: forge state pull {} > terraform.tfstate",
                    target.display()
                ))
                .into());
            }
            let bytes = store
                .state
                .to_bytes()
                .map_err(|e| EngineError::new(forge_engine::ErrorKind::Backend, e.to_string()))?;
            print!("{}", String::from_utf8_lossy(&bytes));
            Ok(0)
        }
        StateCommand::Push {
            target,
            file,
            force,
        } => {
            let dir = resolve_target(&target)?;
            let env = load_env(&dir)?;
            let unit = single_unit(&env, &dir)?;
            let bytes = std::fs::read(&file).map_err(|e| {
                EngineError::new(
                    forge_engine::ErrorKind::Backend,
                    format!("cannot read {}", file.display()),
                )
                .cause(e.to_string())
            })?;
            let incoming = State::from_bytes(&bytes).map_err(|e| {
                EngineError::new(
                    forge_engine::ErrorKind::Backend,
                    format!("{} is not a state file forge can read", file.display()),
                )
                .cause(e.to_string())
            })?;
            let current = engine.read_state(unit).await?;
            if current.exists() && !force {
                if current.state.lineage != incoming.lineage {
                    return Err(EngineError::new(forge_engine::ErrorKind::Request, "the pushed state belongs to another lineage")
                        .cause(format!("stored {}, pushed {}", current.state.lineage, incoming.lineage))
                        .hint("pass --force if replacing the state with an unrelated one is really intended")
                        .into());
                }
                if incoming.serial < current.state.serial {
                    return Err(EngineError::new(
                        forge_engine::ErrorKind::Request,
                        format!(
                            "the pushed state (serial {}) is older than the stored one (serial {})",
                            incoming.serial, current.state.serial
                        ),
                    )
                    .hint("pull the current state and edit that, or pass --force")
                    .into());
                }
            }
            engine
                .edit_state(unit, move |state| {
                    let serial = state.serial.max(incoming.serial);
                    *state = incoming;
                    // persist() adds one: the pushed state ends above both serials.
                    state.serial = serial;
                    Ok(())
                })
                .await?;
            println!(
                "Pushed {} to the state of unit {}",
                file.display(),
                unit.name
            );
            Ok(0)
        }
    }
}
