//! The schema lookup forge-config needs to read `*.tf.json` resource bodies (whether
//! `"ingress": {...}` is a nested block or an object argument depends on the resource
//! type's schema): the providers' own schemas (`ProviderFactory::schemas`, had without
//! configuring a provider), gathered the first time a `.tf.json` file asks.

use std::sync::{Arc, OnceLock};

use forge_config::{Mode, SchemaLookup};
use forge_provider::{ProviderSchemas, Schema};

/// The lookup a load context carries.
pub fn schemas() -> Arc<dyn SchemaLookup> {
    Arc::new(ProviderSchemasLookup::default())
}

#[derive(Default)]
struct ProviderSchemasLookup {
    providers: OnceLock<Vec<ProviderSchemas>>,
}

impl SchemaLookup for ProviderSchemasLookup {
    fn schema(&self, mode: Mode, type_name: &str) -> Option<Schema> {
        let providers = self.providers.get_or_init(every_provider);
        providers.iter().find_map(|p| {
            match mode {
                Mode::Managed => p.resources.get(type_name),
                Mode::Data => p.data_sources.get(type_name),
            }
            .cloned()
        })
    }
}

/// Every provider the program has. When the providers cannot be listed (a broken
/// `FORGE_FAKE_CLOUD` file), bodies are read as arguments and the command reports the
/// providers' own error when it builds them.
fn every_provider() -> Vec<ProviderSchemas> {
    match super::common::factories() {
        Ok((factories, _fake)) => factories.iter().map(|f| f.schemas()).collect(),
        Err(_) => Vec::new(),
    }
}
