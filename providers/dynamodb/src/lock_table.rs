//! The lock table: one item per lock (`LockID` = `<bucket>/<key>`) and one per state
//! digest (`LockID` = `<bucket>/<key>-md5`), as Terraform's S3 backend writes them.
//!
//! Every read is strongly consistent: a lock or digest read a moment after another
//! process wrote it must see that write.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, SseSpecification, TableStatus, Tag,
};
use forge_aws_common::{Backoff, retry, sdk_error};
use forge_provider::{ProviderError, ProviderResult};

/// The hash key Terraform's lock table must have.
pub const LOCK_KEY: &str = "LockID";

/// How long a freshly created table may stay `CREATING` before we give up.
const TABLE_ACTIVE_WAIT: Duration = Duration::from_secs(120);

/// One lock table, reached through one client.
#[derive(Clone, Debug)]
pub struct LockTable {
    client: Client,
    name: String,
}

/// What `LockTable::ensure` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ensured {
    /// This call created the table.
    Created,
    /// The table was there (or created meanwhile by someone else), with this key schema
    /// as (attribute name, key type, attribute type) triples.
    Existing {
        key_schema: Vec<(String, String, String)>,
    },
}

/// One DescribeTable answer: what `ensure` needs of it.
struct Described {
    status: TableStatus,
    key_schema: Vec<(String, String, String)>,
}

impl From<Option<aws_sdk_dynamodb::types::TableDescription>> for Described {
    fn from(table: Option<aws_sdk_dynamodb::types::TableDescription>) -> Self {
        let Some(table) = table else {
            return Described {
                status: TableStatus::Active,
                key_schema: Vec::new(),
            };
        };
        let types: BTreeMap<String, String> = table
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_string(),
                    a.attribute_type().as_str().to_string(),
                )
            })
            .collect();
        let key_schema = table
            .key_schema()
            .iter()
            .map(|k| {
                let name = k.attribute_name().to_string();
                let ty = types.get(&name).cloned().unwrap_or_default();
                (name, k.key_type().as_str().to_string(), ty)
            })
            .collect();
        Described {
            status: table.table_status.unwrap_or(TableStatus::Active),
            key_schema,
        }
    }
}

impl LockTable {
    /// A table handle from the shared SDK configuration; `endpoint` overrides the one the
    /// standard variables give (`AWS_ENDPOINT_URL_DYNAMODB`).
    pub fn new(
        sdk: &aws_types::SdkConfig,
        endpoint: Option<&str>,
        name: impl Into<String>,
    ) -> Self {
        // Counted with the process-wide record, as every client forge builds is.
        let mut conf = aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(forge_aws_common::ApiStats::global().interceptor());
        if let Some(url) = endpoint {
            conf = conf.endpoint_url(url);
        }
        // Tests lose and throttle some answers here (a test build only; none otherwise).
        for fault in forge_aws_common::fault::layers() {
            conf.push_interceptor(fault);
        }
        LockTable {
            client: Client::from_conf(conf.build()),
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Makes sure the table exists (hash key `LockID` of type S, billed per request) and
    /// is active. A table created at the same time by another process counts as existing.
    /// An existing table comes with its key schema, read by the same DescribeTable that
    /// found it, so that checking it costs no second request.
    pub async fn ensure(
        &self,
        tags: &BTreeMap<String, String>,
        encrypt: bool,
    ) -> ProviderResult<Ensured> {
        match self.describe().await? {
            Some(found) if found.status == TableStatus::Active => {
                return Ok(Ensured::Existing {
                    key_schema: found.key_schema,
                });
            }
            Some(_) => {
                let found = self.wait_active().await?;
                return Ok(Ensured::Existing {
                    key_schema: found.key_schema,
                });
            }
            None => {}
        }
        let created = self.create(tags, encrypt).await?;
        let found = self.wait_active().await?;
        Ok(if created {
            Ensured::Created
        } else {
            Ensured::Existing {
                key_schema: found.key_schema,
            }
        })
    }

    /// The key schema of the table when it exists (waiting for it to become active),
    /// `None` when it does not; never creates it.
    pub async fn existing(&self) -> ProviderResult<Option<Vec<(String, String, String)>>> {
        match self.describe().await? {
            Some(found) if found.status == TableStatus::Active => Ok(Some(found.key_schema)),
            Some(_) => Ok(Some(self.wait_active().await?.key_schema)),
            None => Ok(None),
        }
    }

    /// The table's status and key schema, `None` when it does not exist.
    async fn describe(&self) -> ProviderResult<Option<Described>> {
        retry(
            Backoff::default(),
            |_| false,
            || async {
                match self
                    .client
                    .describe_table()
                    .table_name(&self.name)
                    .send()
                    .await
                {
                    Ok(out) => Ok(Some(Described::from(out.table))),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_resource_not_found_exception()) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(self.error("describe", sdk_error(e))),
                }
            },
        )
        .await
    }
    async fn create(&self, tags: &BTreeMap<String, String>, encrypt: bool) -> ProviderResult<bool> {
        let key = KeySchemaElement::builder()
            .attribute_name(LOCK_KEY)
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| {
                self.error("build the key schema of", ProviderError::new(e.to_string()))
            })?;
        let attribute = AttributeDefinition::builder()
            .attribute_name(LOCK_KEY)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| {
                self.error("build the attributes of", ProviderError::new(e.to_string()))
            })?;
        let mut call = self
            .client
            .create_table()
            .table_name(&self.name)
            .key_schema(key)
            .attribute_definitions(attribute)
            .billing_mode(BillingMode::PayPerRequest);
        if encrypt {
            call = call.sse_specification(SseSpecification::builder().enabled(true).build());
        }
        for (k, v) in tags {
            let tag =
                Tag::builder().key(k).value(v).build().map_err(|e| {
                    self.error("build the tags of", ProviderError::new(e.to_string()))
                })?;
            call = call.tags(tag);
        }
        match call.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.error("create", sdk_error(e))),
        }
    }

    async fn wait_active(&self) -> ProviderResult<Described> {
        let deadline = tokio::time::Instant::now() + TABLE_ACTIVE_WAIT;
        loop {
            match self.describe().await? {
                Some(found) if found.status == TableStatus::Active => return Ok(found),
                Some(found)
                    if matches!(found.status, TableStatus::Creating | TableStatus::Updating)
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Some(Described { status: other, .. }) => {
                    return Err(ProviderError::new(format!(
                        "the DynamoDB lock table {} is {}, not ACTIVE",
                        self.name,
                        other.as_str()
                    ))
                    .hint(
                        "wait until the table is active, or name another table in `dynamodb_table`",
                    ));
                }
                None => {
                    return Err(ProviderError::new(format!(
                        "the DynamoDB lock table {} disappeared while forge waited for it",
                        self.name
                    )));
                }
            }
        }
    }

    /// Puts `{LockID: id, <attr>: value}` only when no item has that id. Returns false
    /// when one exists (the lock is held).
    pub async fn put_if_absent(&self, id: &str, attr: &str, value: &str) -> ProviderResult<bool> {
        self.put_item_if_absent(id, &[(attr, value)]).await
    }

    /// Puts `{LockID: id, <name>: <value>...}` (string attributes) only when no item has
    /// that id. Returns false when one exists (the lock is held).
    pub async fn put_item_if_absent(
        &self,
        id: &str,
        attrs: &[(&str, &str)],
    ) -> ProviderResult<bool> {
        self.conditional("write a lock item to", || {
            self.client
                .put_item()
                .table_name(&self.name)
                .set_item(Some(item(id, attrs)))
                .condition_expression("attribute_not_exists(#id)")
                .expression_attribute_names("#id", LOCK_KEY)
                .send()
        })
        .await
    }

    /// Replaces the item `id` by `{LockID: id, <attrs>...}` only while it is exactly
    /// `expected` (each named string attribute with that value, `None`: absent). Returns
    /// false when it is not (changed, or gone).
    pub async fn replace_if(
        &self,
        id: &str,
        expected: &[(&str, Option<&str>)],
        attrs: &[(&str, &str)],
    ) -> ProviderResult<bool> {
        let (condition, names, values) = exactly(expected);
        self.conditional("replace a lock item of", || {
            self.client
                .put_item()
                .table_name(&self.name)
                .set_item(Some(item(id, attrs)))
                .condition_expression(&condition)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(values.clone())
                .send()
        })
        .await
    }

    /// Sets the string attribute `attr` of the item `id` to `value` only while the item's
    /// `guard` attribute equals `expected` (a lease renewed only on the holder's own lock
    /// item). Returns false when the item is absent or different.
    pub async fn set_if(
        &self,
        id: &str,
        (guard, expected): (&str, &str),
        (attr, value): (&str, &str),
    ) -> ProviderResult<bool> {
        self.conditional("update a lock item of", || {
            self.client
                .update_item()
                .table_name(&self.name)
                .key(LOCK_KEY, AttributeValue::S(id.to_string()))
                .update_expression("SET #attr = :value")
                .condition_expression("#guard = :expected")
                .expression_attribute_names("#attr", attr)
                .expression_attribute_names("#guard", guard)
                .expression_attribute_values(":value", AttributeValue::S(value.to_string()))
                .expression_attribute_values(":expected", AttributeValue::S(expected.to_string()))
                .send()
        })
        .await
    }

    /// The string attributes of the item `id` (the key included); `None` when there is
    /// no such item.
    pub async fn get_strings(&self, id: &str) -> ProviderResult<Option<BTreeMap<String, String>>> {
        retry(
            Backoff::default(),
            |_| false,
            || async {
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.name)
                    .key(LOCK_KEY, AttributeValue::S(id.to_string()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| self.error("read an item of", sdk_error(e)))?;
                Ok(out.item.map(|item| {
                    item.into_iter()
                        .filter_map(|(name, value)| match value {
                            AttributeValue::S(s) => Some((name, s)),
                            _ => None,
                        })
                        .collect()
                }))
            },
        )
        .await
    }

    /// Puts `{LockID: id, <attr>: value}`, replacing any item with that id.
    pub async fn put(&self, id: &str, attr: &str, value: &str) -> ProviderResult<()> {
        retry(
            Backoff::default(),
            |_| false,
            || async {
                self.client
                    .put_item()
                    .table_name(&self.name)
                    .item(LOCK_KEY, AttributeValue::S(id.to_string()))
                    .item(attr, AttributeValue::S(value.to_string()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| self.error("write an item to", sdk_error(e)))
            },
        )
        .await
    }

    /// The string attribute `attr` of the item `id`; `None` when there is no such item or
    /// it has no such string attribute.
    pub async fn get_string(&self, id: &str, attr: &str) -> ProviderResult<Option<String>> {
        retry(
            Backoff::default(),
            |_| false,
            || async {
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.name)
                    .key(LOCK_KEY, AttributeValue::S(id.to_string()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| self.error("read an item of", sdk_error(e)))?;
                Ok(out.item.and_then(|item| match item.get(attr) {
                    Some(AttributeValue::S(s)) => Some(s.clone()),
                    _ => None,
                }))
            },
        )
        .await
    }

    /// Deletes the item `id` (nothing happens when there is none).
    pub async fn delete(&self, id: &str) -> ProviderResult<()> {
        retry(
            Backoff::default(),
            |_| false,
            || async {
                self.client
                    .delete_item()
                    .table_name(&self.name)
                    .key(LOCK_KEY, AttributeValue::S(id.to_string()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| self.error("delete an item of", sdk_error(e)))
            },
        )
        .await
    }

    /// Deletes the item `id` only while its `attr` still equals `expected`, so that a
    /// release never removes a lock someone else took in the meantime. Returns false when
    /// the item was absent or different.
    pub async fn delete_if(&self, id: &str, attr: &str, expected: &str) -> ProviderResult<bool> {
        self.conditional("delete a lock item of", || {
            self.client
                .delete_item()
                .table_name(&self.name)
                .key(LOCK_KEY, AttributeValue::S(id.to_string()))
                .condition_expression("#attr = :expected")
                .expression_attribute_names("#attr", attr)
                .expression_attribute_values(":expected", AttributeValue::S(expected.to_string()))
                .send()
        })
        .await
    }

    /// Sends one conditional write, retried as every call is: true when it was made, false
    /// when its condition did not hold (DynamoDB's ConditionalCheckFailedException).
    async fn conditional<T, E, R, Fut>(
        &self,
        action: &str,
        send: impl Fn() -> Fut,
    ) -> ProviderResult<bool>
    where
        Fut: std::future::Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        retry(
            Backoff::default(),
            |_| false,
            || async {
                match send().await {
                    Ok(_) => Ok(true),
                    Err(e) if condition_failed(&e) => Ok(false),
                    Err(e) => Err(self.error(action, sdk_error(e))),
                }
            },
        )
        .await
    }

    /// Prefixes an SDK error with what was being done to which table.
    fn error(&self, action: &str, e: ProviderError) -> ProviderError {
        // The hint is ours: the generic one names the provider block, but the lock table is
        // configured in `remote_state`.
        let hint = if e.code.as_deref() == Some("DispatchFailure") {
            "DynamoDB could not be reached: check remote_state config.endpoints.dynamodb (or AWS_ENDPOINT_URL_DYNAMODB) and the network"
        } else {
            "check remote_state config.dynamodb_table, the DynamoDB endpoint (AWS_ENDPOINT_URL_DYNAMODB or config.endpoints.dynamodb) and the credentials"
        };
        ProviderError {
            code: e.code,
            message: format!(
                "could not {action} the DynamoDB lock table {}: {}",
                self.name, e.message
            ),
            hint: Some(hint.to_string()),
        }
    }
}

/// Whether a conditional write was refused because its condition did not hold.
fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// An item of string attributes under the key `id`.
fn item(id: &str, attrs: &[(&str, &str)]) -> std::collections::HashMap<String, AttributeValue> {
    std::iter::once((LOCK_KEY.to_string(), AttributeValue::S(id.to_string())))
        .chain(
            attrs
                .iter()
                .map(|(name, value)| (name.to_string(), AttributeValue::S(value.to_string()))),
        )
        .collect()
}

/// The condition that an item is exactly `expected` (each attribute equal to its value,
/// or absent), with its placeholder names and values.
#[allow(clippy::type_complexity)]
fn exactly(
    expected: &[(&str, Option<&str>)],
) -> (
    String,
    std::collections::HashMap<String, String>,
    Option<std::collections::HashMap<String, AttributeValue>>,
) {
    let mut terms = vec!["attribute_exists(#id)".to_string()];
    let mut names = std::collections::HashMap::from([("#id".to_string(), LOCK_KEY.to_string())]);
    let mut values = std::collections::HashMap::new();
    for (i, (name, value)) in expected.iter().enumerate() {
        names.insert(format!("#a{i}"), name.to_string());
        match value {
            Some(v) => {
                terms.push(format!("#a{i} = :v{i}"));
                values.insert(format!(":v{i}"), AttributeValue::S(v.to_string()));
            }
            None => terms.push(format!("attribute_not_exists(#a{i})")),
        }
    }
    let values = (!values.is_empty()).then_some(values);
    (terms.join(" AND "), names, values)
}
