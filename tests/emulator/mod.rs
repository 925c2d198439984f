//! Tests against LocalStack (127.0.0.1:4566) and moto's DynamoDB (127.0.0.1:4567), reached
//! through the standard AWS variables that `localstack/emulators.sh` writes.

mod smoke;

/// The SDK configuration from the standard chain. Panics with the fix when the emulator
/// variables are missing, so a test run without emulators fails loudly instead of calling AWS.
pub async fn sdk_config() -> aws_config::SdkConfig {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: run the tests with `scripts/test` (it starts the emulators), \
         or `source localstack/.run/env.sh` after `localstack/emulators.sh up`"
    );
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// A name no earlier run used, so tests never collide on a long-lived emulator.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
