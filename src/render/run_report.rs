//! The run report (`--report-file`): one row per unit with its result, its counts and
//! its time, in the shape of Terragrunt's run report (`name`, `started`, `ended`,
//! `result`: succeeded, failed or early exit; `reason`, `cause`) with forge's counts
//! and seconds added. JSON (Terragrunt's array), CSV (Terragrunt's columns first) or a
//! Markdown table for a CI job summary.

use forge_engine::plan::Counts;
use serde_json::{Map, Value as J, json};

/// What happened to one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportRow {
    pub name: String,
    /// RFC 3339, as Terragrunt writes them.
    pub started: String,
    pub ended: String,
    pub result: RunResult,
    /// Terragrunt's `reason` (why it failed or exited early) and `cause` (the
    /// dependency that failed, or the first error's message).
    pub reason: Option<String>,
    pub cause: Option<String>,
    pub counts: Counts,
    pub seconds: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunResult {
    Succeeded,
    Failed,
    /// Not run because a unit it depends on failed.
    EarlyExit,
}

impl RunResult {
    fn word(self) -> &'static str {
        match self {
            RunResult::Succeeded => "succeeded",
            RunResult::Failed => "failed",
            RunResult::EarlyExit => "early exit",
        }
    }
}

/// The report's formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Csv,
    Markdown,
}

impl ReportFormat {
    /// The format a file name implies: `.json`, `.md`/`.markdown`, else CSV (Terragrunt's
    /// default).
    pub fn of_file(name: &str) -> ReportFormat {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            ReportFormat::Json
        } else if lower.ends_with(".md") || lower.ends_with(".markdown") {
            ReportFormat::Markdown
        } else {
            ReportFormat::Csv
        }
    }
}

/// The report's text in a format.
pub fn render(rows: &[ReportRow], format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => {
            let items: Vec<J> = rows.iter().map(row_json).collect();
            serde_json::to_string_pretty(&items).unwrap_or_default() + "\n"
        }
        ReportFormat::Csv => csv(rows),
        ReportFormat::Markdown => markdown(rows),
    }
}

fn row_json(r: &ReportRow) -> J {
    let mut o = Map::new();
    o.insert("name".into(), json!(r.name));
    o.insert("started".into(), json!(r.started));
    o.insert("ended".into(), json!(r.ended));
    o.insert("result".into(), json!(r.result.word()));
    if let Some(reason) = &r.reason {
        o.insert("reason".into(), json!(reason));
    }
    if let Some(cause) = &r.cause {
        o.insert("cause".into(), json!(cause));
    }
    o.insert("add".into(), json!(r.counts.add));
    o.insert("change".into(), json!(r.counts.change));
    o.insert("destroy".into(), json!(r.counts.destroy));
    o.insert("import".into(), json!(r.counts.import));
    o.insert(
        "seconds".into(),
        json!((r.seconds * 1000.0).round() / 1000.0),
    );
    J::Object(o)
}

fn csv(rows: &[ReportRow]) -> String {
    // A field with a comma, a quote or a line break is quoted, its quotes doubled.
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out =
        String::from("Name,Started,Ended,Result,Reason,Cause,Add,Change,Destroy,Import,Seconds\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{:.3}\n",
            field(&r.name),
            field(&r.started),
            field(&r.ended),
            r.result.word(),
            field(r.reason.as_deref().unwrap_or("")),
            field(r.cause.as_deref().unwrap_or("")),
            r.counts.add,
            r.counts.change,
            r.counts.destroy,
            r.counts.import,
            r.seconds
        ));
    }
    out
}

fn markdown(rows: &[ReportRow]) -> String {
    // A cell's pipes and line breaks would break the table.
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let count = |r: RunResult| rows.iter().filter(|x| x.result == r).count();
    let mut out = format!(
        "## forge run report\n\n{} unit(s): {} succeeded, {} failed, {} early exit\n\n",
        rows.len(),
        count(RunResult::Succeeded),
        count(RunResult::Failed),
        count(RunResult::EarlyExit)
    );
    out.push_str("| Unit | Result | Add | Change | Destroy | Import | Time | Reason |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---|\n");
    for r in rows {
        let reason = [r.reason.as_deref(), r.cause.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.1} s | {} |\n",
            cell(&r.name),
            r.result.word(),
            r.counts.add,
            r.counts.change,
            r.counts.destroy,
            r.counts.import,
            r.seconds,
            cell(&reason)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, result: RunResult) -> ReportRow {
        ReportRow {
            name: name.into(),
            started: "2026-01-01T00:00:00Z".into(),
            ended: "2026-01-01T00:00:01Z".into(),
            result,
            reason: (result != RunResult::Succeeded).then(|| "run error".into()),
            cause: (result == RunResult::EarlyExit).then(|| "a, b".into()),
            counts: Counts {
                add: 2,
                ..Counts::default()
            },
            seconds: 1.0,
        }
    }

    #[test]
    fn formats_follow_the_file_name_and_quote_what_would_break_them() {
        assert_eq!(ReportFormat::of_file("r.JSON"), ReportFormat::Json);
        assert_eq!(ReportFormat::of_file("r.md"), ReportFormat::Markdown);
        assert_eq!(ReportFormat::of_file("r.csv"), ReportFormat::Csv);
        let rows = [
            row("a|b", RunResult::Succeeded),
            row("c", RunResult::EarlyExit),
        ];
        let csv = render(&rows, ReportFormat::Csv);
        assert!(csv.contains("c,2026-01-01T00:00:00Z,2026-01-01T00:00:01Z,early exit,run error,\"a, b\",2,0,0,0,1.000"), "{csv}");
        let md = render(&rows, ReportFormat::Markdown);
        assert!(md.contains("| a\\|b | succeeded | 2 |"), "{md}");
        let json: J = serde_json::from_str(&render(&rows, ReportFormat::Json)).expect("json");
        assert_eq!(json[1]["result"], "early exit");
        assert!(json[0].get("reason").is_none());
    }
}
