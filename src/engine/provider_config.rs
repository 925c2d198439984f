//! Provider configuration blocks checked against what their provider says about them:
//! `forge validate` checks every `provider` block's argument names against the provider's
//! configuration schema (a misspelt argument is an error with a "did you mean") and
//! reports what the provider refuses or does not act on; a run reports the same for the
//! evaluated block, each finding at its argument's `file:line:col`.

use std::collections::BTreeMap;
use std::sync::Arc;

use forge_config::{Environment, Module, ProviderBlock};
use forge_lang::{Body, Diagnostic, Diagnostics, Location, Severity};
use forge_provider::{ConfigIssue, IssueSeverity, ProviderFactory, Value};

use crate::schema_util::check_body;

/// `forge validate`'s half for provider blocks: names against the schema, then the
/// provider's judgement on the constant values (others are passed as unknown).
pub(crate) fn check_provider_blocks(
    env: &Environment,
    factories: &[Arc<dyn ProviderFactory>],
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut reported = std::collections::BTreeSet::new();
    for unit in &env.units {
        let mut modules: Vec<&Module> = vec![&unit.module];
        let mut blocks: Vec<&ProviderBlock> = unit.generated_providers.iter().collect();
        while let Some(module) = modules.pop() {
            if !seen.insert(module.dir.clone()) {
                continue;
            }
            modules.extend(module.module_calls.iter().map(|c| c.module.as_ref()));
            blocks.extend(&module.providers);
        }
        for block in blocks {
            let Some(factory) = factories.iter().find(|f| f.name() == block.name) else {
                continue;
            };
            let what = format!("provider \"{}\"", block.name);
            let mut found = match factory.config_schema() {
                Some(schema) => check_body(&schema, &block.body, &what, &block.location),
                None => Diagnostics::new(),
            };
            let named_unknown = found.iter().any(|d| d.severity == Severity::Error);
            for issue in factory.check_config(&constant_config(&block.body)) {
                // The schema check has already named a misspelt argument.
                if named_unknown && issue.message.contains("has no argument named") {
                    continue;
                }
                found.push(issue_diagnostic(&issue, block));
            }
            // A generated block is the same text in every unit that generates it: once.
            for d in found.iter().cloned() {
                let key = format!(
                    "{}|{:?}",
                    d.summary,
                    d.location.as_ref().map(|l| l.to_string())
                );
                if reported.insert(key) {
                    diags.push(d);
                }
            }
        }
    }
    let mut modules_checked = std::collections::BTreeSet::new();
    for unit in &env.units {
        if modules_checked.insert(unit.module.dir.clone()) {
            diags.extend(Diagnostics(required_provider_findings(
                &unit.module,
                factories,
            )));
        }
    }
    diags
}

/// The provider's findings on an evaluated block, as diagnostics at their arguments.
pub(crate) fn config_diagnostics(
    factory: &dyn ProviderFactory,
    block: &ProviderBlock,
    config: &Value,
) -> Vec<Diagnostic> {
    factory
        .check_config(config)
        .iter()
        .map(|issue| issue_diagnostic(issue, block))
        .collect()
}

/// One warning as a single notice line: `file:line:col: warning: provider "aws": ...`.
pub(crate) fn notice_text(d: &Diagnostic) -> String {
    let at = d
        .location
        .as_ref()
        .map(|l| format!("{l}: "))
        .unwrap_or_default();
    let hint = d
        .hint
        .as_ref()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    format!("{at}warning: {}{hint}", d.summary)
}

fn issue_diagnostic(issue: &ConfigIssue, block: &ProviderBlock) -> Diagnostic {
    let key = match &block.alias {
        Some(alias) => format!("{}.{alias}", block.name),
        None => block.name.clone(),
    };
    let mut d = Diagnostic::error(format!(
        "provider \"{key}\": `{}`: {}",
        issue.path.join("."),
        issue.message
    ))
    .at(locate(&block.body, &issue.path).unwrap_or_else(|| block.location.clone()));
    if issue.severity == IssueSeverity::Warning {
        d.severity = Severity::Warning;
    }
    if let Some(hint) = &issue.hint {
        d = d.hint(hint.clone());
    }
    d
}

/// Where an argument path stands in the block: the deepest part found.
fn locate(body: &Body, path: &[String]) -> Option<Location> {
    let (first, rest) = path.split_first()?;
    if let Some(attr) = body.attribute(first) {
        return Some(attr.location.clone());
    }
    let block = body.blocks.iter().find(|b| &b.ident == first)?;
    Some(
        body.blocks
            .iter()
            .filter(|b| &b.ident == first)
            .find_map(|b| locate(&b.body, rest))
            .unwrap_or_else(|| block.location.clone()),
    )
}

/// The block with its constant values, `Unknown` for the rest; nested blocks as lists
/// of objects, as evaluation makes them.
fn constant_config(body: &Body) -> Value {
    let mut map = BTreeMap::new();
    for attr in &body.attributes {
        let v = attr.expr.constant_value().unwrap_or(Value::Unknown);
        map.insert(attr.name.clone(), v);
    }
    let mut nested: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for block in &body.blocks {
        nested
            .entry(block.ident.clone())
            .or_default()
            .push(constant_config(&block.body));
    }
    for (name, items) in nested {
        map.insert(name, Value::List(items));
    }
    Value::Object(map)
}

/// Before any lock is taken: configures the selected units' provider blocks whose
/// arguments are all constants, so that a refused identity (`forbidden_account_ids`, an
/// account not in `allowed_account_ids`, a refused setting) stops the run before anything
/// is locked, read or changed. Providers configure once per configuration, so the unit's
/// own configuration later reuses this one. Blocks that use variables are checked when
/// their unit configures them, which is still before any of its resources is touched.
pub(crate) async fn preflight(
    env: &Environment,
    selected: &[bool],
    factories: &[Arc<dyn ProviderFactory>],
) -> Result<Vec<(String, Diagnostic)>, crate::plan::EngineError> {
    let mut warnings = Vec::new();
    for (unit, _) in env.units.iter().zip(selected).filter(|(_, s)| **s) {
        let (errors, found): (Vec<Diagnostic>, Vec<Diagnostic>) =
            required_provider_findings(&unit.module, factories)
                .into_iter()
                .partition(|d| d.severity == Severity::Error);
        if !errors.is_empty() {
            return Err(crate::plan::EngineError::config(
                format!(
                    "unit {}: the module asks for providers forge does not have",
                    unit.name
                ),
                Diagnostics(errors),
            ));
        }
        warnings.extend(found.into_iter().map(|d| (unit.name.clone(), d)));
    }
    for (unit, _) in env.units.iter().zip(selected).filter(|(_, s)| **s) {
        for block in unit
            .module
            .providers
            .iter()
            .chain(&unit.generated_providers)
        {
            let Some(factory) = factories.iter().find(|f| f.name() == block.name) else {
                continue;
            };
            let config = constant_config(&block.body);
            if !config.is_wholly_known() {
                continue;
            }
            let key = match &block.alias {
                Some(alias) => format!("{}.{alias}", block.name),
                None => block.name.clone(),
            };
            factory.configure(&config).await.map_err(|e| {
                crate::plan::EngineError::provider(
                    &format!("unit {}: provider \"{key}\"", unit.name),
                    "configuration",
                    &e,
                )
                .cause(format!("provider block at {}", block.location))
            })?;
        }
    }
    Ok(warnings)
}

/// A module's `required_providers` (and its called modules') against the built-in
/// providers: a source forge has no provider for is an error when a provider of that
/// local name is built in (it would be the wrong one), a warning otherwise (a resource of
/// it is refused where it is used); a version constraint the built-in release does not
/// meet is an error across major versions (breaking changes) and a warning within one.
pub(crate) fn required_provider_findings(
    module: &Module,
    factories: &[Arc<dyn ProviderFactory>],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut pending = vec![module];
    while let Some(m) = pending.pop() {
        if !seen.insert(m.dir.clone()) {
            continue;
        }
        pending.extend(m.module_calls.iter().map(|c| c.module.as_ref()));
        for required in &m.requirements.required_providers {
            out.extend(required_provider_finding(required, factories));
        }
    }
    out
}

fn required_provider_finding(
    required: &forge_config::requirements::RequiredProvider,
    factories: &[Arc<dyn ProviderFactory>],
) -> Option<Diagnostic> {
    use forge_config::version_constraint::Version;
    let name = &required.local_name;
    let source = required.normalized_source();
    let warning = |d: Diagnostic| {
        let mut d = d;
        d.severity = Severity::Warning;
        d
    };
    let Some(factory) = factories.iter().find(|f| f.name() == name) else {
        let built_in = factories
            .iter()
            .find(|f| f.release().is_some_and(|r| r.source == source));
        return Some(match built_in {
            Some(f) => Diagnostic::error(format!(
                "required_providers: `{name}` is {source}, which forge has built in under the name `{}`",
                f.name()
            ))
            .at(required.location.clone())
            .hint(format!(
                "use the provider's own name: {} = {{ source = \"{source}\" }}, and `{}_` resource types",
                f.name(),
                f.name()
            )),
            None => warning(
                Diagnostic::error(format!(
                    "required_providers: forge has no provider {source}"
                ))
                .at(required.location.clone())
                .hint("forge has aws, random, null, time and terraform built in; a resource of another provider is refused where it is used"),
            ),
        });
    };
    let release = factory.release()?;
    if source != release.source {
        return Some(
            Diagnostic::error(format!(
                "required_providers: `{name}` is {source}, but forge's built-in `{name}` provider is {}",
                release.source
            ))
            .at(required.location.clone())
            .hint(format!(
                "forge cannot run another {name} provider; point the module at {} or keep Terraform for this unit",
                release.source
            )),
        );
    }
    let constraint = required.version.as_ref()?;
    let built = Version::parse(release.version).ok()?;
    if constraint.allows(&built) {
        return None;
    }
    let major: u64 = release
        .version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())?;
    let same_major = constraint.allows_a_release_between(
        &Version::parse(&format!("{major}.0.0")).ok()?,
        &Version::parse(&format!("{major}.99.99")).ok()?,
    );
    let d = Diagnostic::error(format!(
        "required_providers: {source} \"{constraint}\" does not allow {}, the release forge's built-in provider follows",
        release.version
    ))
    .at(required.location.clone());
    Some(if same_major {
        warning(d.hint(format!(
            "forge plans with {} {}'s schemas and behaviour (the same major version); widen the constraint to allow it",
            source, release.version
        )))
    } else {
        d.hint(format!(
            "another major version of {source} differs in its schemas; move the module to {major}.x, or keep Terraform for this unit"
        ))
    })
}
