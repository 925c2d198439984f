//! Queues that carry the configuration's default tags or the name prefix (`forge drift
//! --unmanaged`). SQS lists queues but not their tags: one ListQueueTags per queue.

use forge_aws_common::discovery::Marks;
use forge_aws_common::{AwsContext, sdk_error};
use forge_provider::{Discovered, DiscoveryFilter, ProviderResult};

use crate::common::{client, found, queue_name_from_url};

pub async fn discover(
    ctx: &AwsContext,
    filter: &DiscoveryFilter,
) -> ProviderResult<Vec<Discovered>> {
    let marks = Marks::new(ctx, filter);
    if marks.is_empty() {
        return Ok(Vec::new());
    }
    let client = client(ctx);
    // With no default tags only the prefix can mark a queue: SQS filters by it.
    let prefix = marks
        .default_tags
        .is_empty()
        .then_some(marks.name_prefix)
        .flatten();
    let mut urls = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_queues()
            .set_queue_name_prefix(prefix.map(str::to_string))
            .max_results(1000)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(sdk_error)?;
        urls.extend(out.queue_urls().iter().cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    let mut out = Vec::new();
    for url in urls {
        let tags = if marks.default_tags.is_empty() {
            Default::default()
        } else {
            // A queue deleted since the listing is simply not reported.
            match found(
                client
                    .list_queue_tags()
                    .queue_url(&url)
                    .send()
                    .await
                    .map_err(sdk_error),
            )? {
                Some(t) => t.tags().cloned().unwrap_or_default().into_iter().collect(),
                None => continue,
            }
        };
        out.extend(marks.found("aws_sqs_queue", &url, queue_name_from_url(&url), &tags));
    }
    Ok(out)
}
