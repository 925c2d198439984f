//! The emulators answer the SDK as forge will use it: SQS, S3 (path style), and DynamoDB
//! conditional writes, which state locking stands on.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

use super::{sdk_config, unique};

#[tokio::test]
async fn queue_bucket_and_conditional_put_item() {
    let conf = sdk_config().await;

    let sqs = aws_sdk_sqs::Client::new(&conf);
    let queue_name = unique("smoke");
    let url = sqs
        .create_queue()
        .queue_name(&queue_name)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("queue url");
    assert!(
        url.ends_with(&queue_name),
        "queue url {url} names the queue"
    );

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let bucket = unique("smoke");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    s3.head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("HeadBucket finds the new bucket");

    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let table = unique("smoke");
    ddb.create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("LockID")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("LockID")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("CreateTable");

    let put = || {
        ddb.put_item()
            .table_name(&table)
            .item("LockID", AttributeValue::S("bucket/key".into()))
            .condition_expression("attribute_not_exists(LockID)")
            .send()
    };
    put().await.expect("the first conditional PutItem succeeds");
    let refused = put()
        .await
        .expect_err("the second conditional PutItem must be refused");
    assert!(
        refused
            .into_service_error()
            .is_conditional_check_failed_exception(),
        "the refusal is ConditionalCheckFailedException"
    );
}
