//! `aws_iam_openid_connect_provider`: an OIDC identity provider IAM trusts (GitHub
//! Actions, an EKS cluster). Its ARN is its id; IAM answers its URL without the
//! `https://` the configuration must carry, and the state records IAM's form, as the
//! provider does, while a plan compares the two as the same URL.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::operation::get_open_id_connect_provider::GetOpenIdConnectProviderOutput;
use forge_aws_common::adoption::creation_time;
use forge_aws_common::{AwsContext, sdk_error, string_map};
use forge_provider::{
    AttrType, Attribute, CreateIntent, Finding, Found, FoundBy, PlannedState, ProviderError,
    ProviderResult, ResourceType, Schema, Value,
};

use crate::common::{
    all_pages, client, config_tags, create_tags, found, next_marker, plan_tags_all,
    read_after_create, replace_paths, required_str, set_attr, tag_changes, tags_from_aws,
    tags_state, to_aws_tags, with_hint,
};

const TYPE: &str = "aws_iam_openid_connect_provider";
const SCHEME: &str = "https://";

pub struct OpenIdConnectProviderResource {
    ctx: Arc<AwsContext>,
    client: aws_sdk_iam::Client,
    schema: Schema,
}

impl OpenIdConnectProviderResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let string = || AttrType::String;
        let schema = Schema::new()
            .attr("url", Attribute::required(string()).force_new())
            .attr(
                "client_id_list",
                Attribute::required(AttrType::Set(Box::new(string()))),
            )
            .attr(
                "thumbprint_list",
                Attribute::optional_computed(AttrType::List(Box::new(string()))),
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
            .attr("arn", Attribute::computed(string()));
        let client = client(&ctx);
        OpenIdConnectProviderResource {
            ctx,
            client,
            schema,
        }
    }

    async fn get(&self, arn: &str) -> ProviderResult<Option<GetOpenIdConnectProviderOutput>> {
        let out = self
            .client
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await;
        found(out.map_err(sdk_error))
    }

    async fn live_tags(&self, arn: &str) -> ProviderResult<BTreeMap<String, String>> {
        let tags = all_pages(|marker| async move {
            let out = self
                .client
                .list_open_id_connect_provider_tags()
                .open_id_connect_provider_arn(arn)
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

    async fn read_by_arn(&self, arn: &str, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(out) = self.get(arn).await? else {
            return Ok(None);
        };
        self.object_of(arn, &out, state).await
    }

    async fn object_of(
        &self,
        arn: &str,
        out: &GetOpenIdConnectProviderOutput,
        state: &Value,
    ) -> ProviderResult<Option<Value>> {
        let Some(live_tags) = found(self.live_tags(arn).await)? else {
            return Ok(None);
        };
        let (tags, tags_all) = tags_state(
            &self.ctx,
            state.get("tags").unwrap_or(&Value::Null),
            &live_tags,
        );
        let strings = |xs: &[String]| xs.iter().map(Value::string).collect::<Vec<_>>();
        Ok(Some(Value::object([
            ("id", Value::string(arn)),
            ("arn", Value::string(arn)),
            ("url", Value::string(out.url().unwrap_or(""))),
            ("client_id_list", Value::Set(strings(out.client_id_list()))),
            (
                "thumbprint_list",
                Value::List(strings(out.thumbprint_list())),
            ),
            ("tags", tags),
            ("tags_all", tags_all),
        ])))
    }

    /// The ARN of the provider for `url`, if IAM has one (found by listing them).
    async fn arn_for_url(&self, url: &str) -> ProviderResult<Option<String>> {
        let out = self
            .client
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(sdk_error)?;
        let suffix = format!(":oidc-provider/{}", without_scheme(url));
        Ok(out
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .find(|arn| arn.ends_with(&suffix))
            .map(str::to_string))
    }

    async fn update_tags(&self, arn: &str, prior: &Value, planned: &Value) -> ProviderResult<()> {
        let old = string_map(prior.get("tags_all").unwrap_or(&Value::Null));
        let new = self.ctx.tags_all(&config_tags(planned));
        let (removed, changed) = tag_changes(&old, &new);
        if !removed.is_empty() {
            let out = self
                .client
                .untag_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .set_tag_keys(Some(removed));
            out.send().await.map_err(sdk_error)?;
        }
        if !changed.is_empty() {
            let out = self
                .client
                .tag_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .set_tags(Some(to_aws_tags(&changed)?));
            out.send().await.map_err(sdk_error)?;
        }
        Ok(())
    }
}

/// The URL as IAM records it: without the scheme.
fn without_scheme(url: &str) -> &str {
    url.strip_prefix(SCHEME).unwrap_or(url)
}

/// The provider's rule for the URL: `https://`, a host, no query or fragment.
fn check_url(config: &Value) -> ProviderResult<()> {
    let Some(url) = config.str_attr("url") else {
        return Ok(());
    };
    let rest = url.strip_prefix(SCHEME);
    let bad = match rest {
        None => Some("it must start with https://"),
        Some("") => Some("it has no host"),
        Some(r) if r.contains(['?', '#']) => Some("it may not have a query or fragment"),
        Some(_) => None,
    };
    match bad {
        Some(why) => Err(ProviderError::new(format!(
            "{TYPE}: url {url:?} is not an OpenID Connect issuer URL: {why}"
        ))
        .hint("write the issuer as https://host/path, such as https://token.actions.githubusercontent.com")),
        None => Ok(()),
    }
}

/// IAM's limits on the lists, checked at plan: client ids of 1-255 characters,
/// thumbprints of exactly 40 (SHA-1 in hex).
fn check_lists(config: &Value) -> ProviderResult<()> {
    let items = |name: &str| -> Vec<String> {
        config
            .get(name)
            .and_then(Value::as_seq)
            .unwrap_or(&[])
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    if let Some(id) = items("client_id_list")
        .iter()
        .find(|id| id.is_empty() || id.chars().count() > 255)
    {
        return Err(ProviderError::new(format!(
            "{TYPE}: client id {id:?} must be 1 to 255 characters long"
        ))
        .hint(
            "use the audience the identity provider puts in its tokens, such as sts.amazonaws.com",
        ));
    }
    if let Some(t) = items("thumbprint_list").iter().find(|t| t.len() != 40) {
        return Err(ProviderError::new(format!(
            "{TYPE}: thumbprint {t:?} is {} characters long; a thumbprint is 40 hex digits",
            t.len()
        ))
        .hint("give the SHA-1 fingerprint of the issuer's certificate, in hex, without colons"));
    }
    Ok(())
}

fn string_set(v: &Value, name: &str) -> BTreeSet<String> {
    v.get(name)
        .and_then(Value::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

#[async_trait]
impl ResourceType for OpenIdConnectProviderResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        check_url(config)?;
        check_lists(config)?;
        let mut planned = forge_provider::plan_from_schema(&self.schema, prior, config).planned;
        // The configured https:// URL and IAM's form without the scheme are the same URL:
        // keep the recorded one, as the provider's diff suppression does.
        if let (Some(recorded), Some(configured)) = (
            prior.and_then(|p| p.str_attr("url")),
            config.str_attr("url"),
        ) && without_scheme(recorded) == without_scheme(configured)
        {
            set_attr(&mut planned, "url", Value::string(recorded));
        }
        plan_tags_all(&self.ctx, &mut planned);
        let requires_replace = replace_paths(&self.schema, prior, &planned);
        if !requires_replace.is_empty() {
            set_attr(&mut planned, "arn", Value::Unknown);
            set_attr(&mut planned, "id", Value::Unknown);
        }
        Ok(PlannedState {
            planned,
            requires_replace,
        })
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let url = required_str(&planned, "url", TYPE)?;
        let tags = create_tags(&self.ctx.tags_all(&config_tags(&planned)))?;
        let thumbprints: Vec<String> = planned
            .get("thumbprint_list")
            .and_then(Value::as_seq)
            .unwrap_or(&[])
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        let out = self
            .client
            .create_open_id_connect_provider()
            .url(url)
            .set_client_id_list(Some(
                string_set(&planned, "client_id_list").into_iter().collect(),
            ))
            .set_thumbprint_list((!thumbprints.is_empty()).then_some(thumbprints))
            .set_tags(tags)
            .send()
            .await
            .map_err(|e| with_hint(sdk_error(e), "OpenID Connect provider", url))?;
        let arn = out
            .open_id_connect_provider_arn()
            .ok_or_else(|| ProviderError::new(format!("{TYPE}: IAM returned no ARN for {url}")))?
            .to_string();
        let (arn, planned) = (&arn, &planned);
        read_after_create(&format!("OpenID Connect provider {url}"), || {
            self.read_by_arn(arn, planned)
        })
        .await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some(arn) = state.str_attr("id").or_else(|| state.str_attr("arn")) else {
            return Ok(None);
        };
        self.read_by_arn(arn, state).await
    }

    async fn update(&self, prior: &Value, planned: &Value) -> ProviderResult<Value> {
        let planned = planned.deep_unmarked();
        let arn = required_str(prior, "id", TYPE)?.to_string();
        let list = |v: &Value| -> Vec<String> {
            v.get("thumbprint_list")
                .and_then(Value::as_seq)
                .unwrap_or(&[])
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        };
        let thumbprints = list(&planned);
        // IAM takes no empty list here (at least one thumbprint once created): an
        // emptied list is left as it is, as the provider does.
        if thumbprints != list(prior) && !thumbprints.is_empty() {
            let out = self
                .client
                .update_open_id_connect_provider_thumbprint()
                .open_id_connect_provider_arn(&arn)
                .set_thumbprint_list(Some(thumbprints));
            out.send().await.map_err(sdk_error)?;
        }
        let (before, after) = (
            string_set(prior, "client_id_list"),
            string_set(&planned, "client_id_list"),
        );
        for id in after.difference(&before) {
            let out = self
                .client
                .add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .client_id(id);
            out.send().await.map_err(sdk_error)?;
        }
        for id in before.difference(&after) {
            let out = self
                .client
                .remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .client_id(id);
            found(out.send().await.map_err(sdk_error))?;
        }
        self.update_tags(&arn, prior, &planned).await?;
        self.read_by_arn(&arn, &planned).await?.ok_or_else(|| {
            ProviderError::new(format!(
                "OpenID Connect provider {arn} disappeared during the update"
            ))
        })
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some(arn) = state.str_attr("id").or_else(|| state.str_attr("arn")) else {
            return Ok(());
        };
        let out = self
            .client
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await;
        found(out.map_err(sdk_error))?;
        Ok(())
    }

    /// IAM holds one provider per URL, so the URL names it: found by listing the
    /// account's providers, with its creation date.
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let Some(url) = planned
            .get("url")
            .filter(|v| v.is_wholly_known())
            .and_then(Value::as_str)
        else {
            return Ok(Finding::CannotTell);
        };
        let Some(arn) = self.arn_for_url(url).await? else {
            return Ok(Finding::Absent);
        };
        let Some(out) = self.get(&arn).await? else {
            return Ok(Finding::Absent);
        };
        let Some(mut object) = self.object_of(&arn, &out, &planned).await? else {
            return Ok(Finding::Absent);
        };
        // The configured spelling of the same URL, so the check that the found object
        // has the configured force-new arguments compares like with like.
        set_attr(&mut object, "url", Value::string(url));
        Ok(Finding::Found(Found {
            object,
            created: creation_time(out.create_date()),
            by: FoundBy::Name,
            id: arn,
        }))
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        if !id.starts_with("arn:") || !id.contains(":oidc-provider/") {
            return Err(ProviderError::new(format!(
                "{TYPE}: import id {id:?} is not an OpenID Connect provider ARN"
            ))
            .hint("write it as arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"));
        }
        self.read_by_arn(id, &Value::object([("id", Value::string(id))]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs)
    }

    #[test]
    fn the_url_must_be_an_https_issuer() {
        assert!(check_url(&with(vec![("url", Value::string("https://a.example/x"))])).is_ok());
        for bad in [
            "http://a.example",
            "a.example",
            "https://",
            "https://a.example/?q=1",
        ] {
            let err = check_url(&with(vec![("url", Value::string(bad))])).unwrap_err();
            assert!(
                err.message.contains("not an OpenID Connect issuer"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn thumbprints_are_forty_characters_and_client_ids_not_empty() {
        let ok = with(vec![
            (
                "client_id_list",
                Value::Set(vec![Value::string("sts.amazonaws.com")]),
            ),
            (
                "thumbprint_list",
                Value::List(vec![Value::string("a".repeat(40))]),
            ),
        ]);
        assert!(check_lists(&ok).is_ok());
        let short = with(vec![(
            "thumbprint_list",
            Value::List(vec![Value::string("abc")]),
        )]);
        assert!(check_lists(&short).unwrap_err().message.contains("40 hex"));
        let empty = with(vec![(
            "client_id_list",
            Value::Set(vec![Value::string("")]),
        )]);
        assert!(check_lists(&empty).is_err());
    }

    #[test]
    fn the_scheme_is_what_iam_leaves_out() {
        assert_eq!(without_scheme("https://a.example/x"), "a.example/x");
        assert_eq!(without_scheme("a.example/x"), "a.example/x");
    }
}
