//! Test hooks that answer AWS calls as real AWS does at its worst and the emulators never
//! do: throttling, and eventual consistency after a write.
//!
//! - `FORGE_FAULT_THROTTLE="seed=3;rate=0.1;ops=..."`: a drawn call (settings as
//!   `FORGE_FAULT_LOSE_ANSWERS`'s: `seed`, `rate`, `ops`) is refused with the service's
//!   throttling answer, and the service never sees it: S3 `503 SlowDown`, EC2 `503
//!   RequestLimitExceeded`, IAM and STS `400 Throttling`, the JSON services `400
//!   ThrottlingException`.
//! - `FORGE_FAULT_EVENTUAL="window_ms=3000"`: for that long after a write, the calls that
//!   use what it made are answered as AWS answers them while the write propagates
//!   ([`RULES`]): RunInstances refuses a just-made instance profile ("Invalid IAM Instance
//!   Profile name"), a just-made security group is `InvalidGroup.NotFound`, AssumeRole of a
//!   just-made role is `AccessDenied`, GetQueueAttributes of a queue whose attributes
//!   were just set reads back the values it had before, and so do the reads of a bucket's
//!   settings (versioning, encryption, public access block, policy, notifications,
//!   ownership controls, CORS, tags) after one of them was written.
//!
//! A refused call is not sent as it was: the request becomes a `GET` of a path no service
//! acts on, and its answer is replaced, so the service does nothing (a refusal that the
//! service had carried out would be a lost answer, `fault`'s other hook).
//!
//! Compiled only with the cargo feature `test-support`; a product build ignores the
//! variables and says so ([`unavailable_warning`]).

/// The variable that arms throttling.
pub const THROTTLE_VAR: &str = "FORGE_FAULT_THROTTLE";
/// The variable that arms the eventual-consistency answers.
pub const EVENTUAL_VAR: &str = "FORGE_FAULT_EVENTUAL";

/// The warning a build without the hooks gives when a variable is set anyway.
pub fn unavailable_warning() -> Option<String> {
    if cfg!(feature = "test-support") {
        return None;
    }
    let set: Vec<&str> = [THROTTLE_VAR, EVENTUAL_VAR]
        .into_iter()
        .filter(|v| std::env::var_os(v).is_some())
        .collect();
    if set.is_empty() {
        return None;
    }
    Some(format!(
        "{} is set, but this forge was built without its test hooks \
         (cargo feature `test-support`): it is ignored",
        set.join(" and ")
    ))
}

#[cfg(feature = "test-support")]
pub use enabled::{EventualSettings, Refusals, refusals};

/// Without the test hooks there is never an interceptor to register.
#[cfg(not(feature = "test-support"))]
pub fn refusals() -> Option<aws_smithy_runtime_api::client::interceptors::SharedInterceptor> {
    None
}

#[cfg(feature = "test-support")]
mod enabled {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, OnceLock};
    use std::time::{Duration, Instant};

    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::interceptors::context::{
        AfterDeserializationInterceptorContextRef, BeforeDeserializationInterceptorContextMut,
        BeforeTransmitInterceptorContextMut,
    };
    use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
    use aws_smithy_runtime_api::client::orchestrator::Metadata;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

    use super::{EVENTUAL_VAR, THROTTLE_VAR};
    use crate::fault::{LostAnswersSettings, draw};

    /// What `FORGE_FAULT_EVENTUAL` says.
    #[derive(Clone, Debug, PartialEq)]
    pub struct EventualSettings {
        /// How long after a write the calls using what it made are refused.
        pub window: Duration,
    }

    impl EventualSettings {
        pub fn parse(text: &str) -> Result<EventualSettings, String> {
            let mut settings = EventualSettings {
                window: Duration::from_millis(3000),
            };
            for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                match part.split_once('=') {
                    Some(("window_ms", ms)) => {
                        settings.window =
                            Duration::from_millis(ms.trim().parse().map_err(|_| {
                                format!("{EVENTUAL_VAR}: window_ms `{ms}` is not a whole number")
                            })?)
                    }
                    _ => {
                        return Err(format!(
                            "{EVENTUAL_VAR}: `{part}` is not a setting (window_ms=N)"
                        ));
                    }
                }
            }
            Ok(settings)
        }
    }

    /// What a write leaves not yet visible, and how AWS answers a call that uses it.
    struct Rule {
        /// The writes (`service:Operation`, successful) that start the window for the
        /// object they name, and where that name is.
        after: &'static [(&'static str, Named)],
        /// The calls answered as AWS does within it, when their request names the object.
        refused: &'static [&'static str],
        answer: Answer,
    }

    /// Where a write names its object: the text between two markers of its request or
    /// of its answer, or the bucket its path names (S3's path-style addressing, which
    /// forge uses with an endpoint).
    #[derive(Clone, Copy)]
    enum Named {
        Request(&'static str, &'static str),
        Answer(&'static str, &'static str),
        Bucket,
    }

    #[derive(Clone, Copy)]
    enum Answer {
        /// Refused with this EC2 error code and message.
        Ec2(&'static str, &'static str),
        /// Refused with this Query (IAM, STS) error code and message.
        Query(&'static str, &'static str),
        /// Answered with the body of the last read before the write: the object's old
        /// values.
        OldRead,
    }

    /// Eventual consistency as AWS documents it for the services forge drives.
    const RULES: &[Rule] = &[
        Rule {
            after: &[
                (
                    "iam:CreateInstanceProfile",
                    Named::Answer("<InstanceProfileName>", "</InstanceProfileName>"),
                ),
                (
                    "iam:AddRoleToInstanceProfile",
                    Named::Request("InstanceProfileName=", "&"),
                ),
            ],
            refused: &["ec2:RunInstances", "ec2:AssociateIamInstanceProfile"],
            answer: Answer::Ec2(
                "InvalidParameterValue",
                "Value (forge-fault-injection) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name",
            ),
        },
        Rule {
            after: &[(
                "ec2:CreateSecurityGroup",
                Named::Answer("<groupId>", "</groupId>"),
            )],
            refused: &[
                "ec2:DescribeSecurityGroups",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
            ],
            answer: Answer::Ec2(
                "InvalidGroup.NotFound",
                "The security group 'sg-forge-fault-injection' does not exist",
            ),
        },
        Rule {
            after: &[
                ("iam:CreateRole", Named::Answer("<RoleName>", "</RoleName>")),
                (
                    "iam:UpdateAssumeRolePolicy",
                    Named::Request("RoleName=", "&"),
                ),
            ],
            refused: &["sts:AssumeRole"],
            answer: Answer::Query(
                "AccessDenied",
                "User: arn:aws:iam::000000000000:user/forge is not authorized to perform: sts:AssumeRole on resource: forge-fault-injection",
            ),
        },
        Rule {
            after: &[(
                "sqs:SetQueueAttributes",
                Named::Request("\"QueueUrl\":\"", "\""),
            )],
            refused: &["sqs:GetQueueAttributes"],
            answer: Answer::OldRead,
        },
        Rule {
            after: &[
                ("s3:PutBucketVersioning", Named::Bucket),
                ("s3:PutBucketEncryption", Named::Bucket),
                ("s3:DeleteBucketEncryption", Named::Bucket),
                ("s3:PutPublicAccessBlock", Named::Bucket),
                ("s3:DeletePublicAccessBlock", Named::Bucket),
                ("s3:PutBucketPolicy", Named::Bucket),
                ("s3:DeleteBucketPolicy", Named::Bucket),
                ("s3:PutBucketNotificationConfiguration", Named::Bucket),
                ("s3:PutBucketOwnershipControls", Named::Bucket),
                ("s3:DeleteBucketOwnershipControls", Named::Bucket),
                ("s3:PutBucketCors", Named::Bucket),
                ("s3:DeleteBucketCors", Named::Bucket),
                ("s3:PutBucketTagging", Named::Bucket),
                ("s3:DeleteBucketTagging", Named::Bucket),
            ],
            refused: &[
                "s3:GetBucketVersioning",
                "s3:GetBucketEncryption",
                "s3:GetPublicAccessBlock",
                "s3:GetBucketPolicy",
                "s3:GetBucketNotificationConfiguration",
                "s3:GetBucketOwnershipControls",
                "s3:GetBucketCors",
                "s3:GetBucketTagging",
            ],
            answer: Answer::OldRead,
        },
    ];

    /// The interceptor, shared by every client of the process.
    #[derive(Debug)]
    pub struct Refusals {
        throttle: Option<LostAnswersSettings>,
        draws: AtomicU64,
        eventual: Option<EventualSettings>,
        /// The objects each rule's writes named, with when.
        writes: Mutex<Vec<(usize, String, Instant)>>,
        /// The last answer of each read an `OldRead` rule serves again, by its request
        /// (URI and body, which name the object).
        reads: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
    }

    /// This attempt's refusal, decided before it was sent.
    #[derive(Clone, Debug)]
    struct Refused(Option<(u16, String, Option<&'static str>)>);

    impl Storable for Refused {
        type Storer = StoreReplace<Self>;
    }

    /// This attempt's request (its URI, a line break, its body), kept for an `OldRead`
    /// rule and for finding what a write named.
    #[derive(Clone, Debug)]
    struct Sent(Vec<u8>);

    impl Storable for Sent {
        type Storer = StoreReplace<Self>;
    }

    impl Refusals {
        pub fn new(
            throttle: Option<LostAnswersSettings>,
            eventual: Option<EventualSettings>,
        ) -> Refusals {
            Refusals {
                throttle,
                draws: AtomicU64::new(0),
                eventual,
                writes: Mutex::default(),
                reads: Mutex::default(),
            }
        }

        /// Whether `request` (URI and body) names an object a write of `rule` made within
        /// the window.
        fn within_window(&self, rule: usize, request: &[u8]) -> bool {
            let Some(eventual) = &self.eventual else {
                return false;
            };
            let writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
            writes.iter().any(|(r, name, at)| {
                *r == rule && at.elapsed() < eventual.window && contains(request, name)
            })
        }

        fn wrote(&self, rule: usize, name: String) {
            let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
            writes.retain(|(r, n, _)| *r != rule || *n != name);
            writes.push((rule, name, Instant::now()));
        }

        /// The refusal of a call about to be sent, if any: (status, body, error type
        /// header). `request` is its URI, a line break and its body.
        fn refusal(
            &self,
            service: &str,
            operation: &str,
            request: &[u8],
        ) -> Option<(u16, String, Option<&'static str>)> {
            let call = format!("{service}:{operation}");
            for (i, rule) in RULES.iter().enumerate() {
                if !rule.refused.contains(&call.as_str()) || !self.within_window(i, request) {
                    continue;
                }
                match rule.answer {
                    Answer::Ec2(code, message) => return Some(ec2_error(400, code, message)),
                    Answer::Query(code, message) => return Some(query_error(400, code, message)),
                    Answer::OldRead => {
                        let reads = self.reads.lock().unwrap_or_else(|p| p.into_inner());
                        if let Some(old) = reads.get(request) {
                            eprintln!(
                                "fault injection: {call} read back the values before the write"
                            );
                            return Some((200, String::from_utf8_lossy(old).into_owned(), None));
                        }
                    }
                }
            }
            let throttle = self.throttle.as_ref()?;
            if !throttle.covers(service, operation) {
                return None;
            }
            let n = self.draws.fetch_add(1, Ordering::SeqCst);
            if draw(throttle.seed, n) >= throttle.rate {
                return None;
            }
            Some(match service {
                "s3" => (
                    503,
                    "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".to_string(),
                    None,
                ),
                "ec2" => ec2_error(503, "RequestLimitExceeded", "Request limit exceeded."),
                "iam" | "sts" => query_error(400, "Throttling", "Rate exceeded"),
                _ => (
                    400,
                    r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
                    Some("ThrottlingException"),
                ),
            })
        }
    }

    fn contains(body: &[u8], text: &str) -> bool {
        !text.is_empty() && body.windows(text.len()).any(|w| w == text.as_bytes())
    }

    /// The bucket a path-style S3 request names, as it appears in the requests that use
    /// it: `/bucket/` (the SDK writes `/bucket/?versioning`), so that one bucket's name
    /// inside another's does not match.
    fn path_bucket(sent: &[u8]) -> Option<String> {
        let sent = String::from_utf8_lossy(sent);
        let uri = sent.lines().next()?;
        let after_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
        let path = &after_scheme[after_scheme.find('/')?..];
        let bucket = path[1..].split(['/', '?']).next()?;
        (!bucket.is_empty()).then(|| format!("/{bucket}/"))
    }

    /// The text between `start` and the next `end` (or the end of `text`).
    fn between(text: &[u8], start: &str, end: &str) -> Option<String> {
        let text = String::from_utf8_lossy(text);
        let from = text.find(start)? + start.len();
        let rest = &text[from..];
        let to = rest.find(end).unwrap_or(rest.len());
        Some(rest[..to].to_string()).filter(|n| !n.is_empty())
    }

    fn ec2_error(status: u16, code: &str, message: &str) -> (u16, String, Option<&'static str>) {
        (
            status,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>forge-fault-injection</RequestID></Response>"
            ),
            None,
        )
    }

    fn query_error(status: u16, code: &str, message: &str) -> (u16, String, Option<&'static str>) {
        (
            status,
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>forge-fault-injection</RequestId></ErrorResponse>"
            ),
            None,
        )
    }

    fn call_of(cfg: &ConfigBag) -> Option<(String, String)> {
        cfg.load::<Metadata>()
            .map(|m| (m.service().to_lowercase(), m.name().to_string()))
    }

    impl Intercept for Refusals {
        fn name(&self) -> &'static str {
            "forge.Refusals"
        }

        fn modify_before_transmit(
            &self,
            ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
            _rc: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let Some((service, operation)) = call_of(cfg) else {
                return Ok(());
            };
            let mut sent = ctx.request().uri().as_bytes().to_vec();
            sent.push(b'\n');
            sent.extend_from_slice(ctx.request().body().bytes().unwrap_or_default());
            let refusal = self.refusal(&service, &operation, &sent);
            cfg.interceptor_state().store_put(Sent(sent));
            if let Some((status, _, _)) = &refusal {
                // The tests read this line to know the fault was really injected (an old
                // read said so already).
                if *status != 200 {
                    eprintln!(
                        "fault injection: refused {service}:{operation} before the service saw it"
                    );
                }
                // Nothing the service acts on: a GET of a path that names nothing.
                let request = ctx.request_mut();
                request
                    .set_method("GET")
                    .map_err(|e| BoxError::from(e.to_string()))?;
                let uri = request.uri().to_string();
                let origin = uri
                    .find("://")
                    .and_then(|s| uri[s + 3..].find('/').map(|p| &uri[..s + 3 + p]))
                    .unwrap_or(&uri)
                    .to_string();
                request
                    .set_uri(format!("{origin}/forge-fault-injection-refused"))
                    .map_err(|e| BoxError::from(e.to_string()))?;
                *request.body_mut() = SdkBody::empty();
                for header in [
                    "content-length",
                    "content-type",
                    "content-md5",
                    "x-amz-target",
                ] {
                    request.headers_mut().remove(header);
                }
            }
            cfg.interceptor_state().store_put(Refused(refusal));
            Ok(())
        }

        fn modify_before_deserialization(
            &self,
            ctx: &mut BeforeDeserializationInterceptorContextMut<'_>,
            _rc: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            if let Some(Refused(Some((status, body, error_type)))) = cfg.load::<Refused>().cloned()
            {
                let status =
                    StatusCode::try_from(status).map_err(|e| BoxError::from(e.to_string()))?;
                let json = body.starts_with('{');
                let mut response = Response::new(status, SdkBody::from(body));
                if let Some(error_type) = error_type {
                    response
                        .headers_mut()
                        .insert("x-amzn-errortype", error_type);
                }
                if json {
                    response
                        .headers_mut()
                        .insert("content-type", "application/x-amz-json-1.0");
                }
                *ctx.response_mut() = response;
                return Ok(());
            }
            Ok(())
        }

        /// Records what successful writes named and the answers of reads an `OldRead`
        /// rule may serve again; the body has been read by now.
        fn read_after_deserialization(
            &self,
            ctx: &AfterDeserializationInterceptorContextRef<'_>,
            _rc: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let Some((service, operation)) = call_of(cfg) else {
                return Ok(());
            };
            let refused = matches!(cfg.load::<Refused>(), Some(Refused(Some(_))));
            if self.eventual.is_none() || refused || !ctx.response().status().is_success() {
                return Ok(());
            }
            let call = format!("{service}:{operation}");
            let sent = cfg.load::<Sent>().map(|s| s.0.clone()).unwrap_or_default();
            let answer = ctx
                .response()
                .body()
                .bytes()
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            for (i, rule) in RULES.iter().enumerate() {
                for (write, named) in rule.after {
                    if *write != call {
                        continue;
                    }
                    let name = match named {
                        Named::Request(start, end) => between(&sent, start, end),
                        Named::Answer(start, end) => between(&answer, start, end),
                        Named::Bucket => path_bucket(&sent),
                    };
                    if let Some(name) = name {
                        self.wrote(i, name);
                    }
                }
                if matches!(rule.answer, Answer::OldRead)
                    && rule.refused.contains(&call.as_str())
                    && !answer.is_empty()
                {
                    let mut reads = self.reads.lock().unwrap_or_else(|p| p.into_inner());
                    reads.insert(sent.clone(), answer.clone());
                }
            }
            Ok(())
        }
    }

    /// The process's interceptor when either variable is set. Settings that do not parse
    /// stop the process: a test that meant to inject faults must not pass without them.
    pub fn refusals() -> Option<SharedInterceptor> {
        static LAYER: OnceLock<Option<SharedInterceptor>> = OnceLock::new();
        LAYER
            .get_or_init(|| {
                let parsed = || -> Result<Option<Refusals>, String> {
                    let throttle = std::env::var(THROTTLE_VAR)
                        .ok()
                        .map(|t| LostAnswersSettings::parse_for(THROTTLE_VAR, &t))
                        .transpose()?;
                    let eventual = std::env::var(EVENTUAL_VAR)
                        .ok()
                        .map(|t| EventualSettings::parse(&t))
                        .transpose()?;
                    Ok((throttle.is_some() || eventual.is_some())
                        .then(|| Refusals::new(throttle, eventual)))
                };
                match parsed() {
                    Ok(layer) => layer.map(SharedInterceptor::new),
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
        fn a_write_opens_its_window_and_throttling_follows_the_rate() {
            let layer = Refusals::new(
                None,
                Some(EventualSettings::parse("window_ms=60000").expect("parses")),
            );
            let run = b"Action=RunInstances&IamInstanceProfile.Name=web-profile&ImageId=ami-1";
            assert_eq!(layer.refusal("ec2", "RunInstances", run), None);
            let made = between(
                b"<CreateInstanceProfileResult><InstanceProfile><InstanceProfileName>web-profile</InstanceProfileName>",
                "<InstanceProfileName>",
                "</InstanceProfileName>",
            )
            .expect("named");
            layer.wrote(0, made);
            let (status, body, _) = layer
                .refusal("ec2", "RunInstances", run)
                .expect("refused within the window");
            assert_eq!(status, 400);
            assert!(body.contains("Invalid IAM Instance Profile name"), "{body}");
            // Another profile is usable.
            assert_eq!(
                layer.refusal("ec2", "RunInstances", b"IamInstanceProfile.Name=older"),
                None
            );
            // Only calls naming the new group are refused.
            layer.wrote(1, "sg-0a1".to_string());
            assert!(
                layer
                    .refusal("ec2", "DescribeSecurityGroups", b"GroupId.1=sg-0a1")
                    .is_some()
            );
            assert_eq!(
                layer.refusal("ec2", "DescribeSecurityGroups", b"GroupId.1=sg-0b2"),
                None
            );
            assert_eq!(
                between(
                    b"{\"QueueUrl\":\"http://q/1\",\"Attributes\":{}}",
                    "\"QueueUrl\":\"",
                    "\""
                ),
                Some("http://q/1".to_string())
            );

            let throttled = Refusals::new(
                Some(
                    LostAnswersSettings::parse_for(THROTTLE_VAR, "seed=5;rate=0.1")
                        .expect("parses"),
                ),
                None,
            );
            let refused = (0..1000)
                .filter(|_| throttled.refusal("dynamodb", "PutItem", b"").is_some())
                .count();
            assert!((50..150).contains(&refused), "about 10% of 1000: {refused}");
            let s3 = (0..200)
                .find_map(|_| throttled.refusal("s3", "PutObject", b""))
                .expect("one in 200 is refused");
            assert_eq!(s3.0, 503);
            assert!(s3.1.contains("SlowDown"));
            assert!(EventualSettings::parse("window=3").is_err());
        }

        #[test]
        fn a_bucket_setting_written_reads_back_old_for_that_bucket_only() {
            let layer = Refusals::new(
                None,
                Some(EventualSettings::parse("window_ms=60000").expect("parses")),
            );
            let rule = RULES
                .iter()
                .position(|r| r.refused.contains(&"s3:GetBucketVersioning"))
                .expect("an S3 rule");
            let get = b"http://127.0.0.1:4566/logs/?versioning\n";
            // Before any write the read goes through; its answer is what a stale read
            // serves later.
            assert_eq!(layer.refusal("s3", "GetBucketVersioning", get), None);
            layer
                .reads
                .lock()
                .expect("lock")
                .insert(get.to_vec(), b"<Status>Enabled</Status>".to_vec());
            let named = path_bucket(b"http://127.0.0.1:4566/logs/?versioning\n<Status>Suspended")
                .expect("named");
            assert_eq!(named, "/logs/");
            layer.wrote(rule, named);
            let (status, body, _) = layer
                .refusal("s3", "GetBucketVersioning", get)
                .expect("the old answer within the window");
            assert_eq!((status, body.as_str()), (200, "<Status>Enabled</Status>"));
            // Another bucket whose name contains this one's reads what is there.
            assert_eq!(
                layer.refusal(
                    "s3",
                    "GetBucketVersioning",
                    b"http://127.0.0.1:4566/logs-archive/?versioning\n"
                ),
                None
            );
            assert_eq!(path_bucket(b"http://127.0.0.1:4566/?x\n"), None);
        }
    }
}
