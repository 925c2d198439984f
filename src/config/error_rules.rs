//! Terragrunt's `errors` block (`retry` and `ignore` rules) and the older
//! `retryable_errors` / `retry_max_attempts` / `retry_sleep_interval_sec` attributes,
//! evaluated into the rules forge-engine applies to a unit's failed command: what to do
//! with a failure is decided here ([`ErrorRules::decide`]), from its text, as Terragrunt
//! decides from the command's output.

use std::collections::BTreeMap;
use std::time::Duration;

use forge_lang::{Attribute, Block, Diagnostic, Diagnostics, Location, Scope};
use forge_provider::Value;

use crate::attribute_values::string_list;

/// A unit's error rules; empty when it has none (a failure fails the unit).
#[derive(Clone, Debug, Default)]
pub struct ErrorRules {
    pub retry: Vec<RetryRule>,
    pub ignore: Vec<IgnoreRule>,
}

/// `retry "name" { retryable_errors, max_attempts, sleep_interval_sec }`.
#[derive(Clone, Debug)]
pub struct RetryRule {
    pub name: String,
    pub patterns: Vec<Pattern>,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub sleep: Duration,
    pub location: Location,
}

/// `ignore "name" { ignorable_errors, message, signals }`.
#[derive(Clone, Debug)]
pub struct IgnoreRule {
    pub name: String,
    pub patterns: Vec<Pattern>,
    pub message: Option<String>,
    /// Written as JSON to `error-signals.json` in the unit's folder when the rule ignores
    /// a failure.
    pub signals: BTreeMap<String, Value>,
    pub location: Location,
}

/// A regular expression searched for in the failure's text; `!` before it (Terragrunt's
/// negation) makes a match rule the failure out.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub regex: regex::Regex,
    pub negated: bool,
}

/// What to do with a failed attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum ErrorDecision<'a> {
    /// The failure stands.
    Fail,
    /// The failure matched a retry rule whose attempts are used up.
    GiveUp { rule: &'a str, max_attempts: u32 },
    /// Run the command again after `sleep`.
    Retry {
        rule: &'a str,
        sleep: Duration,
        max_attempts: u32,
    },
    /// The unit counts as done; show `message` and write `signals`.
    Ignore {
        rule: &'a str,
        message: Option<&'a str>,
        signals: &'a BTreeMap<String, Value>,
    },
}

impl ErrorRules {
    pub fn is_empty(&self) -> bool {
        self.retry.is_empty() && self.ignore.is_empty()
    }

    /// Terragrunt's order: the ignore rules first, then the retry rules, the first rule
    /// that matches deciding. `attempt` counts from 1.
    pub fn decide(&self, errors: &str, attempt: u32) -> ErrorDecision<'_> {
        if let Some(rule) = self.ignore.iter().find(|r| matches(&r.patterns, errors)) {
            return ErrorDecision::Ignore {
                rule: &rule.name,
                message: rule.message.as_deref(),
                signals: &rule.signals,
            };
        }
        match self.retry.iter().find(|r| matches(&r.patterns, errors)) {
            None => ErrorDecision::Fail,
            Some(rule) if attempt >= rule.max_attempts => ErrorDecision::GiveUp {
                rule: &rule.name,
                max_attempts: rule.max_attempts,
            },
            Some(rule) => ErrorDecision::Retry {
                rule: &rule.name,
                sleep: rule.sleep,
                max_attempts: rule.max_attempts,
            },
        }
    }

    /// Adds a later file's rules: a rule of an existing name gains its patterns and takes
    /// its other settings, as Terragrunt merges an include.
    fn merge(&mut self, later: ErrorRules) {
        for rule in later.retry {
            match self.retry.iter_mut().find(|r| r.name == rule.name) {
                Some(r) => {
                    r.patterns.extend(rule.patterns);
                    r.max_attempts = rule.max_attempts;
                    r.sleep = rule.sleep;
                    r.location = rule.location;
                }
                None => self.retry.push(rule),
            }
        }
        for rule in later.ignore {
            match self.ignore.iter_mut().find(|r| r.name == rule.name) {
                Some(r) => {
                    r.patterns.extend(rule.patterns);
                    if rule.message.is_some() {
                        r.message = rule.message;
                    }
                    r.signals.extend(rule.signals);
                    r.location = rule.location;
                }
                None => self.ignore.push(rule),
            }
        }
    }
}

/// The first pattern that matches decides; none matching rules the failure out.
fn matches(patterns: &[Pattern], errors: &str) -> bool {
    patterns
        .iter()
        .find(|p| p.regex.is_match(errors))
        .is_some_and(|p| !p.negated)
}

/// The older attributes as written in one file, kept until every file is read (the
/// last file that sets one wins).
#[derive(Default)]
pub(crate) struct LegacyRetry {
    patterns: Option<(Vec<Pattern>, Location)>,
    max_attempts: Option<u32>,
    sleep: Option<Duration>,
    location: Option<Location>,
}

/// Reads the `errors` blocks and the older retry attributes of one file into `rules` and
/// `legacy`.
pub(crate) fn read(
    body: &forge_lang::Body,
    scope: &Scope<'_>,
    rules: &mut ErrorRules,
    legacy: &mut LegacyRetry,
) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::new();
    for block in body.blocks_of("errors") {
        match read_block(block, scope) {
            Ok(r) => rules.merge(r),
            Err(d) => diags.extend(d),
        }
    }
    for attr in &body.attributes {
        let read = match attr.name.as_str() {
            "retryable_errors" => patterns(attr, scope, "retryable_errors")
                .map(|p| legacy.patterns = Some((p, attr.location.clone()))),
            "retry_max_attempts" => {
                whole_number(attr, scope, 1).map(|n| legacy.max_attempts = Some(n as u32))
            }
            "retry_sleep_interval_sec" => {
                whole_number(attr, scope, 0).map(|n| legacy.sleep = Some(Duration::from_secs(n)))
            }
            _ => continue,
        };
        legacy.location.get_or_insert_with(|| attr.location.clone());
        if let Err(d) = read {
            diags.extend(d);
        }
    }
    if diags.is_empty() { Ok(()) } else { Err(diags) }
}

/// The older attributes as one more retry rule, after the `errors` block's (which
/// Terragrunt lets take precedence). Without `retryable_errors`, Terragrunt's default
/// list of transient errors is the one retried.
pub(crate) fn finish(rules: &mut ErrorRules, legacy: LegacyRetry) {
    let Some(location) = legacy.location else {
        return;
    };
    let (patterns, location) = match legacy.patterns {
        Some((p, at)) => (p, at),
        None => (
            DEFAULT_RETRYABLE
                .iter()
                .filter_map(|p| regex::Regex::new(p).ok())
                .map(|regex| Pattern {
                    regex,
                    negated: false,
                })
                .collect(),
            location,
        ),
    };
    rules.retry.push(RetryRule {
        name: "retryable_errors".into(),
        patterns,
        max_attempts: legacy.max_attempts.unwrap_or(3),
        sleep: legacy.sleep.unwrap_or(Duration::from_secs(5)),
        location,
    });
}

/// Terragrunt's default retryable errors: transient network failures of state, backend
/// and download requests, and a few services' "try again" answers.
const DEFAULT_RETRYABLE: &[&str] = &[
    r"(?s).*Failed to load state.*tcp.*timeout.*",
    r"(?s).*Failed to load backend.*TLS handshake timeout.*",
    r"(?s).*Creating metric alarm failed.*request to update this alarm is in progress.*",
    r"(?s).*Error installing provider.*TLS handshake timeout.*",
    r"(?s).*Error configuring the backend.*TLS handshake timeout.*",
    r"(?s).*Error installing provider.*tcp.*timeout.*",
    r"(?s).*Error installing provider.*tcp.*connection reset by peer.*",
    r"NoSuchBucket: The specified bucket does not exist",
    r"(?s).*Error creating SSM parameter: TooManyUpdates:.*",
    r"(?s).*app.terraform.io.*: 429 Too Many Requests.*",
    r"(?s).*ssh_exchange_identification.*Connection closed by remote host.*",
    r"(?s).*Client\.Timeout exceeded while awaiting headers.*",
    r"(?s).*Could not download module.*The requested URL returned error: 429.*",
];

fn read_block(block: &Block, scope: &Scope<'_>) -> Result<ErrorRules, Diagnostics> {
    let mut rules = ErrorRules::default();
    let mut diags = Diagnostics::new();
    for inner in &block.body.blocks {
        let name = inner.labels.first().cloned().unwrap_or_default();
        let required = |attr: &str, example: &str| {
            inner.body.attribute(attr).ok_or_else(|| {
                Diagnostics::from(
                    Diagnostic::error(format!("errors {} `{name}` needs `{attr}`", inner.ident))
                        .at(inner.location.clone())
                        .hint(example.to_string()),
                )
            })
        };
        let rule: Result<(), Diagnostics> = match inner.ident.as_str() {
            "retry" => (|| {
                let patterns = patterns(
                    required(
                        "retryable_errors",
                        "retryable_errors = [\".*RequestTimeout.*\"]",
                    )?,
                    scope,
                    "retryable_errors",
                )?;
                let max_attempts =
                    whole_number(required("max_attempts", "max_attempts = 3")?, scope, 1)? as u32;
                let sleep = Duration::from_secs(whole_number(
                    required("sleep_interval_sec", "sleep_interval_sec = 5")?,
                    scope,
                    0,
                )?);
                rules.retry.push(RetryRule {
                    name: name.clone(),
                    patterns,
                    max_attempts,
                    sleep,
                    location: inner.location.clone(),
                });
                Ok(())
            })(),
            "ignore" => (|| {
                let patterns = patterns(
                    required(
                        "ignorable_errors",
                        "ignorable_errors = [\".*already exists.*\"]",
                    )?,
                    scope,
                    "ignorable_errors",
                )?;
                let message = match inner.body.attribute("message") {
                    None => None,
                    Some(attr) => match forge_lang::eval(&attr.expr, scope)?.unmarked() {
                        Value::Null => None,
                        Value::String(s) => Some(s.clone()),
                        other => {
                            return Err(Diagnostic::error(format!(
                                "`message` must be a string, not {}",
                                other.kind_name()
                            ))
                            .at(attr.expr.location())
                            .into());
                        }
                    },
                };
                let signals = match inner.body.attribute("signals") {
                    None => BTreeMap::new(),
                    Some(attr) => {
                        let value = forge_lang::eval(&attr.expr, scope)?;
                        match value.unmarked().as_map() {
                            Some(m) => m.clone(),
                            None if value.unmarked().is_null() => BTreeMap::new(),
                            None => {
                                return Err(Diagnostic::error(format!(
                                    "`signals` must be an object, not {}",
                                    value.kind_name()
                                ))
                                .at(attr.expr.location())
                                .into());
                            }
                        }
                    }
                };
                rules.ignore.push(IgnoreRule {
                    name: name.clone(),
                    patterns,
                    message,
                    signals,
                    location: inner.location.clone(),
                });
                Ok(())
            })(),
            other => Err(
                Diagnostic::error(format!("the errors block has no `{other}` block"))
                    .at(inner.location.clone())
                    .hint("errors { retry \"name\" { ... } ignore \"name\" { ... } }")
                    .into(),
            ),
        };
        if let Err(d) = rule {
            diags.extend(d);
        }
    }
    if let Some(attr) = block.body.attributes.first() {
        diags.push(
            Diagnostic::error(format!("the errors block has no attribute `{}`", attr.name))
                .at(attr.location.clone())
                .hint("put it in a retry or ignore block"),
        );
    }
    if diags.is_empty() {
        Ok(rules)
    } else {
        Err(diags)
    }
}

fn patterns(attr: &Attribute, scope: &Scope<'_>, what: &str) -> Result<Vec<Pattern>, Diagnostics> {
    string_list(
        attr,
        scope,
        &format!("`{what}` must be a list of regular expressions"),
    )?
    .into_iter()
    .map(|text| {
        let (negated, source) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        regex::Regex::new(source)
            .map(|regex| Pattern { regex, negated })
            .map_err(|e| {
                Diagnostics::from(
                    Diagnostic::error(format!(
                        "`{what}`: {text:?} is not a regular expression: {e}"
                    ))
                    .at(attr.expr.location()),
                )
            })
    })
    .collect()
}

fn whole_number(attr: &Attribute, scope: &Scope<'_>, least: u64) -> Result<u64, Diagnostics> {
    let value = forge_lang::eval(&attr.expr, scope)?;
    match value.unmarked() {
        Value::Number(n) if n.fract() == 0.0 && *n >= least as f64 && *n <= 86_400.0 => {
            Ok(*n as u64)
        }
        _ => Err(Diagnostic::error(format!(
            "`{}` must be a whole number from {least} to 86400",
            attr.name
        ))
        .at(attr.expr.location())
        .into()),
    }
}
