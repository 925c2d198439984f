//! `aws_sqs_queue`: a standard or FIFO queue with its attributes and tags.
//!
//! The id is the queue URL, as in Terraform. The state has the provider's shape (checked
//! against hashicorp/aws 5.100.0 by `tests/cli/provider_oracle/sqs.rs`): the numeric
//! settings take the provider's defaults when left out (delay 0, maximum size 262144,
//! retention 345600, wait 0, visibility 30), a document or setting the queue lacks is "",
//! and `name_prefix` is derived from the name.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use forge_aws_common::adoption::{configured_name, found_by_name};
use forge_aws_common::policy::{check_policy_attribute, policy_for_state};
use forge_aws_common::{AwsContext, Backoff, map_value, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value, plan_from_schema,
};

use crate::common::{
    check_no_timeouts, client, config_tags, found, keep_empty_values, name_prefix_from_name,
    plan_tags_all, queue_name_from_url, replace_paths, set_attr, tags_state, timeouts_attribute,
};
use crate::redrive::redrive_for_state;

const TYPE: &str = "aws_sqs_queue";

/// How an attribute's string form in SQS maps onto a value.
#[derive(Clone, Copy)]
enum Kind {
    Number,
    Bool,
    Text,
}

/// The queue attributes forge manages: Terraform's name, SQS's name, and the kind.
const ATTRIBUTES: &[(&str, &str, Kind)] = &[
    ("delay_seconds", "DelaySeconds", Kind::Number),
    ("max_message_size", "MaximumMessageSize", Kind::Number),
    (
        "message_retention_seconds",
        "MessageRetentionPeriod",
        Kind::Number,
    ),
    (
        "receive_wait_time_seconds",
        "ReceiveMessageWaitTimeSeconds",
        Kind::Number,
    ),
    (
        "visibility_timeout_seconds",
        "VisibilityTimeout",
        Kind::Number,
    ),
    (
        "kms_data_key_reuse_period_seconds",
        "KmsDataKeyReusePeriodSeconds",
        Kind::Number,
    ),
    (
        "content_based_deduplication",
        "ContentBasedDeduplication",
        Kind::Bool,
    ),
    (
        "sqs_managed_sse_enabled",
        "SqsManagedSseEnabled",
        Kind::Bool,
    ),
    ("kms_master_key_id", "KmsMasterKeyId", Kind::Text),
    ("redrive_policy", "RedrivePolicy", Kind::Text),
    ("redrive_allow_policy", "RedriveAllowPolicy", Kind::Text),
    ("deduplication_scope", "DeduplicationScope", Kind::Text),
    ("fifo_throughput_limit", "FifoThroughputLimit", Kind::Text),
    ("policy", "Policy", Kind::Text),
];

/// Attributes that are optional but not computed: null after a value means "remove it",
/// which SQS spells as an empty string.
const CLEARABLE: &[&str] = &["kms_master_key_id"];

pub struct QueueResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_sqs::Client,
    schema: Schema,
}

impl QueueResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        // The provider's schema: arguments with a default are optional (not computed) and
        // take the default when left out; the JSON documents and FIFO settings are
        // computed (SQS fills them in).
        let number =
            |default: f64| Attribute::optional(AttrType::Number).default(Value::Number(default));
        let text = || AttrType::String;
        let schema = Schema::new()
            .attr("name", Attribute::optional_computed(text()).force_new())
            .attr(
                "name_prefix",
                Attribute::optional_computed(text()).force_new(),
            )
            .attr(
                "fifo_queue",
                Attribute::optional(AttrType::Bool)
                    .default(Value::Bool(false))
                    .force_new(),
            )
            .attr(
                "content_based_deduplication",
                Attribute::optional(AttrType::Bool).default(Value::Bool(false)),
            )
            .attr("delay_seconds", number(0.0))
            .attr("max_message_size", number(262_144.0))
            .attr("message_retention_seconds", number(345_600.0))
            .attr("receive_wait_time_seconds", number(0.0))
            .attr("visibility_timeout_seconds", number(30.0))
            .attr(
                "kms_data_key_reuse_period_seconds",
                Attribute::optional_computed(AttrType::Number),
            )
            .attr("redrive_policy", Attribute::optional_computed(text()))
            .attr("redrive_allow_policy", Attribute::optional_computed(text()))
            .attr("deduplication_scope", Attribute::optional_computed(text()))
            .attr(
                "fifo_throughput_limit",
                Attribute::optional_computed(text()),
            )
            .attr("policy", Attribute::optional_computed(text()))
            .attr(
                "sqs_managed_sse_enabled",
                Attribute::optional_computed(AttrType::Bool),
            )
            .attr("kms_master_key_id", Attribute::optional(text()))
            .attr("tags", Attribute::optional(AttrType::Map(Box::new(text()))))
            .attr(
                "tags_all",
                Attribute::computed(AttrType::Map(Box::new(text()))),
            )
            .attr("timeouts", timeouts_attribute())
            .attr("id", Attribute::computed(text()))
            .attr("url", Attribute::computed(text()))
            .attr("arn", Attribute::computed(text()));
        let client = client(&ctx);
        QueueResource {
            ctx,
            client,
            schema,
        }
    }

    /// The live queue as state. `state` supplies the spelling of equivalent JSON documents
    /// and whether `tags` was set at all.
    async fn read_by_url(&self, url: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let attrs = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All);
        // The attributes and the tags are two requests that need nothing from each
        // other: one round trip's wait for both.
        let (attrs, tags) = tokio::join!(
            attrs.send(),
            self.client.list_queue_tags().queue_url(url).send()
        );
        let Some(out) = found(attrs.map_err(sdk_error))? else {
            return Ok(None);
        };
        let live: HashMap<String, String> = out
            .attributes()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let tags_out = found(tags.map_err(sdk_error))?;
        let Some(tags_out) = tags_out else {
            return Ok(None);
        };
        let live_tags: BTreeMap<String, String> = tags_out
            .tags()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(Some(queue_state(&self.ctx, url, &live, &live_tags, state)))
    }

    /// Reads the queue after a write until it shows what was planned. SQS is eventually
    /// consistent: a new queue or a changed attribute can take up to a minute to show
    /// everywhere. When the time runs out the last read is returned as it is, so that the
    /// next plan reports what is really there.
    async fn read_settled(&self, url: &str, planned: &Value) -> ProviderResult<Value> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let read = self.read_by_url(url, planned).await?;
            let out_of_time = started.elapsed() >= SETTLE_TIME;
            match read {
                Some(v) if out_of_time || shows_planned(&v, planned) => return Ok(v),
                None if out_of_time => {
                    return Err(ProviderError::with_code(
                        "QueueDoesNotExist",
                        format!("{TYPE}: queue {url} cannot be read after the write"),
                    )
                    .hint("something deleted it outside forge: plan again to recreate it"));
                }
                _ => {}
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    async fn apply_tags(
        &self,
        url: &str,
        old: &BTreeMap<String, String>,
        new: &BTreeMap<String, String>,
    ) -> ProviderResult<()> {
        let removed: Vec<String> = old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .cloned()
            .collect();
        if !removed.is_empty() {
            self.client
                .untag_queue()
                .queue_url(url)
                .set_tag_keys(Some(removed))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        let changed: HashMap<String, String> = new
            .iter()
            .filter(|(k, v)| old.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !changed.is_empty() {
            self.client
                .tag_queue()
                .queue_url(url)
                .set_tags(Some(changed))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }
}

/// How long a write may take to show in reads before forge stops waiting.
const SETTLE_TIME: Duration = Duration::from_secs(60);

/// True when every attribute the plan knows has that value in the read state.
fn shows_planned(live: &Value, planned: &Value) -> bool {
    ATTRIBUTES.iter().all(|(tf, _, _)| match planned.get(tf) {
        Some(want) if want.is_wholly_known() && !want.is_null() => {
            live.get(tf).is_some_and(|have| have.same_as(want))
        }
        _ => true,
    })
}

/// Builds the state from SQS's attribute map and tags.
fn queue_state(
    ctx: &AwsContext,
    url: &str,
    live: &HashMap<String, String>,
    live_tags: &BTreeMap<String, String>,
    state: &Value,
) -> Value {
    let mut m = BTreeMap::new();
    for (tf, aws, kind) in ATTRIBUTES {
        let raw = live.get(*aws).map(String::as_str).filter(|s| !s.is_empty());
        let value = match (kind, raw) {
            (Kind::Number, Some(s)) => s
                .parse::<f64>()
                .map(Value::Number)
                .unwrap_or_else(|_| Value::string(s)),
            // The provider's read records 300 (SQS's default) when SQS reports no reuse
            // period, for compatibility with its older states.
            (Kind::Number, None) if *tf == "kms_data_key_reuse_period_seconds" => {
                Value::Number(300.0)
            }
            (Kind::Number, None) => state
                .get(tf)
                .cloned()
                .filter(|v| !v.is_unknown())
                .unwrap_or(Value::Null),
            (Kind::Bool, raw) => Value::Bool(raw.is_some_and(|s| s.eq_ignore_ascii_case("true"))),
            // The provider writes "" for a document or setting the queue does not have.
            (Kind::Text, None) => Value::string(""),
            (Kind::Text, Some(s)) => match *tf {
                "policy" => Value::String(policy_for_state(state.str_attr("policy"), s)),
                "redrive_policy" | "redrive_allow_policy" => {
                    Value::String(redrive_for_state(state.str_attr(tf), s))
                }
                _ => Value::string(s),
            },
        };
        m.insert(tf.to_string(), value);
    }
    let fifo = live
        .get("FifoQueue")
        .is_some_and(|s| s.eq_ignore_ascii_case("true"));
    m.insert("fifo_queue".into(), Value::Bool(fifo));
    let name = queue_name_from_url(url);
    m.insert("name".into(), Value::string(name));
    let suffix = if fifo { ".fifo" } else { "" };
    m.insert(
        "name_prefix".into(),
        Value::String(name_prefix_from_name(name, suffix)),
    );
    m.insert(
        "timeouts".into(),
        state
            .get("timeouts")
            .cloned()
            .filter(|v| !v.is_unknown())
            .unwrap_or(Value::Null),
    );
    m.insert("id".into(), Value::string(url));
    m.insert("url".into(), Value::string(url));
    m.insert(
        "arn".into(),
        live.get("QueueArn")
            .map(Value::string)
            .unwrap_or(Value::Null),
    );
    let (tags, tags_all) = tags_state(ctx, state.get("tags").unwrap_or(&Value::Null), live_tags);
    m.insert("tags".into(), tags);
    m.insert("tags_all".into(), tags_all);
    Value::Object(m)
}

/// The attributes to send for the planned values that differ from `prior` (all of the
/// configured ones when creating).
fn attributes_to_send(
    prior: Option<&Value>,
    planned: &Value,
) -> HashMap<QueueAttributeName, String> {
    let mut out = HashMap::new();
    for (tf, aws, kind) in ATTRIBUTES {
        let was_set = prior.and_then(|p| p.get_non_null(tf)).is_some();
        if CLEARABLE.contains(tf) && was_set && planned.get(tf).is_none_or(Value::is_null) {
            out.insert(QueueAttributeName::from(*aws), String::new());
            continue;
        }
        let Some(value) = planned.get_non_null(tf).filter(|v| v.is_wholly_known()) else {
            continue;
        };
        if prior
            .and_then(|p| p.get(tf))
            .is_some_and(|p| p.same_as(value))
        {
            continue;
        }
        // Creating, the provider sends only what is set to a non-zero value (its attribute
        // map skips `false` and ""), and only `sqs_managed_sse_enabled` as configured:
        // SQS refuses FIFO-only attributes such as ContentBasedDeduplication on a standard
        // queue even when they say `false`.
        if prior.is_none() && *tf != "sqs_managed_sse_enabled" {
            match value.unmarked() {
                Value::Bool(false) => continue,
                Value::String(s) if s.is_empty() => continue,
                _ => {}
            }
        }
        let text = match (kind, value.unmarked()) {
            (Kind::Number, Value::Number(n)) => format!("{}", *n as i64),
            (Kind::Bool, Value::Bool(b)) => b.to_string(),
            (_, Value::String(s)) => s.clone(),
            _ => continue,
        };
        out.insert(QueueAttributeName::from(*aws), text);
    }
    out
}

/// A name from `name_prefix` (or Terraform's `terraform-` prefix), unique enough per call.
fn generated_name(prefix: Option<&str>, fifo: bool) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let base = format!("{}{:026}", prefix.unwrap_or("terraform-"), nanos);
    if fifo { format!("{base}.fifo") } else { base }
}

/// Checks what SQS would refuse, with a message saying how to fix it.
pub fn validate_queue_config(config: &Value) -> ProviderResult<()> {
    validate_ranges(config)?;
    let fifo = config
        .get("fifo_queue")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(name) = config.str_attr("name") {
        let stem = name.strip_suffix(".fifo").unwrap_or(name);
        if fifo && !name.ends_with(".fifo") {
            return Err(ProviderError::new(format!(
                "{TYPE}: a FIFO queue's name must end in `.fifo`, got {name:?}"
            ))
            .hint(format!("name it \"{name}.fifo\"")));
        }
        if !fifo && name.ends_with(".fifo") {
            return Err(ProviderError::new(format!(
                "{TYPE}: queue name {name:?} ends in `.fifo` but fifo_queue is not true"
            ))
            .hint("set `fifo_queue = true`, or drop the `.fifo` suffix"));
        }
        if name.len() > 80
            || stem.is_empty()
            || !stem
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ProviderError::new(format!(
                "{TYPE}: invalid queue name {name:?}: 1 to 80 characters of letters, digits, `-` and `_` (plus `.fifo` for FIFO queues)"
            ))
            .hint("choose a shorter name without dots, spaces or other punctuation"));
        }
    }
    if config
        .get("content_based_deduplication")
        .and_then(Value::as_bool)
        == Some(true)
        && !fifo
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: content_based_deduplication applies to FIFO queues only"
        ))
        .hint("set `fifo_queue = true` or remove content_based_deduplication"));
    }
    for attr in ["policy", "redrive_policy", "redrive_allow_policy"] {
        check_policy_attribute(TYPE, config, attr)?;
    }
    let sse = config
        .get("sqs_managed_sse_enabled")
        .and_then(Value::as_bool)
        == Some(true);
    // "" is the provider's recorded "no key", not a key.
    let kms_key = config
        .str_attr("kms_master_key_id")
        .is_some_and(|k| !k.is_empty());
    if sse && kms_key {
        return Err(ProviderError::new(format!(
            "{TYPE}: sqs_managed_sse_enabled and kms_master_key_id cannot both be set"
        ))
        .hint("use either SQS-managed encryption or a KMS key"));
    }
    Ok(())
}

/// The limits SQS puts on the numeric attributes, checked at plan time as Terraform does.
const RANGES: &[(&str, f64, f64, &str)] = &[
    ("delay_seconds", 0.0, 900.0, "seconds (15 minutes)"),
    ("max_message_size", 1024.0, 1_048_576.0, "bytes (1 MiB)"),
    (
        "message_retention_seconds",
        60.0,
        1_209_600.0,
        "seconds (14 days)",
    ),
    ("receive_wait_time_seconds", 0.0, 20.0, "seconds"),
    (
        "visibility_timeout_seconds",
        0.0,
        43_200.0,
        "seconds (12 hours)",
    ),
    (
        "kms_data_key_reuse_period_seconds",
        60.0,
        86_400.0,
        "seconds (24 hours)",
    ),
];

fn validate_ranges(config: &Value) -> ProviderResult<()> {
    for (name, min, max, unit) in RANGES {
        let Some(n) = config.get(name).and_then(Value::as_f64) else {
            continue;
        };
        if n < *min || n > *max || n.fract() != 0.0 {
            return Err(ProviderError::new(format!(
                "{TYPE}: {name} = {n} is out of range: SQS accepts whole numbers from {min} to {max} {unit}"
            ))
            .hint(format!("set {name} between {min} and {max}")));
        }
    }
    Ok(())
}

fn create_hint(err: ProviderError, name: &str) -> ProviderError {
    match err.code.as_deref() {
        Some("QueueAlreadyExists" | "QueueNameExists" | "AWS.SimpleQueueService.QueueNameExists") => err.hint(format!(
            "a queue named {name:?} already exists with other attributes: import it (`forge import` with its URL) or choose another name"
        )),
        Some("InvalidAttributeValue" | "InvalidParameterValue" | "InvalidAttributeName") => {
            err.hint("check the queue's numeric limits (delay 0-900, size 1024-1048576, retention 60-1209600, wait 0-20, visibility 0-43200) and the JSON documents")
        }
        _ => err,
    }
}

fn is_deleted_recently(e: &ProviderError) -> bool {
    e.code
        .as_deref()
        .is_some_and(|c| c.contains("QueueDeletedRecently"))
}

#[async_trait]
impl ResourceType for QueueResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate_queue_config(config)?;
        let mut planned = plan_from_schema(&self.schema, prior, config).planned;
        check_no_timeouts(TYPE, config)?;
        keep_empty_values(&self.schema, prior, config, &mut planned);
        // A KMS key replaces SQS-managed encryption: SQS turns the latter off by itself.
        let kms = config.get_non_null("kms_master_key_id").is_some();
        if kms
            && config
                .get("sqs_managed_sse_enabled")
                .is_none_or(Value::is_null)
        {
            set_attr(&mut planned, "sqs_managed_sse_enabled", Value::Bool(false));
        }
        plan_tags_all(&self.ctx, &mut planned);
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate_queue_config(&planned)?;
        let fifo = planned
            .get("fifo_queue")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let name = match planned.str_attr("name") {
            Some(n) => n.to_string(),
            None => generated_name(planned.str_attr("name_prefix"), fifo),
        };
        let mut attributes = attributes_to_send(None, &planned);
        if fifo {
            attributes.insert(QueueAttributeName::FifoQueue, "true".into());
        }
        let tags: HashMap<String, String> = self
            .ctx
            .tags_all(&config_tags(&planned))
            .into_iter()
            .collect();
        let patient = Backoff {
            attempts: 10,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(15),
        };
        let out = retry(patient, is_deleted_recently, || async {
            let mut call = self
                .client
                .create_queue()
                .queue_name(&name)
                .set_attributes(Some(attributes.clone()));
            if !tags.is_empty() {
                call = call.set_tags(Some(tags.clone()));
            }
            call.send()
                .await
                .map_err(|e| create_hint(sdk_error(e), &name))
        })
        .await?;
        let url = out
            .queue_url()
            .ok_or_else(|| {
                ProviderError::new(format!(
                    "{TYPE}: CreateQueue for {name:?} returned no queue URL"
                ))
            })?
            .to_string();
        self.read_settled(&url, &planned).await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(url) = state.str_attr("id").or_else(|| state.str_attr("url")) else {
            return Ok(None);
        };
        self.read_by_url(url, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        validate_queue_config(&planned)?;
        let url = prior
            .str_attr("id")
            .ok_or_else(|| {
                ProviderError::new(format!("{TYPE}: the prior state has no queue URL (id)"))
            })?
            .to_string();
        let changed = attributes_to_send(Some(prior), &planned);
        if !changed.is_empty() {
            let call = self
                .client
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(changed));
            call.send()
                .await
                .map_err(|e| create_hint(sdk_error(e), queue_name_from_url(&url)))?;
        }
        let old = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new = self.ctx.tags_all(&config_tags(&planned));
        self.apply_tags(&url, &old, &new).await?;
        self.read_settled(&url, &planned).await
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(url) = state.str_attr("id") else {
            return Ok(());
        };
        found(
            self.client
                .delete_queue()
                .queue_url(url)
                .send()
                .await
                .map_err(sdk_error),
        )?;
        Ok(())
    }

    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let Some(name) = configured_name(&planned, "name") else {
            return Ok(Finding::CannotTell);
        };
        let url = found(
            self.client
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .map_err(sdk_error),
        )?;
        let Some(url) = url.and_then(|o| o.queue_url().map(str::to_string)) else {
            return Ok(Finding::Absent);
        };
        let created = found(
            self.client
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::CreatedTimestamp)
                .send()
                .await
                .map_err(sdk_error),
        )?
        .and_then(|out| {
            out.attributes()
                .and_then(|a| a.get(&QueueAttributeName::CreatedTimestamp))
                .and_then(|secs| secs.parse::<u64>().ok())
        })
        .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
        let object = self.read_by_url(&url, &planned).await?;
        Ok(found_by_name(url, object, created))
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        if !id.contains("://") {
            return Err(ProviderError::new(format!(
                "{TYPE}: import takes the queue URL, got {id:?}"
            ))
            .hint("find it with `aws sqs get-queue-url --queue-name <name>`"));
        }
        let empty = Value::object([
            ("tags", Value::Null),
            ("tags_all", map_value(&BTreeMap::new())),
        ]);
        self.read_by_url(id, &empty).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs)
    }

    #[test]
    fn fifo_names_must_match_the_flag() {
        let bad = config(vec![
            ("name", Value::string("jobs")),
            ("fifo_queue", Value::Bool(true)),
        ]);
        let err = validate_queue_config(&bad).unwrap_err();
        assert!(err.message.contains(".fifo"), "{err}");
        assert!(err.hint.unwrap().contains("jobs.fifo"));
        let also_bad = config(vec![("name", Value::string("jobs.fifo"))]);
        assert!(validate_queue_config(&also_bad).is_err());
        let good = config(vec![
            ("name", Value::string("jobs.fifo")),
            ("fifo_queue", Value::Bool(true)),
        ]);
        assert!(validate_queue_config(&good).is_ok());
    }

    #[test]
    fn long_or_dotted_names_are_refused() {
        let long = config(vec![("name", Value::string("a".repeat(81)))]);
        assert!(
            validate_queue_config(&long)
                .unwrap_err()
                .message
                .contains("80")
        );
        let dotted = config(vec![("name", Value::string("my.queue"))]);
        assert!(validate_queue_config(&dotted).is_err());
    }

    #[test]
    fn broken_policy_json_names_the_attribute_and_position() {
        let bad = config(vec![
            ("name", Value::string("q")),
            ("redrive_policy", Value::string("{\"a\": }")),
        ]);
        let err = validate_queue_config(&bad).unwrap_err();
        assert!(err.message.contains("redrive_policy"), "{err}");
        assert!(err.message.contains("line 1"), "{err}");
    }

    #[test]
    fn only_changed_attributes_are_sent() {
        let prior = config(vec![
            ("delay_seconds", Value::Number(0.0)),
            ("visibility_timeout_seconds", Value::Number(30.0)),
        ]);
        let planned = config(vec![
            ("delay_seconds", Value::Number(0.0)),
            ("visibility_timeout_seconds", Value::Number(60.0)),
        ]);
        let sent = attributes_to_send(Some(&prior), &planned);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent.get(&QueueAttributeName::VisibilityTimeout)
                .map(String::as_str),
            Some("60")
        );
    }

    #[test]
    fn removing_the_kms_key_sends_an_empty_one() {
        let prior = config(vec![("kms_master_key_id", Value::string("alias/aws/sqs"))]);
        let planned = config(vec![("kms_master_key_id", Value::Null)]);
        let sent = attributes_to_send(Some(&prior), &planned);
        assert_eq!(
            sent.get(&QueueAttributeName::KmsMasterKeyId)
                .map(String::as_str),
            Some("")
        );
        assert!(attributes_to_send(Some(&planned), &planned).is_empty());
    }

    #[test]
    fn a_read_shows_the_plan_when_every_known_attribute_matches() {
        let planned = config(vec![
            ("visibility_timeout_seconds", Value::Number(60.0)),
            ("delay_seconds", Value::Unknown),
        ]);
        let stale = config(vec![
            ("visibility_timeout_seconds", Value::Number(30.0)),
            ("delay_seconds", Value::Number(0.0)),
        ]);
        let fresh = config(vec![
            ("visibility_timeout_seconds", Value::Number(60.0)),
            ("delay_seconds", Value::Number(0.0)),
        ]);
        assert!(!shows_planned(&stale, &planned));
        assert!(shows_planned(&fresh, &planned));
    }

    #[test]
    fn out_of_range_numbers_name_the_attribute_and_limits() {
        let bad = config(vec![(
            "visibility_timeout_seconds",
            Value::Number(50_000.0),
        )]);
        let err = validate_queue_config(&bad).unwrap_err();
        assert!(
            err.message.contains("visibility_timeout_seconds = 50000"),
            "{err}"
        );
        assert!(err.message.contains("43200"), "{err}");
        let wait = config(vec![("receive_wait_time_seconds", Value::Number(20.0))]);
        assert!(validate_queue_config(&wait).is_ok());
        let fraction = config(vec![("delay_seconds", Value::Number(1.5))]);
        assert!(validate_queue_config(&fraction).is_err());
    }

    #[test]
    fn generated_names_use_the_prefix_and_fifo_suffix() {
        let n = generated_name(Some("jobs-"), true);
        assert!(n.starts_with("jobs-") && n.ends_with(".fifo"), "{n}");
        assert!(generated_name(None, false).starts_with("terraform-"));
    }
}
