//! `aws_sqs_queue_redrive_allow_policy`: which source queues may use a queue as their
//! dead-letter queue (`RedriveAllowPolicy`: `redrivePermission` allowAll, denyAll or
//! byQueue with `sourceQueueArns`), managed apart from the queue. As with the redrive
//! policy, the queue's own `redrive_allow_policy` is computed when left out.

use std::sync::Arc;

use aws_sdk_sqs::types::QueueAttributeName;
use forge_aws_common::AwsContext;

use crate::common::client;
use crate::queue_document::{QueueDocument, QueueDocumentResource};

/// The resource, bound to one provider configuration.
pub fn resource(ctx: &Arc<AwsContext>) -> QueueDocumentResource {
    QueueDocumentResource::new(
        client(ctx),
        QueueDocument {
            type_name: "aws_sqs_queue_redrive_allow_policy",
            attribute: "redrive_allow_policy",
            sqs_attribute: QueueAttributeName::RedriveAllowPolicy,
            what: "redrive allow policy",
        },
    )
}
