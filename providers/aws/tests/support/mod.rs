//! What the backend's test binaries share (each includes this with `mod support;`).

/// Creates a DynamoDB table whose hash key is `key` (a string), as a lock table
/// (`LockID`) or as one forge must refuse (any other key).
pub async fn create_table_keyed(ddb: &aws_sdk_dynamodb::Client, table: &str, key: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    ddb.create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .send()
        .await
        .expect("CreateTable");
}

/// Fails (never skips) without the emulators, saying how to run them.
pub fn require_emulators() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none()
        || std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none()
    {
        panic!(
            "AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_DYNAMODB are not set: these tests need the emulators. Run \
             `localstack/emulators.sh up` and `source localstack/.run/env.sh`, or use `scripts/test`."
        );
    }
}

/// A name no earlier run used.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
