//! The API-call counter against the emulators: the clients an `AwsContext` builds record
//! every call once, with its operation and attempts, and a request sent twice is reported
//! as repeated. Fails (never skips) when the emulator variables are missing.

// Tests may unwrap: a panic there is a test failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use forge_aws_common::{ApiStats, AwsContext};
use forge_provider::Value;

async fn context(stats: &ApiStats) -> AwsContext {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: these tests need the emulators. Run `localstack/emulators.sh up` \
         and `source localstack/.run/env.sh`, or use `scripts/test`."
    );
    // Without the credentials' check at configure time: these tests count every call.
    AwsContext::from_provider_config(&Value::object([
        ("region", Value::string("us-east-1")),
        ("skip_credentials_validation", Value::Bool(true)),
    ]))
    .await
    .expect("provider context")
    .with_api_stats(stats.clone())
}

#[tokio::test]
async fn the_account_id_is_asked_once_and_counted_once() {
    let stats = ApiStats::new();
    let ctx = context(&stats).await;
    let first = ctx.account_id().await.expect("account id");
    let second = ctx.account_id().await.expect("account id again");
    assert_eq!(first, second);
    let calls = stats.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        (calls[0].service.as_str(), calls[0].operation.as_str()),
        ("sts", "GetCallerIdentity")
    );
    assert_eq!(calls[0].attempts, 1);
    assert!(calls[0].ok);
    assert!(!calls[0].elapsed.is_zero());
    let summary = stats.summary();
    assert_eq!(summary.per_operation.get("sts:GetCallerIdentity"), Some(&1));
    assert!(summary.repeated.is_empty(), "{summary:?}");
}

#[tokio::test]
async fn a_request_sent_twice_is_reported_as_repeated() {
    let stats = ApiStats::new();
    let ctx = context(&stats).await;
    let client = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&ctx.sdk)
            .interceptor(ctx.api_counter())
            .build(),
    );
    for _ in 0..3 {
        client
            .get_caller_identity()
            .send()
            .await
            .expect("GetCallerIdentity");
    }
    let summary = stats.summary();
    assert_eq!(summary.calls, 3);
    assert_eq!(summary.attempts, 3);
    assert_eq!(summary.per_operation.get("sts:GetCallerIdentity"), Some(&3));
    // The first is new; the next two repeat it.
    assert_eq!(summary.repeated.get("sts:GetCallerIdentity"), Some(&2));
    // Another context's record saw none of it.
    let other = ApiStats::new();
    let _ctx2 = context(&other).await;
    assert_eq!(other.calls().len(), 0);
}
