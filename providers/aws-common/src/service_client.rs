//! The one way a service crate builds its SDK client, so a new service needs only a
//! `client` function of one line: the provider configuration's SDK settings, the
//! `api_stats` interceptor (so `forge --api-stats` counts every call), the endpoint the
//! provider block's `endpoints` gives the service (else the SDK's standard variables) and,
//! in test builds, the fault layers (`fault`, `fault_refusals`).
//!
//! A macro rather than a generic function: every SDK crate generates its own
//! `config::Builder` and `Client` with the same method names but no trait in common.

/// A client of the SDK crate `$sdk` for an [`AwsContext`](crate::AwsContext), with the
/// endpoint the provider block sets under `$endpoint_key` (`"sqs"`, `"s3"`, ...).
/// An optional last argument, a function from the service's `config::Builder` to itself,
/// adds the service's own settings (S3's path-style addressing).
///
/// ```ignore
/// pub fn client(ctx: &AwsContext) -> aws_sdk_sqs::Client {
///     forge_aws_common::service_client!(aws_sdk_sqs, ctx, "sqs")
/// }
/// ```
#[macro_export]
macro_rules! service_client {
    ($sdk:ident, $ctx:expr, $endpoint_key:literal) => {
        $crate::service_client!($sdk, $ctx, $endpoint_key, |conf: $sdk::config::Builder| {
            conf
        })
    };
    ($sdk:ident, $ctx:expr, $endpoint_key:literal, $finish:expr) => {{
        let ctx: &$crate::AwsContext = $ctx;
        let mut conf = $sdk::config::Builder::from(&ctx.sdk).interceptor(ctx.api_counter());
        if let Some(url) = ctx.endpoint_for($endpoint_key) {
            conf = conf.endpoint_url(url);
        }
        // Tests lose, throttle and delay some answers here too (a test build only;
        // none otherwise).
        for fault in $crate::fault::layers() {
            conf.push_interceptor(fault);
        }
        let finish = $finish;
        $sdk::Client::from_conf(finish(conf).build())
    }};
}
