//! OpenTofu's `aws_kms` key provider, AWS side: data keys from AWS KMS
//! (`GenerateDataKey` with the configured `key_spec`, `Decrypt` of a stored
//! `CiphertextBlob`), as `forge_provider::DataKeyService`.
//!
//! The key provider's AWS settings mirror the S3 backend's (OpenTofu's aws_kms config:
//! region, profile, access_key/secret_key/token, assume_role,
//! assume_role_with_web_identity, shared files, account checks, retries, proxies,
//! `endpoints { iam, sts }`); they mean what the provider block's do, so they are read
//! by the provider block's reader and acted on by the same identity code, with the
//! unit's `iam_role` as the base credentials unless they name their own. KMS itself is
//! reached at the SDK's standard endpoint (`AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL`),
//! as OpenTofu's is.
//!
//! The engine asks for keys synchronously (the journal is written and read that way),
//! so each opened key provider owns a thread with its own runtime, where its KMS client
//! lives and its requests run; the thread ends when the service is dropped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use forge_aws_common::AwsContext;
use forge_aws_common::provider_block;
use forge_provider::{
    DataKey, DataKeyService, IssueSeverity, KeyServiceFactory, OpenedKeyService, ProviderError,
    UnitRole, Value,
};

/// The AWS settings OpenTofu's aws_kms key provider takes besides its key.
const AWS_SETTINGS: &[&str] = &[
    "access_key",
    "secret_key",
    "token",
    "profile",
    "region",
    "endpoints",
    "max_retries",
    "retry_mode",
    "skip_credentials_validation",
    "skip_requesting_account_id",
    "sts_region",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "insecure",
    "use_dualstack_endpoint",
    "use_fips_endpoint",
    "custom_ca_bundle",
    "ec2_metadata_service_endpoint",
    "ec2_metadata_service_endpoint_mode",
    "skip_metadata_api_check",
    "shared_credentials_files",
    "shared_config_files",
    "assume_role",
    "assume_role_with_web_identity",
    "allowed_account_ids",
    "forbidden_account_ids",
];

/// OpenTofu's aws_kms `endpoints` block: IAM and STS only (KMS takes the SDK's).
const ENDPOINTS: &[&str] = &["iam", "sts"];

/// Opens `aws_kms` key providers.
#[derive(Default)]
pub struct AwsKmsKeyServices;

impl AwsKmsKeyServices {
    pub fn new() -> Self {
        AwsKmsKeyServices
    }
}

impl KeyServiceFactory for AwsKmsKeyServices {
    fn key_provider_type(&self) -> &'static str {
        "aws_kms"
    }

    fn open(
        &self,
        arguments: &BTreeMap<String, Value>,
        role: Option<&UnitRole>,
    ) -> Result<OpenedKeyService, ProviderError> {
        let settings = KmsSettings::read(arguments)?;
        let notices = provider_block::check(&settings.aws)
            .into_iter()
            .filter(|i| i.severity == IssueSeverity::Warning)
            .map(|i| format!("`{}`: {}", i.path.join("."), i.message))
            .collect();
        let service = KmsWorker::start(settings, role.cloned())?;
        Ok(OpenedKeyService {
            service: Arc::new(service),
            notices,
        })
    }
}

/// The key provider's arguments, read.
struct KmsSettings {
    kms_key_id: String,
    key_spec: DataKeySpec,
    /// The AWS settings, shaped as a provider block's.
    aws: Value,
}

impl KmsSettings {
    fn read(arguments: &BTreeMap<String, Value>) -> Result<Self, ProviderError> {
        let string = |name: &str| -> Result<Option<String>, ProviderError> {
            match arguments.get(name).map(Value::unmarked) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(ProviderError::new(format!(
                    "`{name}` must be a string, not {}",
                    other.kind_name()
                ))),
            }
        };
        let kms_key_id = string("kms_key_id")?.ok_or_else(|| {
            ProviderError::new("no kms_key_id provided")
                .hint("kms_key_id = the key's id, ARN or alias (alias/NAME)")
        })?;
        let spec_text = string("key_spec")?.ok_or_else(|| {
            ProviderError::new("no key_spec provided").hint("key_spec = \"AES_256\"")
        })?;
        let key_spec = match spec_text.as_str() {
            "AES_256" => DataKeySpec::Aes256,
            "AES_128" => DataKeySpec::Aes128,
            other => {
                return Err(ProviderError::new(format!(
                    "invalid key_spec {other:?}, expected one of AES_256, AES_128"
                )));
            }
        };
        let mut aws = BTreeMap::new();
        for (name, value) in arguments {
            match name.as_str() {
                "kms_key_id" | "key_spec" => {}
                "endpoints" => {
                    if let Some(map) = value.unmarked().as_map()
                        && let Some(other) = map.keys().find(|k| !ENDPOINTS.contains(&k.as_str()))
                    {
                        return Err(ProviderError::new(format!(
                            "endpoints has no `{other}` (it takes iam and sts; KMS's endpoint comes from AWS_ENDPOINT_URL_KMS or AWS_ENDPOINT_URL)"
                        )));
                    }
                    aws.insert(name.clone(), value.clone());
                }
                known if AWS_SETTINGS.contains(&known) => {
                    aws.insert(name.clone(), value.clone());
                }
                other => {
                    return Err(ProviderError::new(format!(
                        "key_provider \"aws_kms\" has no argument `{other}`"
                    ))
                    .hint("it takes kms_key_id, key_spec and the S3 backend's AWS settings (region, profile, assume_role, ...)"));
                }
            }
        }
        Ok(KmsSettings {
            kms_key_id,
            key_spec,
            aws: Value::Object(aws),
        })
    }
}

enum Request {
    Generate(mpsc::Sender<Result<DataKey, ProviderError>>),
    Unwrap(Vec<u8>, mpsc::Sender<Result<Vec<u8>, ProviderError>>),
}

/// One key provider's KMS client, on its own thread (see the module's comment).
struct KmsWorker {
    requests: mpsc::Sender<Request>,
}

impl KmsWorker {
    /// Starts the thread and waits until its client is configured (a configuration
    /// error, such as no region, is reported here).
    fn start(settings: KmsSettings, role: Option<UnitRole>) -> Result<Self, ProviderError> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), ProviderError>>();
        let (requests, incoming) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("forge-aws-kms".into())
            .spawn(move || serve(settings, role, ready_tx, incoming))
            .map_err(|e| ProviderError::new(format!("cannot start the KMS client: {e}")))?;
        ready_rx
            .recv()
            .map_err(|_| ProviderError::new("the KMS client stopped while starting"))??;
        Ok(KmsWorker { requests })
    }

    fn ask<T>(
        &self,
        request: impl FnOnce(mpsc::Sender<Result<T, ProviderError>>) -> Request,
    ) -> Result<T, ProviderError> {
        let (reply, answer) = mpsc::channel();
        self.requests
            .send(request(reply))
            .map_err(|_| ProviderError::new("the KMS client has stopped"))?;
        answer
            .recv()
            .map_err(|_| ProviderError::new("the KMS client stopped without answering"))?
    }
}

impl DataKeyService for KmsWorker {
    fn generate(&self) -> Result<DataKey, ProviderError> {
        self.ask(Request::Generate)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Vec<u8>, ProviderError> {
        let wrapped = wrapped.to_vec();
        self.ask(|reply| Request::Unwrap(wrapped, reply))
    }
}

/// The thread's body: configure the client, then answer requests until the service is
/// dropped.
fn serve(
    settings: KmsSettings,
    role: Option<UnitRole>,
    ready: mpsc::Sender<Result<(), ProviderError>>,
    incoming: mpsc::Receiver<Request>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = ready.send(Err(ProviderError::new(format!(
                "cannot start the KMS client's runtime: {e}"
            ))));
            return;
        }
    };
    let client = match runtime.block_on(kms_client(&settings.aws, role.as_ref())) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        return;
    }
    let key_id = settings.kms_key_id;
    while let Ok(request) = incoming.recv() {
        match request {
            Request::Generate(reply) => {
                let answer = runtime.block_on(async {
                    let out = client
                        .generate_data_key()
                        .key_id(&key_id)
                        .key_spec(settings.key_spec.clone())
                        .send()
                        .await
                        .map_err(|e| kms_error("kms:GenerateDataKey", &key_id, e))?;
                    match (out.plaintext, out.ciphertext_blob) {
                        (Some(p), Some(c)) => Ok(DataKey {
                            plaintext: p.into_inner(),
                            wrapped: c.into_inner(),
                        }),
                        _ => Err(ProviderError::new(format!(
                            "kms:GenerateDataKey for {key_id} returned no key"
                        ))),
                    }
                });
                let _ = reply.send(answer);
            }
            Request::Unwrap(wrapped, reply) => {
                let answer = runtime.block_on(async {
                    let out = client
                        .decrypt()
                        .key_id(&key_id)
                        .ciphertext_blob(Blob::new(wrapped))
                        .send()
                        .await
                        .map_err(|e| kms_error("kms:Decrypt", &key_id, e))?;
                    out.plaintext.map(Blob::into_inner).ok_or_else(|| {
                        ProviderError::new(format!("kms:Decrypt for {key_id} returned no key"))
                    })
                });
                let _ = reply.send(answer);
            }
        }
    }
}

/// The KMS client for the key provider's AWS settings, acting as the unit's role unless
/// the settings name their own credentials (the provider block's rules).
async fn kms_client(
    aws: &Value,
    role: Option<&UnitRole>,
) -> Result<aws_sdk_kms::Client, ProviderError> {
    let ctx = AwsContext::from_provider_config_as(aws, role).await?;
    Ok(forge_aws_common::service_client!(aws_sdk_kms, &ctx, "kms"))
}

fn kms_error<E, R>(
    operation: &str,
    key_id: &str,
    e: aws_sdk_kms::error::SdkError<E, R>,
) -> ProviderError
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let mut err = forge_aws_common::sdk_error(e);
    err.message = format!("{operation} with kms_key_id {key_id:?}: {}", err.message);
    if err.hint.is_none() {
        err.hint = Some(
            "check kms_key_id (the key's id, ARN or alias/NAME), its region, and that these credentials may use it".into(),
        );
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn refusal(pairs: &[(&str, Value)]) -> String {
        match KmsSettings::read(&args(pairs)) {
            Ok(_) => panic!("accepted: {pairs:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_opentofus_arguments_and_shapes_the_aws_ones_as_a_provider_block() {
        let settings = KmsSettings::read(&args(&[
            ("kms_key_id", Value::string("alias/state")),
            ("key_spec", Value::string("AES_128")),
            ("region", Value::string("eu-west-1")),
            (
                "assume_role",
                Value::object([("role_arn", Value::string("arn:aws:iam::1:role/r"))]),
            ),
            (
                "endpoints",
                Value::object([("sts", Value::string("http://127.0.0.1:4566"))]),
            ),
        ]))
        .expect("valid");
        assert_eq!(settings.kms_key_id, "alias/state");
        assert_eq!(settings.key_spec, DataKeySpec::Aes128);
        let aws = settings.aws.as_map().expect("object");
        assert_eq!(
            aws.keys().map(String::as_str).collect::<Vec<_>>(),
            ["assume_role", "endpoints", "region"]
        );
        // What the provider block makes of them: the role to assume, the region.
        let provider = provider_block::ProviderSettings::read(&settings.aws).expect("provider");
        assert_eq!(provider.region.as_deref(), Some("eu-west-1"));
        assert_eq!(provider.assume_roles[0].role_arn, "arn:aws:iam::1:role/r");
    }

    #[test]
    fn refuses_what_opentofu_refuses_and_names_it() {
        let key = ("kms_key_id", Value::string("alias/state"));
        let spec = ("key_spec", Value::string("AES_256"));
        assert!(refusal(std::slice::from_ref(&spec)).contains("no kms_key_id"));
        assert!(refusal(std::slice::from_ref(&key)).contains("no key_spec"));
        let bad_spec = refusal(&[key.clone(), ("key_spec", Value::string("AES_512"))]);
        assert!(
            bad_spec.contains("invalid key_spec \"AES_512\""),
            "{bad_spec}"
        );
        let unknown = refusal(&[key.clone(), spec.clone(), ("bucket", Value::string("b"))]);
        assert!(unknown.contains("no argument `bucket`"), "{unknown}");
        let kms_endpoint = refusal(&[
            key,
            spec,
            (
                "endpoints",
                Value::object([("kms", Value::string("http://x"))]),
            ),
        ]);
        assert!(
            kms_endpoint.contains("endpoints has no `kms`"),
            "{kms_endpoint}"
        );
    }
}
