//! A JSON document SQS keeps as one attribute of a queue, managed as a resource of its
//! own: what `aws_sqs_queue_redrive_policy` and `aws_sqs_queue_redrive_allow_policy`
//! share, as the provider builds both from one attribute handler.
//!
//! The id is the queue URL. Create and update set the attribute, delete sets it to ""; a
//! queue without the attribute reads as gone, so a document removed outside forge is
//! planned for creation again. State records the document as the provider does: compact
//! with sorted keys (its `NormalizeJsonString`), the recorded spelling kept while SQS's
//! copy means the same (SQS writes `maxReceiveCount` back as a string, for one).
//!
//! The queue's own attribute of the same name is optional and computed in
//! `aws_sqs_queue`, so a queue that leaves it out shows what this resource sets and plans
//! no change (the provider's documentation: use one or the other, not both).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use forge_aws_common::policy::{check_policy_attribute, normalize_json_string};
use forge_aws_common::sdk_error;
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, Found, FoundBy, PlannedState, ProviderError,
    ProviderResult, ResourceType, Schema, Value, plan_from_schema,
};

use crate::common::{found, is_queue_gone, required_str, set_attr};
use crate::redrive::{redrive_for_state, redrives_equivalent};

/// Which queue attribute a document resource manages.
pub struct QueueDocument {
    /// Terraform's resource type.
    pub type_name: &'static str,
    /// Terraform's attribute holding the document.
    pub attribute: &'static str,
    /// SQS's attribute name.
    pub sqs_attribute: QueueAttributeName,
    /// What the document is, for error messages ("redrive policy").
    pub what: &'static str,
}

/// The resource for one [`QueueDocument`].
pub struct QueueDocumentResource {
    client: aws_sdk_sqs::Client,
    schema: Schema,
    document: QueueDocument,
}

/// How long a write may take to show in reads before forge stops waiting (SQS is
/// eventually consistent; the provider waits for the attribute to propagate too).
const SETTLE_TIME: Duration = Duration::from_secs(60);

impl QueueDocumentResource {
    pub fn new(client: aws_sdk_sqs::Client, document: QueueDocument) -> Self {
        // The provider's schema, version 0: both arguments required, a new queue URL
        // replaces (it is another queue).
        let schema = Schema::new()
            .attr(
                "queue_url",
                Attribute::required(AttrType::String).force_new(),
            )
            .attr(document.attribute, Attribute::required(AttrType::String))
            .attr("id", Attribute::computed(AttrType::String));
        QueueDocumentResource {
            client,
            schema,
            document,
        }
    }

    /// The live document as state; `None` when the queue is gone or has no document.
    async fn read_by_url(&self, url: &str, stored: Option<&str>) -> ProviderResult<Option<Value>> {
        let call = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(self.document.sqs_attribute.clone());
        let Some(out) = found(call.send().await.map_err(sdk_error))? else {
            return Ok(None);
        };
        let live = out
            .attributes()
            .and_then(|m| m.get(&self.document.sqs_attribute))
            .filter(|d| !d.trim().is_empty());
        let Some(live) = live else { return Ok(None) };
        let document = normalize_json_string(&redrive_for_state(stored, live));
        Ok(Some(self.state(url, document)))
    }

    fn state(&self, url: &str, document: String) -> Value {
        Value::object([
            ("id", Value::string(url)),
            ("queue_url", Value::string(url)),
            (self.document.attribute, Value::String(document)),
        ])
    }

    /// Reads after a write until SQS shows the document written (or, for a delete,
    /// none). When the time runs out the last read stands: the next plan shows it.
    async fn read_settled(&self, url: &str, wanted: Option<&str>) -> ProviderResult<Option<Value>> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let read = self.read_by_url(url, wanted).await?;
            let settled = match (&read, wanted) {
                (Some(v), Some(w)) => v
                    .str_attr(self.document.attribute)
                    .is_some_and(|have| redrives_equivalent(have, w)),
                (None, None) => true,
                _ => false,
            };
            if settled || started.elapsed() >= SETTLE_TIME {
                return Ok(read);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    async fn put(&self, url: &str, document: &str) -> ProviderResult<()> {
        let call = self
            .client
            .set_queue_attributes()
            .queue_url(url)
            .attributes(self.document.sqs_attribute.clone(), document);
        call.send().await.map_err(|e| {
            let e = sdk_error(e);
            if is_queue_gone(&e) {
                let hint = format!(
                    "no queue has the URL {url}: create the queue first (reference aws_sqs_queue.<name>.id)"
                );
                return e.hint(hint);
            }
            match e.code.as_deref() {
                Some("InvalidAttributeValue" | "InvalidParameterValue") => {
                    let hint = format!(
                        "SQS did not accept the {}: check its JSON and the queue ARNs it names",
                        self.document.what
                    );
                    e.hint(hint)
                }
                _ => e,
            }
        })?;
        Ok(())
    }
}

#[async_trait]
impl ResourceType for QueueDocumentResource {
    fn type_name(&self) -> &'static str {
        self.document.type_name
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_policy_attribute(self.document.type_name, config, self.document.attribute)?;
        let mut plan = plan_from_schema(&self.schema, prior, config);
        let attribute = self.document.attribute;
        // The provider records the document normalised and suppresses a difference of
        // spelling only: a configured document that means what is recorded keeps it.
        if let Some(configured) = plan.planned.str_attr(attribute).map(str::to_string) {
            let recorded = prior.and_then(|p| p.str_attr(attribute));
            let keep = match recorded {
                Some(r) if redrives_equivalent(r, &configured) => r.to_string(),
                _ => normalize_json_string(&configured),
            };
            set_attr(&mut plan.planned, attribute, Value::String(keep));
        }
        Ok(plan)
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let type_name = self.document.type_name;
        check_policy_attribute(type_name, &planned, self.document.attribute)?;
        let url = required_str(&planned, "queue_url", type_name)?;
        let document =
            normalize_json_string(required_str(&planned, self.document.attribute, type_name)?);
        self.put(url, &document).await?;
        match self.read_settled(url, Some(&document)).await? {
            Some(state) => Ok(state),
            None => Err(ProviderError::with_code(
                "QueueDoesNotExist",
                format!(
                    "{type_name}: the {} of {url} cannot be read after it was set",
                    self.document.what
                ),
            )
            .hint("something deleted the queue or the document outside forge: plan again")),
        }
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        self.create(planned).await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(url) = queue_url(state) else {
            return Ok(None);
        };
        self.read_by_url(url, state.str_attr(self.document.attribute))
            .await
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(url) = queue_url(state) else {
            return Ok(());
        };
        let call = self
            .client
            .set_queue_attributes()
            .queue_url(url)
            .attributes(self.document.sqs_attribute.clone(), "");
        if found(call.send().await.map_err(sdk_error))?.is_some() {
            self.read_settled(url, None).await?;
        }
        Ok(())
    }

    /// A create whose answer was lost set the queue's attribute or did not: the queue
    /// holding a document is that create's object (there is one per queue, and the
    /// engine's update after adopting brings it to the configuration).
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let Some(url) = planned
            .get("queue_url")
            .filter(|v| v.is_wholly_known())
            .and_then(Value::as_str)
        else {
            return Ok(Finding::CannotTell);
        };
        let stored = planned.str_attr(self.document.attribute);
        Ok(match self.read_by_url(url, stored).await? {
            None => Finding::Absent,
            Some(object) => Finding::Found(Found {
                object,
                created: None,
                by: FoundBy::Name,
                id: url.to_string(),
            }),
        })
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        if !id.contains("://") {
            return Err(ProviderError::new(format!(
                "{}: import takes the queue URL, got {id:?}",
                self.document.type_name
            ))
            .hint("find it with `aws sqs get-queue-url --queue-name <name>`"));
        }
        self.read_by_url(id, None).await
    }
}

fn queue_url(state: &Value) -> Option<&str> {
    state.str_attr("queue_url").or_else(|| state.str_attr("id"))
}
