//! `aws_iam_user`: an IAM user, renamed and moved in place, deleted with what the
//! provider deletes for it (its group memberships always; with `force_destroy` also its
//! access keys, SSH keys, MFA devices, login profile, signing certificates and service
//! credentials).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::types::{AssignmentStatusType, User};
use forge_aws_common::adoption::{configured_name, creation_time, found_by_name};
use forge_aws_common::{AwsContext, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, PlannedState, ProviderError, ProviderResult,
    ResourceType, Schema, Value,
};

use crate::common::{
    all_pages, check_name, client, config_tags, create_tags, found, keep_empty_values, next_marker,
    path_or_default, plan_tags_all, read_after_create, replace_paths, required_str, set_attr,
    tag_changes, tags_from_aws, tags_state, to_aws_tags, with_hint,
};

const TYPE: &str = "aws_iam_user";

pub struct UserResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_iam::Client,
    schema: Schema,
}

impl UserResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        // Unlike a role, a user's name and path change in place (UpdateUser).
        let schema = Schema::new()
            .attr("name", Attribute::required(string()))
            .attr(
                "path",
                Attribute::optional(string()).default(Value::string("/")),
            )
            .attr("permissions_boundary", Attribute::optional(string()))
            .attr(
                "force_destroy",
                Attribute::optional(AttrType::Bool).default(Value::Bool(false)),
            )
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
            .attr("unique_id", Attribute::computed(string()));
        let client = client(&ctx);
        UserResource {
            ctx,
            client,
            schema,
        }
    }

    pub(crate) async fn get_user(&self, name: &str) -> ProviderResult<Option<User>> {
        let out = self.client.get_user().user_name(name).send().await;
        Ok(found(out.map_err(sdk_error))?.and_then(|o| o.user().cloned()))
    }

    pub(crate) async fn live_tags(&self, name: &str) -> ProviderResult<BTreeMap<String, String>> {
        let tags = all_pages(|marker| async move {
            let out = self
                .client
                .list_user_tags()
                .user_name(name)
                .set_marker(marker)
                .send()
                .await
                .map_err(sdk_error)?;
            let next = next_marker(out.is_truncated(), out.marker());
            Ok((out.tags().to_vec(), next))
        })
        .await?;
        Ok(tags_from_aws(&tags))
    }

    async fn read_by_name(&self, name: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(user) = self.get_user(name).await? else {
            return Ok(None);
        };
        self.object_of(name, &user, state).await
    }

    /// The state object of a user already fetched (its tags are one more request);
    /// `state` supplies `force_destroy`, which only configuration knows.
    async fn object_of(
        &self,
        name: &str,
        user: &User,
        state: &Value,
    ) -> ProviderResult<Option<Value>> {
        let Some(live_tags) = found(self.live_tags(name).await)? else {
            return Ok(None);
        };
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &live_tags,
        );
        let force_destroy = state
            .get("force_destroy")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Some(Value::object([
            ("id", Value::string(user.user_name())),
            ("name", Value::string(user.user_name())),
            ("path", Value::string(user.path())),
            // The provider records no boundary as "".
            (
                "permissions_boundary",
                Value::string(
                    user.permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn())
                        .unwrap_or(""),
                ),
            ),
            ("force_destroy", Value::Bool(force_destroy)),
            ("tags", tags),
            ("tags_all", tags_all),
            ("arn", Value::string(user.arn())),
            ("unique_id", Value::string(user.user_id())),
        ])))
    }

    /// Sets the planned tags, from `old`, the tags the user has.
    async fn update_tags(
        &self,
        name: &str,
        old: BTreeMap<String, String>,
        planned: &Value,
    ) -> ProviderResult<()> {
        let new = self.ctx.tags_all(&config_tags(planned));
        let (removed, changed) = tag_changes(&old, &new);
        if !removed.is_empty() {
            let out = self
                .client
                .untag_user()
                .user_name(name)
                .set_tag_keys(Some(removed));
            out.send().await.map_err(sdk_error)?;
        }
        if !changed.is_empty() {
            let out = self
                .client
                .tag_user()
                .user_name(name)
                .set_tags(Some(to_aws_tags(&changed)?));
            out.send().await.map_err(sdk_error)?;
        }
        Ok(())
    }

    /// Takes the user out of every group: IAM refuses to delete a user still in one, and
    /// the provider does this whatever `force_destroy` says.
    async fn leave_groups(&self, name: &str) -> ProviderResult<()> {
        let groups = all_pages(|marker| async move {
            let out = self
                .client
                .list_groups_for_user()
                .user_name(name)
                .set_marker(marker)
                .send()
                .await
                .map_err(sdk_error)?;
            let next = next_marker(out.is_truncated(), out.marker());
            let names = out.groups().iter().map(|g| g.group_name().to_string());
            Ok((names.collect::<Vec<_>>(), next))
        })
        .await?;
        for group in groups {
            let out = self
                .client
                .remove_user_from_group()
                .group_name(&group)
                .user_name(name)
                .send()
                .await;
            found(out.map_err(sdk_error))?;
        }
        Ok(())
    }

    /// What `force_destroy` removes before the delete, as the provider does: access keys,
    /// SSH public keys, virtual and other MFA devices, the login profile, signing
    /// certificates and service-specific credentials. Each step tolerates what is gone.
    async fn remove_credentials(&self, name: &str) -> ProviderResult<()> {
        let c = &self.client;
        let keys = all_pages(|marker| async move {
            let out = c.list_access_keys().user_name(name).set_marker(marker);
            let out = out.send().await.map_err(sdk_error)?;
            let next = next_marker(out.is_truncated(), out.marker());
            let ids = out
                .access_key_metadata()
                .iter()
                .filter_map(|k| k.access_key_id().map(str::to_string));
            Ok((ids.collect::<Vec<_>>(), next))
        })
        .await?;
        for key in keys {
            let out = c.delete_access_key().user_name(name).access_key_id(&key);
            found(out.send().await.map_err(sdk_error))?;
        }
        let ssh_keys = all_pages(|marker| async move {
            let out = c.list_ssh_public_keys().user_name(name).set_marker(marker);
            let out = out.send().await.map_err(sdk_error)?;
            let next = next_marker(out.is_truncated(), out.marker());
            let ids = out
                .ssh_public_keys()
                .iter()
                .map(|k| k.ssh_public_key_id().to_string());
            Ok((ids.collect::<Vec<_>>(), next))
        })
        .await?;
        for key in ssh_keys {
            let out = c
                .delete_ssh_public_key()
                .user_name(name)
                .ssh_public_key_id(&key);
            found(out.send().await.map_err(sdk_error))?;
        }
        // Virtual MFA devices are listed account-wide; the user's are deactivated and
        // deleted, hardware ones (listed per user) deactivated.
        let virtual_devices = all_pages(|marker| async move {
            let out = c
                .list_virtual_mfa_devices()
                .assignment_status(AssignmentStatusType::Assigned)
                .set_marker(marker);
            let out = out.send().await.map_err(sdk_error)?;
            let next = next_marker(out.is_truncated(), out.marker());
            let serials = out
                .virtual_mfa_devices()
                .iter()
                .filter(|d| d.user().is_some_and(|u| u.user_name() == name))
                .map(|d| d.serial_number().to_string());
            Ok((serials.collect::<Vec<_>>(), next))
        })
        .await?;
        for serial in &virtual_devices {
            let out = c
                .deactivate_mfa_device()
                .user_name(name)
                .serial_number(serial);
            found(out.send().await.map_err(sdk_error))?;
            let out = c.delete_virtual_mfa_device().serial_number(serial);
            found(out.send().await.map_err(sdk_error))?;
        }
        let devices = all_pages(|marker| async move {
            let out = c.list_mfa_devices().user_name(name).set_marker(marker);
            let out = out.send().await.map_err(sdk_error)?;
            let next = next_marker(out.is_truncated(), out.marker());
            let serials = out
                .mfa_devices()
                .iter()
                .map(|d| d.serial_number().to_string());
            Ok((serials.collect::<Vec<_>>(), next))
        })
        .await?;
        for serial in devices.iter().filter(|s| !virtual_devices.contains(s)) {
            let out = c
                .deactivate_mfa_device()
                .user_name(name)
                .serial_number(serial);
            found(out.send().await.map_err(sdk_error))?;
        }
        let out = c.delete_login_profile().user_name(name).send().await;
        found(out.map_err(sdk_error))?;
        let certificates = all_pages(|marker| async move {
            let out = c
                .list_signing_certificates()
                .user_name(name)
                .set_marker(marker);
            let out = out.send().await.map_err(sdk_error)?;
            let next = next_marker(out.is_truncated(), out.marker());
            let ids = out
                .certificates()
                .iter()
                .map(|k| k.certificate_id().to_string());
            Ok((ids.collect::<Vec<_>>(), next))
        })
        .await?;
        for id in certificates {
            let out = c
                .delete_signing_certificate()
                .user_name(name)
                .certificate_id(&id);
            found(out.send().await.map_err(sdk_error))?;
        }
        // LocalStack answers this listing NoSuchEntity for a user it knows: nothing to
        // remove (a user really gone is DeleteUser's not-found, which succeeds).
        let out = c
            .list_service_specific_credentials()
            .user_name(name)
            .send()
            .await;
        let Some(out) = found(out.map_err(sdk_error))? else {
            return Ok(());
        };
        for credential in out.service_specific_credentials() {
            let out = c
                .delete_service_specific_credential()
                .user_name(name)
                .service_specific_credential_id(credential.service_specific_credential_id());
            found(out.send().await.map_err(sdk_error))?;
        }
        Ok(())
    }
}

/// A user IAM will not delete: with `force_destroy` off, what the user still holds is
/// the likely cause, and the hint says how to have it removed.
fn delete_hint(err: ProviderError, name: &str, force_destroy: bool) -> ProviderError {
    let conflict = matches!(
        err.code.as_deref(),
        Some("DeleteConflict" | "DeleteConflictException")
    );
    match (conflict, force_destroy) {
        (true, false) => err.hint(format!(
            "IAM user {name} still has access keys, a login profile, MFA devices, SSH keys, \
             certificates or attached policies: set force_destroy = true to have forge delete \
             the credentials, and detach its policies"
        )),
        (true, true) => err.hint(format!(
            "IAM user {name} still has policies attached or inline: detach or delete them first"
        )),
        _ => with_hint(err, "user", name),
    }
}

#[async_trait]
impl ResourceType for UserResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_name(TYPE, config, 64)?;
        if let Some(boundary) = config.str_attr("permissions_boundary")
            && boundary.len() > 2048
        {
            return Err(ProviderError::new(format!(
                "{TYPE}: permissions_boundary is {} characters long; IAM allows at most 2048",
                boundary.len()
            ))
            .hint("use the ARN of a managed policy"));
        }
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        keep_empty_values(&self.schema, prior, config, &mut planned);
        if let Some(name) = config.str_attr("name") {
            set_attr(&mut planned, "id", Value::string(name));
        }
        // A rename or a move changes the ARN: dependents must not plan with the old one.
        if let Some(prior) = prior {
            let moved = ["name", "path"].iter().any(|a| {
                !prior
                    .get(a)
                    .unwrap_or(&Value::Null)
                    .same_as(planned.get(a).unwrap_or(&Value::Null))
            });
            if moved {
                set_attr(&mut planned, "arn", Value::Unknown);
            }
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
        let name = required_str(&planned, "name", TYPE)?;
        let tags = create_tags(&self.ctx.tags_all(&config_tags(&planned)))?;
        self.client
            .create_user()
            .user_name(name)
            .path(path_or_default(&planned))
            .set_permissions_boundary(
                planned
                    .str_attr("permissions_boundary")
                    .filter(|b| !b.is_empty())
                    .map(str::to_string),
            )
            .set_tags(tags)
            .send()
            .await
            .map_err(|e| with_hint(sdk_error(e), "user", name))?;
        let planned = &planned;
        read_after_create(&format!("IAM user {name}"), || {
            self.read_by_name(name, planned)
        })
        .await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(name) = state.str_attr("id").or_else(|| state.str_attr("name")) else {
            return Ok(None);
        };
        self.read_by_name(name, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let old_name = required_str(prior, "id", TYPE)?.to_string();
        let new_name = required_str(&planned, "name", TYPE)?.to_string();
        let path = path_or_default(&planned);
        let renamed = old_name != new_name;
        let moved = renamed || prior.str_attr("path") != Some(path.as_str());
        if moved {
            let out = self
                .client
                .update_user()
                .user_name(&old_name)
                .new_user_name(&new_name)
                .new_path(&path)
                .send()
                .await;
            // A retry after a lost answer finds the old name gone and the new one there.
            if let Err(e) = out.map_err(sdk_error) {
                let done = old_name != new_name
                    && crate::common::is_not_found(&e)
                    && self
                        .get_user(&new_name)
                        .await?
                        .is_some_and(|u| u.path() == path);
                if !done {
                    return Err(with_hint(e, "user", &new_name));
                }
            }
        }
        let name = new_name;
        let boundary = |v: &Value| {
            v.str_attr("permissions_boundary")
                .filter(|b| !b.is_empty())
                .map(str::to_string)
        };
        if boundary(prior) != boundary(&planned) {
            match boundary(&planned) {
                Some(arn) => {
                    let out = self
                        .client
                        .put_user_permissions_boundary()
                        .user_name(&name)
                        .permissions_boundary(arn);
                    out.send().await.map_err(sdk_error)?;
                }
                None => {
                    let out = self
                        .client
                        .delete_user_permissions_boundary()
                        .user_name(&name)
                        .send()
                        .await;
                    found(out.map_err(sdk_error))?;
                }
            }
        }
        // After a rename or a move the tags are read again: LocalStack's UpdateUser drops
        // them (AWS keeps them), and comparing with the prior state would leave the user
        // untagged.
        let tags_now = if moved {
            self.live_tags(&name).await?
        } else {
            string_map(prior.get("tags_all").unwrap_or(&Value::Null))
        };
        self.update_tags(&name, tags_now, &planned).await?;
        self.read_by_name(&name, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!("IAM user {name} disappeared during the update"))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(name) = state.str_attr("id").or_else(|| state.str_attr("name")) else {
            return Ok(());
        };
        // Not found on the way (the user gone meanwhile) leaves the rest to DeleteUser,
        // whose not-found is success.
        found(self.leave_groups(name).await)?;
        let force_destroy = state
            .get("force_destroy")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if force_destroy {
            found(self.remove_credentials(name).await)?;
        }
        let out = self.client.delete_user().user_name(name).send().await;
        found(out.map_err(|e| delete_hint(sdk_error(e), name, force_destroy)))?;
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
        let Some(user) = self.get_user(&name).await? else {
            return Ok(Finding::Absent);
        };
        let object = self.object_of(&name, &user, &planned).await?;
        Ok(found_by_name(
            name,
            object,
            creation_time(Some(user.create_date())),
        ))
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        // force_destroy is configuration only: the provider's importer records its default.
        let state = Value::object([
            ("id", Value::string(id)),
            ("force_destroy", Value::Bool(false)),
        ]);
        self.read_by_name(id, &state).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delete_conflict_hints_at_force_destroy_only_when_it_is_off() {
        let conflict = || ProviderError::with_code("DeleteConflict", "must delete login profile");
        let off = delete_hint(conflict(), "dev", false);
        assert!(
            off.hint
                .as_deref()
                .is_some_and(|h| h.contains("force_destroy = true")),
            "{off}"
        );
        let on = delete_hint(conflict(), "dev", true);
        assert!(
            on.hint.as_deref().is_some_and(|h| h.contains("detach")),
            "{on}"
        );
        let other = delete_hint(ProviderError::with_code("AccessDenied", "no"), "dev", false);
        assert_eq!(other.hint, None);
    }
}
