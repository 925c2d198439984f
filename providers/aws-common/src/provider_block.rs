//! The `provider "aws" {...}` block read the way the hashicorp/aws provider (5.100) reads
//! it: every argument of its schema is known here, and each one is either acted on, or
//! reported. An argument forge accepts without acting on it is a warning; one whose
//! meaning would change who forge acts as, how safely it talks to AWS or what it
//! deploys is an error, so that forge never silently runs as someone else.
//!
//! The names come from the real provider's schema (`terraform providers schema -json`
//! on hashicorp/aws 5.100.0); the endpoint keys are in `provider_block/endpoint_names.txt`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use forge_provider::{
    AttrType, Attribute, BlockType, ConfigIssue, IssueSeverity, ProviderError, Schema, Value,
};

/// The settings forge acts on, read from an evaluated provider block.
#[derive(Clone, Debug, Default)]
pub struct ProviderSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub shared_config_files: Vec<PathBuf>,
    pub shared_credentials_files: Vec<PathBuf>,
    pub static_keys: Option<StaticKeys>,
    /// `assume_role` blocks, in order: each role is assumed with the credentials of the
    /// one before (the first with the base credentials), as the provider chains them.
    pub assume_roles: Vec<AssumeRole>,
    pub web_identity: Option<WebIdentityRole>,
    pub allowed_account_ids: Vec<String>,
    pub forbidden_account_ids: Vec<String>,
    pub max_retries: Option<u32>,
    pub retry_mode: Option<RetryMode>,
    pub sts_region: Option<String>,
    pub skip_region_validation: bool,
    /// `skip_credentials_validation = true`: no STS GetCallerIdentity when the provider is
    /// configured (the provider's default asks it, so bad credentials fail at once).
    pub skip_credentials_validation: bool,
    /// `skip_metadata_api_check = true`: the credential chain has no EC2 instance
    /// metadata step.
    pub skip_metadata_api_check: bool,
    /// `skip_requesting_account_id = true`: the account id is never asked for; what
    /// needs it (ARNs forge builds) is refused.
    pub skip_requesting_account_id: bool,
    pub s3_use_path_style: bool,
    pub use_fips_endpoint: bool,
    pub use_dualstack_endpoint: bool,
    pub custom_ca_bundle: Option<PathBuf>,
    /// `http_proxy`, `https_proxy`, `no_proxy`.
    pub proxy: crate::transport::ProxySettings,
    pub endpoints: BTreeMap<String, String>,
    pub default_tags: BTreeMap<String, String>,
    /// The unit's Terragrunt `iam_role`, not an argument of the block: the base
    /// credentials when the block names none of its own (see `identity`).
    pub unit_role: Option<forge_provider::UnitRole>,
}

/// `access_key`, `secret_key` and `token`: never shown, even through `Debug`.
#[derive(Clone)]
pub struct StaticKeys {
    pub access_key: String,
    pub secret_key: String,
    pub token: Option<String>,
}

impl std::fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKeys")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// One `assume_role` block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssumeRole {
    pub role_arn: String,
    pub session_name: Option<String>,
    pub external_id: Option<String>,
    pub duration: Option<Duration>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
}

/// The `assume_role_with_web_identity` block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebIdentityRole {
    pub role_arn: String,
    pub session_name: Option<String>,
    pub duration: Option<Duration>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub token: WebIdentityToken,
}

#[derive(Clone, Default, PartialEq, Eq)]
pub enum WebIdentityToken {
    #[default]
    None,
    /// The token itself: a credential, which Debug does not show.
    Inline(String),
    /// Read again each time the role is assumed (such files are rotated).
    File(PathBuf),
}

impl std::fmt::Debug for WebIdentityToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebIdentityToken::None => f.write_str("None"),
            WebIdentityToken::Inline(_) => f.write_str("Inline(..)"),
            WebIdentityToken::File(p) => f.debug_tuple("File").field(p).finish(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryMode {
    Standard,
    Adaptive,
}

/// The provider block's schema, for `forge validate`: every argument the real provider
/// takes, all optional.
pub fn config_schema() -> Schema {
    let opt = |ty: AttrType| {
        let mut a = Attribute::optional(ty);
        a.sensitive = false;
        a
    };
    let strings = || AttrType::List(Box::new(AttrType::String));
    let mut schema = Schema::new();
    for (name, kind) in TOP_LEVEL {
        let ty = match kind {
            Kind::String => AttrType::String,
            Kind::Bool => AttrType::Bool,
            Kind::Number => AttrType::Number,
            Kind::Strings => strings(),
        };
        let mut attr = opt(ty);
        attr.sensitive = SENSITIVE.contains(name);
        schema = schema.attr(name, attr);
    }
    let block = |names: &[(&str, Kind)]| {
        let mut s = Schema::new();
        for (name, kind) in names {
            let ty = match kind {
                Kind::String => AttrType::String,
                Kind::Bool => AttrType::Bool,
                Kind::Number => AttrType::Number,
                Kind::Strings => strings(),
            };
            s = s.attr(name, opt(ty));
        }
        s
    };
    let mut assume_role = block(ASSUME_ROLE);
    assume_role = assume_role.attr("tags", opt(AttrType::Map(Box::new(AttrType::String))));
    let mut web = block(WEB_IDENTITY);
    if let Some(a) = web.attributes.get_mut("web_identity_token") {
        a.sensitive = true;
    }
    let default_tags = Schema::new().attr("tags", opt(AttrType::Map(Box::new(AttrType::String))));
    let ignore_tags = block(&[("keys", Kind::Strings), ("key_prefixes", Kind::Strings)]);
    let mut endpoints = Schema::new();
    for name in endpoint_names() {
        endpoints = endpoints.attr(name, opt(AttrType::String));
    }
    schema
        .block("assume_role", list_block(assume_role))
        .block("assume_role_with_web_identity", list_block(web))
        .block("default_tags", list_block(default_tags))
        .block("ignore_tags", list_block(ignore_tags))
        .block("endpoints", list_block(endpoints))
}

/// What forge says about an evaluated (or, for `forge validate`, partly evaluated:
/// `Unknown` where a value is not constant) provider block: unknown arguments with a
/// "did you mean", arguments forge does not act on, and settings it refuses.
pub fn check(config: &Value) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let Some(map) = config.as_map() else {
        return issues;
    };
    for (name, value) in map {
        if value.is_null() {
            continue;
        }
        let path = vec![name.clone()];
        if !is_known_top_level(name) {
            issues.push(unknown_name(path, name, top_level_names()));
            continue;
        }
        check_argument(name, value, &mut issues);
    }
    for (block, names) in [
        ("assume_role", ASSUME_ROLE),
        ("assume_role_with_web_identity", WEB_IDENTITY),
    ] {
        for item in blocks(config, block) {
            let Some(m) = item.as_map() else { continue };
            for (k, v) in m {
                if v.is_null()
                    || names.iter().any(|(n, _)| n == k)
                    || (block == "assume_role" && k == "tags")
                {
                    continue;
                }
                let candidates = names.iter().map(|(n, _)| *n);
                issues.push(unknown_name(
                    vec![block.to_string(), k.clone()],
                    k,
                    candidates,
                ));
            }
        }
    }
    for item in blocks(config, "endpoints") {
        let Some(m) = item.as_map() else { continue };
        for (k, v) in m {
            if !v.is_null() && !endpoint_names().any(|n| n == k) {
                issues.push(unknown_name(
                    vec!["endpoints".into(), k.clone()],
                    k,
                    endpoint_names(),
                ));
            }
        }
    }
    if let (Some(a), Some(f)) = (
        config.get_non_null("allowed_account_ids"),
        config.get_non_null("forbidden_account_ids"),
    ) && !a.as_seq().is_some_and(<[Value]>::is_empty)
        && !f.as_seq().is_some_and(<[Value]>::is_empty)
    {
        issues.push(error(
            vec!["forbidden_account_ids".into()],
            "`allowed_account_ids` and `forbidden_account_ids` conflict: set one of them",
            None,
        ));
    }
    issues
}

impl ProviderSettings {
    /// Reads the settings of an evaluated provider block; fails on the first refused or
    /// malformed setting (warnings are [`check`]'s, reported by the caller).
    pub fn read(config: &Value) -> Result<Self, ProviderError> {
        if let Some(issue) = check(config)
            .into_iter()
            .find(|i| i.severity == IssueSeverity::Error)
        {
            let mut e =
                ProviderError::new(format!("`{}`: {}", issue.path.join("."), issue.message));
            e.hint = issue.hint;
            return Err(e);
        }
        let r = Reader {
            value: config,
            prefix: String::new(),
        };
        let static_keys = match (r.string("access_key")?, r.string("secret_key")?) {
            (Some(access_key), Some(secret_key)) => Some(StaticKeys {
                access_key,
                secret_key,
                token: r.string("token")?,
            }),
            (None, None) if r.string("token")?.is_none() => None,
            _ => {
                return Err(ProviderError::new(
                    "`access_key` and `secret_key` go together (and `token` needs both)",
                )
                .hint("set both, or neither to use the profile or the standard credential chain"));
            }
        };
        let mut assume_roles = Vec::new();
        for (i, item) in blocks(config, "assume_role").iter().enumerate() {
            let r = Reader {
                value: item,
                prefix: format!("assume_role[{i}]."),
            };
            // An empty `role_arn` switches the block off, as the provider treats it.
            let Some(role_arn) = r.string("role_arn")?.filter(|s| !s.is_empty()) else {
                continue;
            };
            assume_roles.push(AssumeRole {
                role_arn,
                session_name: r.string("session_name")?,
                external_id: r.string("external_id")?,
                duration: r.duration("duration")?,
                policy: r.string("policy")?,
                policy_arns: r.strings("policy_arns")?,
                tags: r.string_map("tags")?,
                transitive_tag_keys: r.strings("transitive_tag_keys")?,
                source_identity: r.string("source_identity")?,
            });
        }
        let web_identity = match blocks(config, "assume_role_with_web_identity").as_slice() {
            [] => None,
            [item] => {
                let r = Reader {
                    value: item,
                    prefix: "assume_role_with_web_identity.".into(),
                };
                match r.string("role_arn")?.filter(|s| !s.is_empty()) {
                    None => None,
                    Some(role_arn) => {
                        let token = match (
                            r.string("web_identity_token")?,
                            r.string("web_identity_token_file")?,
                        ) {
                            (Some(t), None) => WebIdentityToken::Inline(t),
                            (None, Some(f)) => WebIdentityToken::File(expand_home(&f)),
                            (None, None) => {
                                return Err(ProviderError::new(
                                    "`assume_role_with_web_identity`: set `web_identity_token` or `web_identity_token_file`",
                                ));
                            }
                            (Some(_), Some(_)) => {
                                return Err(ProviderError::new(
                                    "`assume_role_with_web_identity`: `web_identity_token` and `web_identity_token_file` conflict: set one of them",
                                ));
                            }
                        };
                        Some(WebIdentityRole {
                            role_arn,
                            session_name: r.string("session_name")?,
                            duration: r.duration("duration")?,
                            policy: r.string("policy")?,
                            policy_arns: r.strings("policy_arns")?,
                            token,
                        })
                    }
                }
            }
            _ => {
                return Err(ProviderError::new(
                    "`assume_role_with_web_identity` may be given once",
                ));
            }
        };
        let retry_mode = match r.string("retry_mode")?.as_deref() {
            None => None,
            Some("standard") => Some(RetryMode::Standard),
            Some("adaptive") => Some(RetryMode::Adaptive),
            Some(other) => {
                return Err(ProviderError::new(format!(
                    "`retry_mode = {other:?}`: expected \"standard\" or \"adaptive\""
                )));
            }
        };
        let max_retries = match r.value("max_retries") {
            None => None,
            Some(v) => match v.as_i64() {
                Some(n) if (0..=1000).contains(&n) => Some(n as u32),
                _ => {
                    return Err(ProviderError::new(format!(
                        "`max_retries`: expected a whole number from 0 to 1000, found {}",
                        describe(v)
                    )));
                }
            },
        };
        let region = r.string("region")?;
        let skip_region_validation = r.bool("skip_region_validation")?.unwrap_or(false);
        for (key, value) in [
            ("region", &region),
            ("sts_region", &r.string("sts_region")?),
        ] {
            if let Some(name) = value
                && !skip_region_validation
                && !looks_like_region(name)
            {
                return Err(ProviderError::new(format!(
                    "`{key} = {name:?}` is not an AWS region name"
                ))
                .hint("write a region such as \"us-east-1\", or set skip_region_validation = true for a region this check does not know"));
            }
        }
        let endpoints = blocks(config, "endpoints")
            .first()
            .map(crate::string_map)
            .unwrap_or_default();
        let default_tags = blocks(config, "default_tags")
            .first()
            .and_then(|b| b.get("tags").map(crate::string_map))
            .unwrap_or_default();
        Ok(ProviderSettings {
            region,
            profile: r.string("profile")?,
            shared_config_files: r
                .strings("shared_config_files")?
                .iter()
                .map(|f| expand_home(f))
                .collect(),
            shared_credentials_files: r
                .strings("shared_credentials_files")?
                .iter()
                .map(|f| expand_home(f))
                .collect(),
            static_keys,
            assume_roles,
            web_identity,
            allowed_account_ids: r.strings("allowed_account_ids")?,
            forbidden_account_ids: r.strings("forbidden_account_ids")?,
            max_retries,
            retry_mode,
            sts_region: r.string("sts_region")?,
            skip_region_validation,
            skip_credentials_validation: r.bool("skip_credentials_validation")?.unwrap_or(false),
            // A string in the provider's schema ("true", "false" or unset).
            skip_metadata_api_check: r.string("skip_metadata_api_check")?.as_deref()
                == Some("true"),
            skip_requesting_account_id: r.bool("skip_requesting_account_id")?.unwrap_or(false),
            s3_use_path_style: r.bool("s3_use_path_style")?.unwrap_or(false),
            use_fips_endpoint: r.bool("use_fips_endpoint")?.unwrap_or(false),
            use_dualstack_endpoint: r.bool("use_dualstack_endpoint")?.unwrap_or(false),
            custom_ca_bundle: r.string("custom_ca_bundle")?.map(|f| expand_home(&f)),
            proxy: crate::transport::ProxySettings {
                http: r.string("http_proxy")?,
                https: r.string("https_proxy")?,
                no_proxy: r.string("no_proxy")?,
            },
            endpoints,
            default_tags,
            unit_role: None,
        })
    }

    /// The account checks the block asks for, if any.
    pub fn account_check(&self) -> Option<AccountCheck<'_>> {
        if !self.allowed_account_ids.is_empty() {
            Some(AccountCheck::Allowed(&self.allowed_account_ids))
        } else if !self.forbidden_account_ids.is_empty() {
            Some(AccountCheck::Forbidden(&self.forbidden_account_ids))
        } else {
            None
        }
    }
}

/// `allowed_account_ids` or `forbidden_account_ids`.
#[derive(Clone, Copy, Debug)]
pub enum AccountCheck<'a> {
    Allowed(&'a [String]),
    Forbidden(&'a [String]),
}

impl AccountCheck<'_> {
    /// `Err` with the reason when `account` may not be used.
    pub fn verify(&self, account: &str) -> Result<(), ProviderError> {
        match self {
            AccountCheck::Allowed(ids) if !ids.iter().any(|id| id == account) => Err(ProviderError::with_code(
                "AccountNotAllowed",
                format!(
                    "the credentials are of AWS account {account}, which is not in allowed_account_ids ({})",
                    ids.join(", ")
                ),
            )
            .hint("use the credentials (profile, role) of an allowed account, or add the account to allowed_account_ids")),
            AccountCheck::Forbidden(ids) if ids.iter().any(|id| id == account) => Err(ProviderError::with_code(
                "AccountForbidden",
                format!("the credentials are of AWS account {account}, which forbidden_account_ids lists"),
            )
            .hint("use the credentials (profile, role) of another account")),
            _ => Ok(()),
        }
    }
}

// ----- the argument table -------------------------------------------------------------

#[derive(Clone, Copy)]
enum Kind {
    String,
    Bool,
    Number,
    Strings,
}

const TOP_LEVEL: &[(&str, Kind)] = &[
    ("access_key", Kind::String),
    ("allowed_account_ids", Kind::Strings),
    ("custom_ca_bundle", Kind::String),
    ("ec2_metadata_service_endpoint", Kind::String),
    ("ec2_metadata_service_endpoint_mode", Kind::String),
    ("forbidden_account_ids", Kind::Strings),
    ("http_proxy", Kind::String),
    ("https_proxy", Kind::String),
    ("insecure", Kind::Bool),
    ("max_retries", Kind::Number),
    ("no_proxy", Kind::String),
    ("profile", Kind::String),
    ("region", Kind::String),
    ("retry_mode", Kind::String),
    ("s3_us_east_1_regional_endpoint", Kind::String),
    ("s3_use_path_style", Kind::Bool),
    ("secret_key", Kind::String),
    ("shared_config_files", Kind::Strings),
    ("shared_credentials_files", Kind::Strings),
    ("skip_credentials_validation", Kind::Bool),
    // A string in the provider's schema ("true"/"false"), so that it can be unset.
    ("skip_metadata_api_check", Kind::String),
    ("skip_region_validation", Kind::Bool),
    ("skip_requesting_account_id", Kind::Bool),
    ("sts_region", Kind::String),
    ("token", Kind::String),
    ("token_bucket_rate_limiter_capacity", Kind::Number),
    ("use_dualstack_endpoint", Kind::Bool),
    ("use_fips_endpoint", Kind::Bool),
];

const BLOCKS: &[&str] = &[
    "assume_role",
    "assume_role_with_web_identity",
    "default_tags",
    "endpoints",
    "ignore_tags",
];

const SENSITIVE: &[&str] = &["access_key", "secret_key", "token"];

const ASSUME_ROLE: &[(&str, Kind)] = &[
    ("duration", Kind::String),
    ("external_id", Kind::String),
    ("policy", Kind::String),
    ("policy_arns", Kind::Strings),
    ("role_arn", Kind::String),
    ("session_name", Kind::String),
    ("source_identity", Kind::String),
    ("transitive_tag_keys", Kind::Strings),
];

const WEB_IDENTITY: &[(&str, Kind)] = &[
    ("duration", Kind::String),
    ("policy", Kind::String),
    ("policy_arns", Kind::Strings),
    ("role_arn", Kind::String),
    ("session_name", Kind::String),
    ("web_identity_token", Kind::String),
    ("web_identity_token_file", Kind::String),
];

fn endpoint_names() -> impl Iterator<Item = &'static str> {
    include_str!("provider_block/endpoint_names.txt")
        .lines()
        .filter(|l| !l.is_empty())
}

fn top_level_names() -> impl Iterator<Item = &'static str> {
    TOP_LEVEL
        .iter()
        .map(|(n, _)| *n)
        .chain(BLOCKS.iter().copied())
}

fn is_known_top_level(name: &str) -> bool {
    top_level_names().any(|n| n == name)
}

/// The judgement on one known top-level argument's value.
fn check_argument(name: &str, value: &Value, issues: &mut Vec<ConfigIssue>) {
    // `forge validate` passes non-constant values as unknown: only names are judged then.
    if value.is_unknown() {
        return;
    }
    let path = || vec![name.to_string()];
    let is_false = value.as_bool() == Some(false) || value.as_str() == Some("false");
    match name {
        "insecure" if !is_false => issues.push(error(
            path(),
            "forge does not turn TLS certificate checks off",
            Some("remove `insecure`; for a private certificate authority set `custom_ca_bundle` to its PEM file"),
        )),
        "ignore_tags" if !blocks_of(value).is_empty() => issues.push(error(
            path(),
            "forge does not implement ignore_tags: the tags it names would be planned and changed as any other",
            Some("remove the ignore_tags block, or manage those tags in the configuration"),
        )),
        "ec2_metadata_service_endpoint" | "ec2_metadata_service_endpoint_mode" => issues.push(warning(
            path(),
            format!("forge does not read `{name}`: the SDK's credential chain takes the metadata endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT(_MODE) and the shared config file"),
            Some(format!("remove `{name}` and export the variable instead")),
        )),
        "s3_us_east_1_regional_endpoint" => issues.push(warning(
            path(),
            "forge always uses S3's regional endpoint in us-east-1 (the global endpoint is deprecated)".to_string(),
            Some("remove `s3_us_east_1_regional_endpoint`".to_string()),
        )),
        "token_bucket_rate_limiter_capacity" => issues.push(warning(
            path(),
            "forge does not set the SDK's retry token bucket capacity; its own defaults apply".to_string(),
            None,
        )),
        _ => {}
    }
}

fn unknown_name<'a>(
    path: Vec<String>,
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> ConfigIssue {
    let where_ = if path.len() > 1 {
        format!("the `{}` block", path[0])
    } else {
        "the provider \"aws\" block".to_string()
    };
    let hint = did_you_mean(name, candidates).map(|s| format!("did you mean `{s}`?"));
    error(
        path,
        format!("{where_} has no argument named `{name}`"),
        hint.as_deref(),
    )
}

/// The candidate closest to a misspelt name, if one is close enough to be meant.
fn did_you_mean<'a>(wrong: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(wrong, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn error(path: Vec<String>, message: impl Into<String>, hint: Option<&str>) -> ConfigIssue {
    ConfigIssue {
        path,
        severity: IssueSeverity::Error,
        message: message.into(),
        hint: hint.map(str::to_string),
    }
}

fn warning(path: Vec<String>, message: impl Into<String>, hint: Option<String>) -> ConfigIssue {
    ConfigIssue {
        path,
        severity: IssueSeverity::Warning,
        message: message.into(),
        hint,
    }
}

/// The blocks of one kind: nested blocks arrive as lists of objects, or as one object.
fn blocks(config: &Value, name: &str) -> Vec<Value> {
    config.get(name).map(blocks_of).unwrap_or_default()
}

fn blocks_of(v: &Value) -> Vec<Value> {
    match v.unmarked() {
        Value::Null => Vec::new(),
        Value::Object(_) | Value::Map(_) => vec![v.clone()],
        other => other.as_seq().map(<[Value]>::to_vec).unwrap_or_default(),
    }
}

/// A region name's shape (`us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`):
/// the provider checks names against its list; forge checks the shape, which catches
/// the typical typo (`us-east1`, `useast-1`) without a list that goes stale.
fn looks_like_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// `~/` at the start of a path is the home folder, as the provider expands it.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn describe(v: &Value) -> String {
    match v.unmarked() {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        other => format!("a {}", other.kind_name()),
    }
}

/// Typed access to one object of the block, errors naming the argument.
struct Reader<'a> {
    value: &'a Value,
    prefix: String,
}

impl Reader<'_> {
    fn value(&self, key: &str) -> Option<&Value> {
        self.value.get_non_null(key)
    }

    fn wrong(&self, key: &str, expected: &str, v: &Value) -> ProviderError {
        ProviderError::new(format!(
            "`{}{key}`: expected {expected}, found {}",
            self.prefix,
            describe(v)
        ))
    }

    fn string(&self, key: &str) -> Result<Option<String>, ProviderError> {
        match self.value(key) {
            None => Ok(None),
            Some(v) => match v.unmarked() {
                Value::String(s) => Ok(Some(s.clone())),
                Value::Number(n) => Ok(Some(n.to_string())),
                Value::Bool(b) => Ok(Some(b.to_string())),
                _ => Err(self.wrong(key, "a string", v)),
            },
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, ProviderError> {
        match self.value(key) {
            None => Ok(None),
            Some(v) => match v.unmarked() {
                Value::Bool(b) => Ok(Some(*b)),
                Value::String(s) if s == "true" => Ok(Some(true)),
                Value::String(s) if s == "false" => Ok(Some(false)),
                _ => Err(self.wrong(key, "true or false", v)),
            },
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, ProviderError> {
        let Some(v) = self.value(key) else {
            return Ok(Vec::new());
        };
        let Some(items) = v.as_seq() else {
            return Err(self.wrong(key, "a list of strings", v));
        };
        items
            .iter()
            .map(|item| match item.unmarked() {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(self.wrong(key, "a list of strings", item)),
            })
            .collect()
    }

    fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let Some(v) = self.value(key) else {
            return Ok(BTreeMap::new());
        };
        let Some(m) = v.as_map() else {
            return Err(self.wrong(key, "a map of strings", v));
        };
        m.iter()
            .map(|(k, item)| match item.as_str() {
                Some(s) => Ok((k.clone(), s.to_string())),
                None => Err(self.wrong(&format!("{key}.{k}"), "a string", item)),
            })
            .collect()
    }

    fn duration(&self, key: &str) -> Result<Option<Duration>, ProviderError> {
        match self.string(key)? {
            None => Ok(None),
            Some(text) => parse_duration(&text).map(Some).ok_or_else(|| {
                ProviderError::new(format!(
                    "`{}{key} = {text:?}`: write a duration such as \"1h\", \"45m\" or \"900s\"",
                    self.prefix
                ))
            }),
        }
    }
}

/// Go's duration syntax as the provider and the S3 backend take it: numbers with `h`,
/// `m`, `s` units (and the smaller ones Go knows), in sequence (`1h30m`, `900s`, `15m`).
/// `None` for anything else, for zero, and for a value too large to hold (never an
/// overflow).
pub fn parse_duration(text: &str) -> Option<Duration> {
    parse_go_duration(text).filter(|d| !d.is_zero())
}

/// Go's `time.ParseDuration` for values that cannot be negative, as Terraform's flags
/// (`-lock-timeout=1m30s`) and the provider's arguments take them: a sequence of decimal
/// numbers, each with a fraction allowed and a unit `h`, `m`, `s`, `ms`, `us` (`µs`) or
/// `ns`; `0` alone is zero. `None` for anything else, including a sign and a value too
/// large for a `Duration` (never an overflow).
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    const NANOS_PER_SECOND: u128 = 1_000_000_000;
    if text == "0" {
        return Some(Duration::ZERO);
    }
    if text.is_empty() {
        return None;
    }
    let mut total_nanos: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let unit_nanos: u128 = match unit {
            "h" => 3600 * NANOS_PER_SECOND,
            "m" => 60 * NANOS_PER_SECOND,
            "s" => NANOS_PER_SECOND,
            "ms" => 1_000_000,
            "us" | "µs" | "μs" => 1_000,
            "ns" => 1,
            _ => return None,
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return None;
        }
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut nanos = whole.checked_mul(unit_nanos)?;
        // Digits beyond a nanosecond are dropped, as Go drops them.
        let mut scale = unit_nanos;
        for digit in fraction.bytes() {
            scale /= 10;
            nanos = nanos.checked_add(u128::from(digit - b'0') * scale)?;
        }
        total_nanos = total_nanos.checked_add(nanos)?;
        rest = tail;
    }
    let seconds = u64::try_from(total_nanos / NANOS_PER_SECOND).ok()?;
    let nanos = u32::try_from(total_nanos % NANOS_PER_SECOND).ok()?;
    Some(Duration::new(seconds, nanos))
}

#[cfg(test)]
#[path = "provider_block_tests.rs"]
mod tests;

fn list_block(schema: Schema) -> BlockType {
    BlockType {
        schema,
        ..BlockType::default()
    }
}
