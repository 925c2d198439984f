//! Terraform's JSON syntax (`*.tf.json`): which properties of each block are nested blocks
//! and how each argument's value is read (template, literal or reference), as
//! <https://developer.hashicorp.com/terraform/language/syntax/json> says. forge-lang's
//! JSON front-end turns a file into the same [`forge_lang::Body`] a `.tf` file gives.
//!
//! Inside `resource` and `data` bodies only the provider's schema says whether `"ingress":
//! {...}` is a nested block or an object-valued argument. forge-config has no providers, so
//! the program passes a lookup in the [`crate::LoadContext`]
//! ([`crate::LoadContext::with_schemas`]; the `forge` binary asks its providers). Without one, or for a type it does not know, every property there is read as
//! an argument; the schema checks then name the block that was meant.

use std::sync::Arc;

use forge_lang::{BodySpec, ValueMode};
use forge_provider::Schema;

use crate::mode::Mode;

/// Gives the schema of a resource type or data source, to read `.tf.json` bodies.
pub trait SchemaLookup: Send + Sync {
    fn schema(&self, mode: Mode, type_name: &str) -> Option<Schema>;
}

/// The nested blocks of the `aws` provider's configuration (forge has no provider
/// configuration schemas; these are the blocks `provider "aws"` takes in Terraform's AWS
/// provider).
const AWS_PROVIDER_BLOCKS: &[&str] = &[
    "assume_role",
    "assume_role_with_web_identity",
    "default_tags",
    "endpoints",
    "ignore_tags",
];

/// The top level of a module's `.tf.json` file.
pub(crate) fn file_spec(schemas: Option<Arc<dyn SchemaLookup>>) -> BodySpec {
    let schemas_of_data = schemas.clone();
    let schemas_of_checks = schemas.clone();
    let mut spec = BodySpec::default()
        .block("variable", 1, |_| variable())
        .block("output", 1, |_| output())
        .block("locals", 0, |_| BodySpec::default())
        .block("module", 1, |_| module_call())
        .block("provider", 1, |labels| {
            provider(labels.first().map(String::as_str).unwrap_or_default())
        })
        .block("terraform", 0, |_| terraform())
        .block("resource", 2, move |labels| {
            resource(
                schemas.as_deref(),
                Mode::Managed,
                labels.first().map(String::as_str).unwrap_or_default(),
            )
        })
        .block("data", 2, move |labels| {
            resource(
                schemas_of_data.as_deref(),
                Mode::Data,
                labels.first().map(String::as_str).unwrap_or_default(),
            )
        })
        // Addresses in these are references written as strings, like depends_on's.
        .block("moved", 0, |_| {
            BodySpec::default()
                .mode("from", ValueMode::Reference)
                .mode("to", ValueMode::Reference)
        })
        .block("removed", 0, |_| {
            BodySpec::default()
                .mode("from", ValueMode::Reference)
                .block("lifecycle", 0, |_| {
                    BodySpec::default().mode("destroy", ValueMode::Literal)
                })
                .block("provisioner", 1, |_| {
                    BodySpec::default().block("connection", 0, |_| connection())
                })
                .block("connection", 0, |_| connection())
        })
        .block("import", 0, |_| {
            BodySpec::default()
                .mode("to", ValueMode::Reference)
                .mode("provider", ValueMode::Reference)
        })
        .block("check", 1, move |_| {
            let schemas = schemas_of_checks.clone();
            BodySpec::default()
                .block("data", 2, move |labels| {
                    resource(
                        schemas.as_deref(),
                        Mode::Data,
                        labels.first().map(String::as_str).unwrap_or_default(),
                    )
                })
                .block("assert", 0, |_| BodySpec::default())
        });
    spec.only_blocks = true;
    spec
}

fn variable() -> BodySpec {
    BodySpec::default()
        .mode("type", ValueMode::Reference)
        .mode("default", ValueMode::Literal)
        .mode("description", ValueMode::Literal)
        .mode("sensitive", ValueMode::Literal)
        .mode("nullable", ValueMode::Literal)
        .mode("ephemeral", ValueMode::Literal)
        .block("validation", 0, |_| BodySpec::default())
}

fn output() -> BodySpec {
    BodySpec::default()
        .mode("description", ValueMode::Literal)
        .mode("sensitive", ValueMode::Literal)
        .mode("ephemeral", ValueMode::Literal)
        .mode("depends_on", ValueMode::Reference)
        .block("precondition", 0, |_| BodySpec::default())
}

fn module_call() -> BodySpec {
    BodySpec::default()
        .mode("source", ValueMode::Literal)
        .mode("version", ValueMode::Literal)
        .mode("providers", ValueMode::ProviderMap)
        .mode("depends_on", ValueMode::Reference)
}

fn provider(name: &str) -> BodySpec {
    let mut spec = BodySpec::default()
        .mode("alias", ValueMode::Literal)
        .mode("version", ValueMode::Literal);
    if name == "aws" {
        for block in AWS_PROVIDER_BLOCKS {
            spec = spec.block(block, 0, |_| BodySpec::default());
        }
    }
    spec
}

/// Everything in a `terraform` block is literal (forge reads none of it: providers are
/// built in and the backend comes from the unit's `remote_state`).
fn terraform() -> BodySpec {
    let literal = || BodySpec::default().default_mode(ValueMode::Literal);
    literal()
        .block("required_providers", 0, move |_| literal())
        .block("backend", 1, move |_| literal())
        .block("cloud", 0, move |_| {
            literal().block("workspaces", 0, move |_| literal())
        })
        .block("provider_meta", 1, move |_| literal())
}

fn connection() -> BodySpec {
    BodySpec::default().mode("type", ValueMode::Literal)
}

fn resource(schemas: Option<&dyn SchemaLookup>, mode: Mode, type_name: &str) -> BodySpec {
    let schema = schemas
        .and_then(|s| s.schema(mode, type_name))
        .map(Arc::new);
    let mut spec = match &schema {
        Some(s) => schema_body(s.clone()),
        None => BodySpec::default(),
    };
    spec = spec
        .mode("provider", ValueMode::Reference)
        .mode("depends_on", ValueMode::Reference)
        .block("lifecycle", 0, |_| {
            BodySpec::default()
                .mode("ignore_changes", ValueMode::Reference)
                .mode("replace_triggered_by", ValueMode::Reference)
                .block("precondition", 0, |_| BodySpec::default())
                .block("postcondition", 0, |_| BodySpec::default())
        })
        .block("connection", 0, |_| connection());
    if mode == Mode::Managed {
        spec = spec.block("provisioner", 1, |_| {
            BodySpec::default().block("connection", 0, |_| connection())
        });
    }
    spec
}

/// The body of a schema: its nested blocks (and `dynamic` blocks generating them) are
/// blocks, everything else an argument.
fn schema_body(schema: Arc<Schema>) -> BodySpec {
    let mut spec = BodySpec::default();
    for (name, block) in &schema.blocks {
        let inner = Arc::new(block.schema.clone());
        spec = spec.block(name, 0, move |_| schema_body(inner.clone()));
    }
    if !schema.blocks.is_empty() {
        spec = spec.block("dynamic", 1, move |labels| {
            let generated = labels
                .first()
                .and_then(|l| schema.blocks.get(l))
                .map(|b| Arc::new(b.schema.clone()));
            BodySpec::default()
                .mode("iterator", ValueMode::Reference)
                .block("content", 0, move |_| match &generated {
                    Some(s) => schema_body(s.clone()),
                    None => BodySpec::default(),
                })
        });
    }
    spec
}
