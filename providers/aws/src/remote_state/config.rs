//! The `config` object of `remote_state { backend = "s3" }`, read the way Terraform's S3
//! backend and Terragrunt read it: Terraform's keys for where the state lives and how it
//! is locked, Terragrunt's keys for how a missing bucket or table is created.

use std::collections::BTreeMap;

use forge_provider::{BackendError, Value};

/// Keys forge reads.
const READ_KEYS: &[&str] = &[
    "bucket",
    "key",
    "region",
    "encrypt",
    "kms_key_id",
    "sse_customer_key",
    "acl",
    "dynamodb_table",
    "use_lockfile",
    "endpoints",
    "endpoint",
    "dynamodb_endpoint",
    "use_path_style",
    "force_path_style",
    "access_key",
    "secret_key",
    "token",
    "profile",
    "workspace_key_prefix",
    "role_arn",
    "assume_role",
    "session_name",
    "external_id",
    "assume_role_duration_seconds",
    "assume_role_policy",
    "assume_role_policy_arns",
    "assume_role_tags",
    "sts_endpoint",
    "sts_region",
    "shared_credentials_file",
    "shared_credentials_files",
    "shared_config_files",
    "allowed_account_ids",
    "forbidden_account_ids",
    "max_retries",
    "retry_mode",
    "insecure",
    "custom_ca_bundle",
    // Terragrunt's bootstrap settings.
    "skip_bucket_versioning",
    "skip_bucket_ssencryption",
    "skip_bucket_public_access_blocking",
    "skip_bucket_root_access",
    "skip_bucket_enforced_tls",
    "disable_bucket_update",
    "enable_lock_table_ssencryption",
    "s3_bucket_tags",
    "dynamodb_table_tags",
    "bucket_sse_algorithm",
    "bucket_sse_kms_key_id",
];

/// Keys forge accepts without acting on them: client tuning, checks that only matter
/// against real AWS, and Terragrunt extras forge does not implement. Each one set is
/// named in a notice (`not_acted_on`).
const ACCEPTED_KEYS: &[&str] = &[
    "skip_credentials_validation",
    "skip_region_validation",
    "skip_requesting_account_id",
    "skip_metadata_api_check",
    "skip_s3_checksum",
    "use_dualstack_endpoint",
    "use_fips_endpoint",
    "use_legacy_workflow",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "ec2_metadata_service_endpoint",
    "ec2_metadata_service_endpoint_mode",
    "iam_endpoint",
    "skip_bucket_accesslogging",
    "accesslogging_bucket_name",
    "accesslogging_target_prefix",
    "accesslogging_bucket_tags",
    "skip_accesslogging_bucket_acl",
    "skip_accesslogging_bucket_enforced_tls",
    "skip_accesslogging_bucket_public_access_blocking",
    "skip_accesslogging_bucket_ssencryption",
    "disable_aws_client_checksums",
];

/// Keys that would make forge act as another identity: refused rather than ignored, so
/// that a state is never written with the wrong credentials.
const ROLE_KEYS: &[&str] = &[
    "assume_role_with_web_identity",
    "assume_role_transitive_tag_keys",
];

/// How the state object is encrypted at rest on each write.
#[derive(Clone, PartialEq, Eq)]
pub enum ObjectEncryption {
    None,
    /// SSE-S3 (`AES256`).
    S3Managed,
    /// SSE-KMS with the given key (the account's default key when `None`).
    Kms(Option<String>),
    /// SSE-C: the base64 of a 256-bit key, sent with every read and write. Debug hides it.
    CustomerKey(String),
}

impl std::fmt::Debug for ObjectEncryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObjectEncryption::None => f.write_str("None"),
            ObjectEncryption::S3Managed => f.write_str("S3Managed"),
            ObjectEncryption::Kms(k) => f.debug_tuple("Kms").field(k).finish(),
            ObjectEncryption::CustomerKey(_) => f.write_str("CustomerKey(..)"),
        }
    }
}

/// The bucket's default encryption when forge creates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketEncryption {
    /// `AES256` or `aws:kms`.
    pub algorithm: String,
    pub kms_key_id: Option<String>,
}

/// The evaluated backend settings.
#[derive(Clone, Debug)]
pub struct S3BackendConfig {
    pub bucket: String,
    pub key: String,
    pub region: Option<String>,
    pub object_encryption: ObjectEncryption,
    pub acl: Option<String>,
    pub dynamodb_table: Option<String>,
    pub use_lockfile: bool,
    pub s3_endpoint: Option<String>,
    pub dynamodb_endpoint: Option<String>,
    /// Path-style addressing asked for explicitly (`use_path_style`, `force_path_style`).
    pub path_style: bool,
    pub static_credentials: Option<StaticCredentials>,
    pub profile: Option<String>,
    /// The role to assume with those credentials, if any.
    pub role: Option<super::role::RoleSettings>,
    /// The unit's Terragrunt `iam_role`, not a config key: assumed first, with the
    /// environment's credentials, unless the config names its own profile or keys.
    pub unit_role: Option<forge_provider::UnitRole>,
    /// STS endpoint for assuming the role (`endpoints.sts`, legacy `sts_endpoint`).
    pub sts_endpoint: Option<String>,
    /// The identity settings shared with the provider block: shared files, retries,
    /// STS region, CA bundle, and the account checks.
    pub identity: IdentitySettings,
    pub bootstrap: BootstrapSettings,
    /// Settings accepted but not acted upon, for notices.
    pub ignored_notes: Vec<String>,
}

#[derive(Clone)]
pub struct StaticCredentials {
    pub access_key: String,
    pub secret_key: String,
    pub token: Option<String>,
}

impl std::fmt::Debug for StaticCredentials {
    // The secret never reaches a log, even through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// The settings the backend reads as the provider block does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentitySettings {
    pub shared_config_files: Vec<String>,
    pub shared_credentials_files: Vec<String>,
    pub allowed_account_ids: Vec<String>,
    pub forbidden_account_ids: Vec<String>,
    pub max_retries: Option<u32>,
    pub retry_mode: Option<String>,
    pub sts_region: Option<String>,
    pub custom_ca_bundle: Option<String>,
}

/// Terragrunt's settings for creating a missing bucket or table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapSettings {
    pub versioning: bool,
    pub encryption: Option<BucketEncryption>,
    pub block_public_access: bool,
    /// Terragrunt's `EnforcedTLS` statement: requests not over TLS are denied.
    pub enforced_tls: bool,
    /// Terragrunt's `RootAccess` statement: the account's root may manage the bucket.
    pub root_access: bool,
    pub bucket_tags: BTreeMap<String, String>,
    pub table_tags: BTreeMap<String, String>,
    pub table_encryption: bool,
    /// Whether this run may create a missing bucket or table: only a command that
    /// changes something, or one asked to (`--backend-bootstrap`). Not a config key: the
    /// factory's ([`super::S3BackendFactory::creating_missing`]).
    pub create_missing: bool,
}

impl S3BackendConfig {
    /// Reads the `config` object. Every error names the `remote_state` setting at fault
    /// and what to write instead.
    pub fn from_value(config: &Value) -> Result<Self, BackendError> {
        Self::parse(config).map_err(BackendError::Other)
    }

    fn parse(config: &Value) -> Result<Self, String> {
        let Some(map) = config.as_map() else {
            return Err(bad(format!(
                "remote_state: `config` must be an object such as {{ bucket = \"...\", key = \"...\", region = \"...\" }}, not a {}",
                config.kind_name()
            )));
        };
        check_keys(map)?;
        let reader = Reader {
            map,
            prefix: "config",
        };

        let bucket = reader.required_string("bucket")?;
        check_bucket_name(&bucket)?;
        let key = reader.required_string("key")?;
        check_object_key(&key)?;

        let encrypt = reader.bool("encrypt")?.unwrap_or(false);
        let kms_key_id = reader.string("kms_key_id")?;
        let sse_customer_key = reader.string("sse_customer_key")?;
        let object_encryption = object_encryption(encrypt, kms_key_id.clone(), sse_customer_key)?;

        let endpoints = reader.endpoints()?;
        let s3_endpoint = endpoints.get("s3").cloned().or(reader.string("endpoint")?);
        let dynamodb_endpoint = endpoints
            .get("dynamodb")
            .cloned()
            .or(reader.string("dynamodb_endpoint")?);
        let sts_endpoint = endpoints
            .get("sts")
            .cloned()
            .or(reader.string("sts_endpoint")?);
        let path_style = reader.bool("use_path_style")?.unwrap_or(false)
            || reader.bool("force_path_style")?.unwrap_or(false);

        let static_credentials = match (reader.string("access_key")?, reader.string("secret_key")?)
        {
            (Some(access_key), Some(secret_key)) => Some(StaticCredentials {
                access_key,
                secret_key,
                token: reader.string("token")?,
            }),
            (None, None) => None,
            _ => {
                return Err(bad(
                    "remote_state config: `access_key` and `secret_key` go together; set both, or neither to use the standard credential chain"
                        .to_string(),
                ));
            }
        };

        let bootstrap = BootstrapSettings {
            versioning: !reader.bool("skip_bucket_versioning")?.unwrap_or(false),
            encryption: bucket_encryption(&reader, kms_key_id.as_deref())?,
            block_public_access: !reader
                .bool("skip_bucket_public_access_blocking")?
                .unwrap_or(false),
            enforced_tls: !reader.bool("skip_bucket_enforced_tls")?.unwrap_or(false),
            root_access: !reader.bool("skip_bucket_root_access")?.unwrap_or(false),
            bucket_tags: reader.string_map("s3_bucket_tags")?,
            table_tags: reader.string_map("dynamodb_table_tags")?,
            table_encryption: reader
                .bool("enable_lock_table_ssencryption")?
                .unwrap_or(false),
            create_missing: false,
        };

        let identity = identity_settings(&reader)?;
        let mut ignored_notes = not_acted_on(map);
        if reader.string("accesslogging_bucket_name")?.is_some() {
            ignored_notes.push(format!(
                "remote_state config.accesslogging_bucket_name: forge does not set up access logging for the state bucket {bucket}; configure it on the bucket yourself"
            ));
        }
        if let Some(prefix) = reader.string("workspace_key_prefix")? {
            ignored_notes.push(format!(
                "remote_state config.workspace_key_prefix = {prefix:?} only matters for non-default workspaces, which forge does not use; the state is at {key}"
            ));
        }

        Ok(S3BackendConfig {
            bucket,
            key,
            region: reader.string("region")?,
            object_encryption,
            acl: reader.string("acl")?,
            dynamodb_table: reader.string("dynamodb_table")?,
            use_lockfile: reader.bool("use_lockfile")?.unwrap_or(false),
            s3_endpoint,
            dynamodb_endpoint,
            path_style,
            static_credentials,
            profile: reader.string("profile")?,
            role: super::role::read(&reader)?,
            unit_role: None,
            sts_endpoint,
            identity,
            bootstrap,
            ignored_notes,
        })
    }

    /// `<bucket>/<key>`: the lock item's `LockID` and the lock's `Path`, as Terraform names them.
    pub fn lock_path(&self) -> String {
        format!("{}/{}", self.bucket, self.key)
    }

    /// The digest item's `LockID`.
    pub fn digest_id(&self) -> String {
        format!("{}/{}-md5", self.bucket, self.key)
    }

    /// The S3 lock object's key (`use_lockfile`).
    pub fn lockfile_key(&self) -> String {
        format!("{}.tflock", self.key)
    }

    /// True when S3 must be addressed path-style: asked for, or any custom endpoint in
    /// force (virtual-hosted names such as `<bucket>.127.0.0.1` do not resolve).
    pub fn needs_path_style(&self) -> bool {
        self.path_style
            || self.s3_endpoint.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
    }
}

/// The identity settings, checked: the same meaning as in the provider block.
fn identity_settings(reader: &Reader<'_>) -> Result<IdentitySettings, String> {
    if reader.bool("insecure")?.unwrap_or(false) {
        return Err(bad(
            "remote_state config.insecure: forge does not turn TLS certificate checks off; remove it, or set custom_ca_bundle to a private certificate authority's PEM file".to_string(),
        ));
    }
    let mut shared_credentials_files =
        super::role::string_list(reader, "shared_credentials_files")?;
    // The older singular key names one file.
    if let Some(file) = reader.string("shared_credentials_file")? {
        shared_credentials_files.push(file);
    }
    let allowed_account_ids = super::role::string_list(reader, "allowed_account_ids")?;
    let forbidden_account_ids = super::role::string_list(reader, "forbidden_account_ids")?;
    if !allowed_account_ids.is_empty() && !forbidden_account_ids.is_empty() {
        return Err(bad(
            "remote_state config: `allowed_account_ids` and `forbidden_account_ids` conflict; set one of them".to_string(),
        ));
    }
    let max_retries = match reader.present("max_retries")? {
        None => None,
        Some(v) => match v.as_i64() {
            Some(n) if (0..=1000).contains(&n) => Some(n as u32),
            _ => {
                return Err(bad(format!(
                    "remote_state config.max_retries: expected a whole number from 0 to 1000, found {}",
                    describe_scalar(v)
                )));
            }
        },
    };
    let retry_mode = reader.string("retry_mode")?;
    if let Some(mode) = &retry_mode
        && mode != "standard"
        && mode != "adaptive"
    {
        return Err(bad(format!(
            "remote_state config.retry_mode = {mode:?}: expected \"standard\" or \"adaptive\""
        )));
    }
    Ok(IdentitySettings {
        shared_config_files: super::role::string_list(reader, "shared_config_files")?,
        shared_credentials_files,
        allowed_account_ids,
        forbidden_account_ids,
        max_retries,
        retry_mode,
        sts_region: reader.string("sts_region")?,
        custom_ca_bundle: reader.string("custom_ca_bundle")?,
    })
}

/// A notice for each accepted key set that forge does not act on. `false` switches
/// (`skip_... = false`) ask for what forge does anyway and need none.
fn not_acted_on(map: &BTreeMap<String, Value>) -> Vec<String> {
    map.iter()
        .filter(|(k, v)| {
            ACCEPTED_KEYS.contains(&k.as_str())
                && !v.is_null()
                && v.as_bool() != Some(false)
                && v.as_str() != Some("false")
                && v.as_str() != Some("")
        })
        .map(|(k, _)| {
            format!("remote_state config.{k}: forge accepts this setting but does not act on it")
        })
        .collect()
}

fn bad(message: String) -> String {
    message
}

fn check_keys(map: &BTreeMap<String, Value>) -> Result<(), String> {
    for (key, value) in map {
        let k = key.as_str();
        // `role_arn = null` (a common way to switch a setting off) asks for nothing.
        if ROLE_KEYS.contains(&k) && value.is_null() {
            continue;
        }
        if ROLE_KEYS.contains(&k) {
            return Err(bad(format!(
                "remote_state config.{k}: forge does not support `{k}` for the state backend; use `assume_role = {{ role_arn = \"...\" }}`, or give forge the role's credentials through the standard variables (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...)"
            )));
        }
        if !READ_KEYS.contains(&k) && !ACCEPTED_KEYS.contains(&k) {
            return Err(bad(format!(
                "remote_state config.{k}: the s3 backend has no setting named `{k}`; check the spelling (settings: bucket, key, region, encrypt, kms_key_id, dynamodb_table, use_lockfile, endpoints, use_path_style, ...)"
            )));
        }
    }
    Ok(())
}

/// S3's naming rules, checked here so that a typo is reported against the setting rather
/// than as a failed CreateBucket.
fn check_bucket_name(bucket: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let edges_ok =
        |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&bucket.len())
        && bucket.chars().all(allowed)
        && edges_ok(bucket.chars().next())
        && edges_ok(bucket.chars().last())
        && !bucket.contains("..");
    if valid {
        return Ok(());
    }
    Err(bad(format!(
        "remote_state config.bucket = {bucket:?} is not a valid S3 bucket name: use 3 to 63 lowercase letters, digits, hyphens and dots, starting and ending with a letter or digit"
    )))
}

/// Terraform's rules for the state key.
fn check_object_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err(bad("remote_state config.key: the state key must not be empty (for example \"production/app/terraform.tfstate\")".to_string()));
    }
    if key.starts_with('/') || key.ends_with('/') {
        return Err(bad(format!(
            "remote_state config.key = {key:?}: the state key must not start or end with \"/\""
        )));
    }
    if key.contains("//") {
        return Err(bad(format!(
            "remote_state config.key = {key:?}: the state key must not contain \"//\""
        )));
    }
    Ok(())
}

fn object_encryption(
    encrypt: bool,
    kms_key_id: Option<String>,
    sse_customer_key: Option<String>,
) -> Result<ObjectEncryption, String> {
    match (kms_key_id, sse_customer_key) {
        (Some(_), Some(_)) => Err(bad(
            "remote_state config: `kms_key_id` and `sse_customer_key` exclude each other; keep one"
                .to_string(),
        )),
        (None, Some(key)) => {
            if key.len() != 44 {
                return Err(bad(
                    "remote_state config.sse_customer_key: must be the base64 encoding of a 256-bit key (44 characters)"
                        .to_string(),
                ));
            }
            Ok(ObjectEncryption::CustomerKey(key))
        }
        (Some(kms), None) if encrypt => Ok(ObjectEncryption::Kms(Some(kms))),
        (_, None) if encrypt => Ok(ObjectEncryption::S3Managed),
        _ => Ok(ObjectEncryption::None),
    }
}

/// Terragrunt's default encryption for a bucket it creates: the algorithm asked for, or
/// the KMS key when one is named, else SSE-S3.
fn bucket_encryption(
    reader: &Reader<'_>,
    kms_key_id: Option<&str>,
) -> Result<Option<BucketEncryption>, String> {
    if reader.bool("skip_bucket_ssencryption")?.unwrap_or(false) {
        return Ok(None);
    }
    let key = reader
        .string("bucket_sse_kms_key_id")?
        .or(kms_key_id.map(str::to_string));
    let algorithm = match reader.string("bucket_sse_algorithm")? {
        Some(a) if a == "AES256" || a == "aws:kms" || a == "aws:kms:dsse" => a,
        Some(a) => {
            return Err(bad(format!(
                "remote_state config.bucket_sse_algorithm = {a:?}: use \"AES256\" or \"aws:kms\""
            )));
        }
        None if key.is_some() => "aws:kms".to_string(),
        None => "AES256".to_string(),
    };
    let kms_key_id = if algorithm == "AES256" { None } else { key };
    Ok(Some(BucketEncryption {
        algorithm,
        kms_key_id,
    }))
}

/// Typed access to the config object's settings, with errors that name them.
pub(super) struct Reader<'a> {
    pub map: &'a BTreeMap<String, Value>,
    /// Where these settings are, for messages: `config` or `config.assume_role`.
    pub prefix: &'a str,
}

impl Reader<'_> {
    /// The setting's name as the user would look for it (`config.bucket`).
    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.prefix)
    }

    pub(super) fn present(&self, key: &str) -> Result<Option<&Value>, String> {
        let at = self.at(key);
        match self.map.get(key) {
            None => Ok(None),
            Some(v) if v.is_null() => Ok(None),
            Some(v) if !v.is_wholly_known() => Err(bad(format!(
                "remote_state {at}: the value is not known until apply (it depends on a resource or a dependency's output); the state location must be known before anything runs"
            ))),
            Some(v) => Ok(Some(v)),
        }
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<String>, String> {
        let at = self.at(key);
        match self.present(key)? {
            None => Ok(None),
            Some(v) => match v.unmarked() {
                Value::String(s) if s.is_empty() => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                Value::Number(_) | Value::Bool(_) => Ok(Some(v.to_json().to_string())),
                other => Err(bad(format!(
                    "remote_state {at}: expected a string, found a {}",
                    other.kind_name()
                ))),
            },
        }
    }

    pub(super) fn required_string(&self, key: &str) -> Result<String, String> {
        let at = self.at(key);
        self.string(key)?.ok_or_else(|| {
            bad(format!(
                "remote_state {at}: the s3 backend needs `{key}`; add it to the remote_state config"
            ))
        })
    }

    /// A bool, also from the strings "true"/"false" that Terragrunt users often write.
    pub(super) fn bool(&self, key: &str) -> Result<Option<bool>, String> {
        let at = self.at(key);
        match self.present(key)? {
            None => Ok(None),
            Some(v) => match v.unmarked() {
                Value::Bool(b) => Ok(Some(*b)),
                Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
                Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
                _ => Err(bad(format!(
                    "remote_state {at}: expected true or false, found {}",
                    describe_scalar(v)
                ))),
            },
        }
    }

    pub(super) fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, String> {
        let at = self.at(key);
        match self.present(key)? {
            None => Ok(BTreeMap::new()),
            Some(v) => {
                let Some(m) = v.as_map() else {
                    return Err(bad(format!(
                        "remote_state {at}: expected a map of strings, found a {}",
                        v.kind_name()
                    )));
                };
                m.iter()
                    .map(|(k, v)| match v.unmarked() {
                        Value::String(s) => Ok((k.clone(), s.clone())),
                        Value::Number(_) | Value::Bool(_) => {
                            Ok((k.clone(), v.to_json().to_string()))
                        }
                        other => Err(bad(format!(
                            "remote_state {at}[\"{k}\"]: expected a string, found a {}",
                            other.kind_name()
                        ))),
                    })
                    .collect()
            }
        }
    }

    /// `endpoints = { s3 = "...", dynamodb = "..." }`, also written as a block (a list of
    /// one object).
    fn endpoints(&self) -> Result<BTreeMap<String, String>, String> {
        let Some(v) = self.present("endpoints")? else {
            return Ok(BTreeMap::new());
        };
        let object = match v.as_seq() {
            Some([first]) => first,
            Some([]) => return Ok(BTreeMap::new()),
            Some(_) => return Err(bad("remote_state config.endpoints: write one object, { s3 = \"...\", dynamodb = \"...\" }".to_string())),
            None => v,
        };
        let Some(m) = object.as_map() else {
            return Err(bad(format!(
                "remote_state config.endpoints: expected an object such as {{ s3 = \"http://...\" }}, found a {}",
                object.kind_name()
            )));
        };
        let mut out = BTreeMap::new();
        for (service, url) in m {
            match url.unmarked() {
                Value::Null => {}
                Value::String(s) if s.is_empty() => {}
                Value::String(s) => {
                    out.insert(service.clone(), s.clone());
                }
                other => {
                    return Err(bad(format!(
                        "remote_state config.endpoints.{service}: expected a URL string, found a {}",
                        other.kind_name()
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// A short rendering of a wrong scalar for an error (never of a sensitive one).
fn describe_scalar(v: &Value) -> String {
    match v {
        Value::Sensitive(_) => format!("a sensitive {}", v.kind_name()),
        Value::String(s) => format!("{s:?}"),
        Value::Number(_) => v.to_json().to_string(),
        other => format!("a {}", other.kind_name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    fn s(v: &str) -> Value {
        Value::string(v)
    }

    fn err(v: &Value) -> String {
        match S3BackendConfig::from_value(v) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("expected an error, got {c:?}"),
        }
    }

    #[test]
    fn reads_the_terraform_settings() {
        let c = S3BackendConfig::from_value(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("prod/app/terraform.tfstate")),
            ("region", s("eu-west-1")),
            ("encrypt", Value::Bool(true)),
            ("dynamodb_table", s("locks")),
            ("use_lockfile", s("true")),
            (
                "endpoints",
                config(&[
                    ("s3", s("http://s3.local")),
                    ("dynamodb", s("http://ddb.local")),
                ]),
            ),
        ]))
        .expect("valid config");
        assert_eq!(c.lock_path(), "state-bucket/prod/app/terraform.tfstate");
        assert_eq!(c.digest_id(), "state-bucket/prod/app/terraform.tfstate-md5");
        assert_eq!(c.lockfile_key(), "prod/app/terraform.tfstate.tflock");
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.object_encryption, ObjectEncryption::S3Managed);
        assert_eq!(c.dynamodb_table.as_deref(), Some("locks"));
        assert!(c.use_lockfile);
        assert_eq!(c.s3_endpoint.as_deref(), Some("http://s3.local"));
        assert_eq!(c.dynamodb_endpoint.as_deref(), Some("http://ddb.local"));
        assert!(c.needs_path_style());
        assert_eq!(
            c.bootstrap.encryption,
            Some(BucketEncryption {
                algorithm: "AES256".into(),
                kms_key_id: None
            })
        );
        assert!(c.bootstrap.versioning && c.bootstrap.block_public_access);
    }

    #[test]
    fn legacy_endpoint_settings_and_kms() {
        let c = S3BackendConfig::from_value(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("endpoint", s("http://legacy-s3")),
            ("dynamodb_endpoint", s("http://legacy-ddb")),
            ("encrypt", Value::Bool(true)),
            ("kms_key_id", s("arn:aws:kms:us-east-1:1:key/x")),
        ]))
        .expect("valid config");
        assert_eq!(c.s3_endpoint.as_deref(), Some("http://legacy-s3"));
        assert_eq!(c.dynamodb_endpoint.as_deref(), Some("http://legacy-ddb"));
        assert_eq!(
            c.object_encryption,
            ObjectEncryption::Kms(Some("arn:aws:kms:us-east-1:1:key/x".into()))
        );
        assert_eq!(
            c.bootstrap.encryption,
            Some(BucketEncryption {
                algorithm: "aws:kms".into(),
                kms_key_id: Some("arn:aws:kms:us-east-1:1:key/x".into())
            })
        );
    }

    #[test]
    fn endpoints_written_as_a_block() {
        let block = Value::Tuple(vec![config(&[("s3", s("http://one"))])]);
        let c = S3BackendConfig::from_value(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("endpoints", block),
        ]))
        .expect("valid config");
        assert_eq!(c.s3_endpoint.as_deref(), Some("http://one"));
        assert_eq!(c.dynamodb_endpoint, None);
    }

    #[test]
    fn missing_bucket_is_named() {
        let e = err(&config(&[("key", s("k"))]));
        assert!(
            e.contains("config.bucket") && e.contains("needs `bucket`"),
            "{e}"
        );
    }

    #[test]
    fn misspelt_setting_is_named() {
        let e = err(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("dynamo_table", s("t")),
        ]));
        assert!(
            e.contains("config.dynamo_table") && e.contains("no setting named"),
            "{e}"
        );
    }

    #[test]
    fn role_settings_are_refused() {
        let e = err(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            (
                "assume_role_with_web_identity",
                Value::object([("role_arn", s("arn:aws:iam::1:role/x"))]),
            ),
        ]));
        assert!(
            e.contains("config.assume_role_with_web_identity") && e.contains("does not support"),
            "{e}"
        );
        let c = S3BackendConfig::from_value(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("assume_role_with_web_identity", Value::Null),
        ]));
        assert!(c.is_ok(), "a null setting asks for nothing");
        let c = S3BackendConfig::from_value(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("role_arn", s("arn:aws:iam::1:role/x")),
        ]))
        .expect("role_arn is read");
        assert_eq!(
            c.role.map(|r| r.role_arn).as_deref(),
            Some("arn:aws:iam::1:role/x")
        );
    }

    #[test]
    fn bad_bucket_names_are_refused() {
        for name in ["b", "Upper-Case", "under_score", "-edge", "edge-", "a..b"] {
            let e = err(&config(&[("bucket", s(name)), ("key", s("k"))]));
            assert!(
                e.contains("config.bucket") && e.contains("not a valid S3 bucket name"),
                "{name}: {e}"
            );
        }
        assert!(
            S3BackendConfig::from_value(&config(&[
                ("bucket", s("my.state-bucket-01")),
                ("key", s("k"))
            ]))
            .is_ok()
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        for key in ["/lead", "trail/", "a//b"] {
            let e = err(&config(&[("bucket", s("state-bucket")), ("key", s(key))]));
            assert!(e.contains("config.key"), "{key}: {e}");
        }
    }

    #[test]
    fn unknown_value_is_refused() {
        let e = err(&config(&[("bucket", Value::Unknown), ("key", s("k"))]));
        assert!(
            e.contains("config.bucket") && e.contains("not known until apply"),
            "{e}"
        );
    }

    #[test]
    fn wrong_types_are_named() {
        let e = err(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("encrypt", s("yes")),
        ]));
        assert!(e.contains("config.encrypt") && e.contains("\"yes\""), "{e}");
        let e = err(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("s3_bucket_tags", s("x")),
        ]));
        assert!(
            e.contains("config.s3_bucket_tags") && e.contains("map of strings"),
            "{e}"
        );
        let e = err(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("encrypt", s("hunter2").sensitive()),
        ]));
        assert!(
            e.contains("config.encrypt")
                && e.contains("a sensitive string")
                && !e.contains("hunter2"),
            "{e}"
        );
        let e = err(&Value::string("b"));
        assert!(e.contains("must be an object"), "{e}");
    }

    #[test]
    fn credentials_go_in_pairs_and_are_not_printed() {
        let e = err(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("access_key", s("AKIA")),
        ]));
        assert!(e.contains("go together"), "{e}");
        let c = S3BackendConfig::from_value(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("access_key", s("AKIA")),
            ("secret_key", s("very-secret").sensitive()),
        ]))
        .expect("valid config");
        assert!(!format!("{c:?}").contains("very-secret"));
    }

    #[test]
    fn skipped_bootstrap_steps() {
        let c = S3BackendConfig::from_value(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("skip_bucket_versioning", Value::Bool(true)),
            ("skip_bucket_ssencryption", Value::Bool(true)),
            ("skip_bucket_public_access_blocking", s("true")),
            ("s3_bucket_tags", config(&[("team", s("platform"))])),
        ]))
        .expect("valid config");
        assert!(!c.bootstrap.versioning && !c.bootstrap.block_public_access);
        assert_eq!(c.bootstrap.encryption, None);
        assert_eq!(
            c.bootstrap.bucket_tags.get("team").map(String::as_str),
            Some("platform")
        );
        assert_eq!(c.object_encryption, ObjectEncryption::None);
    }

    #[test]
    fn identity_settings_are_read_and_checked() {
        let c = S3BackendConfig::from_value(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("allowed_account_ids", Value::Tuple(vec![s("111111111111")])),
            ("shared_credentials_file", s("/creds")),
            ("shared_config_files", Value::Tuple(vec![s("/config")])),
            ("max_retries", Value::Number(4.0)),
            ("retry_mode", s("adaptive")),
            ("sts_region", s("eu-west-1")),
        ]))
        .expect("valid");
        assert_eq!(c.identity.allowed_account_ids, ["111111111111"]);
        assert_eq!(c.identity.shared_credentials_files, ["/creds"]);
        assert_eq!(c.identity.shared_config_files, ["/config"]);
        assert_eq!(c.identity.max_retries, Some(4));
        assert_eq!(c.identity.sts_region.as_deref(), Some("eu-west-1"));

        let base = [("bucket", s("state-bucket")), ("key", s("k"))];
        let with = |extra: (&str, Value)| {
            let mut pairs = base.to_vec();
            pairs.push(extra);
            config(&pairs)
        };
        assert!(err(&with(("insecure", Value::Bool(true)))).contains("config.insecure"));
        assert!(err(&with(("retry_mode", s("legacy")))).contains("config.retry_mode"));
        let mut both = base.to_vec();
        both.push(("allowed_account_ids", Value::Tuple(vec![s("1")])));
        both.push(("forbidden_account_ids", Value::Tuple(vec![s("2")])));
        assert!(err(&config(&both)).contains("conflict"));
    }

    #[test]
    fn settings_not_acted_on_are_named_in_notes() {
        let c = S3BackendConfig::from_value(&config(&[
            ("bucket", s("state-bucket")),
            ("key", s("k")),
            ("http_proxy", s("http://proxy:3128")),
            ("skip_credentials_validation", Value::Bool(false)),
        ]))
        .expect("valid");
        assert_eq!(
            c.ignored_notes,
            ["remote_state config.http_proxy: forge accepts this setting but does not act on it"]
        );
    }

    #[test]
    fn debug_hides_the_customer_key() {
        let text = format!(
            "{:?}",
            ObjectEncryption::CustomerKey("c2VjcmV0LWtleQ==".into())
        );
        assert_eq!(text, "CustomerKey(..)");
    }
}
