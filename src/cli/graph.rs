//! `forge graph`: the unit graph (or each unit's resource graph) as DOT or Mermaid.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use forge_engine::module_graph::ModuleGraph;
use forge_engine::unit_graph::UnitGraph;

use super::common::{Outcome, load_env, resolve_target};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Dot,
    Mermaid,
}

#[derive(Args)]
pub struct GraphArgs {
    #[arg(default_value = ".")]
    pub target: PathBuf,
    #[arg(long, value_enum, default_value = "dot")]
    pub format: Format,
    /// The resources inside each unit instead of the units.
    #[arg(long)]
    pub resources: bool,
}

pub async fn run(args: GraphArgs) -> Outcome {
    let dir = resolve_target(&args.target)?;
    let env = load_env(&dir)?;
    if !args.resources {
        let g = UnitGraph::build(&env)?;
        print!(
            "{}",
            match args.format {
                Format::Dot => g.to_dot(),
                Format::Mermaid => g.to_mermaid(),
            }
        );
        return Ok(0);
    }
    let mut out = match args.format {
        Format::Dot => String::from("digraph resources {\n  rankdir = LR;\n"),
        Format::Mermaid => String::from("graph LR\n"),
    };
    for (u, unit) in env.units.iter().enumerate() {
        let g = ModuleGraph::build(unit)?;
        let id = |i: usize| format!("u{u}n{i}");
        match args.format {
            Format::Dot => {
                out.push_str(&format!(
                    "  subgraph \"cluster_{}\" {{\n    label = \"{}\";\n",
                    unit.name, unit.name
                ));
                for (i, (name, _)) in g.nodes.iter().enumerate() {
                    out.push_str(&format!("    {} [label = \"{name}\"];\n", id(i)));
                }
                for (i, ds) in g.deps.iter().enumerate() {
                    for &d in ds {
                        out.push_str(&format!("    {} -> {};\n", id(i), id(d)));
                    }
                }
                out.push_str("  }\n");
            }
            Format::Mermaid => {
                out.push_str(&format!(
                    "  subgraph {}\n",
                    unit.name.replace(['/', ' '], "_")
                ));
                for (i, (name, _)) in g.nodes.iter().enumerate() {
                    out.push_str(&format!("    {}[\"{name}\"]\n", id(i)));
                }
                out.push_str("  end\n");
                for (i, ds) in g.deps.iter().enumerate() {
                    for &d in ds {
                        out.push_str(&format!("  {} --> {}\n", id(i), id(d)));
                    }
                }
            }
        }
    }
    if let Format::Dot = args.format {
        out.push_str("}\n");
    }
    print!("{out}");
    Ok(0)
}
