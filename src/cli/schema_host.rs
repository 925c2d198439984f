//! The schema lookup forge-config needs to read `*.tf.json` resource bodies (whether
//! `"ingress": {...}` is a nested block or an object argument depends on the resource
//! type's schema): the providers' own schemas, built the first time a `.tf.json` file
//! asks, the way `forge validate` builds them (providers configured with a placeholder
//! region, which builds clients and makes no call).

use std::sync::{Arc, OnceLock};

use forge_config::{Mode, SchemaLookup};
use forge_provider::{Provider, Schema, Value};

pub fn install() {
    forge_config::set_schema_lookup(Arc::new(ProviderSchemas::default()));
}

#[derive(Default)]
struct ProviderSchemas {
    providers: OnceLock<Vec<Arc<dyn Provider>>>,
}

impl SchemaLookup for ProviderSchemas {
    fn schema(&self, mode: Mode, type_name: &str) -> Option<Schema> {
        let providers = self.providers.get_or_init(configure_all);
        providers.iter().find_map(|p| match mode {
            Mode::Managed => p.resource_type(type_name).map(|r| r.schema().clone()),
            Mode::Data => p.data_source(type_name).map(|d| d.schema().clone()),
        })
    }
}

/// Every provider the program has, configured on a runtime of its own: configuration is
/// loaded from inside the command's runtime, where blocking on another future would panic.
fn configure_all() -> Vec<Arc<dyn Provider>> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return Vec::new();
            };
            runtime.block_on(async {
                let Ok((factories, _fake)) = super::common::factories() else {
                    return Vec::new();
                };
                let placeholder = Value::object([("region", Value::string("us-east-1"))]);
                let mut out = Vec::new();
                for f in factories {
                    // A provider that cannot be built gives no schemas: its bodies are read
                    // as arguments, and planning reports the provider's own error.
                    if let Ok(p) = f.configure(&placeholder).await {
                        out.push(p);
                    }
                }
                out
            })
        })
        .join()
        .unwrap_or_default()
    })
}
