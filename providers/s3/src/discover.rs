//! Buckets that carry the configuration's default tags or the name prefix (`forge drift
//! --unmanaged`). S3 lists buckets but not their tags: one GetBucketTagging per bucket.

use std::collections::BTreeMap;

use forge_aws_common::discovery::Marks;
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{Discovered, DiscoveryFilter, ProviderResult};

use crate::common::client;

pub async fn discover(
    ctx: &AwsContext,
    filter: &DiscoveryFilter,
) -> ProviderResult<Vec<Discovered>> {
    let marks = Marks::new(ctx, filter);
    if marks.is_empty() {
        return Ok(Vec::new());
    }
    let client = client(ctx);
    let listed = client.list_buckets().send().await.map_err(sdk_error)?;
    let mut out = Vec::new();
    for bucket in listed.buckets() {
        let Some(name) = bucket.name() else { continue };
        let tags: BTreeMap<String, String> = if marks.default_tags.is_empty() {
            BTreeMap::new()
        } else {
            match client.get_bucket_tagging().bucket(name).send().await {
                Ok(t) => t
                    .tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
                // No tags, or the bucket went away (or is another region's) since the
                // listing: not marked by tags.
                Err(e) => {
                    let e = sdk_error(e);
                    match e.code.as_deref() {
                        Some(
                            "NoSuchTagSet"
                            | "NoSuchBucket"
                            | "PermanentRedirect"
                            | "AuthorizationHeaderMalformed",
                        ) => BTreeMap::new(),
                        _ => return Err(e),
                    }
                }
            }
        };
        out.extend(marks.found("aws_s3_bucket", name, name, &tags));
    }
    Ok(out)
}
