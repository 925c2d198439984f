//! The unmanaged part of `forge drift --unmanaged`: objects in the environment's accounts
//! that carry its default tags or name prefix and that no unit's state records, each with
//! an `import` block to adopt it. Built from what the providers found, less every object
//! the units' plans read from state.

use std::collections::BTreeSet;
use std::fmt::Write;

use forge_engine::plan::EnvPlan;
use forge_provider::Discovered;
use serde_json::{Value as J, json};

/// One object no state records.
#[derive(Clone, Debug, PartialEq)]
pub struct Unmanaged {
    pub type_name: String,
    pub id: String,
    pub name: String,
    pub marked_by: String,
    /// The resource name its suggested `import` block uses (unique in the report).
    pub resource_name: String,
}

impl Unmanaged {
    /// The `import` block that adopts the object (Terraform 1.5's syntax; `forge plan`
    /// with a matching resource block imports it).
    pub fn import_block(&self) -> String {
        format!(
            "import {{\n  to = {}.{}\n  id = {}\n}}\n",
            self.type_name,
            self.resource_name,
            J::String(self.id.clone())
        )
    }

    pub fn to_json(&self) -> J {
        json!({
            "type": self.type_name,
            "id": self.id,
            "name": self.name,
            "marked_by": self.marked_by,
            "import": self.import_block(),
        })
    }
}

/// What `found` has that no unit of `plan` records: by type and the `id` state records
/// (the id `import` takes for every type discovery lists).
pub fn unmanaged(plan: &EnvPlan, found: Vec<Discovered>) -> Vec<Unmanaged> {
    let managed: BTreeSet<(String, String)> = plan
        .units
        .iter()
        .filter_map(|(_, o)| o.done())
        .flat_map(|p| p.changes.iter())
        .filter(|c| c.addr.mode == forge_config::Mode::Managed)
        .filter_map(|c| {
            let id = c
                .before
                .as_ref()?
                .unmarked()
                .get("id")?
                .as_str()?
                .to_string();
            Some((c.addr.type_name.clone(), id))
        })
        .collect();
    let mut taken: BTreeSet<(String, String)> = BTreeSet::new();
    found
        .into_iter()
        .filter(|d| !managed.contains(&(d.type_name.clone(), d.id.clone())))
        .map(|d| {
            let base = resource_name(&d.name);
            let mut name = base.clone();
            let mut n = 2;
            while !taken.insert((d.type_name.clone(), name.clone())) {
                name = format!("{base}_{n}");
                n += 1;
            }
            Unmanaged {
                type_name: d.type_name,
                id: d.id,
                name: d.name,
                marked_by: d.marked_by,
                resource_name: name,
            }
        })
        .collect()
}

/// A resource name from an object's name: letters, digits and underscores, not starting
/// with a digit (`prod-orders.fifo` -> `prod_orders_fifo`).
fn resource_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

pub fn to_text(objects: &[Unmanaged]) -> String {
    let mut out = String::new();
    if objects.is_empty() {
        out.push_str("No unmanaged objects: every object with the environment's tags or name prefix is in a state.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{} object(s) carry the environment's tags or name prefix and no state records them:",
        objects.len()
    );
    for o in objects {
        let _ = writeln!(
            out,
            "  + {} {:?} (id {}; {})",
            o.type_name, o.name, o.id, o.marked_by
        );
    }
    out.push_str("\nTo adopt them, add these import blocks (and matching resource blocks) to the unit that should own each:\n\n");
    for o in objects {
        out.push_str(&o.import_block());
        out.push('\n');
    }
    out
}

pub fn to_markdown(objects: &[Unmanaged]) -> String {
    let mut out = String::from("\n### Unmanaged objects\n\n");
    if objects.is_empty() {
        out.push_str(
            "None: every object with the environment's tags or name prefix is in a state.\n",
        );
        return out;
    }
    out.push_str("| type | name | id | marked by |\n|---|---|---|---|\n");
    for o in objects {
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | {} |",
            o.type_name,
            o.name.replace('|', "\\|"),
            o.id,
            o.marked_by
        );
    }
    out.push_str("\n```hcl\n");
    for o in objects {
        out.push_str(&o.import_block());
    }
    out.push_str("```\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_are_identifiers_and_unique() {
        assert_eq!(resource_name("prod-orders.fifo"), "prod_orders_fifo");
        assert_eq!(resource_name("9lives"), "_9lives");
        let found = |name: &str, id: &str| Discovered {
            type_name: "aws_sqs_queue".into(),
            id: id.into(),
            name: name.into(),
            marked_by: "name prefix prod-".into(),
        };
        let plan = EnvPlan {
            mode: forge_engine::PlanMode::Normal,
            units: Vec::new(),
        };
        let list = unmanaged(&plan, vec![found("prod-a", "u1"), found("prod_a", "u2")]);
        let names: Vec<&str> = list.iter().map(|u| u.resource_name.as_str()).collect();
        assert_eq!(names, ["prod_a", "prod_a_2"]);
        assert_eq!(
            list[0].import_block(),
            "import {\n  to = aws_sqs_queue.prod_a\n  id = \"u1\"\n}\n"
        );
    }
}
