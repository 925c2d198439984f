//! `aws_s3_bucket_website_configuration`: the bucket's static website settings. As the
//! provider (hashicorp/aws 5.100.0): the id is the bucket name, or
//! `bucket,expected_bucket_owner` when an owner is given, and import takes either; the
//! routing rules are recorded twice, as `routing_rule` blocks and as the `routing_rules`
//! JSON document (keys sorted, empty values left out), whichever of the two is
//! configured; `website_endpoint` and `website_domain` follow from the bucket's region.
//!
//! One difference, on purpose (README "Known incompatibilities"): a configuration with
//! neither `routing_rule` nor `routing_rules` removes the rules, where the provider keeps
//! the prior ones (both are optional+computed there), so they could never be removed.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLocationConstraint, Condition, ErrorDocument, IndexDocument, Protocol, Redirect,
    RedirectAllRequestsTo, RoutingRule, WebsiteConfiguration,
};
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{
    AttrType, Attribute, BlockType, CreateIntent, Finding, Found, FoundBy, PlannedState,
    ProviderError, ProviderResult, ResourceType, Schema, Value, plan_from_schema,
};

use crate::common::{
    block_items, bucket_of, client, first_block, found_or_absent, owner_or_empty, read_settled,
    replace_paths, set_attr, with_bucket_hint,
};

const TYPE: &str = "aws_s3_bucket_website_configuration";
/// S3's code for a bucket without website settings.
const NOT_CONFIGURED: &str = "NoSuchWebsiteConfiguration";
/// The protocols S3 takes in a redirect.
const PROTOCOLS: [&str; 2] = ["http", "https"];
/// A redirect's arguments: (the block's attribute, the JSON document's key).
const REDIRECT_FIELDS: [(&str, &str); 5] = [
    ("host_name", "HostName"),
    ("http_redirect_code", "HttpRedirectCode"),
    ("protocol", "Protocol"),
    ("replace_key_prefix_with", "ReplaceKeyPrefixWith"),
    ("replace_key_with", "ReplaceKeyWith"),
];
/// A condition's arguments, likewise.
const CONDITION_FIELDS: [(&str, &str); 2] = [
    (
        "http_error_code_returned_equals",
        "HttpErrorCodeReturnedEquals",
    ),
    ("key_prefix_equals", "KeyPrefixEquals"),
];

pub struct BucketWebsiteConfigurationResource {
    client: aws_sdk_s3::Client,
    schema: Schema,
}

impl BucketWebsiteConfigurationResource {
    pub fn new(ctx: Arc<AwsContext>) -> Self {
        let text = || Attribute::optional(AttrType::String);
        let one = |schema: Schema, min_items: usize| BlockType {
            schema,
            min_items,
            max_items: 1,
            ..BlockType::default()
        };
        let mut redirect = Schema::new();
        for (name, _) in REDIRECT_FIELDS {
            redirect = redirect.attr(name, text());
        }
        let mut condition = Schema::new();
        for (name, _) in CONDITION_FIELDS {
            condition = condition.attr(name, text());
        }
        let routing_rule = Schema::new()
            .block("condition", one(condition, 0))
            .block("redirect", one(redirect, 1));
        let schema = Schema::new()
            .attr("bucket", Attribute::required(AttrType::String).force_new())
            .attr(
                "expected_bucket_owner",
                Attribute::optional(AttrType::String).force_new(),
            )
            .attr("id", Attribute::computed(AttrType::String))
            .attr(
                "routing_rules",
                Attribute::optional_computed(AttrType::String),
            )
            .attr("website_domain", Attribute::computed(AttrType::String))
            .attr("website_endpoint", Attribute::computed(AttrType::String))
            .block(
                "error_document",
                one(
                    Schema::new().attr("key", Attribute::required(AttrType::String)),
                    0,
                ),
            )
            .block(
                "index_document",
                one(
                    Schema::new().attr("suffix", Attribute::required(AttrType::String)),
                    0,
                ),
            )
            .block(
                "redirect_all_requests_to",
                one(
                    Schema::new()
                        .attr("host_name", Attribute::required(AttrType::String))
                        .attr("protocol", text()),
                    0,
                ),
            )
            .block(
                "routing_rule",
                BlockType {
                    schema: routing_rule,
                    ..BlockType::default()
                },
            );
        BucketWebsiteConfigurationResource {
            client: client(&ctx),
            schema,
        }
    }

    /// The live settings as state; `owner` is the recorded `expected_bucket_owner` (""
    /// or null when none), sent with the calls as the provider does.
    async fn read_with(&self, bucket: &str, owner: &Value) -> ProviderResult<Option<Value>> {
        let owner_id = owner.as_str().filter(|o| !o.is_empty());
        let out = self
            .client
            .get_bucket_website()
            .bucket(bucket)
            .set_expected_bucket_owner(owner_id.map(str::to_string))
            .send()
            .await
            .map_err(sdk_error);
        let Some(out) = found_or_absent(out, &[NOT_CONFIGURED])? else {
            return Ok(None);
        };
        let location = self
            .client
            .get_bucket_location()
            .bucket(bucket)
            .set_expected_bucket_owner(owner_id.map(str::to_string))
            .send()
            .await
            .map_err(sdk_error);
        let Some(location) = found_or_absent(location, &[])? else {
            return Ok(None);
        };
        let region = bucket_region(location.location_constraint());
        let (endpoint, domain) = website_endpoint_and_domain(bucket, &region);
        let rules: Vec<Rule> = out.routing_rules().iter().map(Rule::from_aws).collect();
        let owner = owner_or_empty(owner.clone());
        let state = Value::object([
            ("id", Value::String(resource_id(bucket, owner.as_str()))),
            ("bucket", Value::string(bucket)),
            ("expected_bucket_owner", owner),
            (
                "error_document",
                one_block(
                    out.error_document()
                        .map(|d| Value::object([("key", Value::string(d.key()))])),
                ),
            ),
            (
                "index_document",
                one_block(
                    out.index_document()
                        .map(|d| Value::object([("suffix", Value::string(d.suffix()))])),
                ),
            ),
            (
                "redirect_all_requests_to",
                one_block(out.redirect_all_requests_to().map(|r| {
                    Value::object([
                        ("host_name", Value::string(r.host_name())),
                        (
                            "protocol",
                            Value::string(r.protocol().map(Protocol::as_str).unwrap_or("")),
                        ),
                    ])
                })),
            ),
            (
                "routing_rule",
                Value::List(rules.iter().map(Rule::to_block).collect()),
            ),
            ("routing_rules", Value::String(rules_document(&rules))),
            ("website_domain", Value::String(domain)),
            ("website_endpoint", Value::String(endpoint)),
        ]);
        Ok(Some(state))
    }

    async fn put(&self, planned: &Value) -> ProviderResult<Value> {
        // Not `validate`: a plan holds the rules in both spellings, which a
        // configuration may not.
        let planned = planned.deep_unmarked();
        let bucket = bucket_of(&planned, TYPE)?;
        let conf = website_configuration(&planned)?;
        let owner = planned
            .get("expected_bucket_owner")
            .cloned()
            .unwrap_or(Value::Null);
        self.client
            .put_bucket_website()
            .bucket(bucket)
            .website_configuration(conf)
            .set_expected_bucket_owner(
                owner
                    .as_str()
                    .filter(|o| !o.is_empty())
                    .map(str::to_string),
            )
            .send()
            .await
            .map_err(|e| {
                let e = with_bucket_hint(sdk_error(e), TYPE, bucket);
                match e.code.as_deref() {
                    Some("MalformedXML" | "InvalidRequest" | "InvalidArgument") => e.hint(
                        "S3 did not accept the website settings: give index_document, or redirect_all_requests_to alone; each routing_rule needs a redirect",
                    ),
                    _ => e,
                }
            })?;
        match read_settled(&planned, || self.read_with(bucket, &owner)).await? {
            Some(state) => Ok(state),
            None => Err(ProviderError::with_code(
                NOT_CONFIGURED,
                format!(
                    "{TYPE}: the website settings of bucket {bucket:?} cannot be read after they were put"
                ),
            )
            .hint("something deleted them or the bucket outside forge: plan again")),
        }
    }
}

/// One routing rule, whichever way it was written: each present argument non-empty
/// (the provider sends no empty value, and S3 reads none back).
#[derive(Clone, Debug, Default, PartialEq)]
struct Rule {
    /// `None`: no condition block (the rule applies to every request).
    condition: Option<BTreeMap<&'static str, String>>,
    redirect: BTreeMap<&'static str, String>,
}

impl Rule {
    fn from_aws(rule: &RoutingRule) -> Rule {
        let mut out = Rule {
            condition: rule.condition().map(|c| {
                present([
                    (
                        "http_error_code_returned_equals",
                        c.http_error_code_returned_equals(),
                    ),
                    ("key_prefix_equals", c.key_prefix_equals()),
                ])
            }),
            redirect: BTreeMap::new(),
        };
        if let Some(r) = rule.redirect() {
            out.redirect = present([
                ("host_name", r.host_name()),
                ("http_redirect_code", r.http_redirect_code()),
                ("protocol", r.protocol().map(Protocol::as_str)),
                ("replace_key_prefix_with", r.replace_key_prefix_with()),
                ("replace_key_with", r.replace_key_with()),
            ]);
        }
        out
    }

    /// A configured `routing_rule` block; `None` while part of it is unknown.
    fn from_block(block: &Value) -> Option<Rule> {
        if !block.is_wholly_known() {
            return None;
        }
        let fields = |item: Option<&Value>, names: &[(&'static str, &str)]| {
            let item = item?;
            Some(
                names
                    .iter()
                    .filter_map(|(name, _)| {
                        item.str_attr(name)
                            .filter(|v| !v.is_empty())
                            .map(|v| (*name, v.to_string()))
                    })
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        Some(Rule {
            condition: fields(first_block(block, "condition"), &CONDITION_FIELDS),
            redirect: fields(first_block(block, "redirect"), &REDIRECT_FIELDS).unwrap_or_default(),
        })
    }

    /// One element of a `routing_rules` document (`{"Condition": {...}, "Redirect": {...}}`).
    fn from_json(index: usize, item: &serde_json::Value) -> ProviderResult<Rule> {
        let bad = |what: String| {
            ProviderError::new(format!("{TYPE}: routing_rules[{index}]: {what}")).hint(
                "write it as S3's RoutingRules, e.g. jsonencode([{ Condition = { KeyPrefixEquals = \"docs/\" }, Redirect = { ReplaceKeyPrefixWith = \"documents/\" } }])",
            )
        };
        let object = item
            .as_object()
            .ok_or_else(|| bad("is not an object".to_string()))?;
        let section = |key: &str,
                       names: &[(&'static str, &str)]|
         -> ProviderResult<Option<BTreeMap<&'static str, String>>> {
            let Some(value) = object.get(key).filter(|v| !v.is_null()) else {
                return Ok(None);
            };
            let fields = value
                .as_object()
                .ok_or_else(|| bad(format!("{key} is not an object")))?;
            let mut out = BTreeMap::new();
            for (json_key, value) in fields {
                let Some((name, _)) = names.iter().find(|(_, k)| k == json_key) else {
                    return Err(bad(format!("{key} has no argument {json_key:?}")));
                };
                match value {
                    serde_json::Value::Null => {}
                    serde_json::Value::String(s) if s.is_empty() => {}
                    serde_json::Value::String(s) => {
                        out.insert(*name, s.clone());
                    }
                    // S3 takes the codes as text; a number means the same.
                    serde_json::Value::Number(n) => {
                        out.insert(*name, n.to_string());
                    }
                    _ => return Err(bad(format!("{key}.{json_key} is not a string"))),
                }
            }
            Ok(Some(out))
        };
        for key in object.keys() {
            if key != "Condition" && key != "Redirect" {
                return Err(bad(format!(
                    "has {key:?}; a rule has only Condition and Redirect"
                )));
            }
        }
        let redirect = section("Redirect", &REDIRECT_FIELDS)?
            .ok_or_else(|| bad("has no Redirect; S3 needs one in every rule".to_string()))?;
        Ok(Rule {
            condition: section("Condition", &CONDITION_FIELDS)?,
            redirect,
        })
    }

    /// The block as the provider records it: every argument, "" when unset.
    fn to_block(&self) -> Value {
        let object = |fields: &BTreeMap<&'static str, String>, names: &[(&'static str, &str)]| {
            Value::Object(
                names
                    .iter()
                    .map(|(name, _)| {
                        (
                            name.to_string(),
                            Value::string(fields.get(name).map(String::as_str).unwrap_or("")),
                        )
                    })
                    .collect(),
            )
        };
        Value::object([
            (
                "condition",
                Value::List(
                    self.condition
                        .iter()
                        .map(|c| object(c, &CONDITION_FIELDS))
                        .collect(),
                ),
            ),
            (
                "redirect",
                Value::List(vec![object(&self.redirect, &REDIRECT_FIELDS)]),
            ),
        ])
    }

    fn to_json(&self) -> serde_json::Value {
        // Keys inserted in sorted order: the document is written as the provider writes
        // it (Go's JSON encoder sorts map keys), so both tools record the same text.
        let object = |fields: &BTreeMap<&'static str, String>, names: &[(&'static str, &str)]| {
            let mut sorted: Vec<(&str, &String)> = names
                .iter()
                .filter_map(|(name, key)| fields.get(name).map(|v| (*key, v)))
                .collect();
            sorted.sort();
            serde_json::Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                    .collect(),
            )
        };
        let mut rule = serde_json::Map::new();
        if let Some(condition) = &self.condition {
            rule.insert("Condition".into(), object(condition, &CONDITION_FIELDS));
        }
        rule.insert("Redirect".into(), object(&self.redirect, &REDIRECT_FIELDS));
        serde_json::Value::Object(rule)
    }

    fn to_aws(&self) -> RoutingRule {
        let get = |fields: &BTreeMap<&'static str, String>, name: &str| fields.get(name).cloned();
        let redirect = Redirect::builder()
            .set_host_name(get(&self.redirect, "host_name"))
            .set_http_redirect_code(get(&self.redirect, "http_redirect_code"))
            .set_protocol(get(&self.redirect, "protocol").map(|p| Protocol::from(p.as_str())))
            .set_replace_key_prefix_with(get(&self.redirect, "replace_key_prefix_with"))
            .set_replace_key_with(get(&self.redirect, "replace_key_with"))
            .build();
        RoutingRule::builder()
            .set_condition(self.condition.as_ref().map(|c| {
                Condition::builder()
                    .set_http_error_code_returned_equals(get(c, "http_error_code_returned_equals"))
                    .set_key_prefix_equals(get(c, "key_prefix_equals"))
                    .build()
            }))
            .redirect(redirect)
            .build()
    }
}

/// The present (non-empty) values of `pairs`.
fn present<const N: usize>(
    pairs: [(&'static str, Option<&str>); N],
) -> BTreeMap<&'static str, String> {
    pairs
        .into_iter()
        .filter_map(|(name, v)| v.filter(|v| !v.is_empty()).map(|v| (name, v.to_string())))
        .collect()
}

/// `routing_rules` as the provider records it: "" without rules, else the compact
/// document with sorted keys.
fn rules_document(rules: &[Rule]) -> String {
    if rules.is_empty() {
        return String::new();
    }
    serde_json::Value::Array(rules.iter().map(Rule::to_json).collect()).to_string()
}

/// The rules a `routing_rules` document holds, or an error naming what is wrong.
fn parse_rules_document(text: &str) -> ProviderResult<Vec<Rule>> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        ProviderError::new(format!("{TYPE}: routing_rules is not valid JSON: {e}"))
            .hint("build it with jsonencode([...])")
    })?;
    let items = doc.as_array().ok_or_else(|| {
        ProviderError::new(format!(
            "{TYPE}: routing_rules must be a JSON array of rules"
        ))
        .hint("build it with jsonencode([{ Condition = {...}, Redirect = {...} }])")
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| Rule::from_json(i, item))
        .collect()
}

/// The configured rules: from the blocks when given, else from the document, else none;
/// `None` while unknown.
fn configured_rules(config: &Value) -> ProviderResult<Option<Vec<Rule>>> {
    let blocks = config.get("routing_rule").unwrap_or(&Value::Null);
    if !blocks.is_wholly_known() {
        return Ok(None);
    }
    let blocks = blocks.as_seq().unwrap_or(&[]);
    if !blocks.is_empty() {
        return Ok(blocks.iter().map(Rule::from_block).collect());
    }
    match config.get("routing_rules") {
        Some(Value::Unknown) => Ok(None),
        Some(v) => match v.unmarked().as_str() {
            Some(text) if !text.is_empty() => parse_rules_document(text).map(Some),
            _ => Ok(Some(Vec::new())),
        },
        None => Ok(Some(Vec::new())),
    }
}

/// The one block of a MaxItems-1 block list, or none.
fn one_block(item: Option<Value>) -> Value {
    Value::List(item.into_iter().collect())
}

/// The provider's id: the bucket, with `,owner` when an expected owner is given.
fn resource_id(bucket: &str, owner: Option<&str>) -> String {
    match owner.filter(|o| !o.is_empty()) {
        Some(owner) => format!("{bucket},{owner}"),
        None => bucket.to_string(),
    }
}

/// The provider's id read back: `bucket` or `bucket,owner`.
fn parse_id(id: &str) -> (String, Value) {
    match id.split_once(',') {
        Some((bucket, owner)) => (bucket.to_string(), Value::string(owner)),
        None => (id.to_string(), Value::Null),
    }
}

/// The region GetBucketLocation names: none means us-east-1, "EU" is Ireland's oldest
/// spelling.
fn bucket_region(constraint: Option<&BucketLocationConstraint>) -> String {
    match constraint.map(BucketLocationConstraint::as_str) {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    }
}

/// S3's website endpoint and domain in a region: the regions older than 2014 spell it
/// `s3-website-<region>`, the others `s3-website.<region>`
/// (docs.aws.amazon.com/general/latest/gr/s3.html#s3_website_region_endpoints).
pub fn website_endpoint_and_domain(bucket: &str, region: &str) -> (String, String) {
    const DASHED: [&str; 9] = [
        "ap-northeast-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "eu-west-1",
        "sa-east-1",
        "us-east-1",
        "us-gov-west-1",
        "us-west-1",
        "us-west-2",
    ];
    let domain = if DASHED.contains(&region) {
        format!("s3-website-{region}.amazonaws.com")
    } else if region.starts_with("cn-") {
        format!("s3-website.{region}.amazonaws.com.cn")
    } else {
        format!("s3-website.{region}.amazonaws.com")
    };
    (format!("{bucket}.{domain}"), domain)
}

/// The website settings as `aws_s3_bucket` records them in its (deprecated) inline
/// `website` block: each a string, "" when absent, the redirect target as
/// `protocol://host` when a protocol is given.
pub fn inline_website_block(
    out: &aws_sdk_s3::operation::get_bucket_website::GetBucketWebsiteOutput,
) -> Value {
    let redirect = out
        .redirect_all_requests_to()
        .map(|r| match r.protocol().map(Protocol::as_str) {
            Some(p) if !p.is_empty() => format!("{p}://{}", r.host_name()),
            _ => r.host_name().to_string(),
        })
        .unwrap_or_default();
    let rules: Vec<Rule> = out.routing_rules().iter().map(Rule::from_aws).collect();
    Value::object([
        (
            "error_document",
            Value::string(out.error_document().map(ErrorDocument::key).unwrap_or("")),
        ),
        (
            "index_document",
            Value::string(
                out.index_document()
                    .map(IndexDocument::suffix)
                    .unwrap_or(""),
            ),
        ),
        ("redirect_all_requests_to", Value::String(redirect)),
        ("routing_rules", Value::String(rules_document(&rules))),
    ])
}

/// The request's settings from a planned value.
fn website_configuration(planned: &Value) -> ProviderResult<WebsiteConfiguration> {
    let build_error = |e: aws_sdk_s3::error::BuildError| ProviderError::new(format!("{TYPE}: {e}"));
    let mut conf = WebsiteConfiguration::builder();
    if let Some(key) = first_block(planned, "error_document").and_then(|b| b.str_attr("key")) {
        conf = conf.error_document(
            ErrorDocument::builder()
                .key(key)
                .build()
                .map_err(build_error)?,
        );
    }
    if let Some(suffix) = first_block(planned, "index_document").and_then(|b| b.str_attr("suffix"))
    {
        conf = conf.index_document(
            IndexDocument::builder()
                .suffix(suffix)
                .build()
                .map_err(build_error)?,
        );
    }
    if let Some(to) = first_block(planned, "redirect_all_requests_to") {
        let protocol = to
            .str_attr("protocol")
            .filter(|p| !p.is_empty())
            .map(Protocol::from);
        conf = conf.redirect_all_requests_to(
            RedirectAllRequestsTo::builder()
                .set_host_name(to.str_attr("host_name").map(str::to_string))
                .set_protocol(protocol)
                .build()
                .map_err(build_error)?,
        );
    }
    let rules = configured_rules(planned)?.ok_or_else(|| {
        ProviderError::new(format!("{TYPE}: the routing rules are not known at apply"))
    })?;
    if !rules.is_empty() {
        conf = conf.set_routing_rules(Some(rules.iter().map(Rule::to_aws).collect()));
    }
    Ok(conf.build())
}

/// Refuses at plan what the provider or S3 would refuse, saying what to change.
fn validate(config: &Value) -> ProviderResult<()> {
    let given = |name: &str| !block_items(config, name).is_empty();
    let rules_document_given = config
        .get("routing_rules")
        .is_some_and(|v| v.is_unknown() || v.unmarked().as_str().is_some_and(|s| !s.is_empty()));
    if given("routing_rule") && rules_document_given {
        return Err(ProviderError::new(format!(
            "{TYPE}: routing_rule blocks and routing_rules conflict"
        ))
        .hint("write the rules one way: routing_rule blocks, or the routing_rules JSON document"));
    }
    if given("redirect_all_requests_to") {
        for other in ["error_document", "index_document", "routing_rule"] {
            if given(other) {
                return Err(ProviderError::new(format!(
                    "{TYPE}: redirect_all_requests_to conflicts with {other}"
                ))
                .hint(
                    "a bucket that redirects every request serves no documents: keep one of them",
                ));
            }
        }
        if rules_document_given {
            return Err(ProviderError::new(format!(
                "{TYPE}: redirect_all_requests_to conflicts with routing_rules"
            ))
            .hint("a bucket that redirects every request has no routing rules: keep one of them"));
        }
    } else if !given("index_document") {
        return Err(ProviderError::new(format!(
            "{TYPE}: an index_document block is required unless redirect_all_requests_to is given"
        ))
        .hint("add index_document { suffix = \"index.html\" }, as S3 requires"));
    }
    let protocols = block_items(config, "redirect_all_requests_to")
        .iter()
        .map(|b| ("redirect_all_requests_to", b.get("protocol")))
        .chain(block_items(config, "routing_rule").iter().flat_map(|rule| {
            block_items(rule, "redirect")
                .iter()
                .map(|r| ("routing_rule.redirect", r.get("protocol")))
        }));
    for (place, protocol) in protocols {
        if let Some(p) = protocol.and_then(Value::as_str)
            && !p.is_empty()
            && !PROTOCOLS.contains(&p)
        {
            return Err(ProviderError::new(format!(
                "{TYPE}: {place}: protocol {p:?} is not one S3 takes"
            ))
            .hint("use \"http\" or \"https\""));
        }
    }
    // A malformed document fails here, at plan, with its reason.
    configured_rules(config)?;
    Ok(())
}

/// `planned` with what the provider records for what it leaves out: the owner "", a
/// redirect's protocol "", and the rules in both spellings.
fn normalized(planned: &Value, rules: Option<&[Rule]>) -> Value {
    let mut out = planned.clone();
    if out.get("expected_bucket_owner").is_none_or(Value::is_null) {
        set_attr(&mut out, "expected_bucket_owner", Value::string(""));
    }
    let redirects: Vec<Value> = block_items(planned, "redirect_all_requests_to")
        .iter()
        .map(|b| {
            let mut b = b.clone();
            if b.get("protocol").is_none_or(Value::is_null) {
                set_attr(&mut b, "protocol", Value::string(""));
            }
            b
        })
        .collect();
    set_attr(&mut out, "redirect_all_requests_to", Value::List(redirects));
    match rules {
        Some(rules) => {
            set_attr(
                &mut out,
                "routing_rule",
                Value::List(rules.iter().map(Rule::to_block).collect()),
            );
            set_attr(
                &mut out,
                "routing_rules",
                Value::String(rules_document(rules)),
            );
        }
        // Rules from a `dynamic` block or a document not known yet: both spellings
        // follow at apply.
        None => {
            set_attr(&mut out, "routing_rule", Value::Unknown);
            set_attr(&mut out, "routing_rules", Value::Unknown);
        }
    }
    out
}

/// A state's bucket and expected owner: from its attributes, else from its id.
fn bucket_and_owner(state: &Value) -> Option<(String, Value)> {
    if let Some(bucket) = state.str_attr("bucket") {
        let owner = state
            .get("expected_bucket_owner")
            .cloned()
            .unwrap_or(Value::Null);
        return Some((bucket.to_string(), owner));
    }
    state.str_attr("id").map(parse_id)
}

#[async_trait]
impl ResourceType for BucketWebsiteConfigurationResource {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> ProviderResult<PlannedState> {
        validate(config)?;
        let rules = configured_rules(config)?;
        let mut plan = plan_from_schema(&self.schema, prior, config);
        plan.planned = normalized(&plan.planned, rules.as_deref());
        plan.requires_replace = replace_paths(&self.schema, prior, &plan.planned);
        Ok(plan)
    }

    async fn create(&self, planned: &Value) -> ProviderResult<Value> {
        self.put(planned).await
    }

    async fn read(&self, state: &Value) -> ProviderResult<Option<Value>> {
        let Some((bucket, owner)) = bucket_and_owner(state) else {
            return Ok(None);
        };
        self.read_with(&bucket, &owner).await
    }

    async fn update(&self, _prior: &Value, planned: &Value) -> ProviderResult<Value> {
        self.put(planned).await
    }

    async fn delete(&self, state: &Value) -> ProviderResult<()> {
        let Some((bucket, owner)) = bucket_and_owner(state) else {
            return Ok(());
        };
        let call = self
            .client
            .delete_bucket_website()
            .bucket(&bucket)
            .set_expected_bucket_owner(
                owner.as_str().filter(|o| !o.is_empty()).map(str::to_string),
            );
        found_or_absent(call.send().await.map_err(sdk_error), &[NOT_CONFIGURED])?;
        Ok(())
    }

    /// A create whose answer was lost put the settings or did not: a bucket with website
    /// settings is that create's object (one per bucket; the engine's update after
    /// adopting brings it to the configuration).
    async fn find_created(
        &self,
        planned: &Value,
        _intent: &CreateIntent,
    ) -> ProviderResult<Finding> {
        let planned = planned.deep_unmarked();
        let Some(bucket) = planned
            .get("bucket")
            .filter(|v| v.is_wholly_known())
            .and_then(Value::as_str)
        else {
            return Ok(Finding::CannotTell);
        };
        let owner = planned
            .get("expected_bucket_owner")
            .cloned()
            .unwrap_or(Value::Null);
        Ok(match self.read_with(bucket, &owner).await? {
            None => Finding::Absent,
            Some(object) => {
                let id = object.str_attr("id").unwrap_or(bucket).to_string();
                Finding::Found(Found {
                    object,
                    created: None,
                    by: FoundBy::Name,
                    id,
                })
            }
        })
    }

    async fn import(&self, id: &str) -> ProviderResult<Option<Value>> {
        let (bucket, owner) = parse_id(id);
        self.read_with(&bucket, &owner).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn the_rules_document_is_written_as_the_provider_writes_it() {
        let rules = vec![
            Rule {
                condition: Some(fields(&[("key_prefix_equals", "docs/")])),
                redirect: fields(&[("replace_key_prefix_with", "documents/")]),
            },
            Rule {
                condition: None,
                redirect: fields(&[
                    ("protocol", "https"),
                    ("host_name", "example.com"),
                    ("http_redirect_code", "301"),
                ]),
            },
        ];
        // The provider's own text for these rules, taken from its state.
        assert_eq!(
            rules_document(&rules),
            r#"[{"Condition":{"KeyPrefixEquals":"docs/"},"Redirect":{"ReplaceKeyPrefixWith":"documents/"}},{"Redirect":{"HostName":"example.com","HttpRedirectCode":"301","Protocol":"https"}}]"#
        );
        assert_eq!(rules_document(&[]), "");
        // And the document reads back as the same rules, nulls and "" left out.
        let text = r#"[{"Redirect":{"ReplaceKeyPrefixWith":"documents/","Protocol":""},"Condition":{"KeyPrefixEquals":"docs/","HttpErrorCodeReturnedEquals":null}},{"Redirect":{"HostName":"example.com","HttpRedirectCode":301,"Protocol":"https"}}]"#;
        assert_eq!(parse_rules_document(text).unwrap(), rules);
    }

    #[test]
    fn a_block_records_every_argument_and_an_absent_condition_as_no_block() {
        let rule = Rule {
            condition: None,
            redirect: fields(&[("host_name", "example.com")]),
        };
        let block = rule.to_block();
        assert_eq!(block.get("condition"), Some(&Value::List(vec![])));
        let redirect = first_block(&block, "redirect").unwrap();
        assert_eq!(redirect.str_attr("host_name"), Some("example.com"));
        assert_eq!(redirect.str_attr("replace_key_with"), Some(""));
        assert_eq!(Rule::from_block(&block), Some(rule));
    }

    #[test]
    fn malformed_documents_and_conflicts_are_refused_at_plan() {
        let e = parse_rules_document("{}").unwrap_err();
        assert!(e.message.contains("array"), "{e}");
        let e = parse_rules_document(r#"[{"Condition":{"KeyPrefixEquals":"a"}}]"#).unwrap_err();
        assert!(
            e.message.contains("routing_rules[0]") && e.message.contains("Redirect"),
            "{e}"
        );
        let e = parse_rules_document(r#"[{"Redirect":{"Hostname":"a"}}]"#).unwrap_err();
        assert!(e.message.contains("Hostname"), "{e}");

        let index = Value::List(vec![Value::object([("suffix", Value::string("i.html"))])]);
        let redirect_all = Value::List(vec![Value::object([
            ("host_name", Value::string("example.com")),
            ("protocol", Value::Null),
        ])]);
        let both = Value::object([
            ("index_document", index.clone()),
            ("redirect_all_requests_to", redirect_all.clone()),
        ]);
        assert!(validate(&both).unwrap_err().message.contains("conflicts"));
        let neither = Value::object([("routing_rules", Value::Null)]);
        assert!(
            validate(&neither)
                .unwrap_err()
                .message
                .contains("index_document")
        );
        let bad_protocol = Value::object([(
            "redirect_all_requests_to",
            Value::List(vec![Value::object([
                ("host_name", Value::string("example.com")),
                ("protocol", Value::string("ftp")),
            ])]),
        )]);
        assert!(validate(&bad_protocol).unwrap_err().message.contains("ftp"));
        assert!(validate(&Value::object([("index_document", index)])).is_ok());
        assert!(validate(&Value::object([("redirect_all_requests_to", redirect_all)])).is_ok());
    }

    #[test]
    fn endpoints_follow_the_regions_spelling() {
        assert_eq!(
            website_endpoint_and_domain("b", "us-east-1"),
            (
                "b.s3-website-us-east-1.amazonaws.com".to_string(),
                "s3-website-us-east-1.amazonaws.com".to_string()
            )
        );
        assert_eq!(
            website_endpoint_and_domain("b", "eu-central-1").1,
            "s3-website.eu-central-1.amazonaws.com"
        );
        assert_eq!(bucket_region(None), "us-east-1");
        assert_eq!(
            bucket_region(Some(&BucketLocationConstraint::from("EU"))),
            "eu-west-1"
        );
    }

    #[test]
    fn rules_not_known_at_plan_leave_both_spellings_unknown() {
        let planned = Value::object([
            ("routing_rule", Value::List(vec![])),
            ("routing_rules", Value::Unknown),
        ]);
        let config = planned.clone();
        let rules = configured_rules(&config).unwrap();
        assert_eq!(rules, None);
        let out = normalized(&planned, rules.as_deref());
        assert_eq!(out.get("routing_rule"), Some(&Value::Unknown));
        assert_eq!(out.get("routing_rules"), Some(&Value::Unknown));
        assert_eq!(out.get("expected_bucket_owner"), Some(&Value::string("")));
    }

    #[test]
    fn ids_carry_the_owner_only_when_given() {
        assert_eq!(resource_id("b", Some("")), "b");
        assert_eq!(resource_id("b", Some("123456789012")), "b,123456789012");
        assert_eq!(parse_id("b,1").1, Value::string("1"));
        assert_eq!(parse_id("b"), ("b".to_string(), Value::Null));
    }
}
