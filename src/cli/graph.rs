//! `forge graph`: the unit graph (or each unit's resource graph, with the edges between
//! units' graphs) as DOT or Mermaid.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use forge_config::dependency_reads::{OutputReads, input_reads};
use forge_engine::cross_unit::{CrossUnit, Wait};
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
    let graphs = env
        .units
        .iter()
        .map(ModuleGraph::build)
        .collect::<Result<Vec<_>, _>>()?;
    for (u, (unit, g)) in env.units.iter().zip(&graphs).enumerate() {
        let id = |i: usize| format!("u{u}n{i}");
        match args.format {
            Format::Dot => {
                out.push_str(&format!(
                    "  subgraph \"cluster_{}\" {{\n    label = \"{}\";\n",
                    unit.name, unit.name
                ));
                out.push_str(&format!(
                    "    u{u} [label = \"{}\", shape = folder];\n",
                    unit.name
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
                out.push_str(&format!("    u{u}[/\"{}\"/]\n", unit.name));
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
    out.push_str(&cross_unit_edges(&env, &graphs, args.format)?);
    if let Format::Dot = args.format {
        out.push_str("}\n");
    }
    print!("{out}");
    Ok(0)
}

/// The edges between units' graphs: from the dependent's `var.<input>` to the output of
/// its dependency that the input reads, where the unit waits only for such outputs
/// (`forge_engine::cross_unit`); a dashed edge between the units' own nodes where it
/// waits for the whole unit.
fn cross_unit_edges(
    env: &forge_config::Environment,
    graphs: &[ModuleGraph],
    format: Format,
) -> Result<String, forge_engine::EngineError> {
    let units = UnitGraph::build(env)?;
    let cross = CrossUnit::build(env, &units);
    let node = |u: usize, name: &str| {
        graphs[u]
            .nodes
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| format!("u{u}n{i}"))
    };
    let mut edges: Vec<(String, String, bool)> = Vec::new();
    for (i, links) in cross.links.iter().enumerate() {
        let reads = input_reads(&env.units[i]);
        for link in links {
            let j = link.upstream;
            let mut drawn = false;
            if let Wait::Outputs(keys) = &link.wait {
                for read in &reads {
                    let (Some(input), OutputReads::Keys(read_keys)) = (&read.input, &read.reads)
                    else {
                        continue;
                    };
                    let reads_j = env.units[i]
                        .dependencies
                        .iter()
                        .any(|d| d.name == read.dependency && d.config_path == env.units[j].dir);
                    for key in read_keys.iter().filter(|k| reads_j && keys.contains(*k)) {
                        if let (Some(from), Some(to)) = (
                            node(i, &format!("var.{input}")),
                            node(j, &format!("output.{key}")),
                        ) {
                            edges.push((from, to, false));
                            drawn = true;
                        }
                    }
                }
            }
            match &link.wait {
                // Read through inputs that are not an object literal: the unit's node.
                Wait::Outputs(keys) if !drawn => {
                    for key in keys {
                        let to =
                            node(j, &format!("output.{key}")).unwrap_or_else(|| format!("u{j}"));
                        edges.push((format!("u{i}"), to, false));
                    }
                }
                Wait::Outputs(_) => {}
                Wait::Unit => edges.push((format!("u{i}"), format!("u{j}"), true)),
            }
        }
    }
    edges.sort();
    edges.dedup();
    Ok(edges
        .into_iter()
        .map(|(from, to, barrier)| match (format, barrier) {
            (Format::Dot, false) => format!("  {from} -> {to};\n"),
            (Format::Dot, true) => format!("  {from} -> {to} [style = dashed];\n"),
            (Format::Mermaid, false) => format!("  {from} --> {to}\n"),
            (Format::Mermaid, true) => format!("  {from} -.-> {to}\n"),
        })
        .collect())
}
