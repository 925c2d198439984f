//! `aws_sqs_queue_redrive_policy`: a queue's dead-letter settings (`RedrivePolicy`:
//! `deadLetterTargetArn` and `maxReceiveCount`), managed apart from the queue. Use it or
//! the queue's own `redrive_policy`, not both: the queue's attribute is computed when
//! left out, so it then shows this resource's document without planning a change.

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
            type_name: "aws_sqs_queue_redrive_policy",
            attribute: "redrive_policy",
            sqs_attribute: QueueAttributeName::RedrivePolicy,
            what: "redrive policy",
        },
    )
}
