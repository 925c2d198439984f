//! `aws_ebs_volume`: an EBS volume in one availability zone, its size, type and
//! performance changed in place by ModifyVolume as the provider does, and an optional
//! snapshot taken before it is deleted (`final_snapshot`).
//!
//! CreateVolume takes a `ClientToken`, which forge sends (the intent's token under an
//! intent), but the emulators ignore it: the volume made under an intent also carries the
//! token as the `forge:create-token` tag, so a create whose answer was lost is found by
//! it and never made twice.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::primitives::{DateTime, DateTimeFormat};
use aws_sdk_ec2::types::{
    ResourceType as Ec2ResourceType, Volume, VolumeModificationState, VolumeState, VolumeType,
};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::batched;
use crate::common::{
    client, config_tags, ec2_arn, is_not_found, is_transient, plan_tags_all, replace_paths,
    required_str, set_attr, tag_specifications, tags_from_aws, tags_state, update_tags,
};
use crate::intent_tag::{
    found_by_token, tags_with_token, token_filter, untag_recorded, without_intent_tag,
};

const TYPE_NAME: &str = "aws_ebs_volume";

pub struct EbsVolumeResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_ec2::Client,
    schema: Schema,
    /// Reads of volumes that wait at the same time (these, and instances' root and
    /// attached volumes) share one DescribeVolumes.
    batchers: Arc<batched::Batchers>,
}

/// How long forge waits for a volume, a modification or a snapshot to settle.
fn settle_backoff() -> Backoff {
    Backoff {
        attempts: 12,
        first_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(15),
    }
}

/// The code the waits below retry on: the object is not in the state waited for yet.
const NOT_SETTLED: &str = "forge.NotSettled";

impl EbsVolumeResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr(
                "availability_zone",
                Attribute::required(string()).force_new(),
            )
            .attr(
                "encrypted",
                Attribute::optional_computed(AttrType::Bool).force_new(),
            )
            .attr(
                "final_snapshot",
                Attribute::optional(AttrType::Bool).default(Value::Bool(false)),
            )
            .attr("iops", Attribute::optional_computed(AttrType::Number))
            .attr(
                "kms_key_id",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr(
                "multi_attach_enabled",
                Attribute::optional(AttrType::Bool).force_new(),
            )
            .attr("outpost_arn", Attribute::optional(string()).force_new())
            .attr("size", Attribute::optional_computed(AttrType::Number))
            .attr(
                "snapshot_id",
                Attribute::optional_computed(string()).force_new(),
            )
            .attr("throughput", Attribute::optional_computed(AttrType::Number))
            .attr("type", Attribute::optional_computed(string()))
            .attr(
                "tags",
                Attribute::optional(AttrType::Map(Box::new(string()))),
            )
            .attr(
                "tags_all",
                Attribute::computed(AttrType::Map(Box::new(string()))),
            )
            .attr("id", Attribute::computed(string()))
            .attr("arn", Attribute::computed(string()))
            .attr("create_time", Attribute::computed(string()))
            .attr("timeouts", forge_aws_common::values::timeouts_attribute());
        let batchers = ctx.shared::<batched::Batchers>();
        let client = client(&ctx);
        EbsVolumeResource {
            ctx,
            client,
            schema,
            batchers,
        }
    }

    /// The volume `id`, unless it is gone (deleted volumes stay visible for a while).
    async fn describe(&self, id: &str) -> ProviderResult<Option<Volume>> {
        if batched::batchable(id, "vol-") {
            let volume = self
                .batchers
                .volumes
                .read(id, |ids| batched::volumes(&self.client, ids))
                .await?;
            return Ok(volume.filter(|v| !is_gone(v)));
        }
        match self
            .client
            .describe_volumes()
            .volume_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out.volumes().first().filter(|v| !is_gone(v)).cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The volume made under an intent's token (by its marker tag), unless gone.
    async fn volume_with_token(&self, token: &str) -> ProviderResult<Option<Volume>> {
        let out = self
            .client
            .describe_volumes()
            .filters(token_filter(token))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.volumes().iter().find(|v| !is_gone(v)).cloned())
    }

    async fn state_from_live(&self, volume: &Volume, state: &Value) -> ProviderResult<Value> {
        let id = volume.volume_id().unwrap_or_default().to_string();
        let account = self.ctx.account_id().await?;
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &tags_from_aws(volume.tags()),
        );
        let number = |n: Option<i32>| Value::Number(f64::from(n.unwrap_or(0)));
        let text = |s: Option<&str>| Value::string(s.unwrap_or_default());
        // Configuration only: what the state says, false (the default) when it says nothing.
        let final_snapshot = state
            .get("final_snapshot")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Value::object([
            ("id", Value::string(&id)),
            (
                "arn",
                Value::string(ec2_arn(&self.ctx, &account, &format!("volume/{id}"))),
            ),
            ("availability_zone", text(volume.availability_zone())),
            ("create_time", Value::string(rfc3339(volume.create_time()))),
            (
                "encrypted",
                Value::Bool(volume.encrypted().unwrap_or(false)),
            ),
            ("final_snapshot", Value::Bool(final_snapshot)),
            ("iops", number(volume.iops())),
            ("kms_key_id", text(volume.kms_key_id())),
            (
                "multi_attach_enabled",
                Value::Bool(volume.multi_attach_enabled().unwrap_or(false)),
            ),
            ("outpost_arn", text(volume.outpost_arn())),
            ("size", number(volume.size())),
            ("snapshot_id", text(volume.snapshot_id())),
            ("throughput", number(volume.throughput())),
            (
                "type",
                Value::string(volume.volume_type().map(|t| t.as_str()).unwrap_or_default()),
            ),
            ("timeouts", Value::Null),
            ("tags", tags),
            ("tags_all", tags_all),
        ]))
    }

    async fn read_by_id(&self, id: &str, state: &Value) -> ProviderResult<Option<Value>> {
        match self.describe(id).await? {
            Some(volume) => self.state_from_live(&volume, state).await.map(Some),
            None => Ok(None),
        }
    }

    /// CreateVolume for `planned`. Under an intent the SDK does not resend it by itself:
    /// where EC2 ignores the ClientToken (the emulators) a resend after a lost answer
    /// would make a second volume, so forge looks for the first by its marker before each
    /// new attempt.
    async fn create_volume(&self, planned: &Value, token: Option<&str>) -> ProviderResult<String> {
        let tags = tags_with_token(&self.ctx.tags_all(&config_tags(planned)), token);
        let int = |name: &str| {
            planned
                .get(name)
                .and_then(Value::as_f64)
                .filter(|n| *n > 0.0)
                .map(|n| n as i32)
        };
        let text = |name: &str| {
            planned
                .str_attr(name)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let request = self
            .client
            .create_volume()
            .availability_zone(required_str(planned, "availability_zone", TYPE_NAME)?)
            .set_client_token(Some(token.map_or_else(one_time_token, str::to_string)))
            .set_encrypted(planned.get("encrypted").and_then(Value::as_bool))
            .set_iops(int("iops"))
            .set_kms_key_id(text("kms_key_id"))
            .set_multi_attach_enabled(
                planned
                    .get("multi_attach_enabled")
                    .and_then(Value::as_bool)
                    .filter(|b| *b),
            )
            .set_outpost_arn(text("outpost_arn"))
            .set_size(int("size"))
            .set_snapshot_id(text("snapshot_id"))
            .set_throughput(int("throughput"))
            .set_volume_type(text("type").map(|t| VolumeType::from(t.as_str())))
            .set_tag_specifications(tag_specifications(Ec2ResourceType::Volume, &tags));
        let made = |id: Option<&str>| {
            id.map(str::to_string)
                .ok_or_else(|| ProviderError::new("CreateVolume returned no volume id"))
        };
        let Some(token) = token else {
            let out = request.send().await.map_err(sdk_error)?;
            return made(out.volume_id());
        };
        let once = aws_sdk_ec2::config::Config::builder()
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::standard().with_max_attempts(1));
        let mut delay = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            let sent = request
                .clone()
                .customize()
                .config_override(once.clone())
                .send()
                .await
                .map_err(sdk_error);
            match sent {
                Ok(out) => return made(out.volume_id()),
                Err(e) if attempt < 4 && is_transient(&e) => {
                    if let Some(found) = self.volume_with_token(token).await? {
                        return made(found.volume_id());
                    }
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits until the volume is available (or in use), as the provider's create waiter.
    async fn wait_available(&self, id: &str) -> ProviderResult<Volume> {
        retry(settle_backoff(), not_settled, || async {
            let volume = self.describe(id).await?.ok_or_else(|| {
                ProviderError::with_code(
                    NOT_SETTLED,
                    format!("EBS volume {id} is not visible yet after its creation"),
                )
            })?;
            match volume.state() {
                Some(VolumeState::Available | VolumeState::InUse) => Ok(volume),
                Some(VolumeState::Error) => Err(ProviderError::new(format!(
                    "EBS volume {id} failed to be created (state error)"
                ))
                .hint("check the size, type, iops and snapshot_id are valid together")),
                other => Err(ProviderError::with_code(
                    NOT_SETTLED,
                    format!(
                        "EBS volume {id} is still {}",
                        other.map(VolumeState::as_str).unwrap_or("creating")
                    ),
                )),
            }
        })
        .await
    }

    /// After CreateVolume: the volume waited for, read back without the intent marker.
    async fn settle_created(&self, id: &str, planned: &Value) -> ProviderResult<Value> {
        let volume = self.wait_available(id).await?;
        self.state_from_live(&volume, planned)
            .await
            .map(without_intent_tag)
    }

    async fn create_with(&self, planned: &Value, token: Option<&str>) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let id = self.create_volume(&planned, token).await?;
        self.settle_created(&id, &planned).await
    }

    /// ModifyVolume for what changed among size, type, iops and throughput, as the
    /// provider sends it, then waits until the modification is optimizing or done.
    async fn modify(&self, id: &str, prior: &Value, planned: &Value) -> ProviderResult<()> {
        let changed = |name: &str| {
            !prior
                .get(name)
                .unwrap_or(&Value::Null)
                .same_as(planned.get(name).unwrap_or(&Value::Null))
        };
        if !["iops", "size", "type", "throughput"]
            .iter()
            .any(|n| changed(n))
        {
            return Ok(());
        }
        let int = |name: &str| {
            planned
                .get(name)
                .and_then(Value::as_f64)
                .filter(|n| *n > 0.0)
                .map(|n| n as i32)
        };
        let volume_type = planned.str_attr("type").unwrap_or_default();
        let mut request = self.client.modify_volume().volume_id(id);
        if changed("iops") {
            request = request.set_iops(int("iops"));
        }
        if changed("size") {
            request = request.set_size(int("size"));
        }
        // The provider always sends a set throughput for gp3: AWS does not keep it
        // across a type change by itself.
        if volume_type == "gp3" {
            request = request.set_throughput(int("throughput"));
        }
        if changed("type") {
            request = request.volume_type(VolumeType::from(volume_type));
            // A change to io1, io2 or gp3 without IOPS would get AWS's default of 3000.
            if matches!(volume_type, "io1" | "io2" | "gp3") {
                request = request.set_iops(int("iops"));
            }
        }
        request.send().await.map_err(|e| {
            let e = sdk_error(e);
            match e.code.as_deref() {
                Some("IncorrectModificationState" | "VolumeModificationRateExceeded") => e.hint(
                    "AWS allows one modification of a volume every six hours: apply again later",
                ),
                _ => e,
            }
        })?;
        retry(settle_backoff(), not_settled, || async {
            let out = self
                .client
                .describe_volumes_modifications()
                .volume_ids(id)
                .send()
                .await
                .map_err(sdk_error)?;
            let state = out
                .volumes_modifications()
                .iter()
                .max_by_key(|m| m.start_time().map(DateTime::secs))
                .and_then(|m| m.modification_state().cloned());
            match state {
                None
                | Some(VolumeModificationState::Completed | VolumeModificationState::Optimizing) => {
                    Ok(())
                }
                Some(VolumeModificationState::Failed) => Err(ProviderError::new(format!(
                    "the modification of EBS volume {id} failed"
                ))),
                Some(other) => Err(ProviderError::with_code(
                    NOT_SETTLED,
                    format!("the modification of EBS volume {id} is still {}", other.as_str()),
                )),
            }
        })
        .await
    }

    /// `final_snapshot`: a snapshot of the volume, tagged as the volume, waited for.
    async fn take_final_snapshot(&self, id: &str, state: &Value) -> ProviderResult<()> {
        let tags = string_map(state.get("tags_all").unwrap_or(&Value::Null));
        let out = self
            .client
            .create_snapshot()
            .volume_id(id)
            .set_tag_specifications(tag_specifications(Ec2ResourceType::Snapshot, &tags))
            .send()
            .await
            .map_err(sdk_error)?;
        let snapshot = out
            .snapshot_id()
            .ok_or_else(|| ProviderError::new("CreateSnapshot returned no snapshot id"))?
            .to_string();
        retry(settle_backoff(), not_settled, || async {
            let out = self
                .client
                .describe_snapshots()
                .snapshot_ids(&snapshot)
                .send()
                .await
                .map_err(sdk_error)?;
            match out.snapshots().first().and_then(|s| s.state()) {
                Some(aws_sdk_ec2::types::SnapshotState::Completed) => Ok(()),
                Some(aws_sdk_ec2::types::SnapshotState::Error) => Err(ProviderError::new(format!(
                    "the final snapshot {snapshot} of EBS volume {id} failed"
                ))),
                _ => Err(ProviderError::with_code(
                    NOT_SETTLED,
                    format!("the final snapshot {snapshot} of EBS volume {id} is not complete"),
                )),
            }
        })
        .await
    }
}

#[async_trait]
impl ResourceType for EbsVolumeResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        forge_aws_common::values::check_no_timeouts(TYPE_NAME, config)?;
        check_arguments(config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
        match prior {
            None => check_new_volume(config)?,
            Some(prior) => keep_iops_a_type_ignores(prior, config, &mut planned),
        }
        plan_tags_all(&self.ctx, &mut planned);
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.create_with(planned, None).await
    }

    async fn create_under(&self, planned: &Value, intent: &CreateIntent) -> ProviderResult<Value> {
        // The marker stays on the volume until `created_recorded`; state never holds it.
        self.create_with(planned, Some(&intent.token)).await
    }

    async fn created_recorded(&self, state: &Value) -> ProviderResult<()> {
        untag_recorded(&self.client, state).await
    }

    /// The volume made under the intent, by the token tag it carries from CreateVolume.
    async fn find_created(
        &self,
        planned: &Value,
        intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let Some(volume) = self.volume_with_token(&intent.token).await? else {
            return Ok(Finding::Absent);
        };
        let id = volume.volume_id().unwrap_or_default().to_string();
        let object = self.settle_created(&id, &planned.deep_unmarked()).await?;
        Ok(found_by_token(id, object))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(id) = state.str_attr("id") else {
            return Ok(None);
        };
        self.read_by_id(id, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let id = required_str(prior, "id", TYPE_NAME)?.to_string();
        let old_tags = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new_tags = self.ctx.tags_all(&config_tags(&planned));
        update_tags(&self.client, &id, &old_tags, &new_tags).await?;
        self.modify(&id, prior, &planned).await?;
        self.read_by_id(&id, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!("EBS volume {id} disappeared during the update"))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(id) = state.str_attr("id") else {
            return Ok(());
        };
        if self.describe(id).await?.is_none() {
            return Ok(());
        }
        if state.get("final_snapshot").and_then(Value::as_bool) == Some(true) {
            self.take_final_snapshot(id, state).await?;
        }
        // A volume just detached stays "in use" for a moment.
        let deleted = retry(
            settle_backoff(),
            |e| e.code.as_deref() == Some("VolumeInUse"),
            || async {
                self.client
                    .delete_volume()
                    .volume_id(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(sdk_error)
            },
        )
        .await;
        match deleted {
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) if e.code.as_deref() == Some("VolumeInUse") => {
                return Err(e.hint(
                    "the volume is still attached to an instance: remove its aws_volume_attachment (or detach it) first",
                ));
            }
            other => other?,
        }
        retry(settle_backoff(), not_settled, || async {
            match self.describe(id).await? {
                None => Ok(()),
                Some(_) => Err(ProviderError::with_code(
                    NOT_SETTLED,
                    format!("EBS volume {id} is still being deleted"),
                )),
            }
        })
        .await
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let mut state = Value::object([("id", Value::string(id))]);
        set_attr(&mut state, "final_snapshot", Value::Bool(false));
        self.read_by_id(id, &state).await
    }
}

/// Deleted and deleting volumes are gone as far as state is concerned.
fn is_gone(volume: &Volume) -> bool {
    matches!(
        volume.state(),
        Some(VolumeState::Deleted | VolumeState::Deleting)
    )
}

fn not_settled(e: &ProviderError) -> bool {
    e.code.as_deref() == Some(NOT_SETTLED)
}

/// A ClientToken for a create outside an intent, unique per call, so the SDK's own
/// resend of a lost answer is the same request to AWS.
fn one_time_token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "forge-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The provider's `create_time`: RFC 3339 to the second, in UTC.
fn rfc3339(time: Option<&DateTime>) -> String {
    time.and_then(|t| {
        DateTime::from_secs(t.secs())
            .fmt(DateTimeFormat::DateTime)
            .ok()
    })
    .unwrap_or_default()
}

/// The provider's checks on the arguments alone: one of size or snapshot_id, a KMS key
/// named by ARN, throughput in AWS's range.
fn check_arguments(config: &Value) -> ProviderResult<()> {
    let set = |name: &str| config.get(name).is_some_and(|v| !v.is_null());
    if !set("size") && !set("snapshot_id") {
        return Err(ProviderError::new(format!(
            "{TYPE_NAME}: one of `size` or `snapshot_id` must be set"
        ))
        .hint("give the volume a size in GiB, or a snapshot to create it from"));
    }
    if let Some(key) = config.str_attr("kms_key_id")
        && !key.starts_with("arn:")
    {
        return Err(
            ProviderError::new(format!("{TYPE_NAME}: kms_key_id {key:?} is not an ARN"))
                .hint("name the KMS key by its ARN (arn:aws:kms:<region>:<account>:key/<id>)"),
        );
    }
    if let Some(t) = config.get("throughput").and_then(Value::as_f64)
        && !(125.0..=1000.0).contains(&t)
    {
        return Err(
            ProviderError::new(format!("{TYPE_NAME}: throughput {t} is out of range"))
                .hint("throughput is in MiB/s, from 125 to 1000"),
        );
    }
    Ok(())
}

/// The provider's checks of a new volume's type against iops, throughput and
/// multi-attach (what AWS would refuse, said before anything is created). A type not
/// configured is the provider's "" (AWS's default, gp2); one not known yet (from another
/// resource) is left to AWS.
fn check_new_volume(config: &Value) -> ProviderResult<()> {
    match config.get("type") {
        Some(v) if v.is_unknown() => Ok(()),
        Some(v) => check_type(v.as_str().unwrap_or_default(), config),
        None => check_type("", config),
    }
}

fn check_type(volume_type: &str, planned: &Value) -> ProviderResult<()> {
    let number = |name: &str| {
        planned
            .get(name)
            .and_then(Value::as_f64)
            .unwrap_or_default()
    };
    let refuse = |what: String| {
        Err(ProviderError::new(format!("{TYPE_NAME}: {what}"))
            .hint("see which settings each EBS volume type takes in the AWS documentation"))
    };
    let io = matches!(volume_type, "io1" | "io2");
    let shown = if volume_type.is_empty() {
        "unset (gp2)"
    } else {
        volume_type
    };
    if io && number("iops") == 0.0 {
        return refuse(format!("`iops` must be set when `type` is {volume_type}"));
    }
    if !io && volume_type != "gp3" && number("iops") != 0.0 {
        return refuse(format!("`iops` must not be set when `type` is {shown}"));
    }
    if planned.get("multi_attach_enabled").and_then(Value::as_bool) == Some(true) && !io {
        return refuse(format!(
            "`multi_attach_enabled` must not be set when `type` is {shown}"
        ));
    }
    if number("throughput") > 0.0 && volume_type != "gp3" {
        return refuse(format!(
            "`throughput` must not be set when `type` is {shown}"
        ));
    }
    Ok(())
}

/// On update, `iops = 0` for a type that takes no IOPS setting changes nothing: the
/// prior value is kept, as the provider's plan does.
fn keep_iops_a_type_ignores(prior: &Value, config: &Value, planned: &mut Value) {
    let volume_type = planned.str_attr("type").unwrap_or_default();
    let configured_zero = config.get("iops").and_then(Value::as_f64) == Some(0.0);
    if configured_zero
        && !matches!(volume_type, "io1" | "io2" | "gp3")
        && let Some(before) = prior.get("iops")
    {
        set_attr(planned, "iops", before.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (*k, v.clone())))
    }

    #[test]
    fn size_or_snapshot_is_required() {
        let e = check_arguments(&config(&[("availability_zone", Value::string("a"))]))
            .expect_err("refused");
        assert!(e.message.contains("size"), "{e:?}");
        assert!(check_arguments(&config(&[("size", Value::Number(1.0))])).is_ok());
        assert!(check_arguments(&config(&[("snapshot_id", Value::string("snap-1"))])).is_ok());
    }

    #[test]
    fn kms_key_and_throughput_are_checked() {
        let e = check_arguments(&config(&[
            ("size", Value::Number(1.0)),
            ("kms_key_id", Value::string("alias/x")),
        ]))
        .expect_err("refused");
        assert!(e.message.contains("kms_key_id"), "{e:?}");
        let e = check_arguments(&config(&[
            ("size", Value::Number(1.0)),
            ("throughput", Value::Number(100.0)),
        ]))
        .expect_err("refused");
        assert!(e.message.contains("throughput"), "{e:?}");
    }

    #[test]
    fn iops_throughput_and_multi_attach_follow_the_type() {
        let v = |pairs: &[(&str, Value)]| check_new_volume(&config(pairs));
        assert!(v(&[("type", Value::string("io1"))]).is_err());
        assert!(
            v(&[
                ("type", Value::string("io2")),
                ("iops", Value::Number(100.0))
            ])
            .is_ok()
        );
        assert!(v(&[("iops", Value::Number(100.0))]).is_err());
        assert!(
            v(&[
                ("type", Value::string("gp3")),
                ("iops", Value::Number(3000.0)),
                ("throughput", Value::Number(125.0))
            ])
            .is_ok()
        );
        assert!(
            v(&[
                ("type", Value::string("gp2")),
                ("throughput", Value::Number(125.0))
            ])
            .is_err()
        );
        assert!(
            v(&[
                ("type", Value::string("gp3")),
                ("multi_attach_enabled", Value::Bool(true))
            ])
            .is_err()
        );
        // An unknown type (from another resource) is checked at apply by AWS.
        assert!(v(&[("type", Value::Unknown), ("iops", Value::Number(1.0))]).is_ok());
    }

    #[test]
    fn iops_zero_on_a_type_without_iops_keeps_the_prior_value() {
        let prior = config(&[
            ("type", Value::string("gp2")),
            ("iops", Value::Number(100.0)),
        ]);
        let cfg = config(&[("type", Value::string("gp2")), ("iops", Value::Number(0.0))]);
        let mut planned = cfg.clone();
        keep_iops_a_type_ignores(&prior, &cfg, &mut planned);
        assert_eq!(planned.get("iops"), Some(&Value::Number(100.0)));
        let gp3 = config(&[("type", Value::string("gp3")), ("iops", Value::Number(0.0))]);
        let mut planned = gp3.clone();
        keep_iops_a_type_ignores(&prior, &gp3, &mut planned);
        assert_eq!(planned.get("iops"), Some(&Value::Number(0.0)));
    }

    #[test]
    fn create_time_is_to_the_second() {
        let t = DateTime::from_fractional_secs(1_796_668_443, 0.5);
        assert_eq!(rfc3339(Some(&t)), "2026-12-07T18:34:03Z");
        assert_eq!(rfc3339(None), "");
    }
}
