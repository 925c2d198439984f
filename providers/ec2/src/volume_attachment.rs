//! `aws_volume_attachment`: an EBS volume attached to an instance at a device name.
//!
//! The attachment has no id of its own in EC2; the provider makes one up from the device
//! name, instance and volume (`vai-<CRC-32 of "device-instance-volume-">`), and forge
//! computes the same, so either tool reads the other's state. Every argument that names
//! the attachment replaces it; `force_detach`, `skip_destroy` and
//! `stop_instance_before_detaching` only steer the delete and change in place without a
//! call. Imported by `DEVICE_NAME:VOLUME_ID:INSTANCE_ID`, the provider's import id.
//!
//! AttachVolume takes no idempotency token, but an attachment is fully named by its three
//! arguments: a create finds an attachment already there (a run killed after the call)
//! and waits for it instead of attaching again, as the provider's create does.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{InstanceStateName, Volume, VolumeAttachment, VolumeAttachmentState};
use forge_aws_common::{AwsContext, Backoff, retry, sdk_error};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, Found, FoundBy, PlannedState, ProviderError,
    ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{client, is_not_found, replace_paths, required_str};

const TYPE: &str = "aws_volume_attachment";

/// The code the waits below retry on: the object is not in the state waited for yet.
const NOT_SETTLED: &str = "forge.NotSettled";

/// The arguments that only steer the delete: recorded as configured, never read from EC2.
const DELETE_SETTINGS: [&str; 3] = [
    "force_detach",
    "skip_destroy",
    "stop_instance_before_detaching",
];

pub struct VolumeAttachmentResource {
    client: aws_sdk_ec2::Client,
    schema: Schema,
}

/// How long forge waits for an attachment, a detachment or an instance to settle (about
/// four minutes; the provider's timeouts are five).
fn settle_backoff() -> Backoff {
    Backoff {
        attempts: 20,
        first_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(15),
    }
}

fn not_settled(e: &ProviderError) -> bool {
    e.code.as_deref() == Some(NOT_SETTLED)
}

/// The three names of one attachment.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Names {
    device: String,
    volume: String,
    instance: String,
}

impl Names {
    fn of(v: &Value) -> ProviderResult<Names> {
        let text = |name: &str| -> ProviderResult<String> {
            let s = required_str(v, name, TYPE)?;
            if s.is_empty() {
                return Err(ProviderError::new(format!("{TYPE}: `{name}` is empty"))
                    .hint("device_name, volume_id and instance_id name the attachment"));
            }
            Ok(s.to_string())
        };
        Ok(Names {
            device: text("device_name")?,
            volume: text("volume_id")?,
            instance: text("instance_id")?,
        })
    }

    /// The provider's id for the attachment.
    fn id(&self) -> String {
        attachment_id(&self.device, &self.volume, &self.instance)
    }

    fn describe(&self) -> String {
        format!(
            "EBS volume {} at {} on instance {}",
            self.volume, self.device, self.instance
        )
    }
}

/// The provider's attachment id: `vai-` and the CRC-32 (IEEE) of
/// `"<device>-<instance>-<volume>-"`, in decimal (Go's `int` of the checksum, never
/// negative on 64-bit platforms).
pub fn attachment_id(device: &str, volume: &str, instance: &str) -> String {
    format!(
        "vai-{}",
        crc32_ieee(format!("{device}-{instance}-{volume}-").as_bytes())
    )
}

/// CRC-32 with the IEEE polynomial (reflected 0xEDB88320), as Go's `crc32.ChecksumIEEE`.
pub(crate) fn crc32_ieee(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            let low_bit_mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & low_bit_mask);
        }
    }
    !crc
}

/// The state the provider records: the three names, the id made from them, the delete
/// settings as `settings` holds them (the configuration or the prior state), no timeouts.
fn state_of(names: &Names, settings: &Value) -> Value {
    let mut fields = vec![
        ("id", Value::string(names.id())),
        ("device_name", Value::string(&names.device)),
        ("volume_id", Value::string(&names.volume)),
        ("instance_id", Value::string(&names.instance)),
        ("timeouts", Value::Null),
    ];
    for name in DELETE_SETTINGS {
        let v = settings.get(name).cloned().unwrap_or(Value::Null);
        fields.push((name, v.unmarked().clone()));
    }
    Value::object(fields)
}

fn is_true(v: &Value, name: &str) -> bool {
    v.get(name).and_then(Value::as_bool) == Some(true)
}

impl VolumeAttachmentResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("device_name", Attribute::required(string()).force_new())
            .attr("volume_id", Attribute::required(string()).force_new())
            .attr("instance_id", Attribute::required(string()).force_new())
            .attr("force_detach", Attribute::optional(AttrType::Bool))
            .attr("skip_destroy", Attribute::optional(AttrType::Bool))
            .attr(
                "stop_instance_before_detaching",
                Attribute::optional(AttrType::Bool),
            )
            .attr("id", Attribute::computed(string()))
            .attr("timeouts", forge_aws_common::values::timeouts_attribute());
        VolumeAttachmentResource {
            client: client(&ctx),
            schema,
        }
    }

    /// The volume, unless EC2 does not know it (or it is deleted).
    async fn volume(&self, id: &str) -> ProviderResult<Option<Volume>> {
        match self
            .client
            .describe_volumes()
            .volume_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out
                .volumes()
                .iter()
                .find(|v| v.volume_id() == Some(id))
                .cloned()),
            Err(e) if is_not_found(&e) || e.code.as_deref() == Some("InvalidParameterValue") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The attachment the names give, unless it is gone (detached, or the volume is
    /// available or deleted), as the provider's lookup.
    async fn attachment(&self, names: &Names) -> ProviderResult<Option<VolumeAttachment>> {
        let Some(volume) = self.volume(&names.volume).await? else {
            return Ok(None);
        };
        if matches!(
            volume.state(),
            Some(aws_sdk_ec2::types::VolumeState::Available)
                | Some(aws_sdk_ec2::types::VolumeState::Deleted)
        ) {
            return Ok(None);
        }
        Ok(volume
            .attachments()
            .iter()
            .find(|a| {
                a.state() != Some(&VolumeAttachmentState::Detached)
                    && a.device() == Some(names.device.as_str())
                    && a.instance_id() == Some(names.instance.as_str())
            })
            .cloned())
    }

    /// The instance's state name, `None` when EC2 does not know the instance.
    async fn instance_state(&self, id: &str) -> ProviderResult<Option<InstanceStateName>> {
        match self
            .client
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(sdk_error)
        {
            Ok(out) => Ok(out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .find(|i| i.instance_id() == Some(id))
                .and_then(|i| i.state())
                .and_then(|s| s.name())
                .cloned()),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Waits until the instance is running or stopped (a volume attaches to either), as
    /// the provider does before AttachVolume.
    async fn wait_instance_ready(&self, id: &str) -> ProviderResult<()> {
        retry(settle_backoff(), not_settled, || async {
            match self.instance_state(id).await? {
                Some(InstanceStateName::Running | InstanceStateName::Stopped) => Ok(()),
                Some(s @ (InstanceStateName::Pending | InstanceStateName::Stopping)) => {
                    Err(ProviderError::with_code(
                        NOT_SETTLED,
                        format!("instance {id} is still {}", s.as_str()),
                    ))
                }
                Some(other) => Err(ProviderError::new(format!(
                    "{TYPE}: instance {id} is {}: a volume cannot be attached to it",
                    other.as_str()
                ))
                .hint("instance_id must name a running or stopped instance")),
                None => Err(ProviderError::with_code(
                    "InvalidInstanceID.NotFound",
                    format!("{TYPE}: instance {id} does not exist"),
                )
                .hint("instance_id names no instance in this region")),
            }
        })
        .await
    }

    /// Waits until the attachment reads `attached`.
    async fn wait_attached(&self, names: &Names) -> ProviderResult<()> {
        retry(settle_backoff(), not_settled, || async {
            match self.attachment(names).await? {
                Some(a) if a.state() == Some(&VolumeAttachmentState::Attached) => Ok(()),
                Some(a) if a.state() == Some(&VolumeAttachmentState::Busy) => Ok(()),
                other => Err(ProviderError::with_code(
                    NOT_SETTLED,
                    format!(
                        "{} is {}",
                        names.describe(),
                        other
                            .as_ref()
                            .and_then(|a| a.state())
                            .map_or("not visible yet", |s| s.as_str())
                    ),
                )),
            }
        })
        .await
    }

    /// Waits until the attachment is gone (detached, or the volume available).
    async fn wait_detached(&self, names: &Names) -> ProviderResult<()> {
        retry(settle_backoff(), not_settled, || async {
            match self.attachment(names).await? {
                None => Ok(()),
                Some(a) => Err(ProviderError::with_code(
                    NOT_SETTLED,
                    format!(
                        "{} is still {}",
                        names.describe(),
                        a.state().map_or("attached", |s| s.as_str())
                    ),
                )),
            }
        })
        .await
    }

    /// StopInstances, then waits until the instance is stopped
    /// (`stop_instance_before_detaching`).
    async fn stop_instance(&self, id: &str) -> ProviderResult<()> {
        match self
            .client
            .stop_instances()
            .instance_ids(id)
            .force(false)
            .send()
            .await
            .map_err(sdk_error)
        {
            Err(e) if is_not_found(&e) => return Ok(()),
            other => other?,
        };
        retry(settle_backoff(), not_settled, || async {
            match self.instance_state(id).await? {
                None | Some(InstanceStateName::Stopped | InstanceStateName::Terminated) => Ok(()),
                Some(s) => Err(ProviderError::with_code(
                    NOT_SETTLED,
                    format!("instance {id} is still {} while it is stopped", s.as_str()),
                )),
            }
        })
        .await
    }

    async fn attach(&self, names: &Names) -> ProviderResult<()> {
        self.wait_instance_ready(&names.instance).await?;
        self.client
            .attach_volume()
            .device(&names.device)
            .instance_id(&names.instance)
            .volume_id(&names.volume)
            .send()
            .await
            .map_err(|e| attach_hint(sdk_error(e)))?;
        Ok(())
    }
}

/// What the user can do about AttachVolume's refusals.
fn attach_hint(e: ProviderError) -> ProviderError {
    match e.code.as_deref() {
        Some("InvalidVolume.ZoneMismatch") => {
            e.hint("the volume and the instance must be in the same availability zone")
        }
        Some("VolumeInUse") => e.hint(
            "the volume is attached elsewhere: detach it first (or set multi_attach_enabled on an io1/io2 volume)",
        ),
        Some("InvalidParameterValue") => {
            e.hint("device_name must be a device the instance accepts, such as /dev/sdh or xvdh")
        }
        Some("InvalidVolume.NotFound") => e.hint("volume_id names no EBS volume in this region"),
        Some("InvalidInstanceID.NotFound" | "InvalidInstanceID.Malformed") => {
            e.hint("instance_id names no instance in this region")
        }
        _ => e,
    }
}

#[async_trait]
impl ResourceType for VolumeAttachmentResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        forge_aws_common::values::check_no_timeouts(TYPE, config)?;
        for name in ["device_name", "volume_id", "instance_id"] {
            if config.get(name).and_then(Value::as_str) == Some("") {
                return Err(ProviderError::new(format!("{TYPE}: `{name}` is empty"))
                    .hint("device_name, volume_id and instance_id name the attachment"));
            }
        }
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        // The delete settings left out after being set: the provider's state keeps them
        // `false`, and its plan (the SDK's "false is unset") changes nothing.
        forge_aws_common::values::keep_empty_values(&self.schema, prior, config, &mut planned);
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let names = Names::of(&planned)?;
        // Already attached (a create whose answer was lost): wait for it, as the provider.
        if self.attachment(&names).await?.is_none() {
            self.attach(&names).await?;
        }
        self.wait_attached(&names).await?;
        Ok(state_of(&names, &planned))
    }

    /// The attachment of the configured volume to the configured instance at the
    /// configured device: the three names are the whole attachment.
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let names = Names::of(&planned)?;
        if self.attachment(&names).await?.is_none() {
            return Ok(Finding::Absent);
        }
        self.wait_attached(&names).await?;
        Ok(Finding::Found(Found {
            id: format!("{}:{}:{}", names.device, names.volume, names.instance),
            object: state_of(&names, &planned),
            created: None,
            by: FoundBy::Name,
        }))
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Ok(names) = Names::of(state) else {
            return Ok(None);
        };
        Ok(self
            .attachment(&names)
            .await?
            .map(|_| state_of(&names, state)))
    }

    /// Only the delete settings change in place: nothing to send, as in the provider.
    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let names = Names::of(prior)?;
        Ok(state_of(&names, &planned.deep_unmarked()))
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        // skip_destroy: the attachment only leaves state.
        if is_true(state, "skip_destroy") {
            return Ok(());
        }
        let Ok(names) = Names::of(state) else {
            return Ok(());
        };
        if self.attachment(&names).await?.is_none() {
            return Ok(());
        }
        if is_true(state, "stop_instance_before_detaching") {
            self.stop_instance(&names.instance).await?;
        }
        let detached = self
            .client
            .detach_volume()
            .device(&names.device)
            .instance_id(&names.instance)
            .volume_id(&names.volume)
            .force(is_true(state, "force_detach"))
            .send()
            .await
            .map_err(sdk_error);
        match detached {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            // The volume is available: detached already.
            Err(e)
                if e.code.as_deref() == Some("IncorrectState")
                    && e.message.contains("available") =>
            {
                return Ok(());
            }
            Err(e) => {
                return Err(e.hint(
                    "a volume in use by the instance's operating system may not detach: unmount it, or set force_detach or stop_instance_before_detaching",
                ));
            }
        }
        self.wait_detached(&names).await
    }

    /// Imported by `DEVICE_NAME:VOLUME_ID:INSTANCE_ID`, as in the provider; the delete
    /// settings are unknown to EC2 and import as null, as the provider's importer leaves them.
    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let parts: Vec<&str> = id.split(':').collect();
        let [device, volume, instance] = parts.as_slice() else {
            return Err(import_id_error(id));
        };
        if device.is_empty() || volume.is_empty() || instance.is_empty() {
            return Err(import_id_error(id));
        }
        let names = Names {
            device: (*device).to_string(),
            volume: (*volume).to_string(),
            instance: (*instance).to_string(),
        };
        Ok(self
            .attachment(&names)
            .await?
            .map(|_| state_of(&names, &Value::Null)))
    }
}

fn import_id_error(id: &str) -> ProviderError {
    ProviderError::new(format!(
        "{TYPE}: import id {id:?} is not DEVICE_NAME:VOLUME_ID:INSTANCE_ID"
    ))
    .hint("for example /dev/sdh:vol-0123456789abcdef0:i-0123456789abcdef0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_ieee_checksum() {
        // The standard check value of CRC-32/ISO-HDLC, Go's crc32.ChecksumIEEE.
        assert_eq!(crc32_ieee(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32_ieee(b""), 0);
        assert_eq!(
            crc32_ieee(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn the_id_hashes_device_instance_and_volume_in_that_order() {
        let id = attachment_id("/dev/sdh", "vol-1", "i-1");
        assert_eq!(
            id,
            format!("vai-{}", crc32_ieee(b"/dev/sdh-i-1-vol-1-")),
            "device, then instance, then volume, each followed by a dash"
        );
        assert_ne!(id, attachment_id("/dev/sdh", "i-1", "vol-1"));
        assert!(id[4..].chars().all(|c| c.is_ascii_digit()), "{id}");
        // What hashicorp/aws 5.100.0 recorded for this attachment on LocalStack.
        assert_eq!(
            attachment_id("/dev/sdh", "vol-68393fb119dc18c64", "i-e8ba48243a6085cd7"),
            "vai-3552456701"
        );
    }

    #[test]
    fn state_keeps_the_delete_settings_as_given() {
        let names = Names {
            device: "/dev/sdh".into(),
            volume: "vol-1".into(),
            instance: "i-1".into(),
        };
        let settings = Value::object([("force_detach", Value::Bool(true))]);
        let state = state_of(&names, &settings);
        assert_eq!(state.get("force_detach"), Some(&Value::Bool(true)));
        assert_eq!(state.get("skip_destroy"), Some(&Value::Null));
        assert_eq!(state.str_attr("id"), Some(names.id().as_str()));
        assert_eq!(Names::of(&state).unwrap(), names);
    }

    #[test]
    fn empty_names_are_refused() {
        let v = Value::object([
            ("device_name", Value::string("")),
            ("volume_id", Value::string("vol-1")),
            ("instance_id", Value::string("i-1")),
        ]);
        let e = Names::of(&v).unwrap_err();
        assert!(e.message.contains("device_name"), "{e:?}");
    }
}
