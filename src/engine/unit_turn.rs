//! A unit's turn in a command, as Terragrunt runs one: its before hooks; then, if they
//! all succeeded, the command, run again under the unit's retry rules or counted done
//! under its ignore rules (`errors` block); then its after hooks and, on a failure, its
//! error hooks. Which hook runs, and what a failure does, is decided here (with the rules
//! of `forge_config::unit_hooks` and `error_rules`); the hooks' processes are run by the
//! program through [`HookRunner`], so the engine itself never spawns one.

use std::future::Future;
use std::pin::Pin;

use forge_config::Unit;
use forge_config::error_rules::ErrorDecision;
use forge_config::unit_hooks::{Hook, HookKind};

use crate::engine::Engine;
use crate::events::Event;
use crate::plan::{EngineError, ErrorKind};

/// Runs one hook's program (the binary's `hooks` module).
pub trait HookRunner: Send + Sync {
    /// Runs `hook` of `unit` for `command`, showing its output; `Err` says why it failed
    /// (it could not start, or its exit status).
    fn run<'a>(&'a self, unit: &'a Unit, hook: &'a Hook, command: &'a str) -> HookRun<'a>;
}

/// What [`HookRunner::run`] returns: the hook's run, `Err` saying why it failed.
pub type HookRun<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// The failure's text the `on_errors` and error-rule patterns are matched against: each
/// error as forge prints it, one after the other.
pub(crate) fn failure_text(errors: &[EngineError]) -> String {
    errors.iter().map(ToString::to_string).collect()
}

impl Engine {
    /// Runs `attempt` (called with the attempt's number, from 1) as the unit's turn in
    /// `hooks_for` (`None`: a run that is part of another command's, whose hooks run
    /// elsewhere). `ignored` is what the turn returns when an ignore rule takes a failure.
    pub(crate) async fn unit_turn<T, F, Fut>(
        &self,
        unit: &Unit,
        hooks_for: Option<&str>,
        mut attempt: F,
        ignored: impl FnOnce() -> T,
    ) -> Result<T, Vec<EngineError>>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, Vec<EngineError>>>,
    {
        let mut errors: Vec<EngineError> = Vec::new();
        if let Some(command) = hooks_for {
            self.run_hooks(unit, command, HookKind::Before, &mut errors)
                .await;
        }
        let mut done = None;
        if errors.is_empty() {
            let mut number = 1;
            loop {
                let failed = match attempt(number).await {
                    Ok(v) => {
                        done = Some(v);
                        break;
                    }
                    Err(es) => es,
                };
                let text = failure_text(&failed);
                match unit.settings.errors.decide(&text, number) {
                    ErrorDecision::Fail => {
                        errors.extend(failed);
                        break;
                    }
                    ErrorDecision::GiveUp { rule, max_attempts } => {
                        errors.extend(failed);
                        errors.push(
                            EngineError::new(
                                ErrorKind::Request,
                                format!(
                                    "unit {}: still failing after {max_attempts} attempts (retry rule \"{rule}\")",
                                    unit.name
                                ),
                            )
                            .hint("the errors block's retry rule matched every attempt; fix the cause and run again"),
                        );
                        break;
                    }
                    ErrorDecision::Retry {
                        rule,
                        sleep,
                        max_attempts,
                    } => {
                        if self.interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                            errors.extend(failed);
                            break;
                        }
                        self.emit_notice(
                            unit,
                            format!(
                                "attempt {number} of {max_attempts} failed with an error retry rule \"{rule}\" matches; trying again in {}s",
                                sleep.as_secs()
                            ),
                        );
                        tokio::time::sleep(sleep).await;
                        number += 1;
                    }
                    ErrorDecision::Ignore {
                        rule,
                        message,
                        signals,
                    } => {
                        let mut notice = format!(
                            "error ignored (ignore rule \"{rule}\"){}",
                            message.map(|m| format!(": {m}")).unwrap_or_default()
                        );
                        if !signals.is_empty() {
                            let path = unit.dir.join("error-signals.json");
                            let json = serde_json::Value::Object(
                                signals
                                    .iter()
                                    .map(|(k, v)| (k.clone(), v.to_json()))
                                    .collect(),
                            );
                            let written = serde_json::to_string_pretty(&json)
                                .map_err(|e| e.to_string())
                                .and_then(|text| {
                                    std::fs::write(&path, text + "\n").map_err(|e| e.to_string())
                                });
                            match written {
                                Ok(()) => notice
                                    .push_str(&format!("; signals written to {}", path.display())),
                                Err(why) => {
                                    errors.push(EngineError::new(
                                        ErrorKind::Request,
                                        format!(
                                            "unit {}: the ignore rule \"{rule}\" cannot write its signals to {}: {why}",
                                            unit.name,
                                            path.display()
                                        ),
                                    ));
                                }
                            }
                        }
                        self.emit_notice(unit, notice);
                        done = Some(ignored());
                        break;
                    }
                }
            }
        }
        if let Some(command) = hooks_for {
            self.run_hooks(unit, command, HookKind::After, &mut errors)
                .await;
            if !errors.is_empty() {
                self.run_hooks(unit, command, HookKind::Error, &mut errors)
                    .await;
            }
        }
        match done {
            Some(v) if errors.is_empty() => Ok(v),
            _ => Err(errors),
        }
    }

    /// Runs the unit's hooks of `kind` that apply, in order, adding the failures of those
    /// that fail to `errors` (which decide whether the later ones run).
    async fn run_hooks(
        &self,
        unit: &Unit,
        command: &str,
        kind: HookKind,
        errors: &mut Vec<EngineError>,
    ) {
        // Error hooks all see the failure as it stood when they started.
        let failure = failure_text(errors);
        for hook in unit.settings.hooks.iter().filter(|h| h.kind == kind) {
            let runs = match kind {
                HookKind::Error => hook.runs_on_error(command, &failure),
                _ => hook.runs_before_or_after(command, !errors.is_empty()),
            };
            if !runs || hook.execute.is_empty() {
                continue;
            }
            let result = match &self.hooks {
                Some(runner) => runner.run(unit, hook, command).await,
                None => Err("this build of forge runs no hooks".to_string()),
            };
            if let Err(why) = result {
                let mut e = EngineError::new(
                    ErrorKind::Request,
                    format!(
                        "unit {}: {} \"{}\" failed: {why}",
                        unit.name,
                        kind.block_name(),
                        hook.name
                    ),
                )
                .cause(format!("{} at {}", kind.block_name(), hook.location));
                if kind == HookKind::Before {
                    e = e.hint(format!(
                        "forge did not run {command} for this unit; fix what the hook reports and run again"
                    ));
                }
                errors.push(e);
            }
        }
    }

    fn emit_notice(&self, unit: &Unit, message: String) {
        (self.events)(Event::Notice {
            unit: Some(unit.name.clone()),
            message,
        });
    }
}
