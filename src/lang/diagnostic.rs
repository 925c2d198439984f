//! Diagnostics: every problem names `file:line:col`, shows the source line with a marker,
//! says what is wrong and, where it can, what to do.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A place in a source file. Lines and columns count from 1; the column counts characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<PathBuf>,
    pub line: usize,
    pub col: usize,
    /// The whole source line, for the marker display.
    pub line_text: String,
    /// How many characters the marker underlines (at least 1).
    pub width: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// One line: what is wrong.
    pub summary: String,
    /// More explanation, if any.
    pub detail: Option<String>,
    pub location: Option<Location>,
    /// What to do about it ("did you mean `environment`?").
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: None,
            location: None,
            hint: None,
        }
    }
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }
    pub fn at_opt(mut self, location: Option<Location>) -> Self {
        self.location = location.or(self.location);
        self
    }
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    /// ```text
    /// error: no variable named `enviroment`
    ///   --> stacks/production/sqs/main.tf:12:11
    ///    |
    /// 12 |   name = var.enviroment
    ///    |          ^^^^^^^^^^^^^^
    ///    = the module declares: environment, project_name
    /// hint: did you mean `environment`?
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{label}: {}", self.summary)?;
        if let Some(loc) = &self.location {
            let num = loc.line.to_string();
            let pad = " ".repeat(num.len());
            writeln!(f, "{pad}--> {loc}")?;
            if !loc.line_text.is_empty() {
                writeln!(f, "{pad} |")?;
                writeln!(f, "{num} | {}", loc.line_text.trim_end())?;
                let before: String = loc
                    .line_text
                    .chars()
                    .take(loc.col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                writeln!(f, "{pad} | {before}{}", "^".repeat(loc.width.max(1)))?;
            }
        }
        if let Some(detail) = &self.detail {
            for line in detail.lines() {
                writeln!(f, "  = {line}")?;
            }
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in one run, so the user sees them all at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The closest candidate by edit distance, for "did you mean" hints.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(wrong, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_marker_and_hint() {
        let d = Diagnostic::error("no variable named `enviroment`")
            .at(Location {
                file: Arc::new(PathBuf::from("main.tf")),
                line: 12,
                col: 10,
                line_text: "  name = var.enviroment".into(),
                width: 14,
            })
            .hint("did you mean `environment`?");
        let text = d.to_string();
        assert!(text.contains("--> main.tf:12:10"), "{text}");
        assert!(text.contains("12 |   name = var.enviroment"), "{text}");
        assert!(text.contains("   |          ^^^^^^^^^^^^^^"), "{text}");
        assert!(
            text.ends_with("hint: did you mean `environment`?\n"),
            "{text}"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("enviroment", ["environment", "region"]),
            Some("environment")
        );
        assert_eq!(did_you_mean("zzz", ["environment", "region"]), None);
    }
}
