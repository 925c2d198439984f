//! The retry policy every provider uses for throttling and for eventual consistency
//! (IAM's, S3's): the emulators never throttle and apply changes at once, so this is
//! where the backoff itself is shown.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use forge_aws_common::{Backoff, is_throttling, retry};
use forge_provider::{ProviderError, ProviderResult};

/// Runs `retry` over an operation that fails with `code` until call `succeed_on`
/// (never, when 0); returns the result and the instants of the calls.
async fn run(
    backoff: Backoff,
    code: &str,
    succeed_on: usize,
) -> (ProviderResult<usize>, Vec<Instant>) {
    let calls = Mutex::new(Vec::new());
    let out = retry(
        backoff,
        |_| false,
        || {
            let n = {
                let mut calls = calls.lock().unwrap_or_else(|e| e.into_inner());
                calls.push(Instant::now());
                calls.len()
            };
            async move {
                if n == succeed_on {
                    Ok(n)
                } else {
                    Err(ProviderError::with_code(code, "slow down"))
                }
            }
        },
    )
    .await;
    (out, calls.into_inner().unwrap_or_else(|e| e.into_inner()))
}

fn gaps(calls: &[Instant]) -> Vec<Duration> {
    calls.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test]
async fn throttling_is_retried_after_doubling_delays() {
    let backoff = Backoff {
        attempts: 4,
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(1),
    };
    let (out, calls) = run(backoff, "ThrottlingException", 4).await;
    assert_eq!(out, Ok(4));
    let gaps = gaps(&calls);
    for (gap, at_least) in gaps.iter().zip([20, 40, 80]) {
        assert!(
            *gap >= Duration::from_millis(at_least),
            "waited {gaps:?}, each at least twice the one before"
        );
    }
}

#[tokio::test]
async fn delays_stop_growing_at_the_cap() {
    // Doubling from 5 ms would wait 5+10+20+40+80+160 = 315 ms; capped at 5 ms, 30 ms.
    let backoff = Backoff {
        attempts: 7,
        first_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(5),
    };
    let started = Instant::now();
    let (out, calls) = run(backoff, "SlowDown", 7).await;
    assert_eq!(out, Ok(7));
    assert!(gaps(&calls).iter().all(|g| *g >= Duration::from_millis(5)));
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "took {:?}: the cap did not hold",
        started.elapsed()
    );
}

#[tokio::test]
async fn when_the_attempts_run_out_the_last_error_is_returned() {
    let backoff = Backoff {
        attempts: 3,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    };
    let (out, calls) = run(backoff, "RequestLimitExceeded", 0).await;
    let err = out.expect_err("never succeeds");
    assert_eq!(err.code.as_deref(), Some("RequestLimitExceeded"));
    assert_eq!(calls.len(), 3);
}

#[test]
fn the_services_throttling_codes_are_recognised_and_others_are_not() {
    // SQS / IAM / STS, Secrets Manager, EC2, S3, DynamoDB, and a 5xx.
    for code in [
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "ServiceUnavailable",
    ] {
        assert!(is_throttling(Some(code)), "{code}");
    }
    for code in ["AccessDenied", "NoSuchEntity", "ValidationError"] {
        assert!(!is_throttling(Some(code)), "{code}");
    }
    assert!(!is_throttling(None));
}
