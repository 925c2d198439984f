//! `aws_s3_bucket_notification`: where S3 announces object events. The id is the bucket
//! name; the resource owns the bucket's whole notification configuration.
//!
//! As in Terraform, a configuration emptied outside forge is drift (the blocks read back
//! empty and the next apply puts them back), not a resource that is gone; only a missing
//! bucket makes it gone. Every write makes S3 send an `s3:TestEvent` to each destination.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    Event, EventBridgeConfiguration, FilterRule, FilterRuleName, LambdaFunctionConfiguration,
    NotificationConfiguration, NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    TopicConfiguration,
};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error};
use forge_provider::{
    AttrType, Attribute, BlockType, PlannedState, ProviderError, ProviderResult, ResourceType,
    Schema, Value, plan_from_schema,
};

use crate::common::{
    block_items, bucket_of, client, default_if_null, found_or_absent, read_settled,
    with_bucket_hint,
};

const TYPE: &str = "aws_s3_bucket_notification";

/// The three kinds of destination: block name and the name of its ARN argument.
const KINDS: [(&str, &str); 3] = [
    ("queue", "queue_arn"),
    ("topic", "topic_arn"),
    ("lambda_function", "lambda_function_arn"),
];

/// One destination, whatever its kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Destination {
    pub id: Option<String>,
    pub arn: String,
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

pub struct BucketNotificationResource {
    client: aws_sdk_s3::Client,
    schema: Schema,
}

impl BucketNotificationResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let mut schema = Schema::new()
            .attr("bucket", Attribute::required(AttrType::String).force_new())
            .attr("eventbridge", Attribute::optional(AttrType::Bool))
            .attr("id", Attribute::computed(AttrType::String));
        for (block, arn) in KINDS {
            let inner = Schema::new()
                .attr("id", Attribute::optional_computed(AttrType::String))
                // The provider's schema has the Lambda ARN optional (S3 needs it: a block
                // without one is refused when applied, naming the argument).
                .attr(
                    arn,
                    if block == "lambda_function" {
                        Attribute::optional(AttrType::String)
                    } else {
                        Attribute::required(AttrType::String)
                    },
                )
                .attr(
                    "events",
                    Attribute::required(AttrType::Set(Box::new(AttrType::String))),
                )
                .attr("filter_prefix", Attribute::optional(AttrType::String))
                .attr("filter_suffix", Attribute::optional(AttrType::String));
            schema = schema.block(
                block,
                BlockType {
                    schema: inner,
                    ..BlockType::default()
                },
            );
        }
        BucketNotificationResource {
            client: client(&ctx),
            schema,
        }
    }

    async fn read_with(&self, bucket: &str, state: &Value) -> ProviderResult<Option<Value>> {
        // No HeadBucket first: the read below answers NoSuchBucket for a bucket that is
        // gone (`found_or_absent`), one request less on every refresh and create.
        let out = self
            .client
            .get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
            .map_err(sdk_error);
        let Some(out) = found_or_absent(out, &[])? else {
            return Ok(None);
        };
        let live: [Vec<Destination>; 3] = [
            out.queue_configurations()
                .iter()
                .map(queue_destination)
                .collect(),
            out.topic_configurations()
                .iter()
                .map(topic_destination)
                .collect(),
            out.lambda_function_configurations()
                .iter()
                .map(lambda_destination)
                .collect(),
        ];
        let mut m = BTreeMap::new();
        m.insert("id".to_string(), Value::string(bucket));
        m.insert("bucket".to_string(), Value::string(bucket));
        m.insert(
            "eventbridge".to_string(),
            Value::Bool(out.event_bridge_configuration().is_some()),
        );
        for ((block, arn_attr), destinations) in KINDS.iter().zip(live) {
            let ordered = in_state_order(destinations, block_items(state, block), arn_attr);
            let items = ordered
                .iter()
                .map(|d| destination_value(d, arn_attr))
                .collect();
            m.insert(block.to_string(), Value::List(items));
        }
        Ok(Some(Value::Object(m)))
    }

    async fn put(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate(&planned)?;
        let bucket = bucket_of(&planned, TYPE)?;
        let conf = configuration(&planned)?;
        // A queue policy written moments ago may not have reached S3 yet: S3 then cannot
        // deliver its test event and refuses; it succeeds once the policy has spread.
        let patient = Backoff {
            attempts: 7,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(10),
        };
        retry(patient, is_unvalidated_destination, || async {
            let call = self
                .client
                .put_bucket_notification_configuration()
                .bucket(bucket)
                .notification_configuration(conf.clone());
            call.send()
                .await
                .map_err(|e| with_bucket_hint(sdk_error(e), TYPE, bucket))
        })
        .await
        .map_err(put_hint)?;
        match read_settled(&planned, || self.read_with(bucket, &planned)).await? {
            Some(v) => Ok(v),
            None => Err(crate::common::no_bucket(TYPE, bucket)),
        }
    }
}

/// S3's refusal when it cannot send its test event to a destination.
fn is_unvalidated_destination(err: &ProviderError) -> bool {
    err.code.as_deref() == Some("InvalidArgument") && err.message.contains("Unable to validate")
}

fn put_hint(err: ProviderError) -> ProviderError {
    let unable = err.message.contains("Unable to validate") || err.message.contains("destination");
    match err.code.as_deref() {
        Some("InvalidArgument") if unable => err.hint(
            "S3 could not deliver its test event: the queue's policy (aws_sqs_queue_policy) must allow s3.amazonaws.com \
             to sqs:SendMessage for this bucket; add depends_on = [aws_sqs_queue_policy.<name>]",
        ),
        Some("InvalidArgument") => err.hint("check the event names (such as s3:ObjectCreated:*) and that filters do not overlap"),
        _ => err,
    }
}

fn filter_of(filter: Option<&NotificationConfigurationFilter>) -> (Option<String>, Option<String>) {
    let rules = filter
        .and_then(|f| f.key())
        .map(|k| k.filter_rules())
        .unwrap_or(&[]);
    let find = |wanted: &str| {
        rules
            .iter()
            .find(|r| {
                r.name()
                    .is_some_and(|n| n.as_str().eq_ignore_ascii_case(wanted))
            })
            .and_then(|r| r.value())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    (find("prefix"), find("suffix"))
}

fn events_of(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.as_str().to_string()).collect()
}

fn queue_destination(c: &QueueConfiguration) -> Destination {
    let (prefix, suffix) = filter_of(c.filter());
    Destination {
        id: c.id().map(str::to_string),
        arn: c.queue_arn().to_string(),
        events: events_of(c.events()),
        prefix,
        suffix,
    }
}

fn topic_destination(c: &TopicConfiguration) -> Destination {
    let (prefix, suffix) = filter_of(c.filter());
    Destination {
        id: c.id().map(str::to_string),
        arn: c.topic_arn().to_string(),
        events: events_of(c.events()),
        prefix,
        suffix,
    }
}

fn lambda_destination(c: &LambdaFunctionConfiguration) -> Destination {
    let (prefix, suffix) = filter_of(c.filter());
    let arn = c.lambda_function_arn().to_string();
    Destination {
        id: c.id().map(str::to_string),
        arn,
        events: events_of(c.events()),
        prefix,
        suffix,
    }
}

fn opt(s: &Option<String>) -> Value {
    s.as_deref().map(Value::string).unwrap_or(Value::Null)
}

fn destination_value(d: &Destination, arn_attr: &str) -> Value {
    let mut events = d.events.clone();
    events.sort();
    Value::object([
        ("id", opt(&d.id)),
        (arn_attr, Value::string(&d.arn)),
        (
            "events",
            Value::Set(events.into_iter().map(Value::String).collect()),
        ),
        ("filter_prefix", opt(&d.prefix)),
        ("filter_suffix", opt(&d.suffix)),
    ])
}

/// Live destinations in the order the state lists them, the rest after, so that S3's own
/// ordering is not drift. A state item is matched by its id, or (when the id is not known
/// yet) by destination, events and filters.
pub fn in_state_order(
    mut live: Vec<Destination>,
    state_items: &[Value],
    arn_attr: &str,
) -> Vec<Destination> {
    let mut ordered = Vec::with_capacity(live.len());
    for item in state_items {
        let position = match item.str_attr("id") {
            Some(id) => live.iter().position(|d| d.id.as_deref() == Some(id)),
            None => live.iter().position(|d| same_target(d, item, arn_attr)),
        };
        if let Some(pos) = position {
            ordered.push(live.remove(pos));
        }
    }
    ordered.extend(live);
    ordered
}

fn same_target(d: &Destination, item: &Value, arn_attr: &str) -> bool {
    let Ok(wanted) = destination_from(item, arn_attr) else {
        return false;
    };
    let mut a = d.events.clone();
    let mut b = wanted.events.clone();
    a.sort();
    b.sort();
    d.arn == wanted.arn && a == b && d.prefix == wanted.prefix && d.suffix == wanted.suffix
}

/// One configured block as a destination.
fn destination_from(item: &Value, arn_attr: &str) -> ProviderResult<Destination> {
    let arn = item
        .str_attr(arn_attr)
        .ok_or_else(|| {
            ProviderError::new(format!("{TYPE}: `{arn_attr}` is required in each block"))
        })?
        .to_string();
    let events: Vec<String> = item
        .get("events")
        .and_then(Value::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect();
    let text = |name: &str| {
        item.str_attr(name)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(Destination {
        id: text("id"),
        arn,
        events,
        prefix: text("filter_prefix"),
        suffix: text("filter_suffix"),
    })
}

fn aws_filter(d: &Destination) -> ProviderResult<Option<NotificationConfigurationFilter>> {
    let mut rules = Vec::new();
    for (name, value) in [
        (FilterRuleName::Prefix, &d.prefix),
        (FilterRuleName::Suffix, &d.suffix),
    ] {
        if let Some(v) = value {
            rules.push(FilterRule::builder().name(name).value(v).build());
        }
    }
    if rules.is_empty() {
        return Ok(None);
    }
    let key = S3KeyFilter::builder().set_filter_rules(Some(rules)).build();
    Ok(Some(
        NotificationConfigurationFilter::builder().key(key).build(),
    ))
}

fn build_error(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(format!("{TYPE}: {e}"))
}

/// The whole notification configuration the planned value asks for.
fn configuration(planned: &Value) -> ProviderResult<NotificationConfiguration> {
    let mut conf = NotificationConfiguration::builder();
    for item in block_items(planned, "queue") {
        let d = destination_from(item, "queue_arn")?;
        let c = QueueConfiguration::builder()
            .set_id(d.id.clone())
            .queue_arn(&d.arn)
            .set_events(Some(
                d.events.iter().map(|e| Event::from(e.as_str())).collect(),
            ))
            .set_filter(aws_filter(&d)?)
            .build()
            .map_err(build_error)?;
        conf = conf.queue_configurations(c);
    }
    for item in block_items(planned, "topic") {
        let d = destination_from(item, "topic_arn")?;
        let c = TopicConfiguration::builder()
            .set_id(d.id.clone())
            .topic_arn(&d.arn)
            .set_events(Some(
                d.events.iter().map(|e| Event::from(e.as_str())).collect(),
            ))
            .set_filter(aws_filter(&d)?)
            .build()
            .map_err(build_error)?;
        conf = conf.topic_configurations(c);
    }
    for item in block_items(planned, "lambda_function") {
        let d = destination_from(item, "lambda_function_arn")?;
        let c = LambdaFunctionConfiguration::builder()
            .set_id(d.id.clone())
            .lambda_function_arn(&d.arn)
            .set_events(Some(
                d.events.iter().map(|e| Event::from(e.as_str())).collect(),
            ))
            .set_filter(aws_filter(&d)?)
            .build()
            .map_err(build_error)?;
        conf = conf.lambda_function_configurations(c);
    }
    if planned.get("eventbridge").and_then(Value::as_bool) == Some(true) {
        conf = conf.event_bridge_configuration(EventBridgeConfiguration::builder().build());
    }
    Ok(conf.build())
}

fn validate(config: &Value) -> ProviderResult<()> {
    for (block, arn_attr) in KINDS {
        for (i, item) in block_items(config, block).iter().enumerate() {
            if let Some(arn) = item.str_attr(arn_attr)
                && !arn.starts_with("arn:")
            {
                let hint = if arn.contains("://") {
                    "that is a URL: use the ARN, such as aws_sqs_queue.<name>.arn rather than .id or .url".to_string()
                } else {
                    format!("set {arn_attr} to the destination's ARN")
                };
                return Err(ProviderError::new(format!(
                    "{TYPE}: {block}[{i}].{arn_attr} {arn:?} is not an ARN"
                ))
                .hint(hint));
            }
            let events = item.get("events").and_then(Value::as_seq).unwrap_or(&[]);
            if let Some(bad) = events
                .iter()
                .filter_map(Value::as_str)
                .find(|e| !e.starts_with("s3:"))
            {
                return Err(ProviderError::new(format!("{TYPE}: {block}[{i}].events: {bad:?} is not an S3 event name"))
                    .hint("S3 event names look like \"s3:ObjectCreated:*\" or \"s3:ObjectRemoved:Delete\""));
            }
        }
    }
    Ok(())
}

#[async_trait]
impl ResourceType for BucketNotificationResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let mut plan = plan_from_schema(&self.schema, prior, config);
        default_if_null(&mut plan.planned, "eventbridge", Value::Bool(false));
        Ok(plan)
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.put(planned).await
    }

    /// The create only puts a setting on what another resource owns: the setting there
    /// now, read as `read` reads it, is what an unrecorded create left (the plan then
    /// brings it to the configuration).
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &forge_provider::CreateIntent,
    ) -> ProviderResult<forge_provider::Finding> {
        let mut planned = planned.deep_unmarked();
        let Some(owner) = forge_aws_common::adoption::configured_name(&planned, "bucket") else {
            return Ok(forge_provider::Finding::CannotTell);
        };
        if let Value::Object(attrs) = &mut planned {
            attrs.insert("id".to_string(), Value::string(&owner));
        }
        let object = self.read(&planned).await?;
        Ok(forge_aws_common::adoption::found_by_name(
            owner, object, None,
        ))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(bucket) = state.str_attr("bucket").or_else(|| state.str_attr("id")) else {
            return Ok(None);
        };
        self.read_with(bucket, state).await
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        self.put(planned).await
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(bucket) = state.str_attr("bucket").or_else(|| state.str_attr("id")) else {
            return Ok(());
        };
        let empty = NotificationConfiguration::builder().build();
        let call = self
            .client
            .put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(empty);
        found_or_absent(call.send().await.map_err(sdk_error), &[])?;
        Ok(())
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        self.read_with(id, &Value::Null).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(id: &str) -> Destination {
        Destination {
            id: Some(id.into()),
            arn: format!("arn:aws:sqs:us-east-1:1:{id}"),
            events: vec![],
            prefix: None,
            suffix: None,
        }
    }

    #[test]
    fn live_destinations_follow_the_state_order() {
        let state = vec![
            Value::object([("id", Value::string("b"))]),
            Value::object([("id", Value::string("a"))]),
        ];
        let ordered = in_state_order(vec![dest("a"), dest("c"), dest("b")], &state, "queue_arn");
        let ids: Vec<_> = ordered.iter().map(|d| d.id.clone().unwrap()).collect();
        assert_eq!(ids, vec!["b", "a", "c"]);
    }

    #[test]
    fn items_without_an_id_are_matched_by_destination() {
        let item = |arn: &str| {
            Value::object([
                ("id", Value::Unknown),
                ("queue_arn", Value::string(arn)),
                (
                    "events",
                    Value::Set(vec![Value::string("s3:ObjectCreated:*")]),
                ),
            ])
        };
        let live = |id: &str, arn: &str| Destination {
            id: Some(id.into()),
            arn: arn.into(),
            events: vec!["s3:ObjectCreated:*".into()],
            prefix: None,
            suffix: None,
        };
        let state = vec![item("arn:q2"), item("arn:q1")];
        let ordered = in_state_order(
            vec![live("x", "arn:q1"), live("y", "arn:q2")],
            &state,
            "queue_arn",
        );
        let arns: Vec<_> = ordered.iter().map(|d| d.arn.as_str()).collect();
        assert_eq!(arns, vec!["arn:q2", "arn:q1"]);
    }

    #[test]
    fn every_kind_of_destination_is_sent() {
        let item = |arn_attr: &str, arn: &str| {
            Value::object([
                ("id", Value::string("n")),
                (arn_attr, Value::string(arn)),
                (
                    "events",
                    Value::Set(vec![Value::string("s3:ObjectRemoved:*")]),
                ),
                ("filter_prefix", Value::Null),
                ("filter_suffix", Value::string(".json")),
            ])
        };
        let planned = Value::object([
            (
                "queue",
                Value::List(vec![item("queue_arn", "arn:aws:sqs:us-east-1:1:q")]),
            ),
            (
                "topic",
                Value::List(vec![item("topic_arn", "arn:aws:sns:us-east-1:1:t")]),
            ),
            (
                "lambda_function",
                Value::List(vec![item(
                    "lambda_function_arn",
                    "arn:aws:lambda:us-east-1:1:function:f",
                )]),
            ),
            ("eventbridge", Value::Bool(true)),
        ]);
        let conf = configuration(&planned).unwrap();
        assert_eq!(conf.queue_configurations().len(), 1);
        assert_eq!(
            conf.topic_configurations()[0].topic_arn(),
            "arn:aws:sns:us-east-1:1:t"
        );
        let lambda = &conf.lambda_function_configurations()[0];
        assert_eq!(
            filter_of(lambda.filter()),
            (None, Some(".json".to_string()))
        );
        assert!(conf.event_bridge_configuration().is_some());
    }

    #[test]
    fn only_an_unvalidated_destination_is_retried() {
        let e = ProviderError::with_code(
            "InvalidArgument",
            "Unable to validate the following destination configurations",
        );
        assert!(is_unvalidated_destination(&e));
        let overlap = ProviderError::with_code("InvalidArgument", "Configurations overlap");
        assert!(!is_unvalidated_destination(&overlap));
    }

    #[test]
    fn a_refused_test_event_points_at_the_queue_policy() {
        let e = ProviderError::with_code(
            "InvalidArgument",
            "Unable to validate the following destination configurations",
        );
        assert!(put_hint(e).hint.unwrap().contains("aws_sqs_queue_policy"));
    }

    #[test]
    fn a_queue_url_instead_of_an_arn_gets_a_hint() {
        let item = Value::object([
            (
                "queue_arn",
                Value::string("http://127.0.0.1:4566/000000000000/q"),
            ),
            (
                "events",
                Value::Set(vec![Value::string("s3:ObjectCreated:*")]),
            ),
        ]);
        let err = validate(&Value::object([("queue", Value::List(vec![item]))])).unwrap_err();
        assert!(err.message.contains("queue[0].queue_arn"), "{err}");
        assert!(err.hint.unwrap().contains(".arn"));
    }

    #[test]
    fn filters_become_prefix_and_suffix_rules() {
        let d = Destination {
            suffix: Some(".csv".into()),
            prefix: Some("uploads/".into()),
            ..dest("a")
        };
        let filter = aws_filter(&d).unwrap().unwrap();
        assert_eq!(
            filter_of(Some(&filter)),
            (Some("uploads/".into()), Some(".csv".into()))
        );
        assert_eq!(aws_filter(&dest("a")).unwrap(), None);
    }
}
