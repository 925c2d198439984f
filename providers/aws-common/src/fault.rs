//! A test hook that loses AWS answers after the service acted: with
//! `FORGE_FAULT_LOSE_ANSWERS="seed=7;rate=0.05;ops=PutItem,s3:PutObject"`, a request goes
//! out and is carried out by the service, but its answer is replaced by a 500 before the
//! SDK reads it, so the SDK sends it again, as it would after a dropped connection or a
//! load balancer's error. This is how forge's recognition of its own writes is tested
//! (a conditional write retried after it succeeded is refused by the service).
//!
//! It is registered on the state backend's clients and on every service client the
//! providers build (`service_client!`), so a provider's create retried after a lost
//! answer meets "already exists" and is settled by its intent (`engine::run::adoption`).
//!
//! The hook is an SDK interceptor, compiled only with the cargo feature `test-support`
//! (on under `cargo test` of the `forge` binary, off in a plain build); a product build
//! ignores the variable and says so ([`unavailable_warning`]).
//!
//! Settings, `;`-separated:
//! - `seed=N`: the seed of the draws (default 1), so that a failing run can be replayed.
//! - `rate=R`: the chance that a successful answer is lost, 0 to 1 (default 1).
//! - `ops=A,B`: the operations affected, as `PutItem` or `dynamodb:PutItem` (default all).
//!
//! At most one answer is lost per call: the SDK's retry then gets the real answer, as it
//! would when a single response is lost, and every call can still finish.

/// The variable that arms the hook.
pub const LOSE_ANSWERS_VAR: &str = "FORGE_FAULT_LOSE_ANSWERS";

/// The warning a build without the hook gives when the variable is set anyway.
pub fn unavailable_warning() -> Option<String> {
    if cfg!(feature = "test-support") || std::env::var_os(LOSE_ANSWERS_VAR).is_none() {
        return None;
    }
    Some(format!(
        "{LOSE_ANSWERS_VAR} is set, but this forge was built without its test hooks \
         (cargo feature `test-support`): it is ignored and no answer is lost"
    ))
}

#[cfg(feature = "test-support")]
pub(crate) use enabled::draw;
#[cfg(feature = "test-support")]
pub use enabled::{LostAnswers, LostAnswersSettings, lost_answers};

/// Without the test hooks there is never an interceptor to register.
#[cfg(not(feature = "test-support"))]
pub fn lost_answers() -> Option<aws_smithy_runtime_api::client::interceptors::SharedInterceptor> {
    None
}

/// Every fault layer the variables arm (lost answers, throttling, eventual consistency:
/// `fault_refusals`), for a client to register; empty in a product build.
pub fn layers() -> Vec<aws_smithy_runtime_api::client::interceptors::SharedInterceptor> {
    lost_answers()
        .into_iter()
        .chain(crate::fault_refusals::refusals())
        .collect()
}

#[cfg(feature = "test-support")]
mod enabled {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
    use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
    use aws_smithy_runtime_api::client::orchestrator::Metadata;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

    use super::LOSE_ANSWERS_VAR;

    /// What `FORGE_FAULT_LOSE_ANSWERS` says.
    #[derive(Clone, Debug, PartialEq)]
    pub struct LostAnswersSettings {
        pub seed: u64,
        pub rate: f64,
        /// `Operation` or `service:Operation`; empty means every operation.
        pub ops: Vec<String>,
    }

    impl LostAnswersSettings {
        pub fn parse(text: &str) -> Result<LostAnswersSettings, String> {
            Self::parse_for(LOSE_ANSWERS_VAR, text)
        }

        /// The same settings given to the variable `var` (named in the errors).
        pub fn parse_for(var: &str, text: &str) -> Result<LostAnswersSettings, String> {
            let mut settings = LostAnswersSettings {
                seed: 1,
                rate: 1.0,
                ops: Vec::new(),
            };
            for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let (key, value) = part
                    .split_once('=')
                    .ok_or_else(|| format!("{var}: `{part}` is not key=value"))?;
                match key.trim() {
                    "seed" => {
                        settings.seed = value
                            .trim()
                            .parse()
                            .map_err(|_| format!("{var}: seed `{value}` is not a whole number"))?
                    }
                    "rate" => {
                        settings.rate = value
                            .trim()
                            .parse()
                            .ok()
                            .filter(|r| (0.0..=1.0).contains(r))
                            .ok_or_else(|| {
                                format!("{var}: rate `{value}` is not between 0 and 1")
                            })?
                    }
                    "ops" => {
                        settings.ops = value
                            .split(',')
                            .map(|o| o.trim().to_string())
                            .filter(|o| !o.is_empty())
                            .collect()
                    }
                    other => {
                        return Err(format!(
                            "{var}: unknown setting `{other}` (seed, rate, ops)"
                        ));
                    }
                }
            }
            Ok(settings)
        }

        pub(crate) fn covers(&self, service: &str, operation: &str) -> bool {
            self.ops.is_empty()
                || self.ops.iter().any(|o| match o.split_once(':') {
                    Some((s, op)) => s.eq_ignore_ascii_case(service) && op == operation,
                    None => o == operation,
                })
        }
    }

    /// The interceptor: shared by every client of the process, so the draws follow one
    /// sequence from the seed.
    #[derive(Debug)]
    pub struct LostAnswers {
        settings: LostAnswersSettings,
        draws: AtomicU64,
    }

    /// Marks a call whose answer was already lost once.
    #[derive(Clone, Debug)]
    struct AnswerLost;

    impl Storable for AnswerLost {
        type Storer = StoreReplace<Self>;
    }

    impl LostAnswers {
        pub fn new(settings: LostAnswersSettings) -> LostAnswers {
            LostAnswers {
                settings,
                draws: AtomicU64::new(0),
            }
        }

        /// The next draw in [0, 1): splitmix64 of the seed and the draw's number, so the
        /// sequence depends only on the seed.
        fn draw(&self) -> f64 {
            draw(
                self.settings.seed,
                self.draws.fetch_add(1, Ordering::SeqCst),
            )
        }
    }

    /// Draw number `n` in [0, 1) of the sequence `seed` gives: splitmix64 of the two, so
    /// the sequence depends only on the seed.
    pub(crate) fn draw(seed: u64, n: u64) -> f64 {
        let mut z = seed.wrapping_add(n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    impl Intercept for LostAnswers {
        fn name(&self) -> &'static str {
            "forge.LostAnswers"
        }

        fn modify_before_deserialization(
            &self,
            ctx: &mut BeforeDeserializationInterceptorContextMut<'_>,
            _rc: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            // Only answers that say the service acted: losing a refusal tests nothing.
            if !ctx.response().status().is_success() || cfg.load::<AnswerLost>().is_some() {
                return Ok(());
            }
            let (service, operation) = match cfg.load::<Metadata>() {
                Some(m) => (m.service().to_lowercase(), m.name().to_string()),
                None => return Ok(()),
            };
            if !self.settings.covers(&service, &operation) || self.draw() >= self.settings.rate {
                return Ok(());
            }
            cfg.interceptor_state().store_put(AnswerLost);
            // The test reads this line to know the fault was really injected.
            eprintln!(
                "fault injection: lost the answer of {service}:{operation} after the service acted"
            );
            let status = StatusCode::try_from(500u16).map_err(|e| BoxError::from(e.to_string()))?;
            *ctx.response_mut() = Response::new(
                status,
                SdkBody::from(
                    "<Error><Code>InternalError</Code><Message>answer lost by forge's fault injection</Message></Error>",
                ),
            );
            Ok(())
        }
    }

    /// The process's interceptor when `FORGE_FAULT_LOSE_ANSWERS` is set. Settings that do
    /// not parse stop the process: a test that meant to inject faults must not pass
    /// without them.
    pub fn lost_answers() -> Option<SharedInterceptor> {
        static LAYER: OnceLock<Option<SharedInterceptor>> = OnceLock::new();
        LAYER
            .get_or_init(|| {
                let text = std::env::var(LOSE_ANSWERS_VAR).ok()?;
                match LostAnswersSettings::parse(&text) {
                    Ok(settings) => Some(SharedInterceptor::new(LostAnswers::new(settings))),
                    Err(e) => {
                        eprintln!("error: {e}");
                        std::process::exit(2);
                    }
                }
            })
            .clone()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn settings_parse_and_refuse_nonsense() {
            let s = LostAnswersSettings::parse("seed=7; rate=0.25; ops=PutItem,s3:PutObject")
                .expect("parses");
            assert_eq!(s.seed, 7);
            assert_eq!(s.rate, 0.25);
            assert!(s.covers("dynamodb", "PutItem"));
            assert!(s.covers("s3", "PutObject"));
            assert!(!s.covers("dynamodb", "PutObject"));
            assert!(!s.covers("s3", "GetObject"));
            assert!(LostAnswersSettings::parse("rate=2").is_err());
            assert!(LostAnswersSettings::parse("speed=2").is_err());
            assert!(LostAnswersSettings::parse("seed").is_err());
            assert!(
                LostAnswersSettings::parse("")
                    .expect("empty")
                    .covers("s3", "X")
            );
        }

        #[test]
        fn draws_follow_the_seed_and_the_rate() {
            let settings = |seed| LostAnswersSettings {
                seed,
                rate: 0.1,
                ops: Vec::new(),
            };
            let a = LostAnswers::new(settings(3));
            let b = LostAnswers::new(settings(3));
            let c = LostAnswers::new(settings(4));
            let seq = |l: &LostAnswers| (0..1000).map(|_| l.draw()).collect::<Vec<_>>();
            let (sa, sb, sc) = (seq(&a), seq(&b), seq(&c));
            assert_eq!(sa, sb, "the same seed gives the same draws");
            assert_ne!(sa, sc, "another seed gives other draws");
            let lost = sa.iter().filter(|d| **d < 0.1).count();
            assert!((50..150).contains(&lost), "about 10% of 1000: {lost}");
            assert!(sa.iter().all(|d| (0.0..1.0).contains(d)));
        }
    }
}
