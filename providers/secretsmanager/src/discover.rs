//! Secrets that carry the configuration's default tags or the name prefix (`forge drift
//! --unmanaged`): ListSecrets answers with each secret's tags, so one call per page.

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
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_secrets()
            .max_results(100)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        for secret in page.secret_list() {
            // A secret scheduled for deletion is on its way out, not unmanaged.
            if secret.deleted_date().is_some() {
                continue;
            }
            let (Some(arn), Some(name)) = (secret.arn(), secret.name()) else {
                continue;
            };
            let tags = secret
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
            out.extend(marks.found("aws_secretsmanager_secret", arn, name, &tags));
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}
