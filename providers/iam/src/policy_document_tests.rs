//! The documents Terraform's own acceptance tests expect, rebuilt from the same blocks:
//! the spelling must match byte for byte, since state and plans compare strings.

use super::*;

fn s(v: &str) -> Value {
    Value::string(v)
}

fn set(items: &[&str]) -> Value {
    Value::Set(items.iter().map(|x| s(x)).collect())
}

fn principal(kind: &str, ids: &[&str]) -> Value {
    Value::object([("type", s(kind)), ("identifiers", set(ids))])
}

fn condition(test: &str, variable: &str, values: &[&str]) -> Value {
    Value::object([
        ("test", s(test)),
        ("variable", s(variable)),
        ("values", Value::List(values.iter().map(|x| s(x)).collect())),
    ])
}

/// A statement block with every attribute present, as the engine passes it.
fn statement(set_attrs: Vec<(&str, Value)>) -> Value {
    let mut m: std::collections::BTreeMap<String, Value> = [
        "sid",
        "effect",
        "actions",
        "not_actions",
        "resources",
        "not_resources",
    ]
    .iter()
    .map(|k| (k.to_string(), Value::Null))
    .collect();
    for k in ["principals", "not_principals", "condition"] {
        m.insert(k.to_string(), Value::List(Vec::new()));
    }
    for (k, v) in set_attrs {
        assert!(m.contains_key(k), "statement has no {k}");
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

fn document(set_attrs: Vec<(&str, Value)>, statements: Vec<Value>) -> Value {
    let mut m: std::collections::BTreeMap<String, Value> = PolicyDocumentDataSource::new()
        .schema
        .attributes
        .keys()
        .map(|k| (k.clone(), Value::Null))
        .collect();
    m.insert("statement".into(), Value::List(statements));
    for (k, v) in set_attrs {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

fn basic() -> Value {
    document(
        vec![("policy_id", s("policy_id"))],
        vec![
            statement(vec![
                ("sid", s("1")),
                (
                    "actions",
                    set(&["s3:ListAllMyBuckets", "s3:GetBucketLocation"]),
                ),
                ("resources", set(&["arn:aws:s3:::*"])),
            ]),
            statement(vec![
                ("actions", set(&["s3:ListBucket"])),
                ("resources", set(&["arn:aws:s3:::foo"])),
                (
                    "condition",
                    Value::List(vec![condition(
                        "StringLike",
                        "s3:prefix",
                        &["home/", "", "home/&{aws:username}/"],
                    )]),
                ),
                (
                    "not_principals",
                    Value::List(vec![principal("AWS", &["arn:blahblah:example"])]),
                ),
            ]),
            statement(vec![
                ("actions", set(&["s3:*"])),
                (
                    "resources",
                    set(&[
                        "arn:aws:s3:::foo/home/&{aws:username}",
                        "arn:aws:s3:::foo/home/&{aws:username}/*",
                    ]),
                ),
                (
                    "principals",
                    Value::List(vec![principal("AWS", &["arn:blahblah:example"])]),
                ),
            ]),
            statement(vec![
                ("effect", s("Deny")),
                ("not_actions", set(&["s3:*"])),
                ("not_resources", set(&["arn:aws:s3:::*"])),
            ]),
            statement(vec![
                ("effect", s("Allow")),
                ("actions", set(&["kinesis:*"])),
                ("principals", Value::List(vec![principal("AWS", &["*"])])),
            ]),
            statement(vec![
                ("effect", s("Allow")),
                ("actions", set(&["firehose:*"])),
                ("principals", Value::List(vec![principal("*", &["*"])])),
            ]),
        ],
    )
}

const BASIC_JSON: &str = r#"{
  "Version": "2012-10-17",
  "Id": "policy_id",
  "Statement": [
    {
      "Sid": "1",
      "Effect": "Allow",
      "Action": [
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation"
      ],
      "Resource": "arn:aws:s3:::*"
    },
    {
      "Effect": "Allow",
      "Action": "s3:ListBucket",
      "Resource": "arn:aws:s3:::foo",
      "NotPrincipal": {
        "AWS": "arn:blahblah:example"
      },
      "Condition": {
        "StringLike": {
          "s3:prefix": [
            "home/",
            "",
            "home/${aws:username}/"
          ]
        }
      }
    },
    {
      "Effect": "Allow",
      "Action": "s3:*",
      "Resource": [
        "arn:aws:s3:::foo/home/${aws:username}/*",
        "arn:aws:s3:::foo/home/${aws:username}"
      ],
      "Principal": {
        "AWS": "arn:blahblah:example"
      }
    },
    {
      "Effect": "Deny",
      "NotAction": "s3:*",
      "NotResource": "arn:aws:s3:::*"
    },
    {
      "Effect": "Allow",
      "Action": "kinesis:*",
      "Principal": {
        "AWS": "*"
      }
    },
    {
      "Effect": "Allow",
      "Action": "firehose:*",
      "Principal": "*"
    }
  ]
}"#;

#[test]
fn basic_document_matches_terraform_byte_for_byte() {
    let (json, minified) = render(&basic()).unwrap();
    assert_eq!(json, BASIC_JSON);
    let expected_min: String =
        serde_json::to_string(&serde_json::from_str::<Json>(BASIC_JSON).unwrap()).unwrap();
    assert_eq!(minified, expected_min);
    assert!(
        minified
            .starts_with(r#"{"Version":"2012-10-17","Id":"policy_id","Statement":[{"Sid":"1","#),
        "{minified}"
    );
}

#[test]
fn several_identifiers_of_one_principal_are_reverse_sorted() {
    let doc = document(
        vec![],
        vec![statement(vec![
            ("actions", set(&["s3:*"])),
            (
                "principals",
                Value::List(vec![principal(
                    "AWS",
                    &["arn:blahblah:example", "arn:blahblahblah:example"],
                )]),
            ),
        ])],
    );
    let (_, minified) = render(&doc).unwrap();
    assert!(
        minified
            .contains(r#""Principal":{"AWS":["arn:blahblahblah:example","arn:blahblah:example"]}"#),
        "{minified}"
    );
}

#[test]
fn duplicate_condition_keys_are_merged_in_order_and_single_values_are_bare() {
    let doc = document(
        vec![],
        vec![statement(vec![
            ("actions", set(&["s3:PutObject"])),
            ("resources", set(&["*"])),
            (
                "condition",
                Value::List(vec![
                    condition("StringEquals", "s3:prefix", &["one/", "two/"]),
                    condition("StringEquals", "s3:prefix", &["three/"]),
                    condition("Bool", "aws:SecureTransport", &["false"]),
                ]),
            ),
        ])],
    );
    let (_, minified) = render(&doc).unwrap();
    assert!(
        minified.contains(r#""Condition":{"Bool":{"aws:SecureTransport":"false"},"StringEquals":{"s3:prefix":["one/","two/","three/"]}}"#),
        "{minified}"
    );
}

#[test]
fn source_documents_come_first_and_own_statements_follow() {
    let (base, _) = render(&basic()).unwrap();
    let doc = document(
        vec![("source_policy_documents", Value::List(vec![s(&base)]))],
        vec![statement(vec![
            ("sid", s("SourceJSONTest1")),
            ("actions", set(&["*"])),
            ("resources", set(&["*"])),
        ])],
    );
    let (json, _) = render(&doc).unwrap();
    let parsed: Json = serde_json::from_str(&json).unwrap();
    let statements = parsed["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 7);
    assert_eq!(parsed["Id"], "policy_id");
    assert_eq!(statements[6]["Sid"], "SourceJSONTest1");
    // Re-spelled exactly as the source was written.
    assert!(
        json.starts_with(
            &BASIC_JSON[..BASIC_JSON
                .find("    {\n      \"Effect\": \"Deny\"")
                .unwrap()]
        )
    );
}

#[test]
fn override_replaces_the_statement_with_the_same_sid() {
    let override_doc = r#"{"Version":"2012-10-17","Statement":[{"Sid":"SidToOverwrite","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let doc = document(
        vec![(
            "override_policy_documents",
            Value::List(vec![s(override_doc)]),
        )],
        vec![
            statement(vec![
                ("actions", set(&["ec2:*"])),
                ("resources", set(&["*"])),
            ]),
            statement(vec![
                ("sid", s("SidToOverwrite")),
                ("actions", set(&["s3:*"])),
                (
                    "resources",
                    set(&["arn:aws:s3:::somebucket", "arn:aws:s3:::somebucket/*"]),
                ),
            ]),
        ],
    );
    let (json, _) = render(&doc).unwrap();
    let blank = document(
        vec![("override_policy_documents", Value::List(vec![s("")]))],
        vec![],
    );
    assert_eq!(
        render(&blank).unwrap().0,
        "{\n  \"Version\": \"2012-10-17\"\n}"
    );
    let expected = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "ec2:*",
      "Resource": "*"
    },
    {
      "Sid": "SidToOverwrite",
      "Effect": "Allow",
      "Action": "s3:*",
      "Resource": "*"
    }
  ]
}"#;
    assert_eq!(json, expected);
}

#[test]
fn duplicate_sids_and_old_version_variables_are_errors() {
    let dup = document(
        vec![],
        vec![
            statement(vec![("sid", s("a")), ("actions", set(&["s3:*"]))]),
            statement(vec![("sid", s("a")), ("actions", set(&["ec2:*"]))]),
        ],
    );
    assert!(render(&dup).unwrap_err().message.contains("duplicate Sid"));
    let blank_sids = document(
        vec![],
        vec![
            statement(vec![("sid", s("")), ("actions", set(&["s3:*"]))]),
            statement(vec![("sid", s("")), ("actions", set(&["ec2:*"]))]),
        ],
    );
    assert!(render(&blank_sids).is_ok());
    let old = document(
        vec![("version", s("2008-10-17"))],
        vec![statement(vec![(
            "resources",
            set(&["arn:aws:s3:::b/&{aws:username}"]),
        )])],
    );
    let e = render(&old).unwrap_err();
    assert!(e.message.contains("2008-10-17"), "{e}");
    let bad_effect = document(vec![], vec![statement(vec![("effect", s("allow"))])]);
    assert!(render(&bad_effect).unwrap_err().message.contains("neither"));
}

#[test]
fn html_characters_are_escaped_as_go_does() {
    let doc = document(
        vec![],
        vec![statement(vec![
            ("actions", set(&["s3:*"])),
            (
                "condition",
                Value::List(vec![condition("StringLike", "aws:UserAgent", &["<a&b>"])]),
            ),
        ])],
    );
    let (_, minified) = render(&doc).unwrap();
    assert!(minified.contains(r#""\u003ca\u0026b\u003e""#), "{minified}");
}

#[test]
fn crc32_is_the_ieee_checksum() {
    assert_eq!(crc32(b""), 0);
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[tokio::test]
async fn read_fills_every_attribute_and_an_id_from_the_json() {
    let out = PolicyDocumentDataSource::new()
        .read(&basic())
        .await
        .unwrap();
    let json = out.str_attr("json").unwrap();
    assert_eq!(json, BASIC_JSON);
    assert_eq!(
        out.str_attr("id"),
        Some(crc32(BASIC_JSON.as_bytes()).to_string().as_str())
    );
    assert_eq!(out.str_attr("version"), Some("2012-10-17"));
    assert!(
        out.str_attr("minified_json")
            .is_some_and(|m| !m.contains('\n'))
    );
}

#[test]
fn unknown_inputs_are_refused_rather_than_dropped() {
    let doc = document(
        vec![],
        vec![statement(vec![
            ("actions", set(&["s3:*"])),
            ("resources", Value::Set(vec![Value::Unknown])),
        ])],
    );
    assert!(render(&doc).unwrap_err().message.contains("not known"));
}

/// The state the provider records for a statement that leaves arguments out: its SDK
/// writes them as their empty values (and `effect` as its default).
#[tokio::test]
async fn read_records_unset_statement_arguments_as_the_provider_does() {
    let doc = document(
        vec![],
        vec![statement(vec![
            ("actions", set(&["sts:AssumeRole"])),
            (
                "principals",
                Value::List(vec![principal("Service", &["ec2.amazonaws.com"])]),
            ),
        ])],
    );
    let out = PolicyDocumentDataSource::new().read(&doc).await.unwrap();
    let statement = &out.get("statement").and_then(Value::as_seq).unwrap()[0];
    assert_eq!(statement.str_attr("sid"), Some(""));
    assert_eq!(statement.str_attr("effect"), Some("Allow"));
    for name in ["not_actions", "resources", "not_resources"] {
        assert_eq!(statement.get(name), Some(&Value::Set(Vec::new())), "{name}");
    }
    assert_eq!(statement.get("condition"), Some(&Value::List(Vec::new())));
    assert_eq!(out.get("source_json"), Some(&Value::Null));
    assert_eq!(out.get("override_json"), Some(&Value::Null));
}

/// The provider's deprecated `source_json` is merged before everything else and
/// `override_json` after everything else; "" counts as not given.
#[test]
fn deprecated_source_and_override_json_merge_first_and_last() {
    let source = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let over = r#"{"Version":"2012-10-17","Statement":[{"Sid":"B","Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
    let doc = document(
        vec![
            ("source_json", s(source)),
            ("override_json", s(over)),
            (
                "override_policy_documents",
                Value::List(vec![s(
                    r#"{"Statement":[{"Sid":"B","Effect":"Allow","Action":"sqs:*","Resource":"*"}]}"#,
                )]),
            ),
        ],
        vec![statement(vec![
            ("sid", s("B")),
            ("actions", set(&["ec2:*"])),
            ("resources", set(&["*"])),
        ])],
    );
    let (json, _) = render(&doc).unwrap();
    let parsed: Json = serde_json::from_str(&json).unwrap();
    let statements = parsed["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2, "{json}");
    assert_eq!(statements[0]["Sid"], "A");
    assert_eq!(
        statements[1]["Effect"], "Deny",
        "override_json is merged last: {json}"
    );
    let blank = document(
        vec![("source_json", s("")), ("override_json", s(""))],
        vec![statement(vec![
            ("actions", set(&["*"])),
            ("resources", set(&["*"])),
        ])],
    );
    let (json, _) = render(&blank).unwrap();
    assert_eq!(
        serde_json::from_str::<Json>(&json).unwrap()["Statement"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}
