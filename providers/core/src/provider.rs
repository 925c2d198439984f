//! The provider contract: what the engine asks of a resource type or data source.
//!
//! Four calls, as in Terraform: plan a change, apply it (create / update / delete), read
//! the live object (`None` when it is gone) and import by id. Providers never see HCL:
//! they receive values whose shape their schema describes, with every schema attribute
//! present (null when unset) and every nested block as a list of objects.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::intent::{CreateIntent, Finding};
use crate::schema::Schema;
use crate::value::Value;

/// An error from a provider. The engine adds the resource address when it reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderError {
    /// The service's error code (`BucketAlreadyExists`, `NoSuchEntity`), when there is one.
    pub code: Option<String>,
    pub message: String,
    /// What the user can do about it, when that is obvious.
    pub hint: Option<String>,
}

impl ProviderError {
    pub fn new(message: impl Into<String>) -> Self {
        ProviderError {
            code: None,
            message: message.into(),
            hint: None,
        }
    }
    pub fn with_code(code: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError {
            code: Some(code.into()),
            message: message.into(),
            hint: None,
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message)?,
            None => write!(f, "{}", self.message)?,
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// The outcome of planning one resource instance.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedState {
    /// The state the object will have after apply; `Value::Unknown` where only apply can tell.
    pub planned: Value,
    /// Attributes whose change cannot be made in place (empty when none, or when creating).
    pub requires_replace: Vec<String>,
}

/// One resource type, such as `aws_sqs_queue`.
#[async_trait]
pub trait ResourceType: Send + Sync {
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> &Schema;

    /// Plans the new state from the prior state (`None` when creating) and the
    /// configuration. The default follows the schema: configured values win, computed
    /// attributes keep their prior value or become unknown, force-new changes ask for
    /// replacement.
    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        Ok(plan_from_schema(self.schema(), prior, config))
    }

    /// Creates the object; returns its full state with every attribute known.
    async fn create(&self, planned: &Value) -> ProviderResult<Value>;

    /// Creates the object under `intent`, recorded by the engine before this call. A type
    /// whose API takes an idempotency token passes `intent.token` (the same token when a
    /// create is retried after a crash); the default is [`ResourceType::create`].
    async fn create_under(&self, planned: &Value, intent: &CreateIntent) -> ProviderResult<Value> {
        let _ = intent;
        self.create(planned).await
    }

    /// Called once state records an object `create_under` made (or one found by
    /// `find_created` and adopted): what only served to find it can go (an instance's
    /// intent marker tag). The default has nothing to do.
    async fn created_recorded(&self, state: &Value) -> ProviderResult<()> {
        let _ = state;
        Ok(())
    }

    /// The object that a create of `planned` under `intent` made, if any: looked up by the
    /// name `planned` gives, or by the intent's token. Called when a run died during the
    /// create or its answer was lost; the engine decides whether what is found is that
    /// create's object (see `intent`). The default cannot tell.
    async fn find_created(
        &self,
        planned: &Value,
        intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let _ = (planned, intent);
        Ok(Finding::CannotTell)
    }

    /// Reads the live object that `state` describes. `None` when it no longer exists.
    /// Values that mean the same as in `state` but are spelled differently (a policy with
    /// its keys re-ordered) keep `state`'s spelling, so that only real changes show as drift.
    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>>;

    /// Changes the object in place from `prior` to `planned`; returns the new state.
    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value>;

    /// Deletes the object. Deleting an object that is already gone succeeds.
    async fn delete(&self, state: &Value) -> ProviderResult<()>;

    /// Reads an existing object by the id Terraform uses for it. `None` when there is none.
    async fn import(&self, id: &str) -> ProviderResult<Option<Value>>;

    /// Brings a state recorded at schema version `version` to this type's shape, as the
    /// provider's state upgraders do (a state written by an older provider release). The
    /// default knows only the current version; a type whose provider has earlier
    /// versions overrides [`ResourceType::upgrade_step`].
    fn upgrade_state(&self, version: u64, state: Value) -> ProviderResult<Value> {
        let current = self.schema().version;
        if version > current {
            return Err(ProviderError::new(format!(
                "{}: the state is at schema version {version}, written by a newer provider than forge's (version {current})",
                self.type_name()
            ))
            .hint("use the provider release that wrote it, or re-import the object with forge import"));
        }
        let mut state = state;
        for from in version..current {
            state = self.upgrade_step(from, state)?;
        }
        Ok(state)
    }

    /// One upgrade step, from schema version `from` to `from + 1`. The default has none.
    fn upgrade_step(&self, from: u64, _state: Value) -> ProviderResult<Value> {
        Err(ProviderError::new(format!(
            "{}: forge cannot upgrade a state at schema version {from}",
            self.type_name()
        ))
        .hint("refresh the state with the provider that wrote it, or re-import the object with forge import"))
    }
}

/// One data source, such as `aws_caller_identity`.
#[async_trait]
pub trait DataSourceType: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    /// Reads the data; the result holds every schema attribute.
    async fn read(&self, config: &Value) -> ProviderResult<Value>;
}

/// A configured provider: one `provider "aws" {...}` block's worth of clients.
pub trait Provider: Send + Sync {
    fn resource_type(&self, type_name: &str) -> Option<Arc<dyn ResourceType>>;
    fn data_source(&self, type_name: &str) -> Option<Arc<dyn DataSourceType>>;
    /// Every resource type this provider offers, for error messages ("did you mean").
    fn resource_type_names(&self) -> Vec<&'static str>;
}

/// Builds providers from the evaluated `provider` block (an object with the block's
/// attributes; nested blocks such as `endpoints` and `default_tags` as lists of objects).
#[async_trait]
pub trait ProviderFactory: Send + Sync {
    /// The provider's local name in configuration, `aws`.
    fn name(&self) -> &'static str;
    /// The registry provider this one stands in for, and the release whose schemas and
    /// behaviour it follows, so a module's `required_providers` is checked against it;
    /// `None` for one that stands in for none (test fakes).
    fn release(&self) -> Option<ProviderRelease> {
        None
    }
    async fn configure(&self, config: &Value) -> ProviderResult<Arc<dyn Provider>>;
    /// Configures the provider for a unit that runs as `role` (Terragrunt's `iam_role`):
    /// the role's credentials take the place of the environment's. A provider that acts
    /// as no cloud identity (Terraform's built-in one, the fake) has nothing to assume,
    /// so the default configures as usual; the `aws` provider overrides it.
    async fn configure_as(
        &self,
        config: &Value,
        role: Option<&crate::UnitRole>,
    ) -> ProviderResult<Arc<dyn Provider>> {
        let _ = role;
        self.configure(config).await
    }
    /// Configures the provider for a unit that runs as `role` and whose root module is
    /// `module_dir` (absolute): Terraform runs the provider in the root module's folder
    /// (Terragrunt's working copy of it), so a relative file path in an argument
    /// (`aws_s3_object`'s `source`) is read from there. The default ignores the folder.
    async fn configure_in(
        &self,
        config: &Value,
        role: Option<&crate::UnitRole>,
        module_dir: &std::path::Path,
    ) -> ProviderResult<Arc<dyn Provider>> {
        let _ = module_dir;
        self.configure_as(config, role).await
    }
    /// The objects the configurations this factory has made so far reach that carry their
    /// default tags or `filter`'s name prefix (see [`crate::discovery`]); none for a
    /// provider that owns no remote objects.
    async fn discover(
        &self,
        _filter: &crate::DiscoveryFilter,
    ) -> ProviderResult<Vec<crate::Discovered>> {
        Ok(Vec::new())
    }

    /// Every resource type's and data source's schema. Schemas do not depend on
    /// configuration, so they are had without configuring: no credentials, no region, no
    /// call (reading `.tf.json` bodies, `forge validate`).
    fn schemas(&self) -> ProviderSchemas;

    /// The schema of the provider's own configuration block, so that `forge validate`
    /// names a misspelt argument; `None` when the provider does not describe it.
    fn config_schema(&self) -> Option<crate::Schema> {
        None
    }

    /// What the provider says about a configuration (evaluated, or with `Unknown` where
    /// `forge validate` cannot evaluate): arguments it accepts without acting on them
    /// (warnings) and settings it refuses (errors, which `configure` also returns).
    fn check_config(&self, _config: &Value) -> Vec<ConfigIssue> {
        Vec::new()
    }
}

/// A registry provider's source and release (`hashicorp/aws`, `5.100.0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProviderRelease {
    /// `namespace/type`, lower case, without the registry host.
    pub source: &'static str,
    pub version: &'static str,
}

/// What a provider offers, by type name: known without configuring it
/// ([`ProviderFactory::schemas`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderSchemas {
    pub resources: BTreeMap<String, Schema>,
    pub data_sources: BTreeMap<String, Schema>,
}

/// One finding about a provider configuration: the argument it concerns (`["assume_role",
/// "source_identity"]`, located by the caller in the block) and what it means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigIssue {
    pub path: Vec<String>,
    pub severity: IssueSeverity,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueSeverity {
    /// Accepted, but not acted on.
    Warning,
    /// Refused: acting without it would change who forge acts as, how safely it talks to
    /// the service, or what it deploys.
    Error,
}

/// The default planning rule (see [`ResourceType::plan`]).
pub fn plan_from_schema(schema: &Schema, prior: Option<&Value>, config: &Value) -> PlannedState {
    let planned = plan_object(schema, prior, config);
    let mut requires_replace = Vec::new();
    if let Some(prior) = prior {
        for (name, attr) in &schema.attributes {
            if !attr.force_new {
                continue;
            }
            let before = prior.get(name).unwrap_or(&Value::Null);
            let after = planned.get(name).unwrap_or(&Value::Null);
            if after.is_unknown() || !before.same_as(after) {
                requires_replace.push(name.clone());
            }
        }
        for (name, block) in &schema.blocks {
            if block.force_new {
                let before = prior.get(name).unwrap_or(&Value::Null);
                let after = planned.get(name).unwrap_or(&Value::Null);
                if !after.is_wholly_known() || !before.same_as(after) {
                    requires_replace.push(name.clone());
                }
            }
        }
    }
    PlannedState {
        planned,
        requires_replace,
    }
}

fn plan_object(schema: &Schema, prior: Option<&Value>, config: &Value) -> Value {
    let mut out = std::collections::BTreeMap::new();
    for (name, attr) in &schema.attributes {
        let configured = config.get(name).cloned().unwrap_or(Value::Null);
        let value = if !configured.is_null() {
            configured
        } else if let Some(default) = &attr.default {
            default.clone()
        } else if attr.computed {
            match prior.and_then(|p| p.get(name)) {
                Some(v) if !v.is_null() || !attr.optional => v.clone(),
                Some(v) => v.clone(),
                None => Value::Unknown,
            }
        } else {
            Value::Null
        };
        let value = if attr.sensitive && !value.is_null() {
            value.sensitive()
        } else {
            value
        };
        out.insert(name.clone(), value);
    }
    for (name, block) in &schema.blocks {
        let items = config.get(name).and_then(Value::as_seq).unwrap_or(&[]);
        let prior_items = prior
            .and_then(|p| p.get(name))
            .and_then(Value::as_seq)
            .unwrap_or(&[]);
        let planned: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(i, item)| plan_object(&block.schema, prior_items.get(i), item))
            .collect();
        out.insert(name.clone(), Value::List(planned));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AttrType, Attribute};

    fn schema() -> Schema {
        Schema::new()
            .attr("name", Attribute::required(AttrType::String).force_new())
            .attr("delay", Attribute::optional_computed(AttrType::Number))
            .attr("arn", Attribute::computed(AttrType::String))
            .attr("secret", Attribute::optional(AttrType::String).sensitive())
            .attr(
                "size",
                Attribute::optional(AttrType::Number).default(Value::Number(256.0)),
            )
    }

    /// A type at schema version 2 whose steps append their version to `trail`.
    struct Versioned(Schema);

    #[async_trait]
    impl ResourceType for Versioned {
        fn type_name(&self) -> &'static str {
            "test_versioned"
        }
        fn schema(&self) -> &Schema {
            &self.0
        }
        async fn create(&self, planned: &Value) -> ProviderResult<Value> {
            Ok(planned.clone())
        }
        async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
            Ok(Some(state.clone()))
        }
        async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
            Ok(planned.clone())
        }
        async fn delete(&self, _state: &Value) -> ProviderResult<()> {
            Ok(())
        }
        async fn import(&self, _id: &str) -> ProviderResult<Option<Value>> {
            Ok(None)
        }
        fn upgrade_step(&self, from: u64, state: Value) -> ProviderResult<Value> {
            let trail = format!("{}{from}", state.str_attr("trail").unwrap_or_default());
            Ok(Value::object([("trail", Value::string(trail))]))
        }
    }

    #[test]
    fn an_older_state_is_upgraded_one_step_at_a_time_and_a_newer_one_is_refused() {
        let ty = Versioned(Schema::new().version(2));
        let start = Value::object([("trail", Value::string(""))]);
        let up = ty.upgrade_state(0, start.clone()).expect("from version 0");
        assert_eq!(up.str_attr("trail"), Some("01"));
        let up = ty.upgrade_state(1, start.clone()).expect("from version 1");
        assert_eq!(up.str_attr("trail"), Some("1"));
        assert_eq!(
            ty.upgrade_state(2, start.clone())
                .expect("at the current version"),
            start
        );
        let newer = ty.upgrade_state(3, start).expect_err("a newer version");
        assert!(
            newer.message.contains("schema version 3"),
            "{}",
            newer.message
        );
    }

    #[test]
    fn create_fills_computed_with_unknown() {
        let config = Value::object([("name", Value::string("q"))]);
        let p = plan_from_schema(&schema(), None, &config);
        assert_eq!(p.planned.get("arn"), Some(&Value::Unknown));
        assert_eq!(p.planned.get("delay"), Some(&Value::Unknown));
        assert_eq!(p.planned.get("secret"), Some(&Value::Null));
        assert_eq!(p.planned.get("size"), Some(&Value::Number(256.0)));
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn a_configured_value_wins_over_the_default_and_removing_it_plans_the_default() {
        let prior = Value::object([
            ("name", Value::string("q")),
            ("delay", Value::Number(0.0)),
            ("arn", Value::string("arn:q")),
            ("secret", Value::Null),
            ("size", Value::Number(1024.0)),
        ]);
        let set = Value::object([
            ("name", Value::string("q")),
            ("size", Value::Number(1024.0)),
        ]);
        let p = plan_from_schema(&schema(), Some(&prior), &set);
        assert!(p.planned.same_as(&prior));
        let removed = plan_from_schema(
            &schema(),
            Some(&prior),
            &Value::object([("name", Value::string("q"))]),
        );
        assert_eq!(removed.planned.get("size"), Some(&Value::Number(256.0)));
    }

    #[test]
    fn force_new_change_requires_replace_and_computed_keeps_prior() {
        let prior = Value::object([
            ("name", Value::string("q")),
            ("delay", Value::Number(0.0)),
            ("arn", Value::string("arn:q")),
            ("secret", Value::Null),
            ("size", Value::Number(256.0)),
        ]);
        let same = plan_from_schema(
            &schema(),
            Some(&prior),
            &Value::object([("name", Value::string("q"))]),
        );
        assert!(same.planned.same_as(&prior));
        assert!(same.requires_replace.is_empty());
        let renamed = plan_from_schema(
            &schema(),
            Some(&prior),
            &Value::object([("name", Value::string("r"))]),
        );
        assert_eq!(renamed.requires_replace, vec!["name".to_string()]);
    }
}
