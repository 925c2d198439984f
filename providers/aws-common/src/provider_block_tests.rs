use super::*;

fn block(pairs: Vec<(&str, Value)>) -> Value {
    Value::object(pairs)
}

fn s(v: &str) -> Value {
    Value::string(v)
}

fn errors(config: &Value) -> Vec<ConfigIssue> {
    check(config)
        .into_iter()
        .filter(|i| i.severity == IssueSeverity::Error)
        .collect()
}

#[test]
fn misspelt_arguments_are_errors_with_a_suggestion() {
    let issues = errors(&block(vec![
        ("profle", s("prod")),
        ("region", s("us-east-1")),
    ]));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, ["profle"]);
    assert!(
        issues[0].message.contains("no argument named `profle`"),
        "{issues:?}"
    );
    assert_eq!(issues[0].hint.as_deref(), Some("did you mean `profile`?"));

    let nested = block(vec![(
        "assume_role",
        Value::List(vec![block(vec![
            ("role_arn", s("arn:aws:iam::1:role/r")),
            ("sesion_name", s("x")),
        ])]),
    )]);
    let issues = errors(&nested);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, ["assume_role", "sesion_name"]);
    assert_eq!(
        issues[0].hint.as_deref(),
        Some("did you mean `session_name`?")
    );

    let endpoints = block(vec![(
        "endpoints",
        Value::List(vec![block(vec![
            ("sqs", s("http://x")),
            ("secretmanager", s("http://x")),
        ])]),
    )]);
    let issues = errors(&endpoints);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(
        issues[0].hint.as_deref(),
        Some("did you mean `secretsmanager`?")
    );
}

#[test]
fn every_argument_of_the_real_schema_is_known() {
    let schema = config_schema();
    for name in [
        "access_key",
        "profile",
        "shared_config_files",
        "allowed_account_ids",
        "skip_metadata_api_check",
        "token_bucket_rate_limiter_capacity",
    ] {
        assert!(schema.attributes.contains_key(name), "{name}");
    }
    for name in [
        "assume_role",
        "assume_role_with_web_identity",
        "endpoints",
        "ignore_tags",
    ] {
        assert!(schema.blocks.contains_key(name), "{name}");
    }
    assert!(schema.attributes["secret_key"].sensitive);
    assert_eq!(schema.blocks["endpoints"].schema.attributes.len(), 303);
}

#[test]
fn settings_that_change_safety_or_deployment_are_refused() {
    let issues = errors(&block(vec![("insecure", Value::Bool(true))]));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].message.contains("TLS"), "{issues:?}");
    assert!(errors(&block(vec![("insecure", Value::Bool(false))])).is_empty());
    let ignore = block(vec![(
        "ignore_tags",
        Value::List(vec![block(vec![("keys", Value::Tuple(vec![s("a")]))])]),
    )]);
    assert_eq!(errors(&ignore).len(), 1);
    let both = block(vec![
        ("allowed_account_ids", Value::Tuple(vec![s("111111111111")])),
        (
            "forbidden_account_ids",
            Value::Tuple(vec![s("222222222222")]),
        ),
    ]);
    assert!(
        errors(&both)[0].message.contains("conflict"),
        "{:?}",
        errors(&both)
    );
    let err =
        ProviderSettings::read(&block(vec![("insecure", Value::Bool(true))])).expect_err("refused");
    assert!(err.message.contains("`insecure`"), "{err}");
}

#[test]
fn arguments_forge_does_not_act_on_are_warnings() {
    let config = block(vec![
        ("ec2_metadata_service_endpoint", s("http://169.254.169.254")),
        ("skip_credentials_validation", Value::Bool(false)),
        ("s3_us_east_1_regional_endpoint", s("regional")),
    ]);
    let issues = check(&config);
    // skip_credentials_validation is acted on (the credentials are checked, or not).
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert!(issues.iter().all(|i| i.severity == IssueSeverity::Warning));
    // What forge does anyway is no warning.
    let quiet = block(vec![
        ("skip_credentials_validation", Value::Bool(true)),
        ("skip_requesting_account_id", Value::Bool(true)),
        ("region", s("us-east-1")),
    ]);
    assert!(check(&quiet).is_empty(), "{:?}", check(&quiet));
    // At validate the value may be unknown: no value judgement then.
    assert!(check(&block(vec![("insecure", Value::Unknown)])).is_empty());
}

#[test]
fn reads_identity_settings() {
    let config = block(vec![
        ("region", s("eu-west-1")),
        ("profile", s("prod")),
        ("access_key", s("AKIA")),
        ("secret_key", s("secret").sensitive()),
        ("allowed_account_ids", Value::Tuple(vec![s("111111111111")])),
        ("max_retries", Value::Number(5.0)),
        ("retry_mode", s("adaptive")),
        ("sts_region", s("us-east-1")),
        (
            "assume_role",
            Value::List(vec![
                block(vec![
                    ("role_arn", s("arn:aws:iam::111111111111:role/a")),
                    ("duration", s("1h")),
                    ("tags", Value::Map([("k".to_string(), s("v"))].into())),
                    ("transitive_tag_keys", Value::Tuple(vec![s("k")])),
                    ("source_identity", s("me")),
                ]),
                block(vec![("role_arn", s("arn:aws:iam::222222222222:role/b"))]),
            ]),
        ),
    ]);
    let settings = ProviderSettings::read(&config).expect("valid");
    assert_eq!(settings.profile.as_deref(), Some("prod"));
    let keys = settings.static_keys.as_ref().expect("keys");
    assert_eq!(keys.secret_key, "secret");
    assert!(
        !format!("{settings:?}").contains("secret\""),
        "{settings:?}"
    );
    assert_eq!(settings.assume_roles.len(), 2);
    assert_eq!(
        settings.assume_roles[0].duration,
        Some(Duration::from_secs(3600))
    );
    assert_eq!(settings.assume_roles[0].transitive_tag_keys, ["k"]);
    assert_eq!(
        settings.assume_roles[0].source_identity.as_deref(),
        Some("me")
    );
    assert_eq!(settings.max_retries, Some(5));
    assert_eq!(settings.retry_mode, Some(RetryMode::Adaptive));
    assert!(matches!(
        settings.account_check(),
        Some(AccountCheck::Allowed(_))
    ));
}

#[test]
fn malformed_settings_name_the_argument() {
    let e = ProviderSettings::read(&block(vec![("access_key", s("A"))])).expect_err("pair");
    assert!(
        e.message
            .contains("`access_key` and `secret_key` go together"),
        "{e}"
    );
    let e = ProviderSettings::read(&block(vec![("retry_mode", s("legacy"))])).expect_err("mode");
    assert!(e.message.contains("retry_mode"), "{e}");
    let e = ProviderSettings::read(&block(vec![("region", s("us-east1"))])).expect_err("region");
    assert!(e.message.contains("not an AWS region"), "{e}");
    assert!(
        ProviderSettings::read(&block(vec![
            ("region", s("moon-base")),
            ("skip_region_validation", Value::Bool(true))
        ]))
        .is_ok()
    );
    let e = ProviderSettings::read(&block(vec![(
        "assume_role",
        Value::List(vec![block(vec![
            ("role_arn", s("a")),
            ("duration", s("soon")),
        ])]),
    )]))
    .expect_err("duration");
    assert!(e.message.contains("assume_role[0].duration"), "{e}");
    let e = ProviderSettings::read(&block(vec![("max_retries", s("many"))])).expect_err("n");
    assert!(e.message.contains("max_retries"), "{e}");
}

#[test]
fn account_checks() {
    let allowed = vec!["111111111111".to_string()];
    assert!(
        AccountCheck::Allowed(&allowed)
            .verify("111111111111")
            .is_ok()
    );
    let e = AccountCheck::Allowed(&allowed)
        .verify("222222222222")
        .expect_err("not allowed");
    assert!(e.message.contains("222222222222"), "{e}");
    let e = AccountCheck::Forbidden(&allowed)
        .verify("111111111111")
        .expect_err("forbidden");
    assert!(
        e.message.contains("111111111111") && e.message.contains("forbidden"),
        "{e}"
    );
    assert!(
        AccountCheck::Forbidden(&allowed)
            .verify("333333333333")
            .is_ok()
    );
}

#[test]
fn region_shapes() {
    for ok in [
        "us-east-1",
        "eu-central-2",
        "us-gov-west-1",
        "cn-north-1",
        "ap-southeast-4",
    ] {
        assert!(looks_like_region(ok), "{ok}");
    }
    for bad in ["us-east1", "useast-1", "US-EAST-1", "us-east-", "east-1"] {
        assert!(!looks_like_region(bad), "{bad}");
    }
}

#[test]
fn go_durations_as_terraform_flags_take_them() {
    use super::parse_go_duration;
    let ms = Duration::from_millis;
    assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
    assert_eq!(parse_go_duration("0s"), Some(Duration::ZERO));
    assert_eq!(parse_go_duration("1.5h"), Some(Duration::from_secs(5400)));
    assert_eq!(parse_go_duration("300ms"), Some(ms(300)));
    assert_eq!(parse_go_duration(".5s"), Some(ms(500)));
    assert_eq!(
        parse_go_duration("2h45m1us"),
        Some(Duration::new(9900, 1000))
    );
    for bad in [
        "",
        "5",
        "-1s",
        "1d",
        "1.2.3s",
        ".s",
        "s",
        "1 s",
        "99999999999999999999h",
    ] {
        assert_eq!(parse_go_duration(bad), None, "{bad:?}");
    }
    // The provider's arguments refuse zero.
    assert_eq!(super::parse_duration("0s"), None);
}
