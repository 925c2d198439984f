//! Reading a module archive from S3 with the AWS SDK: the usual credential chain and
//! endpoint settings apply (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL[_S3]), as
//! go-getter's S3 getter uses the AWS SDK's defaults.

use aws_sdk_s3::error::DisplayErrorContext;

use crate::address::S3Object;

/// The object's bytes, at most `max_bytes` of them.
pub fn get_object(object: &S3Object, max_bytes: usize) -> Result<Vec<u8>, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the S3 client: {e}"))?;
                runtime.block_on(get(object, max_bytes))
            })
            .join()
            .map_err(|_| "the S3 client thread failed".to_string())?
    })
}

async fn get(object: &S3Object, max_bytes: usize) -> Result<Vec<u8>, String> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &object.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    // The proxy variables, as the registry and archive downloads read them (the SDK's
    // default client leaves them alone).
    let proxy = aws_smithy_http_client::proxy::ProxyConfig::from_env();
    if !proxy.is_disabled() {
        let client = forge_aws_common::transport::proxied_client(proxy, Default::default());
        loader = loader.http_client(client);
    }
    let shared = loader.load().await;
    let mut config = aws_sdk_s3::config::Builder::from(&shared);
    if shared.region().is_none() {
        config = config.region(aws_config::Region::new("us-east-1"));
    }
    // Another S3-compatible endpoint (the source's own, or AWS_ENDPOINT_URL's) is
    // addressed path-style: its host names no bucket.
    if let Some(endpoint) = &object.endpoint {
        config = config.endpoint_url(endpoint).force_path_style(true);
    } else if shared.endpoint_url().is_some() {
        config = config.force_path_style(true);
    }
    let client = aws_sdk_s3::Client::from_conf(config.build());
    let answer = client
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .set_version_id(object.version.clone())
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read s3://{}/{}: {}",
                object.bucket,
                object.key,
                DisplayErrorContext(&e)
            )
        })?;
    if answer
        .content_length()
        .is_some_and(|n| u64::try_from(n).unwrap_or(0) > max_bytes as u64)
    {
        return Err(format!(
            "s3://{}/{} is larger than {max_bytes} bytes, more than forge reads for a module",
            object.bucket, object.key
        ));
    }
    let bytes = answer
        .body
        .collect()
        .await
        .map_err(|e| format!("cannot read s3://{}/{}: {e}", object.bucket, object.key))?
        .into_bytes();
    if bytes.len() > max_bytes {
        return Err(format!(
            "s3://{}/{} is larger than {max_bytes} bytes",
            object.bucket, object.key
        ));
    }
    Ok(bytes.to_vec())
}
