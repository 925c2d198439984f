//! `forge plan`'s text as it happens: each unit's section is printed as soon as that
//! unit and every unit before it (in dependency order, the run's waves) is planned, so
//! a slow unit holds back only the sections after it; a line on stderr says which units
//! are still being planned. What is left when the walk ends (units skipped because a
//! dependency failed) follows, then the environment's table.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex};

use forge_engine::plan::UnitPlan;
use forge_engine::{EnvPlan, Event, EventSink, UnitOutcome};
use forge_render::text::{Style, summary_table};

/// The sections printed so far and the order they go in.
pub struct PlanStream {
    state: Arc<Mutex<Progress>>,
    style: Style,
}

struct Progress {
    /// Every selected unit, in dependency order.
    order: Vec<String>,
    /// Sections rendered but not yet printed (a unit before them is still planning).
    ready: BTreeMap<String, String>,
    /// How many of `order` are printed.
    printed: usize,
    planned: BTreeSet<String>,
}

impl PlanStream {
    /// `waves`: the selected units, wave by wave (`Engine::schedule`).
    pub fn new(waves: Vec<Vec<String>>, style: Style) -> PlanStream {
        PlanStream {
            state: Arc::new(Mutex::new(Progress {
                order: waves.into_iter().flatten().collect(),
                ready: BTreeMap::new(),
                printed: 0,
                planned: BTreeSet::new(),
            })),
            style,
        }
    }

    /// The engine's sink: units' plans printed in order, other events to `rest`.
    pub fn sink(&self, rest: EventSink) -> EventSink {
        let state = self.state.clone();
        let style = self.style;
        Arc::new(move |e| match e {
            Event::UnitPlanDone {
                unit, plan, errors, ..
            } => {
                let section = match &plan {
                    Some(p) => unit_section(&unit, Section::Planned(p), style),
                    None => unit_section(&unit, Section::Failed(errors), style),
                };
                let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                let (text, progress) = s.accept(unit, section);
                // Printed under the lock, so sections never interleave or reorder.
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
                if let Some(line) = progress {
                    eprintln!("{line}");
                }
            }
            other => rest(other),
        })
    }

    /// What the walk left to print: the sections of units never reported (skipped) and
    /// any held back, in the plan's order, then the table of an environment.
    pub fn finish(&self, plan: &EnvPlan) -> String {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let already: BTreeSet<String> = s.order[..s.printed].iter().cloned().collect();
        let mut out = String::new();
        for (name, outcome) in &plan.units {
            if already.contains(name) {
                continue;
            }
            match s.ready.remove(name) {
                Some(section) => out.push_str(&section),
                None => out.push_str(&unit_section(name, Section::of(outcome), self.style)),
            }
        }
        s.printed = s.order.len();
        if plan.units.len() > 1 {
            out.push_str(&summary_table(plan));
        }
        out
    }
}

impl Progress {
    /// Takes a unit's section; returns what can be printed now (its section and those
    /// after it that were waiting for it, or nothing while a unit before it is still
    /// planning) and the progress line naming the units still being planned.
    fn accept(&mut self, unit: String, section: String) -> (String, Option<String>) {
        self.planned.insert(unit.clone());
        self.ready.insert(unit, section);
        let mut text = String::new();
        while let Some(next) = self.order.get(self.printed) {
            let Some(section) = self.ready.remove(next) else {
                break;
            };
            text.push_str(&section);
            self.printed += 1;
        }
        let waiting: Vec<&str> = self
            .order
            .iter()
            .filter(|u| !self.planned.contains(*u))
            .map(String::as_str)
            .collect();
        let progress = (!waiting.is_empty() && self.order.len() > 1).then(|| {
            format!(
                "Still planning {} of {} units: {}",
                waiting.len(),
                self.order.len(),
                waiting.join(", ")
            )
        });
        (text, progress)
    }
}

/// What a unit's section says.
enum Section<'a> {
    Planned(&'a UnitPlan),
    Failed(usize),
    Skipped(&'a str),
}

impl<'a> Section<'a> {
    fn of(outcome: &'a UnitOutcome<UnitPlan>) -> Section<'a> {
        match outcome {
            UnitOutcome::Done(p) => Section::Planned(p),
            UnitOutcome::Failed(es) => Section::Failed(es.len()),
            UnitOutcome::Skipped { because } => Section::Skipped(because),
        }
    }
}

/// One unit's section of the plan text (its heading, its changes or why it has none).
fn unit_section(name: &str, section: Section, style: Style) -> String {
    let mut out = style.bold(&format!("── unit {name} "));
    out.push('\n');
    match section {
        Section::Planned(p) => out.push_str(&forge_render::text::render_unit(p, style)),
        Section::Failed(n) => out.push_str(&format!("failed: {n} error(s), shown below\n")),
        Section::Skipped(because) => {
            out.push_str(&format!("skipped: its dependency {because} failed\n"))
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_waits_only_for_the_units_before_it() {
        let mut p = Progress {
            order: vec!["a".into(), "b".into(), "c".into()],
            ready: BTreeMap::new(),
            printed: 0,
            planned: BTreeSet::new(),
        };
        let (text, progress) = p.accept("b".into(), "B\n".into());
        assert_eq!(text, "", "b waits for a");
        assert_eq!(
            progress.as_deref(),
            Some("Still planning 2 of 3 units: a, c")
        );
        let (text, _) = p.accept("a".into(), "A\n".into());
        assert_eq!(text, "A\nB\n", "a done: a, then b that waited");
        let (text, progress) = p.accept("c".into(), "C\n".into());
        assert_eq!((text.as_str(), progress), ("C\n", None));
    }
}
