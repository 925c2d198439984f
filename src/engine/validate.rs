//! `forge validate`'s schema half: every resource and data block checked against its
//! provider's schema, without network or state.

use std::sync::Arc;

use forge_config::{Environment, Module, ResourceBlock};
use forge_lang::diagnostic::did_you_mean;
use forge_lang::{Diagnostic, Diagnostics};
use forge_provider::{BackendFactory, ProviderFactory, ProviderSchemas};

use crate::module_graph::provider_name_of;
use crate::schema_util::check_body;

/// Checks every unit's blocks against provider schemas, which providers give without
/// being configured (no credentials, no region, no call).
pub async fn check_schemas(
    env: &Environment,
    factories: &[Arc<dyn ProviderFactory>],
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let providers: Vec<(&'static str, ProviderSchemas)> =
        factories.iter().map(|f| (f.name(), f.schemas())).collect();
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
                diags.extend(check_block(rb, &providers));
            }
        }
    }
    diags.extend(crate::provider_config::check_provider_blocks(
        env, factories,
    ));
    diags
}

/// Every unit's `remote_state` backend is one forge can open (`local` always); an
/// unsupported one fails `validate` at its block, not the first plan.
pub fn check_backends(env: &Environment, backends: &[Arc<dyn BackendFactory>]) -> Diagnostics {
    let known: Vec<&str> = backends
        .iter()
        .map(|b| b.backend_type())
        .chain(["local"])
        .collect();
    let mut diags = Diagnostics::new();
    let mut reported = std::collections::BTreeSet::new();
    let mut encryption_checked = std::collections::BTreeSet::new();
    for unit in &env.units {
        // The state encryption settings build (key providers, methods, targets), so a
        // mistake fails validate at the block rather than the first plan.
        let settings = unit
            .remote_state
            .as_ref()
            .and_then(|r| r.encryption.as_ref())
            .or(unit.module.encryption.as_ref());
        if let Some(settings) = settings
            && encryption_checked.insert(settings.location.to_string())
            && let Err(e) = crate::encryption::UnitEncryption::check(settings)
        {
            diags.push(
                Diagnostic::error(format!("unit {}: {e}", unit.name)).at(settings.location.clone()),
            );
        }
        let Some(rs) = &unit.remote_state else {
            continue;
        };
        // A root file's block is shared by every unit that includes it: once.
        if known.contains(&rs.backend.as_str()) || !reported.insert(rs.location.to_string()) {
            continue;
        }
        diags.push(
            Diagnostic::error(format!(
                "remote_state backend \"{}\" is not supported",
                rs.backend
            ))
            .at(rs.location.clone())
            .hint(format!("forge keeps state with: {}", known.join(", "))),
        );
    }
    diags
}

fn check_block(rb: &ResourceBlock, providers: &[(&'static str, ProviderSchemas)]) -> Diagnostics {
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
        provider.data_sources.get(&rb.type_name).cloned()
    } else {
        provider.resources.get(&rb.type_name).cloned()
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
            if !data
                && let Some(s) =
                    did_you_mean(&rb.type_name, provider.resources.keys().map(String::as_str))
            {
                d = d.hint(format!("did you mean `{s}`?"));
            }
            d.into()
        }
    }
}
