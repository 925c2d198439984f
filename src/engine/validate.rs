//! `forge validate`'s schema half: every resource and data block checked against its
//! provider's schema, without network or state.

use std::sync::Arc;

use forge_config::{Environment, Module, ResourceBlock};
use forge_lang::diagnostic::did_you_mean;
use forge_lang::{Diagnostic, Diagnostics};
use forge_provider::{Provider, ProviderFactory, Value};

use crate::module_graph::provider_name_of;
use crate::schema_util::check_body;

/// Checks every unit's blocks against provider schemas. Providers are configured empty,
/// which builds clients but makes no call.
pub async fn check_schemas(
    env: &Environment,
    factories: &[Arc<dyn ProviderFactory>],
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let mut providers: Vec<(&'static str, Arc<dyn Provider>)> = Vec::new();
    let mut unavailable: Vec<&'static str> = Vec::new();
    // Schemas do not depend on configuration; a placeholder region lets a provider that
    // insists on one build its (unused) clients where no AWS variables are set.
    let placeholder = Value::object([("region", Value::string("us-east-1"))]);
    for f in factories {
        match f.configure(&placeholder).await {
            Ok(p) => providers.push((f.name(), p)),
            Err(e) => {
                unavailable.push(f.name());
                let mut d = Diagnostic::error(format!(
                    "cannot load the schemas of provider \"{}\": {e}",
                    f.name()
                ));
                d.severity = forge_lang::Severity::Warning;
                diags.push(d);
            }
        }
    }
    for unit in &env.units {
        // The unit's module and every child module it calls, each folder once.
        let mut modules: Vec<&Module> = vec![&unit.module];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(module) = modules.pop() {
            if !seen.insert(module.dir.clone()) {
                continue;
            }
            modules.extend(module.module_calls.iter().map(|c| c.module.as_ref()));
            for rb in module
                .resources
                .iter()
                .chain(&module.data)
                .chain(module.checks.iter().flat_map(|c| &c.data))
            {
                if unavailable.contains(&provider_name_of(&rb.type_name)) {
                    continue;
                }
                diags.extend(check_block(rb, &providers));
            }
        }
    }
    diags.extend(crate::provider_config::check_provider_blocks(
        env, factories,
    ));
    diags
}

fn check_block(rb: &ResourceBlock, providers: &[(&'static str, Arc<dyn Provider>)]) -> Diagnostics {
    let name = provider_name_of(&rb.type_name);
    let Some((_, provider)) = providers.iter().find(|(n, _)| *n == name) else {
        let known: Vec<&str> = providers.iter().map(|(n, _)| *n).collect();
        return Diagnostic::error(format!("{}: no provider named \"{name}\"", rb.address()))
            .at(rb.location.clone())
            .hint(format!("forge provides: {}", known.join(", ")))
            .into();
    };
    let data = rb.mode == forge_config::Mode::Data;
    let schema = if data {
        provider
            .data_source(&rb.type_name)
            .map(|d| d.schema().clone())
    } else {
        provider
            .resource_type(&rb.type_name)
            .map(|r| r.schema().clone())
    };
    match schema {
        Some(s) => check_body(&s, &rb.body, &rb.address(), &rb.location),
        None => {
            let kind = if data { "data source" } else { "resource type" };
            let mut d = Diagnostic::error(format!(
                "the {name} provider has no {kind} `{}`",
                rb.type_name
            ))
            .at(rb.location.clone());
            if !data && let Some(s) = did_you_mean(&rb.type_name, provider.resource_type_names()) {
                d = d.hint(format!("did you mean `{s}`?"));
            }
            d.into()
        }
    }
}
