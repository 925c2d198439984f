//! Counting the AWS API calls forge makes: an SDK interceptor registered on every client
//! forge builds (the service clients of an [`crate::AwsContext`] and the remote-state
//! clients) records each call's service, operation, attempts, outcome, start and end,
//! and a fingerprint of the request so the same request made twice in one run shows up.
//!
//! The records live in an [`ApiStats`]; by default every client records into the
//! process-wide one ([`ApiStats::global`]), which `forge --api-stats` prints at the end of
//! a run. Tests give a context its own `ApiStats` so concurrent tests do not mix counts.

use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// One finished API call (one SDK operation, however many attempts it took).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiCall {
    /// The SDK's service name (`s3`, `sqs`, `iam`, `sts`, `dynamodb`, ...).
    pub service: String,
    /// The operation (`GetObject`, `CreateQueue`, ...).
    pub operation: String,
    /// HTTP attempts: more than one when the SDK retried.
    pub attempts: u32,
    /// False when the call ended in an error (a 404 that the caller expects counts too).
    pub ok: bool,
    /// When the call started, from the creation of its `ApiStats`.
    pub start: Duration,
    pub elapsed: Duration,
    /// A hash of the serialized request (method, URI, target header, body): equal
    /// fingerprints mean the same request was sent twice. Never the request itself, which
    /// may hold secrets.
    pub fingerprint: u64,
}

/// Where the calls of a run are recorded; cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct ApiStats {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    epoch: Instant,
    calls: Mutex<Vec<ApiCall>>,
}

impl Default for ApiStats {
    fn default() -> Self {
        ApiStats::new()
    }
}

impl ApiStats {
    pub fn new() -> ApiStats {
        ApiStats {
            inner: Arc::new(Inner {
                epoch: Instant::now(),
                calls: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The process-wide record every client uses unless given another.
    pub fn global() -> ApiStats {
        static GLOBAL: OnceLock<ApiStats> = OnceLock::new();
        GLOBAL.get_or_init(ApiStats::new).clone()
    }

    /// The interceptor to register on an SDK client's config builder.
    pub fn interceptor(&self) -> ApiCounter {
        ApiCounter {
            stats: self.clone(),
        }
    }

    /// Every finished call so far, in the order they finished.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.inner
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn record(&self, call: ApiCall) {
        self.inner
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(call);
    }

    /// Totals, per-operation counts and repeated requests of the calls so far.
    pub fn summary(&self) -> ApiSummary {
        ApiSummary::of(&self.calls())
    }
}

/// What `--api-stats` prints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiSummary {
    pub calls: usize,
    pub attempts: u64,
    /// Calls that needed more than one attempt.
    pub retried: usize,
    pub errors: usize,
    /// Calls per `service:Operation`.
    pub per_operation: BTreeMap<String, usize>,
    /// `service:Operation` → how many calls repeated a request already sent in this run.
    pub repeated: BTreeMap<String, usize>,
    /// From the first call's start to the last call's end.
    pub span: Duration,
}

impl ApiSummary {
    pub fn of(calls: &[ApiCall]) -> ApiSummary {
        let mut s = ApiSummary {
            calls: calls.len(),
            ..ApiSummary::default()
        };
        let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
        for c in calls {
            let op = format!("{}:{}", c.service, c.operation);
            s.attempts += u64::from(c.attempts);
            s.retried += usize::from(c.attempts > 1);
            s.errors += usize::from(!c.ok);
            *s.per_operation.entry(op.clone()).or_default() += 1;
            let n = seen.entry((op.clone(), c.fingerprint)).or_default();
            *n += 1;
            if *n > 1 {
                *s.repeated.entry(op).or_default() += 1;
            }
        }
        let first = calls.iter().map(|c| c.start).min().unwrap_or_default();
        let last = calls
            .iter()
            .map(|c| c.start + c.elapsed)
            .max()
            .unwrap_or_default();
        s.span = last.saturating_sub(first);
        s
    }

    /// The lines `--api-stats` prints.
    pub fn render(&self) -> String {
        let mut out = format!(
            "API calls: {} ({} attempts, {} retried, {} ended in an error) over {:.2} s\n",
            self.calls,
            self.attempts,
            self.retried,
            self.errors,
            self.span.as_secs_f64()
        );
        let mut ops: Vec<(&String, &usize)> = self.per_operation.iter().collect();
        ops.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (op, n) in ops {
            out.push_str(&format!("  {n:>5}  {op}\n"));
        }
        if self.repeated.is_empty() {
            out.push_str("repeated requests: none\n");
        } else {
            out.push_str("repeated requests (the same request sent again in this run):\n");
            for (op, n) in &self.repeated {
                out.push_str(&format!("  {n:>5}  {op}\n"));
            }
        }
        out
    }
}

/// The SDK interceptor that records into an [`ApiStats`].
#[derive(Clone, Debug)]
pub struct ApiCounter {
    stats: ApiStats,
}

/// Per-execution scratch kept in the call's config bag between hooks.
#[derive(Clone, Debug)]
struct CallState {
    start: Instant,
    attempts: u32,
    fingerprint: u64,
}

impl Storable for CallState {
    type Storer = StoreReplace<Self>;
}

fn fingerprint(request: &aws_smithy_runtime_api::http::Request) -> u64 {
    let mut h = DefaultHasher::new();
    request.method().hash(&mut h);
    request.uri().hash(&mut h);
    // JSON protocols (DynamoDB, Secrets Manager, SQS's JSON) name the operation here.
    request.headers().get("x-amz-target").hash(&mut h);
    request.body().bytes().hash(&mut h);
    h.finish()
}

impl Intercept for ApiCounter {
    fn name(&self) -> &'static str {
        "forge.ApiCounter"
    }

    fn read_before_execution(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(CallState {
            start: Instant::now(),
            attempts: 0,
            fingerprint: 0,
        });
        Ok(())
    }

    fn read_before_signing(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // After the endpoint is applied (S3 puts the bucket into the URI only then, so two
        // buckets' requests would look alike before it) and before signing (whose
        // timestamp would make every request unique); the first attempt's request counts.
        if let Some(mut state) = cfg.load::<CallState>().cloned()
            && state.attempts <= 1
        {
            state.fingerprint = fingerprint(ctx.request());
            cfg.interceptor_state().store_put(state);
        }
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(mut state) = cfg.load::<CallState>().cloned() {
            state.attempts += 1;
            cfg.interceptor_state().store_put(state);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let end = Instant::now();
        let (service, operation) = match cfg.load::<Metadata>() {
            Some(m) => (m.service().to_lowercase(), m.name().to_string()),
            None => ("unknown".to_string(), "unknown".to_string()),
        };
        let state = cfg.load::<CallState>().cloned().unwrap_or(CallState {
            start: end,
            attempts: 0,
            fingerprint: 0,
        });
        let ok = matches!(ctx.output_or_error(), Some(Ok(_)));
        self.stats.record(ApiCall {
            service,
            operation,
            attempts: state.attempts,
            ok,
            start: state
                .start
                .saturating_duration_since(self.stats.inner.epoch),
            elapsed: end.saturating_duration_since(state.start),
            fingerprint: state.fingerprint,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(op: &str, fp: u64, attempts: u32, ok: bool, start_ms: u64, ms: u64) -> ApiCall {
        ApiCall {
            service: "s3".into(),
            operation: op.into(),
            attempts,
            ok,
            start: Duration::from_millis(start_ms),
            elapsed: Duration::from_millis(ms),
            fingerprint: fp,
        }
    }

    #[test]
    fn summary_counts_operations_retries_errors_and_repeats() {
        let calls = [
            call("GetObject", 1, 1, true, 0, 10),
            call("GetObject", 2, 1, true, 5, 10),
            call("GetObject", 1, 3, true, 20, 10),
            call("HeadObject", 9, 1, false, 30, 40),
        ];
        let s = ApiSummary::of(&calls);
        assert_eq!(s.calls, 4);
        assert_eq!(s.attempts, 6);
        assert_eq!(s.retried, 1);
        assert_eq!(s.errors, 1);
        assert_eq!(s.per_operation.get("s3:GetObject"), Some(&3));
        assert_eq!(s.per_operation.get("s3:HeadObject"), Some(&1));
        assert_eq!(s.repeated.get("s3:GetObject"), Some(&1));
        assert_eq!(s.repeated.len(), 1);
        assert_eq!(s.span, Duration::from_millis(70));
        let text = s.render();
        assert!(
            text.starts_with("API calls: 4 (6 attempts, 1 retried, 1 ended in an error)"),
            "{text}"
        );
        assert!(text.contains("      3  s3:GetObject\n"), "{text}");
        assert!(text.contains("repeated requests (the same request sent again in this run):\n      1  s3:GetObject\n"), "{text}");
    }

    #[test]
    fn no_calls_render_without_repeats() {
        let text = ApiSummary::of(&[]).render();
        assert!(text.starts_with("API calls: 0 "), "{text}");
        assert!(text.ends_with("repeated requests: none\n"), "{text}");
    }
}
